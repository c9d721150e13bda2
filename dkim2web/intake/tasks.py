"""Celery task of the intake: answer the sender of a delivery whose analysis finished."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import services


@shared_task(
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError),  # the database blinked
    retry_backoff=True,
    max_retries=3,
    # Sending waits on the MTA (EMAIL_TIMEOUT 30 s); a reply cut short is marked failed.
    soft_time_limit=60,
    time_limit=90,
)
def reply_to_sender(delivery_id: str) -> str | None:
    """Answer the sender of ``delivery_id`` if it is still pending; the new reply state.

    Claimed by a conditional update in :func:`services.delivery_reply`, so a duplicate
    delivery of this task, or the intake's poll getting there too, sends one answer.
    """
    return services.delivery_reply(delivery_id=delivery_id)
