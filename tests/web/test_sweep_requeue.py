"""The periodic sweep: what the broker lost is published again, dead workers' rows recovered."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from dkim2web.reports import services
from dkim2web.reports.models import Analysis
from dkim2web.reports.tasks import sweep_analyses

MESSAGE = b"From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n"


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record what the sweep publishes instead of running it."""
    ids: list[str] = []

    def enqueue(*, analysis_id: Any, connection: Any = None) -> bool:
        ids.append(str(analysis_id))
        return True

    monkeypatch.setattr(services, "analysis_enqueue", enqueue)
    return ids


def _analysis(status: str, **fields: Any) -> Analysis:
    analysis = services.analysis_submit(raw=MESSAGE, enqueue=False)
    Analysis.objects.filter(pk=analysis.pk).update(status=status, **fields)
    analysis.refresh_from_db()
    return analysis


def _ago(seconds: float) -> Any:
    return timezone.now() - timedelta(seconds=seconds)


@pytest.mark.django_db
@override_settings(DKIM2WEB_SWEEP_AFTER_SECONDS=120)
def test_only_analyses_queued_for_too_long_are_published_again(published: list[str]) -> None:
    old = _analysis("queued", queued_at=_ago(121))
    _analysis("queued", queued_at=_ago(60))  # the broker may still deliver this one
    _analysis("done", queued_at=_ago(3600))
    _analysis("failed", queued_at=_ago(3600))
    _analysis("running", queued_at=_ago(3600), started_at=_ago(5), attempts=1)

    before = timezone.now()
    outcome = services.analyses_requeue_stale()

    assert published == [str(old.pk)]
    assert (outcome.requeued, outcome.reclaimed, outcome.gave_up) == (1, 0, 0)
    old.refresh_from_db()
    assert old.status == Analysis.Status.QUEUED
    assert old.queued_at >= before  # so the next sweep waits again before publishing it


@pytest.mark.django_db
@override_settings(DKIM2WEB_SWEEP_AFTER_SECONDS=120)
def test_a_second_sweep_right_after_publishes_nothing(published: list[str]) -> None:
    _analysis("queued", queued_at=_ago(500))
    services.analyses_requeue_stale()
    services.analyses_requeue_stale()
    assert len(published) == 1


@pytest.mark.django_db
def test_a_running_row_whose_claim_expired_is_queued_again(published: list[str]) -> None:
    stale = _analysis(
        "running", started_at=timezone.now() - services.STALE_AFTER - timedelta(seconds=1)
    )
    fresh = _analysis("running", started_at=_ago(10), attempts=1)

    outcome = services.analyses_requeue_stale()

    assert published == [str(stale.pk)]
    assert (outcome.requeued, outcome.reclaimed, outcome.gave_up) == (0, 1, 0)
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.status, stale.started_at) == (Analysis.Status.QUEUED, None)
    assert fresh.status == Analysis.Status.RUNNING


@pytest.mark.django_db
def test_after_three_lost_workers_the_analysis_fails_with_the_reason(
    published: list[str],
) -> None:
    analysis = _analysis(
        "running",
        started_at=timezone.now() - services.STALE_AFTER - timedelta(seconds=1),
        attempts=services.MAX_ATTEMPTS,
    )
    outcome = services.analyses_requeue_stale()
    assert published == []
    assert (outcome.requeued, outcome.reclaimed, outcome.gave_up) == (0, 0, 1)
    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.FAILED
    assert analysis.error == (
        "gave up after 3 attempts: each time, the worker running the analysis stopped before "
        "it finished (a crash, running out of memory or the 90 second time limit)"
    )


@pytest.mark.django_db
@override_settings(DKIM2WEB_SWEEP_AFTER_SECONDS=120)
def test_the_sweep_task_runs_what_it_requeues_in_process_without_a_broker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        services,
        "_run_engine",
        lambda a, lookup=None, now=None: services.EngineOutcome("pass", {}, "9.9", "test-00"),
    )
    lost = _analysis("queued", queued_at=_ago(600))
    assert sweep_analyses.apply().get() == {"requeued": 1, "reclaimed": 0, "gave_up": 0}
    lost.refresh_from_db()
    assert lost.status == Analysis.Status.DONE
    assert lost.runs.count() == 1


def test_the_sweep_and_the_purge_are_in_the_beat_schedule() -> None:
    schedule = settings.CELERY_BEAT_SCHEDULE
    tasks = {entry["task"]: entry["schedule"] for entry in schedule.values()}
    assert tasks == {
        "dkim2web.reports.tasks.sweep_analyses": 60.0,
        "dkim2web.reports.tasks.purge_expired_analyses": 3600.0,
    }
    from dkim2web.celery import app

    assert app.conf.beat_schedule == schedule
    for name in tasks:
        assert name in app.tasks
