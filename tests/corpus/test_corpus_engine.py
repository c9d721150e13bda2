"""Every corpus case through the engine (DKIM2 alone and every mechanism) and the CLI.

Pass rule (issue #11): the expected outcome exactly, no unhandled exception; the time and
the tracemalloc peak of each case are recorded and printed at the end of the run.  A size
case must also keep within its own budget (``Case.budget``: seconds per run, memory as a
multiple of the message, what its stored report shows).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from . import catalogue, runner
from .conftest import corpus_params
from .model import Case


@pytest.mark.parametrize("case", corpus_params(catalogue.all_cases(), "engine"))
def test_the_engine_gives_the_expected_dkim2_outcome_and_verdict(case: Case) -> None:
    dkim2 = runner.timed(case, "engine dkim2", lambda: runner.dkim2_outcome(case))
    assert dkim2.problems(case.expect, verdict=False) == []
    whole = runner.timed(case, "engine message", lambda: runner.message_outcome(case))
    assert whole.problems(case.expect) == []
    report = runner.traced(case, "engine message", lambda: runner.message_report(case))
    paths = ("engine dkim2", "engine message", "engine message memory")
    assert runner.over_budget(case, paths, report) == []


@pytest.mark.parametrize("case", corpus_params(catalogue.all_cases(), "cli"))
def test_dkim2_verify_gives_the_expected_outcome_and_exit_status(
    case: Case, tmp_path: Path
) -> None:
    status, outcome, errors = runner.timed(case, "cli", lambda: runner.cli_outcome(case, tmp_path))
    assert outcome.problems(case.expect, verdict=False) == []
    assert (status, errors) == (runner.EXIT_FOR_RESULT[case.expect.result], "")
    assert runner.over_budget(case, ("cli",)) == []
