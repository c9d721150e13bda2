"""Writes of the intake (HackSoft services: keyword-only, typed, one job each).

Storing a delivery: the message is taken apart first (pure, bounded, outside any
transaction), then the delivery, every analysis it becomes and their links are written in
one transaction; the analyses are queued after the commit by the reports services, and
the periodic sweep queues again anything whose publishing was lost. Only once that
transaction has committed does the SMTP server answer 250.

Replying: once the analysis of the delivered message has finished, the sender gets the
link to the report if, and only if, the delivery proves its address (see
:mod:`.sender_auth`: the decision reads the finished analysis, never DNS). The delivery is
claimed with a conditional UPDATE first, so two pollers never answer twice; an address gets
at most ``DKIM2WEB_INTAKE_REPLIES_PER_DAY`` answers a UTC day and one per Message-ID,
counted in :class:`~.models.ReplyLog` so that every process shares the count. What can be
refused from the envelope and that count alone (the null sender, an address with no answers
left today) is settled as the analysis finishes, before an answer task is queued
(:func:`delivery_reply_worth_queueing`); the task still decides, and reserves, every answer,
and writes one only once that count leaves it a chance (:func:`_reply_refusal`).
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import logging
import secrets
import uuid
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, connections, models, router, transaction
from django.db.models import Q
from django.utils import timezone

from dkim2web.reports import services as reports
from dkim2web.reports.models import Analysis, AnalysisRun

from . import plan as planning
from . import sender_auth
from .models import Delivery, IntakeAddress, IntakePart, ReplyLog

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

# The poll answers a delivery only once its analysis finished this long ago: until then the
# finished-analysis hook (signals.py) has it in hand.
REPLY_POLL_GRACE = timedelta(seconds=30)
# An answer "sending" this long was claimed by a process that died mid-send: far past the
# reply task's 90 s hard time limit and the mail backend's 30 s timeout.
REPLY_STUCK_AFTER = timedelta(minutes=10)

TOKEN_BYTES = 16  # 32 lower-case hex digits: unguessable, and fits a local part easily

# Defaults of the reply settings (dkim2web/settings.py names them from the environment).
REPLIES_PER_DAY = 3  # DKIM2WEB_INTAKE_REPLIES_PER_DAY: answers per address per UTC day
TRUSTED_RELAYS: tuple[str, ...] = ()  # DKIM2WEB_INTAKE_TRUSTED_RELAYS: the MTA in front


def replies_per_day() -> int:
    return int(getattr(settings, "DKIM2WEB_INTAKE_REPLIES_PER_DAY", REPLIES_PER_DAY))


def is_trusted_relay(client_ip: str) -> bool:
    """Is ``client_ip`` the MTA in front of the intake (``DKIM2WEB_INTAKE_TRUSTED_RELAYS``:
    addresses or networks)? Its newest Received field then records the real client."""
    relays = getattr(settings, "DKIM2WEB_INTAKE_TRUSTED_RELAYS", TRUSTED_RELAYS)
    if not relays or not client_ip:
        return False
    try:
        ip = ipaddress.ip_address(client_ip.strip("[]"))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for relay in relays:
        try:
            if ip in ipaddress.ip_network(str(relay).strip(), strict=False):
                return True
        except ValueError:  # not trusted, never an error on the mail path
            logger.error("DKIM2WEB_INTAKE_TRUSTED_RELAYS: %r is not an address or network", relay)
    return False


# -- addresses -----------------------------------------------------------------------------


def intake_address_create(*, user: AbstractBaseUser) -> IntakeAddress:
    return IntakeAddress.objects.create(user=user, token=secrets.token_hex(TOKEN_BYTES))


def intake_address_get_or_create(*, user: AbstractBaseUser) -> IntakeAddress:
    """The user's active intake address, made on first use."""
    with transaction.atomic():
        active = (
            IntakeAddress.objects.select_for_update()
            .filter(user=user, revoked_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        return active if active is not None else intake_address_create(user=user)


def intake_address_rotate(*, user: AbstractBaseUser) -> IntakeAddress:
    """Revoke the user's active addresses (mail to them is refused) and make a new one."""
    with transaction.atomic():
        IntakeAddress.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        return intake_address_create(user=user)


# -- storing a delivery ----------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """One accepted RCPT TO: the forward-path as the client gave it, and whose it is."""

    rcpt: str  # as given, without angle brackets
    address_id: int
    owner_id: int


@dataclass(frozen=True)
class SmtpEnvelope:
    mail_from: str  # as given, without angle brackets ("" or "<>" for the null sender)
    protocol: str = "smtp"  # or "lmtp"
    client_ip: str = ""
    client_port: int | None = None
    helo: str = ""
    received_at: datetime = field(default_factory=timezone.now)

    @property
    def reverse_path(self) -> str:
        path = self.mail_from.strip()
        if path in ("", "<>"):
            return "<>"
        return path if path.startswith("<") else f"<{path}>"


def _forward_path(rcpt: str) -> str:
    rcpt = rcpt.strip()
    return rcpt if rcpt.startswith("<") else f"<{rcpt}>"


@dataclass
class Stored:
    """What was written for one owner: the delivery and its analyses (top first)."""

    delivery: Delivery
    analyses: list[Analysis]
    recipients: list[Recipient]


def message_plan(raw: bytes, *, mail_from: str) -> planning.Item:
    """The plan for ``raw``; the delivered message alone if taking it apart fails."""
    try:
        return planning.plan(raw, smtp_mail_from=mail_from)
    except Exception as exc:  # a bug: the message is still stored and analysed as delivered
        logger.exception("intake: taking a message apart failed")
        return planning.fallback(raw, exc)


def _slug(text: str) -> str:
    keep = "".join(c if c.isalnum() or c in " -_." else " " for c in text)
    return "-".join(keep.split())[:80]


def _filename(item: planning.Item, index: int) -> str:
    subject = _slug(item.subject)
    if item.kind in (planning.ATTACHED, planning.RETURNED):
        prefix = "returned" if item.kind == planning.RETURNED else f"original-{index}"
        return f"{prefix}-{subject}.eml" if subject else f"{prefix}.eml"
    return f"mail-{subject}.eml" if subject else "mail.eml"


def _store_owner(
    *,
    raw: bytes,
    envelope: SmtpEnvelope,
    recipients: Sequence[Recipient],
    other_recipients: int,
    item: planning.Item,
    enqueue: bool,
    sha256: str,
) -> Stored:
    """Store one owner's copy: its delivery, the analyses its message becomes and their
    links, written together (:func:`reports.insert_new`: one statement on PostgreSQL), then
    each analysis queued after the commit."""
    owner_id = recipients[0].owner_id
    analysed_ip, analysed_helo = _analysed_client(envelope)
    delivery = Delivery(
        owner_id=owner_id,
        address_id=recipients[0].address_id,
        received_at=envelope.received_at,
        protocol=envelope.protocol,
        mail_from=envelope.reverse_path,
        rcpt_to=[_forward_path(r.rcpt) for r in recipients],
        other_recipients=other_recipients,
        client_ip=envelope.client_ip[:64],
        client_port=envelope.client_port,
        helo=envelope.helo[:1000],
        size=len(raw),
        sha256=sha256,
        reply_state=(
            Delivery.Reply.PENDING if settings.DKIM2WEB_INTAKE_REPLY else Delivery.Reply.OFF
        ),
    )
    analyses: list[Analysis] = []
    parts: list[IntakePart] = []

    def add(node: planning.Item, parent: Analysis | None, index: int) -> None:
        top = parent is None
        analysis = reports.analysis_build(
            raw=raw if top else node.raw,
            filename=_filename(node, index),
            mail_from=delivery.mail_from if top else "",
            rcpt_to=list(delivery.rcpt_to) if top else [],
            owner_id=owner_id,
            sha256=delivery.sha256 if top else "",
            envelope_source=str(
                Analysis.EnvelopeSource.SMTP if top else Analysis.EnvelopeSource.NONE
            ),
            # The session's client is the delivered message's SMTP client; an attached
            # original travelled elsewhere (its own Received fields tell where).
            client_ip=analysed_ip[:64] if top else "",
            helo=analysed_helo[:1000] if top else "",
        )
        parts.append(
            IntakePart(
                analysis=analysis,
                delivery=delivery,
                parent=parent,
                kind=node.kind,
                mime_part=node.path[:64],
                transfer_encoding=node.encoding[:32],
                notes=node.notes,
                dsn=node.dsn,
            )
        )
        analyses.append(analysis)
        for n, child in enumerate(node.children, start=1):
            add(child, analysis, n)

    add(item, None, 0)
    reports.insert_new([delivery, *analyses, *parts])
    if enqueue:
        for analysis in analyses:
            reports.analysis_enqueue_on_commit(analysis=analysis)
    return Stored(delivery, analyses, list(recipients))


def _analysed_client(envelope: SmtpEnvelope) -> tuple[str, str]:
    """The SMTP client (address, HELO) the analysis is told of: the one that connected, or
    none when that is the trusted MTA in front, so that the engine reads the client from
    the Received field that MTA wrote (and says so)."""
    if is_trusted_relay(envelope.client_ip):
        return "", ""
    return envelope.client_ip, envelope.helo


def delivery_store(
    *,
    raw: bytes,
    envelope: SmtpEnvelope,
    recipients: Sequence[Recipient],
    enqueue: bool = True,
    per_owner: bool = False,
) -> list[Stored | BaseException]:
    """Store a received message for the owners of its recipients.

    One delivery per owner (in order of first appearance), each with the analyses its
    message becomes. By default everything is one transaction: all owners' copies are
    stored or none, and an exception propagates (SMTP answers one code for all). With
    ``per_owner`` (LMTP answers each recipient) each owner's copy is its own transaction
    and a failure is returned in that owner's place instead of raised.
    """
    if not recipients:
        return []
    item = message_plan(raw, mail_from=envelope.reverse_path)
    groups: dict[int, list[Recipient]] = {}
    for r in recipients:
        groups.setdefault(r.owner_id, []).append(r)
    total = len(recipients)
    sha256 = hashlib.sha256(raw).hexdigest()

    def one(group: list[Recipient]) -> Stored:
        return _store_owner(
            raw=raw,
            envelope=envelope,
            recipients=group,
            other_recipients=total - len(group),
            item=item,
            enqueue=enqueue,
            sha256=sha256,
        )

    # One owner's copy is one statement where the database allows it: outside a transaction
    # that statement is one of its own, and BEGIN and COMMIT would be two round trips more.
    db = router.db_for_write(Delivery)
    connection = connections[db]
    alone = (
        reports.inserts_in_one_statement(db)
        and not connection.in_atomic_block
        and connection.get_autocommit()
    )
    if not per_owner:
        with transaction.atomic() if len(groups) > 1 or not alone else nullcontext():
            return [one(group) for group in groups.values()]
    results: list[Stored | BaseException] = []
    for group in groups.values():
        try:
            with nullcontext() if alone else transaction.atomic():
                results.append(one(group))
        except Exception as exc:
            logger.exception("intake: storing a copy for owner %s failed", group[0].owner_id)
            results.append(exc)
    return results


# -- replies -----------------------------------------------------------------------------------


def _top_part(delivery_id: uuid.UUID | str) -> IntakePart | None:
    """The delivered message's part of a delivery, with its analysis and its delivery (one
    query: the answer task reads all three)."""
    return (
        IntakePart.objects.select_related("analysis", "delivery")
        .filter(delivery_id=delivery_id, parent__isnull=True)
        .order_by("pk")
        .first()
    )


def _reply_text(
    delivery: Delivery,
    top: IntakePart,
    run: AnalysisRun | None,
    decision: sender_auth.Decision,
    fields: sender_auth.ReplyFields,
) -> tuple[str, str]:
    analysis = top.analysis
    site = settings.DKIM2WEB_SITE_URL
    result = (run.result.upper() if run else analysis.status.upper()) if analysis else "?"
    # The Subject only as the proof covers it (sender_auth.reply_fields); else none at all.
    about = f"Your message “{fields.subject}”" if fields.subject else "Your message"
    lines = [
        f"{about} reached dkim2web on "
        f"{delivery.received_at:%Y-%m-%d %H:%M:%S} UTC and was analysed.",
        "",
        f"Verdict: {result}" + (f" — {run.summary}" if run and run.summary else ""),
        *_dkim2_line(run),
        f"Report: {site}/analyses/{analysis.pk}/",
    ]
    children = (
        IntakePart.objects.select_related("analysis")
        .filter(delivery=delivery)
        .exclude(pk=top.pk)
        .order_by("pk")
    )
    if children:
        lines += ["", "Found inside it, each analysed on its own:"]
        for part in children:
            name = part.analysis.filename or str(part.analysis.pk)
            lines.append(f"- {part.get_kind_display()}: {name}")
            lines.append(f"  {site}/analyses/{part.analysis.pk}/")
    if top.dsn:
        verdict = top.dsn.get("verdict") or {}
        lines += [
            "",
            f"Bounce verdict: {verdict.get('verdict', '?')} — {verdict.get('summary', '')}",
        ]
    for note in top.notes or []:
        if note.get("code") == "intake.inline-forward":
            lines += ["", str(note.get("title")), str(note.get("text"))]
            lines += [f"- {h['client']}: {h['steps']}" for h in note.get("how_to", [])]
    lines += [
        "",
        f"The reports are visible to the owner of {', '.join(delivery.rcpt_to)} once logged in.",
        f"This answer went to {decision.to} because {decision.reason}.",
    ]
    subject = f"DKIM2 report ({result})" + (f": {fields.subject}" if fields.subject else "")
    return sender_auth.clean_text(subject), "\n".join(lines) + "\n"


def _dkim2_line(run: AnalysisRun | None) -> list[str]:
    """The DKIM2 verdict and the draft revision whose rules gave it (saying when those
    rules are second-hand)."""
    from dkim2web.reports.revision_views import judged_by

    chain = (run.document.get("dkim2") if run is not None else None) or {}
    if not chain.get("hops"):
        return []
    lines = [f"DKIM2: {str(chain.get('result') or '?').upper()} — {chain.get('summary') or ''}"]
    judged = judged_by(chain)
    if judged is not None:
        lines.append(f"  {judged.text[0].upper()}{judged.text[1:]}. {judged.note}")
    return lines


@dataclass(frozen=True)
class _Prepared:
    decision: sender_auth.Decision
    fields: sender_auth.ReplyFields
    run: AnalysisRun | None
    thread_key: str  # the message's Message-ID ("" without one): one answer per address


def _reply_prepare(delivery: Delivery, top: IntakePart) -> sender_auth.Decision | _Prepared:
    """The decision not to answer, or the decision to and what the answer is made of
    (:func:`_reply_message` writes it)."""
    from dkim2web.reports.selectors import analysis_latest_run

    run = analysis_latest_run(analysis=top.analysis)
    raw = top.analysis.raw_bytes
    try:
        decision = sender_auth.decide(
            raw=raw,
            mail_from=delivery.mail_from,
            report=run.document if run is not None else None,
            client_ip=delivery.client_ip,
            relayed=is_trusted_relay(delivery.client_ip),
        )
        fields = sender_auth.reply_fields(raw, decision)
    except Exception as exc:
        logger.exception("intake: deciding whether to answer delivery %s failed", delivery.pk)
        decision = sender_auth.Decision(False, "", f"the check failed ({type(exc).__name__})")
    if not decision.ok:
        return decision
    return _Prepared(decision, fields, run, fields.message_id or fields.thread_key)


def _reply_message(delivery: Delivery, top: IntakePart, prepared: _Prepared) -> EmailMessage:
    """The answer, ready to send."""
    decision, fields = prepared.decision, prepared.fields
    subject, body = _reply_text(delivery, top, prepared.run, decision, fields)
    headers = {"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"}
    if fields.message_id:  # validated msg-id syntax, covered by the proof
        headers["In-Reply-To"] = fields.message_id
        headers["References"] = fields.message_id
    return EmailMessage(
        subject,
        body,
        from_email=settings.DKIM2WEB_INTAKE_REPLY_FROM,
        to=[decision.to.strip("<>")],  # strictly parsed: a dot-atom @ a host name
        headers=headers,
    )


_NO_ANSWERS_AT_ALL = "DKIM2WEB_INTAKE_REPLIES_PER_DAY is 0, so no address is answered"


def _reply_recipient(to: str) -> str:
    """``to`` (a reverse-path) as :class:`~.models.ReplyLog` counts it: bare, lower-cased."""
    return to.strip("<>").lower()


def _reply_day() -> date:
    """The UTC day whose answers an answer made now counts against."""
    return timezone.now().astimezone(UTC).date()


def _day_used_up(to: str, cap: int) -> str:
    return (
        f"{to} has had {cap} answer{'s' if cap != 1 else ''} today (UTC), the most "
        f"DKIM2WEB_INTAKE_REPLIES_PER_DAY allows; this delivery's report is on the intake page "
        "of the address's owner, and answers to this address resume tomorrow"
    )


def _already_answered(to: str, thread_key: str) -> str:
    return (
        f"{to} was already answered about the message {thread_key}, and an address gets one "
        "answer per Message-ID; the report is on the intake page of the address's owner"
    )


def _thread_hash(thread_key: str) -> str:
    """``thread_key`` as :class:`~.models.ReplyLog` keeps it ("" for none)."""
    return hashlib.sha256(thread_key.encode()).hexdigest() if thread_key else ""


def _reply_refusal(*, to: str, thread_key: str) -> str | None:
    """Why :func:`_reply_reserve` would refuse ``to`` an answer about ``thread_key`` now, in
    its words (its checks, in its order); None when one may be left, for the reservation to
    settle. Read only, and a refusal is final: ReplyLog rows are never deleted. The answer
    task asks this before it writes the answer, so that in a burst from one address the
    answers past the day's few are settled without being written: one statement, written
    out (:func:`_refusal_sql`)."""
    cap = replies_per_day()
    if cap <= 0:
        return _NO_ANSWERS_AT_ALL
    db = router.db_for_read(ReplyLog)
    connection = connections[db]
    day = ReplyLog._meta.get_field("day").get_db_prep_value(_reply_day(), connection)
    recipient = _reply_recipient(to)
    with reports.bound_cursor(connection) as cursor:
        cursor.execute(_refusal_sql(db), [recipient, _thread_hash(thread_key), recipient, day])
        answered_before, taken = cursor.fetchone()
    if answered_before:
        return _already_answered(to, thread_key)
    return _day_used_up(to, cap) if taken >= cap else None


@functools.cache
def _refusal_sql(db: str) -> str:
    quote = connections[db].ops.quote_name
    table = quote(ReplyLog._meta.db_table)

    def col(name: str) -> str:
        return str(quote(ReplyLog._meta.get_field(name).column))

    # Whether the address was answered about this Message-ID ("" is none), and how many
    # answers it has had today: each by the unique index that decides it.
    return (
        f"SELECT EXISTS(SELECT 1 FROM {table} WHERE {col('recipient')} = %s"
        f" AND {col('thread_key')} = %s AND {col('thread_key')} <> ''),"
        f" (SELECT COUNT(*) FROM {table} WHERE {col('recipient')} = %s AND {col('day')} = %s)"
    )


def _reply_reserve(*, delivery: Delivery, to: str, thread_key: str) -> str | None:
    """Take one of the answers ``to`` may get today (UTC), and the only one it may get about
    ``thread_key``; None when taken, else why not, in words. The database's unique
    constraints decide between processes asking at once (:class:`~.models.ReplyLog`)."""
    recipient = _reply_recipient(to)
    key = _thread_hash(thread_key)
    day = _reply_day()
    cap = replies_per_day()
    already = _already_answered(to, thread_key)

    def answered_before() -> bool:
        return bool(key) and ReplyLog.objects.filter(recipient=recipient, thread_key=key).exists()

    if cap <= 0:
        return _NO_ANSWERS_AT_ALL
    if answered_before():
        return already
    taken = ReplyLog.objects.filter(recipient=recipient, day=day).count()
    for slot in range(taken + 1, cap + 1):
        try:
            with transaction.atomic():
                ReplyLog.objects.create(
                    recipient=recipient, day=day, slot=slot, thread_key=key, delivery=delivery
                )
            return None
        except IntegrityError:  # another process took this slot, or this message, meanwhile
            if answered_before():
                return already
    return _day_used_up(to, cap)


def delivery_reply_worth_queueing(
    *,
    mail_from: str,
    delivery_id: uuid.UUID | str | None = None,
    analysis_id: uuid.UUID | str | None = None,
) -> bool:
    """Is the answer to a delivery awaiting one worth a task (:func:`delivery_reply`, which
    reads the message and its report)? False when the envelope and the count of today's
    answers rule it out, and the delivery is then settled as not answered, saying why.

    The delivery is ``delivery_id``, whose MAIL FROM ``mail_from`` is; or, with
    ``analysis_id`` instead, the one whose delivered message that analysis is, if its MAIL
    FROM is ``mail_from``: the hook on a finished analysis is told the analysis and its
    MAIL FROM, and settles the delivery without looking it up first. Then False means it
    was settled here, and True only that nothing ruled its answer out: whether a delivery
    awaits one at all is :func:`delivery_awaiting_reply`'s to say.

    It refuses only what :func:`delivery_reply` would refuse too: the null sender or a
    MAIL FROM that is not one plain address (the answer goes to no other), no answers at
    all (``DKIM2WEB_INTAKE_REPLIES_PER_DAY`` 0), and an address that has had the day's
    answers (ReplyLog rows are never deleted, so a full day stays full). It is an economy,
    never the guard: a count below the cap may be stale the moment it is read, so every
    answer is still reserved by the task in :func:`_reply_reserve`, where ReplyLog's unique
    constraints decide between deliveries from one address answered at once. One
    statement in every case (:func:`_settle_unanswered`).
    """
    if (delivery_id is None) == (analysis_id is None):
        raise TypeError("delivery_reply_worth_queueing needs delivery_id or analysis_id")
    try:
        sender = sender_auth.parse_reverse_path(mail_from)
    except sender_auth.AddressError:
        sender = None
    cap = replies_per_day()
    if sender is None:
        # sender_auth.decide refuses these on the MAIL FROM alone, before it reads the
        # message or the report: in the same words as if the task had decided.
        reason = sender_auth.decide(raw=b"", mail_from=mail_from, report=None).reason
        counted = None
    else:
        # The answer could only ever go to the MAIL FROM (sender_auth): its count is the one.
        but = f"an answer could go only to the MAIL FROM {sender.path}, but "
        if cap <= 0:
            reason, counted = but + _NO_ANSWERS_AT_ALL, None
        else:
            # Settled only if the address's answers today, counted as _reply_reserve counts
            # them, are used up.
            reason = but + _day_used_up(sender.path, cap)
            counted = _reply_recipient(sender.path)
    settled = _settle_unanswered(
        delivery_id=delivery_id,
        analysis_id=analysis_id,
        mail_from=mail_from,
        reason=reason,
        counted=counted,
        cap=cap,
    )
    if analysis_id is not None or counted is not None:
        return not settled
    # Ruled out by the envelope alone: no task, whether or not it was still pending.
    return False


def _settle_unanswered(
    *,
    delivery_id: uuid.UUID | str | None,
    analysis_id: uuid.UUID | str | None,
    mail_from: str,
    reason: str,
    counted: str | None,
    cap: int,
) -> bool:
    """Settle the delivery (by its id, or by its delivered message's analysis and its MAIL
    FROM) as not answered, for ``reason``, if its answer is pending and, with ``counted``,
    only if that address has had ``cap`` answers today (UTC). One statement, written out
    (:func:`_settle_sql`): built by the ORM it cost the worker more than the rest of what
    an analysis does after the engine. True if it was settled."""
    db = router.db_for_write(Delivery)
    connection = connections[db]
    state = Delivery._meta.get_field("reply_state")
    params: list[object] = [
        state.get_db_prep_value(Delivery.Reply.SKIPPED, connection),
        reason[:2000],
    ]
    if analysis_id is not None:
        analysis = IntakePart._meta.get_field("analysis")
        params.append(analysis.get_db_prep_value(analysis_id, connection))
    else:
        params.append(Delivery._meta.get_field("id").get_db_prep_value(delivery_id, connection))
    params.append(state.get_db_prep_value(Delivery.Reply.PENDING, connection))
    if analysis_id is not None:
        params.append(mail_from)
    if counted is not None:
        day = ReplyLog._meta.get_field("day")
        params += [counted, day.get_db_prep_value(_reply_day(), connection), cap]
    sql = _settle_sql(db, by_analysis=analysis_id is not None, counted=counted is not None)
    with reports.bound_cursor(connection) as cursor:
        cursor.execute(sql, params)
        return bool(cursor.rowcount)


@functools.cache
def _settle_sql(db: str, *, by_analysis: bool, counted: bool) -> str:
    quote = connections[db].ops.quote_name

    def table(model: type[models.Model]) -> str:
        return str(quote(model._meta.db_table))

    def col(model: type[models.Model], name: str) -> str:
        return str(quote(model._meta.get_field(name).column))

    d = functools.partial(col, Delivery)
    if by_analysis:
        # The delivery whose delivered message (the top part) the analysis is.
        which = (
            f"(SELECT {col(IntakePart, 'delivery')} FROM {table(IntakePart)}"
            f" WHERE {col(IntakePart, 'analysis')} = %s AND {col(IntakePart, 'parent')} IS NULL)"
        )
    else:
        which = "%s"
    sql = (
        f"UPDATE {table(Delivery)} SET {d('reply_state')} = %s, {d('reply_detail')} = %s"
        f" WHERE {d('id')} = {which} AND {d('reply_state')} = %s"
    )
    if by_analysis:
        sql += f" AND {d('mail_from')} = %s"
    if counted:
        sql += (
            f" AND (SELECT COUNT(*) FROM {table(ReplyLog)} WHERE {col(ReplyLog, 'recipient')} = %s"
            f" AND {col(ReplyLog, 'day')} = %s) >= %s"
        )
    return sql


def delivery_reply(*, delivery_id: uuid.UUID | str) -> str | None:
    """Answer the sender of a delivery whose analysis has finished, if the delivery proves
    its address and the address has answers left.

    Returns the new reply state, or None when there is nothing to do yet (the analysis is
    still running) or any more (another process claimed the delivery).
    """
    top = _top_part(delivery_id)
    if top is None or top.delivery.reply_state != Delivery.Reply.PENDING:
        return None
    delivery = top.delivery
    finished = (Analysis.Status.DONE, Analysis.Status.FAILED)
    if top.analysis.status not in finished:
        return None
    claimed_at = timezone.now()
    if not Delivery.objects.filter(pk=delivery.pk, reply_state=Delivery.Reply.PENDING).update(
        reply_state=Delivery.Reply.SENDING, reply_started_at=claimed_at
    ):
        return None  # another poller has it
    # Every write after the claim is conditional on it: a claim settled meanwhile (by the
    # poll, long after) is not overwritten.
    ours = Delivery.objects.filter(
        pk=delivery.pk, reply_state=Delivery.Reply.SENDING, reply_started_at=claimed_at
    )
    message: EmailMessage | None = None
    refused: str | None = None
    try:
        prepared = _reply_prepare(delivery, top)
        if not isinstance(prepared, sender_auth.Decision):
            to, thread_key = prepared.decision.to, prepared.thread_key
            # An answer the day's count already rules out is not written. One that may go is
            # written before it is reserved, so that a failure to write it takes no answer.
            refused = _reply_refusal(to=to, thread_key=thread_key)
            if refused is None:
                message = _reply_message(delivery, top, prepared)
                refused = _reply_reserve(delivery=delivery, to=to, thread_key=thread_key)
    except Exception:
        # Nothing was sent (the database blinked, say): put the claim back, so that the
        # retry or the poll answers, instead of it waiting to be settled as half sent.
        ours.update(reply_state=Delivery.Reply.PENDING, reply_started_at=None)
        raise
    if isinstance(prepared, sender_auth.Decision):
        ours.update(reply_state=Delivery.Reply.SKIPPED, reply_detail=prepared.reason[:2000])
        return str(Delivery.Reply.SKIPPED)
    decision = prepared.decision
    if refused is not None:
        ours.update(
            reply_state=Delivery.Reply.SKIPPED,
            reply_detail=f"{decision.reason}, but {refused}"[:2000],
        )
        return str(Delivery.Reply.SKIPPED)
    assert message is not None  # written before its answer was reserved
    try:
        message.send()
    except Exception as exc:
        logger.exception("intake: the reply for delivery %s could not be sent", delivery.pk)
        ours.update(
            reply_state=Delivery.Reply.FAILED,
            reply_to=decision.to,
            reply_detail=f"sending failed: {type(exc).__name__}: {exc}"[:2000],
        )
        return str(Delivery.Reply.FAILED)
    ours.update(
        reply_state=Delivery.Reply.SENT,
        reply_to=decision.to,
        reply_detail=decision.reason[:2000],
        replied_at=timezone.now(),
    )
    logger.info("intake: answered %s about delivery %s", decision.to, delivery.pk)
    return str(Delivery.Reply.SENT)


def deliveries_reply_pending(*, limit: int = 100, now: datetime | None = None) -> int:
    """The poll: answer what the finished-analysis hook missed, and settle what a dead
    process left half done. Returns how many deliveries were settled.

    * pending, with an analysis that finished over REPLY_POLL_GRACE ago (the hook has
      had its chance: the poll does not race it): answered now;
    * sending for over REPLY_STUCK_AFTER (far past any send's time limit): the process
      sending it died mid-send. Whether the MTA took the answer is unknown, so it is
      marked failed, saying so, rather than sent again: a sender is never answered twice.
    """
    now = now or timezone.now()
    stuck = Delivery.objects.filter(
        Q(reply_started_at__lt=now - REPLY_STUCK_AFTER) | Q(reply_started_at__isnull=True),
        reply_state=Delivery.Reply.SENDING,
    ).update(
        reply_state=Delivery.Reply.FAILED,
        reply_detail=(
            "the process sending the answer stopped before it could record whether it was "
            "sent; it was not sent again, so that the sender is never answered twice"
        ),
    )
    if stuck:
        logger.warning("intake: %d answer(s) left half sent by a dead process: failed", stuck)
    finished = (Analysis.Status.DONE, Analysis.Status.FAILED)
    ids = list(
        Delivery.objects.filter(
            reply_state=Delivery.Reply.PENDING,
            parts__parent__isnull=True,
            parts__analysis__status__in=finished,
            parts__analysis__finished_at__lt=now - REPLY_POLL_GRACE,
        )
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    settled = stuck
    for pk in ids:
        if delivery_reply(delivery_id=pk) is not None:
            settled += 1
    return settled


@dataclass(frozen=True)
class AwaitingReply:
    """A delivery whose sender still awaits an answer, and its MAIL FROM."""

    delivery_id: uuid.UUID
    mail_from: str  # the reverse-path as stored: "<local@domain>", "<>" for the null sender


def delivery_awaiting_reply(*, analysis_id: uuid.UUID | str) -> AwaitingReply | None:
    """The delivery whose message ``analysis_id`` is, if its sender still awaits an answer
    (the hook on a finished analysis asks this of every analysis the intake received, and
    of any whose source it was not told), with its MAIL FROM: all that
    :func:`delivery_reply_worth_queueing` needs, read in the same query (written out: built
    by the ORM it cost five times the statement)."""
    db = router.db_for_read(IntakePart)
    connection = connections[db]
    analysis = IntakePart._meta.get_field("analysis")
    state = Delivery._meta.get_field("reply_state")
    params = [
        analysis.get_db_prep_value(analysis_id, connection),
        state.get_db_prep_value(Delivery.Reply.PENDING, connection),
    ]
    with reports.bound_cursor(connection) as cursor:
        cursor.execute(_awaiting_sql(db), params)
        row = cursor.fetchone()
    if row is None:
        return None
    delivery_id = Delivery._meta.get_field("id").to_python(row[0])
    return AwaitingReply(delivery_id=delivery_id, mail_from=row[1])


@functools.cache
def _awaiting_sql(db: str) -> str:
    quote = connections[db].ops.quote_name
    part, delivery = IntakePart._meta, Delivery._meta

    def col(meta: Any, name: str) -> str:
        return f"{quote(meta.db_table)}.{quote(meta.get_field(name).column)}"

    return (
        f"SELECT {col(part, 'delivery')}, {col(delivery, 'mail_from')}"
        f" FROM {quote(part.db_table)} INNER JOIN {quote(delivery.db_table)}"
        f" ON {col(part, 'delivery')} = {col(delivery, 'id')}"
        f" WHERE {col(part, 'analysis')} = %s AND {col(part, 'parent')} IS NULL"
        f" AND {col(delivery, 'reply_state')} = %s"
    )


def delivery_skip_reply(*, delivery_id: uuid.UUID | str, reason: str) -> bool:
    """Settle a delivery whose answer is still pending as not to be sent, saying why."""
    return bool(
        Delivery.objects.filter(pk=delivery_id, reply_state=Delivery.Reply.PENDING).update(
            reply_state=Delivery.Reply.SKIPPED, reply_detail=reason[:2000]
        )
    )


def delivery_forget_if_empty(*, delivery_id: uuid.UUID | str) -> bool:
    """Delete a delivery none of whose analyses is left (they were deleted or purged)."""
    deleted, _ = Delivery.objects.filter(pk=delivery_id, parts__isnull=True).delete()
    return bool(deleted)
