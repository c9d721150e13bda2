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

    def fake_engine(
        analysis: Analysis, *, lookup: Any = None, now: float | None = None
    ) -> services.EngineOutcome:
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
    def broken_engine(
        analysis: Analysis, *, lookup: Any = None, now: float | None = None
    ) -> services.EngineOutcome:
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
    # The publication, then (registered by the run it led to) the announcement of its end.
    assert [c.func.__name__ for c in callbacks] == ["analysis_enqueue", "_send_finished"]
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


@pytest.fixture
def announced() -> Any:
    """The ids ``reports.signals.analysis_finished`` is sent with, in order."""
    from dkim2web.reports.signals import analysis_finished

    ids: list[str] = []

    def listen(sender: Any, analysis_id: str, **kwargs: Any) -> None:
        ids.append(analysis_id)

    analysis_finished.connect(listen, dispatch_uid="test-announced")
    yield ids
    analysis_finished.disconnect(dispatch_uid="test-announced")


@pytest.mark.django_db
def test_the_end_of_a_run_is_announced_once_after_the_commit(
    engine_calls: list[Analysis], announced: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    analysis = services.analysis_submit(raw=MESSAGE, enqueue=False)
    with django_capture_on_commit_callbacks(execute=True):
        services.analysis_run(analysis_id=analysis.pk)
        assert announced == []  # not before the commit
    assert announced == [str(analysis.pk)]
    with django_capture_on_commit_callbacks(execute=True):
        assert services.analysis_run(analysis_id=analysis.pk) is None  # a duplicate delivery
    assert announced == [str(analysis.pk)]


@pytest.mark.django_db
def test_a_failed_run_and_a_given_up_one_are_announced_too(
    monkeypatch: pytest.MonkeyPatch, announced: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    def broken_engine(
        analysis: Analysis, *, lookup: Any = None, now: float | None = None
    ) -> services.EngineOutcome:
        raise ValueError("no")

    monkeypatch.setattr(services, "_run_engine", broken_engine)
    crashed = services.analysis_submit(raw=MESSAGE, enqueue=False)
    given_up = services.analysis_submit(raw=MESSAGE, enqueue=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.analysis_run(analysis_id=crashed.pk) is None
        assert services.analysis_fail(analysis_id=given_up.pk, reason="gave up") is True
        assert services.analysis_fail(analysis_id=given_up.pk, reason="again") is False
    assert announced == [str(crashed.pk), str(given_up.pk)]
    assert Analysis.objects.get(pk=crashed.pk).error == "ValueError: no"
