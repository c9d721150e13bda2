"""An Analysis keeps the message bytes exactly as received."""

from __future__ import annotations

import hashlib

import pytest

from dkim2web.reports.models import Analysis, AnalysisRun
from dkim2web.reports.services import analysis_submit

# Bare CR, bare LF, NUL, invalid UTF-8, Latin-1, trailing whitespace and no final CRLF:
# everything a normalising layer would be tempted to "fix".
AWKWARD = (
    b"From: a@example.org\r\nSubject: caf\xe9 \xff\xfe\r\n"
    b"X-Odd: bare\rcr and bare\nlf\r\n\r\n"
    b"body\x00with NUL \xc3\x28 bad utf-8  \t\r\n.\r\nno final newline"
)


@pytest.mark.django_db
def test_raw_bytes_come_back_exactly() -> None:
    stored = Analysis.objects.create(
        raw_message=AWKWARD, sha256=hashlib.sha256(AWKWARD).hexdigest(), size=len(AWKWARD)
    )
    loaded = Analysis.objects.get(pk=stored.pk)
    assert loaded.raw_bytes == AWKWARD
    assert hashlib.sha256(loaded.raw_bytes).hexdigest() == loaded.sha256


@pytest.mark.django_db
def test_submit_records_hash_size_envelope_and_queues() -> None:
    analysis = analysis_submit(
        raw=AWKWARD, filename="odd.eml", mail_from="a@example.org", rcpt_to=["b@example.net"]
    )
    loaded = Analysis.objects.get(pk=analysis.pk)
    assert loaded.raw_bytes == AWKWARD
    assert loaded.sha256 == hashlib.sha256(AWKWARD).hexdigest()
    assert loaded.size == len(AWKWARD)
    assert loaded.filename == "odd.eml"
    assert loaded.rcpt_to == ["b@example.net"]
    assert loaded.envelope_source == Analysis.EnvelopeSource.USER
    assert loaded.status == Analysis.Status.QUEUED
    assert loaded.attempts == 0
    assert loaded.owner is None


@pytest.mark.django_db
def test_submit_without_envelope_says_so() -> None:
    analysis = analysis_submit(raw=b"Subject: x\r\n\r\n")
    assert analysis.envelope_source == Analysis.EnvelopeSource.NONE
    assert analysis.rcpt_to == []


@pytest.mark.django_db
def test_deleting_an_analysis_deletes_its_runs() -> None:
    analysis = analysis_submit(raw=b"x", enqueue=False)
    AnalysisRun.objects.create(
        analysis=analysis, result="none", report={}, engine_version="0", draft="d"
    )
    analysis.delete()
    assert AnalysisRun.objects.count() == 0
