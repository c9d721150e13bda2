"""What changed, even without a recipe: search for the edit whose undo makes a hash match.

A body or header hash that fails says only that the content is not what was signed.  When
no recipe says why (S06 §5: a hop that changes a message records how to undo it), this
module tries the edits intermediaries and copies of a message usually make, undoes each on
the content as received (or as rebuilt), hashes the result with the signature's own
canonicalisation and hash, and reports the first edit whose undo makes the signed hash
match: that edit is then, beyond reasonable doubt, the whole change.

Theory of operation
-------------------
* The module knows no mechanism.  The caller hands over the content and a ``matches``
  predicate that canonicalises and hashes a candidate exactly as its verifier does: for
  DKIM2 :meth:`analysis.message.Body.hash` (S06 §6.1) and
  :func:`analysis.dkim2.canonical.header_hash` (S06 §6.2) through
  :mod:`analysis.dkim2.changes`; for DKIM1 :func:`analysis.dkim1.canonical_body` and
  :func:`analysis.dkim1.digest_canonical` (RFC 6376 §3.4.3, §3.4.4, §3.7, ``l=``).  No
  second canonicaliser lives here.
* Each candidate is a reversible edit, named by a stable code (:data:`KINDS`).  Body edits:
  a footer appended or a banner prepended, at either end of the body or of a MIME part
  (RFC 2046 §5.1.1 delimiters); a MIME part added as a footer, or the message wrapped in a
  multipart to add one; line ends rewritten (CR CR LF, bare CR); SMTP dot-stuffing left in
  (RFC 5321 §4.5.2); trailing whitespace added, or the ``-- `` signature separator's space
  lost (RFC 3676 §4.3); long lines wrapped (at a reading width, or at 998 octets by a relay,
  RFC 5322 §2.1.1); a transfer encoding changed (quoted-printable, base64, 7bit, 8bit,
  RFC 2045 §6; RFC 6152 §3 downgrades 8bit for receivers without 8BITMIME).  Header edits:
  CR CR LF line ends; a Subject tag; fields added (List-* fields as one edit, RFC 2369 and
  RFC 2919); fields removed or rewritten whose original an ``X-Original-*`` field keeps; a
  field refolded, or folds that lost their leading whitespace (RFC 5322 §2.2.3);
  Content-Transfer-Encoding changed; Content-Type changed by wrapping the message to add a
  footer part.  Header edits are also tried in pairs (a list tags the Subject *and* adds
  List-Id).
* Candidates are tried cheapest and likeliest first; the first match wins.  A candidate
  whose content is unchanged is not tried.
* Bounded per message (:class:`SearchBudget`): at most
  :data:`~analysis.limits.MAX_CHANGE_SEARCH_CANDIDATES` candidates and
  :data:`~analysis.limits.MAX_CHANGE_SEARCH_OCTETS` octets read and hashed, every search
  of the message together; a candidate's octets are charged before it is built, and the
  content a search reads to find its candidates when it starts.  MIME parts
  looked at (:data:`~analysis.limits.MAX_CHANGE_SEARCH_PARTS`), lines of a footer or banner
  (:data:`~analysis.limits.MAX_CHANGE_SEARCH_EDGE_LINES`,
  :data:`~analysis.limits.MAX_CHANGE_SEARCH_PART_EDGE_LINES`), lines rewrapped one by one
  (:data:`~analysis.limits.MAX_CHANGE_SEARCH_LINES`) and header edits paired
  (:data:`~analysis.limits.MAX_CHANGE_SEARCH_PAIRED`) are bounded too, so a message of
  10,000 MIME parts costs what a message of fifty does.  Past the budget the search stops
  and its result says so ("stopped").
* The result names the edit (:class:`Edit`), who likely made it (``made_by``: "hop", or
  "copy" for an edit copying a message makes -- line ends, dot-stuffing, whitespace,
  wrapping, lost folds -- when the content searched is the message as received), one
  sentence in plain words, and the diff of the change (signed version before, content
  after), bounded like the report's other diffs (:mod:`analysis.dkim2.history`).  When no
  edit matches it says the content "changed in a way that could not be identified", never
  that nothing changed.
"""

from __future__ import annotations

import base64
import binascii
import functools
import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from . import limits
from .message import CRLF, Body, HeaderField

if TYPE_CHECKING:
    from .dkim2.history import DiffBudget
    from .dkim2.report import FieldChange

__all__ = [
    "KINDS",
    "ChangeSearch",
    "Context",
    "Edit",
    "SearchBudget",
    "search_body",
    "search_header",
]

#: Every edit the search can name: code -> what it is, in words.  "revision-rules" is not an
#: edit: the header hash matches under another DKIM2 revision's rules (made by the caller).
KINDS: dict[str, str] = {
    "footer-appended": "a footer appended at the end of the body or of a MIME part",
    "banner-prepended": "a banner added at the start of the body or of a MIME part",
    "footer-part-added": "a MIME part added as a footer",
    "line-ends-rewritten": "line ends rewritten",
    "dot-stuffed": "SMTP dot-stuffing left in",
    "trailing-whitespace": "whitespace at line ends changed",
    "lines-wrapped": "long lines wrapped",
    "transfer-encoding-changed": "a transfer encoding changed",
    "subject-tag": "a tag added to the Subject",
    "header-field-added": "a header field added",
    "header-field-removed": "a header field removed",
    "header-field-changed": "a header field rewritten",
    "header-field-refolded": "a header field refolded",
    "revision-rules": "the header hash computed by another revision's rules",
}

#: The families tried, in words, for the sentence when nothing matched.
_BODY_FAMILIES = (
    "footers, banners and MIME parts added, line ends, dot-stuffing, whitespace, wrapped "
    "lines and transfer encodings"
)
_HEADER_FAMILIES = (
    "Subject tags, fields added, removed or rewritten, refolded fields and transfer "
    "encodings, alone and in pairs"
)


# -- budget, edits, results -------------------------------------------------------------------


class SearchBudget:
    """What every change search of one message may spend together: candidates tried, octets
    read and hashed, and octets of diff text kept (one object per message, shared by the
    DKIM2 and DKIM1 searches)."""

    def __init__(
        self,
        candidates: int = limits.MAX_CHANGE_SEARCH_CANDIDATES,
        octets: int = limits.MAX_CHANGE_SEARCH_OCTETS,
        diff_octets: int = limits.MAX_CHANGE_SEARCH_DIFF_BYTES,
    ) -> None:
        self.candidates = candidates
        self.octets = octets
        self.diff_octets = diff_octets
        self._limits = (candidates, octets)
        self._diffs: DiffBudget | None = None
        #: The bound that was reached, in words ("" while neither was).
        self.reached = ""

    def take(self, octets: int, *, candidate: bool = True) -> bool:
        """Charge one candidate of ``octets`` (or, ``candidate`` False, octets read to find
        the candidates); False (and :attr:`reached` set) past a bound."""
        if candidate and self.candidates <= 0:
            self.reached = (
                f"the analyser's limit of {self._limits[0]:,} candidate edits per message"
            )
            return False
        if octets > self.octets:
            self.reached = (
                f"the analyser's limit of {self._limits[1]:,} octets read and hashed per message"
            )
            return False
        self.candidates -= candidate
        self.octets -= octets
        return True

    @property
    def diffs(self) -> DiffBudget:
        """Diff text the searches' results may keep together."""
        if self._diffs is None:
            from .dkim2.history import DiffBudget  # see _history()

            self._diffs = DiffBudget(self.diff_octets)
        return self._diffs


@dataclass(frozen=True)
class Edit:
    """One edit: ``kind`` (a code of :data:`KINDS`), what it did in plain words, and whether
    it is one that copying a message makes (``copy``) rather than a hop."""

    kind: str
    words: str
    copy: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "words": self.words}


@dataclass(frozen=True)
class Context:
    """Who signed the content and what a match means, in words, for the sentence.

    ``after``: "hop 2 (lists.example) signed Message-Instance m=1"; ``hash_words``: "the
    body hash m=1 records"; ``culprit``: who made a change a hop made; ``received``: the
    content searched is the message as received (so a copy may have changed it).
    """

    after: str
    hash_words: str
    culprit: str
    received: bool = True


#: The outcomes: an edit matched; none did; the budget stopped the search first.
OUTCOMES = ("identified", "unidentified", "stopped")


@dataclass
class ChangeSearch:
    """What a search found, in the shape of the report's diffs (``header_changes``,
    ``body_diff``, ``body_diff_truncated``, ``body_diff_note``: the signed version before,
    the content as analysed after)."""

    part: str  # "body" or "header"
    outcome: str  # one of OUTCOMES
    sentence: str
    edits: list[Edit] = field(default_factory=list)
    #: "hop", "copy", or "signer" (the caller's revision-rules); None when not identified.
    made_by: str | None = None
    header_changes: list[FieldChange] = field(default_factory=list)
    body_diff: list[str] = field(default_factory=list)
    body_diff_truncated: bool = False
    body_diff_note: str = ""
    tried: int = 0  # candidates tried
    octets: int = 0  # octets of candidates built and hashed

    @property
    def kind(self) -> str | None:
        return self.edits[0].kind if self.edits else None

    def to_json(self) -> dict[str, Any]:
        return {
            "part": self.part,
            "outcome": self.outcome,
            "kind": self.kind,
            "edits": [e.to_json() for e in self.edits],
            "made_by": self.made_by,
            "sentence": self.sentence,
            "header_changes": [c.to_json() for c in self.header_changes],
            "body_diff": self.body_diff,
            "body_diff_truncated": self.body_diff_truncated,
            "body_diff_note": self.body_diff_note,
            "candidates_tried": self.tried,
            "octets_hashed": self.octets,
        }


def _history() -> Any:
    """:mod:`analysis.dkim2.history` (the bounded diffs), imported when first needed:
    importing it imports the DKIM2 engine, which imports this module."""
    from .dkim2 import history

    return history


T = TypeVar("T")


@dataclass(frozen=True)
class _Candidate(Generic[T]):
    edits: tuple[Edit, ...]
    cost: int  # octets charged before it is built
    build: Callable[[], T | None]  # None: the edit turned out not to apply


@dataclass
class _Tally:
    tried: int = 0
    octets: int = 0


def _first_match(
    candidates: Iterator[_Candidate[T]],
    matches: Callable[[T], bool],
    budget: SearchBudget,
    tally: _Tally,
) -> tuple[tuple[Edit, ...], T] | None:
    """The first candidate whose content ``matches``: its edits and content; None when none
    did or the budget stopped the search first (``budget.reached`` says which)."""
    for cand in candidates:
        if not budget.take(cand.cost):
            return None
        tally.tried += 1
        tally.octets += cand.cost
        value = cand.build()
        if value is not None and matches(value):
            return cand.edits, value
    return None


def _joined(edits: Sequence[Edit]) -> str:
    words = [e.words for e in edits]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _made_by(edits: Sequence[Edit], context: Context) -> str:
    return "copy" if context.received and all(e.copy for e in edits) else "hop"


#: The sentence's end for an edit a copy made (the words the page shows, exactly).
COPY_ADVICE = (
    "This is a change that copying a message makes (a mail program saving it, a copy and "
    "paste), not one a hop makes: your copy changed it: upload the original file."
)


def _sentence(subject: str, edits: Sequence[Edit], made_by: str, context: Context) -> str:
    text = (
        f"{subject} changed after {context.after}: {_joined(edits)}. Undoing "
        f"{'this' if len(edits) == 1 else 'these'} makes {context.hash_words} match."
    )
    if made_by == "copy":
        return f"{text} {COPY_ADVICE}"
    return f"{text} It was made by {context.culprit}."


def _unidentified(
    subject: str, families: str, context: Context, tally: _Tally, budget: SearchBudget
) -> tuple[str, str]:
    """(outcome, sentence) when no edit matched."""
    unidentified = f"{subject} changed in a way that could not be identified after {context.after}"
    if budget.reached and tally.tried == 0:
        return "stopped", (
            f"{unidentified}: {budget.reached} was spent by the searches before this one, so "
            "it was not searched."
        )
    edits = f"edit{'s' if tally.tried != 1 else ''}"
    if budget.reached:
        return "stopped", (
            f"{unidentified}: the search stopped at {budget.reached}, after {tally.tried:,} "
            f"candidate {edits} ({families}), before any made {context.hash_words} match."
        )
    return "unidentified", (
        f"{unidentified}: none of the {tally.tried:,} usual {edits} tried ({families}) makes "
        f"{context.hash_words} match, so something else rewrote it."
    )


def _show(data: bytes, limit: int = 60) -> str:
    """Message text for a sentence: at most ``limit`` characters, as written."""
    text = data.decode("utf-8", "replace")
    return text if len(text) <= limit else text[:limit] + "…"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'s' if n != 1 else ''}"


# -- the body ----------------------------------------------------------------------------------


def search_body(
    body: Body,
    matches: Callable[[Body], bool],
    *,
    fields: Sequence[HeaderField],
    budget: SearchBudget,
    context: Context,
) -> ChangeSearch:
    """Search for the edit whose undo makes ``body`` match (``matches``: the verifier's own
    canonicalisation and hash).  ``fields``: the header fields of the same message or
    instance (its MIME type and transfer encoding)."""
    tally = _Tally()
    subject = "The body"
    # Finding the candidates reads the body (a copy, MIME parts, C-speed scans): charged
    # once, so that many instances of a large body cannot cost more than the budget.
    read = budget.take(len(body), candidate=False)
    found = _first_match(_body_candidates(body, fields), matches, budget, tally) if read else None
    if found is None:
        outcome, sentence = _unidentified(subject, _BODY_FAMILIES, context, tally, budget)
        return ChangeSearch("body", outcome, sentence, tried=tally.tried, octets=tally.octets)
    edits, signed = found
    diff = _history().body_diff(signed, body, budget=budget.diffs)
    lines = list(diff.lines)
    if lines[:2] == ["--- before", "+++ after"]:
        lines[:2] = ["--- as signed (the change undone)", "+++ as analysed"]
    made_by = _made_by(edits, context)
    return ChangeSearch(
        "body",
        "identified",
        _sentence(subject, edits, made_by, context),
        edits=list(edits),
        made_by=made_by,
        body_diff=lines,
        body_diff_truncated=diff.truncated,
        body_diff_note=diff.note,
        tried=tally.tried,
        octets=tally.octets,
    )


@dataclass(frozen=True)
class _Part:
    """One MIME part (RFC 2046 §5.1.1), as offsets in the body."""

    number: str  # "2", "1.2"
    start: int  # the first octet of its header block (after its delimiter line)
    content: int  # the first octet of its content
    end: int  # the CRLF ending its content (it belongs to the next delimiter line)
    last: bool  # the next delimiter line closes the multipart
    content_type: str
    cte: str  # Content-Transfer-Encoding, lower-cased ("" when absent)
    cte_span: tuple[int, int] | None  # where its value is, if the part has the field
    leaf: bool

    @property
    def stop(self) -> int:
        """Where the next delimiter line starts."""
        return self.end + 2

    @property
    def text(self) -> bool:
        return self.leaf and self.content_type.startswith("text/")

    @property
    def top(self) -> bool:
        return "." not in self.number

    def words(self) -> str:
        return f"MIME part {self.number} ({self.content_type})"


_BOUNDARY = re.compile(rb'boundary[ \t]*=[ \t]*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))', re.I)
_PART_CT = re.compile(rb"(?im)^content-type[ \t]*:[ \t]*([^\r\n]*)")
_PART_CTE = re.compile(rb"(?im)^content-transfer-encoding[ \t]*:[ \t]*([A-Za-z0-9_-]*)")
_UNFOLD = re.compile(rb"\r\n(?=[ \t])")
#: Octets of a MIME part's header block read (a real one is a few hundred).
_PART_HEADER_OCTETS = 16 * 1024
#: Deepest nesting of multiparts read.
_MAX_DEPTH = 5


def _type_and_boundary(value: bytes) -> tuple[str, bytes | None]:
    ctype = value.split(b";", 1)[0].strip().lower().decode("latin-1") or "text/plain"
    m = _BOUNDARY.search(value)
    boundary = (m.group(1) or m.group(2)) if m else None
    return ctype, boundary


def _first_value(fields: Sequence[HeaderField], lname: str) -> bytes | None:
    for f in fields:
        if f.valid and f.lname == lname:
            return f.value.replace(CRLF, b"")
    return None


class _BodyView:
    """The body searched, with its octets and MIME parts read when first needed."""

    def __init__(self, body: Body, fields: Sequence[HeaderField]) -> None:
        self.body = body
        self.size = len(body)
        ct = _first_value(fields, "content-type") or b""
        self.content_type, self.boundary = _type_and_boundary(ct)
        cte = _first_value(fields, "content-transfer-encoding")
        self.cte = cte.strip().lower().decode("latin-1") if cte is not None else ""
        self._data: bytes | None = None
        self._parts: list[_Part] | None = None

    @property
    def data(self) -> bytes:
        if self._data is None:
            self._data = self.body.to_bytes()
        return self._data

    @property
    def multipart(self) -> bool:
        return self.content_type.startswith("multipart/") and self.boundary is not None

    @property
    def parts(self) -> list[_Part]:
        """The MIME parts, depth first, at most MAX_CHANGE_SEARCH_PARTS of them."""
        if self._parts is None:
            self._parts = []
            if self.multipart and self.boundary is not None:
                self._read(0, self.size, self.boundary, "", 0)
        return self._parts

    def _delimiters(self, a: int, z: int, boundary: bytes) -> Iterator[tuple[int, int, bool]]:
        """(line start, line end after its CRLF, closes) of each delimiter line in [a, z)."""
        data = self.data
        delim = b"--" + boundary
        pos = a
        first = True
        while True:
            if first and data.startswith(delim, a):
                at = a
            else:
                q = data.find(CRLF + delim, pos, z)
                if q < 0:
                    return
                at = q + 2
            first = False
            after = at + len(delim)
            closes = data.startswith(b"--", after, z)
            eol = data.find(CRLF, after, z)
            line_end = z if eol < 0 else eol + 2
            if data[after + (2 if closes else 0) : eol if eol >= 0 else z].strip(b" \t"):
                pos = after  # a longer line that only begins like the delimiter
                continue
            yield at, line_end, closes
            if closes or eol < 0:
                return
            pos = line_end - 2

    def _read(self, a: int, z: int, boundary: bytes, prefix: str, depth: int) -> None:
        parts = self._parts
        assert parts is not None
        marks: list[tuple[int, int, bool]] = []
        for mark in self._delimiters(a, z, boundary):
            marks.append(mark)
            if len(marks) > limits.MAX_CHANGE_SEARCH_PARTS:
                break
        data = self.data
        for k, ((_, start, _), (nxt, _, closes)) in enumerate(itertools.pairwise(marks), 1):
            if len(parts) >= limits.MAX_CHANGE_SEARCH_PARTS:
                return
            end = max(start, nxt - 2)
            if data.startswith(CRLF, start):
                header, content = b"", start + 2
            else:
                sep = data.find(b"\r\n\r\n", start, min(end + 2, start + _PART_HEADER_OCTETS))
                if sep < 0:
                    header, content = b"", end
                else:
                    header, content = data[start : sep + 2], min(sep + 4, end)
            m = _PART_CT.search(_UNFOLD.sub(b"", header))
            ctype, sub = _type_and_boundary(m.group(1)) if m else ("text/plain", None)
            cm = _PART_CTE.search(header)
            cte = cm.group(1).lower().decode("latin-1") if cm else ""
            span = (start + cm.start(1), start + cm.end(1)) if cm else None
            nested = ctype.startswith("multipart/") and sub is not None and depth < _MAX_DEPTH
            number = f"{prefix}{k}"
            parts.append(_Part(number, start, content, end, closes, ctype, cte, span, not nested))
            if nested and sub is not None:
                self._read(content, end, sub, number + ".", depth + 1)


def _cut(body: Body, keep: Sequence[tuple[int, int]]) -> Body:
    """``body`` keeping only the ranges ``keep`` (each but the last ending at a line start):
    views of its octets, nothing copied."""
    pieces = [p for a, z in keep for _, p in body.spans(a, z)]
    return Body.from_pieces(pieces, index=body.index)


def _cutter(body: Body, keep: Sequence[tuple[int, int]]) -> Callable[[], Body]:
    return lambda: _cut(body, keep)


def _line_starts_back(body: Body, start: int, stop: int, most: int) -> Iterator[int]:
    """The starts of the last 1, 2, ... ``most`` lines of ``[start, stop)``."""
    p = stop
    for _ in range(most):
        if p <= start:
            return
        hi = p - 2 if body.ends_with_line_end(p) else p
        q = body.rfind_line_end(start, hi) if hi > start else -1
        p = q + 2 if q >= 0 else start
        yield p


def _line_ends_forward(body: Body, start: int, stop: int, most: int) -> Iterator[int]:
    """Where the first 1, 2, ... ``most`` lines of ``[start, stop)`` end (after their CRLF)."""
    p = start
    for _ in range(most):
        q = body.find_line_end(p, stop)
        if q < 0:
            return
        p = q + 2
        yield p


def _first_text_line(body: Body, a: int, z: int) -> str:
    for buf, lo, hi in body.line_spans(a, z):
        if buf[lo:hi].strip():
            return _show(buf[lo:hi])
    return ""


def _body_candidates(body: Body, fields: Sequence[HeaderField]) -> Iterator[_Candidate[Body]]:
    """Cheapest and likeliest first: whole-body rewrites (a handful), footers at the end of
    the body, MIME footers, banners, transfer encodings, then wrapped lines."""
    view = _BodyView(body, fields)
    if not view.size:
        return
    yield from _rewrites(view)
    yield from _footers(view)
    yield from _mime_footers(view)
    yield from _banners(view)
    yield from _encodings(view)
    yield from _wrapping(view)


# line ends, dot-stuffing, whitespace: C-speed rewrites of the whole body

# Each pattern starts with what it matches (a literal or a set of octets), and what must
# come before it is a look-behind after that: the regular expression engine then skips to
# the candidates at C speed.  Written the other way round (a look-behind or "(\A|\r\n)"
# first) each was tried at every octet, 55 MB/s: 0.2-0.8 s for a 10 MB body of empty lines.
_CR_CR_LF = re.compile(rb"\r\r\n")
_BARE_CR = re.compile(rb"\r(?!\n)")
#: ".." at a line start: the SMTP dot-stuffing; replaced by "." it is undone.
_DOT_STUFFED = re.compile(rb"\.\.(?:(?<=\r\n\.\.)|(?<=\A\.\.))")
#: Whitespace at line ends, but not the space of a "-- " signature separator.
_TRAILING_WSP = re.compile(rb"[ \t](?<!\n--[ \t])(?<!\A--[ \t])[ \t]*(?=\r\n|\Z)")
#: A signature separator line "--" (lost its space); replaced by "-- " it is undone.
_SEPARATOR_LOST = re.compile(rb"--(?:(?<=\r\n--)|(?<=\A--))(?=\r\n|\Z)")


def _has_bare_cr(data: bytes) -> bool:
    return data.count(b"\r") > data.count(CRLF)


def _has_trailing_wsp(data: bytes) -> bool:
    return b" \r\n" in data or b"\t\r\n" in data or data.endswith((b" ", b"\t"))


def _has_stuffed_dot(data: bytes) -> bool:
    return b"\r\n.." in data or data.startswith(b"..")


def _has_bare_separator(data: bytes) -> bool:
    return b"\r\n--\r\n" in data or data.startswith(b"--\r\n") or data.endswith(b"\r\n--")


#: (kind, a C-speed test that the pattern can match, the pattern, its undo, words with {n}
#: the lines it touches): the patterns run only where the test says they can match.
_REWRITES: tuple[tuple[str, Callable[[bytes], bool], re.Pattern[bytes], bytes, str], ...] = (
    (
        "line-ends-rewritten",
        lambda data: b"\r\r\n" in data,
        _CR_CR_LF,
        CRLF,
        "the line ends of {n} were doubled to CR CR LF (a file copied in text mode on Windows)",
    ),
    (
        "line-ends-rewritten",
        _has_bare_cr,
        _BARE_CR,
        CRLF,
        "{n} end{s} in a bare CR instead of CR LF (a last line end cut short, or old Mac "
        "line ends)",
    ),
    (
        "dot-stuffed",
        _has_stuffed_dot,
        _DOT_STUFFED,
        b".",
        "{n} start{s} with the extra dot SMTP adds in transit (dot-stuffing, RFC 5321 §4.5.2), "
        "kept when the message was saved",
    ),
    (
        "trailing-whitespace",
        _has_trailing_wsp,
        _TRAILING_WSP,
        b"",
        "spaces or tabs were added at the end of {n}",
    ),
    (
        "trailing-whitespace",
        _has_bare_separator,
        _SEPARATOR_LOST,
        b"-- ",
        'the signature separator "-- " lost its trailing space ({n}, RFC 3676 §4.3)',
    ),
)


def _substituted(data: bytes, pattern: re.Pattern[bytes], new: bytes) -> Callable[[], Body]:
    return lambda: Body.of(pattern.sub(new, data))


def _rewrites(view: _BodyView) -> Iterator[_Candidate[Body]]:
    data = view.data
    for kind, present, pattern, new, words in _REWRITES:
        if not present(data):
            continue
        count = sum(1 for _ in pattern.finditer(data))
        if count:
            verb = "s" if count == 1 else ""
            edit = Edit(kind, words.format(n=_plural(count, "line"), s=verb), copy=True)
            yield _Candidate((edit,), view.size, _substituted(data, pattern, new))


# footers and banners


def _edge(
    view: _BodyView, kind: str, a: int, z: int, where: str, most: int, *, at_end: bool
) -> Iterator[_Candidate[Body]]:
    """1 to ``most`` lines removed at the end (``at_end``) or the start of ``[a, z)``.

    Inside a MIME part, ``z`` is the CRLF before the next delimiter line (RFC 2046 §5.1.1:
    it belongs to the delimiter): a part whose content does not end in CRLF may have had
    the footer joined with a CRLF of its own, which goes too (a second candidate)."""
    body = view.body
    seen_end = body.canonical_end()
    joined = at_end and z < view.size and not body.ends_with_line_end(z)
    cuts = (_line_starts_back if at_end else _line_ends_forward)(body, a, z, most)
    for k, p in enumerate(cuts, 1):
        keep = [(0, p), (z, view.size)] if at_end else [(0, a), (p, view.size)]
        removed = (p, z) if at_end else (a, p)
        if at_end and z == view.size:
            # Empty lines at the end are not hashed (S06 §6.1; RFC 6376 §3.4.3): a cut that
            # removes only them is the body as received, or the previous candidate.
            end = _cut(body, keep).canonical_end()
            if end == seen_end:
                continue
            seen_end = end
        first = _first_text_line(body, *removed)
        begins = f', beginning "{first}"' if first else ""
        lines = _plural(k, "line")
        if at_end:
            words = f"a footer of {lines} was appended at the end of {where}{begins}"
        else:
            words = f"a banner of {lines} was added at the start of {where}{begins}"
        size = view.size - (removed[1] - removed[0])
        yield _Candidate((Edit(kind, words),), size, _cutter(body, keep))
        if joined and p - 2 >= a:
            yield _Candidate((Edit(kind, words),), size - 2, _spliced(view, [(0, p - 2), keep[1]]))


def _spliced(view: _BodyView, keep: Sequence[tuple[int, int]]) -> Callable[[], Body]:
    """``body`` keeping only the ranges ``keep``, copied (for cuts inside a line)."""
    return lambda: Body.of(b"".join(view.data[x:y] for x, y in keep))


def _footers(view: _BodyView) -> Iterator[_Candidate[Body]]:
    most = limits.MAX_CHANGE_SEARCH_EDGE_LINES
    yield from _edge(view, "footer-appended", 0, view.size, "the body", most, at_end=True)


def _banners(view: _BodyView) -> Iterator[_Candidate[Body]]:
    most = limits.MAX_CHANGE_SEARCH_PART_EDGE_LINES
    yield from _edge(view, "banner-prepended", 0, view.size, "the body", most, at_end=False)
    for part in view.parts:
        if part.text:
            where = part.words()
            yield from _edge(
                view, "banner-prepended", part.content, part.end, where, most, at_end=False
            )


_HTML_BODY_END = re.compile(rb"</body\s*>", re.I)


def _mime_footers(view: _BodyView) -> Iterator[_Candidate[Body]]:
    """A footer part added (to a multipart, or by wrapping the message in one), and footers
    at the end of each text part (and before ``</body>`` in HTML)."""
    if not view.multipart:
        return
    parts = view.parts
    top = [p for p in parts if p.top]
    body = view.body
    if len(top) >= 2 and top[-1].last:
        # A part added at the end: it goes with its delimiter line.
        extra = top[-1]
        q = body.rfind_line_end(0, extra.start - 2)
        line = q + 2 if q >= 0 else 0
        first = _first_text_line(body, extra.content, extra.end)
        begins = f', beginning "{first}"' if first else ""
        words = f"a MIME part ({extra.content_type}) was added at the end of the message{begins}"
        yield _Candidate(
            (Edit("footer-part-added", words),),
            view.size - (extra.stop - line),
            _cutter(body, [(0, line), (extra.stop, view.size)]),
        )
    if len(top) == 2 and top[0].leaf and top[1].last:
        # The message wrapped in a multipart to add a footer part: the body signed is the
        # first part's content (its header fields moved into the part).
        inner = top[0]
        words = (
            f"the message was wrapped in a {view.content_type} with a footer part "
            f"({top[1].content_type}) added after it"
        )
        yield _Candidate(
            (Edit("footer-part-added", words),),
            inner.end - inner.content,
            _cutter(body, [(inner.content, inner.end)]),
        )
    most = limits.MAX_CHANGE_SEARCH_PART_EDGE_LINES
    data = view.data
    for part in parts:
        if not part.text:
            continue
        where = part.words()
        yield from _edge(view, "footer-appended", part.content, part.end, where, most, at_end=True)
        if part.content_type != "text/html":
            continue
        closing = max(
            (m.start() for m in _HTML_BODY_END.finditer(data, part.content, part.end)), default=-1
        )
        if closing < 0:
            continue
        q = data.rfind(CRLF, part.content, closing)
        line = q + 2 if q >= 0 else part.content
        if line > part.content:
            where = f"the HTML of {part.words()}, before </body>"
            yield from _edge(view, "footer-appended", part.content, line, where, most, at_end=True)


# transfer encodings (RFC 2045 §6; RFC 6152 §3)

_ENCODINGS = ("8bit", "quoted-printable", "base64")


def _decode(cte: str, content: bytes) -> bytes | None:
    try:
        if cte == "quoted-printable":
            return binascii.a2b_qp(content)
        if cte == "base64":
            return base64.b64decode(content)
    except (binascii.Error, ValueError):
        return None
    return content


def _encode(cte: str, decoded: bytes) -> bytes:
    if cte == "quoted-printable":
        return binascii.b2a_qp(decoded, istext=True)
    if cte == "base64":
        return base64.encodebytes(decoded).replace(b"\n", CRLF)
    return decoded


def _encodings(view: _BodyView) -> Iterator[_Candidate[Body]]:
    """Each text part (or the whole single-part body) decoded and encoded back as each other
    transfer encoding; in a part, its Content-Transfer-Encoding value set back too."""
    regions: list[tuple[_Part | None, str]] = []
    if view.multipart:
        regions = [(p, p.cte) for p in view.parts if p.text]
    elif view.content_type.startswith("text/"):
        regions = [(None, view.cte)]
    for part, cte in regions:
        received = "8bit" if cte in ("", "7bit", "8bit", "binary") else cte
        if received not in _ENCODINGS:
            continue
        for original in _ENCODINGS:
            if original == received:
                continue
            # An 8bit part may have said 8bit or 7bit; a single part's label is a header
            # field, outside the body.
            labels = ("8bit", "7bit") if original == "8bit" and part is not None else (original,)
            for label in labels:
                yield from _encoding(view, part, received, original, label)


def _encoding(
    view: _BodyView, part: _Part | None, received: str, original: str, label: str
) -> Iterator[_Candidate[Body]]:
    a, z = (part.content, part.end) if part is not None else (0, view.size)
    where = part.words() if part is not None else "the body"
    why = " (as a relay does for a receiver without 8BITMIME, RFC 6152)" if label == "8bit" else ""
    edit = Edit(
        "transfer-encoding-changed", f"{where} was re-encoded from {label} to {received}{why}"
    )

    def build(final_crlf: bool) -> Body | None:
        data = view.data
        decoded = _decode(received, data[a:z])
        if decoded is None:
            return None
        new = _encode(original, decoded)
        if part is None:
            return Body.of(new)
        if original != "8bit" and not final_crlf:
            new = new.removesuffix(CRLF)
        header = data[part.start : part.content]
        if part.cte_span is not None:
            s, t = part.cte_span
            header = data[part.start : s] + label.encode() + data[t : part.content]
        elif original != "8bit" and header.endswith(CRLF + CRLF):
            header = header[:-2] + b"Content-Transfer-Encoding: " + label.encode() + CRLF * 2
        else:
            return None
        return Body.of(data[: part.start] + header + new + data[z:])

    cost = view.size + (z - a) // 2
    yield _Candidate((edit,), cost, lambda: build(False))
    if original != "8bit" and part is not None:
        yield _Candidate((edit,), cost, lambda: build(True))


# wrapped lines (at a reading width by a copy; at RFC 5322 §2.1.1's 998 octets by a relay)

_WIDTHS = (72, 76, 78, 80)
#: At or past this width the wrapping is a relay's, not a copy's.
_RELAY_WIDTH = 990


def _first_word(line: bytes) -> int:
    cut = line.find(b" ")
    return len(line) if cut < 0 else cut


def _soft(lines: list[bytes], width: int, keep_space: bool) -> list[bytes]:
    """Undo greedy wrapping at ``width``: a line joins the one before it when its first word
    would not have fitted there (the space the wrap replaced put back; or, ``keep_space``,
    kept at the end of the line before)."""
    out: list[bytes] = []
    tail = -1  # length of the last line joined into out[-1]; -1: it cannot be continued
    for line in lines:
        if out and 0 <= tail <= width and line and not line.startswith((b" ", b"\t", b">")):
            ends_in_space = out[-1].endswith(b" ")
            if keep_space and ends_in_space and tail + _first_word(line) > width:
                out[-1] += line
                tail = len(line)
                continue
            if not keep_space and not ends_in_space and tail + 1 + _first_word(line) > width:
                out[-1] += b" " + line
                tail = len(line)
                continue
        out.append(line)
        tail = len(line) if line else -1
    return out


def _hard(lines: list[bytes], width: int, space: bool) -> list[bytes]:
    """Undo wrapping that cut lines at exactly ``width`` octets, the rest on the next line
    (after one space, with ``space``)."""
    out: list[bytes] = []
    tail = -1
    for line in lines:
        if out and tail == width and line and (not space or line.startswith(b" ")):
            rest = line[1:] if space else line
            out[-1] += rest
            tail = len(rest)
            continue
        out.append(line)
        tail = len(line)
    return out


def _rewrapped(view: _BodyView, a: int, z: int, new: bytes) -> Callable[[], Body]:
    return lambda: Body.of(view.data[:a] + new + view.data[z:])


def _wrapping(view: _BodyView) -> Iterator[_Candidate[Body]]:
    plain = ("", "7bit", "8bit", "binary")
    regions: list[tuple[int, int, str]] = []
    if view.multipart:
        regions = [(p.content, p.end, p.words()) for p in view.parts if p.text and p.cte in plain]
    elif view.cte in plain and view.content_type.startswith("text/"):
        regions = [(0, view.size, "the body")]
    data = view.data
    for a, z, where in regions:
        if data.count(CRLF, a, z) > limits.MAX_CHANGE_SEARCH_LINES:
            continue  # rewrapping goes line by line: only for bounded regions
        lines = data[a:z].split(CRLF)
        longest = max(len(x) for x in lines)
        # The usual reading widths first (the words name the width), then the longest line.
        widths = [w for w in _WIDTHS if w >= longest or longest > 100]
        widths += [] if longest in widths or longest > 100 else [longest]
        undos: list[tuple[int, bool, Callable[[list[bytes]], list[bytes]]]] = [
            (longest, True, functools.partial(_hard, width=longest, space=False)),
            (longest, True, functools.partial(_hard, width=longest, space=True)),
        ]
        for w in widths:
            undos.append((w, False, functools.partial(_soft, width=w, keep_space=False)))
            undos.append((w, False, functools.partial(_soft, width=w, keep_space=True)))
        for width, hard, undo in undos:
            joined = undo(lines)
            added = len(lines) - len(joined)
            if not added:
                continue
            relay = hard and width >= _RELAY_WIDTH
            if relay:
                words = (
                    f"{_plural(added, 'line')} of {where} longer than {width} octets "
                    f"{'were' if added != 1 else 'was'} broken by a relay (RFC 5322 §2.1.1 "
                    "limits a line to 998 octets)"
                )
            else:
                words = (
                    f"long lines of {where} were wrapped at {width} characters "
                    f"({_plural(added, 'line break')} added)"
                )
            edit = Edit("lines-wrapped", words, copy=not relay)
            yield _Candidate((edit,), view.size, _rewrapped(view, a, z, CRLF.join(joined)))


# -- the header fields -------------------------------------------------------------------------


def search_header(
    fields: list[HeaderField],
    matches: Callable[[list[HeaderField]], bool],
    *,
    is_unsigned: Callable[[str], bool],
    body: Body | None,
    budget: SearchBudget,
    context: Context,
) -> ChangeSearch:
    """Search for the edit (or pair of edits) whose undo makes the header ``fields`` match
    (``matches``: the verifier's header hash; ``is_unsigned``: the fields it leaves out).
    ``body``: the same message's body (its first MIME part, for a message wrapped in a
    multipart to add a footer part)."""
    tally = _Tally()
    subject = "The signed header fields"
    read = budget.take(sum(len(f.raw) for f in fields), candidate=False)
    candidates = _header_candidates(fields, body, is_unsigned)
    found = _first_match(candidates, matches, budget, tally) if read else None
    if found is None:
        outcome, sentence = _unidentified(subject, _HEADER_FAMILIES, context, tally, budget)
        return ChangeSearch("header", outcome, sentence, tried=tally.tried, octets=tally.octets)
    edits, signed = found
    made_by = _made_by(edits, context)
    return ChangeSearch(
        "header",
        "identified",
        _sentence(subject, edits, made_by, context),
        edits=list(edits),
        made_by=made_by,
        header_changes=_history().header_changes(signed, fields, is_unsigned),
        tried=tally.tried,
        octets=tally.octets,
    )


Fields = list[HeaderField]


@dataclass(frozen=True)
class _HeaderUndo:
    """One header edit: what it did, the fields it touches (by id), and its undo."""

    edit: Edit
    touches: frozenset[int]
    undo: Callable[[Fields], Fields]


#: Fields intermediaries often add, tried right after the List-* fields.
_OFTEN_ADDED = frozenset(
    {
        "sender",
        "reply-to",
        "precedence",
        "errors-to",
        "organization",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "disclaimer",
        "comments",
        "importance",
        "priority",
        "feedback-id",
    }
)

#: Subject tags: (pattern, group 1 kept before the tag, group 2 the tag).
_TAGS: tuple[re.Pattern[bytes], ...] = (
    re.compile(rb"\A([ \t]*)((?:\[[^\]\r\n]{1,100}\][ \t]*){2,})"),
    re.compile(rb"\A([ \t]*)(\[[^\]\r\n]{1,100}\][ \t]*)"),
    re.compile(
        rb"\A([ \t]*(?:(?:re|fwd?|aw|sv|wg|tr)[ \t]*:[ \t]*)+)(\[[^\]\r\n]{1,100}\][ \t]*)", re.I
    ),
    re.compile(
        rb"\A([ \t]*)((?:\*{1,3}[ \t]*)?(?:external|ext|spam|suspicious|warning|caution)"
        rb"(?:[ \t]*\*{1,3}|[ \t]*:)[ \t]*)",
        re.I,
    ),
    re.compile(rb"()([ \t]*(?:\[[^\]\r\n]{1,100}\]|\([^)\r\n]{1,100}\))[ \t]*)\Z"),
)


def _rebuilt(f: HeaderField, value: bytes) -> HeaderField:
    """``f`` with ``value`` after its colon."""
    colon = f.raw.find(b":")
    return HeaderField(f.name, f.raw[: colon + 1] + value + CRLF, lname=f.lname)


def _unfolded(f: HeaderField) -> bytes:
    return f.value.replace(CRLF, b"")


def _replace(old: HeaderField, new: HeaderField) -> Callable[[Fields], Fields]:
    return lambda fs: [new if x is old else x for x in fs]


def _drop(gone: Sequence[HeaderField]) -> Callable[[Fields], Fields]:
    ids = {id(x) for x in gone}
    return lambda fs: [x for x in fs if id(x) not in ids]


def _append(new: HeaderField) -> Callable[[Fields], Fields]:
    return lambda fs: [*fs, new]


def _then(
    first: Callable[[Fields], Fields], second: Callable[[Fields], Fields]
) -> Callable[[Fields], Fields]:
    return lambda fs: second(first(fs))


def _doubled_line_ends(fields: Fields) -> Iterator[_HeaderUndo]:
    """CR CR LF line ends (a file copied in text mode on Windows) in the header block."""
    doubled = [f for f in fields if b"\r\r\n" in f.raw]
    if not doubled:
        return
    fixed = {
        id(f): HeaderField(f.name, f.raw.replace(b"\r\r\n", CRLF), f.valid, f.lname)
        for f in doubled
    }

    def undo(fs: Fields) -> Fields:
        return [fixed.get(id(x), x) for x in fs]

    words = f"the line ends of {_plural(len(doubled), 'header field')} were doubled to CR CR LF"
    yield _HeaderUndo(Edit("line-ends-rewritten", words, copy=True), frozenset(fixed), undo)


def _subject_tags(hashed: Sequence[HeaderField]) -> Iterator[_HeaderUndo]:
    for f in hashed:
        if f.lname != "subject":
            continue
        value = _unfolded(f)
        seen: set[bytes] = set()
        for pattern in _TAGS:
            m = pattern.search(value)
            if m is None or not m.group(2).strip():
                continue
            new = value[: m.start()] + m.group(1) + value[m.end() :]
            if new in seen:
                continue
            seen.add(new)
            tag = m.group(2).strip().decode("utf-8", "replace")
            edit = Edit("subject-tag", f'the Subject was tagged "{tag}"')
            yield _HeaderUndo(edit, frozenset({id(f)}), _replace(f, _rebuilt(f, new)))


def _list_fields(hashed: Sequence[HeaderField]) -> Iterator[_HeaderUndo]:
    """Every List-* field at once (RFC 2369, RFC 2919): a list adds several."""
    listed = [f for f in hashed if f.lname.startswith("list-")]
    if len(listed) >= 2:
        names = ", ".join(dict.fromkeys(f.name for f in listed))
        edit = Edit("header-field-added", f"{len(listed)} List-* fields ({names}) were added")
        yield _HeaderUndo(edit, frozenset(id(f) for f in listed), _drop(listed))


def _transfer_encoding(hashed: Sequence[HeaderField]) -> Iterator[_HeaderUndo]:
    f = next((x for x in hashed if x.lname == "content-transfer-encoding"), None)
    if f is None:
        return
    now = _unfolded(f).strip().lower().decode("latin-1")
    for original in ("8bit", "7bit", "quoted-printable", "base64"):
        if original != now:
            words = f"Content-Transfer-Encoding was changed from {original} to {now}"
            new = _rebuilt(f, b" " + original.encode())
            yield _HeaderUndo(
                Edit("transfer-encoding-changed", words), frozenset({id(f)}), _replace(f, new)
            )
    words = f"a Content-Transfer-Encoding field ({now}) was added"
    yield _HeaderUndo(Edit("transfer-encoding-changed", words), frozenset({id(f)}), _drop([f]))


def _wrapped_type(
    fields: Sequence[HeaderField], hashed: Sequence[HeaderField], body: Body | None
) -> Iterator[_HeaderUndo]:
    """Content-Type (and Content-Transfer-Encoding) set back to the first MIME part's, for a
    message wrapped in a multipart to add a footer part."""
    ct = next((x for x in hashed if x.lname == "content-type"), None)
    if body is None or ct is None:
        return
    view = _BodyView(body, fields)
    if not view.multipart:
        return
    top = [p for p in view.parts if p.top]
    if len(top) != 2 or not top[0].leaf:
        return
    header = view.data[top[0].start : top[0].content]
    m = _PART_CT.search(_UNFOLD.sub(b"", header))
    inner = m.group(1).strip() if m else b"text/plain"
    undo = _replace(ct, _rebuilt(ct, b" " + inner))
    touches = {id(ct)}
    cm = _PART_CTE.search(header)
    if cm is not None:
        value = b" " + cm.group(1)
        cte = next((x for x in hashed if x.lname == "content-transfer-encoding"), None)
        if cte is not None:
            touches.add(id(cte))
            undo = _then(undo, _replace(cte, _rebuilt(cte, value)))
        else:
            added = HeaderField(
                "Content-Transfer-Encoding", b"Content-Transfer-Encoding:" + value + CRLF
            )
            undo = _then(undo, _append(added))
    words = (
        f"Content-Type was changed from {_show(inner)} to {view.content_type} (the message "
        "was wrapped to add a footer part)"
    )
    yield _HeaderUndo(Edit("footer-part-added", words), frozenset(touches), undo)


_ORIGINAL_PREFIXES = ("x-original-", "original-")


def _originals(
    fields: Sequence[HeaderField], is_unsigned: Callable[[str], bool]
) -> Iterator[_HeaderUndo]:
    """A field an ``X-Original-<Name>`` (or ``Original-<Name>``) field keeps, put back."""
    found = 0
    for keeper in fields:
        prefix = next((p for p in _ORIGINAL_PREFIXES if keeper.lname.startswith(p)), None)
        if not keeper.valid or prefix is None:
            continue
        name = keeper.name[len(prefix) :]
        lname = name.lower()
        if not name or is_unsigned(lname):
            continue
        found += 1
        if found > limits.MAX_CHANGE_SEARCH_PAIRED:
            return
        value = keeper.raw[keeper.raw.find(b":") + 1 :]
        restored = HeaderField(name, name.encode("latin-1") + b":" + value, lname=lname)
        present = next((f for f in fields if f.valid and f.lname == lname), None)
        if present is None:
            words = f"a {name} field was removed ({keeper.name} keeps it)"
            yield _HeaderUndo(Edit("header-field-removed", words), frozenset(), _append(restored))
        else:
            words = f"the {name} field was rewritten ({keeper.name} keeps the original)"
            yield _HeaderUndo(
                Edit("header-field-changed", words),
                frozenset({id(present)}),
                _replace(present, restored),
            )


_FOLD = re.compile(rb"\r\n[ \t]+")


def _lost_folds(fields: Fields) -> Iterator[_HeaderUndo]:
    """Folded lines that lost their leading whitespace read as lines of their own, not as
    the field's continuation (RFC 5322 §2.2.3): a copy trimmed them.  Put back, all at once."""
    runs: dict[int, tuple[HeaderField, list[HeaderField]]] = {}
    owner: HeaderField | None = None
    for f in fields:
        if f.valid:
            owner = f
        elif owner is not None and not f.raw[:1].isspace():
            runs.setdefault(id(owner), (owner, []))[1].append(f)
    if not runs:
        return
    joined: dict[int, HeaderField] = {}
    for key, (o, run) in runs.items():
        rest = b"".join(CRLF + b" " + x.raw.removesuffix(CRLF) for x in run)
        joined[key] = _rebuilt(o, o.value + rest)
    gone = {id(x) for _, run in runs.values() for x in run}
    count = len(gone)
    names = " and ".join(dict.fromkeys(o.name for o, _ in runs.values()))
    words = (
        f"{_plural(count, 'folded line')} of the {names} field lost "
        f"{'their' if count != 1 else 'its'} leading whitespace, so "
        f"{'they no longer continue' if count != 1 else 'it no longer continues'} it (an "
        "editor or a copy and paste trims lines)"
    )

    def undo(fs: Fields) -> Fields:
        return [joined.get(id(x), x) for x in fs if id(x) not in gone]

    edit = Edit("header-field-refolded", words, copy=True)
    yield _HeaderUndo(edit, frozenset(joined) | frozenset(gone), undo)


def _refolds(hashed: Sequence[HeaderField]) -> Iterator[_HeaderUndo]:
    """A field refolded with a line break where it had no space: the fold's whitespace is
    hashed as one space (S06 §6.2), so the break inserted one."""
    for f in hashed:
        if CRLF in f.value:
            words = f"the {f.name} field was refolded, with a line break where it had no space"
            new = _rebuilt(f, _FOLD.sub(b"", f.value))
            yield _HeaderUndo(
                Edit("header-field-refolded", words), frozenset({id(f)}), _replace(f, new)
            )


def _removals(hashed: Sequence[HeaderField]) -> Iterator[_HeaderUndo]:
    """Each hashed field removed: List-* fields first, then fields intermediaries often add,
    then the rest from the top (where hops add theirs)."""

    def rank(k: int) -> tuple[int, int]:
        lname = hashed[k].lname
        return (0 if lname.startswith("list-") else 1 if lname in _OFTEN_ADDED else 2, k)

    for k in sorted(range(len(hashed)), key=rank):
        f = hashed[k]
        edit = Edit("header-field-added", f"a {f.name} field was added")
        yield _HeaderUndo(edit, frozenset({id(f)}), _drop([f]))


def _applied(fields: Fields, undo: Callable[[Fields], Fields]) -> Callable[[], Fields]:
    return lambda: undo(fields)


def _header_candidates(
    fields: Fields, body: Body | None, is_unsigned: Callable[[str], bool]
) -> Iterator[_Candidate[Fields]]:
    """Single edits, likeliest first; then pairs of the first MAX_CHANGE_SEARCH_PAIRED of
    them that touch different fields."""
    hashed = [f for f in fields if f.valid and not is_unsigned(f.lname)]
    # Each candidate hashes every field: charged by its octets and, per field, the Python
    # work canonicalising one costs (2,533 From fields once took 6-14 s, found by make fuzz).
    size = sum(len(f.raw) for f in fields) + limits.CHANGE_SEARCH_FIELD_COST * len(fields)
    pairable: list[_HeaderUndo] = []
    singles = itertools.chain(
        _doubled_line_ends(fields),
        _subject_tags(hashed),
        _list_fields(hashed),
        _transfer_encoding(hashed),
        _wrapped_type(fields, hashed, body),
        _originals(fields, is_unsigned),
        _lost_folds(fields),
        _refolds(hashed),
        _removals(hashed),
    )
    for one in singles:
        if len(pairable) < limits.MAX_CHANGE_SEARCH_PAIRED:
            pairable.append(one)
        yield _Candidate((one.edit,), size, _applied(fields, one.undo))
    for a, b in itertools.combinations(pairable, 2):
        if not a.touches & b.touches:
            yield _Candidate((a.edit, b.edit), size, _applied(fields, _then(a.undo, b.undo)))
