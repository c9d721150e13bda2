"""pyspf's DNS goes through the injected lookup only: the dispatcher, the status mapping, one
question per name, concurrent evaluations, and the RFC 7208 corrections made at this layer."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import spf as pyspf  # type: ignore[import-untyped]

from analysis import spf
from analysis.findings import State
from analysis.lookup import DnsAnswer, DnsQuery, LookupStatus, RecordType
from analysis.resolvers import StaticResolver

IP = "192.0.2.1"


class ScriptedLookup:
    """Answers each (name, type) as scripted; anything else is NXDOMAIN.  Keeps the questions."""

    def __init__(self, script: dict[tuple[str, str], tuple[LookupStatus, tuple[str, ...]]]):
        self.script = script
        self.asked: list[str] = []

    def resolve_many(
        self, queries: list[DnsQuery], *, time_left: float | None = None
    ) -> dict[DnsQuery, DnsAnswer]:
        out = {}
        for q in queries:
            self.asked.append(f"{q.rtype.value} {q.name}")
            status, records = self.script.get((q.name, q.rtype.value), (LookupStatus.NXDOMAIN, ()))
            out[q] = DnsAnswer(q, status, records, detail="scripted" if records == () else "")
        return out


def check(lookup: object, *, ip: str = IP, mail_from: str = "<a@example.com>") -> spf.SpfReport:
    return spf.evaluate(
        ip=ip,
        helo="",
        mail_from=mail_from,
        lookup=lookup,  # type: ignore[arg-type]
        source="smtp",
    )


def test_pyspf_asks_dns_only_through_the_dispatcher() -> None:
    assert pyspf.DNSLookup is spf._pyspf_dns


def test_pyspf_used_directly_gets_temperror_and_no_network() -> None:
    query = pyspf.query(i=IP, s="a@example.com", h="mta.example.org")
    result, _code, text = query.check()
    assert (result, text) == (
        "temperror",
        "SPF Temporary Error: no DNS lookup is set: pyspf is used only through "
        "analysis.spf.evaluate",
    )


@pytest.mark.parametrize(
    "status, records, result, void, detail",
    [
        (LookupStatus.FOUND, ("192.0.2.1",), "pass", 0, None),
        (LookupStatus.FOUND, ("198.51.100.1", "192.0.2.1"), "pass", 0, None),
        # not an address (a static zone can say anything): dropped, so pyspf sees nothing
        (LookupStatus.FOUND, ("999.0.0.1",), "fail", 1, None),
        (LookupStatus.NODATA, (), "fail", 1, None),
        (LookupStatus.NXDOMAIN, (), "fail", 1, None),
        (LookupStatus.SERVFAIL, (), "temperror", 0, "A host.example.com: servfail (scripted)"),
        (LookupStatus.TIMEOUT, (), "temperror", 0, "A host.example.com: timeout (scripted)"),
        (LookupStatus.BUDGET, (), "temperror", 0, "A host.example.com: budget (scripted)"),
        (LookupStatus.ERROR, (), "temperror", 0, "A host.example.com: error (scripted)"),
        (LookupStatus.INVALID_NAME, (), "fail", 0, None),
    ],
    ids=lambda v: v.value if isinstance(v, LookupStatus) else None,
)
def test_each_lookup_status_reaches_pyspf_as_the_rfc_says(
    status: LookupStatus,
    records: tuple[str, ...],
    result: str,
    void: int,
    detail: str | None,
) -> None:
    lookup = ScriptedLookup(
        {
            ("example.com", "TXT"): (LookupStatus.FOUND, ("v=spf1 a:host.example.com -all",)),
            ("host.example.com", "A"): (status, records),
        }
    )
    report = check(lookup)
    assert (report.result, report.void_lookups) == (result, void)
    assert lookup.asked == ["TXT example.com", "A host.example.com"]
    if detail is not None:
        (finding,) = report.findings
        assert finding.state is State.TEMPERROR
        assert finding.detail == (
            f"{detail} (evaluating a:host.example.com in the record of example.com)"
        )


def test_a_macro_name_with_characters_dns_allows_is_asked_as_it_is() -> None:
    # RFC 7208 §7.3 puts the local part in the name; "+" is no problem for DNS (RFC 2181).
    zone = {
        "example.com": {"@": [["txt", "v=spf1 exists:%{l}.x.example.com -all"]]},
        "a+tag.x.example.com": {"@": [["a", "127.0.0.2"]]},
    }
    resolver = StaticResolver(zone)
    report = check(resolver, mail_from="<a+tag@example.com>")
    assert (report.result, report.void_lookups) == ("pass", 0)
    assert [(a.query.name, a.status) for a in resolver.dns_answers] == [
        ("example.com", LookupStatus.FOUND),
        ("a+tag.x.example.com", LookupStatus.FOUND),
    ]


def test_an_invalid_name_is_not_asked_and_not_a_void_lookup() -> None:
    zone = {"example.com": {"@": [["txt", "v=spf1 exists:%{l}.x.example.com -all"]]}}
    resolver = StaticResolver(zone)
    report = check(resolver, mail_from="<a\\b@example.com>")
    assert (report.result, report.void_lookups) == ("fail", 0)
    assert [a.status for a in resolver.dns_answers] == [
        LookupStatus.FOUND,
        LookupStatus.INVALID_NAME,
    ]
    notes = [(s.kind, s.text, s.outcome) for s in report.trace if s.kind == "note"]
    assert notes == [
        (
            "note",
            "A a\\b.x.example.com",
            "not asked: name label 'a\\\\b' is not a valid DNS label (printable ASCII without "
            "'\\'); treated as no answer",
        )
    ]


def test_each_question_is_asked_once_per_evaluation() -> None:
    record = "v=spf1 a:gone.example.com mx:gone.example.com a:gone.example.com ?all"
    resolver = StaticResolver({"example.com": {"@": [["txt", record]]}})
    report = check(resolver)
    # pyspf asks again for names it found empty; the dispatcher answers from memory.
    assert report.void_lookups == 3
    assert report.result == "permerror"
    asked = [f"{a.query.rtype.value} {a.query.name}" for a in resolver.dns_answers]
    assert asked == ["TXT example.com", "A gone.example.com", "MX gone.example.com"]


def test_concurrent_evaluations_each_use_their_own_lookup() -> None:
    both_started = threading.Barrier(2, timeout=5)

    class Gate(StaticResolver):
        def resolve_many(
            self, queries: list[DnsQuery], *, time_left: float | None = None
        ) -> dict[DnsQuery, DnsAnswer]:
            if queries[0].rtype is RecordType.A:
                both_started.wait()  # both evaluations are between two questions now
            return super().resolve_many(queries, time_left=time_left)

    def zone(address: str) -> dict[str, object]:
        return {
            "example.com": {"@": [["txt", "v=spf1 a:host.example.com -all"]]},
            "host.example.com": {"@": [["a", address]]},
        }

    allow, deny = Gate(zone(IP)), Gate(zone("198.51.100.1"))
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(check, allow)
        second = pool.submit(check, deny)
        results = (first.result(timeout=10).result, second.result(timeout=10).result)
    assert results == ("pass", "fail")
    assert len(allow.dns_answers) == len(deny.dns_answers) == 2
    assert spf._CURRENT.get() is None


def test_no_session_remains_after_an_evaluation() -> None:
    check(StaticResolver({}))
    assert spf._CURRENT.get() is None


def test_a_lookup_that_raises_is_reported_as_an_analyser_error() -> None:
    class Broken:
        def resolve_many(
            self, queries: list[DnsQuery], *, time_left: float | None = None
        ) -> dict[DnsQuery, DnsAnswer]:
            raise RuntimeError("boom")

    report = check(Broken())
    assert report.result == "temperror"
    (finding,) = report.findings
    assert (finding.code, finding.state, finding.detail) == (
        "spf.analyser-error",
        State.TEMPERROR,
        "RuntimeError: boom",
    )
    assert report.summary == (
        "SPF: temperror — dkim2web could not complete the evaluation for example.com "
        "(RuntimeError: boom); this is a defect in the analyser, not in the domain's record."
    )


def test_a_temperror_inside_an_include_names_the_failed_name() -> None:
    zone = {
        "example.com": {"@": [["txt", "v=spf1 include:_spf.example.net -all"]]},
        "example.net": {"_spf": [["servfail", ""]]},
    }
    report = check(StaticResolver(zone))
    assert report.findings[0].detail == (
        "TXT _spf.example.net: servfail (simulated servfail (static zone marker)) (evaluating "
        "include:_spf.example.net in the record of example.com)"
    )
    assert report.summary.endswith(
        "the DNS servers of _spf.example.net must answer, and a later check may give a result."
    )


# -- RFC 7208 §5.5: errors during ptr (pyspf would give temperror) ------------------------------


def test_a_failing_ptr_lookup_makes_ptr_not_match() -> None:
    zone = {
        "example.com": {"@": [["txt", "v=spf1 ptr ip4:192.0.2.1 -all"]]},
        "1.2.0.192.in-addr.arpa": {"@": [["servfail", ""]]},
    }
    report = check(StaticResolver(zone))
    assert (report.result, report.matched) == ("pass", "ip4:192.0.2.1")
    ptr = next(s for s in report.trace if s.kind == "term" and s.text == "ptr")
    assert ptr.outcome == "no match"


def test_a_failing_address_lookup_skips_that_ptr_name() -> None:
    zone = {
        "example.com": {
            "@": [["txt", "v=spf1 ptr -all"]],
            "broken": [["timeout", ""]],
            "good": [["a", IP]],
        },
        "1.2.0.192.in-addr.arpa": {
            "@": [["ptr", "broken.example.com."], ["ptr", "good.example.com."]]
        },
    }
    report = check(StaticResolver(zone))
    assert (report.result, report.matched) == ("pass", "ptr")
    notes = [(s.text, s.outcome) for s in report.trace if s.kind == "note"]
    assert notes == [
        (
            "A broken.example.com",
            "skipped: A broken.example.com: timeout (simulated timeout (static zone marker)) "
            "(RFC 7208 §5.5)",
        )
    ]


def test_p_macro_is_unknown_when_the_ptr_lookup_fails() -> None:
    zone = {
        "example.com": {
            "@": [["txt", "v=spf1 exists:%{p}.names.example.com -all"]],
            "unknown.names": [["a", "127.0.0.2"]],
        },
        "1.2.0.192.in-addr.arpa": {"@": [["servfail", ""]]},
    }
    report = check(StaticResolver(zone))
    assert (report.result, report.matched) == ("pass", "exists:%{p}.names.example.com")


# -- RFC 7208 §4.8: a macro expansion longer than 253 octets -----------------------------------


def test_a_long_expansion_loses_labels_from_the_left_until_it_fits() -> None:
    labels = [c * 60 for c in "abcde"]  # 5 x 60 + 4 dots = 304 octets of local-part
    target = ".".join(labels[2:]) + ".example.com"  # 194 octets: two labels removed
    zone = {
        "example.com": {"@": [["txt", "v=spf1 exists:%{l}.%{d} -all"]]},
        target: {"@": [["a", "127.0.0.2"]]},
    }
    resolver = StaticResolver(zone)
    report = check(resolver, mail_from=f"<{'.'.join(labels)}@example.com>")
    assert report.result == "pass"
    assert resolver.dns_answers[-1].query.name == target


def test_a_failing_exp_lookup_is_ignored_and_not_blamed_later() -> None:
    zone = {
        "example.com": {
            "@": [["txt", "v=spf1 exp=why.example.com a:host.example.com -all"]],
            "why": [["timeout", ""]],
            "host": [["servfail", ""]],
        }
    }
    report = check(StaticResolver(zone))
    assert report.result == "temperror"
    assert report.summary.endswith(
        "the DNS servers of host.example.com must answer, and a later check may give a result."
    )
    failing = check(
        StaticResolver({"example.com": {"@": zone["example.com"]["@"], "why": [["timeout", ""]]}})
    )
    assert (failing.result, failing.explanation) == ("fail", None)
