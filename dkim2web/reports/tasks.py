"""Celery tasks: thin interfaces that take an id, call a service and own the retry policy."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from django.db import InterfaceError, OperationalError

from . import services

logger = logging.getLogger(__name__)

SOFT_TIME_LIMIT = services.SOFT_TIME_LIMIT
HARD_TIME_LIMIT = services.HARD_TIME_LIMIT
MAX_RETRIES = 3


class AnalysisTask(Task):  # type: ignore[misc]  # Celery ships no types
    """Records why on the analysis when the task gives up on it."""

    def on_failure(
        self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        analysis_id = kwargs.get("analysis_id") or (args[0] if args else None)
        if analysis_id is None:
            return
        if isinstance(exc, TimeLimitExceeded):
            reason = f"timed out: the worker stopped the analysis after {HARD_TIME_LIMIT} seconds"
        elif isinstance(exc, SoftTimeLimitExceeded):
            reason = f"timed out: the analysis took longer than {SOFT_TIME_LIMIT} seconds"
        elif isinstance(exc, OperationalError | InterfaceError):
            reason = f"gave up after {MAX_RETRIES} retries: database error: {exc}"
        else:
            reason = f"internal error: {type(exc).__name__}: {exc}"
        try:
            services.analysis_fail(analysis_id=analysis_id, reason=reason)
        except Exception:  # the database may still be away; the sweep comes back to it
            logger.exception("analysis %s: could not record the failure (%s)", analysis_id, reason)


@shared_task(
    base=AnalysisTask,
    acks_late=True,  # a worker that dies mid-run leaves the message for another worker
    reject_on_worker_lost=True,  # ...and the message goes back to the queue
    autoretry_for=(OperationalError, InterfaceError),  # the database blinked, not the message
    max_retries=MAX_RETRIES,
    retry_backoff=True,
    retry_backoff_max=60,
    soft_time_limit=SOFT_TIME_LIMIT,
    time_limit=HARD_TIME_LIMIT,
)
def run_analysis(analysis_id: str) -> None:
    services.analysis_run(analysis_id=analysis_id)


@shared_task(ignore_result=True)
def sweep_analyses() -> dict[str, int]:
    """Periodic (beat): publish analyses the broker lost, recover those of dead workers."""
    outcome = services.analyses_requeue_stale()
    return {
        "requeued": outcome.requeued,
        "reclaimed": outcome.reclaimed,
        "gave_up": outcome.gave_up,
    }


@shared_task(ignore_result=True)
def purge_expired_analyses() -> int:
    """Periodic (beat): delete analyses older than DKIM2WEB_RETENTION_DAYS."""
    return services.analyses_purge_expired()
