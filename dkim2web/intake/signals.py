"""The intake's hooks into the rest of the project.

* ``analysis_finished`` is sent by :func:`notify_analysis_finished`, which the reports
  pipeline calls when a run has been stored; the intake answers the sender of a delivery
  then, instead of waiting for its poll (``run_intake`` polls as well, so nothing is lost
  if the call is missing or fails).
* A delivery whose analyses are all gone (deleted by their owner, or purged) is deleted
  too, with its envelope.
"""

from __future__ import annotations

import logging
import uuid
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import Signal, receiver

from .models import IntakePart

logger = logging.getLogger(__name__)

#: Sent with ``analysis_id`` once an analysis has finished (its run is stored).
analysis_finished = Signal()


def notify_analysis_finished(*, analysis_id: uuid.UUID | str) -> None:
    """Tell the intake an analysis finished. Never raises: replies are best effort, and
    the poll in ``run_intake`` answers anything this missed."""
    try:
        analysis_finished.send(sender=IntakePart, analysis_id=analysis_id)
    except Exception:
        logger.exception("intake: handling the end of analysis %s failed", analysis_id)


@receiver(analysis_finished, dispatch_uid="intake-reply-on-finish")
def _reply_on_finish(sender: Any, analysis_id: uuid.UUID | str, **kwargs: Any) -> None:
    from .services import analysis_finished as finished

    finished(analysis_id=analysis_id)


@receiver(post_delete, sender=IntakePart, dispatch_uid="intake-forget-empty-delivery")
def _forget_empty_delivery(sender: Any, instance: IntakePart, **kwargs: Any) -> None:
    from .services import delivery_forget_if_empty

    transaction.on_commit(partial(delivery_forget_if_empty, delivery_id=instance.delivery_id))
