"""SPF (RFC 7208) through analysis.spf.evaluate: every result and every path, on static zones.

Each case names the zone, the envelope, and the exact result, deciding term and finding codes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from analysis import spf
from analysis.findings import Severity, State, Step
from analysis.resolvers import StaticResolver

IP = "192.0.2.1"


def check(
    zone: Mapping[str, object],
    *,
    ip: str | None = IP,
    mail_from: str = "<alice@example.com>",
    helo: str = "",
    source: str = "smtp",
    **kw: str,
) -> spf.SpfReport:
    return spf.evaluate(
        ip=ip,
        helo=helo,
        mail_from=mail_from,
        lookup=StaticResolver(zone),
        source=source,
        **kw,  # type: ignore[arg-type]
    )


def codes(report: spf.SpfReport) -> list[str]:
    return [f.code for f in report.findings]


def apex(*entries: list[str], **names: list[list[str]]) -> dict[str, object]:
    """A zone for example.com: ``entries`` at the apex, ``names`` below it."""
    return {"example.com": {"@": list(entries), **names}}


@dataclass
class Case:
    id: str
    zone: dict[str, object]
    result: str
    matched: str | None
    codes: list[str] = field(default_factory=list)
    ip: str = IP
    mail_from: str = "<alice@example.com>"
    lookups: int = 0
    void: int = 0


CASES = [
    # -- the seven results -------------------------------------------------------------------
    Case(
        "pass-ip4-cidr", apex(["txt", "v=spf1 ip4:192.0.2.0/24 -all"]), "pass", "ip4:192.0.2.0/24"
    ),
    Case(
        "fail-all", apex(["txt", "v=spf1 ip4:198.51.100.0/24 -all"]), "fail", "-all", ["spf.fail"]
    ),
    Case("softfail", apex(["txt", "v=spf1 ~all"]), "softfail", "~all", ["spf.softfail"]),
    Case("neutral-all", apex(["txt", "v=spf1 ?all"]), "neutral", "?all", ["spf.neutral"]),
    Case(
        "neutral-by-default",
        apex(["txt", "v=spf1 ip4:198.51.100.1"]),
        "neutral",
        None,
        ["spf.neutral"],
    ),
    Case(
        "none-no-spf-txt",
        apex(["txt", "google-site-verification=abc"]),
        "none",
        None,
        ["spf.none"],
    ),
    Case("none-nxdomain", {}, "none", None, ["spf.none"], void=1),
    Case("none-nodata", apex(["a", "192.0.2.1"]), "none", None, ["spf.none"], void=1),
    Case("none-spf-version-only-prefix", apex(["txt", "v=spf10 -all"]), "none", None, ["spf.none"]),
    Case("temperror-servfail", apex(["servfail", ""]), "temperror", None, ["spf.temperror"]),
    Case("temperror-timeout", apex(["timeout", ""]), "temperror", None, ["spf.temperror"]),
    Case(
        "temperror-inside-include",
        {
            "example.com": {"@": [["txt", "v=spf1 include:_spf.example.net -all"]]},
            "example.net": {"_spf": [["servfail", ""]]},
        },
        "temperror",
        None,
        ["spf.temperror"],
        lookups=1,
    ),
    Case(
        "permerror-syntax",
        apex(["txt", "v=spf1 ipv4:192.0.2.1 -all"]),
        "permerror",
        None,
        ["spf.syntax"],
    ),
    Case(
        "permerror-bad-cidr",
        apex(["txt", "v=spf1 ip4:192.0.2.0/33 -all"]),
        "permerror",
        None,
        ["spf.syntax"],
    ),
    Case(
        "permerror-two-records",
        apex(["txt", "v=spf1 -all"], ["txt", "v=spf1 +all"]),
        "permerror",
        None,
        ["spf.multiple-records"],
    ),
    Case(
        "permerror-include-without-record",
        apex(["txt", "v=spf1 include:gone.example.org -all"]),
        "permerror",
        None,
        ["spf.include-without-record"],
        lookups=1,
        void=1,
    ),
    Case(
        "permerror-redirect-without-record",
        apex(["txt", "v=spf1 redirect=gone.example.org"]),
        "permerror",
        None,
        ["spf.redirect-without-record"],
        lookups=1,
        void=1,
    ),
    Case(
        "permerror-non-ascii",
        apex(["txt", "v=spf1 a:exämple.com -all"]),
        "permerror",
        None,
        ["spf.syntax"],
    ),
    # -- include chains and redirect -----------------------------------------------------------
    Case(
        "include-chain-pass",
        {
            "example.com": {"@": [["txt", "v=spf1 include:_spf.example.net -all"]]},
            "example.net": {
                "_spf": [["txt", "v=spf1 include:_ip.example.net ~all"]],
                "_ip": [["txt", "v=spf1 ip4:192.0.2.0/28 -all"]],
            },
        },
        "pass",
        "include:_spf.example.net (include:_ip.example.net (ip4:192.0.2.0/28))",
        lookups=2,
    ),
    Case(
        "include-fail-does-not-decide",
        {
            "example.com": {"@": [["txt", "v=spf1 include:_spf.example.net ~all"]]},
            "example.net": {"_spf": [["txt", "v=spf1 ip4:198.51.100.0/24 -all"]]},
        },
        "softfail",
        "~all",
        ["spf.softfail"],
        lookups=1,
    ),
    Case(
        "minus-include-fails-on-inner-pass",
        {
            "example.com": {"@": [["txt", "v=spf1 -include:bad.example.net +all"]]},
            "example.net": {"bad": [["txt", "v=spf1 ip4:192.0.2.1 -all"]]},
        },
        "fail",
        "-include:bad.example.net (ip4:192.0.2.1)",
        ["spf.fail"],
        lookups=1,
    ),
    Case(
        "redirect-pass",
        {
            "example.com": {"@": [["txt", "v=spf1 ip4:198.51.100.1 redirect=_spf.example.net"]]},
            "example.net": {"_spf": [["txt", "v=spf1 ip4:192.0.2.0/24 -all"]]},
        },
        "pass",
        "redirect=_spf.example.net (ip4:192.0.2.0/24)",
        lookups=1,
    ),
    Case(
        "redirect-ignored-with-all",
        {
            "example.com": {"@": [["txt", "v=spf1 -all redirect=_spf.example.net"]]},
            "example.net": {"_spf": [["txt", "v=spf1 +all"]]},
        },
        "fail",
        "-all",
        ["spf.fail"],
    ),
    # -- mechanisms ----------------------------------------------------------------------------
    Case(
        "a-own-domain",
        apex(["txt", "v=spf1 a -all"], ["a", "192.0.2.1"]),
        "pass",
        "a",
        lookups=1,
    ),
    Case(
        "a-cidr",
        apex(["txt", "v=spf1 a:mail.example.com/24 -all"], mail=[["a", "192.0.2.200"]]),
        "pass",
        "a:mail.example.com/24",
        lookups=1,
    ),
    Case(
        "a-no-match-outside-cidr",
        apex(["txt", "v=spf1 a:mail.example.com/30 -all"], mail=[["a", "192.0.2.200"]]),
        "fail",
        "-all",
        ["spf.fail"],
        lookups=1,
    ),
    Case(
        "mx",
        apex(
            ["txt", "v=spf1 mx -all"],
            ["mx", "10 mx1.example.com."],
            ["mx", "20 mx2.example.com."],
            mx1=[["a", "198.51.100.1"]],
            mx2=[["a", "192.0.2.1"]],
        ),
        "pass",
        "mx",
        lookups=1,
    ),
    Case(
        "mx-null-mx-matches-nothing",  # RFC 7505 "0 ."; no address question is asked
        apex(["txt", "v=spf1 mx -all"], ["mx", "0 ."]),
        "fail",
        "-all",
        ["spf.fail"],
        lookups=1,
    ),
    Case(
        "mx-cidr-other-domain",
        {
            "example.com": {"@": [["txt", "v=spf1 mx:example.org/24 -all"]]},
            "example.org": {"@": [["mx", "0 in.example.org."]], "in": [["a", "192.0.2.77"]]},
        },
        "pass",
        "mx:example.org/24",
        lookups=1,
    ),
    Case(
        "ptr",
        {
            "example.com": {"@": [["txt", "v=spf1 ptr -all"]], "host": [["a", "192.0.2.1"]]},
            "1.2.0.192.in-addr.arpa": {"@": [["ptr", "host.example.com."]]},
        },
        "pass",
        "ptr",
        lookups=1,
    ),
    Case(
        "ptr-name-not-validated",
        {
            "example.com": {"@": [["txt", "v=spf1 ptr -all"]], "host": [["a", "192.0.2.99"]]},
            "1.2.0.192.in-addr.arpa": {"@": [["ptr", "host.example.com."]]},
        },
        "fail",
        "-all",
        ["spf.fail"],
        lookups=1,
    ),
    Case(
        "exists-with-ip-macro",
        apex(
            ["txt", "v=spf1 exists:%{ir}.%{l1r+}._spf.%{d} -all"],
            **{"1.2.0.192.alice._spf": [["a", "127.0.0.2"]]},
        ),
        "pass",
        "exists:%{ir}.%{l1r+}._spf.%{d}",
        lookups=1,
    ),
    Case(
        "exists-no-record",
        apex(["txt", "v=spf1 exists:%{i}._spf.%{d} -all"]),
        "fail",
        "-all",
        ["spf.fail"],
        lookups=1,
        void=1,
    ),
    Case(
        "ip6",
        apex(["txt", "v=spf1 ip6:2001:db8::/32 -all"]),
        "pass",
        "ip6:2001:db8::/32",
        ip="2001:db8:1::25",
    ),
    Case(
        "ip4-does-not-match-an-ipv6-client",
        apex(["txt", "v=spf1 ip4:0.0.0.0/0 -all"]),
        "fail",
        "-all",
        ["spf.fail"],
        ip="2001:db8::25",
    ),
    Case(
        "a-dual-cidr-for-ipv6",
        apex(["txt", "v=spf1 a/24//64 -all"], ["aaaa", "2001:db8:5:7::1"]),
        "pass",
        "a/24//64",
        ip="2001:db8:5:7:abcd::9",
        lookups=1,
    ),
    Case(
        "ipv4-mapped-ipv6-client-is-ipv4",
        apex(["txt", "v=spf1 ip4:192.0.2.0/24 -all"]),
        "pass",
        "ip4:192.0.2.0/24",
        ip="::ffff:192.0.2.1",
    ),
    Case(
        "ipv4-mapped-client-uses-a-records",
        apex(["txt", "v=spf1 a -all"], ["a", "192.0.2.1"], ["aaaa", "::ffff:192.0.2.1"]),
        "pass",
        "a",
        ip="::ffff:192.0.2.1",
        lookups=1,
    ),
    Case(
        "macro-local-part-and-domain",
        apex(
            ["txt", "v=spf1 exists:%{l}.%{o}.users.example.com -all"],
            **{"alice.example.com.users": [["a", "127.0.0.2"]]},
        ),
        "pass",
        "exists:%{l}.%{o}.users.example.com",
        lookups=1,
    ),
    Case(
        "empty-local-part-is-postmaster",
        apex(
            ["txt", "v=spf1 exists:%{l}.users.example.com -all"],
            **{"postmaster.users": [["a", "127.0.0.2"]]},
        ),
        "pass",
        "exists:%{l}.users.example.com",
        mail_from="<@example.com>",
        lookups=1,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_result_and_deciding_term(case: Case) -> None:
    report = check(case.zone, ip=case.ip, mail_from=case.mail_from)
    assert report.result == case.result
    assert report.matched == case.matched
    assert codes(report) == case.codes
    assert (report.lookups, report.void_lookups) == (case.lookups, case.void)
    assert report.identity == "mailfrom"
    assert report.domain == "example.com"


def test_pass_needs_no_finding_and_says_so_in_one_sentence() -> None:
    report = check(apex(["txt", "v=spf1 ip4:192.0.2.0/24 -all"]))
    assert report.findings == []
    assert report.summary == (
        "SPF: pass — 192.0.2.1 is allowed to send for example.com (the term "
        "ip4:192.0.2.0/24 decided)."
    )
    assert report.record == "v=spf1 ip4:192.0.2.0/24 -all"
    assert report.explanation is None


def test_fail_names_everyone_who_can_act() -> None:
    report = check(apex(["txt", "v=spf1 ip4:198.51.100.0/24 -all"]))
    (finding,) = report.findings
    assert finding.code == "spf.fail"
    assert finding.state is State.FAIL
    assert finding.step is Step.SPF
    assert finding.message == "SPF fail: 192.0.2.1 is not allowed to send for example.com"
    assert finding.detail == "the term -all decided; record: v=spf1 ip4:198.51.100.0/24 -all"
    assert finding.spec == "RFC 7208 §2.6.4"
    assert report.summary == (
        "SPF: fail — 192.0.2.1 is not allowed to send for example.com (the term -all "
        "decided); if that server sends for example.com, example.com's DNS administrator "
        "must list it in the SPF record; if the message was forwarded, the forwarder must "
        "rewrite the envelope sender (SRS); otherwise the sending server's operator must stop "
        "using that MAIL FROM domain."
    )


def test_softfail_and_neutral_are_warnings_not_verdict_states() -> None:
    soft = check(apex(["txt", "v=spf1 ~all"]))
    neutral = check(apex(["txt", "v=spf1 ip4:198.51.100.1"]))
    assert [(f.state, f.severity) for f in soft.findings] == [(State.NONE, Severity.WARNING)]
    assert soft.findings[0].message == (
        "SPF softfail: 192.0.2.1 is probably not allowed to send for example.com"
    )
    assert neutral.findings[0].detail == (
        "no term matched and the record has no all term, so the default applies (RFC 7208 "
        "§4.7); record: v=spf1 ip4:198.51.100.1"
    )
    assert neutral.summary == (
        "SPF: neutral — example.com's record neither allows nor denies 192.0.2.1 (no term "
        "matched); example.com's DNS administrator can list the domain's servers and end the "
        "record in -all or ~all."
    )


def test_none_says_what_the_txt_question_found() -> None:
    assert check(apex(["txt", "google-site-verification=abc"])).findings[0].detail == (
        "no TXT record at example.com starts with v=spf1 (its TXT records: "
        '"google-site-verification=abc")'
    )
    nx = check({})
    assert nx.findings[0].detail == (
        "no TXT record at example.com starts with v=spf1 (the name does not exist: NXDOMAIN)"
    )
    assert nx.summary == (
        "SPF: none — example.com publishes no SPF record, so no server is allowed or denied; "
        "example.com's DNS administrator should publish one that lists its sending servers."
    )


def test_temperror_names_the_failed_question() -> None:
    report = check(apex(["servfail", ""]))
    (finding,) = report.findings
    assert finding.state is State.TEMPERROR
    assert finding.detail == ("TXT example.com: servfail (simulated servfail (static zone marker))")
    assert report.summary == (
        "SPF: temperror — a DNS lookup failed while checking example.com (TXT example.com: "
        "servfail (simulated servfail (static zone marker))); the DNS servers of example.com "
        "must answer, and a later check may give a result."
    )


@pytest.mark.parametrize(
    "zone, code, detail",
    [
        (
            apex(["txt", "v=spf1 ipv4:192.0.2.1 -all"]),
            "spf.syntax",
            "the record of example.com: Unknown mechanism found: ipv4:192.0.2.1",
        ),
        (
            apex(["txt", "v=spf1 -all"], ["txt", "v=spf1 +all"]),
            "spf.multiple-records",
            'example.com publishes 2 TXT records starting with v=spf1: "v=spf1 -all", '
            '"v=spf1 +all"',
        ),
        (
            apex(["txt", "v=spf1 include:gone.example.org -all"]),
            "spf.include-without-record",
            "the record of example.com includes gone.example.org, which publishes no SPF record",
        ),
        (
            apex(["txt", "v=spf1 redirect=gone.example.org"]),
            "spf.redirect-without-record",
            "the record of example.com redirects to gone.example.org, which publishes no SPF "
            "record",
        ),
        (
            {
                "example.com": {"@": [["txt", "v=spf1 include:_spf.example.net -all"]]},
                "example.net": {"_spf": [["txt", "v=spf1 a:mail.example.net//200 -all"]]},
            },
            "spf.syntax",
            "the record of _spf.example.net (reached from example.com): Invalid IP6 CIDR "
            "length: a:mail.example.net//200",
        ),
    ],
    ids=["syntax", "multiple-records", "include-without-record", "redirect", "in-include"],
)
def test_permerror_names_its_cause(zone: Mapping[str, object], code: str, detail: str) -> None:
    report = check(zone)
    (finding,) = report.findings
    assert (report.result, finding.code, finding.state) == ("permerror", code, State.PERMERROR)
    assert finding.message == "SPF permerror: the SPF record of example.com cannot be evaluated"
    assert finding.detail == detail


def test_permerror_summary_names_the_administrator_to_act() -> None:
    report = check(
        {
            "example.com": {"@": [["txt", "v=spf1 include:_spf.example.net -all"]]},
            "example.net": {"_spf": [["txt", "v=spf1 a:mail.example.net//200 -all"]]},
        }
    )
    assert report.summary == (
        "SPF: permerror — example.com's SPF record cannot be evaluated: its record has an "
        "error (Invalid IP6 CIDR length: a:mail.example.net//200); example.com's DNS "
        "administrator (or the DNS administrator of _spf.example.net) must fix it."
    )


# -- exp= (RFC 7208 §6.2) ---------------------------------------------------------------------


def test_exp_text_is_expanded_for_a_fail() -> None:
    report = check(
        apex(
            ["txt", "v=spf1 -all exp=why.example.com"],
            why=[["txt", "%{i} may not send for %{d} (sender %{s}, helo %{h}, seen by %{r})"]],
        ),
        helo="mta.example.org",
        receiver="mx.receiver.example",
    )
    assert report.explanation == (
        "192.0.2.1 may not send for example.com (sender alice@example.com, helo "
        "mta.example.org, seen by mx.receiver.example)"
    )
    assert report.findings[0].detail == (
        "the term -all decided; record: v=spf1 -all exp=why.example.com; the domain explains: "
        '"192.0.2.1 may not send for example.com (sender alice@example.com, helo '
        'mta.example.org, seen by mx.receiver.example)"'
    )


def test_exp_time_macro_uses_the_injected_clock() -> None:
    report = check(
        apex(["txt", "v=spf1 -all exp=why.example.com"], why=[["txt", "at %{t}"]]),
        now=1790000000.5,  # type: ignore[arg-type]
    )
    assert report.explanation == "at 1790000000"


def test_exp_is_not_reported_without_a_fail() -> None:
    report = check(
        apex(["txt", "v=spf1 ~all exp=why.example.com"], why=[["txt", "go away"]]),
    )
    assert (report.result, report.explanation) == ("softfail", None)


def test_exp_of_an_included_record_is_not_used() -> None:
    report = check(
        {
            "example.com": {"@": [["txt", "v=spf1 -include:_spf.example.net ?all"]]},
            "example.net": {
                "_spf": [["txt", "v=spf1 +all exp=why.example.net"]],
                "why": [["txt", "inner text"]],
            },
        }
    )
    assert (report.result, report.explanation) == ("fail", None)


def test_exp_of_the_redirect_target_is_used_and_the_original_one_is_not() -> None:
    report = check(
        {
            "example.com": {
                "@": [["txt", "v=spf1 redirect=_spf.example.net exp=a.example.com"]],
                "a": [["txt", "original"]],
            },
            "example.net": {
                "_spf": [["txt", "v=spf1 -all exp=b.example.net"]],
                "b": [["txt", "target"]],
            },
        }
    )
    assert (report.result, report.explanation) == ("fail", "target")


def test_exp_without_a_record_leaves_no_explanation() -> None:
    report = check(apex(["txt", "v=spf1 -all exp=nowhere.example.com"]))
    assert (report.result, report.explanation, report.void_lookups) == ("fail", None, 0)


# -- identities (RFC 7208 §2.3, §2.4) -----------------------------------------------------------


def test_null_mail_from_checks_the_helo_identity() -> None:
    zone = {"mta.example.org": {"@": [["txt", "v=spf1 a -all"], ["a", "192.0.2.1"]]}}
    for null in ("<>", "", "  <>  "):
        report = check(zone, mail_from=null, helo="mta.example.org")
        assert (report.identity, report.domain, report.result) == (
            "helo",
            "mta.example.org",
            "pass",
        )
        assert report.helo_result == "pass"
        assert report.matched == "a"


def test_helo_identity_uses_postmaster_at_helo_as_sender() -> None:
    zone = {
        "mta.example.org": {"@": [["txt", "v=spf1 exists:%{l}.%{d}.check.example.org -all"]]},
        "example.org": {"postmaster.mta.example.org.check": [["a", "127.0.0.2"]]},
    }
    report = check(zone, mail_from="<>", helo="mta.example.org")
    assert (report.result, report.matched) == ("pass", "exists:%{l}.%{d}.check.example.org")


def test_helo_fail_for_a_null_sender_names_the_helo_name() -> None:
    zone = {"mta.example.org": {"@": [["txt", "v=spf1 -all"]]}}
    report = check(zone, mail_from="<>", helo="mta.example.org")
    assert report.findings[0].message == (
        "SPF fail: 192.0.2.1 is not allowed to send for the HELO name mta.example.org"
    )
    assert report.summary.endswith(
        "the DNS administrator of the HELO name mta.example.org must list it in the SPF "
        "record; if the message was forwarded, the forwarder must rewrite the envelope sender "
        "(SRS); otherwise the sending server's operator must stop using that HELO name."
    )


def test_helo_is_checked_separately_and_a_different_result_is_noted() -> None:
    zone = {
        **apex(["txt", "v=spf1 ip4:192.0.2.0/24 -all"]),
        "mta.example.org": {"@": [["txt", "v=spf1 -all"]]},
    }
    report = check(zone, helo="mta.example.org")
    assert (report.result, report.helo_result) == ("pass", "fail")
    (finding,) = report.findings
    assert (finding.code, finding.severity, finding.state) == (
        "spf.helo-differs",
        Severity.INFO,
        State.NONE,
    )
    assert finding.message == "SPF: the HELO check gives fail, the MAIL FROM check pass"
    assert finding.detail == (
        "HELO name mta.example.org: fail (the term -all decided); MAIL FROM domain "
        "example.com: pass"
    )


def test_same_helo_result_adds_nothing() -> None:
    zone = {
        **apex(["txt", "v=spf1 ip4:192.0.2.0/24 -all"]),
        "mta.example.org": {"@": [["txt", "v=spf1 ip4:192.0.2.1 -all"]]},
    }
    report = check(zone, helo="mta.example.org")
    assert (report.result, report.helo_result, report.findings) == ("pass", "pass", [])


def test_helo_that_is_not_a_domain_gives_helo_result_none() -> None:
    report = check(apex(["txt", "v=spf1 +all"]), helo="[192.0.2.1]")
    assert (report.result, report.helo_result) == ("pass", "none")
    assert report.findings[0].detail == (
        "HELO name [192.0.2.1]: none; MAIL FROM domain example.com: pass"
    )


def test_without_a_helo_name_there_is_no_helo_result() -> None:
    assert check(apex(["txt", "v=spf1 +all"])).helo_result is None


# -- no IP ------------------------------------------------------------------------------------


@pytest.mark.parametrize("ip", [None, "", "   "])
def test_without_an_ip_nothing_is_evaluated(ip: str | None) -> None:
    resolver = StaticResolver(apex(["txt", "v=spf1 -all"]))
    report = spf.evaluate(
        ip=ip, helo="", mail_from="<alice@example.com>", lookup=resolver, source="none"
    )
    assert (report.result, report.ip, report.helo_result, report.domain) == (
        "none",
        None,
        None,
        "example.com",
    )
    assert resolver.dns_answers == []  # not a single question
    (finding,) = report.findings
    assert (finding.code, finding.state, finding.severity) == (
        "spf.no-ip",
        State.NONE,
        Severity.WARNING,
    )
    assert finding.message == "SPF none: no connecting IP address is known"
    assert finding.detail == (
        "SPF judges the address of the server that handed the message over; none was known "
        "(envelope source: none), so nothing could be evaluated"
    )
    assert report.summary == (
        "SPF: none — no connecting IP address was known, so SPF could not be evaluated; send "
        "the message to the SMTP intake (which records it), type it with the envelope, or "
        "analyse a copy that keeps the receiver's Received field."
    )


# -- the report as JSON -------------------------------------------------------------------------


def test_report_json_is_complete_and_json_safe() -> None:
    report = check(
        {
            "example.com": {"@": [["txt", "v=spf1 include:_spf.example.net -all"]]},
            "example.net": {"_spf": [["txt", "v=spf1 ip4:192.0.2.0/24 -all"]]},
        },
        helo="mta.example.org",
        source="given",
        source_detail="typed by the user",
    )
    data = json.loads(json.dumps(report.to_json()))
    assert set(data) == {
        "result",
        "identity",
        "domain",
        "helo_result",
        "ip",
        "helo",
        "mail_from",
        "source",
        "source_detail",
        "record",
        "matched",
        "explanation",
        "lookups",
        "void_lookups",
        "trace",
        "trace_omitted",
        "findings",
        "summary",
    }
    assert {k: data[k] for k in ("result", "identity", "domain", "helo_result", "ip")} == {
        "result": "pass",
        "identity": "mailfrom",
        "domain": "example.com",
        "helo_result": "none",
        "ip": "192.0.2.1",
    }
    assert (data["helo"], data["mail_from"], data["source"], data["source_detail"]) == (
        "mta.example.org",
        "<alice@example.com>",
        "given",
        "typed by the user",
    )
    assert data["matched"] == "include:_spf.example.net (ip4:192.0.2.0/24)"
    assert data["trace"][0] == {
        "identity": "mailfrom",
        "depth": 0,
        "kind": "dns",
        "domain": "example.com",
        "text": "TXT example.com",
        "outcome": 'found: "v=spf1 include:_spf.example.net -all"',
    }
    assert [f["code"] for f in data["findings"]] == ["spf.helo-differs"]
