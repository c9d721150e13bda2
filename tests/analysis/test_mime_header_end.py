"""The end of a MIME entity's header block is found by a search that starts with a literal
LF (issue #13): the same block end and body start as the reading it replaced."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from analysis import mime

_BEFORE = re.compile(rb"\r?\n\r?\n")


def _header_end_before(buf: bytes, start: int, end: int) -> tuple[int, int]:
    """The reading before: ``\\r?\\n\\r?\\n``, its block ending after the first LF."""
    if buf.startswith(b"\r\n", start) and start + 2 <= end:
        return start, start + 2
    if buf.startswith(b"\n", start) and start + 1 <= end:
        return start, start + 1
    limit = min(end, start + mime.MAX_HEADER_BYTES)
    m = _BEFORE.search(buf, start, limit)
    if m is None:
        return limit, limit
    return buf.index(b"\n", m.start()) + 1, m.end()


@given(st.binary(max_size=60).map(lambda b: bytes(b"a\r\n: "[x % 5] for x in b)), st.data())
def test_the_header_block_ends_where_it_ended(buf: bytes, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(buf)))
    end = data.draw(st.integers(start, len(buf)))
    assert mime._header_end(buf, start, end) == _header_end_before(buf, start, end)


def test_crlf_and_lf_blank_lines() -> None:
    assert mime._header_end(b"A: 1\r\nB: 2\r\n\r\nbody", 0, 20) == (12, 14)
    assert mime._header_end(b"A: 1\nB: 2\n\nbody", 0, 15) == (10, 11)
    assert mime._header_end(b"A: 1\r\n\nbody", 0, 11) == (6, 7)
    assert mime._header_end(b"A: 1\n\r\nbody", 0, 11) == (5, 7)
