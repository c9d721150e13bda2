"""The DKIM1 building blocks: tag lists (RFC 6376 §3.2) and body canonicalisation
(RFC 6376 §3.4.3, §3.4.4), checked against the RFC's rules and against dkimpy's own
canonicalisation."""

from __future__ import annotations

import time

import pytest
from dkim.canonicalization import CanonicalizationPolicy  # type: ignore[import-untyped]

from analysis.dkim1 import (
    LimitExceeded,
    TagListError,
    canonical_body,
    decode_base64,
    parse_canonicalization,
    parse_tag_list,
    unfold,
)

BODIES = [
    (b"", b"\r\n", b""),
    (b"\r\n", b"\r\n", b""),
    (b"\r\n\r\n\r\n", b"\r\n", b""),
    (b"abc", b"abc\r\n", b"abc\r\n"),
    (b"abc\r\n", b"abc\r\n", b"abc\r\n"),
    (b"abc\r\n\r\n\r\n", b"abc\r\n", b"abc\r\n"),
    (b" C \r\nD \t E\r\n\r\n\r\n", b" C \r\nD \t E\r\n", b" C\r\nD E\r\n"),  # RFC 6376 §3.4.6
    (b"a  \t b\t\r\n  \r\n", b"a  \t b\t\r\n  \r\n", b"a b\r\n"),
    (b"x\r\r\n", b"x\r\r\n", b"x\r\r\n"),  # a bare CR is an ordinary octet
    (b"\r\n\r\nlast", b"\r\n\r\nlast\r\n", b"\r\n\r\nlast\r\n"),
]


@pytest.mark.parametrize(("body", "simple", "relaxed"), BODIES)
def test_body_canonicalisation_follows_rfc_6376(body: bytes, simple: bytes, relaxed: bytes) -> None:
    assert canonical_body(body, "simple") == simple
    assert canonical_body(body, "relaxed") == relaxed


@pytest.mark.parametrize(("body", "simple", "relaxed"), BODIES)
def test_body_canonicalisation_agrees_with_dkimpy(
    body: bytes, simple: bytes, relaxed: bytes
) -> None:
    for algorithm in ("simple", "relaxed"):
        policy = CanonicalizationPolicy.from_c_value(f"relaxed/{algorithm}".encode())
        assert canonical_body(body, algorithm) == policy.canonicalize_body(body)


def test_relaxed_drops_whitespace_at_the_end_of_a_last_line_without_crlf() -> None:
    """RFC 6376 §3.4.4 ignores whitespace at line ends; dkimpy keeps one space when the last
    line has no CRLF (a known deviation, listed in the module's report)."""
    assert canonical_body(b"abc  ", "relaxed") == b"abc\r\n"
    policy = CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")
    assert policy.canonicalize_body(b"abc  ") == b"abc \r\n"


def test_canonicalisation_of_hostile_bodies_is_linear() -> None:
    hostile = [b" " * 3_000_000 + b"x", b"\r\n" * 3_000_000, b"a \t" * 1_000_000 + b"\r\n"]
    started = time.monotonic()
    for body in hostile:
        canonical_body(body, "simple")
        canonical_body(body, "relaxed")
    assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ("a=1", {"a": "1"}),
        ("a=1;", {"a": "1"}),
        (" a = 1 ; b= x y ;  ", {"a": "1", "b": "x y"}),
        ("a=; b=2", {"a": "", "b": "2"}),
        ("A=1; a=2", {"A": "1", "a": "2"}),
        ("z_9=1", {"z_9": "1"}),
        ("h=a=b", {"h": "a=b"}),
    ],
)
def test_tag_lists_parse(text: str, tags: dict[str, str]) -> None:
    assert parse_tag_list(text) == tags


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("a=1;;b=2", "an empty tag (two ';' in a row, or a leading ';')"),
        (";a=1", "an empty tag (two ';' in a row, or a leading ';')"),
        ("a", "'a' is not of the form tag=value"),
        ("a b=1", "'a b' is not a valid tag name"),
        ("_a=1", "'_a' is not a valid tag name"),
        ("a=1; a=2", "tag a= appears twice (RFC 6376 §3.2: the list is invalid)"),
    ],
)
def test_bad_tag_lists_are_refused_with_the_reason(text: str, error: str) -> None:
    with pytest.raises(TagListError) as caught:
        parse_tag_list(text)
    assert str(caught.value) == error


def test_unfolding_removes_folds_and_refuses_bare_line_ends() -> None:
    assert unfold(b" a=1;\r\n\tb=2") == " a=1;\tb=2"
    with pytest.raises(TagListError, match="a bare LF at position 4"):
        unfold(b"a=1;\nb=2")
    with pytest.raises(LimitExceeded):
        unfold(b"a" * 40_000)


@pytest.mark.parametrize(
    ("value", "decoded"),
    [("QUJD", b"ABC"), ("QU JD\t", b"ABC"), ("QUI", b"AB"), ("QUI=", b"AB"), ("QQ==", b"A")],
)
def test_base64_allows_fws_and_missing_padding(value: str, decoded: bytes) -> None:
    assert decode_base64(value, "b=") == decoded


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ("simple", "simple")),
        ("relaxed", ("relaxed", "simple")),
        ("Relaxed/Relaxed", ("relaxed", "relaxed")),
        ("simple/relaxed", ("simple", "relaxed")),
    ],
)
def test_canonicalisation_values(value: str | None, expected: tuple[str, str]) -> None:
    assert parse_canonicalization(value) == expected
