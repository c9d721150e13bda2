"""The Author Domain (RFC 9989 §5.3.1, §4.2, §4.4): one From field, one domain, U-labels
converted to A-labels; and hostile input, which gives findings, never exceptions."""

from __future__ import annotations

import json

import pytest

from analysis import limits
from analysis.dmarc import (
    AuthenticatedIdentifier,
    DmarcReport,
    a_label_domain,
    evaluate,
)
from analysis.findings import State
from analysis.message import parse_message
from analysis.resolvers import StaticResolver

ZONE = {
    "example.com": {"_dmarc": [["txt", "v=DMARC1; p=reject"]]},
    "xn--bcher-kva.example": {"_dmarc": [["txt", "v=DMARC1; p=quarantine"]]},
}


def run(
    header: bytes, identifiers: list[AuthenticatedIdentifier] | None = None
) -> tuple[DmarcReport, StaticResolver]:
    resolver = StaticResolver(ZONE)
    message = parse_message(header + b"\r\nSubject: t\r\n\r\nbody\r\n")
    report = evaluate(message=message, identifiers=identifiers or [], lookup=resolver)
    return report, resolver


def codes(report: DmarcReport) -> list[str]:
    return [f.code for f in report.findings]


# -- one From field, one domain -----------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        b"From: a@example.com",
        b"From: Alice <alice@example.com>",
        b"From: alice@EXAMPLE.COM",
        b'From: "bank@evil.example" <alice@example.com>',  # the quoted name is no address
        b"From: (comment, with a comma) alice(x)@(y)example.com(z)",
        b"From: <@route.example,@other.example:alice@example.com>",  # obs-route
        b'From: "a@b c"@example.com',
        b"From: john . doe @ example . com",  # obs-domain: blanks around dots
        b"From: alice@example.com.",
        b"From: Alice\r\n <alice@example.com>",  # folded
    ],
)
def test_the_author_domain_is_the_from_addresses_domain(header: bytes) -> None:
    report, resolver = run(header)
    assert (report.result, report.author_domain) == ("fail", "example.com")
    assert codes(report) == ["dmarc.fail"]
    assert resolver.dns_answers[0].query.name == "_dmarc.example.com"


@pytest.mark.parametrize(
    "header",
    [
        b"From: a@example.com, b@example.com",
        b"From: Team: a@example.com, B <b@Example.com>;",
    ],
)
def test_several_addresses_in_one_domain_give_one_author_domain(header: bytes) -> None:
    report, _ = run(header)
    assert (report.result, report.author_domain) == ("fail", "example.com")
    assert codes(report) == ["dmarc.multiple-from-addresses", "dmarc.fail"]
    assert report.findings[0].detail == (
        "2 addresses, all in example.com, so there is one Author Domain"
    )


@pytest.mark.parametrize(
    ("header", "code", "detail", "problem"),
    [
        (
            b"Sender: a@example.com",
            "dmarc.no-from",
            "no From header field was found, so there is no Author Domain",
            "the message has no From field",
        ),
        (
            b"From: a@example.com\r\nFrom: b@example.com",
            "dmarc.multiple-from-fields",
            "2 From header fields (a@example.com; b@example.com)",
            "the message has 2 From fields",
        ),
        (
            b"From: undisclosed-recipients:;",
            "dmarc.from-no-address",
            "From: 'undisclosed-recipients:;' contains no address with a domain",
            "the From field holds no address",
        ),
        (
            b"From: Alice",
            "dmarc.from-no-address",
            "From: 'Alice' contains no address with a domain",
            "the From field holds no address",
        ),
        (
            b"From: <>",
            "dmarc.from-no-address",
            "From: '<>' contains no address with a domain",
            "the From field holds no address",
        ),
        (
            b"From: a@example.com, b@evil.example",
            "dmarc.multiple-author-domains",
            "the From field's 2 addresses are in 2 domains (example.com, evil.example); this "
            "analyser evaluates one Author Domain",
            "the From field names 2 domains",
        ),
        (
            b"From: <a@evil.example> <b@example.com>",
            "dmarc.multiple-author-domains",
            "the From field's 2 addresses are in 2 domains (evil.example, example.com); this "
            "analyser evaluates one Author Domain",
            "the From field names 2 domains",
        ),
        (
            b"From: a@example.com b@evil.example",  # no comma between them
            "dmarc.multiple-author-domains",
            "the From field's 2 addresses are in 2 domains (example.com, evil.example); this "
            "analyser evaluates one Author Domain",
            "the From field names 2 domains",
        ),
        (
            b"From: a@[192.0.2.1]",
            "dmarc.from-domain-invalid",
            "From address 'a@[192.0.2.1]': '[192.0.2.1]' is an address literal, not a domain name",
            "the From address's domain is not a usable domain name",
        ),
        (
            b"From: a@bad!domain.com",
            "dmarc.from-domain-invalid",
            "From address 'a@bad!domain.com': name label 'bad!domain' is not a valid DNS label "
            "(letters, digits, '-'; no '-' first or last)",
            "the From address's domain is not a usable domain name",
        ),
        (
            b"From: a@exa mple.com",
            "dmarc.from-domain-invalid",
            "From address 'a@exa mple.com': name label 'exa mple' is not a valid DNS label "
            "(letters, digits, '-'; no '-' first or last)",
            "the From address's domain is not a usable domain name",
        ),
    ],
)
def test_no_single_author_domain_is_a_permerror(
    header: bytes, code: str, detail: str, problem: str
) -> None:
    identifiers = [AuthenticatedIdentifier("dkim", "example.com", "pass", "DKIM1 signature 1")]
    report, resolver = run(header, identifiers)
    assert (report.result, report.result_without_dkim2) == ("permerror", "permerror")
    assert (report.author_domain, report.policy, report.disposition) == (None, None, None)
    assert codes(report) == [code]
    assert report.findings[0].state is State.PERMERROR
    assert report.findings[0].detail == detail
    assert report.summary == (
        f"DMARC: permerror — {problem}, so there is no single Author Domain to check; the "
        "sending system must write exactly one From field with one address."
    )
    assert [a.why for a in report.alignment] == [
        "Not evaluated: the message has no single Author Domain."
    ]
    assert resolver.dns_answers == []  # nothing is asked


# -- internationalised domains (§5.3.1, RFC 5890 §2.3.2.1) --------------------------------------


def test_a_u_label_author_domain_is_looked_up_as_its_a_label() -> None:
    report, resolver = run(
        "From: Bücher <info@bücher.example>".encode(),
        [AuthenticatedIdentifier("dkim", "xn--bcher-kva.example", "pass", "DKIM1 signature 1")],
    )
    assert (report.result, report.author_domain) == ("pass", "xn--bcher-kva.example")
    assert codes(report) == ["dmarc.idn-author-domain", "dmarc.pass"]
    assert report.findings[0].detail == (
        "bücher.example -> xn--bcher-kva.example (RFC 5890 §2.3.2.1)"
    )
    assert [a.query.name for a in resolver.dns_answers] == ["_dmarc.xn--bcher-kva.example"]


def test_a_u_label_identifier_aligns_with_the_same_a_label_author() -> None:
    report, _ = run(
        b"From: info@xn--bcher-kva.example",
        [AuthenticatedIdentifier("dkim", "BÜCHER.example", "pass", "DKIM1 signature 1")],
    )
    assert report.result == "pass"
    assert report.alignment[0].domain == "xn--bcher-kva.example"


@pytest.mark.parametrize(
    ("text", "a_label"),
    [
        ("bücher.example", "xn--bcher-kva.example"),
        ("BÜCHER.Example", "xn--bcher-kva.example"),
        ("straße.example", "xn--strae-oqa.example"),  # IDNA 2008; IDNA 2003 maps to strasse
        ("u\u0308ber.example", "xn--ber-goa.example"),  # NFC first: ü
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("例え.テスト", "xn--r8jz45g.xn--zckzah"),
    ],
)
def test_a_label_conversion(text: str, a_label: str) -> None:
    assert a_label_domain(text)[0] == a_label


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (
            "exa☃mple.com",
            "the label 'exa☃mple' contains '☃' (U+2603), which cannot be part of an "
            "internationalised domain name",
        ),
        ("", "the domain is empty"),
        ("[192.0.2.1]", "'[192.0.2.1]' is an address literal, not a domain name"),
        ("a..example", "name 'a..example' has an empty label"),
    ],
)
def test_a_label_conversion_refuses_what_cannot_be_a_domain(text: str, why: str) -> None:
    with pytest.raises(ValueError) as raised:
        a_label_domain(text)
    assert str(raised.value) == why


def test_undecodable_octets_in_the_from_domain_are_a_permerror() -> None:
    report, _ = run(b"From: a@ex\xffample.com")
    assert report.result == "permerror"
    assert report.findings[0].detail == (
        "From address 'a@ex\ufffdample.com': the label 'ex\ufffdample' contains '\ufffd' "
        "(U+FFFD), which cannot be part of an internationalised domain name"
    )


# -- hostile input ------------------------------------------------------------------------------


def test_a_two_hundred_label_from_domain_is_a_permerror() -> None:
    domain = "a." * 199 + "example"
    report, resolver = run(f"From: x@{domain}".encode())
    assert (report.result, codes(report)) == ("permerror", ["dmarc.from-domain-invalid"])
    assert report.findings[0].detail.endswith(": name is 405 octets (max 253)")
    assert len(report.findings[0].detail) < 300
    assert resolver.dns_answers == []


def test_a_from_field_longer_than_the_limit_is_not_scanned() -> None:
    addresses = ", ".join(f"user{n}@example.com" for n in range(2000))
    report, _ = run(f"From: {addresses}".encode())
    assert (report.result, codes(report)) == ("permerror", ["dmarc.from-too-long"])
    assert report.findings[0].detail == (
        f"the From field has {len(addresses) + 1} octets; this analyser reads at most "
        f"{limits.MAX_FROM_FIELD_CHARS}"
    )


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (b"From: " + b"(" * 5000 + b"a@example.com", "dmarc.from-no-address"),  # all comment
        (b"From: " + b'"' * 5001 + b"a@example.com", "dmarc.from-no-address"),  # all quoted
        (b"From: " + b"<" * 5000, "dmarc.from-no-address"),
        (b"From: " + b"\\" * 5000, "dmarc.from-no-address"),
        (b"From: a\x00b@exa\x01mple.com", "dmarc.from-domain-invalid"),
        (b"From: " + b"@" * 5000, "dmarc.from-no-address"),
        (b"From: " + b"a@b." * 3000, "dmarc.from-no-address"),  # one addr-spec, 3000 "@"
        (b"From: " + b"a@b.example " * 1000, "dmarc.multiple-from-addresses"),
    ],
)
def test_hostile_from_fields_give_findings(header: bytes, code: str) -> None:
    report, _ = run(header)
    assert codes(report)[0] == code
    assert report.result == ("none" if code == "dmarc.multiple-from-addresses" else "permerror")
    assert len(json.dumps(report.to_json())) < 4000


def test_hostile_identifiers_are_reported_not_raised() -> None:
    identifiers = [
        AuthenticatedIdentifier("dkim", "bad domain!", "pass", "DKIM1 signature 1"),
        AuthenticatedIdentifier("arc", "example.com", "pass", "ARC set 1"),
        AuthenticatedIdentifier("dkim", "x" * 10_000, "pass", "L" * 10_000),
        AuthenticatedIdentifier("spf", "", "pass", "SPF (MAIL FROM <>)"),
    ]
    report, _ = run(b"From: a@example.com", identifiers)
    assert report.result == "fail"
    assert [(a.aligned, a.counts) for a in report.alignment] == [
        (False, True),
        (False, False),
        (False, True),
        (False, True),
    ]
    assert report.alignment[0].why == (
        "Not aligned: its domain 'bad domain!' is not usable: name label 'bad domain!' is not "
        "a valid DNS label (letters, digits, '-'; no '-' first or last)."
    )
    assert report.alignment[1].why == (
        "Not aligned: 'arc' is not an authentication mechanism DMARC uses."
    )
    assert report.alignment[3].why == (
        "Not aligned: its domain '' is not usable: the domain is empty."
    )
    data = report.to_json()
    assert all(len(a["label"]) <= limits.MAX_REPORT_TEXT_CHARS for a in data["alignment"])
    assert all(len(a["domain"]) <= limits.MAX_REPORT_TEXT_CHARS for a in data["alignment"])
    assert all(len(f["detail"]) <= 4 * limits.MAX_REPORT_TEXT_CHARS for f in data["findings"])
