"""Property-based tests of the message splitter and of bodies (analysis.message), and of
canonicalisation (analysis.dkim2.canonical, S06 §6; analysis.dkim1, RFC 6376 §3.4).

Properties: any octets parse without an exception, and the fields, the separator and the body
put back together are the message in network-normal form; every field is one line and its
continuations; a body of several pieces (as a recipe rebuilds it, Body.from_pieces) answers
every line question as a naive split of its octets does, and its hashes are the hashes of its
octets, with and without the hash memo; the line-end index and the shared-prefix search agree
with plain bytes methods at any block size; canonicalisation is idempotent.  Derandomised and
database-less.
"""

from __future__ import annotations

import hashlib
import re
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import limits
from analysis import message as message_module
from analysis.dkim1 import canonical_body
from analysis.dkim2.canonical import canonical_header_line, canonical_signing_line
from analysis.message import (
    CRLF,
    Body,
    HashMemo,
    HeaderField,
    LineIndex,
    parse_message,
    shared_lines,
    shared_octets,
)

PROPERTY = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Octets that make line structure: CRLF, bare CR and LF, blanks, a colon, 8-bit, letters.
CHUNK = st.sampled_from(
    [b"\r\n", b"\r\n", b"\r", b"\n", b" ", b"\t", b":", b"a", b"Subject", b"\xff", b"\x00"]
)
OCTETS = st.lists(CHUNK, max_size=40).map(b"".join) | st.binary(max_size=80)
MESSAGE = st.one_of(
    OCTETS,
    st.builds(
        lambda head, body: head + b"\r\n\r\n" + body,
        OCTETS,
        OCTETS,
    ),
    st.builds(lambda body: b"From x@y Thu Jan 1\r\nA: b\r\n\r\n" + body, OCTETS),
)


# -- the header splitter -------------------------------------------------------------------------


@PROPERTY
@given(MESSAGE)
def test_fields_separator_and_body_put_back_together_are_the_normalised_message(
    raw: bytes,
) -> None:
    parsed = parse_message(raw)
    assert not parsed.fatal
    data = parsed.normalised
    assert data.count(b"\n") == data.count(CRLF)  # network-normal form: no bare LF
    head = b"".join(f.raw for f in parsed.fields)
    body = parsed.body.to_bytes()
    assert data.startswith(head) and data.endswith(body)
    assert data[len(head) : len(data) - len(body)] in (b"", CRLF)
    assert len(parsed.fields) <= limits.MAX_HEADER_FIELDS


@PROPERTY
@given(MESSAGE)
def test_every_field_is_one_line_and_its_continuations(raw: bytes) -> None:
    fields = parse_message(raw).fields
    for k, f in enumerate(fields):
        lines = f.raw.split(CRLF)
        if f.raw.endswith(CRLF):
            lines.pop()
        assert lines, f
        assert all(line[:1] in (b" ", b"\t") for line in lines[1:]), f
        assert k == 0 or f.raw[:1] not in (b" ", b"\t"), f
        assert k == len(fields) - 1 or f.raw.endswith(CRLF), f
        if f.valid:
            colon = f.raw.index(b":")
            assert f.raw.find(CRLF) == -1 or colon < f.raw.find(CRLF)
            assert f.name.encode("latin-1") == f.raw[:colon].rstrip(b" \t")
            assert all(33 <= c <= 126 for c in f.raw[: len(f.name)])
            assert f.value == f.raw[colon + 1 :].removesuffix(CRLF)


# -- bodies: a naive reference over the octets ----------------------------------------------------


def naive_lines(data: bytes) -> list[bytes]:
    parts = data.split(CRLF)
    if parts[-1] == b"":
        parts.pop()
    return parts


def naive_line_start(data: bytes, number: int) -> int:
    lines = naive_lines(data)
    if number > len(lines):
        return len(data)
    return sum(len(line) + 2 for line in lines[: max(number, 1) - 1])


def naive_canonical(data: bytes) -> bytes:
    """S06 §6.1 "simple": empty lines at the end removed, one CRLF ending the body."""
    while data.endswith(CRLF):
        data = data[:-2]
    return data + CRLF


BODY = st.lists(st.sampled_from([b"\r\n", b"\r\n", b"ab", b"\r", b"\n", b"c", b"\r\n\r\n"])).map(
    b"".join
)


@st.composite
def bodies(draw: st.DrawFn) -> Body:
    """A body of one view, or of pieces of several buffers cut at line ends (as rebuilt)."""
    data = draw(BODY)
    if draw(st.integers(0, 3)) == 0:
        pad = draw(st.binary(max_size=4))
        return Body(pad + data + draw(st.binary(max_size=4)), len(pad), len(pad) + len(data))
    # Cut after some of the CRLFs: every piece but the last then ends with CRLF.
    cuts = [m.end() for m in re.finditer(b"\r\n", data) if draw(st.booleans())]
    pieces = []
    start = 0
    shared = b"\r\n" + data + b"\r\n"  # one buffer several pieces may be views of
    for end in [*cuts, len(data)]:
        chunk = data[start:end]
        if draw(st.booleans()) and shared.find(chunk, 2) >= 0:
            at = shared.find(chunk, 2)
            pieces.append((shared, at, at + len(chunk)))
        else:
            pad = draw(st.binary(max_size=3)) + draw(st.sampled_from([b"", b"\r"]))
            pieces.append((pad + chunk + b"\n", len(pad), len(pad) + len(chunk)))
        start = end
    return Body.from_pieces(pieces)


POSITIONS = st.tuples(st.integers(0, 60), st.integers(0, 60))


@PROPERTY
@given(bodies(), POSITIONS, st.integers(-1, 30))
def test_a_body_of_pieces_answers_line_questions_as_a_naive_split_does(
    body: Body, span: tuple[int, int], number: int
) -> None:
    data = body.to_bytes()
    start, end = span
    assert len(body) == len(data)
    assert body.line_count() == len(naive_lines(data))
    assert body.line_start(number) == naive_line_start(data, number)
    assert body.lines_span(number, number + 2) == (
        naive_line_start(data, number),
        naive_line_start(data, number + 3),
    )
    assert body.count_line_ends(start, end) == data[start:end].count(CRLF)
    assert body.find_line_end(start, end) == data.find(CRLF, start, end)
    assert body.rfind_line_end(start, end) == data.rfind(CRLF, start, end)
    assert body.to_bytes(start, end) == data[start:end]
    assert b"".join(body.chunks(start, end)) == data[start:end]
    assert body.ends_with_line_end(end) == (end <= len(data) and data[:end].endswith(CRLF))
    assert body.lines() == naive_lines(data)


@PROPERTY
@given(bodies(), st.integers(0, 30), st.integers(0, 30))
def test_the_lines_of_a_range_of_whole_lines_are_its_naive_lines(
    body: Body, first: int, count: int
) -> None:
    data = body.to_bytes()
    start, end = body.line_start(first), body.line_start(first + count)
    got = [bytes(buf[lo:hi]) for buf, lo, hi in body.line_spans(start, end)]
    assert got == naive_lines(data[start:end])


@PROPERTY
@given(bodies(), st.sampled_from(["sha256", "sha512"]))
def test_the_hashes_of_a_body_of_pieces_are_the_hashes_of_its_octets(
    body: Body, algorithm: str
) -> None:
    data = body.to_bytes()
    assert body.hash(algorithm) == hashlib.new(algorithm, naive_canonical(data)).digest()
    assert body.digest(algorithm) == hashlib.new(algorithm, data).digest()
    assert body.canonical_end() == len(naive_canonical(data)) - 2
    assert body.same_as(Body.of(data))


@PROPERTY
@given(st.lists(bodies(), min_size=1, max_size=4), st.integers(1, 8))
def test_the_hash_memo_gives_every_body_the_hash_of_its_own_octets(
    family: list[Body], step: int
) -> None:
    # Bodies sharing pieces (each the previous plus one more piece or one less), hashed through
    # one memo with a checkpoint every few octets, as a chain's instances are.
    memo = HashMemo()
    prefixes = [Body.from_pieces(b.pieces[:k]) for b in family for k in range(len(b.pieces))]
    with mock.patch.object(HashMemo, "STEP", step):
        for body in [*family, *prefixes, *reversed(family)]:
            data = body.to_bytes()
            assert body.hash("sha256", memo) == hashlib.sha256(naive_canonical(data)).digest()
            assert body.digest("sha256", memo) == hashlib.sha256(data).digest()


@PROPERTY
@given(BODY, st.integers(1, 6), POSITIONS)
def test_the_line_end_index_counts_as_bytes_count_does_at_any_block_size(
    data: bytes, block_bits: int, span: tuple[int, int]
) -> None:
    index = LineIndex()
    with mock.patch.object(LineIndex, "BLOCK", 1 << block_bits):
        for start, end in [span, (0, len(data)), (span[0], len(data))]:
            assert index.count(data, start, end) == data.count(CRLF, start, end)


def naive_shared(a: bytes, b: bytes) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


@PROPERTY
@given(bodies(), bodies(), st.integers(1, 6))
def test_shared_octets_and_lines_agree_with_a_naive_comparison_at_any_block_size(
    a: Body, b: Body, block_bits: int
) -> None:
    x, y = a.to_bytes(), b.to_bytes()
    with mock.patch.object(message_module, "_BLOCK", 1 << block_bits):
        limit = min(len(x), len(y))
        assert shared_octets(a, b, limit) == naive_shared(x, y)
        assert shared_octets(a, b, limit, reverse=True) == naive_shared(x[::-1], y[::-1])
        p, s = shared_lines(a, b)
    # p: the whole lines of the longest common prefix; s: whole lines of a common suffix.
    q = x.rfind(CRLF, 0, naive_shared(x, y))
    assert p == (q + 2 if q >= 0 else 0)
    assert x[:p] == y[:p]
    assert p + s <= limit
    assert s == 0 or x[-s:] == y[-s:]
    for data in (x, y):
        assert s in (0, len(data)) or data[: len(data) - s].endswith(CRLF)


# -- canonicalisation: idempotent, and as the naive rules say -------------------------------------

VALUE = st.lists(
    st.sampled_from(
        [
            b" ",
            b"\t",
            b"\r\n ",
            b"\r\n\t",
            b"a",
            b"B",
            b"\r",
            b"\n",
            b"\x0b",
            b"\x0c",
            b"\x1c",
            b"\xe9",
        ]
    )
).map(b"".join)


@PROPERTY
@given(st.sampled_from([b"Subject", b"FROM", b"x-A"]), st.sampled_from([b"", b" ", b"\t "]), VALUE)
def test_header_canonicalisation_follows_the_naive_rules_and_is_idempotent(
    name: bytes, blank: bytes, value: bytes
) -> None:
    field = HeaderField(name.decode(), name + blank + b":" + value + CRLF)
    line = canonical_header_line(field)
    unfolded = value.replace(CRLF, b"")
    expected = re.sub(rb"[ \t]+", b" ", unfolded).strip(b" ")
    assert line == name.lower() + b":" + expected + CRLF
    again = HeaderField(name.lower().decode(), line)
    assert canonical_header_line(again) == line
    signing = canonical_signing_line(field)
    assert canonical_signing_line(HeaderField(name.decode(), signing)) == signing
    assert signing == name.lower() + b":" + unfolded.replace(b" ", b"").replace(b"\t", b"") + CRLF


@PROPERTY
@given(BODY.map(lambda b: b.replace(b"ab", b"a \t b ")), st.sampled_from(["simple", "relaxed"]))
def test_body_canonicalisation_is_idempotent(data: bytes, algorithm: str) -> None:
    once = canonical_body(data, algorithm)
    assert canonical_body(once, algorithm) == once
    body = Body.of(data)
    assert Body.of(naive_canonical(data)).hash("sha256") == body.hash("sha256")
