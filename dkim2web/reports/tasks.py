"""Celery tasks: thin interfaces that take an id, call a service and own the retry policy."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import services

# The engine bounds its own DNS time per message; these limits catch anything else.
SOFT_TIME_LIMIT = 60
HARD_TIME_LIMIT = 90


@shared_task(
    acks_late=True,  # a worker that dies mid-run leaves the message for another worker
    autoretry_for=(OperationalError, InterfaceError),  # the database blinked, not the message
    max_retries=3,
    retry_backoff=True,
    retry_backoff_max=60,
    soft_time_limit=SOFT_TIME_LIMIT,
    time_limit=HARD_TIME_LIMIT,
)
def run_analysis(analysis_id: str) -> None:
    services.analysis_run(analysis_id=analysis_id)
