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
* A leading UTF-8 byte order mark (an editor's, EF BB BF) and a leading mbox ``From ``
  line are dropped, each with a note: neither is part of the message, and the mark would
  hide the first field's name.  ``size`` stays the size as received.
* The header block ends at the first empty line.  A line starting with WSP
  continues the previous field; a line with no colon is malformed and is kept
  out of every hash (reported).
* The body is never copied: :class:`Body` is a view on the raw buffer (the
  instances a chain rebuilds are pieces of it and of their recipes' literals), and
  all body work (hashing, line counting, slicing) uses C-speed bytes methods with
  start/end arguments.  Memory is the message, its CRLF form when it had bare LF,
  and small objects: never one object per line.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import limits
from .findings import Finding, Severity, State, Step, note

CRLF = b"\r\n"
#: The UTF-8 byte order mark (U+FEFF as UTF-8), which some editors write at a file's start.
UTF8_BOM = b"\xef\xbb\xbf"

#: 2048 empty lines, stripped at once from a body's end by :meth:`Body.canonical_end`.
_EMPTY_LINES = CRLF * 2048

#: One piece of a body: the octets ``buf[start:end]``.
Piece = tuple[bytes, int, int]


class HeaderField:
    """One header field as it appears in the message."""

    __slots__ = ("_text", "lname", "name", "raw", "valid", "value")

    def __init__(
        self,
        name: str,
        raw: bytes,
        valid: bool = True,
        lname: str | None = None,
        value: bytes | None = None,
    ) -> None:
        self.name = name  # as written (latin-1 decoded), without trailing WSP
        # ``lname``: the lower-case name when the caller has it (many rebuilt fields of one
        # name share it instead of holding a copy each).
        self.lname = lname if lname is not None else name.lower()
        self.raw = raw  # full field: name ":" value, folds and final CRLF
        self.valid = valid  # False for a line without a colon
        if value is None:
            colon = raw.find(b":")
            if colon < 0:
                value = b""
            else:
                value = raw[colon + 1 : -2] if raw.endswith(CRLF) else raw[colon + 1 :]
        #: The octets after the colon, without the final CRLF (``value``: the caller's
        #: slice of ``raw`` when it found the colon already).  Fields never change: it is
        #: kept, not cut again on every use.
        self.value: bytes = value
        self._text: str | None = None

    def text(self) -> str:
        """The field for display: unfolded value, undecodable octets replaced."""
        found = self._text
        if found is None:
            found = self._text = self.value.replace(CRLF, b"").decode("utf-8", "replace").strip()
        return found

    @classmethod
    def build(cls, name: str, value: str | bytes, lname: str | None = None) -> HeaderField:
        if isinstance(value, str):
            value = value.encode("utf-8")
        return cls(name, name.encode("latin-1") + b":" + value + CRLF, lname=lname)

    def __repr__(self) -> str:
        return f"HeaderField({self.name!r}, {self.raw!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HeaderField) and self.raw == other.raw

    def __hash__(self) -> int:
        return hash(self.raw)


class Body:
    """A body as pieces of buffers, never copied: ``Body(buf, start, end)`` is one view.

    The received body is one piece, a view of the message buffer.  A body a recipe rebuilt
    (:func:`analysis.dkim2.recipes.apply_body_recipe`) is the pieces its copy steps took from
    the body above it plus small new buffers for its literal lines, so every rebuilt instance
    shares the received message's octets instead of holding a copy of them: memory grows with
    the number of pieces, not with the instances' sizes.  Every piece but the last ends with
    CRLF (recipes copy and emit whole lines), so no line and no CRLF spans two pieces.

    Lines (for recipes, S06 §5.2) are numbered from 1 and separated by CRLF; a trailing
    partial line counts as a line (SPEC-NOTES §11 A11).  Offsets are logical: 0 is the first
    octet of the body, whichever piece holds it.  All work on the octets (hashing, counting,
    finding line ends) uses C-speed bytes methods over each piece.
    """

    __slots__ = ("_crlfs", "_digests", "_line_cum", "_offsets", "_pos_cache", "index", "pieces")

    def __init__(self, buf: bytes, start: int = 0, end: int | None = None) -> None:
        end = len(buf) if end is None else end
        self.pieces: tuple[Piece, ...] = ((buf, start, end),) if end > start else ()
        self._offsets = [0, end - start] if end > start else [0]
        self._line_cum: list[int] | None = None
        self._crlfs: list[int] | None = None
        self._pos_cache: tuple[int, int, int] = (0, 1, start)  # (piece, line in it, offset)
        #: Canonical body hashes made so far, by algorithm (a body's octets never change).
        self._digests: dict[str, bytes] = {}
        #: Line-end counts of the buffers, shared by every body rebuilt from this one.
        self.index = LineIndex()

    @classmethod
    def of(cls, data: bytes) -> Body:
        return cls(data, 0, len(data))

    @classmethod
    def from_pieces(cls, pieces: Iterable[Piece], index: LineIndex | None = None) -> Body:
        """A body of ``pieces`` in order (adjacent views of one buffer are merged);
        ``index``: the line-end counts of the body the pieces come from.

        ValueError unless every piece but the last ends with CRLF (see the class docs)."""
        merged: list[Piece] = []
        for buf, start, end in pieces:
            if end <= start:
                continue
            if merged:
                pbuf, pstart, pend = merged[-1]
                if pbuf is buf and pend == start:
                    merged[-1] = (buf, pstart, end)
                    continue
                if not pbuf.endswith(CRLF, pstart, pend):
                    raise ValueError("every piece of a body but the last must end with CRLF")
            merged.append((buf, start, end))
        body = cls(b"")
        if index is not None:
            body.index = index
        body.pieces = tuple(merged)
        offsets = [0]
        for _, start, end in merged:
            offsets.append(offsets[-1] + end - start)
        body._offsets = offsets
        if merged:
            body._pos_cache = (0, 1, merged[0][1])
        return body

    def __len__(self) -> int:
        return self._offsets[-1]

    def spans(self, start: int = 0, end: int | None = None) -> Iterator[tuple[int, Piece]]:
        """``(k, (buf, lo, hi))`` for each piece ``k`` overlapping the logical range
        ``[start, end)``, cut to it: views, no copy."""
        end = len(self) if end is None else min(end, len(self))
        if start >= end:
            return
        offsets = self._offsets
        k = bisect.bisect_right(offsets, start) - 1
        while k < len(self.pieces) and offsets[k] < end:
            piece = buf, s, e = self.pieces[k]
            lo = s + max(0, start - offsets[k])
            hi = s + min(e - s, end - offsets[k])
            if lo == s and hi == e:
                yield k, piece  # the same tuple: bodies rebuilt from this one share it
            elif hi > lo:
                yield k, (buf, lo, hi)
            k += 1

    def chunks(self, start: int = 0, end: int | None = None) -> Iterator[memoryview]:
        """The octets of ``[start, end)`` (logical offsets), piece by piece, without copying."""
        for _, (buf, lo, hi) in self.spans(start, end):
            yield memoryview(buf)[lo:hi]

    def to_bytes(self, start: int = 0, end: int | None = None) -> bytes:
        """The octets of ``[start, end)`` as one bytes object: a copy, except for a body that
        is one whole buffer.  Not for the hot path: prefer :meth:`chunks`."""
        if start == 0 and end is None and len(self.pieces) == 1:
            buf, s, e = self.pieces[0]
            if s == 0 and e == len(buf):
                return buf
        return b"".join(self.chunks(start, end))

    def same_as(self, other: Body) -> bool:
        if self.pieces == other.pieces:
            return True
        if len(self) != len(other):
            return False
        return all(a == b for a, b in aligned_chunks(self, other))

    def ends_with_line_end(self, end: int | None = None) -> bool:
        """True when ``[0, end)`` ends with CRLF."""
        end = len(self) if end is None else end
        return end >= 2 and self.to_bytes(end - 2, end) == CRLF

    # -- canonical form and hash (S06 §6.1, SPEC-NOTES §3.3) -------------------

    def canonical_end(self) -> int:
        """Offset where the canonical body stops before its single final CRLF.

        "Simple" body canonicalisation: every empty line at the end is removed
        and one CRLF ends the body (an empty body becomes one CRLF).  Trailing
        CRLF pairs are stripped 4 KiB at a time, so a hostile body of millions
        of empty lines costs a few thousand C-speed comparisons.
        """
        block = _EMPTY_LINES
        for k in range(len(self.pieces) - 1, -1, -1):
            buf, start, j = self.pieces[k]
            while buf.endswith(block, start, j):
                j -= len(block)
            while buf.endswith(CRLF, start, j):
                j -= 2
            if j > start:
                return self._offsets[k] + j - start
            # A piece of nothing but CRLFs: the pieces before it may end in empty lines too.
        return 0

    def hash(self, algorithm: str, memo: HashMemo | None = None) -> bytes:
        """The body hash (S06 §6.1): the canonical body hashed with ``algorithm``.

        ``memo`` keeps hash states of bodies that begin with the same pieces, so the
        instances of one chain (which share the received message's octets) are hashed
        about once, not once each."""
        found = self._digests.get(algorithm)
        if found is None:
            found = self._digests[algorithm] = _digest(
                self, algorithm, self.canonical_end(), CRLF, memo
            )
        return found

    def digest(self, algorithm: str, memo: HashMemo | None = None) -> bytes:
        """``algorithm`` over the body's octets as they are (not canonicalised).

        A body that ends with one CRLF and no empty line is its own canonical form: its
        digest is the body hash the verification made already, not a second pass over it."""
        end = len(self)
        if end >= 2 and self.canonical_end() == end - 2 and self.ends_with_line_end():
            return self.hash(algorithm, memo)
        return _digest(self, algorithm, end, b"", memo)

    # -- lines ------------------------------------------------------------------

    def _counts(self) -> tuple[list[int], list[int]]:
        if self._line_cum is None or self._crlfs is None:
            cum = [0]
            crlfs = []
            last = len(self.pieces) - 1
            for k, (buf, start, end) in enumerate(self.pieces):
                n = self.index.count(buf, start, end)
                crlfs.append(n)
                partial = k == last and not buf.endswith(CRLF, start, end)
                cum.append(cum[-1] + n + (1 if partial else 0))
            self._line_cum, self._crlfs = cum, crlfs
        return self._line_cum, self._crlfs

    def line_count(self) -> int:
        return self._counts()[0][-1]

    def line_start(self, number: int) -> int:
        """Offset of the first octet of line ``number`` (1-based); ``len`` past the last.

        Walks from the nearest known point (the last answer, the start or the end of the
        piece holding the line) with C-speed ``count``/``find``/``rfind`` over blocks, never
        a Python loop per line of the whole body.
        """
        cum, crlfs = self._counts()
        if number > cum[-1]:
            return len(self)
        if number <= 1:
            return 0
        k = bisect.bisect_left(cum, number) - 1  # line `number` starts in piece k
        rel = number - cum[k]  # its number inside the piece, from 1
        buf, start, end = self.pieces[k]
        ck, cline, cpos = self._pos_cache
        if ck != k or cline > rel:
            cline, cpos = 1, start
        back = crlfs[k] - rel + 2  # CRLFs to step back over from the piece's end
        if rel == 1:
            pos = start
        elif back <= 64 and back < rel - cline:
            q = end
            for _ in range(back):
                q = buf.rfind(CRLF, start, q)
            pos = q + 2
        else:
            pos = _skip_line_ends(buf, cpos, end, rel - cline)
        self._pos_cache = (k, rel, pos)
        return self._offsets[k] + pos - start

    def lines_span(self, first: int, last: int) -> tuple[int, int]:
        """Byte span covering lines ``first..last`` inclusive, each with its CRLF."""
        a = self.line_start(first)
        b = self.line_start(last + 1)
        return a, b

    def count_line_ends(self, start: int = 0, end: int | None = None) -> int:
        """CRLFs inside ``[start, end)``."""
        return sum(self.index.count(buf, lo, hi) for _, (buf, lo, hi) in self.spans(start, end))

    def find_line_end(self, start: int, end: int | None = None) -> int:
        """Offset of the first CRLF inside ``[start, end)``, or -1."""
        for k, (buf, lo, hi) in self.spans(start, end):
            q = buf.find(CRLF, lo, hi)
            if q >= 0:
                return self._offsets[k] + q - self.pieces[k][1]
        return -1

    def rfind_line_end(self, start: int, end: int) -> int:
        """Offset of the last CRLF inside ``[start, end)``, or -1."""
        for k, (buf, lo, hi) in reversed(list(self.spans(start, end))):
            q = buf.rfind(CRLF, lo, hi)
            if q >= 0:
                return self._offsets[k] + q - self.pieces[k][1]
        return -1

    def line_spans(self, start: int, end: int) -> Iterator[Piece]:
        """``(buf, lo, hi)`` of each line starting in ``[start, end)``, without its CRLF (a
        line never spans two pieces).  One Python step per line: for bounded ranges."""
        for _, (buf, lo, hi) in self.spans(start, end):
            pos = lo
            while pos < hi:
                q = buf.find(CRLF, pos, hi)
                if q < 0:
                    yield buf, pos, hi
                    break
                yield buf, pos, q
                pos = q + 2

    def lines(self) -> list[bytes]:
        """All lines without their CRLF (one object per line: for small bodies only)."""
        data = self.to_bytes()
        parts = data.split(CRLF)
        if parts and parts[-1] == b"":
            parts.pop()
        return parts


def _skip_line_ends(buf: bytes, pos: int, end: int, count: int) -> int:
    """The offset just after the ``count``-th CRLF of ``buf[pos:end]`` (``end`` if fewer):
    blocks are counted at C speed, only the last few line ends are found one by one."""
    block = 1 << 14
    while count > 64 and pos < end:
        stop = min(pos + block, end)
        if stop < end and buf[stop - 1 : stop + 1] == CRLF:
            stop -= 1  # a CRLF straddles the block edge: leave it to the next block
        n = buf.count(CRLF, pos, stop)
        if n >= count:
            break
        count -= n
        pos = stop
    while count > 0:
        nxt = buf.find(CRLF, pos, end)
        if nxt < 0:
            return end
        pos = nxt + 2
        count -= 1
    return pos


def aligned_chunks(a: Body, b: Body) -> Iterator[tuple[memoryview, memoryview]]:
    """Pairs of equally long views of ``a`` and ``b`` from the start, cut at both bodies'
    piece edges, until the shorter one ends."""
    ia, ib = a.chunks(), b.chunks()
    ca = next(ia, None)
    cb = next(ib, None)
    while ca is not None and cb is not None:
        n = min(len(ca), len(cb))
        yield ca[:n], cb[:n]
        ca = ca[n:] if n < len(ca) else next(ia, None)
        cb = cb[n:] if n < len(cb) else next(ib, None)


#: Octets compared at once when looking for where two bodies start (or stop) differing.
_BLOCK = 1 << 16


def _equal(a: Piece, b: Piece, n: int, *, reverse: bool = False) -> bool:
    """Whether ``n`` octets of two pieces are equal: from their starts, or (``reverse``)
    ending at their ends.  Views of the same octets are equal without a comparison."""
    abuf, alo, ahi = a
    bbuf, blo, bhi = b
    if reverse:
        if abuf is bbuf and ahi == bhi:
            return True
        return abuf.endswith(memoryview(bbuf)[bhi - n : bhi], ahi - n, ahi)
    if abuf is bbuf and alo == blo:
        return True
    return abuf.startswith(memoryview(bbuf)[blo : blo + n], alo)


def _paired(a: Body, b: Body, *, reverse: bool = False) -> Iterator[tuple[Piece, Piece, int]]:
    """Equally long stretches of ``a`` and ``b`` from their starts (or ends), cut at both
    bodies' piece edges, until the shorter one ends: ``(piece of a, piece of b, length)``."""
    pa = [p for _, p in a.spans()]
    pb = [p for _, p in b.spans()]
    if reverse:
        pa.reverse()
        pb.reverse()
    ia, ib = iter(pa), iter(pb)
    x, y = next(ia, None), next(ib, None)
    while x is not None and y is not None:
        n = min(x[2] - x[1], y[2] - y[1])
        yield x, y, n
        if reverse:
            x = (x[0], x[1], x[2] - n) if x[2] - x[1] > n else next(ia, None)
            y = (y[0], y[1], y[2] - n) if y[2] - y[1] > n else next(ib, None)
        else:
            x = (x[0], x[1] + n, x[2]) if x[2] - x[1] > n else next(ia, None)
            y = (y[0], y[1] + n, y[2]) if y[2] - y[1] > n else next(ib, None)


def shared_octets(a: Body, b: Body, limit: int, *, reverse: bool = False) -> int:
    """Octets ``a`` and ``b`` share at their start (or ``reverse``: at their end), at most
    ``limit``: C-speed comparisons of blocks (none at all where both are views of the same
    octets), then a bisection inside the first block that differs."""
    total = 0
    for x, y, n in _paired(a, b, reverse=reverse):
        n = min(n, limit - total)
        if n <= 0:
            return total
        if _equal(x, y, n, reverse=reverse):
            total += n
            continue
        for k in range(0, n, _BLOCK):
            m = min(_BLOCK, n - k)
            xk, yk = _advance(x, k, reverse), _advance(y, k, reverse)
            if not _equal(xk, yk, m, reverse=reverse):
                lo, hi = 0, m  # the first lo octets from k are equal; all m are not
                while lo < hi:
                    mid = (lo + hi + 1) // 2
                    if _equal(xk, yk, mid, reverse=reverse):
                        lo = mid
                    else:
                        hi = mid - 1
                return total + k + lo
        return total + n  # not reached: the whole stretch was found unequal
    return total


def _advance(p: Piece, k: int, reverse: bool) -> Piece:
    buf, lo, hi = p
    return (buf, lo, hi - k) if reverse else (buf, lo + k, hi)


def shared_lines(a: Body, b: Body) -> tuple[int, int]:
    """The whole lines ``a`` and ``b`` share at their start and at their end, as octets:
    ``(p, s)``, with ``a[:p] == b[:p]`` ending at a line start and ``a[-s:] == b[-s:]``
    starting at one in both (the two never overlap)."""
    la, lb = len(a), len(b)
    p = shared_octets(a, b, min(la, lb))
    q = a.rfind_line_end(0, p) if p else -1
    p = q + 2 if q >= 0 else 0  # back to the start of a line
    s = shared_octets(a, b, min(la, lb) - p, reverse=True)
    # The shared end must start right after a line end in both bodies (or at a body's
    # start): the octet before it differs between them, so only a line end inside the
    # shared part will do.
    if s and not (
        (s == la or a.ends_with_line_end(la - s)) and (s == lb or b.ends_with_line_end(lb - s))
    ):
        q = a.find_line_end(la - s)
        s = la - (q + 2) if q >= 0 else 0
    return p, s


class LineIndex:
    """CRLF counts of the buffers bodies are made of, each buffer's line ends counted about
    once (issue #13: lines are counted once).

    * The message buffer's total is known from parsing (:meth:`seed`: the line ends were
      counted to check them), so a range that covers most of it (a body, or a rebuilt one
      that lost a footer) is counted from what lies outside it: the header block and the
      few lines past its end.
    * Large buffers are counted once more at every :data:`BLOCK` octets, so that counting
      any range of them reads at most two blocks.

    The bodies of one chain are ranges of the same message buffer: without it, each rebuilt
    instance (and each diff's line numbering) would count through the whole body again."""

    BLOCK = 1 << 16

    def __init__(self) -> None:
        self._cumulative: dict[int, tuple[bytes, list[int]]] = {}
        self._totals: dict[int, tuple[bytes, int]] = {}
        self._prefixes: dict[tuple[int, int], int] = {}

    def seed(self, buf: bytes, total: int) -> None:
        """``buf`` holds ``total`` CRLFs (counted by the caller)."""
        self._totals[id(buf)] = (buf, total)

    def count(self, buf: bytes, start: int, end: int) -> int:
        """CRLFs inside ``buf[start:end]``."""
        end = min(end, len(buf))
        if end <= start:
            return 0
        seeded = self._totals.get(id(buf))
        if seeded is not None and start + (len(buf) - end) < end - start:
            # Fewer octets outside the range than inside: count those.
            n = seeded[1] - self._prefix(buf, start) - count_line_ends(buf, end)
            return n - _straddles(buf, start) - _straddles(buf, end)
        if end - start < 4 * self.BLOCK:
            return count_line_ends(buf, start, end)
        # One straddling start was counted up to end, but it begins before start.
        return self._to(buf, end) - self._to(buf, start) - _straddles(buf, start)

    def _prefix(self, buf: bytes, x: int) -> int:
        """CRLFs inside ``buf[:x]`` (kept: the bodies of a chain start at the same offset)."""
        key = (id(buf), x)
        found = self._prefixes.get(key)
        if found is None:
            found = self._prefixes[key] = count_line_ends(buf, 0, x)
        return found

    def _to(self, buf: bytes, x: int) -> int:
        """CRLFs inside ``buf[:x]``."""
        found = self._cumulative.get(id(buf))
        if found is None:
            cum = [0]
            for edge in range(self.BLOCK, len(buf) + 1, self.BLOCK):
                cum.append(self._to_block(buf, cum[-1], edge - self.BLOCK, edge))
            found = self._cumulative[id(buf)] = (buf, cum)
        cum = found[1]
        k = x // self.BLOCK
        return self._to_block(buf, cum[k], k * self.BLOCK, x)

    @staticmethod
    def _to_block(buf: bytes, before: int, edge: int, x: int) -> int:
        """CRLFs inside ``buf[:x]``, knowing ``before`` of them are inside ``buf[:edge]``."""
        n = before + count_line_ends(buf, edge, x)
        return n + (_straddles(buf, edge) if edge < x else 0)  # the one straddling edge


def _straddles(buf: bytes, x: int) -> int:
    """1 when a CRLF of ``buf`` straddles offset ``x`` (its CR before, its LF at ``x``)."""
    return 1 if 0 < x < len(buf) and buf[x - 1] == 13 and buf[x] == 10 else 0


class HashMemo:
    """Hash states of bodies that begin alike, kept at checkpoints (one analysis's cache).

    The instances a chain rebuilds share the received message's octets, piece for piece: an
    instance a footer was added to is the instance below it plus one line.  A state is kept
    at checkpoints of each piece (:meth:`step`), keyed by everything hashed before the piece
    (an interned id of the pieces before it) and where the piece starts, so hashing the next
    body that begins with the same pieces resumes from the last checkpoint it shares.
    """

    #: Checkpoints are at most this far apart: a body that ends inside a piece another body
    #: hashed rehashes at most this much of it.
    STEP = 1 << 20
    #: ... and at least this far: a state's copy costs about what hashing 300 octets does.
    MIN_STEP = 1 << 14
    #: ... and about this many to a piece between the two.
    PER_PIECE = 64

    @classmethod
    def step(cls, octets: int) -> int:
        """The distance between a piece's checkpoints: a 50 KB body gets three, so the
        instances of a chain whose hops add footers hash its octets about once (issue #13),
        and a 25 MB one 64, each a few hundred KB apart."""
        return min(cls.STEP, max(cls.MIN_STEP, octets // cls.PER_PIECE))

    def __init__(self) -> None:
        self._states: dict[tuple[str, int, int, int], list[tuple[int, Any]]] = {}
        self._prefixes: dict[tuple[int, int, int, int], int] = {}
        self._keep: list[bytes] = []  # the buffers keyed by id(): alive while the memo is

    def prefix(self, before: int, piece: Piece) -> int:
        buf, start, end = piece
        key = (before, id(buf), start, end)
        found = self._prefixes.get(key)
        if found is None:
            found = self._prefixes[key] = len(self._prefixes) + 1
            self._keep.append(buf)
        return found

    def resume(
        self, algorithm: str, before: int, buf: bytes, start: int, end: int
    ) -> tuple[int, Any] | None:
        """The latest state within ``buf[start:end]`` after the prefix ``before``, if kept."""
        states = self._states.get((algorithm, before, id(buf), start))
        if not states:
            return None
        best = None
        for pos, state in states:
            if pos <= end and (best is None or pos > best[0]):
                best = (pos, state)
        return None if best is None else (best[0], best[1].copy())

    def keep(
        self, algorithm: str, before: int, buf: bytes, start: int, pos: int, state: Any
    ) -> None:
        key = (algorithm, before, id(buf), start)
        states = self._states.get(key)
        if states is None:
            states = self._states[key] = []
            self._keep.append(buf)  # the buffer its id() keys, kept once
        if all(p != pos for p, _ in states):
            states.append((pos, state.copy()))


def _digest(body: Body, algorithm: str, end: int, tail: bytes, memo: HashMemo | None) -> bytes:
    h = hashlib.new(algorithm)
    if memo is None:
        for chunk in body.chunks(0, end):
            h.update(chunk)
        h.update(tail)
        return h.digest()
    before = 0
    for _, (buf, lo, hi) in body.spans(0, end):
        piece_start = lo
        found = memo.resume(algorithm, before, buf, piece_start, hi)
        pos = piece_start
        if found is not None:
            pos, h = found
        view = memoryview(buf)
        every = HashMemo.step(hi - piece_start)
        while pos < hi:
            step = min(hi, pos + every)
            h.update(view[pos:step])
            pos = step
            if pos - piece_start >= every:
                memo.keep(algorithm, before, buf, piece_start, pos, h)
        before = memo.prefix(before, (buf, piece_start, hi))
    h.update(tail)
    return h.digest()


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


#: Octets compared at once by :func:`count_line_ends` (a few hundred KB stay in the cache).
LINE_END_BLOCK = 1 << 18
#: Below this many octets ``bytes.count`` is as quick (numpy's set-up is a few µs).
_VECTOR_FROM = 4096


def count_line_ends(buf: bytes, start: int = 0, end: int | None = None) -> int:
    """CRLFs inside ``buf[start:end]``: ``buf.count(CRLF, start, end)``, in a third of its
    time on large buffers (issue #13: a 25 MB message's line ends were checked by three
    passes costing 2.5 times its SHA-256).  ``bytes.count`` searches a two-octet pattern
    at about 1 GB/s; numpy compares each octet with CR and the next with LF, block by block,
    several times as fast."""
    end = len(buf) if end is None else min(end, len(buf))
    if end - start < _VECTOR_FROM:
        return buf.count(CRLF, start, end) if end > start else 0
    octets = np.frombuffer(buf, dtype=np.uint8)
    total = 0
    # A CRLF starts at i when start <= i and i + 1 < end.
    for lo in range(start, end - 1, LINE_END_BLOCK):
        hi = min(lo + LINE_END_BLOCK, end - 1)
        total += int(np.count_nonzero((octets[lo:hi] == 13) & (octets[lo + 1 : hi + 1] == 10)))
    return total


def line_octets(buf: bytes) -> tuple[int, int, int]:
    """``(CRs, LFs, CRLFs)`` of ``buf``: what :func:`parse_message` checks the line ends with.

    ``bytes.count`` of one octet is a plain loop, 1-3 GB/s (issue #13: counting LF, CRLF
    and CR was most of a 50 KB message's parse, and 20-50 ms of a 25 MB one's).  Here numpy
    compares each block once with CR and once with LF, and counts both and the pairs they
    make: about 4 GB/s for the three counts, in two blocks of memory."""
    n = len(buf)
    if n < _VECTOR_FROM:
        return buf.count(b"\r"), buf.count(b"\n"), buf.count(CRLF)
    octets = np.frombuffer(buf, dtype=np.uint8)
    # Two blocks of flags, reused: memory stays two blocks whatever the size.
    cr_flags = np.empty(min(n, LINE_END_BLOCK), dtype=np.bool_)
    lf_flags = np.empty_like(cr_flags)
    cr = lf = crlf = 0
    for lo in range(0, n, LINE_END_BLOCK):
        hi = min(lo + LINE_END_BLOCK, n)
        is_cr = np.equal(octets[lo:hi], 13, out=cr_flags[: hi - lo])
        is_lf = np.equal(octets[lo:hi], 10, out=lf_flags[: hi - lo])
        block_cr = int(np.count_nonzero(is_cr))
        block_lf = int(np.count_nonzero(is_lf))
        cr += block_cr
        lf += block_lf
        if block_cr and block_lf:
            pairs = np.logical_and(is_cr[:-1], is_lf[1:], out=is_cr[:-1])
            crlf += int(np.count_nonzero(pairs))
        crlf += _straddles(buf, hi)  # a CRLF whose CR ends this block
    return cr, lf, crlf


def normalise_line_ends(raw: bytes) -> tuple[bytes, Finding | None, int]:
    """Convert bare LF to CRLF (S06 §13 network-normal form).

    Returns the data, a finding if anything was converted, and the number of
    CRLF pairs in the result (so callers need not count again).
    """
    _, lf, crlf = line_octets(raw)
    return _normalised(raw, lf, crlf)


def _normalised(raw: bytes, lf: int, crlf: int) -> tuple[bytes, Finding | None, int]:
    """:func:`normalise_line_ends` of ``raw``, which holds ``lf`` LFs and ``crlf`` CRLFs.

    Either conversion puts a CR before every LF that lacked one: the result has ``lf``
    CRLFs, and its bare CRs are those of ``raw``."""
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

    cr, lf, crlf = line_octets(raw)
    data, conv, crlf_count = _normalised(raw, lf, crlf)
    bare_cr = cr - crlf  # the conversion adds a CR to every LF, no bare one
    if conv:
        findings.append(conv)
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
        findings.append(
            note(
                "message.byte-order-mark",
                "A UTF-8 byte order mark before the first header field was removed before "
                "verification",
                Step.MESSAGE,
                severity=Severity.INFO,
                detail=(
                    "The input starts with the octets EF BB BF, which an editor writes to mark "
                    "a file as UTF-8; they are not part of the message and would hide the "
                    "first field's name."
                ),
                spec="RFC 5322 §2.2; RFC 3629 §6",
            )
        )
    if data.startswith(b"From ") and b"\r\n" in data[:1000]:
        eol = data.index(CRLF)
        crlf_count -= 1
        bare_cr -= data.count(b"\r", 0, eol)
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
    body = Body(data, body_start, len(data))
    body.index.seed(data, crlf_count)  # counted above: the body's lines are not counted again
    return ParsedMessage(fields, body, size, data, findings)


#: The CRLF ending a field: one not followed by WSP (a line starting with WSP continues the
#: field above it).
_FIELD_END = re.compile(rb"\r\n(?![ \t])")
#: A field's name (printable US-ASCII but the colon, RFC 5322 §2.2), blanks and its colon.
_FIELD_NAME = re.compile(rb"([\x21-\x39\x3b-\x7e]+)[ \t]*:")


def _split_fields(data: bytes, header_end: int) -> tuple[list[HeaderField], list[Finding], bool]:
    """The fields of ``data[:header_end]``, its findings, and whether there were too many.

    A compiled search finds the CRLFs that end fields (one step per field, not per line; a
    first line starting with WSP starts a malformed field of its own, continued by the WSP
    lines after it); a field whose name is well formed is recognised by one match, the
    others are examined one check at a time."""
    fields: list[HeaderField] = []
    findings: list[Finding] = []
    raws: list[bytes] = []
    pos = 0
    too_many = limits.MAX_HEADER_FIELDS
    for m in _FIELD_END.finditer(data, 0, header_end):
        end = m.end()
        raws.append(data[pos:end])
        pos = end
        if len(raws) > too_many:
            break
    if pos < header_end:
        raws.append(data[pos:header_end])  # the block ends without a CRLF
    if len(raws) > too_many:
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
    malformed = 0
    bad_examples: list[str] = []
    match_name = _FIELD_NAME.match
    for raw in raws:
        named = match_name(raw)
        if named is not None:
            # A valid name, WSP, then the first colon: no CRLF or WSP before it.
            after = named.end()
            value = raw[after:-2] if raw.endswith(CRLF) else raw[after:]
            fields.append(HeaderField(named.group(1).decode("ascii"), raw, True, None, value))
            continue
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
    return b"".join([*(f.raw for f in fields), CRLF, *body.chunks()])
