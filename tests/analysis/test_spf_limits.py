"""RFC 7208 §4.6.4 processing limits, and the analyser's own bounds, each proved at the edge."""

from __future__ import annotations

import time
from collections.abc import Mapping

import pytest
import spf as pyspf  # type: ignore[import-untyped]

from analysis import limits, spf
from analysis.resolvers import StaticResolver

IP = "192.0.2.1"


def check(zone: Mapping[str, object], *, ip: str = IP, helo: str = "") -> spf.SpfReport:
    return spf.evaluate(
        ip=ip,
        helo=helo,
        mail_from="<alice@example.com>",
        lookup=StaticResolver(zone),
        source="smtp",
    )


def hosts(count: int, last: str = IP, other: str = "198.51.100.1") -> dict[str, list[list[str]]]:
    """h1 .. h<count> under example.com, each with an A record; the last one is ``last``."""
    return {f"h{i}": [["a", last if i == count else other]] for i in range(1, count + 1)}


def a_terms(count: int) -> str:
    return " ".join(f"a:h{i}.example.com" for i in range(1, count + 1))


def test_the_named_limits_are_pyspfs_and_the_rfcs() -> None:
    assert (limits.SPF_DNS_TERM_LIMIT, limits.SPF_VOID_LOOKUP_LIMIT, limits.SPF_MX_NAME_LIMIT) == (
        10,
        2,
        10,
    )
    assert limits.SPF_PTR_NAME_LIMIT == 10
    assert (pyspf.MAX_LOOKUP, pyspf.MAX_VOID_LOOKUPS, pyspf.MAX_MX, pyspf.MAX_PTR) == (
        10,
        2,
        10,
        10,
    )


# -- 10 terms that query DNS ------------------------------------------------------------------


def test_ten_dns_terms_are_allowed() -> None:
    report = check({"example.com": {"@": [["txt", f"v=spf1 {a_terms(10)} -all"]], **hosts(10)}})
    assert (report.result, report.matched, report.lookups) == ("pass", "a:h10.example.com", 10)


def test_an_eleventh_dns_term_is_a_permerror() -> None:
    report = check({"example.com": {"@": [["txt", f"v=spf1 {a_terms(11)} -all"]], **hosts(11)}})
    assert (report.result, report.lookups) == ("permerror", 11)
    (finding,) = report.findings
    assert finding.code == "spf.too-many-lookups"
    assert finding.detail == (
        "evaluating example.com's record and the records it reaches needed more than 10 terms "
        "that query DNS; counted: "
        + ", ".join(f"a:h{i}.example.com (example.com)" for i in range(1, 11))
        + ", a:h11.example.com (example.com)"
    )
    assert report.summary == (
        "SPF: permerror — example.com's SPF record cannot be evaluated: it needs more than 10 "
        "DNS lookups; example.com's DNS administrator must fix it."
    )


def _two_includes(b_terms: range, matching: int) -> dict[str, object]:
    return {
        "example.com": {
            "@": [["txt", "v=spf1 include:_a.example.com include:_b.example.com -all"]],
            "_a": [["txt", f"v=spf1 {a_terms(4)}"]],
            "_b": [["txt", "v=spf1 " + " ".join(f"a:h{i}.example.com" for i in b_terms)]],
            **hosts(matching),
        }
    }


def test_terms_in_included_records_count_towards_the_same_ten() -> None:
    # include, 4 a, include, 4 a = 10
    report = check(_two_includes(range(5, 9), matching=8))
    assert (report.result, report.lookups) == ("pass", 10)
    assert report.matched == "include:_b.example.com (a:h8.example.com)"
    # include, 4 a, include, 5 a = 11: the fifth a of _b is the eleventh
    report = check(_two_includes(range(5, 10), matching=9))
    assert (report.result, report.lookups) == ("permerror", 11)
    assert report.findings[0].code == "spf.too-many-lookups"
    assert report.findings[0].detail.endswith(
        "include:_b.example.com (example.com), a:h5.example.com (_b.example.com), "
        "a:h6.example.com (_b.example.com), a:h7.example.com (_b.example.com), "
        "a:h8.example.com (_b.example.com), a:h9.example.com (_b.example.com)"
    )


def test_ip4_ip6_all_and_exp_do_not_count() -> None:
    record = f"v=spf1 {a_terms(10)} ip4:198.51.100.0/24 ip6:2001:db8::/32 ?all exp=x.example.com"
    report = check({"example.com": {"@": [["txt", record]], **hosts(10, last="203.0.113.9")}})
    assert (report.result, report.lookups) == ("neutral", 10)


def test_an_include_loop_stops_at_the_limit() -> None:
    zone = {
        "example.com": {
            "@": [["txt", "v=spf1 include:a.example.com -all"]],
            "a": [["txt", "v=spf1 include:b.example.com"]],
            "b": [["txt", "v=spf1 include:a.example.com"]],
        }
    }
    report = check(zone)
    assert (report.result, report.lookups) == ("permerror", 11)
    assert report.findings[0].code == "spf.too-many-lookups"


def test_redirect_counts_when_it_is_followed() -> None:
    zone = {
        "example.com": {
            "@": [["txt", f"v=spf1 {a_terms(9)} redirect=_r.example.com"]],
            "_r": [["txt", "v=spf1 ip4:192.0.2.1 -all"]],
            **hosts(9, last="198.51.100.1"),
        }
    }
    report = check(zone)
    assert (report.result, report.lookups) == ("pass", 10)
    assert report.matched == "redirect=_r.example.com (ip4:192.0.2.1)"
    zone["example.com"]["_r"] = [["txt", "v=spf1 a:h1.example.com -all"]]  # type: ignore[index]
    report = check(zone)
    assert (report.result, report.lookups) == ("permerror", 11)
    assert report.findings[0].detail.endswith(
        "a:h9.example.com (example.com), redirect=_r.example.com (example.com), "
        "a:h1.example.com (_r.example.com)"
    )


def test_a_redirect_not_followed_is_not_counted() -> None:
    """pyspf counts redirect= while parsing; §4.6.4 counts terms during evaluation."""
    zone = {
        "example.com": {
            "@": [["txt", f"v=spf1 {a_terms(10)} redirect=_r.example.com"]],
            "_r": [["txt", "v=spf1 -all"]],
            **hosts(10),
        }
    }
    report = check(zone)
    assert (report.result, report.lookups, report.matched) == ("pass", 10, "a:h10.example.com")


# -- 2 void lookups ---------------------------------------------------------------------------


def test_two_void_lookups_are_allowed() -> None:
    record = "v=spf1 a:gone1.example.com a:gone2.example.com ip4:192.0.2.1 -all"
    report = check({"example.com": {"@": [["txt", record]]}})
    assert (report.result, report.void_lookups, report.findings) == ("pass", 2, [])


def test_a_third_void_lookup_is_a_permerror() -> None:
    record = "v=spf1 a:gone1.example.com a:gone2.example.com mx:gone3.example.com ip4:192.0.2.1"
    report = check({"example.com": {"@": [["txt", record]], "gone2": []}})
    assert (report.result, report.void_lookups) == ("permerror", 3)
    (finding,) = report.findings
    assert finding.code == "spf.too-many-void-lookups"
    assert finding.detail == (
        "more than 2 DNS questions found no record: A gone1.example.com, A gone2.example.com, "
        "MX gone3.example.com"
    )


def test_an_exp_domain_without_records_is_not_a_void_lookup() -> None:
    record = "v=spf1 a:gone1.example.com a:gone2.example.com -all exp=gone3.example.com"
    report = check({"example.com": {"@": [["txt", record]]}})
    assert (report.result, report.void_lookups) == ("fail", 2)


def test_void_lookups_are_counted_per_question_for_mx_exchanges() -> None:
    """The interpretation pyspf's maintainer gives (sdgathman/pyspf#40, #44): every empty
    answer counts, so an IPv6 client and three exchanges with only A records is a permerror."""
    zone = {
        "example.com": {
            "@": [
                ["txt", "v=spf1 mx ~all"],
                ["mx", "10 a.example.com."],
                ["mx", "20 b.example.com."],
            ],
            "a": [["a", "192.0.2.10"]],
            "b": [["a", "192.0.2.11"]],
            "c": [["a", "192.0.2.12"]],
        }
    }
    assert check(zone, ip="2001:db8::1").result == "softfail"  # two void AAAA questions
    zone["example.com"]["@"].append(["mx", "30 c.example.com."])  # type: ignore[index]
    report = check(zone, ip="2001:db8::1")
    assert (report.result, report.void_lookups) == ("permerror", 3)
    assert report.findings[0].detail == (
        "more than 2 DNS questions found no record: AAAA a.example.com, AAAA b.example.com, "
        "AAAA c.example.com"
    )
    assert check(zone, ip="192.0.2.99").result == "softfail"


# -- 10 MX names ------------------------------------------------------------------------------


def _mx_zone(count: int) -> dict[str, object]:
    mx = [["mx", f"{i} h{i}.example.com."] for i in range(1, count + 1)]
    return {"example.com": {"@": [["txt", "v=spf1 mx -all"], *mx], **hosts(count)}}


def test_ten_mx_names_are_looked_up() -> None:
    report = check(_mx_zone(10))
    assert (report.result, report.matched, report.lookups) == ("pass", "mx", 1)


def test_eleven_mx_names_are_a_permerror() -> None:
    report = check(_mx_zone(11))
    assert report.result == "permerror"
    (finding,) = report.findings
    assert finding.code == "spf.too-many-mx"
    assert finding.detail == (
        "mx in the record of example.com names a domain with more than 10 MX records"
    )


# -- 10 PTR names -------------------------------------------------------------------------------


def _ptr_zone(count: int) -> dict[str, object]:
    ptrs = [["ptr", f"h{i}.example.com."] for i in range(1, count + 1)]
    return {
        "example.com": {"@": [["txt", "v=spf1 ptr -all"]], **hosts(count)},
        "1.2.0.192.in-addr.arpa": {"@": ptrs},
    }


def test_the_tenth_ptr_name_is_validated() -> None:
    report = check(_ptr_zone(10))
    assert (report.result, report.matched) == ("pass", "ptr")


def test_ptr_names_beyond_the_tenth_are_ignored() -> None:
    report = check(_ptr_zone(11))  # only h11 has the client's address
    assert (report.result, report.matched) == ("fail", "-all")
    asked = [s.text for s in report.trace if s.kind == "dns" and s.text.startswith("A h")]
    assert asked == [f"A h{i}.example.com" for i in range(1, 11)]


# -- the analyser's bounds --------------------------------------------------------------------


def test_a_record_at_the_bound_is_evaluated() -> None:
    record = "v=spf1 ip4:192.0.2.1 -all "
    record += "x" * (limits.MAX_SPF_RECORD_CHARS - len(record) - 4) + "=abc"
    assert len(record) == limits.MAX_SPF_RECORD_CHARS
    report = check({"example.com": {"@": [["txt", record]]}})
    assert report.result == "pass"
    assert report.record is not None and len(report.record) == limits.MAX_REPORT_TEXT_CHARS
    assert report.record.endswith("…")


def test_a_record_over_the_bound_is_not_evaluated() -> None:
    # pyspf's top-label check takes 18 s on this 60 kB term (quadratic backtracking).
    record = "v=spf1 a:x." + "a1" * 30000 + "-"
    started = time.monotonic()
    report = check({"example.com": {"@": [["txt", record]]}})
    assert time.monotonic() - started < 2
    assert report.result == "permerror"
    (finding,) = report.findings
    assert finding.code == "spf.record-too-long"
    assert finding.detail == (
        "the record of example.com: SPF record of 60012 characters is longer than the "
        "analyser's bound of 4096 (RFC 7208 §3.4 advises records under 450 octets)"
    )


def test_an_overlong_exp_text_is_ignored() -> None:
    for size, expected in (
        (limits.MAX_SPF_EXPLANATION_CHARS, "x"),
        (limits.MAX_SPF_EXPLANATION_CHARS + 1, None),
    ):
        zone = {
            "example.com": {
                "@": [["txt", "v=spf1 -all exp=why.example.com"]],
                "why": [["txt", "x" * size]],
            }
        }
        report = check(zone)
        assert report.result == "fail"
        if expected is None:
            assert report.explanation is None
        else:
            assert report.explanation is not None and report.explanation.startswith("xxx")


def test_the_trace_keeps_a_bounded_number_of_steps() -> None:
    terms = " ".join(f"ip4:10.0.0.{i}" for i in range(250))
    report = check({"example.com": {"@": [["txt", f"v=spf1 {terms} -all"]]}})
    assert report.result == "fail"
    assert len(report.trace) == limits.MAX_SPF_TRACE_STEPS
    # 1 dns + 1 record + 250 terms + -all = 253 steps
    assert report.trace_omitted == 253 - limits.MAX_SPF_TRACE_STEPS
    assert report.to_json()["trace_omitted"] == 53


def test_the_dns_question_bound_gives_temperror(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_SPF_DNS_QUESTIONS", 3)
    record = "v=spf1 a:h1.example.com a:h2.example.com a:h3.example.com -all"
    report = check({"example.com": {"@": [["txt", record]], **hosts(3, last="198.51.100.2")}})
    assert report.result == "temperror"
    assert report.findings[0].detail == (
        "more than 3 DNS questions in one SPF check (the analyser's bound) (evaluating "
        "a:h3.example.com in the record of example.com)"
    )
