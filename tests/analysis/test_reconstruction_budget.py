"""A limit that is hit says so by name and is no verdict against the signers (issue #11,
finding 9).

A legitimate 50-hop chain where every hop adds a footer came out PERMERROR "contains invalid
JSON": rebuilding its instances passed the reconstruction cap, then 16 times the message.
Rebuilt bodies now share the message's octets, the cap bounds the work of rebuilding (64
times the message: an honest chain at the instance limit fits) and the new octets the
recipes' literals hold (twice the message), and past either the chain is TEMPERROR
"limits.reconstruction-too-large": the analyser could not finish.
"""

from __future__ import annotations

from analysis import State, limits
from analysis.catalogue import CATALOGUE
from analysis.dkim2 import analyze
from analysis.message_report import analyze_message
from analysis.resolvers import StaticResolver
from tests.analysis.hostile_chains import footer_chain
from tests.support.chains import (
    T0,
    instance_field,
    message,
    prepend_fields,
    resign,
    signature_field,
    zone_for,
)


def test_an_honest_50_hop_chain_with_a_footer_per_hop_verifies() -> None:
    chain = footer_chain(limits.MAX_INSTANCES)
    report = chain.analyze()
    assert [(f.code, f.state) for f in report.findings if f.affects_verdict] == []
    assert report.result == State.PASS
    assert len(report.hops) == 50
    assert [i.instance for i in report.instances] == list(range(1, 51))
    assert all(i.result == State.PASS for i in report.instances)
    assert report.diffs[-1].body_diff[-1] == "+-- footer of hop 49"


def test_every_revision_rebuilds_it_the_same() -> None:
    chain = footer_chain(limits.MAX_INSTANCES)
    report = chain.analyze()
    assert [(o.revision, o.result) for o in report.revisions] == [
        (n, State.PASS) for n in ("06", "07", "08", "09")
    ]


def _past_the_work_bound() -> tuple[bytes, dict[str, dict[str, list[list[str]]]]]:
    """One recipe rebuilds 3.5 times the message in fields of a long name (within its own
    bound); 29 below it copy them all: together past TOTAL_RECONSTRUCTION_FACTOR."""
    content = message(body=("y" * 78 + "\r\n") * 1200)
    name = "n" * 1000
    literals = 7 * len(content) // 2 // (len(name) + 3)
    amplified = (name.encode() + b":\r\n") * literals + content
    count = 30
    recipes = [None, *[{"h": {name: [{"c": [1, literals]}]}}] * (count - 2)]
    recipes.append({"h": {name: [{"d": [""] * literals}]}})
    contents = [*[amplified] * (count - 1), content]
    mis = [instance_field(m, contents[m - 1], recipes[m - 1]) for m in range(1, count + 1)]
    raw = resign(prepend_fields(content, signature_field(1, count), *reversed(mis)))
    return raw, zone_for(["example.com"])


def test_past_the_bound_the_chain_is_temperror_naming_the_limit() -> None:
    raw, zone = _past_the_work_bound()
    report = analyze(raw, lookup=StaticResolver(zone), now=T0 + 60)
    problems = [f for f in report.findings if f.affects_verdict]
    assert [(f.code, f.state) for f in problems] == [
        ("limits.reconstruction-too-large", State.TEMPERROR)
    ]
    assert report.result == State.TEMPERROR
    assert report.summary.startswith(
        "Temperror: Message-Instance m=11 not undone: the analyser's bound on reconstruction "
        "was reached"
    )
    # Hop 1 signed every instance: its signature verified; only the rebuilding stopped.
    (hop,) = report.hops
    assert [s.result for s in hop.selectors] == ["pass"]


def test_the_verdict_says_the_analyser_could_not_finish_not_that_a_signer_failed() -> None:
    raw, zone = _past_the_work_bound()
    report = analyze_message(raw, lookup=StaticResolver(zone), now=T0 + 60)
    assert report.verdict.result == "temperror"
    assert report.verdict.trusted is None
    assert report.verdict.headline == (
        "Not decided: dkim2web stopped checking the DKIM2 chain at one of its own limits, which "
        "is no fault of any signer; nobody needs to act."
    )
    # The failure string is the evidence under the headline, not part of it.
    assert [(f.code, f.message) for f in report.verdict.evidence] == [
        (
            "limits.reconstruction-too-large",
            "TEMPERROR: Message-Instance m=11 not undone: the analyser's bound on reconstruction "
            "was reached",
        )
    ]


def test_the_limit_has_its_catalogue_entry() -> None:
    entry = CATALOGUE["limits.reconstruction-too-large"]
    assert entry.responsible == "analyser"
    assert entry.checked and entry.found_template and entry.likely_causes and entry.fix
    assert "not a fault of any signer" in entry.found_template
