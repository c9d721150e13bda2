"""Benchmark of the DKIM2 engine against the crypto floor measured in the same run (issue #13).

Each timed case prints its time per message and its ratio to the *floor*: the cost, on this
machine and in this run, of the cryptography the message itself carries -- one verification
per signature entry of every DKIM2-Signature, priced by its algorithm (RSA-2048, Ed25519,
ML-DSA-44), plus every distinct body hash of every Message-Instance and each signature's
header hash, priced by the hash's throughput (:meth:`Floor.of_chain`).  Every case is judged
as the product does by default (``auto``: by -09 rules, compared with -06, -07 and -08).

* (a) a 5-hop 50 KB chain, RSA-2048 at every hop, where no hop changed the content;
  goal <= 3x the floor;
* (b) the same where every hop changed the body (a footer each); goal <= 4x;
* (a'), (b') the same with signers alternating Ed25519 and RSA-2048 (the older figures);
* (c) a 25 MB message with one hop, and (c') a 25 MB message with 5 hops each adding a
  footer: time, and peak memory (input + tracemalloc's peak of allocations) as a multiple of
  the message; goal for (c') <= 3x the floor in time and <= 4x the message in memory, its
  floor pricing the body as hashed once (each instance's body is the one below it and a
  footer: a verifier that shares hash states hashes each octet once, and pricing each body
  whole would make 0.5x of it);
* (d) real mail of today (issue #9): a 50 KB message with two DKIM1 signatures, a
  3-instance ARC chain and a 3-hop DKIM2 chain, all RSA-2048, with SPF and DMARC records,
  analysed by ``analyze_message`` (every mechanism and the verdict); its floor counts the
  DKIM1 and ARC work too; reported;
* (e) a -09 chain (issue #10): 3 hops, each signing ``s=`` with two groups (Ed25519 and
  RSA-2048 | ML-DSA-44) and recording two hash groups (sha256 | sha512), the middle hop
  changing the body; reported;
* (h) the peer: dkimpy verifying the (a) message's content signed by five DKIM1 signatures
  (RSA-2048) on the same floor (five verifications, the body once, five header blocks), so
  the ratio to the best-known Python DKIM verifier is printed beside ours.

The timed cases run ``--runs`` times (3 by default); the last table gives the min and the
median of each figure, and the goals are judged on the medians.

(g) the stored report's size (every mechanism) for 5, 10, 20 and 50 hops each adding a
footer: linear in hops when the octets per hop at every length are within 1.5x those at 5.

(f) memory (issue #11): messages up to the 25 MB limit holding what once took memory in
proportion to their lines or hops -- short lines with both ends rewritten by a second hop
(CRLF and bare LF), megabyte lines, 16 hops each rewriting a line between 2.2 MB lines, 50
hops each adding a footer, lines appended after signing.  Each is verified in a process of
its own, as ``dkim2 verify`` (the command itself) and as ``analyze_message`` (every
mechanism and the stored report: what ``manage.py analyze`` runs, without the database),
and the peak resident memory above the interpreter's own (measured after the imports,
before the message is read: the message itself counts) is printed as a multiple of the
message, with the time and the report's size.  Goal: ``dkim2 verify`` <= 4x, every report
<= 4 MB.  ``--engine-root DIR`` runs (f) with the engine found in DIR (another checkout: the
figures before a change).

Usage: python bench/verify.py [--quick] [--runs N] [--no-memory | --memory-only]
       [--engine-root DIR]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dkim  # type: ignore[import-untyped]
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa, padding, rsa
from cryptography.hazmat.primitives.hashes import SHA256
from nacl.bindings import crypto_sign_open

from analysis import State
from analysis.dkim2 import Envelope, analyze
from analysis.dkim2.keys import public_record_for
from analysis.dkim2.sign import SigningKey, sign
from analysis.message_report import analyze_message
from analysis.resolvers import StaticResolver

T0 = 1790000000


def best_per_call(fn: Callable[[], object], *, seconds: float = 0.5, repeat: int = 5) -> float:
    """Median over `repeat` rounds of the mean time per call, each round ~seconds/repeat."""
    fn()
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        took = time.perf_counter() - start
        if took > seconds / repeat / 4 or n > 1_000_000:
            break
        n *= 2
    rounds = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        for _ in range(n):
            fn()
        rounds.append((time.perf_counter() - start) / n)
    return statistics.median(rounds)


def make_body(size: int) -> bytes:
    line = b"The quick brown fox jumps over the lazy dog, again and again and again.\r\n"
    return (line * (size // len(line) + 1))[:size].rsplit(b"\r\n", 1)[0] + b"\r\n"


def build_chain(keys: list[tuple[str, SigningKey]], body: bytes, *, change_body: bool) -> bytes:
    msg = (
        b"From: Alice <alice@d0.example>\r\nTo: list@d1.example\r\nSubject: benchmark\r\n"
        b"Date: Mon, 21 Sep 2026 13:33:00 +0000\r\nMessage-ID: <bench@d0.example>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n" + body
    )
    for hop, (domain, key) in enumerate(keys, 1):
        nxt = f"d{hop}.example"
        previous = msg
        if change_body and hop > 1:
            msg = msg + f"-- footer added by {domain}\r\n".encode()
        result = sign(
            msg,
            domain=domain,
            keys=[key],
            timestamp=T0 + hop * 10,
            mail_from=f"<bounce@{domain}>",
            rcpt_to=[f"<user@{nxt}>"],
            previous=previous if change_body and hop > 1 else None,
        )
        msg = result.message
    return msg


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="shorter rounds")
    parser.add_argument("--runs", type=int, default=3, help="runs of every timed case")
    parser.add_argument("--no-memory", action="store_true", help="skip (f), the memory cases")
    parser.add_argument("--memory-only", action="store_true", help="run (f) alone")
    parser.add_argument("--engine-root", type=Path, help="run (f) with the engine of this checkout")
    args = parser.parse_args()
    secs = 0.3 if args.quick else 1.0
    if args.memory_only:
        return 0 if memory_cases(args.engine_root) else 1

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    pq_key = mldsa.MLDSA44PrivateKey.generate()
    cases = Cases(rsa_key, ed_key, pq_key)
    runs: list[dict[str, Figure]] = []
    for n in range(1, args.runs + 1):
        print(f"-- run {n} of {args.runs}")
        runs.append(cases.run(secs))
    print(f"\n== min / median of {args.runs} runs (time per message; ratio to the floor)")
    goals = []
    for label, first in runs[0].items():
        took = [r[label].seconds for r in runs]
        ratio = [r[label].seconds / r[label].floor for r in runs]
        line = (
            f"{label:<4} {first.title:<62} {min(took) * 1e3:8.3f} / "
            f"{statistics.median(took) * 1e3:8.3f} ms   ratio {min(ratio):5.2f}x / "
            f"{statistics.median(ratio):5.2f}x"
        )
        if first.memory is not None:
            memory = [r[label].memory or 0.0 for r in runs]
            line += f"   peak memory {min(memory):4.2f}x / {statistics.median(memory):4.2f}x"
        print(line)
        if first.goal_ratio is not None:
            goals.append(
                (
                    f"{label} ratio <= {first.goal_ratio:g}x",
                    statistics.median(ratio) <= first.goal_ratio,
                )
            )
        if first.goal_memory is not None:
            memory = [r[label].memory or 0.0 for r in runs]
            goals.append(
                (
                    f"{label} peak memory <= {first.goal_memory:g}x",
                    statistics.median(memory) <= first.goal_memory,
                )
            )
    linear = report_growth(rsa_key)
    goals.append(("(g) report size linear in hops", linear))
    if not args.no_memory:
        goals.append(("(f) verify within 4x, reports within 4 MB", memory_cases(args.engine_root)))
    print(
        "goals (medians): " + ", ".join(f"{name} {'met' if ok else 'MISSED'}" for name, ok in goals)
    )
    return 0


@dataclass
class Figure:
    title: str
    seconds: float
    floor: float
    memory: float | None = None  # peak memory (input + allocations) as a multiple of the input
    goal_ratio: float | None = None
    goal_memory: float | None = None


@dataclass
class Floor:
    """The crypto floor of this machine, measured in the run: what each operation costs."""

    verify: dict[str, float]  # per signature algorithm as DKIM2 names it
    per_byte: dict[str, float]  # per hash algorithm

    def of_chain(self, raw: bytes, *, octets_once: bool = False) -> float:
        """The work a chain carries, priced: one verification per signature entry of every
        DKIM2-Signature (by its algorithm), every distinct body hash of every
        Message-Instance (the body it covers: at most the message's), and each signature's
        header hash (the header block, its own field included) -- nothing counted twice.

        ``octets_once``: the bodies priced as the message's body hashed once per hash
        algorithm, the least a verifier that shares the hash states of bodies beginning
        alike must do (the engine does: ``analysis.message.HashMemo``); for chains whose
        hops add footers, where pricing every body whole would flatter it."""
        head, _, body = raw.partition(b"\r\n\r\n")
        fields = re.split(rb"\r\n(?![ \t])", re.sub(rb"\r\n[ \t]+", b" ", head))
        cost = 0.0
        bodies: set[tuple[bytes, bytes]] = set()
        for f in fields:
            name, _, value = f.partition(b":")
            tags = dict(
                (t.split(b"=", 1)[0].strip().lower(), t.split(b"=", 1)[1].strip())
                for t in value.split(b";")
                if b"=" in t
            )
            if name.strip().lower() == b"dkim2-signature":
                for entry in re.split(rb"[,|]", tags.get(b"s", b"")):
                    parts = entry.strip().split(b":")
                    if len(parts) >= 2:
                        cost += self.verify[parts[1].decode()]
                cost += (len(head) + 4) * self.per_byte["sha256"]
            elif name.strip().lower() == b"message-instance":
                for entry in re.split(rb"[,|]", tags.get(b"h", b"")):
                    parts = entry.replace(b" ", b"").split(b":")
                    if len(parts) == 3:
                        bodies.add((parts[0], parts[2]))
        if octets_once:
            bodies = {(algorithm, b"") for algorithm, _ in bodies}
        for algorithm, _ in bodies:
            cost += len(body) * self.per_byte[algorithm.decode()]
        return cost


def measure_floor(
    rsa_key: rsa.RSAPrivateKey,
    ed_key: ed25519.Ed25519PrivateKey,
    pq_key: mldsa.MLDSA44PrivateKey,
    secs: float,
) -> Floor:
    data = b"x" * 600
    rsa_sig = rsa_key.sign(data, padding.PKCS1v15(), SHA256())
    ed_sig = ed_key.sign(hashlib.sha256(data).digest())
    pq_sig = pq_key.sign(data, b"DKIM2")
    rsa_pub, ed_pub, pq_pub = rsa_key.public_key(), ed_key.public_key(), pq_key.public_key()
    t_rsa = best_per_call(
        lambda: rsa_pub.verify(rsa_sig, data, padding.PKCS1v15(), SHA256()), seconds=secs
    )
    # Ed25519 at libsodium's price, the faster of the two libraries the engine has
    # (analysis.ed25519_verify: OpenSSL only decides what libsodium refuses).
    ed_raw = ed_pub.public_bytes_raw()
    t_ed = best_per_call(
        lambda: crypto_sign_open(ed_sig + hashlib.sha256(data).digest(), ed_raw), seconds=secs
    )
    t_pq = best_per_call(lambda: pq_pub.verify(pq_sig, data, b"DKIM2"), seconds=secs)
    mb = b"\0" * (1 << 20)
    per_byte = {
        name: best_per_call(lambda name=name: hashlib.new(name, mb).digest(), seconds=secs)
        / len(mb)
        for name in ("sha256", "sha512")
    }
    print(
        f"crypto floor: RSA-2048 verify {t_rsa * 1e6:.1f} us, Ed25519 {t_ed * 1e6:.1f} us, "
        f"ML-DSA-44 {t_pq * 1e6:.1f} us, SHA-256 {1 / per_byte['sha256'] / 1e6:.0f} MB/s, "
        f"SHA-512 {1 / per_byte['sha512'] / 1e6:.0f} MB/s"
    )
    return Floor(
        verify={"rsa-sha256": t_rsa, "ed25519-sha256": t_ed, "mldsa44": t_pq},
        per_byte=per_byte,
    )


class Cases:
    """The timed cases, built once and run ``--runs`` times."""

    def __init__(
        self,
        rsa_key: rsa.RSAPrivateKey,
        ed_key: ed25519.Ed25519PrivateKey,
        pq_key: mldsa.MLDSA44PrivateKey,
    ) -> None:
        self.keys = (rsa_key, ed_key, pq_key)
        zone: dict[str, dict[str, list[list[str]]]] = {}
        rsa_hops: list[tuple[str, SigningKey]] = []
        mixed_hops: list[tuple[str, SigningKey]] = []
        for n in range(6):
            domain = f"d{n}.example"
            zone[domain] = {
                "s1._domainkey": [["txt", public_record_for(rsa_key)]],
                "s2._domainkey": [["txt", public_record_for(ed_key)]],
            }
            rsa_hops.append((domain, SigningKey("s1", rsa_key)))
            mixed_hops.append(
                (domain, SigningKey("s2", ed_key) if n % 2 == 0 else SigningKey("s1", rsa_key))
            )
        self.resolver = StaticResolver(zone)
        body = make_body(50 * 1024)
        self.chains = {
            "(a)": (
                "5-hop 50 KB chain, RSA-2048, no hop changed content",
                build_chain(rsa_hops[:5], body, change_body=False),
                3.0,
            ),
            "(b)": (
                "5-hop 50 KB chain, RSA-2048, every hop changed the body",
                build_chain(rsa_hops[:5], body, change_body=True),
                4.0,
            ),
            "(a')": (
                "the same, signers alternating Ed25519 and RSA-2048",
                build_chain(mixed_hops[:5], body, change_body=False),
                None,
            ),
            "(b')": (
                "the same, every hop changed the body",
                build_chain(mixed_hops[:5], body, change_body=True),
                None,
            ),
        }
        self.env = Envelope("<bounce@d4.example>", ["<user@d5.example>"])
        big_body = make_body(25 * 1024 * 1024 - 64 * 1024)
        self.big_one = build_chain(rsa_hops[:1], big_body, change_body=False)
        self.big_five = build_chain(rsa_hops[:5], big_body, change_body=True)
        self.dkim1 = dkim1_chain(rsa_key, body)

    def run(self, secs: float) -> dict[str, Figure]:
        rsa_key, ed_key, pq_key = self.keys
        floor = measure_floor(rsa_key, ed_key, pq_key, secs)
        out: dict[str, Figure] = {}
        for label, (title, raw, goal) in self.chains.items():
            self.verify(raw, self.env)
            took = best_per_call(lambda raw=raw: self.verify(raw, self.env), seconds=secs * 2)
            out[label] = Figure(title, took, floor.of_chain(raw), goal_ratio=goal)
        took, memory = self.timed_with_memory(
            self.big_one, Envelope("<bounce@d0.example>", ["<user@d1.example>"])
        )
        out["(c)"] = Figure(
            f"one {len(self.big_one) / 2**20:.1f} MB message, one hop",
            took,
            floor.of_chain(self.big_one),
            memory,
        )
        took, memory = self.timed_with_memory(self.big_five, self.env)
        out["(c')"] = Figure(
            f"one {len(self.big_five) / 2**20:.1f} MB message, 5 hops adding footers*",
            took,
            floor.of_chain(self.big_five, octets_once=True),
            memory,
            goal_ratio=3.0,
            goal_memory=4.0,
        )
        took, floor_d = real_mail(
            rsa_key, floor.verify["rsa-sha256"], floor.per_byte["sha256"], secs
        )
        out["(d)"] = Figure(
            "56 KB real mail: 2 DKIM1, 3 ARC sets, 3 DKIM2 hops, SPF, DMARC", took, floor_d
        )
        took, floor_e = groups_chain(rsa_key, ed_key, pq_key, floor, secs)
        out["(e)"] = Figure(
            "-09 chain: 3 hops, groups ed25519,rsa|mldsa44, sha256|sha512", took, floor_e
        )
        took, floor_h = self.dkimpy(floor, secs)
        out["(h)"] = Figure(
            "dkimpy: the (a) message signed by 5 DKIM1 signatures instead", took, floor_h
        )
        print("* its floor: the body hashed once (Floor.of_chain, octets_once)")
        for label, fig in out.items():
            extra = f"   peak memory {fig.memory:4.2f}x" if fig.memory is not None else ""
            print(
                f"{label:<4} {fig.title:<62} {fig.seconds * 1e3:8.3f} ms   floor "
                f"{fig.floor * 1e3:7.3f} ms   ratio {fig.seconds / fig.floor:5.2f}x{extra}"
            )
        return out

    def verify(self, raw: bytes, envelope: Envelope) -> None:
        # A copy of the parsed zone per message, as the worker does (dkim2web.samples.keys):
        # one shared resolver would keep every answer of every run alive, and the garbage
        # collector would walk them all, which no real verification pays.
        report = analyze(raw, lookup=self.resolver.unused_copy(), envelope=envelope, now=T0 + 100)
        assert report.result == State.PASS, report.summary

    def timed_with_memory(self, raw: bytes, envelope: Envelope) -> tuple[float, float]:
        """Seconds (best of two) and peak memory (input + allocations) as x the input."""
        took = []
        for _ in range(2):
            gc.collect()
            start = time.perf_counter()
            self.verify(raw, envelope)
            took.append(time.perf_counter() - start)
        tracemalloc.start()
        self.verify(raw, envelope)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return min(took), (len(raw) + peak) / len(raw)

    def dkimpy(self, floor: Floor, secs: float) -> tuple[float, float]:
        """dkimpy verifying the five DKIM1 signatures of the (a) message's content; its
        floor: five RSA-2048 verifications, the body hashed once, five header blocks."""
        raw, zone = self.dkim1

        def dnsfunc(name: bytes, timeout: int = 5) -> bytes:
            return zone[name]

        def run() -> None:
            d = dkim.DKIM(raw)
            for idx in range(5):
                assert d.verify(idx=idx, dnsfunc=dnsfunc)

        run()
        took = best_per_call(run, seconds=secs * 2)
        head, _, body = raw.partition(b"\r\n\r\n")
        cost = (
            5 * floor.verify["rsa-sha256"] + (len(body) + 5 * len(head)) * floor.per_byte["sha256"]
        )
        return took, cost


def dkim1_chain(rsa_key: rsa.RSAPrivateKey, body: bytes) -> tuple[bytes, dict[bytes, bytes]]:
    """The (a) message's content signed by five domains with DKIM1 (RSA-2048, relaxed)."""
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    msg = (
        b"From: Alice <alice@d0.example>\r\nTo: list@d1.example\r\nSubject: benchmark\r\n"
        b"Date: Mon, 21 Sep 2026 13:33:00 +0000\r\nMessage-ID: <bench@d0.example>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n" + body
    )
    zone = {}
    signed = [b"from", b"to", b"subject", b"date", b"message-id"]
    for n in range(5):
        domain = f"d{n}.example".encode()
        msg = bytes(dkim.sign(msg, b"s1", domain, pem, include_headers=signed)) + msg
        zone[b"s1._domainkey." + domain + b"."] = public_record_for(rsa_key).encode()
    return msg, zone


def report_growth(rsa_key: rsa.RSAPrivateKey) -> bool:
    """(g): the stored report's size (every mechanism, as the product stores it) for chains
    of 5 to 50 hops, each hop adding a footer to a 50 KB body; linear when the octets per
    hop at every length are within 1.5x those at 5."""
    key = SigningKey("s1", rsa_key)
    zone = {
        f"d{n}.example": {"s1._domainkey": [["txt", public_record_for(rsa_key)]]} for n in range(51)
    }
    resolver = StaticResolver(zone)
    msg = HEADERS + make_body(50 * 1024)
    sizes: dict[int, int] = {}
    for hop in range(50):
        previous = msg if hop else None
        if hop:
            msg = msg + b"-- footer added by d%d.example\r\n" % hop
        msg = _hop(msg, hop, key, previous)
        if hop + 1 in (5, 10, 20, 50):
            report = analyze_message(msg, lookup=resolver, now=T0 + 1000)
            sizes[hop + 1] = len(json.dumps(report.to_json()).encode())
    per_hop = {n: size / n for n, size in sizes.items()}
    print(
        "(g) report size by hops (each hop a footer): "
        + ", ".join(
            f"{n} hops {size / 1024:.0f} KB ({per_hop[n] / 1024:.1f} KB a hop)"
            for n, size in sizes.items()
        )
    )
    return max(per_hop.values()) <= 1.5 * per_hop[5]


def real_mail(
    rsa_key: rsa.RSAPrivateKey, t_rsa: float, sha_per_byte: float, secs: float
) -> tuple[float, float]:
    """(d): two DKIM1 signatures, three ARC sets and three DKIM2 hops on a 50 KB message,
    all RSA-2048, with SPF and DMARC records: every mechanism and the verdict."""
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    record = public_record_for(rsa_key)
    body = make_body(50 * 1024)
    now = int(time.time())
    msg = (
        b"From: Alice <alice@d0.example>\r\nTo: list@d1.example\r\nSubject: benchmark\r\n"
        b"Date: Mon, 21 Sep 2026 13:33:00 +0000\r\nMessage-ID: <real@d0.example>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n" + body
    )
    zone: dict[str, dict[str, list[list[str]]]] = {}
    for n in range(4):
        zone[f"d{n}.example"] = {
            "s1._domainkey": [["txt", record]],
            "s1._domainkey.esp": [["txt", record]],
            "@": [["txt", f"v=spf1 ip4:192.0.2.{n + 1} -all"]],
            "_dmarc": [["txt", "v=DMARC1; p=reject"]],
        }
    signed = [b"from", b"to", b"subject", b"date", b"message-id"]
    for domain in (b"d0.example", b"esp.d0.example"):  # the author's and its ESP's DKIM1
        msg = bytes(dkim.sign(msg, b"s1", domain, pem, include_headers=signed)) + msg
    key = SigningKey("s1", rsa_key)
    for hop in range(3):
        domain = f"d{hop}.example"
        msg = sign(
            msg,
            domain=domain,
            keys=[key],
            timestamp=now - 300 + hop * 60,
            mail_from=f"<bounce@{domain}>",
            rcpt_to=[f"<user@d{hop + 1}.example>"],
        ).message
        # The next domain receives it and seals an ARC set (instances 1, 2, 3).
        receiver = f"mx.d{hop + 1}.example"
        chain = "none" if hop == 0 else "pass"
        msg = f"Authentication-Results: {receiver}; arc={chain}\r\n".encode() + msg
        seal = dkim.arc_sign(msg, b"s1", f"d{hop + 1}.example".encode(), pem, receiver.encode())
        msg = b"".join(bytes(f) for f in seal) + msg
    raw = (
        b"Received: from mail.d2.example (mail.d2.example [192.0.2.3]) by mx.d3.example"
        b" with ESMTPS; Mon, 21 Sep 2026 13:40:00 +0000\r\n"
        b"Return-Path: <bounce@d2.example>\r\n" + msg
    )
    resolver = StaticResolver(zone)

    def run() -> None:
        report = analyze_message(raw, lookup=resolver.unused_copy(), now=now)
        assert report.dkim1 is not None and report.arc is not None
        assert [s.result for s in report.dkim1.signatures] == ["pass", "pass"]
        assert (report.arc.result, len(report.arc.instances)) == ("pass", 3)
        assert report.dkim2.result == State.PASS, report.dkim2.summary

    run()
    took = best_per_call(run, seconds=secs * 2)
    header_len = raw.index(b"\r\n\r\n")
    # 3 DKIM2 + 2 DKIM1 + 3 AMS + 3 AS verifications; the body hashed by DKIM2 once, by
    # each DKIM1 signature and each AMS (5 canonical bodies), the header blocks besides.
    verifications = 3 + 2 + 3 + 3
    hashed = 6 * len(body) + 11 * header_len
    floor = verifications * t_rsa + hashed * sha_per_byte
    return took, floor


def groups_chain(
    rsa_key: rsa.RSAPrivateKey,
    ed_key: ed25519.Ed25519PrivateKey,
    pq_key: mldsa.MLDSA44PrivateKey,
    floor: Floor,
    secs: float,
) -> tuple[float, float]:
    """(e): three -09 hops, each ``s=ed,rsa|pq`` and ``h=sha256|sha512``; hop 2 adds a footer."""
    zone: dict[str, dict[str, list[list[str]]]] = {}
    body = make_body(50 * 1024)
    msg = (
        b"From: Alice <alice@g0.example>\r\nTo: list@g1.example\r\nSubject: benchmark\r\n"
        b"Date: Mon, 21 Sep 2026 13:33:00 +0000\r\nMessage-ID: <groups@g0.example>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n" + body
    )
    for hop in range(3):
        domain = f"g{hop}.example"
        zone[domain] = {
            "ed._domainkey": [["txt", public_record_for(ed_key)]],
            "rsa._domainkey": [["txt", public_record_for(rsa_key)]],
            "pq._domainkey": [["txt", public_record_for(pq_key)]],
        }
        previous = msg
        if hop == 1:
            msg = msg + b"-- footer added by the list\r\n"
        msg = sign(
            msg,
            domain=domain,
            keys=[SigningKey("ed", ed_key), SigningKey("rsa", rsa_key)],
            key_groups=[[SigningKey("pq", pq_key)]],
            hash_groups=[["sha256"], ["sha512"]],
            timestamp=T0 + hop * 10,
            mail_from=f"<bounce@{domain}>",
            rcpt_to=[f"<user@g{hop + 1}.example>"],
            previous=previous if hop == 1 else None,
        ).message
    resolver = StaticResolver(zone)
    env = Envelope("<bounce@g2.example>", ["<user@g3.example>"])

    def run() -> None:
        report = analyze(msg, lookup=resolver.unused_copy(), envelope=env, now=T0 + 100)
        assert report.result == State.PASS, report.summary

    run()
    took = best_per_call(run, seconds=secs * 2)
    return took, floor.of_chain(msg)


# -- (f) memory ------------------------------------------------------------------------------------

MB = 1024 * 1024
LIMIT = 25 * MB  # the product's message limit
HEADERS = (
    b"From: Alice <alice@d0.example>\r\nTo: list@d1.example\r\nSubject: memory\r\n"
    b"Date: Mon, 21 Sep 2026 13:33:00 +0000\r\nMessage-ID: <memory@d0.example>\r\n\r\n"
)

#: The measuring process: imports, notes its resident memory, then verifies and reports its
#: peak (VmHWM, reset to the current size first where the kernel allows it).
CHILD = r"""
import io, json, resource, sys, time
root, mode, path, zone, now = sys.argv[1:6]
sys.path.insert(0, root)
from analysis import cli
from analysis.message_report import analyze_message
from analysis.resolvers import StaticResolver

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
    return 0

base = status("VmRSS:")
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak so far becomes the current size
except OSError:
    pass
started = time.perf_counter()
report = 0
if mode == "verify":
    out, sys.stdout = sys.stdout, io.StringIO()
    code = cli.main(["verify", "--dns-json", zone, "--now", now, "--json", path])
    printed, sys.stdout = sys.stdout.getvalue(), out
    report = len(printed.encode())
else:
    raw = open(path, "rb").read()
    document = analyze_message(raw, lookup=StaticResolver.from_json_file(zone), now=float(now))
    report = len(json.dumps(document.to_json()))
took = time.perf_counter() - started
print(json.dumps({"base": base, "peak": status("VmHWM:"), "seconds": took, "report": report}))
"""


@contextmanager
def signer_limit(octets: int) -> Iterator[None]:
    """Let the signer make a message past the product's limit (its CRLF form, for a file
    that is saved with bare LF and is within the limit as saved)."""
    from analysis import limits

    saved = limits.MAX_MESSAGE_BYTES
    limits.MAX_MESSAGE_BYTES = octets
    try:
        yield
    finally:
        limits.MAX_MESSAGE_BYTES = saved


def _hop(msg: bytes, hop: int, key: SigningKey, previous: bytes | None = None) -> bytes:
    return sign(
        msg,
        domain=f"d{hop}.example",
        keys=[key],
        timestamp=T0 + hop * 10,
        mail_from=f"<bounce@d{hop}.example>",
        rcpt_to=[f"<user@d{hop + 1}.example>"],
        previous=previous,
    ).message


def _ends(msg: bytes, first: bytes, last: bytes) -> bytes:
    """``msg`` with the first and the last line of its body replaced."""
    head, sep, body = msg.partition(b"\r\n\r\n")
    start = body.index(b"\r\n") + 2
    stop = body.rindex(b"\r\n", 0, len(body) - 2) + 2
    return head + sep + first + b"\r\n" + body[start:stop] + last + b"\r\n"


def memory_shapes(key: SigningKey) -> Iterator[tuple[str, bytes]]:
    """(name, message) for each case of (f), each up to the 25 MB limit as saved."""
    room = LIMIT - 64 * 1024  # the signature fields and the header
    short = b"x\r\n" * (room // 3)
    one = _hop(HEADERS + short, 0, key)
    yield "short lines, one hop", one
    yield (
        "short lines, appended after signing",
        one + b"appended after signing\r\n" * 1000,
    )
    yield (
        "short lines, both ends rewritten",
        _hop(_ends(one, b"first", b"last"), 1, key, one),
    )
    with signer_limit(2 * LIMIT):
        lf_short = b"x\r\n" * (room // 2)
        lf_one = _hop(HEADERS + lf_short, 0, key)
        lf_two = _hop(_ends(lf_one, b"first", b"last"), 1, key, lf_one)
    yield "short lines, bare LF, both ends rewritten", lf_two.replace(b"\r\n", b"\n")
    megabyte = (b"z" * MB + b"\r\n") * (room // (MB + 2))
    yield "megabyte lines, one hop", _hop(HEADERS + megabyte, 0, key)
    long = b"y" * 2_200_000
    body = b"".join(b"short line %d\r\n" % k + long + b"\r\n" for k in range(8))
    msg = _hop(HEADERS + body, 0, key)
    for hop in range(1, 16):
        head, _, old = msg.partition(b"\r\n\r\n")
        lines = old.split(b"\r\n")
        lines[2 * (hop % 8)] = b"hop %d was here" % hop
        msg = _hop(head + b"\r\n\r\n" + b"\r\n".join(lines), hop, key, previous=msg)
    yield "16 hops rewriting a line between 2.2 MB lines", msg
    text = b"The quick brown fox jumps over the lazy dog, again and again.\r\n"
    msg = _hop(HEADERS + text * ((room - 50 * 1500) // len(text)), 0, key)
    for hop in range(1, 50):
        msg = _hop(msg + b"-- footer added by d%d.example\r\n" % hop, hop, key, previous=msg)
    yield "50 hops, a footer each", msg


def memory_cases(engine_root: Path | None) -> bool:
    """(f): print each shape's figures; True when every goal is met."""
    ed = ed25519.Ed25519PrivateKey.generate()
    key = SigningKey("s1", ed)
    root = str((engine_root or Path(__file__).resolve().parent.parent).resolve())
    zone = {f"d{n}.example": {"s1._domainkey": [["txt", public_record_for(ed)]]} for n in range(51)}
    print(f"(f) memory: peak resident memory above the interpreter's own, x the message ({root})")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        zone_path = Path(tmp) / "zone.json"
        zone_path.write_text(json.dumps(zone))
        for name, raw in memory_shapes(key):
            path = Path(tmp) / "message.eml"
            path.write_bytes(raw)
            del raw
            size = path.stat().st_size
            figures = []
            for mode in ("verify", "everything"):
                out = subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        CHILD,
                        root,
                        mode,
                        str(path),
                        str(zone_path),
                        str(T0 + 600),
                    ],
                    capture_output=True,
                    text=True,
                    check=False,
                    env={**os.environ, "PYTHONPATH": root},
                )
                if out.returncode != 0:
                    print(f"  {name}: {mode} failed: {out.stderr.strip()[-300:]}")
                    ok = False
                    continue
                got = json.loads(out.stdout.strip().splitlines()[-1])
                times = (got["peak"] - got["base"]) / size
                figures.append((mode, times, got["seconds"], got["report"]))
                if mode == "verify" and times > 4:
                    ok = False
                if mode == "everything" and got["report"] > 4 * MB:
                    ok = False
            print(f"  {name} ({size / MB:.1f} MB)")
            for mode, times, seconds, report in figures:
                label = "dkim2 verify   " if mode == "verify" else "every mechanism"
                what = "JSON printed" if mode == "verify" else "report"
                print(
                    f"    {label} {times:5.2f}x   {seconds:6.2f} s   {what} {report / MB:7.2f} MB"
                )
    return ok


if __name__ == "__main__":
    raise SystemExit(main())
