"""Running a case through the engine and the CLI, and measuring it.

Each run records its seconds and its tracemalloc peak, and the corpus's conftest prints the
slowest cases and the largest peaks at the end of the run.  For most cases speed and memory
are measured, not asserted (bench/ measures speed; the memory budgets are
analysis/limits.py's); a size case has a budget of its own (``Case.budget``), which
:func:`over_budget` checks against what its runs recorded and what its report shows.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
import tracemalloc
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from analysis import limits
from analysis.dkim2 import Envelope, analyze
from analysis.message_report import analyze_message
from analysis.resolvers import StaticResolver

from .model import MEMORY_SLACK, Case, Outcome, outcome_of, outcome_of_message_report

T = TypeVar("T")

#: The CLI's exit status for each DKIM2 result (analysis.cli: 0 pass ... 4 none).
EXIT_FOR_RESULT = {"pass": 0, "fail": 1, "permerror": 2, "temperror": 3, "none": 4}


@dataclass(frozen=True)
class Measured:
    case: str
    path: str
    seconds: float
    peak_bytes: int | None  # tracemalloc peak (None: not traced)
    size: int  # octets of the input


#: Every measurement of this process, in order (read by the conftest's summary).
MEASUREMENTS: list[Measured] = []


def envelope_of(case: Case) -> Envelope | None:
    if case.mail_from is None:
        return None
    return Envelope(case.mail_from, list(case.rcpt_to))


def timed(case: Case, path: str, fn: Callable[[], T]) -> T:
    size = len(case.raw)  # a size case's message is made here, before the clock starts
    started = time.perf_counter()
    value = fn()
    MEASUREMENTS.append(Measured(case.id, path, time.perf_counter() - started, None, size))
    return value


def traced(case: Case, path: str, fn: Callable[[], T]) -> T:
    """``fn()`` under tracemalloc; records its peak (the time is measured by :func:`timed`)."""
    already = tracemalloc.is_tracing()
    if not already:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    try:
        value = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not already:
            tracemalloc.stop()
    MEASUREMENTS.append(Measured(case.id, path + " memory", 0.0, peak - base, len(case.raw)))
    return value


def dkim2_outcome(case: Case) -> Outcome:
    """DKIM2 alone (``analysis.dkim2.analyze``)."""
    report = analyze(
        case.raw,
        lookup=StaticResolver(case.zone),
        envelope=envelope_of(case),
        now=case.now,
        revision=case.revision,
    )
    return outcome_of(report.to_json())


def message_report(case: Case) -> dict[str, Any]:
    """Every mechanism (``analysis.message_report.analyze_message``): the report as stored."""
    report = analyze_message(
        case.raw,
        lookup=StaticResolver(case.zone),
        envelope=envelope_of(case),
        now=case.now,
        revision=case.revision,
    )
    return report.to_json()


def message_outcome(case: Case) -> Outcome:
    """Every mechanism, as stored."""
    return outcome_of_message_report(message_report(case))


def over_budget(
    case: Case, paths: Iterable[str], report: Mapping[str, Any] | None = None
) -> list[str]:
    """What the runs of ``case`` on ``paths`` (as :data:`MEASUREMENTS` recorded them) and its
    stored ``report`` spent or showed beyond its budget (empty: within; no budget: empty)."""
    budget = case.budget
    if budget is None:
        return []
    out = []
    wanted = set(paths)
    for m in MEASUREMENTS:
        if m.case != case.id or m.path not in wanted:
            continue
        if m.peak_bytes is None and m.seconds > budget.seconds:
            out.append(f"{m.path}: {m.seconds:.2f} s, the budget is {budget.seconds} s")
        allowed = budget.memory * m.size + MEMORY_SLACK
        if m.peak_bytes is not None and m.peak_bytes > allowed:
            out.append(
                f"{m.path}: {m.peak_bytes:,} octets allocated at the peak, the budget is "
                f"{allowed:,} ({budget.memory} times the message, plus {MEMORY_SLACK:,})"
            )
    if report is not None:
        size = len(json.dumps(report))
        if size > limits.MAX_REPORT_BYTES:
            out.append(f"the report is {size:,} octets, over {limits.MAX_REPORT_BYTES:,}")
        text = json.dumps(report, ensure_ascii=False)
        out += [f"the report does not say {said!r}" for said in budget.says if said not in text]
        trimmed = report.get("trimmed") or {}
        parts = tuple(str(p.get("part")) for p in trimmed.get("parts", []))
        if parts != budget.trimmed:
            out.append(f"the report's trimmed parts are {parts}, expected {budget.trimmed}")
    return out


def cli_args(case: Case, message: Path, zone: Path) -> list[str]:
    args = ["verify", str(message), "--json", "--dns-json", str(zone), "--now", str(case.now)]
    args += ["--revision", case.revision]
    if case.mail_from is not None:
        args += ["--mail-from", case.mail_from]
        for rcpt in case.rcpt_to:
            args += ["--rcpt-to", rcpt]
    return args


def cli_outcome(case: Case, folder: Path) -> tuple[int, Outcome, str]:
    """``dkim2 verify --json`` in this process: (exit status, outcome, stderr)."""
    from analysis.cli import main

    message = folder / "message.eml"
    zone = folder / "zone.json"
    message.write_bytes(case.raw)
    zone.write_text(json.dumps(case.zone))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(cli_args(case, message, zone))
    lines = out.getvalue().splitlines()
    if len(lines) != 1:
        return status, Outcome("(no JSON line)", None, frozenset()), err.getvalue()
    return status, outcome_of(json.loads(lines[0])), err.getvalue()
