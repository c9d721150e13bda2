"""The room a text takes in a stored report (issue #11): a character outside ASCII is written
\\uXXXX (6 octets), one outside the BMP as a surrogate pair (12), and the report's text cutters
measure by that, so a field of octets that are not UTF-8 cannot take six times its budget."""

from __future__ import annotations

import json

import pytest

from analysis import limits
from analysis.dkim1 import clip
from analysis.dkim2.report import cut_text
from analysis.received import bounded_text
from analysis.textsize import json_octets, prefix_within


@pytest.mark.parametrize("text", ["", "plain", "caf\u00e9", "\ufffd" * 7, "a\U0001f600b", "名前"])
def test_json_octets_is_what_json_dumps_writes_inside_the_quotes(text: str) -> None:
    assert json_octets(text) == len(json.dumps(text)) - 2


def test_prefix_within_takes_the_most_characters_that_fit() -> None:
    assert prefix_within("abcdef", 4) == 4
    assert prefix_within("ab\ufffdcd", 7) == 2  # the replacement character needs 6
    assert prefix_within("ab\ufffdcd", 8) == 3
    assert prefix_within("\U0001f600x", 11) == 0
    assert prefix_within("short", 100) == 5


def test_a_field_that_is_not_utf8_is_cut_to_the_same_room_as_ascii() -> None:
    raw = (b"Received: " + b"\xff" * 3000).decode("utf-8", "replace")
    limit = limits.MAX_REPORT_TEXT_CHARS
    for cut in (bounded_text(raw), clip(raw), cut_text(raw)):
        assert json_octets(cut) <= limit + 40  # the marker's own few octets
        assert cut.startswith("Received: \ufffd")
    assert cut_text(raw).endswith(" more characters cut]")
    # Before: 2,000 characters of U+FFFD, 12,000 octets as stored.
    assert json_octets(raw[:limit]) > 5 * limit


def test_ascii_texts_are_cut_as_before() -> None:
    assert bounded_text("abcdef", 4) == "abc…"
    assert clip("abcdef", 4) == "abc…"
    assert cut_text("abcdef", 4) == "abcd … [2 more characters cut]"
    assert cut_text("abcd", 4) == "abcd"
