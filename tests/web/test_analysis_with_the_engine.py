"""analysis_run drives the real engine (from analysis/, with a stub key lookup)."""

from __future__ import annotations

import pytest

from analysis import dkim2 as engine
from analysis.lookup import DnsAnswer, DnsQuery, KeyAnswer, KeyQuery, LookupStatus
from analysis.message_report import ENGINE_VERSION
from dkim2web.reports import services
from dkim2web.reports.models import Analysis, AnalysisRun

UNSIGNED = (
    b"From: alice@example.org\r\nTo: bob@example.net\r\nSubject: plain\r\n"
    b"Message-ID: <1@example.org>\r\n\r\nNo DKIM2 here.\r\n"
)


class NoKeys:
    """Every name is NXDOMAIN; records which keys were asked for."""

    def __init__(self) -> None:
        self.asked: list[KeyQuery] = []
        self.questions: list[DnsQuery] = []

    def lookup_many(self, queries: list[KeyQuery]) -> dict[KeyQuery, KeyAnswer]:
        self.asked.extend(queries)
        return {q: KeyAnswer(query=q, status=LookupStatus.NXDOMAIN) for q in queries}

    def resolve_many(
        self, queries: list[DnsQuery], *, time_left: float | None = None
    ) -> dict[DnsQuery, DnsAnswer]:
        self.questions.extend(queries)
        return {q: DnsAnswer(q, LookupStatus.NXDOMAIN) for q in queries}


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
    assert run.engine_version == ENGINE_VERSION
    assert run.draft == engine.DRAFT
    assert run.summary == (
        "No authentication at all: the message carries no DKIM1, DKIM2 or ARC signature, and "
        "neither SPF nor DMARC could vouch for example.org; if it is genuine, the mail "
        "administrator of example.org should set up DKIM, SPF and DMARC."
    )
    assert lookup.asked == []  # nothing signed, no key to look up
    # SPF for the given MAIL FROM has no client address to judge (an upload); DMARC walks
    # the From domain's tree.
    assert [str(q) for q in lookup.questions] == ["_dmarc.example.org TXT", "_dmarc.org TXT"]
