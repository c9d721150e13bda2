"""A message with a NUL in a header is analysed and stored: the report writes U+0000 as
U+2400 ("␀"), which PostgreSQL can hold (jsonb refused the escape, SQLSTATE 22P05, and the
analysis failed with "the database refused it"). The PostgreSQL half is in
test_r_report_nul_postgresql.py; this one pins the rewriting itself and the SQLite path."""

from __future__ import annotations

import json

import pytest

from dkim2web.reports import services
from dkim2web.reports.models import Analysis, AnalysisRun
from dkim2web.samples.keys import DemoDnsLookup

NUL_SUBJECT = b"From: Alice <alice@example.org>\r\nSubject: before\x00after\r\n\r\nbody\r\n"


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("a\x00b", "a\u2400b"),
        ("\x00", "\u2400"),
        ("\x00\x00", "\u2400\u2400"),
        ("\\\x00", "\\\u2400"),  # a backslash, then NUL
        ("\\\\\x00", "\\\\\u2400"),  # two backslashes, then NUL
        ("\\u0000", "\\u0000"),  # the message's six characters, not a NUL: kept
        ("\\\\u0000", "\\\\u0000"),
        ("\\\\\\u0000\x00", "\\\\\\u0000\u2400"),
    ],
)
def test_nul_is_written_as_the_symbol_for_null_and_nothing_else_changes(
    value: str, stored: str
) -> None:
    document = {"schema_version": 2, "message": {"subject": value}, "k\x00": [value]}
    encoded = json.dumps(document, separators=(",", ":"))
    kept, text = services.storable_report(document, encoded)
    expected = {"schema_version": 2, "message": {"subject": stored}, "k\u2400": [stored]}
    assert kept == expected
    assert json.loads(text) == expected
    assert len(text) == len(encoded)  # measured against the budget before: still fits


def test_a_report_without_nul_is_returned_as_it_is() -> None:
    document = {"schema_version": 2, "message": {"subject": "plain \\u0000 text"}}
    encoded = json.dumps(document, separators=(",", ":"))
    kept, text = services.storable_report(document, encoded)
    assert kept is document and text is encoded


@pytest.mark.django_db
def test_a_nul_in_a_header_is_analysed_and_stored() -> None:
    analysis = services.analysis_submit(raw=NUL_SUBJECT, enqueue=False)
    run = services.analysis_run(analysis_id=analysis.pk, lookup=DemoDnsLookup())
    assert run is not None
    assert Analysis.objects.get(pk=analysis.pk).status == "done"
    stored = AnalysisRun.objects.get(pk=run.pk).report
    assert stored["message"]["subject"] == "before\u2400after"
    assert "\x00" not in json.dumps(stored, ensure_ascii=False)
    assert Analysis.objects.get(pk=analysis.pk).raw_bytes == NUL_SUBJECT  # the octet is kept
