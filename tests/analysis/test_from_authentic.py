"""From-Authentic's reading of the From field and its comparison of domains (SPEC-09-NOTES 1.7)."""

from __future__ import annotations

import pytest

from analysis.dkim2.authentic import (
    _SIMPLE_FROM,
    AUTHENTIC,
    NEEDS_POLICY,
    NOT_AUTHENTIC,
    compare,
    from_domains,
)
from analysis.message import HeaderField


def _field(text: str) -> HeaderField:
    return HeaderField("From", f"From: {text}\r\n".encode())


@pytest.mark.parametrize(
    ("text", "simple", "domains", "problem"),
    [
        ("Alice <alice@example.com>", True, ("example.com",), ""),
        ("alice@Example.COM", True, ("example.com",), ""),
        (" Bob Smith <b@mail.example.org> ", True, ("mail.example.org",), ""),
        ('"Smith, Bob" <b@x.example>', False, ("x.example",), ""),
        ("a@x.example, b@y.example", False, ("x.example", "y.example"), ""),
        ("Ann <a@exämple.com>", False, ("xn--exmple-cua.com",), ""),
        ("Alice <alice@example.com> (comment)", False, ("example.com",), ""),
        (
            "Alice <a@[192.0.2.1]>",
            False,
            (),
            "the From domain cannot be read: '[192.0.2.1]' is an address literal, not a "
            "domain name",
        ),
        ("undisclosed-recipients:;", False, (), "the From field holds no address"),
    ],
)
def test_the_from_domains_fast_path_agrees_with_the_full_reader(
    text: str, simple: bool, domains: tuple[str, ...], problem: str
) -> None:
    assert bool(_SIMPLE_FROM.match(_field(text).text())) is simple
    assert from_domains([_field(text)]) == (domains, problem)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "alice@example.org)<bob@example.com>",
            "the From field is not a well-formed mailbox (at character 18: ')' closes no comment)",
        ),
        (
            "alice@example.org(<bob@example.com>",
            "the From field is not a well-formed mailbox (at character 18: the comment opened "
            "here is never closed)",
        ),
        (
            "alice@example.org@<bob@example.com>",
            "the From field is not a well-formed mailbox (at character 18: '@' follows the "
            "address alice@example.org where ',' or the end of the field was expected)",
        ),
        (
            "Alice <alice@example.com",
            "the From field is not a well-formed mailbox (at the end of the field: '>' (to "
            "close the '<' at character 7) was expected after the address alice@example.com)",
        ),
        (
            "a..b@example.com",
            "the From field is not a well-formed mailbox (at character 3: '.' stands where a "
            "word of the local part was expected)",
        ),
    ],
)
def test_no_domain_is_taken_from_a_from_field_that_is_not_well_formed(
    text: str, problem: str
) -> None:
    """CVE-2023-27043: a lenient reader takes some domain out of these, maybe bob's."""
    assert _SIMPLE_FROM.match(text) is None
    assert from_domains([_field(text)]) == ((), problem)


#: Texts the fast path must refuse although they look simple: each is not well-formed, or
#: its domain is not a host name the fast path may vouch for.
NOT_SIMPLE = [
    ".Alice <a@example.com>",  # obs-phrase starts with a word
    "a..b@example.com",
    ".a@example.com",
    "a.@example.com",
    "Alice <a@example.com",
    "a@example.com>",
    "a@-example.com",
    "a@example.com-",
    "Al\x00ice <a@example.com>",
    "Alice\x7f <a@example.com>",
    "alice@example.org.<bob@example.com>",
    "alice@example.org@<bob@example.com>",
    "alice@example.org<bob@example.com>",
    "<a@example.com> <b@example.com>",
    "a@example.com b@example.com",
    "a@" + "x" * 64 + ".example",
]


@pytest.mark.parametrize("text", NOT_SIMPLE)
def test_the_fast_path_leaves_anything_unusual_to_the_full_reader(text: str) -> None:
    assert _SIMPLE_FROM.match(text) is None


def test_the_fast_path_agrees_with_the_full_reader_on_every_simple_text() -> None:
    """Every text the fast path takes gives the same domains by the full reader."""
    from analysis.addresses import parse_address_list

    simple = [
        "a@example.com",
        "Alice <a@example.com>",
        "John Q. Public <jqp@example.com>",
        "Alice<a@example.com>",
        "a.b.c@x-y.example.com",
        "{{ request.user }} <a@example.com>",
        "A\tB <a@example.com>",
    ]
    for text in simple:
        match = _SIMPLE_FROM.match(text)
        assert match is not None, text
        domain = match.group("bare") or match.group("angle")
        assert [b.domain for b in parse_address_list(text)] == [domain]


def test_several_or_no_from_fields_cannot_be_compared() -> None:
    assert from_domains([]) == ((), "the message has 0 From fields")
    two = [_field("a@x.example"), _field("b@x.example")]
    assert from_domains(two) == ((), "the message has 2 From fields")


@pytest.mark.parametrize(
    ("from_domain", "d", "outcome"),
    [
        ("example.com", "example.com", AUTHENTIC),
        ("news.example.com", "example.com", AUTHENTIC),
        ("example.com", "mail.example.com", NEEDS_POLICY),
        ("badexample.com", "example.com", NOT_AUTHENTIC),
        ("brand.example", "esp.example", NOT_AUTHENTIC),
    ],
)
def test_domains_compare_by_labels(from_domain: str, d: str, outcome: str) -> None:
    assert compare(from_domain, d) == outcome
