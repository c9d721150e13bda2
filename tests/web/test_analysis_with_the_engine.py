"""analysis_run drives the real engine (from analysis/, with a stub key lookup)."""

from __future__ import annotations

import pytest

from analysis import dkim2 as engine
from analysis.lookup import KeyAnswer, KeyQuery, LookupStatus
from dkim2web.reports import services
from dkim2web.reports.models import Analysis, AnalysisRun

UNSIGNED = (
    b"From: alice@example.org\r\nTo: bob@example.net\r\nSubject: plain\r\n"
    b"Message-ID: <1@example.org>\r\n\r\nNo DKIM2 here.\r\n"
)


class NoKeys:
    """Every key name is NXDOMAIN; records what was asked."""

    def __init__(self) -> None:
        self.asked: list[KeyQuery] = []

    def lookup_many(self, queries: list[KeyQuery]) -> dict[KeyQuery, KeyAnswer]:
        self.asked.extend(queries)
        return {q: KeyAnswer(query=q, status=LookupStatus.NXDOMAIN) for q in queries}


@pytest.mark.django_db
def test_an_unsigned_message_has_the_verdict_none() -> None:
    analysis = services.analysis_submit(
        raw=UNSIGNED, mail_from="alice@example.org", rcpt_to=["bob@example.net"], enqueue=False
    )
    lookup = NoKeys()
    run = services.analysis_run(analysis_id=analysis.pk, lookup=lookup)

    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.DONE, analysis.error
    assert run is not None
    assert run.result == AnalysisRun.Result.NONE
    assert run.engine_version == engine.ENGINE_VERSION
    assert run.draft == engine.DRAFT
    assert isinstance(run.report, dict)
    assert lookup.asked == []  # nothing signed, nothing to look up
