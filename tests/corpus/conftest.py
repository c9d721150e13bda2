"""The corpus's report line: the slowest cases and the largest memory peaks of this run.

Speed and memory are measured, not asserted (a timed assertion is flaky on a loaded
machine; bench/ measures speed): the figures are printed at the end of the run, and the
pass rule's "under 1 s each" is read from them.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from typing import Any

import pytest

from .model import Case
from .runner import MEASUREMENTS


@pytest.fixture
def alice(django_user_model: Any) -> Any:
    """The user the web paths store the corpus's analyses for."""
    return django_user_model.objects.create_user("alice", "alice@example.org", "alice-pw-1")


@pytest.fixture
def alice_client(alice: Any) -> Any:
    from django.test import Client

    client = Client()
    client.force_login(alice)
    return client


def corpus_params(cases: Iterable[Case], path: str) -> list[Any]:
    """pytest parameters for the ``cases`` taking ``path``: each named by its id, a finding
    marked xfail (strict) on the paths it shows on, the heaviest size cases marked slow."""
    return [
        pytest.param(case, id=case.id, marks=_marks(case, path))
        for case in cases
        if case.takes(path)
    ]


def _marks(case: Case, path: str) -> list[Any]:
    marks = []
    if case.fails_on(path):
        marks.append(pytest.mark.xfail(strict=True, reason=case.fails_on(path)))
    if case.budget is not None and case.budget.slow:
        marks.append(pytest.mark.slow)
    return marks


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KiB"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not MEASUREMENTS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("hostile-input corpus: time and memory (measured, not asserted)")
    timed = [m for m in MEASUREMENTS if m.peak_bytes is None]
    runs = Counter(m.path for m in timed)
    write("runs by path: " + ", ".join(f"{path} {n}" for path, n in sorted(runs.items())))
    if timed:
        slow = sorted(timed, key=lambda m: m.seconds, reverse=True)
        over = [m for m in slow if m.seconds >= 1.0]
        write(f"runs of 1 s or more: {len(over)}")
        write("slowest: " + "; ".join(f"{m.case} ({m.path}) {m.seconds:.3f} s" for m in slow[:8]))
    traced = [m for m in MEASUREMENTS if m.peak_bytes is not None]
    if traced:
        peaks = sorted(traced, key=lambda m: m.peak_bytes or 0, reverse=True)
        median = statistics.median(m.peak_bytes or 0 for m in traced)
        write(
            f"tracemalloc peak per case ({len(traced)} cases): median {_size(int(median))}, "
            "largest: "
            + "; ".join(
                f"{m.case} {_size(m.peak_bytes or 0)} for {_size(m.size)} of input"
                for m in peaks[:5]
            )
        )
