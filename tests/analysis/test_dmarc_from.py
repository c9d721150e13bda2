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


@pytest.mark.parametrize(
    ("header", "where"),
    [
        # CVE-2023-27043 (gh-102988): Python 3.11 read alice's address, or bob's.
        (b"From: alice@example.org)<bob@example.org>", "at character 18: ')' closes no comment"),
        (
            b"From: alice@example.org(<bob@example.org>",
            "at character 18: the comment opened here is never closed",
        ),
        (
            b"From: alice@example.org<<bob@example.com>",
            "at character 18: '<' follows the address alice@example.org where ',' or the end "
            "of the field was expected",
        ),
        (
            b"From: alice@example.org;<bob@example.org>",  # ';' only closes a group
            "at character 18: ';' follows the address alice@example.org where ',' or the end "
            "of the field was expected",
        ),
        (
            b"From: <a@evil.example> <b@example.com>",  # two addresses, no comma
            "at character 18: '<' follows the address a@evil.example where ',' or the end of "
            "the field was expected",
        ),
        (
            b"From: a@example.com b@evil.example",
            "at character 15: the word 'b' follows the address a@example.com where ',' or the "
            "end of the field was expected",
        ),
        (
            b"From: a@exa mple.com",
            "at character 7: the word 'mple' follows the address a@exa where ',' or the end of "
            "the field was expected",
        ),
        (
            b"From: alice@example.com <alice@example.com>",  # an unquoted '@' in the name
            "at character 19: '<' follows the address alice@example.com where ',' or the end "
            "of the field was expected",
        ),
        (
            b"From: Alice <alice@example.com",
            "at the end of the field: '>' (to close the '<' at character 7) was expected after "
            "the address alice@example.com",
        ),
        (
            b"From: a\x00b@example.com",
            "at character 2: the control character U+0000 stands outside a quoted string or "
            "comment",
        ),
    ],
)
def test_a_from_field_that_is_not_well_formed_has_no_author_domain(
    header: bytes, where: str
) -> None:
    """Issue #11: addresses that decide a verdict are read strictly (RFC 5322 §3.4); a
    domain taken from a malformed field might be another reader's wrong one."""
    identifiers = [AuthenticatedIdentifier("dkim", "example.org", "pass", "DKIM1 signature 1")]
    report, resolver = run(header, identifiers)
    text = header.split(b": ", 1)[1].decode("utf-8", "replace")
    assert (report.result, report.result_without_dkim2) == ("permerror", "permerror")
    assert (report.author_domain, report.policy, report.disposition) == (None, None, None)
    assert codes(report) == ["dmarc.from-malformed"]
    finding = report.findings[0]
    assert (finding.state, finding.message, finding.spec) == (
        State.PERMERROR,
        "DMARC permerror: the From field is not a well-formed mailbox",
        "RFC 9989 §5.3.1; RFC 5322 §3.4",
    )
    assert finding.detail == (
        f"From: {text!r} is not a well-formed mailbox (RFC 5322 §3.4): {where}; a receiver "
        "cannot tell whose domain it is, so there is no Author Domain"
    )
    assert report.summary == (
        "DMARC: permerror — the From field is not a well-formed mailbox, so there is no single "
        "Author Domain to check; the sending system must write exactly one From field with one "
        "address."
    )
    assert resolver.dns_answers == []


@pytest.mark.parametrize(
    "header",
    [
        b"From: John Q. Public <jqp@example.com>",  # obs-phrase: a dot in the name
        b'From: "Joe Q. Public" <john.q.public@example.com>',
        b"From: Pete(A nice \\) chap) <pete(his account)@example.com(his host)>",
        b'From: "john"."doe"@example.com',  # obs-local-part: quoted words and dots
        b"From: , a@example.com,, b@example.com",  # obs-mbox-list: empty elements
        b"From: Team:;, a@example.com",  # an empty group beside a mailbox (RFC 6854)
        b'From: a@example.com (comment (nested) with \\( and "quote)',
        b"From: =?utf-8?q?J=C3=BCrgen?= <j@example.com>",  # an encoded word is an atom
        "From: Jürgen Müller <j@example.com>".encode(),  # RFC 6532: UTF-8 in the name
    ],
)
def test_real_mail_in_the_obsolete_syntax_is_read(header: bytes) -> None:
    report, _ = run(header)
    assert (report.result, report.author_domain) == ("fail", "example.com")


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
        (b"From: " + b"(" * 5000 + b"a@example.com", "dmarc.from-malformed"),  # unclosed
        (b"From: " + b'"' * 5001 + b"a@example.com", "dmarc.from-malformed"),  # unclosed
        (b"From: " + b"<" * 5000, "dmarc.from-no-address"),
        (b"From: " + b"\\" * 5000, "dmarc.from-no-address"),
        (b"From: a\x00b@exa\x01mple.com", "dmarc.from-malformed"),
        (b"From: " + b"@" * 5000, "dmarc.from-malformed"),
        (b"From: " + b"a@b." * 3000, "dmarc.from-malformed"),  # 3000 "@"
        (b"From: " + b"a@b.example " * 1000, "dmarc.from-malformed"),  # no commas
    ],
)
def test_hostile_from_fields_give_findings(header: bytes, code: str) -> None:
    report, _ = run(header)
    assert codes(report)[0] == code
    assert report.result == "permerror"
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
