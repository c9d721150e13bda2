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

Usage: python bench/verify.py [--quick] [--no-memory | --memory-only] [--engine-root DIR]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    parser.add_argument("--no-memory", action="store_true", help="skip (f), the memory cases")
    parser.add_argument("--memory-only", action="store_true", help="run (f) alone")
    parser.add_argument("--engine-root", type=Path, help="run (f) with the engine of this checkout")
    args = parser.parse_args()
    secs = 0.3 if args.quick else 1.0
    if args.memory_only:
        return 0 if memory_cases(args.engine_root) else 1

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
    if not args.no_memory:
        goals.append(("(f) verify within 4x, reports within 4 MB", memory_cases(args.engine_root)))
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
