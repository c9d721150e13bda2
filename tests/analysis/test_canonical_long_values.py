"""The header hash's WSP squeeze for long values (analysis.dkim2.canonical, S06 §6.2): the
same canonical line as the short-value paths, in memory of a few copies of the value
(issue #11: a 1 MB field of one-letter words was 500,000 objects, 45 MB)."""

from __future__ import annotations

import tracemalloc

import pytest

from analysis.dkim2.canonical import (
    _SPLIT_OCTETS,
    _WSP_RUN,
    _squeeze_wsp,
    canonical_header_line,
)
from analysis.message import HeaderField


@pytest.mark.parametrize(
    ("value", "squeezed"),
    [
        (b"", b""),
        (b" \t ", b""),
        (b"  a  ", b"a"),
        (b"a\t\tb", b"a b"),
        (b"a \t \t b", b"a b"),
        (b"a" + b" " * 1025 + b"b", b"a b"),  # a run of 1,025 blanks: eleven halvings
        (b"a \r b\n\t c", b"a \r b\n c"),  # bare CR and LF are ordinary octets (A11)
        (b"\x0b a \x0c", b"\x0b a \x0c"),
    ],
)
def test_squeeze_is_the_regular_expressions_result(value: bytes, squeezed: bytes) -> None:
    assert _squeeze_wsp(value) == squeezed == _WSP_RUN.sub(b" ", value).strip(b" ")


def test_a_long_value_gives_the_canonical_line_of_the_short_paths() -> None:
    words = b" Hello \t world  again" * (_SPLIT_OCTETS // 10)
    folded = b"Subject:" + b"\r\n".join(words[k : k + 70] for k in range(0, len(words), 70))
    field = HeaderField("Subject", folded + b"\r\n")
    value = folded.split(b":", 1)[1].replace(b"\r\n", b"")
    assert len(value) > _SPLIT_OCTETS
    assert canonical_header_line(field) == b"subject:" + b" ".join(value.split()) + b"\r\n"


def test_a_megabyte_of_one_letter_words_is_squeezed_in_a_few_copies() -> None:
    value = b" a" * 500_000
    field = HeaderField("Comments", b"Comments:" + value + b"\r\n")
    tracemalloc.start()
    try:
        line = canonical_header_line(field)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert line == b"comments:" + value[1:] + b"\r\n"
    assert peak < 5 * len(value)
