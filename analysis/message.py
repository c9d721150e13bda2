"""Split a raw message into header fields (keeping their exact bytes) and a body.

Python's ``email`` header parser is not used: it is quadratic on hostile
headers and re-serialises what it reads.  Here every :class:`HeaderField`
keeps the octets it had in the message (name, colon, value, folds, final
CRLF), so the UI shows exactly what was signed and the hashes are computed
from the same bytes.

Theory of operation
-------------------
* Line ends: DKIM2 hashes the message in network-normal form (CRLF; S06 §13,
  SPEC-NOTES §3.5).  A file saved with LF line ends (the usual ``.eml``
  on Unix) is converted to CRLF, and the conversion is reported.  Bare CR
  octets are left alone: SPEC-NOTES §11 A11 says to split on CRLF only and to
  treat bare CR/LF as ordinary octets (a signer should never have sent them).
* A leading mbox ``From `` line is dropped (it is not part of the message).
* The header block ends at the first empty line.  A line starting with WSP
  continues the previous field; a line with no colon is malformed and is kept
  out of every hash (reported).
* The body is never copied: :class:`Body` is a view on the raw buffer, and all
  body work (hashing, line counting, slicing) uses C-speed bytes methods with
  start/end arguments.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field

from . import limits
from .findings import Finding, Severity, State, Step, note

CRLF = b"\r\n"
_WSP = (0x20, 0x09)


class HeaderField:
    """One header field as it appears in the message."""

    __slots__ = ("lname", "name", "raw", "valid")

    def __init__(self, name: str, raw: bytes, valid: bool = True) -> None:
        self.name = name  # as written (latin-1 decoded), without trailing WSP
        self.lname = name.lower()
        self.raw = raw  # full field: name ":" value, folds and final CRLF
        self.valid = valid  # False for a line without a colon

    @property
    def value(self) -> bytes:
        """The octets after the colon, without the final CRLF."""
        colon = self.raw.find(b":")
        end = len(self.raw) - 2 if self.raw.endswith(CRLF) else len(self.raw)
        return self.raw[colon + 1 : end] if colon >= 0 else b""

    def text(self) -> str:
        """The field for display: unfolded value, undecodable octets replaced."""
        return self.value.replace(CRLF, b"").decode("utf-8", "replace").strip()

    @classmethod
    def build(cls, name: str, value: str | bytes) -> HeaderField:
        if isinstance(value, str):
            value = value.encode("utf-8")
        return cls(name, name.encode("latin-1") + b":" + value + CRLF)

    def __repr__(self) -> str:
        return f"HeaderField({self.name!r}, {self.raw!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HeaderField) and self.raw == other.raw

    def __hash__(self) -> int:
        return hash(self.raw)


class Body:
    """A body: a zero-copy view ``buf[start:end]`` of a buffer.

    Lines (for recipes, S06 §5.2) are numbered from 1 and separated by CRLF; a
    trailing partial line counts as a line (SPEC-NOTES §11 A11).
    """

    __slots__ = ("_line_count", "_pos_cache", "buf", "end", "start")

    def __init__(self, buf: bytes, start: int = 0, end: int | None = None) -> None:
        self.buf = buf
        self.start = start
        self.end = len(buf) if end is None else end
        self._line_count: int | None = None
        self._pos_cache: tuple[int, int] = (1, start)  # (line number, offset of its start)

    @classmethod
    def of(cls, data: bytes) -> Body:
        return cls(data, 0, len(data))

    def __len__(self) -> int:
        return self.end - self.start

    def to_bytes(self) -> bytes:
        if self.start == 0 and self.end == len(self.buf):
            return self.buf
        return self.buf[self.start : self.end]

    def view(self) -> memoryview:
        return memoryview(self.buf)[self.start : self.end]

    def same_as(self, other: Body) -> bool:
        if self.buf is other.buf and self.start == other.start and self.end == other.end:
            return True
        return len(self) == len(other) and self.view() == other.view()

    # -- canonical form and hash (S06 §6.1, SPEC-NOTES §3.3) -------------------

    def canonical_end(self) -> int:
        """Offset where the canonical body stops before its single final CRLF.

        "Simple" body canonicalisation: every empty line at the end is removed
        and one CRLF ends the body (an empty body becomes one CRLF).  Trailing
        CRLF pairs are stripped 4 KiB at a time, so a hostile body of millions
        of empty lines costs a few thousand C-speed comparisons.
        """
        buf, start, j = self.buf, self.start, self.end
        block = CRLF * 2048
        while j - start >= len(block) and buf[j - len(block) : j] == block:
            j -= len(block)
        while j - start >= 2 and buf[j - 2 : j] == CRLF:
            j -= 2
        return j

    def hash(self, algorithm: str) -> bytes:
        h = hashlib.new(algorithm)
        end = self.canonical_end()
        if end > self.start:
            h.update(memoryview(self.buf)[self.start : end])
        h.update(CRLF)
        return h.digest()

    # -- lines ------------------------------------------------------------------

    def line_count(self) -> int:
        if self._line_count is None:
            n = self.buf.count(CRLF, self.start, self.end)
            if self.end > self.start and not self.buf.endswith(CRLF, self.start, self.end):
                n += 1  # trailing partial line
            self._line_count = n
        return self._line_count

    def line_start(self, number: int) -> int:
        """Offset of the first octet of line ``number`` (1-based); ``end`` past the last.

        Walks from the nearest known point (the last answer, the start, or the
        end) with C-speed ``count``/``find``/``rfind`` over blocks, never a
        Python loop per line of the whole body.
        """
        total = self.line_count()
        if number > total:
            return self.end
        if number <= 1:
            return self.start
        buf, end = self.buf, self.end
        line, pos = self._pos_cache
        if number < line:
            line, pos = 1, self.start
        from_end = total + 1 - number
        if from_end < number - line and from_end <= 64:
            # Near the end: step back over `from_end` line ends.
            p = end
            if not buf.endswith(CRLF, self.start, end):
                # the trailing partial line is line `total`; it starts after the last CRLF
                p = buf.rfind(CRLF, self.start, end) + 2
                from_end -= 1
                cut = p - 2
            else:
                cut = end - 2
            for _ in range(from_end):
                q = buf.rfind(CRLF, self.start, cut)
                p = q + 2 if q >= 0 else self.start
                cut = q
            self._pos_cache = (number, p)
            return p
        remaining = number - line
        block = 1 << 14
        while remaining > 64:
            stop = min(pos + block, end)
            n = buf.count(CRLF, pos, stop)
            if n < remaining or stop == end:
                if n >= remaining:
                    break
                # A CRLF may straddle the block edge: resume just before it.
                if stop < end and buf[stop - 1 : stop + 1] == CRLF:
                    stop -= 1
                    n = buf.count(CRLF, pos, stop)
                remaining -= n
                pos = stop
                if stop == end:
                    break
                continue
            break
        while remaining > 0:
            nxt = buf.find(CRLF, pos, end)
            if nxt < 0:
                pos = end
                break
            pos = nxt + 2
            remaining -= 1
        self._pos_cache = (number, pos)
        return pos

    def lines_span(self, first: int, last: int) -> tuple[int, int]:
        """Byte span covering lines ``first..last`` inclusive, each with its CRLF."""
        a = self.line_start(first)
        b = self.line_start(last + 1)
        return a, b

    def lines(self) -> list[bytes]:
        """All lines without their CRLF (for diffs and display; not the hot path)."""
        data = self.to_bytes()
        parts = data.split(CRLF)
        if parts and parts[-1] == b"":
            parts.pop()
        return parts


@dataclass
class ParsedMessage:
    fields: list[HeaderField]
    body: Body
    size: int  # octets as received
    normalised: bytes  # the message in network-normal form (what was hashed)
    findings: list[Finding] = field(default_factory=list)
    fatal: bool = False  # too large or not a message at all

    def fields_named(self, lname: str) -> list[HeaderField]:
        return [f for f in self.fields if f.lname == lname]

    def first_text(self, lname: str) -> str:
        for f in self.fields:
            if f.lname == lname:
                return f.text()
        return ""


def normalise_line_ends(raw: bytes) -> tuple[bytes, Finding | None, int]:
    """Convert bare LF to CRLF (S06 §13 network-normal form).

    Returns the data, a finding if anything was converted, and the number of
    CRLF pairs in the result (so callers need not count again).
    """
    lf = raw.count(b"\n")
    crlf = raw.count(CRLF)
    if lf == crlf:
        return raw, None, crlf
    if crlf == 0:
        return (
            raw.replace(b"\n", CRLF),
            note(
                "message.lf-line-ends",
                "Line ends converted from LF to CRLF before verification",
                Step.MESSAGE,
                severity=Severity.INFO,
                detail=f"{lf} LF line ends; DKIM2 hashes the message as sent over SMTP, with CRLF.",
                spec="S06 §13",
            ),
            lf,
        )
    fixed = raw.replace(CRLF, b"\n").replace(b"\n", CRLF)
    return (
        fixed,
        note(
            "message.mixed-line-ends",
            "Mixed line ends: bare LF converted to CRLF before verification",
            Step.MESSAGE,
            detail=f"{lf - crlf} bare LF among {crlf} CRLF line ends.",
            spec="S06 §13",
        ),
        lf,
    )


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse ``raw`` (CRLF or LF line ends).  Never raises on malformed input."""
    findings: list[Finding] = []
    size = len(raw)
    if size > limits.MAX_MESSAGE_BYTES:
        findings.append(
            Finding(
                code="limits.message-too-large",
                state=State.PERMERROR,
                message="Message is larger than the analyser accepts",
                step=Step.MESSAGE,
                detail=f"{size} octets; the limit is {limits.MAX_MESSAGE_BYTES}.",
            )
        )
        return ParsedMessage([], Body.of(b""), size, b"", findings, fatal=True)

    data, conv, crlf_count = normalise_line_ends(raw)
    if conv:
        findings.append(conv)
    if data.startswith(b"From ") and b"\r\n" in data[:1000]:
        eol = data.index(CRLF)
        crlf_count -= 1
        findings.append(
            note(
                "message.mbox-from-line",
                "A leading mbox 'From ' line was removed before verification",
                Step.MESSAGE,
                severity=Severity.INFO,
                detail=data[:eol].decode("latin-1")[:200],
            )
        )
        data = data[eol + 2 :]
    bare_cr = data.count(b"\r") - crlf_count
    if bare_cr:
        findings.append(
            note(
                "message.bare-cr",
                "Message contains bare CR octets",
                Step.MESSAGE,
                detail=(
                    f"{bare_cr} CR octet(s) not followed by LF. They are hashed as ordinary octets "
                    "(SPEC-NOTES §11 A11); a signer should have converted them before signing "
                    "(S06 §13), so other verifiers may disagree on this message."
                ),
                spec="S06 §13",
            )
        )

    if data.startswith(CRLF):
        header_end, body_start = 0, 2
    else:
        sep = data.find(b"\r\n\r\n")
        if sep < 0:
            header_end, body_start = len(data), len(data)
            if data and not data.endswith(CRLF):
                header_end = len(data)
        else:
            header_end, body_start = sep + 2, sep + 4

    if header_end > limits.MAX_HEADER_BYTES:
        findings.append(
            Finding(
                code="limits.header-too-large",
                state=State.PERMERROR,
                message="Header block is larger than the analyser accepts",
                step=Step.MESSAGE,
                detail=f"{header_end} octets; the limit is {limits.MAX_HEADER_BYTES}.",
            )
        )
        return ParsedMessage([], Body.of(b""), size, data, findings, fatal=True)

    fields, field_findings, too_many = _split_fields(data, header_end)
    findings.extend(field_findings)
    if too_many:
        return ParsedMessage([], Body.of(b""), size, data, findings, fatal=True)
    if not fields:
        findings.append(
            note(
                "message.no-header",
                "The input has no header fields",
                Step.MESSAGE,
                detail="An RFC 5322 message starts with header fields such as From: and Date:.",
            )
        )
    return ParsedMessage(fields, Body(data, body_start, len(data)), size, data, findings)


def _split_fields(data: bytes, header_end: int) -> tuple[list[HeaderField], list[Finding], bool]:
    fields: list[HeaderField] = []
    findings: list[Finding] = []
    starts: list[int] = []  # offsets of lines that start a field
    pos = 0
    malformed = 0
    while pos < header_end:
        eol = data.find(CRLF, pos, header_end)
        nxt = header_end if eol < 0 else eol + 2
        first = data[pos]
        if first in _WSP:
            if not starts:
                malformed += 1
                starts.append(pos)  # continuation with nothing to continue
        else:
            starts.append(pos)
        pos = nxt
        if len(starts) > limits.MAX_HEADER_FIELDS:
            findings.append(
                Finding(
                    code="limits.too-many-header-fields",
                    state=State.PERMERROR,
                    message="Message has more header fields than the analyser accepts",
                    step=Step.MESSAGE,
                    detail=f"More than {limits.MAX_HEADER_FIELDS} header fields.",
                )
            )
            return [], findings, True
    starts.append(header_end)
    bad_examples: list[str] = []
    for a, b in itertools.pairwise(starts):
        raw = data[a:b]
        colon = raw.find(b":")
        eol = raw.find(CRLF)
        if colon < 0 or (0 <= eol < colon) or raw[:1] in (b" ", b"\t"):
            fields.append(HeaderField(raw[: max(0, eol)].decode("latin-1")[:60], raw, valid=False))
            malformed += 1
            if len(bad_examples) < 3:
                bad_examples.append(raw[:60].decode("latin-1", "replace"))
            continue
        name = raw[:colon].rstrip(b" \t").decode("latin-1")
        valid = bool(name) and all(33 <= c <= 126 for c in raw[: len(name)])
        if not valid:
            malformed += 1
            if len(bad_examples) < 3:
                bad_examples.append(raw[:60].decode("latin-1", "replace"))
        fields.append(HeaderField(name, raw, valid=valid))
    if malformed:
        findings.append(
            note(
                "message.malformed-header-line",
                "Header block contains lines that are not header fields",
                Step.MESSAGE,
                detail=(
                    f"{malformed} line(s) without a valid 'name:' form, e.g. {bad_examples!r}. "
                    "They are left out of the header hash; the message was probably damaged "
                    "(a broken fold, a pasted fragment) after signing or before analysis."
                ),
                spec="RFC 5322 §2.2",
            )
        )
    return fields, findings, False


def serialise(fields: list[HeaderField], body: Body) -> bytes:
    """The message for these fields and body (header fields, empty line, body)."""
    return b"".join([f.raw for f in fields] + [CRLF, body.view()])
