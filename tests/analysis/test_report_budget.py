"""Budgets on everything derived from a message (issue #11, finding 1).

A valid 16-hop chain whose body has eight lines of 2.2 MB, each hop replacing one short line
between them, made a report of 119 MB here (198 MB in the probe): every body diff carried
its context lines whole.  Now a diff line is cut at MAX_DIFF_LINE_OCTETS with a marker
saying how much was cut, one diff's text at MAX_DIFF_BYTES, all diffs' at
MAX_REPORT_DIFF_BYTES, and the whole report is checked against MAX_REPORT_BYTES before it is
stored (analysis.report_budget).  The full diff is recomputed from the message on demand.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis import State, limits
from analysis.dkim2.history import DiffBudget, body_diff, full_body_diff, rebuilt_instances
from analysis.message import Body
from analysis.message_report import analyze_message
from analysis.report_budget import ReportTooLarge, encode, fit, fit_text, size_of
from analysis.resolvers import StaticResolver
from tests.analysis.hostile_chains import LONG_LINE, long_line_chain

MARKER = " … [2,199,000 more octets cut]"


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    chain = long_line_chain()
    return analyze_message(
        chain.message, lookup=StaticResolver(chain.zone), now=chain.now
    ).to_json()


def test_the_16_hop_chain_of_megabyte_lines_makes_a_report_within_4_mb(
    report: dict[str, Any],
) -> None:
    assert size_of(report) <= limits.MAX_REPORT_BYTES == 4 * 1024 * 1024
    assert report["dkim2"]["result"] == "pass"
    assert "trimmed" not in report  # the bounds where each part is made sufficed


def test_each_of_its_diffs_cuts_the_long_lines_saying_how_much(report: dict[str, Any]) -> None:
    diffs = report["dkim2"]["diffs"]
    assert len(diffs) == 15
    for diff in diffs:
        lines = diff["body_diff"]
        long = [x for x in lines if x[1:].startswith("y" * 1000)]
        assert long and all(x == x[0] + "y" * 1000 + MARKER for x in long)
        assert diff["body_diff_truncated"] is False
        assert diff["body_diff_note"] == (
            f"{len(long)} lines longer than 1,000 octets were cut (each says how much)."
        )
    assert sum(size_of(d["body_diff"]) for d in diffs) <= limits.MAX_REPORT_DIFF_BYTES


def test_hop_2s_diff_is_the_replaced_line_between_its_context(report: dict[str, Any]) -> None:
    diff = report["dkim2"]["diffs"][1]  # m=2 -> m=3: hop 2 replaced body line 5
    assert (diff["before"], diff["after"]) == (2, 3)
    long = " " + "y" * 1000 + MARKER
    assert diff["body_diff"] == [
        "--- before",
        "+++ after",
        "@@ -2,7 +2,7 @@",
        long,
        " hop 1 was here",
        long,
        "-short line 2",
        "+hop 2 was here",
        long,
        " short line 3",
        long,
    ]


def test_a_cut_never_splits_a_character() -> None:
    before = Body.of(b"a" + "é".encode() * 600 + b"\r\n")
    after = Body.of(b"b\r\n")
    lines = body_diff(before, after).lines
    # 1,000 octets: "a" and 499 "é" (999 octets); the 1,000th is half an "é", held back.
    assert lines[3] == "-a" + "é" * 499 + " … [202 more octets cut]"


def _every_line_changed(n: int) -> tuple[Body, Body]:
    before = Body.of(b"".join(b"%099d\r\n" % k for k in range(n)))
    after = Body.of(b"".join(b"%099d\r\n" % (k + 10**6) for k in range(n)))
    return before, after


def test_one_diff_stops_at_its_octet_budget_and_says_where() -> None:
    diff = body_diff(*_every_line_changed(2000))
    text = sum(len(json.dumps(x)) + 1 for x in diff.lines)
    assert limits.MAX_DIFF_BYTES - 110 < text <= limits.MAX_DIFF_BYTES
    assert diff.truncated is True
    assert diff.note == (
        f"Cut short at {len(diff.lines):,} lines, where the diff text reached 262,144 octets."
    )


def test_the_reports_budget_for_diff_text_is_shared_by_its_diffs() -> None:
    budget = DiffBudget(3000)
    before, after = _every_line_changed(40)
    first = body_diff(before, after, budget=budget)
    assert first.truncated is True and 0 <= budget.remaining < 110
    assert first.note == (
        f"Cut short at {len(first.lines)} lines, where the report's 1,048,576 octets for diff "
        "text ran out."
    )
    second = body_diff(before, after, budget=budget)
    assert second.lines == []
    assert second.truncated is True
    assert second.note == (
        "Not kept: the report's 1,048,576 octets for diff text were spent on the diffs before "
        "this one."
    )


def test_a_changed_part_too_large_to_compare_shows_both_sides_cut() -> None:
    """Every line changed (more lines than MAX_DIFF_WINDOW_LINES): shown replaced, half the
    lines from each side, each cut side saying how many lines it leaves out."""
    n = limits.MAX_DIFF_WINDOW_LINES + 1
    before = Body.of(b"".join(b"old %d\r\n" % k for k in range(n)))
    after = Body.of(b"".join(b"new %d\r\n" % k for k in range(n)))
    diff = body_diff(before, after)
    assert len(diff.lines) == limits.MAX_DIFF_LINES
    assert diff.lines[:4] == ["--- before", "+++ after", f"@@ -1,{n} +1,{n} @@", "-old 0"]
    removed = [x for x in diff.lines if x.startswith("-old")]
    added = [x for x in diff.lines if x.startswith("+new")]
    assert (len(removed), len(added)) == (2497, 2498)
    assert diff.lines[3 + 2497] == f"\\ {n - 2497:,} more removed lines not shown"
    assert diff.lines[-1] == f"\\ {n - 2498:,} more added lines not shown"
    assert diff.note == (
        f"Cut short at 5,000 lines; the changed part ({n:,} lines before, {n:,} after) is too "
        "large to compare line by line, so it is shown as replaced."
    )


# -- the stored-size budget ------------------------------------------------------------------------


def _report_with_diffs(lines: int, line: str) -> dict[str, Any]:
    return {
        "schema_version": 2,
        "result": "pass",
        "dkim2": {
            "diffs": [{"before": 1, "after": 2, "body_diff": [line] * lines, "header_changes": []}],
            "instances": [{"m": 1, "header_field_runs": [[0, 100]]}],
            "header_field_table": [["Subject", f"{k:03d}" + "s" * 100] for k in range(100)],
        },
    }


def test_a_report_past_its_budget_leaves_out_the_body_diffs_first_and_says_so() -> None:
    report = _report_with_diffs(1000, "+" + "x" * 999)
    before = size_of(report)
    fitted = fit(report, 100_000)
    assert size_of(fitted) <= 100_000
    (diff,) = fitted["dkim2"]["diffs"]
    assert diff["body_diff"] == []
    assert diff["body_diff_truncated"] is True
    assert diff["body_diff_note"] == (
        "Trimmed: the report was over its stored-size budget, and the body diffs were the first "
        "part left out."
    )
    assert fitted["trimmed"]["size"] == before
    assert fitted["trimmed"]["limit"] == 100_000
    assert [p["part"] for p in fitted["trimmed"]["parts"]] == ["dkim2.diffs.body_diff"]
    assert fitted["dkim2"]["instances"][0]["header_field_runs"] == [[0, 100]]
    assert len(fitted["dkim2"]["header_field_table"]) == 100


def test_past_the_body_diffs_the_instances_fields_are_left_out_and_counted() -> None:
    report = _report_with_diffs(10, "+x")
    report["dkim2"]["instances"].append(
        {"m": 2, "header_field_runs": [[0, 40], [60, 5]], "header_fields_omitted": 2}
    )
    fitted = fit(report, 2_000)
    assert [p["part"] for p in fitted["trimmed"]["parts"]][-1] == "dkim2.instances.header_fields"
    assert fitted["dkim2"]["diffs"][0]["body_diff"] == []  # left out first
    assert fitted["dkim2"]["header_field_table"] == []
    assert [
        (i["header_field_runs"], i["header_fields_omitted"]) for i in fitted["dkim2"]["instances"]
    ] == [([], 100), ([], 47)]


def test_a_report_within_its_budget_is_left_alone() -> None:
    report = _report_with_diffs(10, "+x")
    assert fit(dict(report), 100_000) == report


@pytest.mark.parametrize(("lines", "limit"), [(10, 100_000), (1000, 100_000)])
def test_the_text_measured_is_the_text_to_store_trimmed_or_not(lines: int, limit: int) -> None:
    report = _report_with_diffs(lines, "+" + "x" * 999)
    fitted, text = fit_text(report, limit)
    assert text == json.dumps(fitted, separators=(",", ":"))
    assert ("trimmed" in fitted) is (lines == 1000)
    assert len(text) <= limit


def test_a_report_that_cannot_be_trimmed_enough_is_refused_with_its_sizes() -> None:
    report = {"schema_version": 2, "numbers": list(range(100_000))}
    with pytest.raises(ReportTooLarge) as refused:
        fit(report, 100_000)
    assert str(refused.value) == (
        f"the report of this message is {size_of(report):,} octets even with its derived parts "
        "trimmed; at most 100,000 can be stored"
    )


# -- the full diff, recomputed on demand -----------------------------------------------------------


def test_the_full_diff_has_every_line_in_full() -> None:
    chain = long_line_chain()
    chunks = full_body_diff(chain.message, 3)
    assert chunks is not None
    data = b"".join(chunks)
    line = LONG_LINE
    assert data == (
        b"--- m=2\n+++ m=3\n@@ -2,7 +2,7 @@\n "
        + line
        + b"\n hop 1 was here\n "
        + line
        + b"\n-short line 2\n+hop 2 was here\n "
        + line
        + b"\n short line 3\n "
        + line
        + b"\n"
    )


def test_the_full_diff_is_difflibs_over_the_rebuilt_instances() -> None:
    chain = long_line_chain()
    instances = rebuilt_instances(chain.message)
    before, after = instances[9].body, instances[10].body
    assert before is not None and after is not None
    expected = difflib.diff_bytes(
        difflib.unified_diff, before.lines(), after.lines(), b"m=9", b"m=10", lineterm=b"", n=3
    )
    chunks = full_body_diff(chain.message, 10)
    assert chunks is not None
    assert b"".join(chunks) == b"".join(x + b"\n" for x in expected)


def test_there_is_no_full_diff_of_an_instance_that_does_not_exist() -> None:
    chain = long_line_chain()
    assert full_body_diff(chain.message, 17) is None
    assert full_body_diff(chain.message, 1) is None  # m=0: no recipe on m=1
    assert rebuilt_instances(b"From: a@example.com\r\n\r\nno DKIM2\r\n") == {}


def test_the_chain_verifies(report: dict[str, Any]) -> None:
    assert report["dkim2"]["result"] == State.PASS.value
    assert len(report["dkim2"]["hops"]) == 16


# -- the stored text (issue #13: orjson writes it where it can) ----------------------------


def test_the_stored_text_of_a_real_report_is_compact_ascii_json_of_the_same_values(
    report: dict[str, Any],
) -> None:
    text = encode(report)
    assert text.isascii()
    assert text == json.dumps(report, separators=(",", ":"))
    assert size_of(report) == len(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # Outside ASCII: escaped as Python writes it, so analysis.textsize's 6 octets hold.
        ({"subject": "Grüße ☃"}, '{"subject":"Gr\\u00fc\\u00dfe \\u2603"}'),
        ({"emoji": "\U0001f600"}, '{"emoji":"\\ud83d\\ude00"}'),
        # A lone surrogate (a field decoded with surrogateescape), which orjson refuses.
        ({"raw": "a\udcffb"}, '{"raw":"a\\udcffb"}'),
        # A key that is not a string, which orjson refuses and json.dumps writes as one.
        ({1: [True, None, 2.5]}, '{"1":[true,null,2.5]}'),
        # An integer past 64 bits.
        ({"n": 2**70}, '{"n":1180591620717411303424}'),
    ],
)
def test_what_orjson_cannot_write_as_ascii_is_written_by_json_dumps(
    value: dict[Any, Any], expected: str
) -> None:
    assert encode(value) == expected
    assert size_of(value) == len(expected)


_JSON_TEXT = st.text(st.characters(codec="utf-8"))  # no lone surrogate: orjson's path
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | _JSON_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_JSON_TEXT, inner, max_size=4),
    max_leaves=20,
)


@given(_JSON_VALUES)
def test_orjson_and_the_escapes_write_what_json_dumps_writes(value: Any) -> None:
    assert encode(value) == json.dumps(value, separators=(",", ":"))


@pytest.mark.parametrize("count", [1, 8, 256, 257, 2000])
def test_few_or_many_characters_outside_ascii_are_escaped_alike(count: int) -> None:
    # Up to 256 are escaped one by one where numpy finds them, more through the codec.
    text = "".join(chr(0x4E00 + i % 50) + "\U0001f600" * (i % 2) for i in range(count // 2))
    text = (text + "é" * count)[: count - 2] + "\x7f" + "→"
    value = {"subject": text, "n": [text[:3], "§ S06 §8 — …"], "é": "x"}
    assert encode(value) == json.dumps(value, separators=(",", ":"))
