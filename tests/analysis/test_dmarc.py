"""DMARC (RFC 9989) results over static zones: every result word and every policy path.

Each test builds a small zone, a one-line message and the identifiers the other mechanisms
would have found, and checks the exact result, policy, disposition, findings and summary.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from analysis.catalogue import explain
from analysis.dmarc import AuthenticatedIdentifier, DmarcReport, evaluate
from analysis.findings import State
from analysis.message import parse_message
from analysis.resolvers import StaticResolver

REJECT = {"example.com": {"_dmarc": [["txt", "v=DMARC1; p=reject"]], "@": [["a", "192.0.2.1"]]}}


def spf(domain: str, result: str = "pass") -> AuthenticatedIdentifier:
    return AuthenticatedIdentifier("spf", domain, result, f"SPF (MAIL FROM {domain})")


def dkim(domain: str, result: str = "pass", n: int = 1) -> AuthenticatedIdentifier:
    return AuthenticatedIdentifier("dkim", domain, result, f"DKIM1 signature {n} (d={domain})")


def dkim2(domain: str, result: str = "pass", hop: int = 1) -> AuthenticatedIdentifier:
    return AuthenticatedIdentifier("dkim2", domain, result, f"DKIM2 hop i={hop} (d={domain})")


def run(
    zone: dict[str, Any],
    author: str,
    identifiers: list[AuthenticatedIdentifier],
) -> tuple[DmarcReport, StaticResolver]:
    resolver = StaticResolver(zone)
    message = parse_message(
        f"From: Someone <someone@{author}>\r\nSubject: t\r\n\r\nhi\r\n".encode()
    )
    return evaluate(message=message, identifiers=identifiers, lookup=resolver), resolver


def codes(report: DmarcReport) -> list[str]:
    return [f.code for f in report.findings]


def finding(report: DmarcReport, code: str) -> str:
    (match,) = [f for f in report.findings if f.code == code]
    return match.detail


def asked(resolver: StaticResolver) -> list[str]:
    return [f"{a.query.name} {a.query.rtype.value}" for a in resolver.dns_answers]


# -- pass ---------------------------------------------------------------------------------------


def test_pass_by_spf_only() -> None:
    report, resolver = run(REJECT, "example.com", [spf("example.com"), dkim("esp.example", "fail")])
    assert (report.result, report.result_without_dkim2) == ("pass", "pass")
    assert (report.policy_domain, report.organizational_domain) == ("example.com", "example.com")
    assert report.disposition is None
    assert codes(report) == ["dmarc.pass"]
    assert finding(report, "dmarc.pass") == (
        "SPF (MAIL FROM example.com) is aligned with example.com and passed"
    )
    spf_check, dkim_check = report.alignment
    assert (spf_check.aligned, spf_check.passed, spf_check.counts) == (True, True, True)
    assert (
        spf_check.why == "Aligned: example.com is the From domain itself (relaxed), and it passed."
    )
    assert (dkim_check.aligned, dkim_check.passed, dkim_check.organizational_domain) == (
        None,
        False,
        None,
    )
    assert dkim_check.why == (
        "Not checked: it did not pass (fail), and RFC 9989 §4.10.2 looks up Organizational "
        "Domains only for identifiers that passed."
    )
    assert report.summary == (
        "DMARC: pass — SPF (MAIL FROM example.com) is aligned with example.com and passed "
        "(p=reject at _dmarc.example.com)."
    )
    # §4.10.2: same domain as the author, so no Organizational Domain walk at all.
    assert asked(resolver) == ["_dmarc.example.com TXT"]
    assert report.organizational_domain_why == (
        "every authenticated identifier is the From domain itself, which has its own record, "
        "so it is treated as the Organizational Domain (RFC 9989 §4.10.2)"
    )


def test_pass_by_dkim_only_with_an_unaligned_spf_pass() -> None:
    report, resolver = run(REJECT, "example.com", [spf("bounce.esp.example"), dkim("example.com")])
    assert (report.result, report.result_without_dkim2) == ("pass", "pass")
    assert codes(report) == ["dmarc.pass"]
    assert [(a.label, a.aligned, a.organizational_domain) for a in report.alignment] == [
        ("SPF (MAIL FROM bounce.esp.example)", False, "bounce.esp.example"),
        ("DKIM1 signature 1 (d=example.com)", True, "example.com"),
    ]
    assert report.alignment[0].why == (
        "Not aligned (relaxed): the Organizational Domain of bounce.esp.example is "
        "bounce.esp.example, that of the From domain example.com is example.com."
    )
    assert report.summary == (
        "DMARC: pass — DKIM1 signature 1 (d=example.com) is aligned with example.com and "
        "passed (p=reject at _dmarc.example.com)."
    )
    # The SPF domain differs and passed, so both walks run (the author's goes on past its
    # own record to find its Organizational Domain), in lock step.
    assert asked(resolver) == [
        "_dmarc.example.com TXT",
        "_dmarc.com TXT",
        "_dmarc.bounce.esp.example TXT",
        "_dmarc.esp.example TXT",
        "_dmarc.example TXT",
    ]


def test_pass_by_dkim2_only_fails_for_rfc_9989_alone() -> None:
    report, _ = run(REJECT, "example.com", [spf("bounce.esp.example"), dkim2("example.com")])
    assert (report.result, report.result_without_dkim2) == ("pass", "fail")
    assert (report.disposition, report.disposition_without_dkim2) == (None, "reject")
    assert codes(report) == ["dmarc.pass", "dmarc.dkim2-only"]
    assert finding(report, "dmarc.dkim2-only") == (
        "only DKIM2 hop i=1 (d=example.com) authenticates example.com; RFC 9989 §4.3 counts "
        "SPF and DKIM1 only, so a receiver that does not understand DKIM2 yet computes fail "
        "(the policy asks receivers to reject it); keep signing with DKIM1 too"
    )
    dkim2_check = report.alignment[1]
    assert (dkim2_check.mechanism, dkim2_check.aligned, dkim2_check.counts) == (
        "dkim2",
        True,
        False,
    )
    assert report.summary == (
        "DMARC: pass only through DKIM2 — DKIM2 hop i=1 (d=example.com) authenticates "
        "example.com, but no SPF or DKIM1 result does, so receivers that follow RFC 9989 alone "
        "compute fail (p=reject at _dmarc.example.com); the mail administrator of example.com "
        "should keep signing with DKIM1 too."
    )


def test_dkim2_and_dkim1_together_give_the_same_result_both_ways() -> None:
    report, _ = run(REJECT, "example.com", [dkim("example.com"), dkim2("example.com")])
    assert (report.result, report.result_without_dkim2) == ("pass", "pass")
    assert codes(report) == ["dmarc.pass"]


# -- fail ---------------------------------------------------------------------------------------


def test_fail_when_nothing_aligned_passed() -> None:
    report, _ = run(REJECT, "example.com", [spf("bounce.esp.example"), dkim("esp.example")])
    assert (report.result, report.result_without_dkim2) == ("fail", "fail")
    assert (report.disposition, report.disposition_without_dkim2) == ("reject", "reject")
    assert codes(report) == ["dmarc.spf-not-aligned", "dmarc.dkim-not-aligned", "dmarc.fail"]
    assert finding(report, "dmarc.spf-not-aligned") == (
        "SPF (MAIL FROM bounce.esp.example) passed for bounce.esp.example, whose "
        "Organizational Domain bounce.esp.example is not that of example.com"
    )
    assert finding(report, "dmarc.dkim-not-aligned") == (
        "DKIM1 signature 1 (d=esp.example) passed for esp.example, whose Organizational "
        "Domain esp.example is not that of example.com"
    )
    assert finding(report, "dmarc.fail") == (
        "no identifier aligned with example.com passed (SPF for bounce.esp.example: pass; "
        "DKIM1 d=esp.example: pass); the p=reject policy of _dmarc.example.com asks "
        "receivers to reject it"
    )
    fail = report.findings[-1]
    assert fail.state is State.FAIL
    assert fail.data == {"disposition": "reject"}
    assert report.summary == (
        "DMARC: fail — only bounce.esp.example and esp.example passed, and they are not "
        "aligned with example.com; p=reject at _dmarc.example.com asks receivers to reject "
        "it; if the message is genuine, the owner of example.com must make the bounce (MAIL "
        "FROM) domain or the DKIM d= align with example.com."
    )


def test_fail_names_the_forwarder_when_an_aligned_signature_broke() -> None:
    report, _ = run(REJECT, "example.com", [spf("list.example"), dkim("example.com", "fail")])
    assert report.result == "fail"
    assert codes(report) == ["dmarc.spf-not-aligned", "dmarc.aligned-but-failed", "dmarc.fail"]
    assert finding(report, "dmarc.aligned-but-failed") == (
        "DKIM1 signature 1 (d=example.com) is aligned with example.com but its result is fail"
    )
    assert report.alignment[1].why == (
        "Aligned: example.com is the From domain itself, but it did not pass (fail), so it "
        "does not authenticate the From domain."
    )
    assert report.summary == (
        "DMARC: fail — DKIM1 signature 1 (d=example.com) is aligned with example.com but did "
        "not pass; p=reject at _dmarc.example.com asks receivers to reject it; if the message "
        "is genuine, a forwarder or mailing list probably changed it and broke DKIM1 signature "
        "1 (d=example.com): that intermediary must stop modifying the message or rewrite the "
        "From field, or the signer of example.com must fix its signing."
    )


def test_fail_without_any_identifier() -> None:
    report, resolver = run(REJECT, "example.com", [])
    assert (report.result, report.disposition) == ("fail", "reject")
    assert codes(report) == ["dmarc.fail"]
    assert finding(report, "dmarc.fail") == (
        "no identifier aligned with example.com passed (no SPF, DKIM1 or DKIM2 result was "
        "given); the p=reject policy of _dmarc.example.com asks receivers to reject it"
    )
    assert report.summary == (
        "DMARC: fail — nothing authenticates example.com; p=reject at _dmarc.example.com asks "
        "receivers to reject it; if the message is genuine, the owner of example.com must sign "
        "it with DKIM d=example.com and send it from servers its SPF record lists; otherwise "
        "it is a forgery the policy is meant to stop."
    )
    assert report.organizational_domain is None
    assert report.organizational_domain_why == (
        "not looked up: no identifier passed, so no alignment check needed it (RFC 9989 §4.10.2)"
    )
    assert asked(resolver) == ["_dmarc.example.com TXT"]


def test_spf_aligned_but_failed_blames_forwarding_or_the_spf_record() -> None:
    report, _ = run(REJECT, "example.com", [spf("example.com", "softfail")])
    assert report.result == "fail"
    assert codes(report) == ["dmarc.aligned-but-failed", "dmarc.fail"]
    assert report.summary == (
        "DMARC: fail — SPF (MAIL FROM example.com) is aligned with example.com but did not "
        "pass; p=reject at _dmarc.example.com asks receivers to reject it; if the message is "
        "genuine, it was probably forwarded (so SPF for example.com failed) or sent from a "
        "server not listed in the SPF record of example.com: the owner of example.com should "
        "sign with an aligned DKIM d= that survives forwarding."
    )


# -- relaxed and strict alignment ---------------------------------------------------------------

SUBDOMAIN_AUTHOR = "news.example.com"


@pytest.mark.parametrize(
    ("record", "identifiers", "result", "aligned"),
    [
        ("v=DMARC1; p=reject", [dkim("example.com")], "pass", [True]),
        ("v=DMARC1; p=reject; adkim=r", [dkim("mail.example.com")], "pass", [True]),
        ("v=DMARC1; p=reject; adkim=s", [dkim("example.com")], "fail", [False]),
        ("v=DMARC1; p=reject; adkim=s", [dkim("news.example.com")], "pass", [True]),
        ("v=DMARC1; p=reject", [spf("bounce.example.com")], "pass", [True]),
        ("v=DMARC1; p=reject; aspf=s", [spf("bounce.example.com")], "fail", [False]),
        ("v=DMARC1; p=reject; aspf=s", [spf("news.example.com")], "pass", [True]),
        # adkim does not govern SPF, aspf does not govern DKIM
        ("v=DMARC1; p=reject; adkim=s", [spf("example.com")], "pass", [True]),
        ("v=DMARC1; p=reject; aspf=s", [dkim("example.com")], "pass", [True]),
        ("v=DMARC1; p=reject; adkim=s", [dkim2("example.com")], "fail", [False]),
        # case-insensitive comparison (RFC 9989 §4.4, RFC 4343)
        ("v=DMARC1; p=reject; adkim=s", [dkim("NEWS.Example.COM")], "pass", [True]),
    ],
)
def test_relaxed_and_strict_alignment(
    record: str,
    identifiers: list[AuthenticatedIdentifier],
    result: str,
    aligned: list[bool],
) -> None:
    report, _ = run({"example.com": {"_dmarc": [["txt", record]]}}, SUBDOMAIN_AUTHOR, identifiers)
    assert report.result == result
    assert [a.aligned for a in report.alignment] == aligned
    assert [a.mode for a in report.alignment] == [
        "strict"
        if ("adkim=s" in record and a.mechanism != "spf")
        or ("aspf=s" in record and a.mechanism == "spf")
        else "relaxed"
        for a in report.alignment
    ]


def test_strict_alignment_says_which_domain_it_needs() -> None:
    report, resolver = run(
        {"example.com": {"_dmarc": [["txt", "v=DMARC1; p=reject; adkim=s; aspf=s"]]}},
        SUBDOMAIN_AUTHOR,
        [spf("example.com"), dkim("example.com")],
    )
    assert [a.why for a in report.alignment] == [
        "Not aligned: aspf=s (strict) requires exactly news.example.com, and this is example.com.",
        "Not aligned: adkim=s (strict) requires exactly news.example.com, and this is example.com.",
    ]
    assert finding(report, "dmarc.dkim-not-aligned") == (
        "DKIM1 signature 1 (d=example.com) passed for example.com, but adkim=s requires "
        "exactly news.example.com"
    )
    # Strict alignment needs no Organizational Domain walk for the identifiers.
    assert asked(resolver) == [
        "_dmarc.news.example.com TXT",
        "_dmarc.example.com TXT",
        "_dmarc.com TXT",
    ]


# -- policies -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "tag", "value", "disposition", "notes"),
    [
        ("v=DMARC1; p=none", "p", "none", "none", ["dmarc.policy-none"]),
        ("v=DMARC1; p=quarantine", "p", "quarantine", "quarantine", []),
        ("v=DMARC1; p=reject", "p", "reject", "reject", []),
        ("v=DMARC1; p=REJECT", "p", "reject", "reject", []),
        ("v=DMARC1; p=reject; t=y", "p", "reject", "quarantine", ["dmarc.testing"]),
        ("v=DMARC1; p=quarantine; t=y", "p", "quarantine", "none", ["dmarc.testing"]),
        (
            "v=DMARC1; p=none; t=y",
            "p",
            "none",
            "none",
            ["dmarc.policy-none", "dmarc.testing"],
        ),
        ("v=DMARC1; p=reject; t=n", "p", "reject", "reject", []),
        ("v=DMARC1; p=reject; sp=none", "p", "reject", "reject", []),  # sp: subdomains only
    ],
)
def test_the_author_domains_own_policy_and_testing_mode(
    record: str, tag: str, value: str, disposition: str, notes: list[str]
) -> None:
    report, _ = run({"example.com": {"_dmarc": [["txt", record]]}}, "example.com", [])
    assert report.result == "fail"
    assert report.policy is not None
    assert (report.policy.tag, report.policy.value, report.policy.effective) == (
        tag,
        value,
        disposition,
    )
    assert report.policy.testing is ("t=y" in record)
    assert report.disposition == disposition
    assert codes(report) == [*notes, "dmarc.fail"]


def test_testing_mode_is_explained() -> None:
    report, _ = run(
        {"example.com": {"_dmarc": [["txt", "v=DMARC1; p=reject; t=y"]]}}, "example.com", []
    )
    assert finding(report, "dmarc.testing") == (
        "the record at _dmarc.example.com has t=y: p=reject is applied as quarantine"
    )
    assert finding(report, "dmarc.fail") == (
        "no identifier aligned with example.com passed (no SPF, DKIM1 or DKIM2 result was "
        "given); the p=reject policy of _dmarc.example.com asks receivers to reject it (t=y: "
        "applied as quarantine)"
    )
    assert report.summary.startswith(
        "DMARC: fail — nothing authenticates example.com; p=reject with t=y at "
        "_dmarc.example.com asks receivers to treat it as suspicious (quarantine); "
    )


def test_sp_applies_to_an_existing_subdomain_author() -> None:
    zone = {
        "example.com": {
            "_dmarc": [["txt", "v=DMARC1; p=reject; sp=quarantine"]],
            "shop": [["mx", "10 mx.example.com"]],
        }
    }
    report, resolver = run(zone, "shop.example.com", [])
    assert report.policy is not None
    assert (report.policy.tag, report.policy.value, report.disposition) == (
        "sp",
        "quarantine",
        "quarantine",
    )
    assert report.policy.why == (
        "shop.example.com is a subdomain of the Organizational Domain example.com; its "
        "record's sp=quarantine applies"
    )
    assert report.policy_domain == "example.com"
    # Without np= the author's existence does not matter, so it is not asked.
    assert asked(resolver) == [
        "_dmarc.shop.example.com TXT",
        "_dmarc.example.com TXT",
        "_dmarc.com TXT",
    ]


def test_p_applies_to_a_subdomain_when_sp_is_absent() -> None:
    report, _ = run(REJECT, "shop.example.com", [])
    assert report.policy is not None
    assert (report.policy.tag, report.policy.value) == ("p", "reject")
    assert report.policy.why == (
        "shop.example.com is a subdomain of the Organizational Domain example.com; its record "
        "has no sp= or np=, so p=reject applies"
    )


NP_ZONE = {
    "example.com": {
        "_dmarc": [["txt", "v=DMARC1; p=reject; sp=none; np=quarantine"]],
        "shop": [["a", "192.0.2.1"]],
        "x.inner": [["a", "192.0.2.2"]],  # inner.example.com exists as an empty non-terminal
        "_dmarc.tagged": [["txt", "not a DMARC record"]],
    }
}


def test_np_applies_to_a_non_existent_subdomain_author() -> None:
    report, resolver = run(NP_ZONE, "ghost.example.com", [spf("esp.example")])
    assert report.policy is not None
    assert (report.policy.tag, report.policy.value, report.disposition) == (
        "np",
        "quarantine",
        "quarantine",
    )
    assert report.policy.why == (
        "ghost.example.com does not exist (NXDOMAIN) and is a subdomain of the Organizational "
        "Domain example.com; its record's np=quarantine applies"
    )
    assert codes(report) == ["dmarc.non-existent-author", "dmarc.spf-not-aligned", "dmarc.fail"]
    assert finding(report, "dmarc.non-existent-author") == (
        "ghost.example.com answers NXDOMAIN, so the np= policy of _dmarc.example.com applies to it"
    )
    # Appendix A.4: the existence question goes with the identifier walk's first batch.
    assert asked(resolver) == [
        "_dmarc.ghost.example.com TXT",
        "_dmarc.example.com TXT",
        "_dmarc.com TXT",
        "_dmarc.esp.example TXT",
        "ghost.example.com CNAME",
        "_dmarc.example TXT",
    ]
    (existence,) = [s for s in report.walk if s.purpose == "existence"]
    assert (existence.name, existence.status, existence.outcome) == (
        "ghost.example.com",
        "nxdomain",
        "the domain does not exist (NXDOMAIN)",
    )


@pytest.mark.parametrize(
    ("author", "tag", "value", "existence_asked"),
    [
        ("shop.example.com", "sp", "none", True),  # has an A record
        ("inner.example.com", "sp", "none", True),  # an empty non-terminal exists (RFC 8020)
        ("tagged.example.com", "sp", "none", False),  # NODATA-free: _dmarc.tagged exists
        ("ghost.example.com", "np", "quarantine", True),
        ("deeper.ghost.example.com", "np", "quarantine", True),
    ],
)
def test_np_or_sp_by_the_author_domains_existence(
    author: str, tag: str, value: str, existence_asked: bool
) -> None:
    report, resolver = run(NP_ZONE, author, [])
    assert report.policy is not None
    assert (report.policy.tag, report.policy.value) == (tag, value)
    assert (f"{author} CNAME" in asked(resolver)) is existence_asked


def test_np_without_sp_falls_back_to_p_for_an_existing_author() -> None:
    zone = {"example.com": {"_dmarc": [["txt", "v=DMARC1; p=reject; np=none"]], "shop": []}}
    report, _ = run(zone, "shop.example.com", [])
    assert report.policy is not None
    assert (report.policy.tag, report.policy.value) == ("p", "reject")
    assert report.policy.why == (
        "shop.example.com exists and is a subdomain of the Organizational Domain example.com; "
        "its record has no sp=, so p=reject applies"
    )


def test_np_is_not_used_for_the_author_domains_own_record() -> None:
    zone = {"example.com": {"_dmarc": [["txt", "v=DMARC1; p=reject; np=none"]]}}
    report, resolver = run(zone, "example.com", [])
    assert report.policy is not None
    assert (report.policy.tag, report.policy.value) == ("p", "reject")
    assert "example.com CNAME" not in asked(resolver)


# -- none ---------------------------------------------------------------------------------------


def test_none_without_a_policy_record() -> None:
    report, resolver = run({"example.com": {"@": [["a", "192.0.2.1"]]}}, "mail.example.com", [])
    assert (report.result, report.result_without_dkim2) == ("none", "none")
    assert (report.policy, report.disposition, report.record) == (None, None, "")
    assert codes(report) == ["dmarc.no-policy"]
    assert finding(report, "dmarc.no-policy") == (
        "no DMARC record at _dmarc.mail.example.com or at the names its tree walk asked "
        "(_dmarc.example.com, _dmarc.com)"
    )
    assert report.summary == (
        "DMARC: none — mail.example.com publishes no DMARC policy record (none at "
        "_dmarc.mail.example.com or its parent domains), so receivers enforce nothing for it; "
        "the owner of mail.example.com should publish one."
    )
    assert asked(resolver) == [
        "_dmarc.mail.example.com TXT",
        "_dmarc.example.com TXT",
        "_dmarc.com TXT",
    ]


def test_none_still_shows_alignment_for_information() -> None:
    report, _ = run({}, "example.com", [spf("example.com"), dkim("mail.example.com")])
    assert report.result == "none"
    assert [(a.aligned, a.organizational_domain) for a in report.alignment] == [
        (True, "example.com"),
        (False, "mail.example.com"),
    ]
    assert report.alignment[1].why == (
        "Not aligned (relaxed): the Organizational Domain of mail.example.com is "
        "mail.example.com, that of the From domain example.com is example.com. (For "
        "information: the From domain publishes no usable DMARC policy.)"
    )


# -- temperror ----------------------------------------------------------------------------------


@pytest.mark.parametrize("marker", ["servfail", "timeout"])
def test_temperror_when_policy_discovery_fails(marker: str) -> None:
    zone = {"example.com": {"_dmarc": [[marker, ""]]}}
    report, resolver = run(zone, "news.example.com", [spf("example.com")])
    assert (report.result, report.result_without_dkim2) == ("temperror", "temperror")
    assert (report.policy, report.policy_domain, report.disposition) == (None, None, None)
    assert codes(report) == ["dmarc.dns-error"]
    (error,) = report.findings
    assert error.state is State.TEMPERROR
    assert error.detail == (
        f"_dmarc.example.com: DNS error ({marker}): simulated {marker} (static zone marker); "
        "the walk cannot go on"
    )
    assert report.summary == (
        f"DMARC: temperror — the DNS question for _dmarc.example.com failed ({marker}), so "
        "the policy of news.example.com is unknown; re-run the analysis later, and if it "
        "keeps failing, the DNS administrator of example.com must fix its name servers."
    )
    assert report.alignment[0].why == "Not evaluated: DMARC policy discovery failed on a DNS error."
    # The walk stops at the failure: _dmarc.com is never asked.
    assert asked(resolver) == ["_dmarc.news.example.com TXT", "_dmarc.example.com TXT"]


def test_temperror_when_the_walk_fails_above_a_record_it_already_found() -> None:
    """A record at example.com decides nothing yet: _dmarc.com could still make com the
    Organizational Domain (§4.10.2 rule 3), so its failure leaves the policy unknown."""
    zone = {
        "example.com": {"_dmarc": [["txt", "v=DMARC1; p=reject"]]},
        "com": {"_dmarc": [["servfail", ""]]},
    }
    report, resolver = run(zone, "news.example.com", [dkim("example.com")])
    assert (report.result, report.policy_domain) == ("temperror", None)
    assert report.summary.startswith(
        "DMARC: temperror — the DNS question for _dmarc.com failed (servfail), so the policy "
        "of news.example.com is unknown; "
    )
    assert asked(resolver) == [
        "_dmarc.news.example.com TXT",
        "_dmarc.example.com TXT",
        "_dmarc.com TXT",
    ]


def test_a_failure_above_the_authors_own_record_leaves_only_relaxed_alignment_open() -> None:
    zone = {
        "example.com": {"_dmarc": [["txt", "v=DMARC1; p=reject"]]},
        "com": {"_dmarc": [["timeout", ""]]},
    }
    report, _ = run(zone, "example.com", [dkim("mail.example.com")])
    assert (report.result, report.policy_domain, report.organizational_domain) == (
        "temperror",
        "example.com",
        None,
    )
    assert report.organizational_domain_why == (
        "not determined: the DNS question for _dmarc.com failed (timeout)"
    )
    same, _ = run(zone, "example.com", [dkim("mail.example.com"), dkim("example.com", n=2)])
    assert same.result == "pass"  # the same-domain signature needs no walk


def test_temperror_when_the_only_passing_identifiers_alignment_is_unknown() -> None:
    zone = {
        "example.com": {
            "_dmarc": [["txt", "v=DMARC1; p=reject"]],
            "_dmarc.mail": [["servfail", ""]],
        }
    }
    report, _ = run(zone, "example.com", [dkim("mail.example.com")])
    assert (report.result, report.result_without_dkim2) == ("temperror", "temperror")
    assert report.disposition is None
    assert codes(report) == ["dmarc.dns-error"]
    assert finding(report, "dmarc.dns-error") == (
        "DKIM1 signature 1 (d=mail.example.com): alignment unknown, the DNS question for "
        "_dmarc.mail.example.com failed (servfail)"
    )
    assert report.alignment[0].aligned is None
    assert report.summary == (
        "DMARC: temperror — a DNS question needed to check alignment with example.com failed "
        "(_dmarc.mail.example.com), so the result is unknown; re-run the analysis later, and "
        "if it keeps failing, the DNS administrator of mail.example.com must fix its name "
        "servers."
    )


def test_a_failed_walk_does_not_matter_when_another_identifier_passes() -> None:
    zone = {
        "example.com": {"_dmarc": [["txt", "v=DMARC1; p=reject"]], "_dmarc.mail": [["timeout", ""]]}
    }
    report, _ = run(zone, "example.com", [spf("example.com"), dkim("mail.example.com")])
    assert report.result == "pass"
    assert codes(report) == ["dmarc.pass"]
    assert report.alignment[1].why == (
        "Could not be determined: the DNS question for _dmarc.mail.example.com failed (timeout)."
    )


def test_a_failed_dkim2_walk_makes_only_the_dkim2_result_temporary() -> None:
    zone = {
        "example.com": {"_dmarc": [["txt", "v=DMARC1; p=reject"]], "_dmarc.hop": [["servfail", ""]]}
    }
    report, _ = run(zone, "example.com", [dkim2("hop.example.com")])
    assert (report.result, report.result_without_dkim2) == ("temperror", "fail")
    assert (report.disposition, report.disposition_without_dkim2) == (None, "reject")
    assert finding(report, "dmarc.dns-error").endswith("(without DKIM2, RFC 9989's result is fail)")


def test_temperror_when_the_existence_question_fails_and_np_would_change_the_policy() -> None:
    zone = {
        "example.com": {"_dmarc": [["txt", "v=DMARC1; p=reject; np=none"]]},
        "ghost.example.com": {"@": [["servfail", ""]]},
    }
    report, _ = run(zone, "ghost.example.com", [])
    assert (report.result, report.policy) == ("temperror", None)
    assert finding(report, "dmarc.dns-error") == (
        "whether ghost.example.com exists could not be determined (the DNS question for "
        "ghost.example.com failed (servfail)), so it is unknown whether np=none or p=reject "
        "applies"
    )


def test_a_failed_existence_question_does_not_matter_when_np_asks_the_same() -> None:
    zone = {
        "example.com": {"_dmarc": [["txt", "v=DMARC1; p=reject; np=reject"]]},
        "ghost.example.com": {"@": [["servfail", ""]]},
    }
    report, _ = run(zone, "ghost.example.com", [])
    assert report.result == "fail"
    assert report.policy is not None
    assert (report.policy.tag, report.policy.value) == ("p", "reject")


# -- permerror from the record ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "defect"),
    [
        ("v=DMARC1; p=rejected", "an invalid p= value"),
        ("v=DMARC1", "no p= tag"),
        ("v=DMARC1; rua=reports@example.com", "no p= tag"),  # not a URI: no scheme
        ("v=DMARC1; p=reject; sp=strict", "an invalid sp= value"),
        ("v=DMARC1; p=reject; np=", "an invalid np= value"),
        ("v=DMARC1; p=bogus; sp=bogus", "an invalid p= value and an invalid sp= value"),
    ],
)
def test_permerror_for_a_record_without_a_usable_policy(record: str, defect: str) -> None:
    report, _ = run(
        {"example.com": {"_dmarc": [["txt", record]]}}, "example.com", [dkim("example.com")]
    )
    assert (report.result, report.result_without_dkim2) == ("permerror", "permerror")
    assert (report.policy, report.disposition) == (None, None)
    assert codes(report)[-1] == "dmarc.invalid-policy"
    assert report.findings[-1].state is State.PERMERROR
    assert finding(report, "dmarc.invalid-policy") == (
        f"the record at _dmarc.example.com has {defect} and no valid rua= tag, so DMARC does "
        f"not apply: {record!r}"
    )
    assert report.summary == (
        f"DMARC: permerror — the DMARC record at _dmarc.example.com has {defect} and no valid "
        "rua= tag, so receivers apply no DMARC to mail from example.com; the owner of "
        "example.com must fix the record."
    )


@pytest.mark.parametrize(
    "record",
    [
        "v=DMARC1; p=rejected; rua=mailto:reports@example.com",
        "v=DMARC1; rua=mailto:reports@example.com",
        "v=DMARC1; p=reject; sp=bogus; rua=mailto:reports@example.com",
    ],
)
def test_an_invalid_policy_with_a_valid_rua_is_treated_as_p_none(record: str) -> None:
    report, _ = run({"example.com": {"_dmarc": [["txt", record]]}}, "example.com", [])
    assert report.result == "fail"
    assert report.policy is not None
    assert (report.policy.tag, report.policy.value, report.disposition) == ("p", "none", "none")
    assert "dmarc.invalid-policy-as-none" in codes(report)
    assert "dmarc.policy-none" in codes(report)


# -- several records, ignored records -----------------------------------------------------------


def test_several_records_at_one_name_are_all_discarded_and_the_walk_goes_on() -> None:
    zone = {
        "example.com": {
            "_dmarc.mail": [["txt", "v=DMARC1; p=none"], ["txt", "v=DMARC1; p=reject"]],
            "_dmarc": [["txt", "v=DMARC1; p=quarantine"]],
        }
    }
    report, _ = run(zone, "mail.example.com", [])
    assert (report.result, report.policy_domain) == ("fail", "example.com")
    assert report.policy is not None and report.policy.value == "quarantine"
    assert finding(report, "dmarc.multiple-records") == (
        "_dmarc.mail.example.com has 2 records starting with v=DMARC1; receivers discard them "
        "all and go on as if there were none"
    )
    assert report.walk[0].outcome == (
        "2 DMARC records at one name: all discarded (RFC 9989 §4.10 step 2)"
    )


def test_a_dmarc_record_beside_other_txt_records_counts() -> None:
    zone = {
        "example.com": {
            "_dmarc": [["txt", "google-site-verification=abc"], ["txt", "v=DMARC1; p=reject"]]
        }
    }
    report, _ = run(zone, "example.com", [])
    assert (report.result, report.record) == ("fail", "v=DMARC1; p=reject")
    assert codes(report) == ["dmarc.fail"]


@pytest.mark.parametrize(
    "text",
    ["v=dmarc1; p=reject", "p=reject; v=DMARC1", "v=DMARC2; p=reject", "V=DMARC 1; p=reject"],
)
def test_a_record_not_starting_with_v_dmarc1_is_ignored(text: str) -> None:
    report, _ = run({"example.com": {"_dmarc": [["txt", text]]}}, "example.com", [])
    assert report.result == "none"
    assert codes(report) == ["dmarc.record-ignored", "dmarc.no-policy"]
    assert finding(report, "dmarc.record-ignored") == (
        f"_dmarc.example.com: {text!r} does not start with v=DMARC1 (exactly, as the first "
        "tag), so receivers ignore it"
    )


# -- the record's tags --------------------------------------------------------------------------


def test_obsolete_unknown_and_invalid_tags_are_reported_and_ignored() -> None:
    record = "v=DMARC1; p=quarantine; pct=50; rf=afrf; adkim=x; foo=bar; rua=mailto:d@example.com"
    report, _ = run(
        {"example.com": {"_dmarc": [["txt", record]]}}, "example.com", [dkim("example.com")]
    )
    assert report.result == "pass"
    assert codes(report) == [
        "dmarc.invalid-tag",
        "dmarc.obsolete-tag",
        "dmarc.unknown-tag",
        "dmarc.pass",
    ]
    assert finding(report, "dmarc.obsolete-tag") == (
        "_dmarc.example.com has pct= and rf=, removed by RFC 9989 (pct= is replaced by t=); "
        "receivers following RFC 9989 ignore them"
    )
    assert finding(report, "dmarc.unknown-tag") == "_dmarc.example.com: 1 unknown tag ignored (foo)"
    assert finding(report, "dmarc.invalid-tag") == (
        "_dmarc.example.com: adkim=x is not one of r, s; r is used"
    )
    assert report.tags == {
        "v": "DMARC1",
        "p": "quarantine",
        "pct": "50",
        "rf": "afrf",
        "adkim": "x",
        "rua": "mailto:d@example.com",
    }
    assert report.to_json()["obsolete_tags"] == ["pct", "rf"]


# -- the report as JSON, and the catalogue ------------------------------------------------------

SCENARIOS: list[tuple[dict[str, Any], str, list[AuthenticatedIdentifier]]] = [
    (REJECT, "example.com", [spf("example.com")]),
    (REJECT, "example.com", [spf("bounce.esp.example"), dkim2("example.com")]),
    (REJECT, "example.com", [spf("list.example"), dkim("example.com", "fail"), dkim("x.example")]),
    ({}, "example.com", [spf("example.com")]),
    ({"example.com": {"_dmarc": [["servfail", ""]]}}, "example.com", []),
    ({"example.com": {"_dmarc": [["txt", "v=DMARC1; p=x"]]}}, "example.com", []),
    (
        {"example.com": {"_dmarc": [["txt", "v=DMARC1; p=x; rua=mailto:a@b.example"]]}},
        "example.com",
        [],
    ),
    (NP_ZONE, "ghost.example.com", []),
    (
        {"example.com": {"_dmarc": [["txt", "v=DMARC1; p=reject; t=y; pct=0; zz=1; aspf=q"]]}},
        "example.com",
        [],
    ),
]


@pytest.mark.parametrize(("zone", "author", "identifiers"), SCENARIOS)
def test_every_finding_is_catalogued_and_the_report_is_json(
    zone: dict[str, Any], author: str, identifiers: list[AuthenticatedIdentifier]
) -> None:
    report, _ = run(zone, author, identifiers)
    for f in report.findings:
        out = explain(f)
        assert out["catalogued"] is True, f.code
        assert "{" not in out["found"] and "None" not in out["found"]
        assert f.spec.startswith("RFC 9989")
    data = json.loads(json.dumps(report.to_json()))
    assert data["result"] == report.result
    assert data["summary"] == report.summary
    assert set(data) == {
        "result",
        "result_without_dkim2",
        "author_domain",
        "policy_domain",
        "organizational_domain",
        "organizational_domain_why",
        "record",
        "tags",
        "obsolete_tags",
        "policy",
        "disposition",
        "disposition_without_dkim2",
        "alignment",
        "walk",
        "findings",
        "summary",
    }


def test_the_fail_explanation_renders_the_detail() -> None:
    report, _ = run(REJECT, "example.com", [])
    out = explain(report.findings[-1])
    assert out["title"] == "DMARC fails: nothing aligned with the From domain passed"
    assert out["found"] == (
        "The message fails DMARC: no identifier aligned with example.com passed (no SPF, "
        "DKIM1 or DKIM2 result was given); the p=reject policy of _dmarc.example.com asks "
        "receivers to reject it."
    )
    assert out["responsible"] == "sender"
