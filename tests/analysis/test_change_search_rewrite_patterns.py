"""The body rewrites the change search undoes (dot-stuffing, trailing whitespace, a lost
signature-separator space) find and undo exactly what their plain readings do.

analysis.change_search writes each pattern with the octets it matches first and what must
come before them as a look-behind after, so that the regular expression engine can skip to
the candidates: written the plain way (``(\\A|\\r\\n)`` or a look-behind first) it tried every
octet of the body, 0.2-0.8 s for 10 MB of empty lines. The plain readings are kept here as
the reference; each property holds the fast pattern to it on random bodies built from the
octets that matter (dots, dashes, blanks, CR, LF): the same matches, the same count, the same
undone body. Derandomised, like the other property tests.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import change_search
from analysis.change_search import _DOT_STUFFED, _SEPARATOR_LOST, _TRAILING_WSP

PROPERTY = settings(
    max_examples=1000,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

#: (the pattern as change_search has it, its replacement there; the plain reading, its
#: replacement): the undo of each kind of rewrite.
PAIRS = {
    "dot-stuffed": (_DOT_STUFFED, b".", re.compile(rb"(\A|\r\n)\.\."), rb"\1."),
    "trailing-whitespace": (
        _TRAILING_WSP,
        b"",
        re.compile(rb"(?<!\n--)(?<!\A--)[ \t]+(?=\r\n|\Z)"),
        b"",
    ),
    "separator-lost": (
        _SEPARATOR_LOST,
        b"-- ",
        re.compile(rb"(\A|\r\n)--(?=\r\n|\Z)"),
        rb"\1-- ",
    ),
}

PIECES = [b".", b"..", b"-", b"--", b"-- ", b"\r", b"\n", b"\r\n", b" ", b"\t", b"a", b"\r\n.."]
BODIES = st.lists(st.sampled_from(PIECES), max_size=16).map(b"".join)


def _uses(kind: str) -> tuple[re.Pattern[bytes], bytes]:
    """The pattern and replacement change_search's table really holds for ``kind``."""
    for _, _, pattern, new, _ in change_search._REWRITES:
        if pattern is PAIRS[kind][0]:
            return pattern, new
    raise AssertionError(f"{kind}: not in change_search._REWRITES")


@pytest.mark.parametrize("kind", sorted(PAIRS))
@PROPERTY
@given(body=BODIES)
def test_each_rewrite_finds_and_undoes_what_its_plain_reading_does(kind: str, body: bytes) -> None:
    pattern, new = _uses(kind)
    _, _, plain, plain_new = PAIRS[kind]
    assert len(pattern.findall(body)) == len(plain.findall(body))
    assert pattern.sub(new, body) == plain.sub(plain_new, body)


@pytest.mark.parametrize(
    ("kind", "body", "undone"),
    [
        ("dot-stuffed", b"..a\r\n..b\r\n. c\r\n", b".a\r\n.b\r\n. c\r\n"),
        ("dot-stuffed", b"a..b\r\n....\r\n", b"a..b\r\n...\r\n"),
        ("trailing-whitespace", b"a \t\r\n-- \r\nb  ", b"a\r\n-- \r\nb"),
        ("trailing-whitespace", b"--  \r\n", b"-- \r\n"),
        ("separator-lost", b"--\r\nx\r\n--", b"-- \r\nx\r\n-- "),
        ("separator-lost", b"a--\r\n---\r\n", b"a--\r\n---\r\n"),
    ],
)
def test_each_rewrite_undone_on_examples(kind: str, body: bytes, undone: bytes) -> None:
    pattern, new = _uses(kind)
    assert pattern.sub(new, body) == undone


@pytest.mark.parametrize("kind", sorted(PAIRS))
def test_each_pattern_starts_with_the_octets_it_matches(kind: str) -> None:
    """What lets the engine skip to candidates: the compiled pattern begins with a literal or
    a set of octets, not with a look-behind, an anchor or an alternation (checked on the
    parsed pattern, not by timing it)."""
    from re import _parser  # type: ignore[attr-defined]

    first_op = _parser.parse(PAIRS[kind][0].pattern)[0][0]
    assert str(first_op) in ("LITERAL", "IN"), first_op
