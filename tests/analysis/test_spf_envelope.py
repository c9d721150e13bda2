"""What SPF checks from the envelope: the reverse-path, the client address, the source."""

from __future__ import annotations

import pytest

from analysis import spf
from analysis.findings import Severity, State
from analysis.resolvers import StaticResolver

ZONE = {
    "example.com": {"@": [["txt", "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"]]},
    "xn--bcher-kva.example": {"@": [["txt", "v=spf1 +all"]]},
}


def check(
    *, ip: str | None = "192.0.2.1", mail_from: str = "<a@example.com>", helo: str = "", **kw: str
) -> spf.SpfReport:
    kw.setdefault("source", "smtp")
    return spf.evaluate(
        ip=ip,
        helo=helo,
        mail_from=mail_from,
        lookup=StaticResolver(ZONE),
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    "mail_from, domain",
    [
        ("<a@example.com>", "example.com"),
        ("a@example.com", "example.com"),
        ("  <a@Example.COM>  ", "example.com"),
        ("<a@example.com.>", "example.com"),
        ("<@relay.example.org,@b.example.org:a@example.com>", "example.com"),
        ("<a@example.com> SIZE=1000 BODY=8BITMIME", "example.com"),
        ('<"a@b"@example.com>', "example.com"),
        ("<@example.com>", "example.com"),
        ("<a@bücher.example>", "xn--bcher-kva.example"),
    ],
)
def test_the_domain_of_the_reverse_path_is_checked(mail_from: str, domain: str) -> None:
    report = check(mail_from=mail_from)
    assert (report.identity, report.domain, report.result) == ("mailfrom", domain, "pass")
    assert report.mail_from == mail_from


@pytest.mark.parametrize(
    "mail_from, shown, detail",
    [
        ("<a@localhost>", "localhost", "localhost is not a multi-label domain name"),
        (
            "<a@[192.0.2.1]>",
            "[192.0.2.1]",
            "[192.0.2.1] is an address literal, not a domain name",
        ),
        ("<a@>", "", "the domain is empty"),
        (
            "<a@a..example.com>",
            "a..example.com",
            "name 'a..example.com' has an empty label",
        ),
        (
            "<a@" + "x" * 64 + ".example.com>",
            "x" * 64 + ".example.com",
            "name label 'xxxxxxxxxxxxxxxxxxxx'... is 64 octets (max 63)",
        ),
        (
            "<a@exa mple.com>",
            "exa mple.com",
            "name label 'exa mple' is not a valid DNS label (letters, digits, '-'; no '-' "
            "first or last)",
        ),
        ("<example>", "example", "example is not a multi-label domain name"),
    ],
)
def test_a_domain_that_is_not_a_domain_gives_none(mail_from: str, shown: str, detail: str) -> None:
    report = check(mail_from=mail_from)
    assert (report.result, report.domain, report.ip) == ("none", shown, "192.0.2.1")
    (finding,) = report.findings
    assert (finding.code, finding.state, finding.severity) == (
        "spf.invalid-domain",
        State.NONE,
        Severity.WARNING,
    )
    assert finding.message == "SPF none: the MAIL FROM domain is not a domain SPF can check"
    assert finding.detail == detail


def test_the_invalid_domain_summary_names_the_sender() -> None:
    assert check(mail_from="<a@localhost>").summary == (
        "SPF: none — the MAIL FROM domain localhost is not a valid domain name (RFC 7208 §4.3), "
        "so nothing was checked; the sending server's operator must use a valid MAIL FROM "
        "domain."
    )
    helo = check(mail_from="<>", helo="OEMCOMPUTER")
    assert (helo.identity, helo.domain, helo.result) == ("helo", "oemcomputer", "none")
    assert helo.findings[0].message == "SPF none: the HELO name is not a domain SPF can check"


def test_no_mail_from_and_no_helo_gives_none() -> None:
    report = check(mail_from="<>", helo="")
    assert (report.result, report.identity, report.domain, report.helo_result) == (
        "none",
        "helo",
        "",
        None,
    )
    (finding,) = report.findings
    assert finding.code == "spf.no-identity"
    assert finding.detail == (
        "the MAIL FROM is null (<>) and no HELO name was given, so there is no domain to check "
        "(RFC 7208 §2.4)"
    )


@pytest.mark.parametrize(
    "given, evaluated",
    [
        ("192.0.2.1", "192.0.2.1"),
        (" 192.0.2.1 ", "192.0.2.1"),
        ("[192.0.2.1]", "192.0.2.1"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("2001:db8::1", "2001:db8::1"),
        ("2001:DB8:0:0::1", "2001:db8::1"),
        ("IPv6:2001:db8::1", "2001:db8::1"),
        ("[IPv6:2001:db8::1]", "2001:db8::1"),
    ],
)
def test_the_client_address_forms(given: str, evaluated: str) -> None:
    report = check(ip=given)
    assert (report.ip, report.result) == (evaluated, "pass")


@pytest.mark.parametrize("given", ["192.0.2.256", "mail.example.com", "fe80::1%eth0", "unknown"])
def test_a_client_address_that_is_not_an_address_gives_none(given: str) -> None:
    report = check(ip=given)
    assert (report.result, report.ip, report.helo_result) == ("none", None, None)
    (finding,) = report.findings
    assert (finding.code, finding.detail) == ("spf.invalid-ip", f"{given!r} is not an IP address")


def test_a_reconstructed_envelope_says_how_good_it_is() -> None:
    report = check(
        source="reconstructed",
        source_detail="client 192.0.2.1 and HELO from Received: from mta.example.org "
        "([192.0.2.1]) by mx.receiver.example; MAIL FROM from Return-Path",
    )
    assert report.result == "pass"
    (finding,) = report.findings
    assert (finding.code, finding.severity, finding.state) == (
        "spf.reconstructed",
        Severity.INFO,
        State.NONE,
    )
    assert finding.message == "SPF: the envelope was reconstructed from the message's trace fields"
    assert finding.detail == (
        "client 192.0.2.1 and HELO from Received: from mta.example.org ([192.0.2.1]) by "
        "mx.receiver.example; MAIL FROM from Return-Path"
    )
    assert report.summary == (
        "SPF: pass — 192.0.2.1 is allowed to send for example.com (the term ip4:192.0.2.0/24 "
        "decided). (The envelope was read back from the Received field.)"
    )


def test_a_reconstructed_envelope_without_detail_still_explains() -> None:
    report = check(source="reconstructed")
    assert report.findings[0].detail == (
        "client address, HELO and MAIL FROM read from Received and Return-Path"
    )


@pytest.mark.parametrize("source", ["smtp", "given", "none"])
def test_other_sources_add_no_note(source: str) -> None:
    assert check(source=source).findings == []


def test_an_unknown_source_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="source must be one of"):
        check(source="guessed")
