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
