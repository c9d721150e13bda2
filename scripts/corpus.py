#!/usr/bin/env python
"""Write the hostile-input corpus out as files, and print its counts.

    .venv/bin/python scripts/corpus.py [--out DIR]      # files + counts by category and path
    .venv/bin/python scripts/corpus.py --counts          # counts only
    .venv/bin/python scripts/corpus.py --check [-k TEXT] # run the engine, print every case
                                                         # whose outcome differs, as E(...)

Each case becomes ``DIR/<category>/<name>.eml`` (the bytes, exactly), ``<name>.json`` (the
title, envelope, clock, revision, expected outcome, web requests and xfail reason) and
``<name>.zone.json`` (the keys it was signed with, a dns.json zone), so that

    dkim2 verify DIR/tags/sig-empty-tag.eml --dns-json DIR/tags/sig-empty-tag.zone.json \\
        --now NOW --mail-from ... --rcpt-to ...

gives the expected DKIM2 outcome (the ``cli`` line of the JSON spells the command out).
The keys are made anew in each run (tests/support/chains.py), so signatures differ between
runs; the outcomes do not.  The corpus itself lives in tests/corpus/ (cases_*.py).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections import Counter
from dataclasses import asdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.corpus import catalogue, runner  # noqa: E402
from tests.corpus.model import WEB_PATHS, Case, Expect  # noqa: E402


def literal(expect: Expect) -> str:
    """``expect`` as the ``E(...)`` call the case tables use."""
    parts = [repr(expect.result)]
    if expect.failure is not None:
        parts += [repr(expect.failure[0]), repr(expect.failure[1])]
    parts.append(f"v={expect.verdict!r}")
    if expect.notes:
        parts.append(f"notes={expect.notes!r}")
    if expect.why:
        return "E(" + ", ".join(parts) + f").because({expect.why!r})"
    return "E(" + ", ".join(parts) + ")"


def observed(case: Case) -> Expect:
    dkim2 = runner.dkim2_outcome(case)
    whole = runner.message_outcome(case)
    return Expect(dkim2.result, dkim2.failure, str(whole.verdict), case.expect.notes)


def check(cases: list[Case]) -> int:
    """Print each case whose engine outcome differs from its expectation."""
    differing = 0
    for case in cases:
        dkim2 = runner.dkim2_outcome(case)
        whole = runner.message_outcome(case)
        problems = dkim2.problems(case.expect, verdict=False) + [
            p for p in whole.problems(case.expect) if p.startswith("verdict")
        ]
        if dkim2.result != whole.result or dkim2.failure != whole.failure:
            problems.append(f"analyze_message's DKIM2 section differs: {whole}")
        if case.xfail:
            if problems:
                print(f"{case.id}: xfail, differs as expected ({case.xfail})")
                continue
            problems.append(
                f"XPASS: the outcome is the expected one, but the case is xfail: {case.xfail}"
            )
        if problems:
            differing += 1
            print(f"{case.id}: {literal(observed(case))}")
            for problem in problems:
                print(f"    {problem}")
    print(f"{differing} of {len(cases)} cases differ from their expected outcome")
    return 1 if differing else 0


def counts(cases: list[Case]) -> str:
    by_category = Counter(c.category for c in cases)
    lines = ["cases by category:"]
    lines += [f"  {name:<12} {n:>4}" for name, n in by_category.items()]
    lines.append(f"  {'total':<12} {len(cases):>4}")
    lines.append("cases by path:")
    for path in ("engine", "cli", *WEB_PATHS):
        taking = [c for c in cases if c.takes(path)]
        cats = Counter(c.category for c in taking)
        detail = ", ".join(f"{k} {v}" for k, v in cats.items())
        lines.append(f"  {path:<12} {len(taking):>4}  ({detail})")
    xfails = [c for c in cases if c.xfail]
    lines.append(f"xfail (findings): {len(xfails)}")
    lines += [f"  {c.id}: {c.xfail}" for c in xfails]
    return "\n".join(lines)


def write(cases: list[Case], out: Path) -> None:
    for case in cases:
        folder = out / case.category
        folder.mkdir(parents=True, exist_ok=True)
        eml = folder / f"{case.name}.eml"
        zone = folder / f"{case.name}.zone.json"
        eml.write_bytes(case.raw)
        zone.write_text(json.dumps(case.zone, indent=1) + "\n")
        cli = ["dkim2", *runner.cli_args(case, eml.relative_to(out), zone.relative_to(out))]
        data = {
            "id": case.id,
            "title": case.title,
            "size": len(case.raw),
            "envelope": None
            if case.mail_from is None
            else {"mail_from": case.mail_from, "rcpt_to": list(case.rcpt_to)},
            "now": case.now,
            "revision": case.revision,
            "expect": asdict(case.expect),
            "cli": shlex.join(cli),
            "paths": ["engine", "cli", *sorted(case.paths)],
            "upload": asdict(case.upload) if "upload" in case.paths else None,
            "api": asdict(case.api) if "api" in case.paths else None,
            "intake": asdict(case.intake) if "intake" in case.paths else None,
            "browser": asdict(case.browser) if "browser" in case.paths else None,
            "xfail": case.xfail or None,
        }
        (folder / f"{case.name}.json").write_text(json.dumps(data, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "build" / "corpus")
    parser.add_argument("--counts", action="store_true", help="print the counts only")
    parser.add_argument("--check", action="store_true", help="run the engine on every case")
    parser.add_argument("-k", default="", help="only cases whose id contains this text")
    args = parser.parse_args(argv)
    cases = [c for c in catalogue.all_cases() if args.k in c.id]
    if args.check:
        return check(cases)
    if not args.counts:
        write(cases, args.out)
        print(f"wrote {len(cases)} cases under {args.out}")
    print(counts(cases))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
