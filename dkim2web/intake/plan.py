"""What one delivery to the intake becomes: the analyses to make and how they relate.

No Django here. :func:`plan` looks at the message as delivered and returns a tree of
:class:`Item`: the top item is always the delivered message itself (analysed with the SMTP
envelope); its children are the originals found inside it (analysed without one). Kinds:

* ``direct``   -- a message delivered as it is (relayed by the user's own chain, or sent
  straight to the intake address);
* ``wrapper``  -- the user's forward, with one or more attached originals (``attached``);
* ``inline``   -- a forward that copied the original's text: the note says what is lost;
* ``dsn``      -- a bounce, with the verdict on where it went; the message it returned is
  its child (``returned``) when the whole message came back.

An attached original that is itself a bounce gets the bounce verdict too, and its returned
message becomes its child: two levels below the delivery at most.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from typing import Any

from analysis import dsn as dsn_rules
from analysis.dsn import subject_of

from . import inline, mime

DIRECT = "direct"
WRAPPER = "wrapper"
ATTACHED = "attached"
INLINE = "inline"
DSN = "dsn"
RETURNED = "returned"

#: Originals taken out of one forward; more are noted and left alone.
MAX_ORIGINALS = 20


@dataclass
class Item:
    kind: str
    raw: bytes = field(repr=False)
    path: str = ""  # MIME part number inside its parent ("" for the delivered message)
    encoding: str = ""  # transfer encoding undone to get these bytes ("" when none)
    notes: list[dict[str, Any]] = field(default_factory=list)
    dsn: dict[str, Any] | None = None  # {"status": ..., "verdict": ...} for bounces
    children: list[Item] = field(default_factory=list)

    @property
    def subject(self) -> str:
        return message_subject(self.raw)

    def walk(self) -> list[Item]:
        """This item and its descendants, depth first."""
        out = [self]
        for child in self.children:
            out.extend(child.walk())
        return out


#: A header block the email package splits into fields exactly as the eye does: every line
#: printable US-ASCII or tabs ending with CRLF, each a field ("name:", the name printable
#: US-ASCII but the colon) or the continuation of one (it starts with a blank).
_PLAIN_HEAD = re.compile(
    rb"(?:[\x21-\x39\x3b-\x7e]+:[\t\x20-\x7e]*\r\n(?:[\t ][\t\x20-\x7e]*\r\n)*)+"
)
#: The most of a message :func:`subject_of` reads for its header block.
_SUBJECT_HEAD_BYTES = 64 * 1024


def message_subject(raw: bytes) -> str:
    """:func:`subject_of` ``raw`` (the Subject decoded for display, "" when absent or
    unreadable), for the name of the analysis's file. When the header block is plain and
    ends with an empty line within what subject_of reads (nearly all mail), its first
    Subject field is found here instead of by the email package (whose reading of a
    signed chain's header block cost some 40 µs): the same value (compat32's: the first
    line's leading blanks dropped, its continuations kept, the last line end removed),
    decoded the same way. Any other message is read by :func:`subject_of`."""
    # In a plain block no line is empty: the first empty line ends it, as mime.header_block
    # finds it.
    end = raw.find(b"\r\n\r\n", 0, _SUBJECT_HEAD_BYTES)
    if end < 0:
        return subject_of(raw)
    head = raw[: end + 2]
    if _PLAIN_HEAD.fullmatch(head) is None:
        return subject_of(raw)
    names = head.lower()  # ASCII: the field names compared as the email package does
    if names.startswith(b"subject:"):
        start = 0
    else:
        start = names.find(b"\r\nsubject:") + 2  # a field's line (a continuation's is blank)
        if start == 1:
            return ""  # no Subject field
    eol = head.index(b"\r\n", start)
    value = head[start + len(b"subject:") : eol].lstrip(b" \t")
    while head.startswith((b" ", b"\t"), eol + 2):  # its continuation lines, kept whole
        following = head.index(b"\r\n", eol + 2)
        value += head[eol:following]
        eol = following
    try:
        text = str(make_header(decode_header(value.decode("ascii"))))
    except Exception:  # a broken encoded-word: no subject, as subject_of says
        return ""
    return " ".join(text.split())[:200]


def note(
    code: str, title: str, text: str, *, severity: str = "info", **extra: Any
) -> dict[str, Any]:
    return {"code": code, "severity": severity, "title": title, "text": text, **extra}


def _dsn_item(kind: str, raw: bytes, parsed: dsn_rules.Dsn, *, smtp_mail_from: str | None) -> Item:
    verdict = dsn_rules.judge(raw, parsed, smtp_mail_from=smtp_mail_from)
    item = Item(kind, raw, dsn={"status": parsed.status_json(), "verdict": verdict.to_json()})
    returned = parsed.returned
    if returned is not None and returned.kind == "message":
        child = Item(RETURNED, returned.raw, returned.part, returned.encoding)
        if returned.encoding:
            child.notes.append(_decoded_note(returned.encoding))
        item.children.append(child)
    elif returned is not None and returned.kind == "headers":
        item.notes.append(
            note(
                "intake.dsn-headers-only",
                "The bounce returned only the header block",
                "The returned header block was checked against the hashes of its newest "
                "Message-Instance; without a body it is not analysed on its own.",
            )
        )
    return item


def _decoded_note(encoding: str) -> dict[str, Any]:
    return note(
        "intake.decoded",
        f"The attached message was {encoding}-encoded",
        f"Its Content-Transfer-Encoding ({encoding}) was undone to get the message back; the "
        "bytes analysed are the decoded ones. RFC 2046 §5.2.1 allows no such encoding on an "
        "attached message, so a mail client or gateway applied it; if it also changed line "
        "ends or the body, signatures will not verify.",
    )


def _walk_notes(item: Item, walked: mime.Walk) -> None:
    for text in walked.notes:
        item.notes.append(
            note(
                "intake.mime",
                "The MIME structure was only partly examined",
                text,
                severity="warning" if walked.truncated else "info",
            )
        )


def plan(raw: bytes, *, smtp_mail_from: str | None = None) -> Item:
    """The analyses one delivered message becomes. Never raises on hostile input."""
    walked = mime.walk(raw)
    bounce = dsn_rules.read_walked(walked)
    if bounce is not None:
        item = _dsn_item(DSN, raw, bounce, smtp_mail_from=smtp_mail_from)
        _walk_notes(item, walked)
        return item

    messages = walked.messages()
    if messages:
        item = Item(WRAPPER, raw)
        _walk_notes(item, walked)
        for entity in messages[:MAX_ORIGINALS]:
            decoded = mime.decode_body(entity)
            inner = dsn_rules.read(decoded.data)
            if inner is not None:
                child = _dsn_item(ATTACHED, decoded.data, inner, smtp_mail_from=None)
            else:
                child = Item(ATTACHED, decoded.data)
            child.path, child.encoding = entity.path, decoded.encoding
            if decoded.encoding:
                child.notes.append(_decoded_note(decoded.encoding))
            if decoded.problem:
                child.notes.append(
                    note(
                        "intake.decode-problem",
                        "The attachment could not be decoded",
                        decoded.problem,
                        severity="warning",
                    )
                )
            item.children.append(child)
        if len(messages) > MAX_ORIGINALS:
            item.notes.append(
                note(
                    "intake.too-many-originals",
                    "Not every attached message was analysed",
                    f"The forward holds {len(messages)} attached messages; the first "
                    f"{MAX_ORIGINALS} were analysed. Forward the others separately.",
                    severity="warning",
                )
            )
        return item

    found = inline.find(walked)
    if found is not None:
        item = Item(INLINE, raw, notes=[inline.explanation(found)])
        _walk_notes(item, walked)
        return item

    item = Item(DIRECT, raw)
    _walk_notes(item, walked)
    return item


def fallback(raw: bytes, error: BaseException) -> Item:
    """The plan when :func:`plan` failed after all: the delivered message alone."""
    return Item(
        DIRECT,
        raw,
        notes=[
            note(
                "intake.not-taken-apart",
                "The message could not be taken apart",
                f"Looking for attached originals failed ({type(error).__name__}); the "
                "message was analysed as delivered.",
                severity="warning",
            )
        ],
    )
