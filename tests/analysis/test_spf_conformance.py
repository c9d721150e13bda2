"""The openspf RFC 7208 test suite (release 2014.04, shipped in pyspf 2.0.14's sdist), run
through analysis.spf.evaluate on static zones.

Each scenario's ``zonedata`` becomes a static zone the way the suite's own driver
(``test/testspf.py``) reads it:

* ``SPF:`` entries (the RR type RFC 7208 retired) are served as TXT records when the name
  lists no ``TXT:`` entry at all (the suite's "auto-magic duplication"); ``TXT: NONE`` means
  "no TXT record", which also stops that duplication;
* a list of strings is one TXT record of several character-strings, joined without
  separator (RFC 7208 §3.3), as a real lookup delivers it; ``SPF: []`` is an empty record;
* ``TIMEOUT`` makes every question for that name time out, except for the types listed
  before it (the driver walks the entries in order); a name that only times out is a
  ``timeout`` marker in the zone, partial time-outs are an overlay on the static resolver;
* ``MX: [0, ""]`` (an exchange with no name) is served as the null MX ``0 .``.

Every case is run; the result must be one of the suite's accepted results and, where the
suite gives one, the explanation must match ("DEFAULT" means: no exp= explanation).  The
cases that disagree are pinned with their reason, so any change in either direction shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from analysis import spf
from analysis.lookup import DnsAnswer, DnsQuery, LookupStatus
from analysis.resolvers import StaticResolver
from tests.conftest import require_fixture

SUITE = ("pyspf-2.0.14", "test", "rfc7208-tests.yml")

#: Cases where analysis.spf disagrees with the suite: case -> the reason, in one line.
#: (Five cases with names holding ':', '/', '%' or spaces disagreed until the lookup layer
#: accepted every label DNS can carry, RFC 2181 §11.)
DISAGREEMENTS: dict[str, str] = {}


@dataclass(frozen=True)
class Case:
    name: str
    scenario: str
    spec: str
    host: str
    mailfrom: str
    helo: str
    results: tuple[str, ...]
    explanation: str | None  # None: the suite does not check it


class Overlay:
    """A static resolver, plus the (name, type) questions the suite makes time out."""

    def __init__(self, static: StaticResolver, timeouts: set[tuple[str, str]]) -> None:
        self.static = static
        self.timeouts = timeouts

    def resolve_many(
        self, queries: list[DnsQuery], *, time_left: float | None = None
    ) -> dict[DnsQuery, DnsAnswer]:
        out: dict[DnsQuery, DnsAnswer] = {}
        rest = []
        for q in queries:
            if (q.name.lower().rstrip("."), q.rtype.value) in self.timeouts:
                out[q] = DnsAnswer(q, LookupStatus.TIMEOUT, detail="TIMEOUT entry of the suite")
            else:
                rest.append(q)
        out.update(self.static.resolve_many(rest))
        return out


TYPES = ("TXT", "A", "AAAA", "MX", "PTR", "CNAME")


def _entries(rdata: list[Any]) -> list[tuple[str, Any]]:
    """The name's entries in order, with SPF entries served as TXT when no TXT is listed."""
    out: list[tuple[str, Any]] = []
    spf_entries: list[str] = []
    lists_txt = False
    for item in rdata:
        if item == "TIMEOUT":
            out.append(("TIMEOUT", None))
            continue
        ((rtype, value),) = item.items()
        if rtype in ("TXT", "SPF") and isinstance(value, list):
            value = "".join(value)
        if rtype == "TXT":
            lists_txt = True
        if rtype == "SPF":
            spf_entries.append(value)
        elif value != "NONE":
            out.append((rtype, value))
    if not lists_txt:
        out.extend(("TXT", v) for v in spf_entries)  # after any TIMEOUT, as the driver does
    return out


def lookup_for(zonedata: dict[str, list[Any]]) -> Overlay:
    zone: dict[str, object] = {}
    timeouts: set[tuple[str, str]] = set()
    for name, rdata in zonedata.items():
        key = name.lower().rstrip(".")
        records: list[list[str]] = []
        served: set[str] = set()
        times_out = False
        for rtype, value in _entries(rdata):
            if rtype == "TIMEOUT" or value == "TIMEOUT":
                times_out = True
                break
            served.add(rtype)
            if rtype == "MX":
                preference, exchange = value
                records.append(["mx", f"{preference} {exchange or '.'}"])
            else:
                records.append([rtype.lower(), str(value)])
        if times_out and not records:
            records = [["timeout", ""]]
        elif times_out:
            timeouts.update((key, t) for t in TYPES if t not in served)
        zone[key] = {"@": records}
    return Overlay(StaticResolver(zone), timeouts)


def _scenarios(path: Path) -> Iterator[tuple[dict[str, Any], Overlay]]:
    with path.open("rb") as handle:
        for scenario in yaml.safe_load_all(handle):
            yield scenario, lookup_for(scenario.get("zonedata") or {})


def _cases(scenario: dict[str, Any]) -> Iterator[Case]:
    for name, test in scenario["tests"].items():
        results = test["result"]
        yield Case(
            name=name,
            scenario=scenario["description"],
            spec=str(test.get("spec", "")),
            host=test["host"],
            mailfrom=test["mailfrom"],
            helo=test["helo"],
            results=tuple(results) if isinstance(results, list) else (results,),
            explanation=test.get("explanation"),
        )


def run_suite() -> tuple[int, dict[str, str]]:
    """(cases run, {case: what we gave} for every case that disagrees)."""
    path = require_fixture(*SUITE)
    run = 0
    disagreeing: dict[str, str] = {}
    for scenario, lookup in _scenarios(path):
        for case in _cases(scenario):
            run += 1
            report = spf.evaluate(
                ip=case.host,
                helo=case.helo,
                mail_from=case.mailfrom,
                lookup=lookup,
                source="given",
            )
            wrong = []
            if report.result not in case.results:
                wrong.append(f"result {report.result}, suite {'/'.join(case.results)}")
            if case.explanation is not None:
                expected = None if case.explanation == "DEFAULT" else case.explanation
                if report.explanation != expected:
                    wrong.append(f"explanation {report.explanation!r}, suite {expected!r}")
            if wrong:
                assert case.name not in disagreeing, f"case name {case.name} is not unique"
                disagreeing[case.name] = "; ".join(wrong)
    return run, disagreeing


def test_the_rfc7208_suite_agrees_except_the_pinned_cases() -> None:
    run, disagreeing = run_suite()
    agreeing = run - len(disagreeing)
    print(f"openspf RFC 7208 suite: {run} cases, {agreeing} agree, {len(disagreeing)} differ")
    assert sorted(disagreeing) == sorted(DISAGREEMENTS), disagreeing
    assert all(reason.strip() and "\n" not in reason for reason in DISAGREEMENTS.values())
    assert (run, agreeing) == (203, 203)


def test_the_zone_conversion_reads_the_suites_special_entries() -> None:
    lookup = lookup_for(
        {
            "both.example.net": [{"TXT": "v=spf1 -all"}, {"SPF": "v=spf1 +all"}],
            "spfonly.example.net": [{"SPF": "v=spf1 -all"}, {"TXT": "NONE"}],
            "generated.example.net": [{"SPF": "v=spf1 ?all"}],
            "multi.example.net": [{"SPF": ["v=spf1 ip4:", "192.0.2.5 -all"]}, {"SPF": []}],
            "partial.example.net": [{"TXT": "v=spf1 a -all"}, "TIMEOUT"],
            "dead.example.net": ["TIMEOUT"],
            "nullmx.example.net": [{"MX": [0, ""]}],
        }
    )

    def ask(name: str, rtype: str) -> tuple[str, tuple[str, ...]]:
        from analysis.lookup import RecordType

        q = DnsQuery(name, RecordType(rtype))
        answer = lookup.resolve_many([q])[q]
        return answer.status.value, answer.records

    assert ask("both.example.net", "TXT") == ("found", ("v=spf1 -all",))
    assert ask("spfonly.example.net", "TXT") == ("nodata", ())
    assert ask("generated.example.net", "TXT") == ("found", ("v=spf1 ?all",))
    assert ask("multi.example.net", "TXT") == ("found", ("v=spf1 ip4:192.0.2.5 -all", ""))
    assert ask("partial.example.net", "TXT") == ("found", ("v=spf1 a -all",))
    assert ask("partial.example.net", "A") == ("timeout", ())
    assert ask("dead.example.net", "TXT") == ("timeout", ())
    assert ask("nullmx.example.net", "MX") == ("found", ("0 .",))
