"""Hostile envelopes and records: a clear result, never an exception, a hang or unbounded output."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping

from analysis import limits, spf
from analysis.resolvers import StaticResolver

CAP = limits.MAX_REPORT_TEXT_CHARS


def check(
    zone: Mapping[str, object],
    *,
    mail_from: str = "<a@example.com>",
    helo: str = "",
    ip: str = "192.0.2.1",
    **kw: str,
) -> spf.SpfReport:
    return spf.evaluate(
        ip=ip,
        helo=helo,
        mail_from=mail_from,
        lookup=StaticResolver(zone),
        source=kw.pop("source", "smtp"),
        **kw,  # type: ignore[arg-type]
    )


def test_an_enormous_envelope_is_cut_in_the_report() -> None:
    huge = "x" * 100_000
    report = check(
        {},
        mail_from=f"<a@{huge}.example>",
        helo=huge,
        source="reconstructed",
        source_detail=huge,
    )
    assert report.result == "none"
    assert [f.code for f in report.findings] == ["spf.reconstructed", "spf.invalid-domain"]
    for value in (report.mail_from, report.helo, report.source_detail, report.domain):
        assert len(value) <= CAP
    assert report.mail_from == f"<a@{huge}"[: CAP - 1] + "…"
    assert len(report.findings[0].detail) == CAP
    assert (
        report.findings[1].detail
        == "name label 'xxxxxxxxxxxxxxxxxxxx'... is 100000 octets (max 63)"
    )
    assert len(report.summary) < 600


def test_hundreds_of_txt_records_are_listed_boundedly() -> None:
    records = [["txt", f"verification-{i}={'z' * 200}"] for i in range(500)]
    report = check({"example.com": {"@": records}})
    assert report.result == "none"
    detail = report.findings[0].detail
    assert detail.endswith(" and 496 more)")
    assert len(detail) < 1000
    assert all(len(s.text) <= 300 and len(s.outcome) <= 300 for s in report.trace)


def test_records_at_the_length_bound_are_evaluated_quickly() -> None:
    """The two quadratic paths of pyspf's parser, at the largest record evaluated."""
    size = limits.MAX_SPF_RECORD_CHARS
    toplabel = "v=spf1 a:x." + "a1" * ((size - 12) // 2) + "-"
    macros = "v=spf1 exists:%{l}" + ".a" * ((size - 18) // 2)
    for record, result in ((toplabel, "permerror"), (macros, "neutral")):
        assert len(record) <= size
        started = time.monotonic()
        report = check({"example.com": {"@": [["txt", record]]}})
        assert time.monotonic() - started < 2
        assert report.result == result
    assert check({"example.com": {"@": [["txt", toplabel]]}}).findings[0].code == "spf.syntax"


def test_control_characters_and_lone_surrogates_are_escaped() -> None:
    record = "v=spf1 ip4:192.0.2.1\x00 -all\udcff"
    report = check({"example.com": {"@": [["txt", record]]}})
    assert report.result == "permerror"
    assert report.findings[0].detail == (
        "the record of example.com: Non-ascii characters found: "
        "b'v=spf1 ip4:192.0.2.1\\x00 -all\\xed\\xb3\\xbf'"
    )
    text = json.dumps(report.to_json())
    assert "\\u0000" not in text


def test_an_include_of_itself_is_a_permerror() -> None:
    report = check({"example.com": {"@": [["txt", "v=spf1 include:example.com -all"]]}})
    assert report.result == "permerror"
    assert report.findings[0].code == "spf.syntax"
    assert report.findings[0].detail == (
        "the record of example.com: include has trivial recursion: include:example.com"
    )


def test_an_explanation_that_expands_hugely_is_cut() -> None:
    zone = {
        "example.com": {
            "@": [["txt", "v=spf1 -all exp=why.example.com"]],
            "why": [["txt", "%{s}" * 250]],
        }
    }
    report = check(zone, mail_from=f"<{'l' * 60}@example.com>")
    assert report.result == "fail"
    assert report.explanation is not None
    assert len(report.explanation) == CAP and report.explanation.endswith("…")


def test_a_deep_include_chain_is_followed_to_the_limit() -> None:
    zone: dict[str, object] = {
        "example.com": {
            "@": [["txt", "v=spf1 include:l1.example.com -all"]],
            **{f"l{i}": [["txt", f"v=spf1 include:l{i + 1}.example.com"]] for i in range(1, 9)},
            "l9": [["txt", "v=spf1 +ip4:192.0.2.1"]],
        }
    }
    report = check(zone)
    assert (report.result, report.lookups) == ("pass", 9)
    assert report.matched == (
        "include:l1.example.com (include:l2.example.com (include:l3.example.com "
        "(include:l4.example.com (include:l5.example.com (include:l6.example.com "
        "(include:l7.example.com (include:l8.example.com (include:l9.example.com "
        "(+ip4:192.0.2.1)))))))))"
    )
    assert max(s.depth for s in report.trace) == 9


def test_the_whole_report_stays_small() -> None:
    long_term_records = [["txt", "v=spf1 " + " ".join(f"ip4:10.0.{i}.1" for i in range(250))]]
    report = check(
        {"example.com": {"@": long_term_records}},
        helo="h" * 5000,
        source="reconstructed",
        source_detail="d" * 5000,
    )
    assert len(json.dumps(report.to_json())) < 150_000


def test_enormous_macro_expansions_are_cut_quickly() -> None:
    zone = {
        "example.com": {
            "@": [["txt", "v=spf1 exists:%{l}.%{d} exists:%{h}.example.com -all"]],
        }
    }
    local = ".".join(["l"] * 50_000)
    started = time.monotonic()
    resolver = StaticResolver(zone)
    report = spf.evaluate(
        ip="192.0.2.1",
        helo=".".join(["h"] * 50_000),
        mail_from=f"<{local}@example.com>",
        lookup=resolver,
        source="smtp",
    )
    assert time.monotonic() - started < 2
    assert (report.result, report.helo_result) == ("fail", "none")
    asked = [a.query.name for a in resolver.dns_answers]
    assert [len(n) for n in asked] == [11, 253, 253]
    assert asked[1].endswith(".l.l.example.com") and asked[2].endswith(".h.h.example.com")
