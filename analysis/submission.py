"""What dkim2web reads of a message when it is submitted, before any analysis runs.

Two questions, both answered from the header block as :func:`analysis.message.parse_message`
reads it (so an mbox ``From `` line and a UTF-8 byte order mark are dropped here exactly as
the analysis drops them), and both bounded: only the first
:data:`limits.SUBMISSION_HEAD_BYTES` octets are read, whatever the message's size.

* :func:`missing_header`: is there a header at all?  An RFC 5322 message starts with a
  header field (RFC 5322 §2.2: ``name ":" value``, the name printable US-ASCII without
  blanks or colons), and every message has a From field (RFC 5322 §3.6).  The rule: the
  input is *not a message* when the first line of its header block is not such a field --
  an empty first line (no header block at all), a line without a well-formed ``name:`` (a
  paragraph of text, an HTML page, base64), or a line that starts with a blank (a
  continuation of nothing) -- *and* no well-formed From field comes before the first empty
  line.  So a message with a damaged first line but its fields below is still analysed
  (the analysis reports the damage: ``message.malformed-header-line``), and so is one whose
  first field is fine whatever follows.
* :func:`summary_fields`: the From and Subject for lists of analyses, RFC 2047 encoded
  words decoded, blanks collapsed, control and bidirectional formatting characters
  dropped, cut to :data:`limits.MAX_SUMMARY_FIELD_CHARS`.
"""

from __future__ import annotations

import contextlib
import email.errors
import email.header
from dataclasses import dataclass

from . import limits
from .message import HeaderField, ParsedMessage, parse_message
from .mime import header_block

__all__ = ["MissingHeader", "SummaryFields", "missing_header", "summary_fields"]

#: Characters of the first line quoted when saying what was found.
_QUOTED_LINE_CHARS = 60
#: Octets read to judge the first line alone (when the whole head is too much to parse).
_FIRST_LINE_BYTES = 4096

#: Where to find a message's source in common mail programs (the advice of every refusal).
SOURCE_ADVICE = (
    "Upload the message's source instead: in Gmail, \"Show original\" in the message's ⋮ "
    'menu, then "Download original"; in Outlook on the web, the … menu, View, "View message '
    'source"; in Thunderbird, File, Save As, File (an .eml file); in Apple Mail, View, '
    'Message, "Raw Source".'
)

#: What the check looks for, in words.
WHAT_WAS_CHECKED = (
    "An e-mail message starts with header fields, one per line, each a name, a colon and a "
    "value (From: …, Subject: …, Received: …), then an empty line, then the body; every "
    "message has a From: field."
)


@dataclass(frozen=True)
class MissingHeader:
    """Why the input is not a message: its header block does not start with a field."""

    kind: str  # "empty-line", "continuation", "html" or "not-a-field"
    first_line: str  # the first line, cut and with unprintable characters replaced

    @property
    def found(self) -> str:
        """What was found, in words."""
        quoted = f'"{self.first_line}"'
        if self.kind == "empty-line":
            return (
                "This input starts with an empty line, so it has no header fields at all (if "
                "the header fields come further down, remove the empty lines above them)."
            )
        if self.kind == "continuation":
            return (
                f"Its first line, {quoted}, starts with a blank: it would continue a header "
                "field, but there is none before it; and no From: field comes before the "
                "first empty line."
            )
        if self.kind == "html":
            return (
                f"Its first line, {quoted}, is not a header field and no From: field comes "
                "before the first empty line: this looks like an HTML page (a web-mail page "
                "saved from the browser, or the HTML part of a message on its own)."
            )
        return (
            f"Its first line, {quoted}, is not a header field, and no From: field comes "
            "before the first empty line."
        )

    @property
    def explanation(self) -> str:
        """What was checked, what was found, what to do."""
        return f"{WHAT_WAS_CHECKED} {self.found} {SOURCE_ADVICE}"


@dataclass(frozen=True)
class SummaryFields:
    """A message's From and Subject for lists: decoded, one line, bounded."""

    from_text: str
    subject: str


def _head(raw: bytes) -> ParsedMessage:
    """The header block as :func:`parse_message` reads ``raw[:SUBMISSION_HEAD_BYTES]``, from
    the block alone (:func:`analysis.mime.header_block`): the body's lines were counted and
    normalised for nothing (issue #13: 39 µs of a 50 KB upload, 16 for its head).
    Normalising line ends changes nothing but line ends, and each the same way whatever
    follows, so the fields (and whether the head is too large) are those of the whole
    prefix; a property test holds the two readings equal."""
    return parse_message(header_block(raw, limit=limits.SUBMISSION_HEAD_BYTES))


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else " " if c == "\t" else "\ufffd" for c in text)


def missing_header(raw: bytes) -> MissingHeader | None:
    """Why ``raw`` is not an e-mail message: no header field starts it and it has no From
    field; None when it may be one.  A head with more lines than the engine parses is
    judged by its first line alone (a log file is refused; a message with too many fields
    is analysed, and the analysis reports the limit)."""
    parsed = _head(raw)
    if parsed.fatal:
        # More header lines than the engine reads (limits.MAX_HEADER_FIELDS), or a block over
        # its size: the analysis reports that, if the input starts like a message at all.
        # Judged by the first line alone (a few KB hold far fewer lines than the limit).
        parsed = parse_message(raw[:_FIRST_LINE_BYTES])
        if parsed.fields and parsed.fields[0].valid:
            return None
    elif parsed.fields and any(f.valid and f.lname == "from" for f in parsed.fields):
        return None
    if not parsed.fields:
        # parse_message found an empty line first: anything after it is the body.
        return MissingHeader("empty-line", "")
    first = parsed.fields[0]
    if first.valid:
        return None
    line = first.raw.split(b"\r\n", 1)[0]
    shown = _printable(line[: _QUOTED_LINE_CHARS * 4].decode("utf-8", "replace"))
    if len(shown) > _QUOTED_LINE_CHARS:
        shown = shown[:_QUOTED_LINE_CHARS] + "…"
    if line[:1] in (b" ", b"\t"):
        return MissingHeader("continuation", shown)
    start = line.lstrip().lower()
    if start.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return MissingHeader("html", shown)
    return MissingHeader("not-a-field", shown)


def _decoded(f: HeaderField) -> str:
    value = f.value[: limits.MAX_SUMMARY_FIELD_SOURCE_CHARS * 4]
    text = value.replace(b"\r\n", b"").decode("utf-8", "replace")
    text = text[: limits.MAX_SUMMARY_FIELD_SOURCE_CHARS]
    if "=?" in text and text.isascii():
        # RFC 2047 §6: encoded words are decoded for display; a broken one (an unknown
        # charset, bytes its charset cannot decode) leaves the text as written, and so does
        # a field already in UTF-8 (RFC 6532), which needs no decoding.
        with contextlib.suppress(
            email.errors.HeaderParseError, LookupError, UnicodeError, ValueError
        ):
            text = str(email.header.make_header(email.header.decode_header(text)))
    # Control characters and Unicode format characters (bidirectional overrides among them:
    # in a list row they would reorder the text around them) are dropped; every kind of
    # blank becomes a space.
    kept = "".join(c if c.isprintable() else " " if c.isspace() else "" for c in text)
    one_line = " ".join(kept.split())
    limit = limits.MAX_SUMMARY_FIELD_CHARS
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


def summary_fields(raw: bytes) -> SummaryFields:
    """The first From and Subject of ``raw`` for lists ("" for one that is absent)."""
    parsed = _head(raw)
    values = {}
    for name in ("from", "subject"):
        found = next((f for f in parsed.fields if f.lname == name and f.valid), None)
        values[name] = _decoded(found) if found is not None else ""
    return SummaryFields(from_text=values["from"], subject=values["subject"])
