"""The evaluation trace: which record was read, which term was evaluated, and how it ended."""

from __future__ import annotations

from collections.abc import Mapping

from analysis import spf
from analysis.resolvers import StaticResolver

Step = tuple[str, int, str, str, str, str]


def trace(zone: Mapping[str, object], *, ip: str = "192.0.2.1", helo: str = "") -> list[Step]:
    report = spf.evaluate(
        ip=ip,
        helo=helo,
        mail_from="<a@example.com>",
        lookup=StaticResolver(zone),
        source="smtp",
    )
    return [(s.identity, s.depth, s.kind, s.domain, s.text, s.outcome) for s in report.trace]


def test_include_and_redirect_are_followed_step_by_step() -> None:
    zone = {
        "example.com": {
            "@": [
                ["txt", "v=spf1 ip4:198.51.100.1 include:_spf.example.net redirect=_r.example.com"]
            ],
            "_r": [["txt", "v=spf1 mx -all"], ["mx", "10 mx.example.com."]],
            "mx": [["a", "192.0.2.1"]],
        },
        "example.net": {"_spf": [["txt", "v=spf1 ip4:203.0.113.0/24 -all"]]},
    }
    record = "v=spf1 ip4:198.51.100.1 include:_spf.example.net redirect=_r.example.com"
    assert trace(zone) == [
        ("mailfrom", 0, "dns", "example.com", "TXT example.com", f'found: "{record}"'),
        ("mailfrom", 0, "record", "example.com", record, "read"),
        ("mailfrom", 0, "term", "example.com", "ip4:198.51.100.1", "no match"),
        (
            "mailfrom",
            0,
            "term",
            "example.com",
            "include:_spf.example.net",
            "no match (the included record gave fail)",
        ),
        (
            "mailfrom",
            0,
            "dns",
            "example.com",
            "TXT _spf.example.net",
            'found: "v=spf1 ip4:203.0.113.0/24 -all"',
        ),
        ("mailfrom", 1, "record", "_spf.example.net", "v=spf1 ip4:203.0.113.0/24 -all", "read"),
        ("mailfrom", 1, "term", "_spf.example.net", "ip4:203.0.113.0/24", "no match"),
        ("mailfrom", 1, "term", "_spf.example.net", "-all", "match: fail"),
        (
            "mailfrom",
            0,
            "redirect",
            "example.com",
            "redirect=_r.example.com",
            "followed: no term matched",
        ),
        ("mailfrom", 0, "dns", "example.com", "TXT _r.example.com", 'found: "v=spf1 mx -all"'),
        ("mailfrom", 0, "record", "_r.example.com", "v=spf1 mx -all", "read"),
        ("mailfrom", 0, "term", "_r.example.com", "mx", "match: pass"),
        ("mailfrom", 0, "dns", "_r.example.com", "MX _r.example.com", "found: 10 mx.example.com"),
        ("mailfrom", 0, "dns", "_r.example.com", "A mx.example.com", "found: 192.0.2.1"),
    ]


def test_a_syntax_error_stops_the_evaluation_visibly() -> None:
    zone = {"example.com": {"@": [["txt", "v=spf1 a ipv4:192.0.2.1 -all"]]}}
    assert trace(zone)[1:] == [
        ("mailfrom", 0, "record", "example.com", "v=spf1 a ipv4:192.0.2.1 -all", "read"),
        (
            "mailfrom",
            0,
            "note",
            "example.com",
            "evaluation stopped",
            "permerror: Unknown mechanism found: ipv4:192.0.2.1",
        ),
    ]


def test_an_include_of_a_domain_without_record_shows_the_permerror_on_the_term() -> None:
    zone = {"example.com": {"@": [["txt", "v=spf1 include:nowhere.example.com -all"]]}}
    assert trace(zone)[2:] == [
        (
            "mailfrom",
            0,
            "term",
            "example.com",
            "include:nowhere.example.com",
            "permerror: No valid SPF record for included domain: nowhere.example.com: "
            "include:nowhere.example.com",
        ),
        (
            "mailfrom",
            0,
            "dns",
            "example.com",
            "TXT nowhere.example.com",
            "nxdomain (nowhere.example.com is not in the static zone)",
        ),
        (
            "mailfrom",
            1,
            "record",
            "nowhere.example.com",
            "no SPF record at nowhere.example.com",
            "none",
        ),
    ]


def test_several_records_are_shown_with_the_error() -> None:
    zone = {"example.com": {"@": [["txt", "v=spf1 -all"], ["txt", "v=spf1 +all"]]}}
    assert trace(zone) == [
        (
            "mailfrom",
            0,
            "dns",
            "example.com",
            "TXT example.com",
            'found: "v=spf1 -all", "v=spf1 +all"',
        ),
        (
            "mailfrom",
            0,
            "record",
            "example.com",
            "SPF record of example.com",
            "permerror: Two or more type TXT spf records found.",
        ),
    ]


def test_no_match_and_no_all_shows_the_default() -> None:
    zone = {"example.com": {"@": [["txt", "v=spf1 ip4:192.0.2.0/24"]]}}
    assert trace(zone, ip="2001:db8::1")[2:] == [
        (
            "mailfrom",
            0,
            "term",
            "example.com",
            "ip4:192.0.2.0/24",
            "no match (the client address is of the other family)",
        ),
        ("mailfrom", 0, "default", "example.com", "no term matched", "neutral (RFC 7208 §4.7)"),
    ]


def test_the_helo_check_follows_with_its_own_identity() -> None:
    zone = {
        "example.com": {"@": [["txt", "v=spf1 +all"]]},
        "mta.example.org": {"@": [["txt", "v=spf1 -all"]]},
    }
    assert trace(zone, helo="mta.example.org") == [
        ("mailfrom", 0, "dns", "example.com", "TXT example.com", 'found: "v=spf1 +all"'),
        ("mailfrom", 0, "record", "example.com", "v=spf1 +all", "read"),
        ("mailfrom", 0, "term", "example.com", "+all", "match: pass"),
        ("helo", 0, "dns", "mta.example.org", "TXT mta.example.org", 'found: "v=spf1 -all"'),
        ("helo", 0, "record", "mta.example.org", "v=spf1 -all", "read"),
        ("helo", 0, "term", "mta.example.org", "-all", "match: fail"),
    ]


def test_control_characters_are_shown_escaped() -> None:
    zone = {"example.com": {"@": [["txt", "v=spf1 a:ctrl.example.com\rptr -all"]]}}
    steps = trace(zone)
    assert steps[1][4] == "v=spf1 a:ctrl.example.com\\rptr -all"
    assert steps[2][5] == "permerror: Invalid domain found (use FQDN): ctrl.example.com\\rptr"
