"""The intake's hooks into the rest of the project.

* When an analysis finishes (``reports.signals.analysis_finished``) and it is the message
  of a delivery still waiting for its answer (only a message that came in over SMTP can
  be: the signal says where each one came from), the answer is queued as a task
  (:func:`tasks.reply_to_sender`) and goes out within a second or so -- unless its
  envelope and the address's count of answers today already rule it out (the null sender,
  the day's answers used up: most deliveries from one busy address), in which case it is
  settled as not answered here, without a task reading the message and its report for
  nothing (one statement, when the finished run says the MAIL FROM, as a worker's does).
  The task decides every other case, and still reserves each answer against the day's
  limit, which only it enforces. Should queueing fail (the broker away) or never happen
  (a run given up by the sweep), the poll in ``run_intake`` answers the delivery instead:
  nothing is answered twice (the reply is claimed) and nothing is left unanswered.
* A delivery whose analyses are all gone (deleted by their owner, or purged) is deleted
  too, with its envelope.
"""

from __future__ import annotations

import logging
import uuid
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from kombu.exceptions import OperationalError as BrokerError

from dkim2web.reports.models import Analysis
from dkim2web.reports.signals import analysis_finished

from .models import IntakePart

logger = logging.getLogger(__name__)


@receiver(analysis_finished, dispatch_uid="intake-reply-on-finish")
def _reply_on_finish(
    sender: Any,
    analysis_id: uuid.UUID | str,
    envelope_source: str | None = None,
    mail_from: str | None = None,
    **kwargs: Any,
) -> None:
    if not settings.DKIM2WEB_INTAKE_REPLY:
        return
    # Only a message the intake received can be a delivery awaiting its answer: an upload
    # or an original found inside a delivery is never looked up (most analyses are those).
    if envelope_source is not None and envelope_source != Analysis.EnvelopeSource.SMTP:
        return
    from .services import delivery_awaiting_reply, delivery_reply_worth_queueing
    from .tasks import reply_to_sender

    # Told the MAIL FROM (the worker's runs tell it), what the envelope and today's count
    # rule out is settled in one statement that finds the delivery by the analysis: a
    # delivery from an address at its day's limit costs nothing more. Only an answer that
    # may go is looked up, to be queued.
    if mail_from is not None and not delivery_reply_worth_queueing(
        analysis_id=analysis_id, mail_from=mail_from
    ):
        return
    awaiting = delivery_awaiting_reply(analysis_id=analysis_id)
    if awaiting is None:
        return
    if awaiting.mail_from != mail_from and not delivery_reply_worth_queueing(
        delivery_id=awaiting.delivery_id, mail_from=awaiting.mail_from
    ):
        return
    try:
        reply_to_sender.delay(str(awaiting.delivery_id))
    except BrokerError as exc:
        logger.warning(
            "intake: the answer for delivery %s was not queued (%s); the poll will send it",
            awaiting.delivery_id,
            exc,
        )


@receiver(post_delete, sender=IntakePart, dispatch_uid="intake-forget-empty-delivery")
def _forget_empty_delivery(sender: Any, instance: IntakePart, **kwargs: Any) -> None:
    from .services import delivery_forget_if_empty, delivery_skip_reply

    if instance.parent_id is None:
        # The delivered message's report is gone: nothing is to be answered about it (an
        # original found inside would otherwise look like the delivered message).
        delivery_skip_reply(
            delivery_id=instance.delivery_id,
            reason="the report of the delivered message was deleted before the answer went",
        )
    transaction.on_commit(partial(delivery_forget_if_empty, delivery_id=instance.delivery_id))
