"""Bounces (delivery status notifications): read one, put it in words, judge it by DKIM2.

A bounce is a ``multipart/report; report-type=delivery-status`` (RFC 6522, RFC 3464), or its
internationalised form with a ``message/global-delivery-status`` part (RFC 6533): a
human-readable part, the machine-readable delivery-status part, and optionally the message
that bounced (``message/rfc822``, ``message/global``) or just its header block
(``text/rfc822-headers``, ``message/global-headers``).  Uploads, the API and the mailbox all
read one here: :func:`read` for what it says, :func:`returned_messages` for the originals
to analyse on their own, :func:`judge` for the DKIM2 verdict on where it went.

Theory of operation (reading)
-----------------------------
* The MIME structure comes from :mod:`analysis.mime` (bounded: depth, parts, header size),
  which slices the returned message out byte for byte: its hashes must be recomputed over
  exactly the octets that came back, so the email package (which re-serialises) never
  produces it.  The email package reads only header-like text: each entity's header block,
  and each field block of the delivery-status part.
* A DSN is a ``multipart/report`` whose ``report-type`` is ``delivery-status`` (or
  ``global-delivery-status``); one without ``report-type`` counts when a child is a
  delivery-status part (some gateways drop the parameter).  Any other report type (a read
  receipt, an abuse report, a TLS report) is not a bounce.
* The delivery-status part (RFC 3464 §2.1) is blocks of fields separated by blank lines: the
  first is about the message (Reporting-MTA, Arrival-Date ...), each other one about one
  recipient (Final-Recipient, Action, Status, Remote-MTA, Diagnostic-Code,
  Last-Attempt-Date ...).  At most ``MAX_DSN_STATUS_BYTES`` of it are read, the first
  ``MAX_DSN_RECIPIENTS`` recipients are parsed and the others counted, every value is
  unfolded and cut at ``MAX_DSN_FIELD_CHARS``, and fields past ``MAX_DSN_FIELDS_PER_BLOCK`` in
  a block are counted.  The part is read as UTF-8 (RFC 6533 allows it in the global form;
  anything else is replaced, never refused).
* Typed fields ("dns; mx.example", "rfc822; bob@example", "smtp; 550 ...") are split at
  their first semicolon into a type and a value.  Status is explained by
  :mod:`analysis.status_codes`; an enhanced code inside the Diagnostic-Code that differs
  from Status is explained too (a relay often reports 5.0.0 while the remote reply said
  5.7.26).
* Missing or malformed parts are notes, never exceptions: a bounce without Status, with a
  status that is no code, with no delivery-status part or no returned message is read as
  far as it goes and says what is missing.
* The returned message is not read here: it is analysed on its own.  When it is itself a
  bounce, :func:`returned_messages` follows the chain at most ``MAX_DSN_NESTING`` levels.

DKIM2's bounce rules (SPEC-NOTES §6.6, §8.1; S06 §12, §12.1.2; §11 A33)
-----------------------------------------------------------------------
A DKIM2 system may bounce a message only to the decoded ``mf=`` of the message's newest
DKIM2-Signature, never when that ``mf=`` is ``<>``; the bounce is sent with MAIL FROM
``<>`` and is itself DKIM2-signed (its ``mf=`` is ``<>``, its ``rt=`` the address it is
sent to); and whoever receives it checks that (1) the bounce's signing domain is aligned
with a recipient in the ``rt=`` of the returned message's newest signature, (2) that
newest signature was the receiver's own (its ``mf=`` is where the bounce went), and
(3) the returned header block (and body, when the whole message came back) matches the
hashes of the newest Message-Instance. A bounce that fails any of these went somewhere
DKIM2 does not allow: backscatter.

Interpretations, each named in the checks' text:
* "The bounce's signature" is its ``i=1`` DKIM2-Signature: the bouncing system signs the
  new message as its originator; later signatures are hops that relayed the bounce on
  (the user's own forwarding, for instance).
* Alignment (A33) is S06 §9.4's relaxed match: the bounce's ``d=`` equals an ``rt=`` domain
  of the returned message's newest signature or is below it.
* When the returned message carries no DKIM2-Signature, DKIM2's rules say nothing about
  where its bounce may go: the verdict is "undetermined", never "allowed".
* Whether the bounce's own signature verifies is the chain walk's job (the DSN is analysed
  like any message); :func:`judge` judges where it went and what it returned.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.parser import HeaderParser
from email.policy import compat32
from typing import Any

from . import limits, mime
from .dkim2.canonical import header_hash_input
from .dkim2.fields import (
    MI_NAME,
    SIG_NAME,
    Dkim2Signature,
    MessageInstance,
    parse_message_instance,
    parse_signature,
)
from .dkim2.grammar import GrammarError, normalise_envelope_address, relaxed_domain_match
from .message import ParsedMessage, parse_message
from .status_codes import StatusExplanation, explain, find_codes

__all__ = [
    "ALLOWED",
    "BACKSCATTER",
    "UNDETERMINED",
    "Check",
    "Dsn",
    "RecipientStatus",
    "Returned",
    "Verdict",
    "is_report",
    "judge",
    "read",
    "read_if_report",
    "read_walked",
    "returned_messages",
    "subject_of",
]

#: The delivery-status parts (RFC 3464 §2, RFC 6533 §6.1).
STATUS_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
#: The report-type parameter values of a bounce (RFC 6522 §3, RFC 6533).
REPORT_TYPES = frozenset({"delivery-status", "global-delivery-status"})
RETURNED_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"})
RETURNED_HEADER_TYPES = frozenset({"text/rfc822-headers", "message/global-headers"})

SPEC = "RFC 3464; RFC 3463; RFC 6522; RFC 6533"

#: Action values (RFC 3464 §2.3.3) in words.
ACTIONS = {
    "failed": "Not delivered: the reporting server gave up on this recipient",
    "delayed": "Not delivered yet: the reporting server is still trying (a warning, not a bounce)",
    "delivered": "Delivered",
    "relayed": "Passed on to a system that sends no delivery reports: whether it arrived is "
    "unknown",
    "expanded": "Delivered, and passed on to the members of a list or alias",
}

ALLOWED = "allowed"
BACKSCATTER = "backscatter"
UNDETERMINED = "undetermined"


# -- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Note:
    code: str
    text: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "text": self.text}


@dataclass
class RecipientStatus:
    """One per-recipient block of the delivery-status part (RFC 3464 §2.3)."""

    fields: dict[str, str]  # every field kept, names lower-cased, first occurrence
    problems: list[str] = field(default_factory=list)

    def get(self, name: str) -> str:
        return self.fields.get(name, "")

    @property
    def final_recipient(self) -> str:
        return self.get("final-recipient")

    @property
    def address(self) -> str:
        """The recipient address, without its type ("rfc822; a@b" -> "a@b")."""
        return _typed(self.final_recipient or self.get("original-recipient"))[1]

    @property
    def action(self) -> str:
        return self.get("action").lower()

    @property
    def status(self) -> StatusExplanation | None:
        raw = self.get("status")
        if not raw:
            return None
        # A comment after the code ("5.1.1 (no such user)") is not part of it.
        return explain(raw.split("(", 1)[0].strip() or raw)

    @property
    def diagnostic(self) -> tuple[str, str]:
        return _typed(self.get("diagnostic-code"))

    @property
    def diagnostic_status(self) -> StatusExplanation | None:
        """The enhanced code in the server's reply, when it is not the Status."""
        status = self.status
        for code in find_codes(self.diagnostic[1]):
            if status is None or code != status.code:
                return explain(code)
        return None

    @property
    def who(self) -> str:
        """Who can act, from the most specific code: the Status, or the server's reply when
        the Status is generic (a relay's 5.0.0 over the remote server's 5.7.26)."""
        codes = [c for c in (self.status, self.diagnostic_status) if c is not None and c.valid]
        specific = [c for c in codes if c.registered and not c.code.endswith(".0")]
        chosen = specific or codes
        return chosen[0].who if chosen else ""

    def to_json(self) -> dict[str, Any]:
        status = self.status
        extra = {k: v for k, v in self.fields.items() if k not in _RECIPIENT_FIELDS}
        diag_type, diag_text = self.diagnostic
        diag_status = self.diagnostic_status
        return {
            "final_recipient": self.final_recipient,
            "address": self.address,
            "original_recipient": _typed(self.get("original-recipient"))[1],
            "action": self.action,
            "action_text": ACTIONS.get(self.action, ""),
            "status_field": self.get("status"),
            "status": status.to_json() if status is not None else None,
            "remote_mta": _typed(self.get("remote-mta"))[1],
            "diagnostic_type": diag_type,
            "diagnostic_code": diag_text,
            "diagnostic_status": diag_status.to_json() if diag_status is not None else None,
            "who": self.who,
            "last_attempt_date": self.get("last-attempt-date"),
            "will_retry_until": self.get("will-retry-until"),
            "final_log_id": self.get("final-log-id"),
            "extra": extra,
            "problems": list(self.problems),
        }


_RECIPIENT_FIELDS = frozenset(
    {
        "original-recipient",
        "final-recipient",
        "action",
        "status",
        "remote-mta",
        "diagnostic-code",
        "last-attempt-date",
        "final-log-id",
        "will-retry-until",
    }
)


@dataclass(frozen=True)
class Returned:
    """What the bounce returned: the whole message, or its header block."""

    kind: str  # "message" or "headers"
    raw: bytes = field(repr=False)
    part: str  # MIME part number in the bounce
    content_type: str
    encoding: str  # a transfer encoding undone on it, "" when none
    problem: str = ""  # the encoding could not be undone cleanly

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()

    @property
    def subject(self) -> str:
        return subject_of(self.raw)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "part": self.part,
            "content_type": self.content_type,
            "encoding": self.encoding,
            "size": len(self.raw),
            "sha256": self.sha256,
            "subject": self.subject,
            "is_bounce": self.kind == "message" and read(self.raw) is not None,
        }


@dataclass
class Dsn:
    """A bounce, taken apart (see the module docs)."""

    report_type: str
    per_message: dict[str, str]  # names lower-cased
    recipients: list[RecipientStatus]
    recipients_total: int  # listed and not
    human: str  # the human-readable part, cut
    returned: Returned | None
    notes: list[Note] = field(default_factory=list)

    @property
    def reporting_mta(self) -> str:
        return _typed(self.per_message.get("reporting-mta", ""))[1]

    @property
    def summary(self) -> str:
        """What happened, in one sentence."""
        return summarise(self.recipients, self.recipients_total)

    def status_json(self) -> dict[str, Any]:
        """The mailbox's stored form (IntakePart.dsn["status"]): raw field blocks."""
        notes = [n.text for n in self.notes if n.code in _MAILBOX_NOTES]
        return {
            "per_message": dict(self.per_message),
            "recipients": [dict(r.fields) for r in self.recipients],
            "returned_kind": self.returned.kind if self.returned else "",
            "returned_part": self.returned.part if self.returned else "",
            "returned_encoding": self.returned.encoding if self.returned else "",
            "human": self.human,
            "notes": notes,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "report_type": self.report_type,
            "summary": self.summary,
            "reporting_mta": self.reporting_mta,
            "per_message": dict(self.per_message),
            "recipients": [r.to_json() for r in self.recipients],
            "recipients_listed": len(self.recipients),
            "recipients_total": self.recipients_total,
            "human": self.human,
            "returned": self.returned.to_json() if self.returned is not None else None,
            "notes": [n.to_json() for n in self.notes],
            "spec": SPEC,
        }


_MAILBOX_NOTES = frozenset({"dsn.no-status-part", "dsn.nothing-returned", "dsn.decode"})

_PHRASES = {
    "failed": "not delivered to",
    "delayed": "delayed for",
    "delivered": "delivered to",
    "relayed": "relayed without further reports for",
    "expanded": "delivered to the list or alias",
}


def summarise(recipients: list[RecipientStatus], total: int) -> str:
    """What a bounce says happened, in one sentence (the page's first line)."""
    if not recipients:
        return "A bounce that names no recipient: what happened cannot be told from it."
    if len(recipients) == 1 and total == 1:
        r = recipients[0]
        phrase = _PHRASES.get(r.action, "a report without a known Action for")
        words = f"{phrase[:1].upper()}{phrase[1:]} {r.address or 'an unnamed recipient'}"
        status = r.status
        if status is not None and status.valid:
            what = status.detail_text or f"a problem with {status.subject_text}"
            label = f"{status.code} {status.detail_title}".strip()
            return f"{words}: {what} — {label}."
        return f"{words}."
    counts: dict[str, int] = {}
    for r in recipients:
        counts[r.action if r.action in _PHRASES else "?"] = (
            counts.get(r.action if r.action in _PHRASES else "?", 0) + 1
        )
    parts = []
    for action, phrase in _PHRASES.items():
        if action in counts:
            n = counts[action]
            parts.append(f"{phrase} {n} recipient{'s' if n != 1 else ''}")
    if "?" in counts:
        n = counts["?"]
        parts.append(f"{n} recipient{'s' if n != 1 else ''} without a known Action")
    text = ", ".join(parts)
    more = total - len(recipients)
    tail = f" ({more} more recipient{'s' if more != 1 else ''} not listed)" if more > 0 else ""
    return f"{text[:1].upper()}{text[1:]}{tail}."


def is_report(entity: mime.Entity) -> bool:
    """Is ``entity`` a multipart/report that may be a bounce (its report-type one, or none)?"""
    if entity.content_type != "multipart/report":
        return False
    report_type = entity.params.get("report-type", "").strip().lower()
    return report_type in REPORT_TYPES or not report_type


def _children(walked: mime.Walk, report: mime.Entity) -> list[mime.Entity]:
    prefix = f"{report.path}." if report.path else ""
    return [
        e
        for e in walked.entities
        if e.path.startswith(prefix) and e.path and "." not in e.path[len(prefix) :]
    ]


def read(raw: bytes) -> Dsn | None:
    """The bounce ``raw`` is, or None when it is not one. Bounded; never raises."""
    head = mime.read_entity(raw, 0, len(raw), path="", depth=0, default_type="text/plain")
    if not is_report(head):
        return None
    return read_walked(mime.walk(raw, top=head))


def read_if_report(raw: bytes, content_type: str) -> Dsn | None:
    """:func:`read`, when the message's Content-Type value names a multipart/report: the
    engine reads every message's fields anyway, so a message that is not a report costs
    nothing here."""
    if "multipart/report" not in content_type.lower():
        return None
    return read(raw)


def read_walked(walked: mime.Walk) -> Dsn | None:
    """The bounce whose MIME walk is ``walked`` (its top entity the report), or None."""
    report = walked.entities[0]
    if not is_report(report):
        return None
    children = _children(walked, report)
    report_type = report.params.get("report-type", "").strip().lower()
    if not report_type:
        if not any(c.content_type in STATUS_TYPES for c in children):
            return None
        report_type = "delivery-status"
    return _parse(walked, children, report_type)


def _parse(walked: mime.Walk, children: list[mime.Entity], report_type: str) -> Dsn:
    human = ""
    per_message: dict[str, str] = {}
    recipients: list[RecipientStatus] = []
    total = 0
    returned: Returned | None = None
    notes: list[Note] = []
    status_seen = False
    for child in children:
        if child.content_type in STATUS_TYPES and not status_seen:
            status_seen = True
            decoded = mime.decode_body(child)
            per_message, recipients, total = _status_blocks(decoded.data, notes)
        elif child.content_type in RETURNED_MESSAGE_TYPES | RETURNED_HEADER_TYPES:
            if returned is not None:
                continue
            decoded = mime.decode_body(child)
            kind = "message" if child.content_type in RETURNED_MESSAGE_TYPES else "headers"
            returned = Returned(
                kind,
                decoded.data,
                child.path,
                child.content_type,
                decoded.encoding,
                decoded.problem,
            )
            if decoded.problem:
                notes.append(Note("dsn.decode", decoded.problem))
        elif child.maintype in ("text", "multipart") and not human and not status_seen:
            human = _human(walked, child)
    if not status_seen:
        notes.append(
            Note(
                "dsn.no-status-part",
                "no message/delivery-status part was found (RFC 3464 §2 requires one)",
            )
        )
    elif not per_message.get("reporting-mta"):
        notes.append(
            Note(
                "dsn.no-reporting-mta",
                "the delivery-status part names no Reporting-MTA (RFC 3464 §2.2.2 requires it)",
            )
        )
    if status_seen and total == 0:
        notes.append(
            Note(
                "dsn.no-recipients",
                "the delivery-status part has no per-recipient block (RFC 3464 §2.1 requires "
                "at least one)",
            )
        )
    if total > len(recipients):
        notes.append(
            Note(
                "dsn.recipients-cut",
                f"the bounce names {total:,} recipients; the first {len(recipients)} are "
                f"listed (a report lists at most {limits.MAX_DSN_RECIPIENTS})",
            )
        )
    if returned is None:
        notes.append(
            Note(
                "dsn.nothing-returned",
                "the bounce returned neither the message nor its header block",
            )
        )
    for text in walked.notes:
        notes.append(Note("dsn.mime", text))
    return Dsn(report_type, per_message, recipients, total, human, returned, notes)


def _human(walked: mime.Walk, entity: mime.Entity) -> str:
    """The human-readable part's text (in a multipart/alternative, its text/plain)."""
    if entity.maintype == "multipart":
        inside = [
            e
            for e in walked.entities
            if e.path.startswith(f"{entity.path}.") and e.content_type == "text/plain"
        ]
        if not inside:
            return ""
        entity = inside[0]
    data = mime.decode_body(entity).data[: limits.MAX_DSN_HUMAN_CHARS * 4]
    charset = entity.params.get("charset", "utf-8") or "utf-8"
    try:
        text = data.decode(charset, "replace")
    except LookupError:
        text = data.decode("utf-8", "replace")
    return text.strip()[: limits.MAX_DSN_HUMAN_CHARS]


def _blocks(data: bytes) -> list[bytes]:
    """RFC 3464 §2.1: the field blocks, split at empty (or blank) lines."""
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    blocks: list[bytes] = []
    current: list[bytes] = []
    for line in lines:
        if line.strip():
            current.append(line)
        elif current:
            blocks.append(b"\n".join(current))
            current = []
    if current:
        blocks.append(b"\n".join(current))
    return blocks


def _status_blocks(
    data: bytes, notes: list[Note]
) -> tuple[dict[str, str], list[RecipientStatus], int]:
    """(per-message fields, the recipients listed, how many recipients in all)."""
    if len(data) > limits.MAX_DSN_STATUS_BYTES:
        notes.append(
            Note(
                "dsn.status-cut",
                f"the delivery-status part is {len(data):,} octets; the first "
                f"{limits.MAX_DSN_STATUS_BYTES:,} were read",
            )
        )
        data = data[: limits.MAX_DSN_STATUS_BYTES]
    blocks = _blocks(data)
    if not blocks:
        return {}, [], 0
    per_message = _fields(blocks[0], notes, "the per-message block")
    recipients: list[RecipientStatus] = []
    for n, block in enumerate(blocks[1 : 1 + limits.MAX_DSN_RECIPIENTS], start=1):
        recipient = RecipientStatus(_fields(block, notes, f"recipient block {n}"))
        _check_recipient(recipient)
        recipients.append(recipient)
    return per_message, recipients, len(blocks) - 1


def _fields(block: bytes, notes: list[Note], where: str) -> dict[str, str]:
    """The fields of one block: names lower-cased, values unfolded and cut."""
    text = block.decode("utf-8", "replace") + "\n\n"
    message = HeaderParser(policy=compat32).parsestr(text)
    fields: dict[str, str] = {}
    dropped = 0
    for name, value in message.items():
        key = str(name).strip().lower()
        if key in fields:
            continue
        if len(fields) >= limits.MAX_DSN_FIELDS_PER_BLOCK:
            dropped += 1
            continue
        unfolded = " ".join(str(value).split())
        if len(unfolded) > limits.MAX_DSN_FIELD_CHARS:
            unfolded = (
                unfolded[: limits.MAX_DSN_FIELD_CHARS]
                + f"… ({len(unfolded) - limits.MAX_DSN_FIELD_CHARS:,} characters cut)"
            )
        fields[key] = unfolded
    if dropped:
        notes.append(
            Note(
                "dsn.fields-cut",
                f"{where} has {dropped} more fields than the {limits.MAX_DSN_FIELDS_PER_BLOCK} "
                "kept",
            )
        )
    return fields


def _check_recipient(recipient: RecipientStatus) -> None:
    """What RFC 3464 §2.3 requires of a recipient block and this one lacks."""
    problems = recipient.problems
    if not recipient.final_recipient:
        problems.append("no Final-Recipient field (RFC 3464 §2.3.2 requires it)")
    action = recipient.action
    if not action:
        problems.append("no Action field (RFC 3464 §2.3.3 requires it)")
    elif action not in ACTIONS:
        problems.append(
            f"Action {action[:40]!r} is not one of failed, delayed, delivered, relayed, "
            "expanded (RFC 3464 §2.3.3)"
        )
    status = recipient.status
    if status is None:
        problems.append("no Status field (RFC 3464 §2.3.4 requires it)")
    elif not status.valid:
        problems.append(status.problem)
    elif status.problem:
        problems.append(f"Status {recipient.get('status')[:40]!r} is {status.problem}")
    elif action == "failed" and status.code.startswith("2."):
        problems.append(f"Action failed with the success Status {status.code}")


def _typed(value: str) -> tuple[str, str]:
    """("dns", "mx.example") from "dns; mx.example"; ("", value) without a type."""
    kind, sep, rest = value.partition(";")
    if sep and kind.strip() and " " not in kind.strip() and len(kind) <= 40:
        return kind.strip().lower(), rest.strip()
    return "", value.strip()


def subject_of(raw: bytes) -> str:
    """The Subject of ``raw``, decoded for display ("" when absent or unreadable)."""
    head = mime.header_block(raw, limit=64 * 1024)
    try:
        value = (
            HeaderParser(policy=compat32).parsestr(head.decode("utf-8", "replace")).get("subject")
        )
        if value is None:
            return ""
        text = str(make_header(decode_header(str(value))))
    except Exception:  # a broken encoded-word: no subject rather than no analysis
        return ""
    return " ".join(text.split())[:200]


def returned_messages(raw: bytes, *, max_nesting: int = limits.MAX_DSN_NESTING) -> list[Returned]:
    """The whole message ``raw`` (a bounce) returned; when that is a bounce too, the one it
    returned, and so on, at most ``max_nesting`` (the first is the outermost's)."""
    found: list[Returned] = []
    current = raw
    for _ in range(max(0, max_nesting)):
        dsn = read(current)
        returned = dsn.returned if dsn is not None else None
        if returned is None or returned.kind != "message" or not returned.raw.strip():
            break  # nothing, a header block, or an empty part: no message to analyse
        found.append(returned)
        current = returned.raw
    return found


# -- DKIM2's rules on bounces (S06 §12) ---------------------------------------------------------


@dataclass(frozen=True)
class Check:
    code: str
    ok: bool | None  # None: could not be decided
    title: str
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "ok": self.ok, "title": self.title, "detail": self.detail}


@dataclass
class Verdict:
    verdict: str  # ALLOWED, BACKSCATTER or UNDETERMINED
    summary: str
    checks: list[Check]

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "summary": self.summary,
            "checks": [c.to_json() for c in self.checks],
            "spec": "S06 §12, §12.1.2; SPEC-NOTES §6.6, §8.1, §11 A33",
        }


@dataclass
class _Chain:
    parsed: ParsedMessage
    signatures: dict[int, Dkim2Signature]
    instances: dict[int, MessageInstance]

    @property
    def newest(self) -> Dkim2Signature | None:
        return self.signatures[max(self.signatures)] if self.signatures else None

    @property
    def first(self) -> Dkim2Signature | None:
        return self.signatures[min(self.signatures)] if self.signatures else None

    @property
    def newest_instance(self) -> MessageInstance | None:
        return self.instances[max(self.instances)] if self.instances else None


def _chain(raw: bytes) -> _Chain:
    parsed = parse_message(raw)
    sigs: dict[int, Dkim2Signature] = {}
    mis: dict[int, MessageInstance] = {}
    for f in parsed.fields:
        if f.lname == SIG_NAME and len(sigs) < limits.MAX_SIGNATURES:
            sig, _ = parse_signature(f)
            if sig is not None and sig.hop not in sigs:
                sigs[sig.hop] = sig
        elif f.lname == MI_NAME and len(mis) < limits.MAX_INSTANCES:
            mi, _ = parse_message_instance(f)
            if mi is not None and mi.instance not in mis:
                mis[mi.instance] = mi
    return _Chain(parsed, sigs, mis)


def _norm(address: str) -> str:
    try:
        return normalise_envelope_address(address or "<>", allow_null=True).normalised()
    except GrammarError:
        return address.strip()


def judge(dsn_raw: bytes, dsn: Dsn, *, smtp_mail_from: str | None = None) -> Verdict:
    """The verdict on the bounce ``dsn_raw`` (read as ``dsn``) by DKIM2's rules.

    ``smtp_mail_from`` is the MAIL FROM the bounce arrived with when it reached the reader
    straight from the bouncing system (one DKIM2 signature, direct delivery); None when
    it came some other way (forwarded, attached, uploaded).
    """
    checks: list[Check] = []
    if dsn.returned is None:
        return Verdict(
            UNDETERMINED,
            "The bounce returned neither the message nor its header block, so nothing can "
            "be checked against the DKIM2 rules.",
            [],
        )
    returned = _chain(dsn.returned.raw)
    bounce = _chain(dsn_raw)
    target = returned.newest
    if target is None:
        return Verdict(
            UNDETERMINED,
            "The returned message carries no DKIM2-Signature, so DKIM2's rules say nothing "
            "about where its bounce could go. (Without DKIM2, a bounce goes to the MAIL FROM "
            "of the message, which anyone can forge: that is how backscatter happens.)",
            [
                Check(
                    "dsn.returned-unsigned",
                    None,
                    "The returned message is DKIM2-signed",
                    "no readable DKIM2-Signature in the returned "
                    + ("message" if dsn.returned.kind == "message" else "header block"),
                )
            ],
        )

    # (a) The bounced message may be bounced at all, and only to its newest mf=.
    if target.mail_from is None:
        checks.append(
            Check(
                "dsn.returned-no-mf",
                False,
                "The returned message's newest signature names a bounce address",
                f"its newest signature (i={target.hop}, d={target.domain}) carries "
                f"nd={target.next_domain} and no mf=, so there is no address a bounce may go to",
            )
        )
        bounce_to = None
    elif target.mail_from.is_null:
        checks.append(
            Check(
                "dsn.returned-null-mf",
                False,
                "The returned message may be bounced",
                f"its newest signature (i={target.hop}, d={target.domain}) has mf=<>: a "
                "bounce MUST NOT be sent for it (S06 §12)",
            )
        )
        bounce_to = None
    else:
        bounce_to = target.mail_from.normalised()
        checks.append(
            Check(
                "dsn.returned-mf",
                True,
                "The returned message may be bounced",
                f"its newest signature (i={target.hop}, d={target.domain}) names "
                f"mf={bounce_to}: a bounce may go there and only there",
            )
        )

    own = bounce.first
    # (b) The bounce is sent with MAIL FROM <> and signed so (mf=<>).
    if own is None:
        checks.append(
            Check(
                "dsn.unsigned",
                False,
                "The bounce is DKIM2-signed",
                "the bounce carries no readable DKIM2-Signature; S06 §12.1 requires a "
                "bounce to be DKIM2-signed, and without a signature its origin and "
                "destination cannot be checked",
            )
        )
    else:
        null_sender = own.mail_from is not None and own.mail_from.is_null
        checks.append(
            Check(
                "dsn.null-sender",
                null_sender,
                "The bounce was sent with MAIL FROM <>",
                f"the bounce's own signature (i={own.hop}, d={own.domain}) has "
                + (
                    "mf=<>"
                    if null_sender
                    else f"mf={own.mail_from.text if own.mail_from else '(none)'}, "
                    "not <> (S06 §12.1)"
                ),
            )
        )
        if smtp_mail_from is not None and len(bounce.signatures) == 1:
            env = _norm(smtp_mail_from)
            checks.append(
                Check(
                    "dsn.smtp-null-sender",
                    env == "<>",
                    "The bounce arrived with MAIL FROM <>",
                    f"the SMTP MAIL FROM of its delivery here was {env}",
                )
            )
        # (c) Addressed to the returned message's newest mf=.
        sent_to = [a.normalised() for a in own.rcpt_to or []]
        if bounce_to is not None:
            if not sent_to:
                checks.append(
                    Check(
                        "dsn.addressed",
                        False,
                        "The bounce went to the returned message's newest mf=",
                        f"the bounce's signature has no rt= (nd={own.next_domain}), so it does "
                        f"not say it went to {bounce_to}",
                    )
                )
            else:
                checks.append(
                    Check(
                        "dsn.addressed",
                        bounce_to in sent_to,
                        "The bounce went to the returned message's newest mf=",
                        f"the bounce was sent to rt={', '.join(sent_to)}; the returned "
                        f"message's newest signature allows only {bounce_to}",
                    )
                )
        # (d) The bouncer is aligned with a recipient the returned message was sent to.
        rt_domains = sorted({a.domain for a in target.rcpt_to or [] if a.domain})
        if target.next_domain:
            rt_domains.append(target.next_domain)
        aligned = any(relaxed_domain_match(own.domain, d) for d in rt_domains)
        checks.append(
            Check(
                "dsn.aligned",
                aligned,
                "The bounce was signed by a domain the message was sent to",
                f"the bounce is signed by d={own.domain}; the returned message's newest "
                f"signature sent it to {', '.join(rt_domains) or '(no domain)'} "
                "(relaxed match, SPEC-NOTES §11 A33)",
            )
        )

    # (e) The returned bytes are what the newest Message-Instance describes.
    checks.append(_hash_check(returned, target, dsn.returned.kind))

    failed = [c for c in checks if c.ok is False]
    unknown = [c for c in checks if c.ok is None]
    if failed:
        verdict = BACKSCATTER
        summary = "Backscatter: this bounce went where DKIM2 does not allow. " + " ".join(
            f"{c.detail[:1].upper()}{c.detail[1:]}." for c in failed
        )
    elif unknown:
        verdict = UNDETERMINED
        summary = "Some of the DKIM2 bounce rules could not be checked: " + " ".join(
            f"{c.title}: {c.detail}." for c in unknown
        )
    else:
        verdict = ALLOWED
        summary = (
            f"This bounce went where DKIM2 allows: to {bounce_to}, the newest mf= of the "
            f"returned message, from d={own.domain if own else '?'}, a domain that message "
            "was sent to, with MAIL FROM <>, and the returned message is the one that was "
            "signed."
        )
    return Verdict(verdict, summary, checks)


def _hash_check(returned: _Chain, target: Dkim2Signature, kind: str) -> Check:
    title = "The returned message is the one its newest Message-Instance describes"
    # The instance the newest signature vouches for (its m=), which is the newest one.
    mi = returned.instances.get(target.instance) or returned.newest_instance
    if mi is None:
        return Check(
            "dsn.returned-hash", False, title, "the returned message has no Message-Instance"
        )
    known = [h for h in mi.hashes if h.algorithm in ("sha256", "sha512")]
    if not known:
        return Check(
            "dsn.returned-hash",
            None,
            title,
            f"Message-Instance m={mi.instance} uses no hash algorithm this tool knows",
        )
    hinput = header_hash_input(returned.parsed.fields)
    problems = []
    for h in known:
        if hashlib.new(h.algorithm, hinput).digest() != h.header_hash:
            problems.append(f"header hash ({h.algorithm}) does not match")
        if kind == "message" and returned.parsed.body.hash(h.algorithm) != h.body_hash:
            problems.append(f"body hash ({h.algorithm}) does not match")
    if problems:
        return Check(
            "dsn.returned-hash",
            False,
            title,
            f"Message-Instance m={mi.instance}: "
            + "; ".join(problems)
            + " — the returned message is not the one that was signed",
        )
    what = "header block and body" if kind == "message" else "header block"
    return Check(
        "dsn.returned-hash",
        True,
        title,
        f"the returned {what} match the hashes of Message-Instance m={mi.instance}",
    )
