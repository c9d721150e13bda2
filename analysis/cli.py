"""The ``dkim2`` command: verify, history, sign, keygen.

Exit status of ``verify`` for one file: 0 pass, 1 fail, 2 permerror,
3 temperror, 4 none.  With several files, the highest of the per-file
statuses.  64 and up: usage errors (64 bad arguments, 66 unreadable input,
70 internal error).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from .dkim2.compare import analyze
from .dkim2.report import ChainReport, Envelope, FieldTable
from .dkim2.revisions import CHOICES, NEWEST, ORDER, REVISIONS
from .dkim2.verify import ENGINE_VERSION, Options, prepare, verify_prepared
from .findings import Finding, Severity, State
from .lookup import KeyLookup

EXIT_FOR_STATE = {
    State.PASS: 0,
    State.FAIL: 1,
    State.PERMERROR: 2,
    State.TEMPERROR: 3,
    State.NONE: 4,
}
EX_USAGE = 64
EX_NOINPUT = 66
EX_SOFTWARE = 70


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EX_USAGE)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="dkim2",
        description=f"DKIM2 forensics (drafts -06 to -{NEWEST}, engine {ENGINE_VERSION})",
    )
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    v = sub.add_parser("verify", help="verify DKIM2 chains and explain every hop")
    v.add_argument("files", nargs="+", type=Path, metavar="FILE")
    v.add_argument("--mail-from", help="SMTP MAIL FROM of the final delivery (with or without <>)")
    v.add_argument("--rcpt-to", action="append", default=[], help="SMTP RCPT TO (repeatable)")
    v.add_argument("--dns-json", type=Path, help="serve keys from a dns.json zone instead of DNS")
    v.add_argument("--now", type=int, help="verification clock, unix seconds (0: do not check t=)")
    v.add_argument("--json", action="store_true", help="one JSON object per file, one per line")
    v.add_argument(
        "--compat",
        action="store_true",
        help="accept earlier-draft artefacts that do not weaken security",
    )
    v.add_argument(
        "--revision",
        choices=CHOICES,
        default="auto",
        help=(
            f"the draft revision whose rules judge (default auto: -{NEWEST}, the newest, "
            "with the older ones compared)"
        ),
    )
    v.add_argument(
        "--null-body-is-error",
        action="store_true",
        help="local policy: a null body recipe is PERMERROR where the revision allows it "
        "(-09 makes it one anyway)",
    )
    v.add_argument("--quiet", "-q", action="store_true", help="print only the verdict line")

    h = sub.add_parser("history", help="reconstruct every instance and show what each hop changed")
    h.add_argument("file", type=Path, metavar="FILE")
    h.add_argument("--out", type=Path, help="write each instance as m<N>.eml into this folder")
    h.add_argument("--json", action="store_true")

    s = sub.add_parser("sign", help="sign a message as originator, forwarder or reviser")
    s.add_argument("file", type=Path, metavar="FILE", help="the message to sign ('-' for stdin)")
    s.add_argument("--domain", "-d", required=True, help="signing domain (d=)")
    s.add_argument(
        "--key",
        "-k",
        action="append",
        required=True,
        metavar="SELECTOR:PEMFILE",
        help=(
            "selector and PKCS#8 private key file; repeat for several algorithms that must all "
            "pass, or write groups as in s= ('a:a.pem,b:b.pem|c:c.pem': '|' separates "
            "alternatives, -08 on)"
        ),
    )
    s.add_argument(
        "--revision",
        choices=ORDER,
        default=NEWEST,
        help=f"the draft revision whose rules the signature follows (default {NEWEST})",
    )
    s.add_argument("--mail-from", help="MAIL FROM of the outgoing transaction (mf=)")
    s.add_argument("--rcpt-to", action="append", default=[], help="RCPT TO (rt=, repeatable)")
    s.add_argument("--next-domain", help="nd= instead of mf=/rt= (S06 §8.7)")
    s.add_argument(
        "--previous",
        type=Path,
        help="the message as it arrived, when this hop changed it (reviser)",
    )
    s.add_argument("--flags", default="", help="comma-separated f= flags, e.g. exploded")
    s.add_argument("--nonce", help="n= value")
    s.add_argument("--timestamp", type=int, help="t= (default: now)")
    s.add_argument(
        "--hash",
        default="sha256",
        help="hash algorithms for h=, comma-separated; '|' separates alternative groups (-08 on)",
    )
    s.add_argument(
        "--null-body",
        action="store_true",
        help='the earlier body cannot be recreated: record "b": null',
    )
    s.add_argument(
        "--output", "-o", type=Path, help="write the signed message here (default stdout)"
    )

    k = sub.add_parser("keygen", help="make a key pair and the TXT record to publish")
    k.add_argument(
        "--type",
        choices=("rsa", "ed25519", "mldsa44"),
        default="ed25519",
        help="mldsa44: pure ML-DSA-44, k=mldsa44 (-08 §3.4 as implemented by Stalwart 0.15)",
    )
    k.add_argument("--bits", type=int, default=2048, help="RSA modulus size")
    k.add_argument("--selector", "-s", required=True)
    k.add_argument("--domain", "-d", required=True)
    k.add_argument("--out", type=Path, help="write the private key (PKCS#8 PEM) here")
    return p


def _read(path: Path) -> bytes:
    if str(path) == "-":
        return sys.stdin.buffer.read()
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc


def _lookup(dns_json: Path | None) -> KeyLookup:
    if dns_json is not None:
        from .resolvers import StaticResolver

        try:
            return StaticResolver.from_json_file(dns_json)
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot use {dns_json} as a dns.json zone: {exc}") from exc
    from .dns import DnsResolver

    return DnsResolver()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "verify":
            return cmd_verify(args, sys.stdout)
        if args.command == "history":
            return cmd_history(args, sys.stdout)
        if args.command == "sign":
            return cmd_sign(args)
        if args.command == "keygen":
            return cmd_keygen(args, sys.stdout)
    except UsageError as exc:
        print(f"dkim2: {exc}", file=sys.stderr)
        return EX_NOINPUT if "cannot read" in str(exc) else EX_USAGE
    except BrokenPipeError:
        return 0
    return EX_USAGE


def cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    lookup = _lookup(args.dns_json)
    envelope = None
    if args.mail_from is not None or args.rcpt_to:
        envelope = Envelope(args.mail_from or "<>", list(args.rcpt_to))
    options = Options(compat=args.compat, null_body_is_error=args.null_body_is_error)
    worst = 0
    for path in args.files:
        raw = _read(path)
        report = analyze(
            raw,
            lookup=lookup,
            envelope=envelope,
            now=args.now,
            options=options,
            revision=args.revision,
        )
        worst = max(worst, EXIT_FOR_STATE[report.result])
        if args.json:
            data = report.to_json()
            data["file"] = str(path)
            out.write(json.dumps(data, separators=(",", ":")) + "\n")
        elif args.quiet:
            out.write(f"{path}: {report.summary}\n")
        else:
            out.write(render_text(report, str(path)))
    return worst


def _when(ts: int | None) -> str:
    if ts is None:
        return "?"
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))
    except (OverflowError, OSError, ValueError):
        return str(ts)


def _explain(f: Finding) -> dict[str, Any] | None:
    try:
        from .catalogue import explain
    except ImportError:  # pragma: no cover - catalogue always present in releases
        return None
    return explain(f)


def render_text(report: ChainReport, name: str = "") -> str:
    """A readable per-hop report (the CLI's default output)."""
    lines: list[str] = []
    add = lines.append
    add(f"== {name}" if name else "==")
    add(report.summary)
    add("   " + revision_line(report))
    msg = report.message
    add(f"   Subject: {msg.subject!r}  From: {msg.from_!r}  ({msg.size} octets)")
    if report.envelope is None:
        hints = report.envelope_hints
        add(
            "   Envelope: not checked (no --mail-from/--rcpt-to given)"
            + (f"; Return-Path suggests MAIL FROM {hints.mail_from}" if hints.mail_from else "")
            + (
                f"; Delivered-To suggests RCPT TO {', '.join(hints.rcpt_to)}"
                if hints.rcpt_to
                else ""
            )
        )
    else:
        add(
            f"   Envelope: MAIL FROM {report.envelope.mail_from} RCPT TO "
            f"{', '.join(report.envelope.rcpt_to)}"
        )
    for hop in report.hops:
        sels = ", ".join(f"{s.selector}/{s.algorithm}={s.result}" for s in hop.selectors)
        delay = f" (+{hop.delay_seconds}s)" if hop.delay_seconds is not None else ""
        route = (
            f"nd={hop.next_domain}"
            if hop.next_domain
            else f"{hop.mail_from} -> {', '.join(hop.rcpt_to)}"
        )
        add(f"-- hop i={hop.hop} m={hop.instance} d={hop.domain}: {hop.result.value.upper()}")
        add(
            f"   signed {_when(hop.timestamp)}{delay}; {route}; [{sels}]"
            + (f"; flags {','.join(hop.flags)}" if hop.flags else "")
            + (
                f"; custody link {hop.custody_link}"
                if hop.custody_link not in ("ok", "first")
                else ""
            )
        )
    for d in report.diffs:
        who = d.hop_domain or f"hop {d.hop}"
        add(
            f"-- m={d.before} -> m={d.after} by {who}"
            + ("" if d.explained else "  (NOT explained by the recipes)")
        )
        for c in d.header_changes:
            if c.kind == "changed":
                add(f"   ~ {c.name}: {c.old!r} -> {c.new!r}")
            elif c.kind == "added":
                add(f"   + {c.name}: {c.new!r}")
            else:
                add(f"   - {c.name}: {c.old!r}")
        if d.body_changed is None:
            add("   body: earlier body unknown (null body recipe)")
        elif d.body_changed:
            add("   body:")
            lines.extend("     " + x for x in d.body_diff[:200])
            if len(d.body_diff) > 200 or d.body_diff_truncated:
                add("     ... (diff truncated; use 'dkim2 history')")
            if d.body_diff_note:
                add(f"     ({d.body_diff_note})")
    if report.revisions and report.revision_mode == "auto":
        add("-- revisions")
        add("   " + "  ".join(f"-{o.revision}: {o.result.value}" for o in report.revisions))
        for split in report.splits:
            add(f"   {split.sentence}")
            for title, source in zip(split.rule_titles, split.sources, strict=True):
                add(f"      rule: {title} — {source}")
        for fp in report.fingerprints:
            add(f"   hop i={fp.hop}: {fp.sentence}")
    shown = [f for f in report.findings if f.state != State.NONE or f.severity != Severity.INFO]
    if shown:
        add("-- findings")
    for f in shown:
        where = " ".join(
            x for x in (f"i={f.hop}" if f.hop else "", f"m={f.instance}" if f.instance else "") if x
        )
        add(
            f"   [{f.state.value if f.state != State.NONE else f.severity.value}] {f.message}"
            + (f" ({where})" if where else "")
        )
        if f.detail:
            add(f"      found: {f.detail}")
        exp = _explain(f)
        if exp and f.state != State.NONE:
            causes = exp.get("likely_causes") or []
            if causes:
                add(f"      likely cause: {causes[0]}")
            if exp.get("fix"):
                add(f"      fix: {exp['fix']}")
    add("")
    return "\n".join(lines) + "\n"


#: How each verification level is named, by the revision's vocabulary.
_LEVEL_WORDS = {
    ("fully-verified", "pass"): "verified",
    ("fully-verified", "validly-provisionally"): "a Validly Signed DKIM2 Message",
    ("fully-verified", "fully-provisionally"): "a Fully Verified DKIM2 Message",
    ("provisionally-verified", "validly-provisionally"): "Provisionally Verified",
    ("provisionally-verified", "fully-provisionally"): "Provisionally Verified",
}


def revision_line(report: ChainReport) -> str:
    """Which revision's rules produced the verdict, in one line (every output names it)."""
    rev = REVISIONS.get(report.revision)
    if rev is None:
        return f"Rules: {report.draft}"
    how = (
        "auto: the newest revision, the older ones compared below"
        if report.revision_mode == "auto"
        else "chosen with --revision"
    )
    standing = "" if rev.text_public else "; second-hand rules (draft text not public)"
    level = _LEVEL_WORDS.get((report.level, rev.verification_levels))
    return f"Rules: {rev.label} ({rev.draft}; {how}{standing})" + (
        f"; the message is {level}" if level else ""
    )


def _match_word(match: bool | None) -> str:
    return "ok" if match else ("unknown" if match is None else "MISMATCH")


def cmd_history(args: argparse.Namespace, out: TextIO) -> int:
    raw = _read(args.file)
    prep = prepare(raw, Options(compat=True))
    report = verify_prepared(prep, {}, envelope=None, now=0)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        for inst in report.instances:
            if inst.body is not None:  # written piece by piece: never a copy of the instance
                with (args.out / f"m{inst.instance}.eml").open("wb") as f:
                    for chunk in inst.message_chunks():
                        f.write(chunk)
    if args.json:
        table = FieldTable()
        summary = {
            "instances": [i.to_json(table) for i in report.instances],
            "header_field_table": table.rows,
            "diffs": [d.to_json() for d in report.diffs],
        }
        out.write(json.dumps(summary) + "\n")
        return 0
    if not report.instances:
        out.write("No Message-Instance fields: nothing to reconstruct.\n")
        return 0
    for inst in report.instances:
        hashes = ", ".join(f"{c.part} {c.algorithm} {_match_word(c.match)}" for c in inst.checks)
        origin = "as received" if not inst.reconstructed else "reconstructed"
        body = f"{len(inst.body)} octets" if inst.body is not None else "unknown"
        out.write(
            f"m={inst.instance} ({origin}; introduced by hop {inst.introduced_by_hop}; "
            f"body {body}; {hashes or 'no hashes'})\n"
        )
    out.write(render_text(report).split("\n", 3)[-1] if report.diffs else "")
    for d in report.diffs:
        out.write(f"\n== m={d.before} -> m={d.after} ({d.hop_domain or d.hop})\n")
        for c in d.header_changes:
            out.write(f"{c.kind}: {c.name}: {c.old!r} -> {c.new!r}\n")
        out.write("\n".join(d.body_diff) + ("\n" if d.body_diff else ""))
        if d.body_diff_note:
            out.write(f"({d.body_diff_note})\n")
    return 0


def cmd_sign(args: argparse.Namespace) -> int:
    from .dkim2.keys import load_private_key
    from .dkim2.sign import SigningError, SigningKey, sign

    def load(spec: str) -> SigningKey:
        selector, sep, pem_path = spec.strip().partition(":")
        if not sep or not selector or not pem_path:
            raise UsageError(f"--key {spec!r} must be SELECTOR:PEMFILE")
        try:
            return SigningKey(selector, load_private_key(_read(Path(pem_path))))
        except ValueError as exc:
            raise UsageError(f"{pem_path} is not a usable private key: {exc}") from exc

    # Each --key is "a:a.pem,b:b.pem|c:c.pem"; the first groups of every --key make one group.
    groups: list[list[SigningKey]] = [[]]
    for value in args.key:
        parts = value.split("|")
        groups[0].extend(load(x) for x in parts[0].split(",") if x.strip())
        groups.extend([load(x) for x in part.split(",") if x.strip()] for part in parts[1:])
    keys, alternatives = groups[0], [g for g in groups[1:] if g]
    hash_groups = [[h for h in g.split(",") if h] for g in args.hash.split("|")]
    message = _read(args.file)
    previous = _read(args.previous) if args.previous else None
    try:
        result = sign(
            message,
            domain=args.domain,
            keys=keys,
            timestamp=args.timestamp if args.timestamp is not None else int(time.time()),
            mail_from=args.mail_from,
            rcpt_to=args.rcpt_to,
            next_domain=args.next_domain,
            previous=previous,
            flags=[f for f in args.flags.split(",") if f],
            nonce=args.nonce,
            hash_groups=[g for g in hash_groups if g],
            body_unrecoverable=args.null_body,
            revision=args.revision,
            key_groups=alternatives,
        )
    except SigningError as exc:
        raise UsageError(f"cannot sign: {exc}") from exc
    if args.output:
        args.output.write_bytes(result.message)
    else:
        sys.stdout.buffer.write(result.message)
    print(
        f"dkim2: signed as {result.role}, i={result.hop} m={result.instance} "
        f"(-{args.revision} rules)",
        file=sys.stderr,
    )
    return 0


def cmd_keygen(args: argparse.Namespace, out: TextIO) -> int:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa, rsa

    from .dkim2.keys import PrivateKey, public_record_for

    key: PrivateKey
    if args.type == "rsa":
        if args.bits < 1024 or args.bits > 8192:
            raise UsageError("RSA keys must have 1024 to 8192 bits (2048 recommended, BCP01 §3.1)")
        key = rsa.generate_private_key(public_exponent=65537, key_size=args.bits)
    elif args.type == "mldsa44":
        # The private key is PKCS#8 in the RFC 9881 seed-only form, as Stalwart 0.15 writes it.
        try:
            key = mldsa.MLDSA44PrivateKey.generate()
        except UnsupportedAlgorithm as exc:
            raise UsageError(
                "this installation's cryptography library cannot make ML-DSA-44 keys"
            ) from exc
    else:
        key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    if args.out:
        args.out.write_bytes(pem)
        args.out.chmod(0o600)
    else:
        out.write(pem.decode())
    record = public_record_for(key)
    # A zone file string holds at most 255 octets (RFC 1035 §3.3): longer records are written
    # as several strings, which resolvers join (an ML-DSA-44 record has 1774 characters).
    strings = " ".join(f'"{record[i : i + 255]}"' for i in range(0, len(record), 255))
    out.write(f"{args.selector}._domainkey.{args.domain}. IN TXT {strings}\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
