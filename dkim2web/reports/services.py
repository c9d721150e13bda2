"""Writes to stored analyses (HackSoft services: keyword-only, typed, one job each)."""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import Analysis, AnalysisRun

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

# A row left "running" this long was claimed by a worker that died (the task's hard time
# limit is far shorter), so a redelivered task may claim it again.
STALE_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class EngineOutcome:
    result: str
    report: dict[str, Any]
    engine_version: str
    draft: str


def analysis_submit(
    *,
    raw: bytes,
    filename: str = "",
    mail_from: str = "",
    rcpt_to: list[str] | None = None,
    owner: AbstractBaseUser | None = None,
    envelope_source: str | None = None,
    enqueue: bool = True,
) -> Analysis:
    """Store a message exactly as given and queue its verification after the commit.

    ``envelope_source`` defaults to "user" when an envelope is given and "none" otherwise.
    ``enqueue=False`` is for callers that run the analysis themselves (the CLI command).
    """
    recipients = list(rcpt_to or [])
    if envelope_source is None:
        has_envelope = bool(mail_from or recipients)
        envelope_source = str(
            Analysis.EnvelopeSource.USER if has_envelope else Analysis.EnvelopeSource.NONE
        )
    analysis = Analysis.objects.create(
        owner=owner,
        raw_message=bytes(raw),
        sha256=hashlib.sha256(raw).hexdigest(),
        filename=filename[:255],
        size=len(raw),
        mail_from=mail_from,
        rcpt_to=recipients,
        envelope_source=envelope_source,
        status=Analysis.Status.QUEUED,
    )
    if enqueue:
        transaction.on_commit(partial(_enqueue_run, analysis.pk))
    return analysis


def analysis_rerun(*, analysis: Analysis) -> bool:
    """Queue another run of a finished analysis; its earlier runs are kept.

    Returns False (and queues nothing) while the analysis is still queued or running.
    """
    requeued = Analysis.objects.filter(
        pk=analysis.pk, status__in=(Analysis.Status.DONE, Analysis.Status.FAILED)
    ).update(status=Analysis.Status.QUEUED, error="", started_at=None, finished_at=None)
    if requeued:
        transaction.on_commit(partial(_enqueue_run, analysis.pk))
    return bool(requeued)


def analysis_run(*, analysis_id: uuid.UUID | str, lookup: Any = None) -> AnalysisRun | None:
    """Verify a queued analysis with the engine and store the run.

    The row is claimed with a conditional UPDATE (queued -> running), so a duplicate task
    delivery, or a call on an analysis that is done, does nothing and returns None. An
    exception from the engine marks the analysis failed with the error text; it is not
    retried, since the same bytes would fail the same way.

    ``lookup`` overrides the key lookup named by ``settings.DKIM2_KEY_LOOKUP``.
    """
    claimed_at = timezone.now()
    claimable = Q(status=Analysis.Status.QUEUED) | Q(
        status=Analysis.Status.RUNNING, started_at__lt=claimed_at - STALE_AFTER
    )
    claimed = Analysis.objects.filter(claimable, pk=analysis_id).update(
        status=Analysis.Status.RUNNING,
        started_at=claimed_at,
        finished_at=None,
        error="",
        attempts=F("attempts") + 1,
    )
    if not claimed:
        logger.info("analysis %s: not claimable (already taken or finished)", analysis_id)
        return None

    analysis = Analysis.objects.get(pk=analysis_id)
    # Later writes are conditional on our claim, so a worker that overran STALE_AFTER
    # cannot overwrite the outcome of the one that reclaimed the row.
    ours = Analysis.objects.filter(
        pk=analysis_id, status=Analysis.Status.RUNNING, started_at=claimed_at
    )
    try:
        outcome = _run_engine(analysis, lookup=lookup)
    except Exception as exc:
        logger.exception("analysis %s: engine failed", analysis_id)
        ours.update(
            status=Analysis.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}",
            finished_at=timezone.now(),
        )
        return None

    with transaction.atomic():
        run = AnalysisRun.objects.create(
            analysis=analysis,
            result=outcome.result,
            report=outcome.report,
            engine_version=outcome.engine_version,
            draft=outcome.draft,
        )
        ours.update(status=Analysis.Status.DONE, finished_at=timezone.now())
    return run


def key_lookup_from_settings() -> Any:
    """An instance of the key lookup class named by ``settings.DKIM2_KEY_LOOKUP``."""
    return import_string(settings.DKIM2_KEY_LOOKUP)()


def _run_engine(analysis: Analysis, *, lookup: Any = None) -> EngineOutcome:
    # Imported here, not at module level, so the web half starts (and marks runs failed
    # with the reason) even while the engine cannot be imported.
    import analysis as engine

    envelope = None
    if analysis.envelope_source != Analysis.EnvelopeSource.NONE:
        envelope = engine.Envelope(mail_from=analysis.mail_from, rcpt_to=list(analysis.rcpt_to))
    report = engine.analyze(
        analysis.raw_bytes,
        lookup=lookup if lookup is not None else key_lookup_from_settings(),
        envelope=envelope,
        now=None,
    )
    return EngineOutcome(
        # A str-valued enum would print as "State.PASS" through str(); take its value.
        result=str(getattr(report.result, "value", report.result)),
        report=report.to_json(),
        engine_version=engine.ENGINE_VERSION,
        draft=engine.DRAFT,
    )


def _enqueue_run(analysis_id: uuid.UUID) -> None:
    from .tasks import run_analysis  # tasks imports this module

    run_analysis.delay(str(analysis_id))
