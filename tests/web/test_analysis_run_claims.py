"""analysis_run claims its row, so duplicate deliveries do nothing (engine stubbed out)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from dkim2web.reports import services
from dkim2web.reports.models import Analysis, AnalysisRun

MESSAGE = b"From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n"


@pytest.fixture
def engine_calls(monkeypatch: pytest.MonkeyPatch) -> list[Analysis]:
    """Replace the engine with one that answers "pass" and records what it was given."""
    calls: list[Analysis] = []

    def fake_engine(analysis: Analysis, *, lookup: Any = None) -> services.EngineOutcome:
        calls.append(analysis)
        return services.EngineOutcome(
            result="pass", report={"schema_version": 1}, engine_version="9.9", draft="test-00"
        )

    monkeypatch.setattr(services, "_run_engine", fake_engine)
    return calls


@pytest.mark.django_db
def test_a_queued_analysis_runs_once_and_is_done(engine_calls: list[Analysis]) -> None:
    analysis = services.analysis_submit(raw=MESSAGE, enqueue=False)
    run = services.analysis_run(analysis_id=analysis.pk)
    assert run is not None
    assert (run.result, run.report, run.engine_version, run.draft) == (
        "pass",
        {"schema_version": 1},
        "9.9",
        "test-00",
    )
    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.DONE
    assert analysis.attempts == 1
    assert analysis.started_at is not None and analysis.finished_at is not None
    assert [a.raw_bytes for a in engine_calls] == [MESSAGE]


@pytest.mark.django_db
def test_a_second_call_on_a_done_analysis_does_nothing(engine_calls: list[Analysis]) -> None:
    analysis = services.analysis_submit(raw=MESSAGE, enqueue=False)
    assert services.analysis_run(analysis_id=analysis.pk) is not None
    analysis.refresh_from_db()
    finished_at = analysis.finished_at

    assert services.analysis_run(analysis_id=analysis.pk) is None

    analysis.refresh_from_db()
    assert len(engine_calls) == 1
    assert AnalysisRun.objects.filter(analysis=analysis).count() == 1
    assert (analysis.status, analysis.attempts, analysis.finished_at) == (
        Analysis.Status.DONE,
        1,
        finished_at,
    )


@pytest.mark.django_db
def test_an_analysis_another_worker_is_running_is_left_alone(
    engine_calls: list[Analysis],
) -> None:
    analysis = services.analysis_submit(raw=MESSAGE, enqueue=False)
    Analysis.objects.filter(pk=analysis.pk).update(
        status=Analysis.Status.RUNNING, started_at=timezone.now(), attempts=1
    )
    assert services.analysis_run(analysis_id=analysis.pk) is None
    assert engine_calls == []


@pytest.mark.django_db
def test_a_run_abandoned_by_a_dead_worker_is_claimed_again(
    engine_calls: list[Analysis],
) -> None:
    analysis = services.analysis_submit(raw=MESSAGE, enqueue=False)
    long_ago = timezone.now() - services.STALE_AFTER - timedelta(seconds=1)
    Analysis.objects.filter(pk=analysis.pk).update(
        status=Analysis.Status.RUNNING, started_at=long_ago, attempts=1
    )
    assert services.analysis_run(analysis_id=analysis.pk) is not None
    analysis.refresh_from_db()
    assert (analysis.status, analysis.attempts) == (Analysis.Status.DONE, 2)


@pytest.mark.django_db
def test_an_unknown_id_does_nothing(engine_calls: list[Analysis]) -> None:
    assert services.analysis_run(analysis_id="00000000-0000-0000-0000-000000000000") is None
    assert engine_calls == []


@pytest.mark.django_db
def test_an_engine_exception_marks_the_analysis_failed_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken_engine(analysis: Analysis, *, lookup: Any = None) -> services.EngineOutcome:
        raise ValueError("cannot parse header block")

    monkeypatch.setattr(services, "_run_engine", broken_engine)
    analysis = services.analysis_submit(raw=MESSAGE, enqueue=False)
    assert services.analysis_run(analysis_id=analysis.pk) is None
    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.FAILED
    assert analysis.error == "ValueError: cannot parse header block"
    assert analysis.finished_at is not None
    assert not AnalysisRun.objects.exists()


@pytest.mark.django_db
def test_submit_enqueues_after_commit_and_the_eager_task_runs_it(
    engine_calls: list[Analysis], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        analysis = services.analysis_submit(raw=MESSAGE)
        assert engine_calls == []  # nothing runs before the commit
    assert len(callbacks) == 1
    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.DONE
    assert len(engine_calls) == 1


@pytest.mark.django_db
def test_a_rerun_adds_a_run_and_keeps_the_earlier_one(
    engine_calls: list[Analysis], django_capture_on_commit_callbacks: Any
) -> None:
    analysis = services.analysis_submit(raw=MESSAGE, enqueue=False)
    first = services.analysis_run(analysis_id=analysis.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.analysis_rerun(analysis=analysis) is True
    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.DONE
    assert analysis.attempts == 1  # counted per queueing: the re-run starts again
    runs = list(AnalysisRun.objects.filter(analysis=analysis).order_by("created_at", "pk"))
    assert len(runs) == 2 and runs[0] == first


@pytest.mark.django_db
def test_a_queued_analysis_cannot_be_rerun(engine_calls: list[Analysis]) -> None:
    analysis = services.analysis_submit(raw=MESSAGE, enqueue=False)
    assert services.analysis_rerun(analysis=analysis) is False
