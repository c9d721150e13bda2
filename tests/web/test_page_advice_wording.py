"""Advice on a web page names no command line: every catalogue fix that does has the page's
own words (dkim2web/reports/advice.py), and each control belongs to a catalogued finding."""

from __future__ import annotations

import pytest

from analysis.catalogue import CATALOGUE, ENTRIES
from dkim2web.reports import advice
from dkim2web.reports.presenters import explain


def test_every_fix_that_names_a_command_has_page_words() -> None:
    naming = sorted(e.code for e in ENTRIES if advice.names_a_command(e.fix))
    # The catalogue does name commands (for the command line); the page never shows them.
    assert naming == ["envelope.not-checked", "sig.expired", "sig.valid-at-arrival"]
    assert set(naming) <= set(advice.PAGE_FIXES)


@pytest.mark.parametrize("code", sorted(advice.PAGE_FIXES))
def test_the_page_words_name_no_command_and_explain_a_real_code(code: str) -> None:
    assert code in CATALOGUE
    assert not advice.names_a_command(advice.PAGE_FIXES[code])
    assert "§" not in advice.plain_fix(code, CATALOGUE[code].fix)


@pytest.mark.parametrize("code", sorted(advice.CONTROLS))
def test_each_control_belongs_to_a_catalogued_finding(code: str) -> None:
    assert code in CATALOGUE
    assert advice.CONTROLS[code] in {
        advice.ARRIVAL,
        advice.COMPAT,
        advice.REVISION,
        advice.RERUN,
        advice.ENVELOPE,
    }


def test_the_page_explanation_carries_page_words_plain_words_and_the_control() -> None:
    explained = explain({"code": "sig.expired", "state": "fail", "hop": 1, "detail": "x"})
    assert explained["fix"] == advice.PAGE_FIXES["sig.expired"]
    assert explained["fix_plain"] == (
        "If this is an archived copy, nobody needs to change anything: re-run the analysis as "
        "of the time the message arrived to see how it was judged then. If it had already "
        "expired when it arrived, the signing domain's operator must keep its clock right, and "
        "the operator that delayed it must not deliver old mail without checking it again."
    )
    assert explained["control"] == "arrival"
    # Page words for "What to do" only, where the catalogue's names no command.
    body = explain({"code": "hash.body-mismatch", "state": "fail", "hop": 1, "instance": 1})
    assert body["fix"] == CATALOGUE["hash.body-mismatch"].fix
    assert body["fix_plain"] == (
        "The operator of the system that changed the body after it was signed: record the "
        "change, with a recipe that undoes it, in a new signed version of the message. Signers "
        "should sign as the last step before sending, in the form the message has on the wire."
    )
    # A fix without page words keeps the catalogue's, its spec references dropped for the
    # "What to do" line only.
    plain = explain({"code": "key.not-found", "state": "permerror"})
    assert plain["fix"] == CATALOGUE["key.not-found"].fix
    assert plain["fix_plain"].endswith("rather than deleting or reusing old ones.")
    assert plain["control"] == ""


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("Sign it (S06 §5.2, §9.1). Then send.", "Sign it. Then send."),
        ("Keep the clock right (BCP01 §3.6), and more.", "Keep the clock right, and more."),
        ("Do X, as S06 §9.3 describes; or Y.", "Do X; or Y."),
        ("Use a key (or a CNAME to one) now.", "Use a key (or a CNAME to one) now."),
    ],
)
def test_plain_fix_drops_spec_references_only(text: str, plain: str) -> None:
    assert advice.plain_fix("no.such-code", text) == plain
