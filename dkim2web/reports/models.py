"""Stored analyses. Thin on purpose: the logic lives in the engine and in services.py."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from .fields import ReportJSONField


class Revision(models.TextChoices):
    """The DKIM2 draft revisions a run may be judged by (``analysis.dkim2.REVISION_CHOICES``).

    A copy, so that the models (and the migrations) load without importing the engine;
    tests/web/test_analysis_revision.py keeps it equal to the engine's list. ``auto``: judged
    by the newest revision the engine knows, the older ones compared.
    """

    AUTO = "auto", "auto"
    R06 = "06", "-06"
    R07 = "07", "-07"
    R08 = "08", "-08"
    R09 = "09", "-09"


def revision_or_error(value: object) -> str:
    """``value`` if it names a revision of :class:`Revision`; ValueError (in words) if not."""
    text = str(value).strip().lower() if isinstance(value, str) else ""
    if text not in Revision.values:
        raise ValueError(
            f"{str(value)[:40]!r} is not a DKIM2 draft revision dkim2web knows; use one of "
            f"{', '.join(Revision.values)}"
        )
    return text


class Analysis(models.Model):
    """One uploaded (or received) message and the state of its verification."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    class EnvelopeSource(models.TextChoices):
        NONE = "none", "no envelope"
        USER = "user", "given by the user"
        SMTP = "smtp", "from the SMTP session"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Null for analyses made from the command line or by anonymous visitors.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="analyses",
        db_index=False,  # Meta.indexes: by owner, newest first
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # The bytes exactly as received: signatures cover bytes, so nothing may normalise them.
    raw_message = models.BinaryField()
    sha256 = models.CharField(max_length=64)  # indexed in Meta.indexes
    filename = models.CharField(max_length=255, blank=True)
    size = models.PositiveIntegerField()
    # The message's first From and Subject, decoded and cut for lists (read at submission by
    # analysis.submission.summary_fields, so a list never parses messages); empty when the
    # message has none. The length is analysis.limits.MAX_SUMMARY_FIELD_CHARS.
    header_from = models.CharField(max_length=200, blank=True)
    header_subject = models.CharField(max_length=200, blank=True)
    mail_from = models.TextField(blank=True)
    rcpt_to = models.JSONField(default=list, blank=True)
    envelope_source = models.CharField(
        max_length=8, choices=EnvelopeSource.choices, default=EnvelopeSource.NONE
    )
    # The SMTP client of that transaction (the intake's session, or given on the command
    # line): what SPF evaluates. Empty: reconstructed from the message's Received fields.
    client_ip = models.CharField(max_length=64, blank=True)
    helo = models.TextField(blank=True)
    # Not indexed: see Meta.indexes.
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    # When the analysis last entered the queue: the sweep re-queues rows left waiting.
    queued_at = models.DateTimeField(default=timezone.now)
    # Claims by a worker since it was last queued by a person (a re-run starts again at 0);
    # bounds how often a message whose worker keeps dying is tried.
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)  # why it failed, in words, when status is failed
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The DKIM2 draft revision whose rules the next run uses (a re-run may choose another;
    # each run records the one it used).
    revision = models.CharField(max_length=8, choices=Revision.choices, default=Revision.AUTO)
    # How the next run verifies, chosen by a re-run like the revision (each run records what
    # it used): compatibility mode (the engine's Options.compat), and the verification clock
    # in unix seconds (null: the time the run happens; set: "as of the arrival time").
    compat = models.BooleanField(default=False)
    verify_at = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        verbose_name_plural = "analyses"
        # Each analysis updates its row twice: the worker's claim (status, started_at,
        # attempts) and the store of its run (status, finished_at). PostgreSQL writes an
        # update without a new entry in any index (heap-only, "HOT") when no column that an
        # index reads, in its key or its WHERE, changes and the page has room (the
        # fillfactor set by migration 0009). No index reads status, started_at or attempts,
        # so the claim is HOT; the store changes finished_at, which the sweep's index reads,
        # and writes the four other indexes (pk, created_at, sha256, owner), not all eight.
        indexes = (
            # analysis_visible_by_sha256 (a bounce's page): equality only, so no
            # varchar_pattern_ops twin for LIKE, which db_index=True adds on PostgreSQL.
            models.Index(fields=["sha256"], name="analysis_sha256"),
            # The sweep (services.analyses_requeue_stale): the analyses not finished, those
            # queued longest first. It holds the queue, not the days of finished rows. Every
            # way into queued or running leaves finished_at null: the insert, the claim and
            # a re-run (analysis_rerun) clear it, and only a claimed row is put back.
            models.Index(
                fields=["queued_at"],
                name="analysis_unfinished_queued_at",
                condition=models.Q(finished_at__isnull=True),
            ),
            # A user's list, newest first (the pages and the API): read in the index's order,
            # the owner's rows only. By the owner alone, the list walked every user's rows by
            # created_at (or sorted all of the owner's); it serves the owner's deletion too.
            models.Index(fields=["owner", "-created_at", "-id"], name="analysis_owner_newest"),
        )

    def __str__(self) -> str:
        return f"{self.filename or self.sha256[:12]} ({self.status})"

    @property
    def raw_bytes(self) -> bytes:
        # PostgreSQL hands BinaryField back as a memoryview, SQLite as bytes.
        return bytes(self.raw_message)


class AnalysisRun(models.Model):
    """One engine run over an analysis; a re-run adds a row and keeps the earlier ones."""

    class Result(models.TextChoices):
        """The verdict of the whole message (analysis.verdict): every mechanism together."""

        PASS = "pass"
        FAIL = "fail"
        NEUTRAL = "neutral", "Neutral"  # authenticated, but not for the From domain
        PERMERROR = "permerror"
        TEMPERROR = "temperror"
        NONE = "none"

    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="runs")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    result = models.CharField(max_length=16, choices=Result.choices)
    # The engine's versioned JSON report (schema_version inside), kept as the text it wrote
    # (fields.ReportJSONField: PostgreSQL json, not jsonb).
    report = ReportJSONField()
    engine_version = models.CharField(max_length=32)
    draft = models.CharField(max_length=64)  # the draft whose rules judged DKIM2
    # The DKIM2 revision this run used ("auto" or a number). Runs stored before dkim2web
    # judged by revision followed -06 rules, hence the default (migration 0004 reads the
    # others' reports).
    revision = models.CharField(max_length=8, choices=Revision.choices, default=Revision.R06)
    # How it verified beside its rules: compatibility mode, and the clock it was set to
    # (unix seconds; null: the time it ran).
    compat = models.BooleanField(default=False)
    verified_as_of = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.result} ({self.engine_version}, {self.draft})"

    @property
    def document(self) -> dict[str, Any]:
        """The stored report in the current schema (earlier runs upgraded on reading)."""
        cached = self.__dict__.get("_document")
        if cached is None:
            from .documents import upgrade_document

            cached = self.__dict__["_document"] = upgrade_document(self.report)
        return cached

    @property
    def summary(self) -> str:
        """The verdict in words, as the engine wrote it."""
        return str(self.document.get("summary", ""))

    @property
    def dns_evidence(self) -> list[dict[str, object]]:
        """Each DNS answer the run used: the records or the error, and when it was fetched."""
        return list(self.document.get("dns", []))


class HeldUpload(models.Model):
    """A message uploaded with "Guess the envelope": kept, for an hour at most, so that the
    form shown again (envelope filled in) analyses it without the file being chosen again.

    Browsers never keep a chosen file from one page to the next; the bytes wait here instead
    (services in held.py: the visitor's session lists the ids, the form carries them signed).
    Analysing takes them out; the periodic purge deletes any left behind.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    raw_message = models.BinaryField()  # the bytes exactly as uploaded
    filename = models.CharField(max_length=255, blank=True)
    size = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.filename} (held)"

    @property
    def raw_bytes(self) -> bytes:
        return bytes(self.raw_message)
