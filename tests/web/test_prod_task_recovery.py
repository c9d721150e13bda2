"""What the task does about interrupted runs: a dead child's claim, a retried attempt's claim.

The real thing (a SIGKILLed prefork child, a terminated database connection) is in
tests/faults/; these pin the rules on the rows.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from dkim2web.reports import services, tasks
from dkim2web.reports.models import Analysis

MESSAGE = b"From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n"


def _running(*, started_ago: float, attempts: int = 1) -> Analysis:
    analysis = services.analysis_submit(raw=MESSAGE, enqueue=False)
    Analysis.objects.filter(pk=analysis.pk).update(
        status=Analysis.Status.RUNNING,
        started_at=timezone.now() - timedelta(seconds=started_ago),
        attempts=attempts,
    )
    return analysis


def _state(analysis: Analysis) -> tuple[str, Any, str]:
    analysis.refresh_from_db()
    return analysis.status, analysis.started_at, analysis.error


def test_the_worker_uses_the_request_class_that_releases_claims() -> None:
    assert tasks.run_analysis.Request is tasks.AnalysisRequest


@pytest.mark.django_db
def test_a_dead_childs_claim_goes_back_to_the_queue() -> None:
    accepted_at = time.time() - 5
    analysis = _running(started_ago=4)  # claimed after the child accepted the message
    tasks._release_after_worker_lost(str(analysis.pk), accepted_at=accepted_at)
    status, started_at, error = _state(analysis)
    assert (status, started_at, error) == ("queued", None, "")


@pytest.mark.django_db
def test_a_claim_older_than_the_delivery_is_someone_elses() -> None:
    accepted_at = time.time() - 5
    analysis = _running(started_ago=30)
    tasks._release_after_worker_lost(str(analysis.pk), accepted_at=accepted_at)
    assert _state(analysis)[0] == "running"


@pytest.mark.django_db
def test_after_the_last_attempt_the_analysis_fails_saying_why() -> None:
    analysis = _running(started_ago=1, attempts=services.MAX_ATTEMPTS)
    tasks._release_after_worker_lost(str(analysis.pk), accepted_at=time.time() - 2)
    status, _, error = _state(analysis)
    assert status == "failed"
    assert error == (
        "gave up after 3 attempts: each time, the worker process running the analysis "
        "died before it finished (killed or out of memory)"
    )


@pytest.mark.django_db
def test_a_retry_releases_only_the_claim_made_since_its_first_attempt() -> None:
    mine = _running(started_ago=2)
    older = _running(started_ago=60)
    since = timezone.now() - timedelta(seconds=10)
    for analysis in (mine, older):
        tasks._release_own_claim(str(analysis.pk), since=since)
    assert _state(mine)[0] == "queued"
    assert _state(older)[0] == "running"
