"""Writes to stored analyses (HackSoft services: keyword-only, typed, one job each).

The pipeline, in states: an analysis is stored ``queued`` and its task is published after
the commit; a worker claims it (``running``) with a conditional UPDATE, so a duplicate
delivery does nothing; the run ends ``done`` (with an AnalysisRun) or ``failed`` (with the
reason in ``error``). Nothing that was uploaded waits forever: if publishing fails the row
stays ``queued`` and :func:`analyses_requeue_stale` (a periodic task) publishes it again;
a row left ``running`` by a worker that died is queued again, and after MAX_ATTEMPTS
lost workers it is marked failed with the reason.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from celery.exceptions import Retry, SoftTimeLimitExceeded
from django.conf import settings
from django.db import DataError, OperationalError, connections, models, router, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string
from kombu.exceptions import OperationalError as BrokerError

from dkim2web.logs import analysis_context, with_analysis_id

from .models import Analysis, AnalysisRun, revision_or_error
from .selectors import ANON_SESSION_KEY, analysis_ids_in_session
from .signals import announce_finished

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

# Time limits of the run_analysis task (tasks.py uses them). The engine bounds its own DNS
# time per message (10 s); these catch anything else.
SOFT_TIME_LIMIT = 60
HARD_TIME_LIMIT = 90

# A row left "running" this long was claimed by a worker that died: no run outlives the
# hard time limit. A redelivered task or the sweep may then claim it again.
STALE_AFTER = timedelta(seconds=HARD_TIME_LIMIT + 30)

# Claims per queueing: a message whose worker keeps dying is given up after this many.
MAX_ATTEMPTS = 3

# Ids kept in an anonymous visitor's session; the oldest are forgotten first.
ANON_SESSION_MAX_IDS = 200

# The sweep publishes at most this many analyses per call; the next call does the rest.
SWEEP_BATCH = 500


@dataclass(frozen=True)
class EngineOutcome:
    result: str
    report: dict[str, Any]
    engine_version: str
    draft: str
    # ``report`` as the JSON text stored (json.dumps, as Django's JSONField writes it), when
    # already made: measuring the report against its budget makes it, and the store sends
    # that text rather than encoding the report a second time.
    report_json: str | None = None


@dataclass(frozen=True)
class SweepOutcome:
    requeued: int  # queued rows published again
    reclaimed: int  # stale running rows queued again
    gave_up: int  # stale running rows marked failed after MAX_ATTEMPTS


def analysis_submit(
    *,
    raw: bytes,
    filename: str = "",
    mail_from: str = "",
    rcpt_to: list[str] | None = None,
    owner: AbstractBaseUser | None = None,
    owner_id: int | None = None,
    envelope_source: str | None = None,
    client_ip: str = "",
    helo: str = "",
    revision: str = "auto",
    enqueue: bool = True,
    sha256: str = "",
) -> Analysis:
    """Store a message exactly as given and queue its verification after the commit.

    ``owner_id`` stands for ``owner`` when only its key is at hand (the intake), so that
    the user's row is not read for it. ``sha256`` is the hex SHA-256 of ``raw`` when the
    caller has computed it already (the intake, for its delivery).
    ``envelope_source`` defaults to "user" when an envelope is given and "none" otherwise.
    ``client_ip`` and ``helo`` are the SMTP client of that envelope's transaction, when
    known (the intake's session; the command line); SPF evaluates them.
    ``revision``: the DKIM2 draft revision whose rules judge the chain ("auto", "06" ...
    "09"; models.Revision); ValueError for any other value (callers check their input
    first and say what is wrong in their own terms).
    ``enqueue=False`` is for callers that run the analysis themselves (the CLI command).
    If the broker cannot be reached the analysis is still stored, queued, and the sweep
    publishes it later.
    """
    analysis = analysis_build(
        raw=raw,
        filename=filename,
        mail_from=mail_from,
        rcpt_to=rcpt_to,
        owner=owner,
        owner_id=owner_id,
        envelope_source=envelope_source,
        client_ip=client_ip,
        helo=helo,
        revision=revision,
        sha256=sha256,
    )
    insert_new([analysis])
    if enqueue:
        analysis_enqueue_on_commit(analysis=analysis)
    return analysis


def analysis_build(
    *,
    raw: bytes,
    filename: str = "",
    mail_from: str = "",
    rcpt_to: list[str] | None = None,
    owner: AbstractBaseUser | None = None,
    owner_id: int | None = None,
    envelope_source: str | None = None,
    client_ip: str = "",
    helo: str = "",
    revision: str = "auto",
    sha256: str = "",
) -> Analysis:
    """The analysis :func:`analysis_submit` stores, not yet saved: for a caller that stores
    it together with rows of its own (the intake, with its delivery: :func:`insert_new`),
    and then queues it (:func:`analysis_enqueue_on_commit`). The arguments are
    :func:`analysis_submit`'s."""
    revision = revision_or_error(revision)
    recipients = list(rcpt_to or [])
    if envelope_source is None:
        has_envelope = bool(mail_from or recipients or client_ip)
        envelope_source = str(
            Analysis.EnvelopeSource.USER if has_envelope else Analysis.EnvelopeSource.NONE
        )
    from analysis.submission import summary_fields

    summary = summary_fields(raw)  # From and Subject for lists, read once here
    whose: dict[str, Any] = {"owner": owner} if owner is not None else {"owner_id": owner_id}
    return Analysis(
        **whose,
        raw_message=bytes(raw),
        sha256=sha256 or hashlib.sha256(raw).hexdigest(),
        filename=filename[:255],
        size=len(raw),
        header_from=summary.from_text,
        header_subject=summary.subject,
        mail_from=mail_from,
        rcpt_to=recipients,
        envelope_source=envelope_source,
        client_ip=client_ip[:64],
        helo=helo,
        revision=revision,
        status=Analysis.Status.QUEUED,
    )


def analysis_enqueue_on_commit(*, analysis: Analysis) -> None:
    """Publish the stored ``analysis``'s task once the current transaction commits (at once
    in autocommit)."""
    transaction.on_commit(partial(analysis_enqueue, analysis_id=analysis.pk, size=analysis.size))


def inserts_in_one_statement(db: str) -> bool:
    """Does :func:`insert_new` store its rows in one statement on the database ``db``? Then,
    in autocommit, that statement is a transaction of its own."""
    return connections[db].vendor == "postgresql" and _is_psycopg3()


def insert_new(instances: Sequence[models.Model]) -> None:
    """Save new model instances (none saved yet, all of one database), as a
    ``save(force_insert=True)`` of each in turn would, without sending any signal; on
    PostgreSQL in one statement, with its parameters bound by the server.

    The ORM binds parameters in the client: a message's bytes would be written into the
    statement as hex for PostgreSQL to read back, which cost its server twice what the
    rest of an upload's queries did (0.4 ms for 50 KB). Bound by the server they travel as
    they are, through the cursor the worker's statements use (:func:`bound_cursor`). The
    rows of each model are one INSERT, each in a data-modifying WITH, so that the intake's
    delivery, its analyses and the links between them cost one round trip and one commit
    instead of five (BEGIN, three INSERTs, COMMIT); a primary key the database makes (an
    auto field left unset) is read back into its instance. Elsewhere (SQLite) each instance
    is saved in turn, in the order given: the caller's transaction holds them together.
    """
    if not instances:
        return
    db = router.db_for_write(type(instances[0]))
    if not inserts_in_one_statement(db):
        for instance in instances:
            instance.save(force_insert=True, using=db)
        return
    connection = connections[db]
    by_model: dict[type[models.Model], list[models.Model]] = {}
    for instance in instances:
        by_model.setdefault(type(instance), []).append(instance)
    groups = list(by_model.values())
    # (model, its rows, whether the database makes their keys: an auto field left unset,
    # for all of a model's rows) of each INSERT, in order: what the statement's text says.
    shape = tuple(
        (model, len(rows), bool(_made_key(model) and rows[0].pk is None))
        for model, rows in by_model.items()
    )
    sql, written = _insert_statement(connection, shape)
    params: list[Any] = []
    for fields, rows in zip(written, groups, strict=True):
        for row in rows:
            params += [f.get_db_prep_save(f.pre_save(row, add=True), connection) for f in fields]
    keyed = [(n, groups[n]) for n, (_, _, made) in enumerate(shape) if made]
    with bound_cursor(connection) as cursor:
        cursor.execute(sql, params)
        returned = cursor.fetchall() if keyed else []
    # Each INSERT's keys come in the order of its VALUES rows (as bulk_create relies on).
    for n, rows in keyed:
        keys = [key for number, key in returned if number == n]
        for row, key in zip(rows, keys, strict=True):
            row.pk = key
    for instance in instances:
        instance._state.adding = False
        instance._state.db = db


def _made_key(model: type[models.Model]) -> bool:
    """Is ``model``'s primary key one the database makes and returns (an auto field)?"""
    pk = model._meta.pk
    return pk is not None and pk.db_returning


#: Per vendor and shape of :func:`insert_new`'s rows: its statement and the fields each of
#: its INSERTs writes. The text is the same for every delivery of one shape, and building
#: it (53 quoted names for the intake's delivery, its analysis and their link) cost the
#: intake 20-40 µs of CPU a delivery. A shape is the row count of each model, so the
#: intake's are few (one per count of originals a delivery holds); past ``_INSERT_SHAPES``
#: shapes nothing more is kept, and each call builds its own.
_INSERT_STATEMENTS: dict[tuple[Any, ...], tuple[str, list[list[models.Field[Any, Any]]]]] = {}
_INSERT_SHAPES = 256


def _insert_statement(
    connection: Any, shape: tuple[tuple[type[models.Model], int, bool], ...]
) -> tuple[str, list[list[models.Field[Any, Any]]]]:
    """:func:`insert_new`'s statement for rows of ``shape`` ((model, row count, whether the
    database makes their keys) of each INSERT, in order) on ``connection``, and the fields
    whose values each INSERT takes, row after row."""
    key = (connection.vendor, shape)
    known = _INSERT_STATEMENTS.get(key)
    if known is not None:
        return known
    quote = connection.ops.quote_name
    inserts: list[str] = []
    written: list[list[models.Field[Any, Any]]] = []
    keyed: list[int] = []  # the INSERTs that return the keys they made
    for n, (model, count, made) in enumerate(shape):
        meta = model._meta
        fields = [f for f in meta.concrete_fields if not (made and f is meta.pk)]
        one_row = f"({', '.join('%s' for _ in fields)})"
        insert = (
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)})"
            f" VALUES {', '.join(one_row for _ in range(count))}"
        )
        if made:
            assert meta.pk is not None
            insert += f" RETURNING {n}, {quote(meta.pk.column)}"
            keyed.append(n)
        inserts.append(insert)
        written.append(fields)
    if len(inserts) == 1:
        sql = inserts[0]
    else:
        # Every data-modifying WITH runs to completion, read or not; the SELECT reads back
        # the keys the database made, each with the number of the INSERT that made it.
        ctes = ", ".join(f"i{n} AS ({insert})" for n, insert in enumerate(inserts))
        read = " UNION ALL ".join(f"SELECT * FROM i{n}" for n in keyed)
        sql = f"WITH {ctes} {read or 'SELECT NULL, NULL WHERE FALSE'}"
    if len(_INSERT_STATEMENTS) < _INSERT_SHAPES:
        _INSERT_STATEMENTS[key] = (sql, written)
    return sql, written


def analysis_evaluate(
    *,
    raw: bytes,
    mail_from: str = "",
    rcpt_to: list[str] | None = None,
    client_ip: str = "",
    helo: str = "",
    revision: str = "auto",
    lookup: Any = None,
    now: float | None = None,
) -> EngineOutcome:
    """What :func:`analysis_run` would store for these bytes and envelope, without storing
    anything or touching the database (``manage.py analyze`` without ``--store``).

    The same engine call, envelope rules and report budget as a stored run (ReportNotStorable
    past the budget); ValueError for a revision that is not one.
    """
    recipients = list(rcpt_to or [])
    has_envelope = bool(mail_from or recipients or client_ip)
    unsaved = Analysis(  # never saved: only what _run_engine reads
        raw_message=bytes(raw),
        size=len(raw),
        mail_from=mail_from,
        rcpt_to=recipients,
        envelope_source=str(
            Analysis.EnvelopeSource.USER if has_envelope else Analysis.EnvelopeSource.NONE
        ),
        client_ip=client_ip[:64],
        helo=helo,
        revision=revision_or_error(revision),
    )
    return _run_engine(unsaved, lookup=lookup, now=now)


def analysis_submit_returned(*, analysis: Analysis, enqueue: bool = True) -> list[Analysis]:
    """Store what the bounce ``analysis`` returned, each as its own analysis.

    The engine finds the returned message (:func:`analysis.dsn.returned_messages`: whole
    messages only; when that one is a bounce too, the message it returned, and so on, at
    most ``limits.MAX_DSN_NESTING`` levels). Each is owned like ``analysis`` and judged by
    its revision; an anonymous visitor's view remembers them like any upload (the view's
    job). The bounce's page finds them by their bytes (``dsn.returned.sha256``). ``[]`` for
    anything that is not a bounce returning a whole message.
    """
    from analysis.dsn import returned_messages
    from analysis.mime import header_block

    raw = analysis.raw_bytes
    # A bounce is a multipart/report: returned_messages() reads the top Content-Type with the
    # email package (the first Content-Type field, its type before any ";", stripped and
    # lower-cased), so a header block without those bytes in any case cannot be one. Every
    # upload asks; most are not bounces, and this spares them the parse (0.05 ms).
    if b"multipart/report" not in header_block(raw).lower():
        return []
    created = []
    for returned in returned_messages(raw):
        words = "-".join("".join(c if c.isalnum() else " " for c in returned.subject).split())
        created.append(
            analysis_submit(
                raw=returned.raw,
                filename=f"returned-{words[:80]}.eml" if words else "returned.eml",
                owner=analysis.owner,
                revision=analysis.revision,
                enqueue=enqueue,
            )
        )
    return created


def analysis_rerun(
    *,
    analysis: Analysis,
    revision: str | None = None,
    compat: bool = False,
    verify_at: int | None = None,
) -> bool:
    """Queue another run of a finished analysis; its earlier runs are kept.

    ``revision`` (None: the analysis's own) is the DKIM2 draft revision the new run judges
    by; ``compat`` runs it in compatibility mode; ``verify_at`` (unix seconds; None: the
    time it runs) sets its verification clock, e.g. to the message's arrival time. They are
    stored on the analysis in the same conditional UPDATE that queues it, so they change
    only when the run is queued.  ValueError for a revision that is not one.
    Returns False (and queues or changes nothing) while the analysis is still queued or
    running.
    """
    changes: dict[str, Any] = {
        "status": Analysis.Status.QUEUED,
        "queued_at": timezone.now(),
        "attempts": 0,
        "error": "",
        "started_at": None,
        "finished_at": None,
        "compat": bool(compat),
        "verify_at": int(verify_at) if verify_at is not None else None,
    }
    if revision is not None:
        changes["revision"] = revision_or_error(revision)
    requeued = Analysis.objects.filter(
        pk=analysis.pk, status__in=(Analysis.Status.DONE, Analysis.Status.FAILED)
    ).update(**changes)
    if requeued:
        for name, value in changes.items():
            setattr(analysis, name, value)
        transaction.on_commit(partial(analysis_enqueue, analysis_id=analysis.pk))
    return bool(requeued)


@with_analysis_id
def analysis_run(
    *, analysis_id: uuid.UUID | str, lookup: Any = None, now: float | None = None
) -> AnalysisRun | None:
    """Verify a queued analysis with the engine and store the run.

    The row is claimed with a conditional UPDATE (queued -> running, or a stale running
    claim), so a duplicate task delivery, or a call on an analysis that is done, does
    nothing and returns None. An exception from the engine marks the analysis failed with
    the error text; it is not retried, since the same bytes would fail the same way. So
    does a report over its stored-size budget (analysis.report_budget), running out of
    memory, and the database refusing the report itself (``refused_for_its_content``).
    Other database errors propagate, for the task to retry. Once the outcome (done or failed) is
    committed, ``signals.analysis_finished`` is sent.

    ``lookup`` overrides the DNS lookup named by ``settings.DKIM2_KEY_LOOKUP``; ``now``
    the verification clock (unix seconds; 0 leaves timestamps unchecked), unless the
    analysis was re-run as of a chosen time (``Analysis.verify_at``).

    Two statements on PostgreSQL, each its own commit: the claim, which also reads what the
    run needs (:func:`_claim`), and the outcome, stored only while the claim is still ours
    (:func:`_store_run`).
    """
    claimed_at = timezone.now()
    analysis = _claim(analysis_id, claimed_at=claimed_at)
    if analysis is None:
        logger.info("analysis %s: not claimable (already taken or finished)", analysis_id)
        return None

    def fail(reason: str) -> None:
        # Conditional on our claim, like the store: a worker that overran STALE_AFTER
        # cannot overwrite the outcome of the one that reclaimed the row.
        if Analysis.objects.filter(
            pk=analysis_id, status=Analysis.Status.RUNNING, started_at=claimed_at
        ).update(status=Analysis.Status.FAILED, error=reason, finished_at=timezone.now()):
            announce_finished(
                analysis_id=analysis_id,
                envelope_source=analysis.envelope_source,
                mail_from=analysis.mail_from,
            )

    # Failures of the message itself are final: the same bytes fail the same way, so they are
    # recorded with their reason and never retried (only the database being away is).
    try:
        outcome = _run_engine(analysis, lookup=lookup, now=now)
    except SoftTimeLimitExceeded:
        logger.warning("analysis %s: soft time limit reached", analysis_id)
        fail(f"timed out: the analysis took longer than {SOFT_TIME_LIMIT} seconds")
        return None
    except ReportNotStorable as exc:
        logger.error("analysis %s: %s", analysis_id, exc)
        fail(str(exc))
        return None
    except MemoryError:
        logger.exception("analysis %s: out of memory", analysis_id)
        fail(OUT_OF_MEMORY)
        return None
    except Exception as exc:
        logger.exception("analysis %s: engine failed", analysis_id)
        fail(f"{type(exc).__name__}: {exc}")
        return None

    try:
        run = _store_run(analysis, outcome, claimed_at=claimed_at)
    except (DataError, OperationalError) as exc:
        if not refused_for_its_content(exc):
            raise  # the database is away: the task retries
        logger.exception("analysis %s: the database refused the report", analysis_id)
        fail(
            "the report could not be stored: the database refused it "
            f"({_database_error_name(exc)}), and it would refuse it again, so the analysis "
            "was not retried. The message is kept and can be downloaded from this analysis; "
            "tell the operators (the worker's log has the details)."
        )
        return None
    if run is None:
        # Reclaimed by another worker or deleted meanwhile: its outcome stands.
        logger.warning("analysis %s: claim lost before the run was stored", analysis_id)
        return None
    announce_finished(
        analysis_id=analysis_id,
        envelope_source=analysis.envelope_source,
        mail_from=analysis.mail_from,
    )
    return run


#: What a run reads of its analysis (``_run_engine``, ``_smtp_context``, the stored run and
#: the announcement): the claim returns these columns and no others, so the rest of the row
#: (the owner, the file name, the summary fields) is never sent to the worker. Any other
#: field of the claimed instance is loaded when read, as Django does for deferred fields.
RUN_FIELDS = frozenset(
    {
        "id",
        "raw_message",
        "mail_from",
        "rcpt_to",
        "envelope_source",
        "client_ip",
        "helo",
        "status",
        "attempts",
        "started_at",
        "revision",
        "compat",
        "verify_at",
    }
)


def _claim(analysis_id: uuid.UUID | str, *, claimed_at: datetime) -> Analysis | None:
    """Claim the analysis for a run begun at ``claimed_at`` and read what the run needs, in
    one statement (``UPDATE ... RETURNING``): queued, or running with a claim gone stale
    (older than STALE_AFTER, fewer than MAX_ATTEMPTS claims). None if it is not claimable
    (taken, finished, deleted, or no such id); the claim is committed at once (autocommit),
    so every other worker, the sweep and the pages see it."""
    db = router.db_for_write(Analysis)
    connection = connections[db]
    statements = _run_statements(connection)
    running = _db_value(Analysis, "status", Analysis.Status.RUNNING, connection)
    params = [
        running,
        _db_value(Analysis, "started_at", claimed_at, connection),
        "",
        # A ValidationError for what is not an id at all, as from the ORM.
        _db_value(Analysis, "id", analysis_id, connection),
        _db_value(Analysis, "status", Analysis.Status.QUEUED, connection),
        running,
        _db_value(Analysis, "started_at", claimed_at - STALE_AFTER, connection),
        MAX_ATTEMPTS,
    ]
    # On PostgreSQL the row comes back in binary: the message's bytes as they are, not as
    # hex text the server writes and this process reads back (half the claim's CPU at 50 KB).
    with bound_cursor(connection, binary_results=True) as cursor:
        cursor.execute(statements.claim, params)
        row = cursor.fetchone()
    if row is None:
        return None
    names = statements.claimed_fields
    return Analysis.from_db(db, names, _read_row(Analysis, names, row, connection))


def _store_run(
    analysis: Analysis, outcome: EngineOutcome, *, claimed_at: datetime
) -> AnalysisRun | None:
    """Mark the analysis done and store its run, both or neither, only while the claim made
    at ``claimed_at`` is still ours; None (and nothing written) once it is not.

    On PostgreSQL one statement does it (the UPDATE in a data-modifying WITH, the INSERT
    reading its result): one round trip, one commit. Elsewhere (SQLite has no UPDATE inside
    WITH) the UPDATE and the INSERT share a transaction.
    """
    finished_at = timezone.now()
    fields: dict[str, Any] = {
        "analysis": analysis,
        "created_at": finished_at,
        "result": outcome.result,
        "report": outcome.report,
        "engine_version": outcome.engine_version,
        "draft": outcome.draft,
        "revision": analysis.revision,  # what _run_engine judged by
        "compat": analysis.compat,
        "verified_as_of": analysis.verify_at,
    }
    db = router.db_for_write(AnalysisRun)
    connection = connections[db]
    statements = _run_statements(connection)
    if statements.store is None:
        # (This path leaves the report's encoding to the JSONField: SQLite stores text.)
        with transaction.atomic(using=db):
            ours = Analysis.objects.filter(
                pk=analysis.pk, status=Analysis.Status.RUNNING, started_at=claimed_at
            )
            if not ours.update(status=Analysis.Status.DONE, finished_at=finished_at):
                return None
            return AnalysisRun.objects.create(**fields)

    from psycopg.types.json import Json  # PostgreSQL's driver

    run = AnalysisRun(**fields)
    params = [
        _db_value(Analysis, "status", Analysis.Status.DONE, connection),
        _db_value(Analysis, "finished_at", finished_at, connection),
        _db_value(Analysis, "id", analysis.pk, connection),
        _db_value(Analysis, "status", Analysis.Status.RUNNING, connection),
        _db_value(Analysis, "started_at", claimed_at, connection),
    ]
    encoded = outcome.report_json
    for field in statements.stored_fields:
        if field.name == "report" and encoded is not None:
            # The text the engine's outcome was measured as, sent and kept as it is (json:
            # reports.fields.ReportJSONField).
            params.append(Json(outcome.report, dumps=lambda _report: encoded))
        else:
            params.append(field.get_db_prep_save(field.pre_save(run, add=True), connection))
    # Inside a caller's transaction (an in-process run), a savepoint, so that a report the
    # database refuses leaves that transaction usable for recording the failure.
    savepoint = transaction.atomic(using=db) if connection.in_atomic_block else nullcontext()
    with savepoint, bound_cursor(connection) as cursor:
        cursor.execute(statements.store, params)
        row = cursor.fetchone()
    if row is None:
        return None
    run.pk = row[0]
    run._state.adding = False
    run._state.db = db
    return run


@dataclass(frozen=True)
class _RunStatements:
    """The claim and the store of :func:`analysis_run` in one database engine's SQL."""

    claim: str
    claimed_fields: list[str]  # the attnames the claim returns, in the model's field order
    store: str | None  # None: the engine cannot UPDATE inside WITH (SQLite)
    stored_fields: list[models.Field[Any, Any]]  # the run's columns the store inserts

    @classmethod
    def build(cls, connection: Any) -> _RunStatements:
        quote = connection.ops.quote_name

        def table(model: type[models.Model]) -> str:
            return str(quote(model._meta.db_table))

        def col(model: type[models.Model], name: str) -> str:
            return str(quote(model._meta.get_field(name).column))

        def a(name: str) -> str:
            return col(Analysis, name)

        postgresql = connection.vendor == "postgresql"
        claimed = [f for f in Analysis._meta.concrete_fields if f.attname in RUN_FIELDS]
        returned = [
            # JSON as text, as Django reads it from PostgreSQL, also in binary results (whose
            # jsonb psycopg would decode itself).
            f"{a(f.name)}::text" if postgresql and isinstance(f, models.JSONField) else a(f.name)
            for f in claimed
        ]
        claim = (
            f"UPDATE {table(Analysis)} SET {a('status')} = %s, {a('started_at')} = %s,"
            f" {a('finished_at')} = NULL, {a('error')} = %s, {a('attempts')} = {a('attempts')} + 1"
            f" WHERE {a('id')} = %s AND ({a('status')} = %s OR ({a('status')} = %s"
            f" AND {a('started_at')} < %s AND {a('attempts')} < %s))"
            f" RETURNING {', '.join(returned)}"
        )
        stored = [f for f in AnalysisRun._meta.concrete_fields if not f.primary_key]
        store = None
        if postgresql:
            store = (
                f"WITH finished AS (UPDATE {table(Analysis)}"
                f" SET {a('status')} = %s, {a('finished_at')} = %s"
                f" WHERE {a('id')} = %s AND {a('status')} = %s AND {a('started_at')} = %s"
                f" RETURNING {a('id')})"
                f" INSERT INTO {table(AnalysisRun)}"
                f" ({', '.join(col(AnalysisRun, f.name) for f in stored)})"
                f" SELECT {', '.join('%s' for _ in stored)} FROM finished"
                f" RETURNING {col(AnalysisRun, 'id')}"
            )
        return cls(
            claim=claim,
            claimed_fields=[f.attname for f in claimed],
            store=store,
            stored_fields=stored,
        )


# Built once per database engine (the SQL depends on nothing else).
_RUN_STATEMENTS: dict[str, _RunStatements] = {}


def _run_statements(connection: Any) -> _RunStatements:
    built = _RUN_STATEMENTS.get(connection.vendor)
    if built is None:
        built = _RUN_STATEMENTS[connection.vendor] = _RunStatements.build(connection)
    return built


@contextmanager
def bound_cursor(connection: Any, *, binary_results: bool = False) -> Iterator[Any]:
    """A cursor of ``connection``, wrapped as Django wraps its own (database errors, query
    logging). On PostgreSQL the server binds its parameters, so a report's JSON travels as
    it is rather than quoted into the statement for the server to parse, a statement run
    again and again on one connection is prepared once (psycopg's prepare_threshold, which
    settings sets from DATABASE_PREPARE_THRESHOLD: Django alone leaves it off), and,
    with ``binary_results``, rows come back in binary. Elsewhere, Django's usual cursor.
    The hand-written statements of the hot paths use it (the worker's, the intake's)."""
    if connection.vendor != "postgresql" or not _is_psycopg3():
        with connection.cursor() as cursor:
            yield cursor
        return
    from django.db.backends.postgresql.base import ServerBindingCursor
    from psycopg.pq import Format

    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        raw = ServerBindingCursor(connection.connection)
    if binary_results:
        raw.format = Format.BINARY  # what psycopg's connection.cursor(binary=True) sets
    wrap = connection.make_debug_cursor if connection.queries_logged else connection.make_cursor
    with wrap(raw) as cursor:
        yield cursor


def _is_psycopg3() -> bool:
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return bool(is_psycopg3)


def _db_value(model: type[models.Model], name: str, value: Any, connection: Any) -> Any:
    """``value`` of the field ``name`` as the ORM would send it to ``connection``."""
    return model._meta.get_field(name).get_db_prep_value(value, connection)


def _read_row(model: type[models.Model], names: list[str], row: Any, connection: Any) -> list[Any]:
    """``row``, the columns of the fields ``names``, read as a query set reads them: through
    the database's converters and the fields' own (JSON, UUIDs, booleans...)."""
    if len(row) != len(names):
        raise ValueError(f"a row of {len(row)} columns read as {len(names)} fields")
    values = list(row)
    for i, column, converters in _row_converters(connection, model, tuple(names)):
        value = values[i]
        for convert in converters:
            value = convert(value, column, connection)
        values[i] = value
    return values


#: Per connection (a thread's, of one alias) and row shape: the columns that have
#: converters, with them. Working them out for every row was most of reading the claimed
#: row (0.03 ms for its 13 columns, of which one has a converter on PostgreSQL).
_ROW_CONVERTERS: weakref.WeakKeyDictionary[Any, dict[Any, list[tuple[int, Any, list[Any]]]]] = (
    weakref.WeakKeyDictionary()
)


def _row_converters(
    connection: Any, model: type[models.Model], names: tuple[str, ...]
) -> list[tuple[int, Any, list[Any]]]:
    """(position, column, converters) of each of the ``names`` columns that has converters."""
    known = _ROW_CONVERTERS.get(connection)
    if known is None:
        known = _ROW_CONVERTERS[connection] = {}
    found = known.get((model, names))
    if found is None:
        found = []
        for i, name in enumerate(names):
            column = model._meta.get_field(name).get_col(model._meta.db_table)
            converters = connection.ops.get_db_converters(column) + column.get_db_converters(
                connection
            )
            if converters:
                found.append((i, column, converters))
        known[(model, names)] = found
    return found


#: The reason a run that ran out of memory fails with (a worker's soft memory limit,
#: DKIM2WEB_WORKER_MEMORY_LIMIT_MB, turns what would be the OOM killer into this).
OUT_OF_MEMORY = (
    "the analysis needed more memory than a worker may use (DKIM2WEB_WORKER_MEMORY_LIMIT_MB), "
    "so it was stopped and not retried: the same message would need the same. The message is "
    "kept; the operators have the details in the worker's log."
)


class ReportNotStorable(Exception):
    """The engine's report is larger than the stored-size budget even after trimming."""


def refused_for_its_content(exc: BaseException) -> bool:
    """The database refused the data itself, not the connection: SQLSTATE class 22 (data
    exception, Django's DataError) or 54 (program limit exceeded: a jsonb value over 256 MB,
    which psycopg raises as an OperationalError).  Sending the same data again fails the
    same way, so such an error is final."""
    if isinstance(exc, DataError):
        return True
    cause = exc.__cause__
    state = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None) or ""
    return str(state)[:2] in ("22", "54")


def _database_error_name(exc: BaseException) -> str:
    cause = exc.__cause__
    return type(cause).__name__ if cause is not None else type(exc).__name__


def analysis_fail(*, analysis_id: uuid.UUID | str, reason: str) -> bool:
    """Mark an analysis that is queued or running as failed, saying why.

    For the task when it gives up (retries exhausted, hard time limit). Does nothing to an
    analysis that is done or already failed, so the first reason given stands.
    """
    failed = Analysis.objects.filter(
        pk=analysis_id, status__in=(Analysis.Status.QUEUED, Analysis.Status.RUNNING)
    ).update(status=Analysis.Status.FAILED, error=reason, finished_at=timezone.now())
    if failed:
        announce_finished(analysis_id=analysis_id)
    return bool(failed)


def analysis_remember_in_session(*, session: Any, analysis: Analysis) -> None:
    """Let the anonymous visitor of ``session`` see ``analysis`` (nobody else can)."""
    ids = [x for x in analysis_ids_in_session(session=session) if x != str(analysis.pk)]
    ids.append(str(analysis.pk))
    session[ANON_SESSION_KEY] = ids[-ANON_SESSION_MAX_IDS:]


def analysis_delete(*, analysis: Analysis) -> None:
    """Delete an analysis: its raw message and everything derived from it.

    Its runs and share links go with it (their foreign keys cascade).
    """
    Analysis.objects.filter(pk=analysis.pk).only("pk").delete()


def analyses_purge_expired(*, now: datetime | None = None) -> int:
    """Delete analyses older than ``DKIM2WEB_RETENTION_DAYS`` (0 keeps everything).

    Returns how many analyses were deleted (their runs and share links go with them).
    """
    days = settings.DKIM2WEB_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    # only("pk"): the deletion collects the rows, and raw messages may be 25 MB each.
    _, per_model = Analysis.objects.filter(created_at__lt=cutoff).only("pk").delete()
    deleted = per_model.get(Analysis._meta.label, 0)
    if deleted:
        logger.info("purged %d analyses created before %s", deleted, cutoff.isoformat())
    return deleted


def analyses_requeue_stale(*, now: datetime | None = None) -> SweepOutcome:
    """The sweep: publish again what the broker lost, and recover what dead workers left.

    * ``queued`` for longer than ``DKIM2WEB_SWEEP_AFTER_SECONDS``: published again (a
      duplicate of a message still in the queue is harmless: the claim makes it a no-op);
    * ``running`` with a claim older than STALE_AFTER: queued again and published, or,
      after MAX_ATTEMPTS claims, marked failed with the reason.
    """
    now = now or timezone.now()
    # finished_at__isnull: true of every queued or running analysis (the claim and a re-run
    # clear it), and what lets both queries use the index of unfinished ones (Analysis.Meta).
    unfinished = Q(finished_at__isnull=True)
    stale_claim = unfinished & Q(status=Analysis.Status.RUNNING, started_at__lt=now - STALE_AFTER)
    gave_up = Analysis.objects.filter(stale_claim, attempts__gte=MAX_ATTEMPTS).update(
        status=Analysis.Status.FAILED,
        error=(
            f"gave up after {MAX_ATTEMPTS} attempts: each time, the worker running the "
            "analysis stopped before it finished (a crash, running out of memory or the "
            f"{HARD_TIME_LIMIT} second time limit)"
        ),
        finished_at=now,
    )
    reclaimable = list(
        Analysis.objects.filter(stale_claim).values_list("pk", "started_at")[:SWEEP_BATCH]
    )
    reclaimed = 0
    for pk, started_at in reclaimable:
        # Conditional on the claim we saw, so a worker finishing right now keeps its result.
        with analysis_context(pk):
            if Analysis.objects.filter(
                pk=pk, status=Analysis.Status.RUNNING, started_at=started_at
            ).update(status=Analysis.Status.QUEUED, queued_at=now, started_at=None):
                reclaimed += 1
                logger.warning("analysis %s: its worker was lost; queued again", pk)
                analysis_enqueue(analysis_id=pk)

    cutoff = now - timedelta(seconds=settings.DKIM2WEB_SWEEP_AFTER_SECONDS)
    waiting = list(
        Analysis.objects.filter(unfinished, status=Analysis.Status.QUEUED, queued_at__lt=cutoff)
        .order_by("queued_at")
        .values_list("pk", "queued_at")[:SWEEP_BATCH]
    )
    requeued = 0
    for pk, queued_at in waiting:
        # Conditional too, so two sweeps running at once publish each analysis once.
        with analysis_context(pk):
            if Analysis.objects.filter(
                pk=pk, status=Analysis.Status.QUEUED, queued_at=queued_at
            ).update(queued_at=now):
                requeued += 1
                logger.info("analysis %s: queued since %s; published again", pk, queued_at)
                analysis_enqueue(analysis_id=pk)
    return SweepOutcome(requeued=requeued, reclaimed=reclaimed, gave_up=gave_up)


def analysis_enqueue(
    *, analysis_id: uuid.UUID | str, size: int | None = None, connection: Any = None
) -> bool:
    """Publish the run_analysis task; False (logged) when the broker cannot be reached.

    The analysis stays queued either way, so the sweep publishes it again later: an
    upload succeeds even while the broker is down. Without a broker configured the task
    runs here and now (Celery's eager mode), and its errors propagate.
    ``connection`` is a broker connection to publish through instead of the app's pool.
    Messages over ``DKIM2WEB_LARGE_MESSAGE_BYTES`` go to the large-message queue; ``size``
    is the message's, when the caller knows it (otherwise it is read from the row).
    """
    from .tasks import publish_run_analysis, run_analysis  # tasks imports this module

    with analysis_context(analysis_id):
        if size is None:
            size = Analysis.objects.filter(pk=analysis_id).values_list("size", flat=True).first()
        try:
            publish_run_analysis(str(analysis_id), size=size, connection=connection)
        except BrokerError as exc:
            logger.error(
                "analysis %s: stored but not queued, the broker is unreachable (%s); "
                "the sweep will queue it again",
                analysis_id,
                exc,
            )
            return False
        except Retry as exc:
            # Eager mode only: the in-process run asked to be retried (the database was
            # busy). The upload itself succeeded; the sweep (or a re-run) picks it up.
            logger.error("analysis %s: the in-process run did not finish (%s)", analysis_id, exc)
            return False
        except Exception as exc:
            if run_analysis.app.conf.task_always_eager:
                raise  # in-process: the run's own error, for the caller to see
            # Redis answered with an error rather than not at all (MISCONF when its disk is
            # full, OOM, READONLY after a failover, NOAUTH): kombu passes those through as
            # they are. The message is stored all the same: never let this turn an upload
            # into a 500, or a 250 into a 451 (the client would send it again).
            logger.error(
                "analysis %s: stored but not queued, the broker refused it (%s: %s); "
                "the sweep will queue it again",
                analysis_id,
                type(exc).__name__,
                exc,
            )
            return False
    return True


def key_lookup_from_settings() -> Any:
    """An instance of the key lookup class named by ``settings.DKIM2_KEY_LOOKUP``."""
    return import_string(settings.DKIM2_KEY_LOOKUP)()


def _smtp_context(analysis: Analysis) -> Any:
    """What the stored analysis knows of the delivering SMTP transaction (None: nothing;
    the engine reconstructs it from the message's own trace fields)."""
    from analysis.received import SmtpContext

    source = analysis.envelope_source
    if source == Analysis.EnvelopeSource.NONE:
        return None
    seen = source == Analysis.EnvelopeSource.SMTP
    parts = []
    if analysis.client_ip:
        parts.append(f"client {analysis.client_ip}")
    if analysis.helo:
        parts.append(f"HELO {analysis.helo}")
    parts.append(f"MAIL FROM {analysis.mail_from or '<>'}")
    how = "seen by the dkim2web mail intake" if seen else "given with the analysis"
    return SmtpContext(
        client_ip=analysis.client_ip or None,
        helo=analysis.helo or None,
        mail_from=analysis.mail_from,
        rcpt_to=list(analysis.rcpt_to),
        source="smtp" if seen else "given",
        detail=f"{', '.join(parts)}: {how}",
    )


def _run_engine(
    analysis: Analysis, *, lookup: Any = None, now: float | None = None
) -> EngineOutcome:
    # Imported here, not at module level, so the web half starts (and marks runs failed
    # with the reason) even while the engine cannot be imported.
    from analysis import limits
    from analysis.dkim2 import Options
    from analysis.message_report import ENGINE_VERSION, analyze_message
    from analysis.report_budget import ReportTooLarge

    report = analyze_message(
        analysis.raw_bytes,
        lookup=lookup if lookup is not None else key_lookup_from_settings(),
        smtp=_smtp_context(analysis),
        now=analysis.verify_at if analysis.verify_at is not None else now,
        options=Options(compat=True) if analysis.compat else None,
        dns_budget=settings.DKIM2WEB_DNS_BUDGET_SECONDS,
        revision=analysis.revision,
    )
    # The report is checked against its stored-size budget before anything is written: past
    # it the engine trims its largest derived parts (saying which); what still does not fit
    # fails the analysis with that reason.
    limit = limits.MAX_REPORT_BYTES
    try:
        # The report and its JSON text as the budget measured it: json.dumps(document), what
        # Django's JSONField would store (no encoder). The store sends this text, so the
        # report is encoded once (again here, that was 0.16 ms of a 3-hop chain's run).
        document, encoded = report.to_json_text(limit=limit)
    except ReportTooLarge as exc:
        raise ReportNotStorable(_not_storable(str(exc))) from exc
    document, encoded = storable_report(document, encoded)
    size = len(encoded)
    if size > limit:
        raise ReportNotStorable(
            _not_storable(
                f"the report of this message is {size:,} octets; at most {limit:,} can be stored"
            )
        )
    return EngineOutcome(
        result=report.result,
        report=document,
        engine_version=ENGINE_VERSION,
        draft=report.dkim2.draft,  # the draft of the revision that judged (-09 for auto)
        report_json=encoded,
    )


#: U+0000 as the report's JSON text writes it: the escape ``\u0000`` after an even run of
#: backslashes (after an odd one, the backslash is the message's and the rest plain text).
_NUL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def storable_report(document: dict[str, Any], encoded: str) -> tuple[dict[str, Any], str]:
    """The report and its JSON text with U+0000 written U+2400 (SYMBOL FOR NULL, "␀").

    The engine reports what a message holds, a NUL in a header included, and PostgreSQL can
    hold no U+0000 in a report (jsonb refuses the escape, SQLSTATE 22P05), nor read one out
    of json: such a message failed with "the database refused it". A NUL cannot be shown as
    itself on a page either; "␀" shows where it was (the stored message keeps the octet).
    Stored the same way on every database. The text keeps its length (six characters each),
    so the report stays within the budget it was measured against. Unchanged, and cheap,
    for a report without one.
    """
    if "\\u0000" not in encoded:
        return document, encoded
    text = _NUL_ESCAPE.sub(r"\1\\u2400", encoded)
    if text == encoded:
        return document, encoded  # only the six characters "\u0000" of the message's text
    return json.loads(text), text


def _not_storable(why: str) -> str:
    return (
        f"the report could not be stored: {why}. The same message would give the same "
        "report, so the analysis was not retried; the message is kept and can be downloaded "
        "from this analysis."
    )
