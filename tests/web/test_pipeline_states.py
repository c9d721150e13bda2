"""The run_analysis task and its states: queued -> running -> done, or failed with why."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from django.db import OperationalError
from django.utils import timezone

from dkim2web.celery import app
from dkim2web.reports import services
from dkim2web.reports.models import Analysis, AnalysisRun
from dkim2web.reports.tasks import run_analysis

MESSAGE = b"From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n"
PASS = services.EngineOutcome("pass", {"schema_version": 1}, "9.9", "test-00")


def _queued() -> Analysis:
    return services.analysis_submit(raw=MESSAGE, enqueue=False)


def _engine(monkeypatch: pytest.MonkeyPatch, fn: Any) -> None:
    monkeypatch.setattr(services, "_run_engine", fn)


def test_the_task_is_configured_for_at_least_once_delivery() -> None:
    assert run_analysis.acks_late is True
    assert run_analysis.reject_on_worker_lost is True
    assert (run_analysis.soft_time_limit, run_analysis.time_limit) == (60, 90)
    assert run_analysis.max_retries == 3
    # A claim outlives any run the hard time limit allows, so only dead workers' go stale.
    assert timedelta(seconds=run_analysis.time_limit) < services.STALE_AFTER


@pytest.mark.django_db
def test_the_same_task_delivered_twice_stores_one_run(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Analysis] = []
    _engine(monkeypatch, lambda a, lookup=None, now=None: calls.append(a) or PASS)
    analysis = _queued()
    run_analysis.apply(args=[str(analysis.pk)])
    run_analysis.apply(args=[str(analysis.pk)])
    assert len(calls) == 1
    assert AnalysisRun.objects.filter(analysis=analysis).count() == 1
    analysis.refresh_from_db()
    assert (analysis.status, analysis.attempts) == (Analysis.Status.DONE, 1)


@pytest.mark.django_db
def test_a_soft_time_limit_fails_the_analysis_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def slow(
        analysis: Analysis, *, lookup: Any = None, now: float | None = None
    ) -> services.EngineOutcome:
        raise SoftTimeLimitExceeded()

    _engine(monkeypatch, slow)
    analysis = _queued()
    run_analysis.apply(args=[str(analysis.pk)])
    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.FAILED
    assert analysis.error == "timed out: the analysis took longer than 60 seconds"
    assert analysis.finished_at is not None
    assert not AnalysisRun.objects.exists()


@pytest.mark.django_db
def test_the_hard_time_limit_fails_the_analysis_with_the_reason() -> None:
    # The worker's main process calls on_failure after it killed the child running the task.
    analysis = _queued()
    Analysis.objects.filter(pk=analysis.pk).update(
        status=Analysis.Status.RUNNING, started_at=timezone.now(), attempts=1
    )
    run_analysis.on_failure(TimeLimitExceeded(90), "task-id", [str(analysis.pk)], {}, None)
    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.FAILED
    assert analysis.error == "timed out: the worker stopped the analysis after 90 seconds"


@pytest.mark.django_db
def test_database_errors_are_retried_three_times_then_the_analysis_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    analysis = _queued()
    calls: list[str] = []

    def database_away(*, analysis_id: str, lookup: Any = None) -> None:
        calls.append(analysis_id)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "analysis_run", database_away)
    # Not propagating, the eager task retries in place as a worker would (without waiting).
    saved = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    try:
        result = run_analysis.apply(args=[str(analysis.pk)])
    finally:
        app.conf.task_eager_propagates = saved
    assert result.failed()
    assert len(calls) == 1 + 3  # the first try and three retries, no more
    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.FAILED
    # The owner sees what happened, not the database's own words (hosts, users): the log has
    # those.
    assert analysis.error == (
        "gave up after 3 retries: the database could not be reached (OperationalError); the "
        "operators have the details in the worker's log"
    )


@pytest.mark.django_db
def test_a_failure_reason_never_overwrites_a_finished_analysis(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _engine(monkeypatch, lambda a, lookup=None, now=None: PASS)
    analysis = _queued()
    services.analysis_run(analysis_id=analysis.pk)
    assert services.analysis_fail(analysis_id=analysis.pk, reason="late") is False
    analysis.refresh_from_db()
    assert (analysis.status, analysis.error) == (Analysis.Status.DONE, "")


@pytest.mark.django_db
def test_a_worker_whose_claim_was_taken_over_stores_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    analysis = _queued()
    other_claim = timezone.now() + timedelta(seconds=1)

    def overran(
        a: Analysis, *, lookup: Any = None, now: float | None = None
    ) -> services.EngineOutcome:
        # Meanwhile the row was reclaimed by another worker (this one overran its claim).
        Analysis.objects.filter(pk=a.pk).update(started_at=other_claim)
        return PASS

    _engine(monkeypatch, overran)
    assert services.analysis_run(analysis_id=analysis.pk) is None
    assert not AnalysisRun.objects.exists()
    analysis.refresh_from_db()
    assert (analysis.status, analysis.started_at) == (Analysis.Status.RUNNING, other_claim)


@pytest.mark.django_db
def test_a_stale_claim_is_not_taken_again_once_the_attempts_are_used_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[Analysis] = []
    _engine(monkeypatch, lambda a, lookup=None, now=None: calls.append(a) or PASS)
    analysis = _queued()
    long_ago = timezone.now() - services.STALE_AFTER - timedelta(seconds=1)
    Analysis.objects.filter(pk=analysis.pk).update(
        status=Analysis.Status.RUNNING, started_at=long_ago, attempts=services.MAX_ATTEMPTS
    )
    assert services.analysis_run(analysis_id=analysis.pk) is None
    assert calls == []


@pytest.mark.django_db
def test_a_rerun_resets_the_attempts_and_the_queue_time(monkeypatch: pytest.MonkeyPatch) -> None:
    _engine(monkeypatch, lambda a, lookup=None, now=None: PASS)
    analysis = _queued()
    services.analysis_run(analysis_id=analysis.pk)
    Analysis.objects.filter(pk=analysis.pk).update(
        attempts=2, queued_at=timezone.now() - timedelta(days=1)
    )
    before = timezone.now()
    assert services.analysis_rerun(analysis=analysis) is True
    analysis.refresh_from_db()
    assert (analysis.status, analysis.attempts) == (Analysis.Status.QUEUED, 0)
    assert analysis.queued_at >= before
