"""Benchmark of the DKIM2 engine against the crypto floor measured in the same run.

Prints, on this machine:
* the crypto floor: RSA-2048 verify, Ed25519 verify, SHA-256 throughput;
* (a) a 5-hop 50 KB chain where no hop changed the content,
* (b) the same where every hop changed the body (a footer each),
* (c) a 25 MB message (one hop), with peak memory (tracemalloc) as a multiple of its size;
* (d) real mail of today (issue #9): a 50 KB message with two DKIM1 signatures, a 3-instance
  ARC chain and a 3-hop DKIM2 chain, all RSA-2048, with SPF and DMARC records, analysed by
  ``analyze_message`` (every mechanism and the verdict);
* (e) a -09 chain (issue #10): 3 hops, each signing ``s=`` with two groups (Ed25519 and
  RSA-2048 | ML-DSA-44) and recording two hash groups (sha256 | sha512), the middle hop
  changing the body;
each as time per message and as a ratio to the floor of the work it must do (signature
verifications plus SHA-256 over every octet hashed).  Every case is judged as the product
does by default (``auto``: by -09 rules, compared with -06, -07 and -08); (a) and (b) also
print the figure for one revision alone (``--revision 09``), the cost of the comparison
being the difference.  Goals (issue #2): (a) <= 3x, (b) <= 5x, (c) peak memory <= 4x the
message; (d) and (e) are reported (issue #13 sets their goals).

Usage: python bench/verify.py [--quick]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dkim  # type: ignore[import-untyped]
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa, padding, rsa
from cryptography.hazmat.primitives.hashes import SHA256

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
    args = parser.parse_args()
    secs = 0.3 if args.quick else 1.0

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    data = b"x" * 200
    rsa_sig = rsa_key.sign(data, padding.PKCS1v15(), SHA256())
    ed_sig = ed_key.sign(hashlib.sha256(data).digest())
    rsa_pub, ed_pub = rsa_key.public_key(), ed_key.public_key()
    t_rsa = best_per_call(
        lambda: rsa_pub.verify(rsa_sig, data, padding.PKCS1v15(), SHA256()), seconds=secs
    )
    t_ed = best_per_call(lambda: ed_pub.verify(ed_sig, hashlib.sha256(data).digest()), seconds=secs)
    mb = b"\0" * (1 << 20)
    t_sha_mb = best_per_call(lambda: hashlib.sha256(mb).digest(), seconds=secs)
    sha_per_byte = t_sha_mb / len(mb)
    print("crypto floor")
    print(f"  RSA-2048 verify      {t_rsa * 1e6:8.1f} us")
    print(f"  Ed25519 verify       {t_ed * 1e6:8.1f} us")
    print(f"  SHA-256              {1 / sha_per_byte / 1e6:8.0f} MB/s")

    # Five hops, alternating Ed25519 and RSA-2048, each signer a different domain.
    zone: dict[str, dict[str, list[list[str]]]] = {}
    hops: list[tuple[str, SigningKey]] = []
    for n in range(5):
        key = ed_key if n % 2 == 0 else rsa_key
        domain = f"d{n}.example"
        zone[domain] = {"s1._domainkey": [["txt", public_record_for(key)]]}
        hops.append((domain, SigningKey("s1", key)))
    resolver = StaticResolver(zone)
    verify_floor = sum(t_ed if n % 2 == 0 else t_rsa for n in range(5))
    body = make_body(50 * 1024)

    def run(raw: bytes, envelope: Envelope, revision: str = "auto") -> None:
        report = analyze(raw, lookup=resolver, envelope=envelope, now=T0 + 100, revision=revision)
        assert report.result == State.PASS, report.summary

    env = Envelope("<bounce@d4.example>", ["<user@d5.example>"])
    results = {}
    for label, change in (("a", False), ("b", True)):
        raw = build_chain(hops, body, change_body=change)
        run(raw, env)
        header_len = raw.index(b"\r\n\r\n")
        bodies = 5 if change else 1
        hashed = len(raw) - header_len + (bodies - 1) * len(body) + 5 * (header_len + 600)
        floor = verify_floor + hashed * sha_per_byte
        took = best_per_call(lambda raw=raw: run(raw, env), seconds=secs * 2)
        one = best_per_call(lambda raw=raw: run(raw, env, "09"), seconds=secs * 2)
        results[label] = (took, floor)
        what = "no hop changed content" if not change else "every hop changed the body"
        print(f"({label}) 5-hop {len(raw) // 1024} KB chain, {what}")
        print(
            f"  engine {took * 1e3:7.3f} ms/message   floor {floor * 1e3:7.3f} ms   "
            f"ratio {took / floor:5.2f}x   ({1 / took:7.0f} messages/s on one core)"
        )
        print(f"  one revision alone {one * 1e3:7.3f} ms   ratio {one / floor:5.2f}x")

    big_body = make_body(25 * 1024 * 1024 - 4096)
    big = build_chain(hops[:1], big_body, change_body=False)
    env1 = Envelope("<bounce@d0.example>", ["<user@d1.example>"])
    gc.collect()
    start = time.perf_counter()
    run(big, env1)
    took = time.perf_counter() - start
    floor = t_ed + len(big) * sha_per_byte
    tracemalloc.start()
    run(big, env1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    lf_big = big.replace(b"\r\n", b"\n")  # a file saved with LF: the engine must convert it
    tracemalloc.start()
    analyze(lf_big, lookup=resolver, envelope=env1, now=T0 + 100)
    _, lf_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    total = (len(big) + peak) / len(big)
    lf_total = (len(lf_big) + lf_peak) / len(lf_big)
    print(f"(c) one {len(big) / 2**20:.1f} MB message")
    print(
        f"  engine {took * 1e3:7.1f} ms   floor {floor * 1e3:7.1f} ms   ratio {took / floor:5.2f}x"
    )
    print(
        f"  peak memory (input + allocations): CRLF file {total:4.2f}x the message, "
        f"LF file (converted to CRLF) {lf_total:4.2f}x"
    )
    real_mail(rsa_key, t_rsa, sha_per_byte, secs)
    groups_chain(rsa_key, ed_key, t_rsa, t_ed, sha_per_byte, secs)

    goals = [
        ("(a) within 3x", results["a"][0] / results["a"][1] <= 3),
        ("(b) within 5x", results["b"][0] / results["b"][1] <= 5),
        ("(c) peak memory within 4x", max(total, lf_total) <= 4),
    ]
    print("goals: " + ", ".join(f"{name} {'met' if ok else 'MISSED'}" for name, ok in goals))
    return 0


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
        report = analyze_message(raw, lookup=resolver, now=now)
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
    print(f"(d) {len(raw) // 1024} KB real mail: 2 DKIM1, 3 ARC sets, 3 DKIM2 hops, SPF, DMARC")
    print(
        f"  engine {took * 1e3:7.3f} ms/message   floor {floor * 1e3:7.3f} ms   "
        f"ratio {took / floor:5.2f}x   ({1 / took:7.0f} messages/s on one core)"
    )
    return took, floor


def groups_chain(
    rsa_key: rsa.RSAPrivateKey,
    ed_key: ed25519.Ed25519PrivateKey,
    t_rsa: float,
    t_ed: float,
    sha_per_byte: float,
    secs: float,
) -> tuple[float, float]:
    """(e): three -09 hops, each ``s=ed,rsa|pq`` and ``h=sha256|sha512``; hop 2 adds a footer."""
    pq_key = mldsa.MLDSA44PrivateKey.generate()
    data = b"x" * 600
    pq_sig = pq_key.sign(data, b"DKIM2")
    pq_pub = pq_key.public_key()
    t_pq = best_per_call(lambda: pq_pub.verify(pq_sig, data, b"DKIM2"), seconds=secs)
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
        report = analyze(msg, lookup=resolver, envelope=env, now=T0 + 100)
        assert report.result == State.PASS, report.summary

    run()
    took = best_per_call(run, seconds=secs * 2)
    header_len = msg.index(b"\r\n\r\n")
    # Every entry of every group is checked (3 hops x Ed25519, RSA, ML-DSA-44); two bodies
    # (before and after the footer) hashed with SHA-256 and SHA-512 (counted as SHA-256).
    floor = 3 * (t_ed + t_rsa + t_pq) + (4 * len(body) + 4 * header_len) * sha_per_byte
    print(f"(e) {len(msg) // 1024} KB -09 chain: 3 hops, groups ed25519,rsa|mldsa44, sha256|sha512")
    print(f"  ML-DSA-44 verify {t_pq * 1e6:8.1f} us")
    print(
        f"  engine {took * 1e3:7.3f} ms/message   floor {floor * 1e3:7.3f} ms   "
        f"ratio {took / floor:5.2f}x   ({1 / took:7.0f} messages/s on one core)"
    )
    return took, floor


if __name__ == "__main__":
    raise SystemExit(main())
