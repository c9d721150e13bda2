"""analysis.headline: the verdict's sentence in plain words, its names bounded, and the
evidence kept beside it (bounded too), never in it."""

from __future__ import annotations

import pytest

from analysis import limits
from analysis.findings import Finding, State, Step
from analysis.headline import is_plain, join, name
from analysis.verdict import Verdict


def test_a_name_at_the_limit_is_kept_and_one_past_it_is_cut() -> None:
    at = "d" * limits.MAX_HEADLINE_NAME_CHARS
    assert name(at) == at
    past = at + "x"
    assert name(past) == "d" * (limits.MAX_HEADLINE_NAME_CHARS - 1) + "…"
    assert len(name(past)) == limits.MAX_HEADLINE_NAME_CHARS
    assert name("") == "a signer"
    assert name(None, "the From domain") == "the From domain"


def test_join_lists_in_words() -> None:
    assert join([]) == ""
    assert join(["a.example"]) == "a.example"
    assert join(["a.example", "b.example", "c.example"]) == "a.example, b.example and c.example"


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("Not trusted: the body was changed after lists.example signed it.", True),
        ("Not trusted: Message Instance m=1 body hash sha256 mismatch.", False),
        ("Record the change (S06 §5.2, §9.1).", False),
        ("the previous hop named nd=relay.example", False),
        ("re-run with dkim2 verify --now 1790000400", False),
        ("SPF for example.com vouches for example.com, so DMARC passes", True),
    ],
)
def test_plain_words_have_no_tags_sections_or_options(text: str, plain: bool) -> None:
    assert is_plain(text) is plain


def test_the_evidence_is_kept_without_its_data_and_bounded() -> None:
    findings = [
        Finding(
            "hash.body-mismatch",
            State.FAIL,
            f"FAIL: {n}",
            Step.HASH,
            instance=n,
            spec="S06 §6.1",
            data={"big": "x" * 100},
        )
        for n in range(1, limits.MAX_VERDICT_EVIDENCE + 2)
    ]
    verdict = Verdict("fail", False, "Not trusted: plain words.", evidence=findings)
    kept = verdict.to_json()["evidence"]
    assert [e["message"] for e in kept] == [
        f"FAIL: {n}" for n in range(1, limits.MAX_VERDICT_EVIDENCE + 1)
    ]
    assert all("data" not in e for e in kept)
    assert kept[0]["code"] == "hash.body-mismatch" and kept[0]["spec"] == "S06 §6.1"
    assert verdict.to_json()["copy"] is False
