"""Memory proportional to the message (issue #11, finding 2), whatever the message holds.

25 MB of ``x\\r\\n`` lines once took about 45 times the message: every body line became a
Python object (in the body diff, in each rebuilt instance), bare LF input more.  Now the
engine works on the message's buffer: rebuilt bodies are pieces of it
(:class:`analysis.message.Body`), diffs read only the changed lines, up to their bounds.

The bar (bench/verify.py measures it on 25 MB messages, as RSS): ``dkim2 verify`` needs at
most four times the message above the interpreter's own, the message included.  Here the
allocations made while analysing (tracemalloc), beyond the message the caller holds, must
stay within three times it.
"""

from __future__ import annotations

import itertools
import tracemalloc
from collections.abc import Callable

import pytest

from analysis import State, limits
from analysis.dkim2 import analyze
from analysis.message import Body, LineIndex
from analysis.message_report import analyze_message
from analysis.report_budget import size_of
from analysis.resolvers import StaticResolver
from tests.analysis.hostile_chains import SHAPES, shape

SIZE = 4 * 1024 * 1024


def peak_of(fn: Callable[[], object]) -> int:
    """The most memory allocated at once while ``fn`` ran (and what it returned lived)."""
    tracemalloc.start()
    try:
        kept = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del kept
    return peak


@pytest.mark.parametrize("name", SHAPES)
def test_dkim2_verify_allocates_at_most_three_times_the_message(name: str) -> None:
    s = shape(name, SIZE)
    results: list[State] = []

    def verify() -> object:
        report = analyze(s.raw, lookup=StaticResolver(s.zone), now=s.now)
        results.append(report.result)
        return report.to_json()

    peak = peak_of(verify)
    assert results == [s.result]
    assert peak <= 3 * len(s.raw), f"{peak / len(s.raw):.1f} times the message"


@pytest.mark.parametrize("name", SHAPES)
def test_every_mechanism_together_allocates_at_most_three_times_the_message(name: str) -> None:
    """What ``manage.py analyze`` runs: every mechanism, the verdict and the stored report
    (these messages carry no DKIM1 signature; see docs/operations.md for one that does)."""
    s = shape(name, SIZE)
    sizes: list[int] = []

    def everything() -> object:
        document = analyze_message(s.raw, lookup=StaticResolver(s.zone), now=s.now).to_json()
        sizes.append(size_of(document))
        return document

    peak = peak_of(everything)
    assert peak <= 3 * len(s.raw), f"{peak / len(s.raw):.1f} times the message"
    assert sizes[0] <= limits.MAX_REPORT_BYTES


def test_bare_lf_costs_its_crlf_copy_and_little_more() -> None:
    """A file saved with LF is converted to CRLF once (1.5 times the message for lines of
    one character); nothing else grows with its lines."""
    s = shape("short lines, both ends rewritten, bare LF", SIZE)
    peak = peak_of(lambda: analyze(s.raw, lookup=StaticResolver(s.zone), now=s.now))
    assert s.normalised <= peak <= s.normalised + len(s.raw) // 4


def test_rebuilt_bodies_share_the_message_octets() -> None:
    """16 instances of a 4 MB body hold pieces of the received message, not copies."""
    s = shape("many rewriting hops", SIZE)
    report = analyze(s.raw, lookup=StaticResolver(s.zone), now=s.now)
    bodies = [i.body for i in report.instances]
    assert len(bodies) == 16 and all(b is not None for b in bodies)
    received = bodies[-1]
    assert received is not None and len(received.pieces) == 1
    buffer = received.pieces[0][0]
    for body in bodies:
        assert body is not None
        big = [p for p in body.pieces if p[2] - p[1] > 1000]
        assert big and all(p[0] is buffer for p in big)
        assert len(body.pieces) <= 17


# -- the body's own operations, piece by piece -------------------------------------------------


def _pieces_of(data: bytes, cuts: list[int]) -> Body:
    """``data`` as pieces cut at line ends ``cuts`` (offsets just after a CRLF), each piece
    a view of its own copy, so nothing is merged back."""
    edges = [0, *cuts, len(data)]
    pieces = []
    for a, b in itertools.pairwise(edges):
        own = b"#" + data[a:b]
        pieces.append((own, 1, len(own)))
    return Body.from_pieces(pieces)


def test_a_body_of_pieces_answers_as_the_same_octets_in_one_buffer() -> None:
    data = b"one\r\ntwo\r\n\r\nthree\r\nfour\r\n\r\n\r\n"
    body = _pieces_of(data, [5, 10, 12, 19])
    whole = Body.of(data)
    assert len(body.pieces) == 5
    assert body.to_bytes() == data
    assert body.same_as(whole) and whole.same_as(body)
    assert body.line_count() == whole.line_count() == 7
    assert [body.line_start(n) for n in range(1, 9)] == [whole.line_start(n) for n in range(1, 9)]
    assert body.canonical_end() == whole.canonical_end() == len(b"one\r\ntwo\r\n\r\nthree\r\nfour")
    assert body.hash("sha256") == whole.hash("sha256")
    assert body.digest("sha256") == whole.digest("sha256")
    assert body.count_line_ends(3, 20) == whole.count_line_ends(3, 20) == 4
    assert body.find_line_end(6) == whole.find_line_end(6) == 8
    assert body.rfind_line_end(0, 19) == whole.rfind_line_end(0, 19) == 17


def test_a_piece_may_not_end_inside_a_line_unless_it_is_the_last() -> None:
    with pytest.raises(ValueError, match="every piece of a body but the last must end with CRLF"):
        Body.from_pieces([(b"one", 0, 3), (b"\r\n", 0, 2)])


def test_the_line_index_counts_as_count_does_across_its_blocks() -> None:
    block = LineIndex.BLOCK
    raw = bytearray((b"ab\r\n" * (2 * block))[: 5 * block])
    # A CRLF straddling each block edge, and ranges starting and ending inside one.
    for edge in range(block, len(raw), block):
        raw[edge - 1 : edge + 1] = b"\r\n"
    data = bytes(raw)
    assert len(data) == 5 * block
    index = LineIndex()
    for start in (0, 1, block - 1, block, block + 1, 2 * block - 1):
        for end in (4 * block, 4 * block + 1, 5 * block - 1, len(data), len(data) + 9):
            assert index.count(data, start, end) == data.count(b"\r\n", start, end), (start, end)
