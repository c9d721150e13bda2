"""Cheaper paths of the mechanisms around DKIM2 agree with the plain readings they replace
(issue #13): each property holds one rewritten step to the obvious form it stands in for, on
random input.  Derandomised, like the other property tests."""

from __future__ import annotations

import difflib
import re
from types import SimpleNamespace
from typing import Any

import dkim  # type: ignore[import-untyped]
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import dkim1, received
from analysis.dkim2 import history
from analysis.received import Token

PROPERTY = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

BLANKS = st.lists(
    st.sampled_from([b" ", b"\t", b"  ", b" \t ", b"\t\t", b" " * 9, b"a", b"bc", b"\r\n", b"\r"]),
    max_size=60,
).map(b"".join)


@PROPERTY
@given(BLANKS)
def test_runs_of_blanks_become_one_space_as_the_pattern_does(data: bytes) -> None:
    assert dkim1._one_space_per_run(data) == re.sub(rb"[ \t]+", b" ", data)


@PROPERTY
@given(BLANKS)
def test_relaxed_body_is_the_rfc_6376_reading(body: bytes) -> None:
    plain = re.sub(rb"[ \t]+", b" ", body).replace(b" \r\n", b"\r\n")
    if plain.endswith(b" "):
        plain = plain[:-1]
    while plain.endswith(b"\r\n"):
        plain = plain[:-2]
    expected = plain + b"\r\n" if plain else b""
    assert dkim1.canonical_body(body, "relaxed") == expected


def test_a_long_run_of_blanks_is_one_space() -> None:
    assert dkim1._one_space_per_run(b"a" + b" \t" * 100_000 + b"b") == b"a b"


# -- the lexer of Received and Authentication-Results values --------------------------------


def plain_lex(text: str, *, split_eq: bool = False) -> tuple[list[Token], bool]:
    """analysis.received.lex as it was: one character at a time."""
    tokens: list[Token] = []
    stops = ' \t\r\n();"' + ("=" if split_eq else "")
    n = len(text)
    k = 0
    unclosed = False
    while k < n:
        c = text[k]
        if c in " \t\r\n":
            k += 1
        elif c == "(":
            depth, start = 0, k
            while k < n:
                ch = text[k]
                if ch == "\\":
                    k += 2
                    continue
                if ch == "(":
                    depth += 1
                elif ch == ")":
                    depth -= 1
                    if depth == 0:
                        k += 1
                        break
                k += 1
            else:
                unclosed = True
            tokens.append(Token("comment", text[start:k], start))
        elif c == '"':
            start = k
            k += 1
            while k < n and text[k] != '"':
                k += 2 if text[k] == "\\" else 1
            if k >= n:
                unclosed = True
            else:
                k += 1
            tokens.append(Token("quoted", text[start : min(k, n)], start))
        elif c == ";":
            tokens.append(Token(";", ";", k))
            k += 1
        elif c == "=" and split_eq:
            tokens.append(Token("=", "=", k))
            k += 1
        elif c == ")":  # a stray closing parenthesis: kept as a word of its own
            tokens.append(Token("word", ")", k))
            k += 1
        else:
            start = k
            while k < n and text[k] not in stops:
                k += 1
            tokens.append(Token("word", text[start:k], start))
    return tokens, unclosed


LEXEMES = st.lists(
    st.sampled_from([*' \t\r\n();"=\\@.ab', "from", "by", "(c)", "\\(", '\\"', "é"]),
    max_size=50,
).map("".join)


@PROPERTY
@given(LEXEMES, st.booleans())
def test_lex_reads_as_one_character_at_a_time(text: str, split_eq: bool) -> None:
    assert received.lex(text, split_eq=split_eq) == plain_lex(text, split_eq=split_eq)


def test_lex_edges() -> None:
    for text in ["(a\\", "(a\\)", '"a\\', '"a\\"', "((a) b", "a)b", '"', "(", "\\", "x=y;z"]:
        for split_eq in (False, True):
            assert received.lex(text, split_eq=split_eq) == plain_lex(text, split_eq=split_eq)


# -- the b= value of a DKIM1 or ARC signature field, emptied before hashing -----------------

SIGNATURE_TEXT = st.lists(
    st.sampled_from(
        [
            b" ",
            b"\t",
            b"\r\n",
            b"\n",
            b"\r",
            b"\x0b",
            b";",
            b"b",
            b"=",
            b"b=",
            b"; b=",
            b"bh=",
            b"A",
            b"z",
            b"0",
            b"/",
            b"+",
            b"-",
            b"h",
            b"x",
            b"\r\n ",
            b"\r\n\t",
        ]
    ),
    max_size=40,
).map(b"".join)


@PROPERTY
@given(SIGNATURE_TEXT)
def test_b_value_is_emptied_as_dkimpy_empties_it(value: bytes) -> None:
    _, ours = dkim1._b_value_emptied((b"DKIM-Signature", value))
    assert ours == dkim.RE_BTAG.sub(b"\\1", value)
    # dkimpy empties the value again in hash_headers: nothing more goes.
    assert dkim.RE_BTAG.sub(b"\\1", ours) == ours


def test_b_value_of_a_folded_signature_is_emptied() -> None:
    value = (
        b" v=1; a=rsa-sha256; d=example.com; s=s1;\r\n b=L3bStoKD0wx+/ZU2iI\r\n"
        b" pOwQRm==; bh=abc=; h=from:to\r\n"
    )
    _, ours = dkim1._b_value_emptied((b"DKIM-Signature", value))
    assert ours == b" v=1; a=rsa-sha256; d=example.com; s=s1;\r\n b=; bh=abc=; h=from:to\r\n"
    assert ours == dkim.RE_BTAG.sub(b"\\1", value)


# -- which signed fields of one name a hop changed ----------------------------------------


@PROPERTY
@given(
    st.lists(st.sampled_from([b"a", b"b", b"c"]), max_size=4),
    st.lists(st.sampled_from([b"a", b"b", b"c"]), max_size=4),
)
def test_field_opcodes_are_difflibs(old: list[bytes], new: list[bytes]) -> None:
    if old == new:
        return  # header_changes asks only about fields that differ
    fields_old: list[Any] = [SimpleNamespace(raw=r) for r in old]
    fields_new: list[Any] = [SimpleNamespace(raw=r) for r in new]
    plain = difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes()
    assert history._field_opcodes(fields_old, fields_new) == plain
