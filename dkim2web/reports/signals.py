"""Signals of the reports pipeline, for other apps to act on (the intake answers senders).

The pipeline knows nothing of its listeners: it announces, they act.
"""

from __future__ import annotations

import uuid
from functools import partial

from django.db import transaction
from django.dispatch import Signal

#: Sent with ``analysis_id`` (a str) once the outcome of an analysis, done or failed, has
#: been committed, and ``envelope_source`` (``Analysis.envelope_source``: "smtp" for a
#: message the intake received) and ``mail_from`` (``Analysis.mail_from``) when the sender
#: knew them, else None: a receiver that cares reads them from the row then. Receivers run
#: in the process that finished it (a worker, or the web or intake process without a
#: broker); their exceptions are logged by Django, never raised.
analysis_finished = Signal()


def announce_finished(
    *,
    analysis_id: uuid.UUID | str,
    envelope_source: str | None = None,
    mail_from: str | None = None,
) -> None:
    """Send :data:`analysis_finished` after the current transaction commits (at once in
    autocommit); nothing is sent if it rolls back."""
    transaction.on_commit(
        partial(
            _send_finished,
            analysis_id=str(analysis_id),
            envelope_source=envelope_source,
            mail_from=mail_from,
        )
    )


def _send_finished(
    *, analysis_id: str, envelope_source: str | None = None, mail_from: str | None = None
) -> None:
    # send_robust: a listener's failure must not fail the run that has been stored.
    analysis_finished.send_robust(
        sender=announce_finished,
        analysis_id=analysis_id,
        envelope_source=envelope_source,
        mail_from=mail_from,
    )
