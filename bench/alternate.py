"""Two states of the code measured in turns, in the same minutes (issue #13).

This machine's speed drifts by 20-30% from one minute to the next (docs/operations.md,
"Speed"): as much as most changes a benchmark is asked to show, so a figure of this checkout
against one of another commit measured at another hour says little. This runs a stack
benchmark (``bench/load.py``, or ``bench/intake.py --stack``) of another commit and of this
checkout in turns, ``--pairs`` times, each run on a stack of its own, and prints each pair's
figures, how many pairs went each way, and the median of the pairs' differences.

Within a pair the order alternates (the other commit first, then this checkout first), so
that a drift during the pairs favours neither. The other commit runs from a git worktree
with a virtualenv of its own (``make venv`` with this checkout's Python), both removed at the
end, also on failure or Ctrl-C. Each state runs its own copy of the benchmark, which must
print its figures with ``--json`` (every commit since issue #13 does); ``--same-benchmark``
runs this checkout's benchmark (its ``bench/`` copied into the other commit's worktree)
on both, for a commit older than the figures compared (before issue #13 the benchmarks
printed no CPU by process): the stack and the engine are the other commit's own, the
messages, the load and the measuring are the same.

Usage: .venv/bin/python bench/alternate.py --base REV [--pairs 5] [--same-benchmark] load
           [bench/load.py options]
       .venv/bin/python bench/alternate.py --base REV [--same-benchmark] intake
           [bench/intake.py options]
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from stackbench import flat  # bench/ is this script's directory, first on sys.path

REPO = Path(__file__).resolve().parent.parent
BENCHMARKS = {
    "load": ["bench/load.py"],
    "intake": ["bench/intake.py", "--stack"],
}
#: The figures compared, by the name the benchmark's JSON gives them (nested ones flattened).
FIGURES = {
    "load": [
        "analyses_per_second",
        "cpu_ms_per_analysis.total",
        "cpu_ms_per_analysis.web",
        "cpu_ms_per_analysis.worker",
        "cpu_ms_per_analysis.postgres",
    ],
    "intake": [
        "analyses_per_second",
        "cpu_ms_per_analysis.total",
        "cpu_ms_per_analysis.intake",
        "cpu_ms_per_analysis.worker",
        "cpu_ms_per_analysis.postgres",
    ],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the commit to compare with (any git rev)")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument(
        "--same-benchmark",
        action="store_true",
        help="run this checkout's bench/ on both (for a base older than its figures)",
    )
    parser.add_argument("benchmark", choices=sorted(BENCHMARKS))
    args, extra = parser.parse_known_args(argv)
    if not 1 <= args.pairs <= 20:
        parser.error("--pairs: 1 to 20")
    signal.signal(signal.SIGTERM, _exit_on_signal)
    rev = _git("rev-parse", "--short", args.base).strip()
    head = _git("rev-parse", "--short", "HEAD").strip()
    dirty = " (with uncommitted changes)" if _git("status", "--porcelain", "-uno").strip() else ""
    with tempfile.TemporaryDirectory(prefix="dkim2web-alternate-") as tmp:
        worktree = Path(tmp) / rev
        _git("worktree", "add", "--detach", str(worktree), args.base)
        try:
            print(f"making {rev}'s virtualenv ...", flush=True)
            made = subprocess.run(
                ["make", "-s", "venv", f"PYTHON={sys._base_executable}"],  # type: ignore[attr-defined]
                cwd=worktree,
                capture_output=True,
                text=True,
            )
            if made.returncode != 0:  # pip's chatter is shown only when it failed
                raise SystemExit(f"{rev}: make venv failed\n{made.stdout}{made.stderr}")
            if args.same_benchmark:
                print(f"running this checkout's benchmark on {rev} too", flush=True)
                # A commit from before bench/ existed gets one; what its stack lacks, the
                # benchmark's own error says (shown by _run).
                (worktree / "bench").mkdir(exist_ok=True)
                for script in (REPO / "bench").glob("*.py"):
                    shutil.copy2(script, worktree / "bench" / script.name)
            pairs = []
            for n in range(args.pairs):
                # By role, not by name: --base HEAD compares the checkout with its commit.
                order = [("base", rev, worktree), ("head", head, REPO)]
                if n % 2:
                    order.reverse()
                figures = {}
                for role, name, root in order:
                    print(f"pair {n + 1} of {args.pairs}: {name} ...", flush=True)
                    figures[role] = _run(root, args.benchmark, extra)
                pairs.append((figures["base"], figures["head"]))
                _print_pair(n + 1, args.benchmark, pairs[-1])
        finally:
            _git("worktree", "remove", "--force", str(worktree))
            _git("worktree", "prune")
    same = ", both with this checkout's benchmark" if args.same_benchmark else ""
    _print_summary(args.benchmark, rev, f"{head}{dirty}{same}", pairs)
    return 0


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=REPO, check=True, capture_output=True, text=True)
    return done.stdout


def _run(root: Path, benchmark: str, extra: list[str]) -> dict[str, Any]:
    """One run of the benchmark in the checkout at ``root``: its figures, flattened."""
    argv = [str(root / ".venv/bin/python"), *BENCHMARKS[benchmark], "--runs", "1", "--json"]
    done = subprocess.run([*argv, *extra], cwd=root, capture_output=True, text=True, timeout=1800)
    text = done.stdout
    # The figures are the first JSON document, on a line of its own after any progress.
    start = 0 if text.startswith("{") else text.find("\n{") + 1
    if not text[start:].startswith("{"):
        raise SystemExit(f"{root}: no figures printed (exit {done.returncode})\n{done.stderr}")
    figures, _ = json.JSONDecoder().raw_decode(text[start:])
    if done.returncode != 0:
        raise SystemExit(
            f"{root}: the benchmark failed (exit {done.returncode}): "
            f"errors {figures.get('upload_errors', figures.get('smtp_errors'))}, "
            f"failed {figures.get('failed_analyses')}, lost {figures.get('lost')}"
        )
    return flat(figures)


def _print_pair(n: int, benchmark: str, pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    base, head = pair
    shown = ", ".join(
        f"{name.removeprefix('cpu_ms_per_analysis.')} {base[name]:.2f} / {head[name]:.2f}"
        for name in FIGURES[benchmark]
    )
    print(f"  pair {n} (base / head): {shown}", flush=True)


def _print_summary(
    benchmark: str, rev: str, head: str, pairs: list[tuple[dict[str, Any], dict[str, Any]]]
) -> None:
    print(f"\n=== {len(pairs)} pairs, {rev} (base) against {head}")
    print(
        f"  {'figure':<32} {'base median':>12} {'head median':>12} {'median change':>14}"
        "  head better"
    )
    for name in FIGURES[benchmark]:
        base = [b[name] for b, _ in pairs]
        head_values = [h[name] for _, h in pairs]
        # Analyses a second: more is better; CPU: less is.
        more_is_better = name == "analyses_per_second"
        changes = [(h - b) / b * 100 for b, h in zip(base, head_values, strict=True) if b]
        better = sum(1 for c in changes if (c > 0) == more_is_better and c != 0)
        print(
            f"  {name:<32} {statistics.median(base):>12.2f} {statistics.median(head_values):>12.2f}"
            f" {statistics.median(changes):>+13.1f}%  {better} of {len(pairs)}"
        )


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    sys.exit(main())
