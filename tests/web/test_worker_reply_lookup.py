"""The intake's finished-analysis hook looks for a delivery awaiting its answer only when the
analysis came in over SMTP: an upload's end costs no query about deliveries."""

from __future__ import annotations

from typing import Any

import pytest

from dkim2web.intake import services as intake_services
from dkim2web.reports import services
from dkim2web.reports.models import Analysis

MESSAGE = b"From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n"


@pytest.fixture
def looked_up(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The analysis ids the hook asks about; the engine is a stub answering "pass"."""
    asked: list[str] = []

    def awaiting(*, analysis_id: Any) -> None:
        asked.append(str(analysis_id))
        return None

    monkeypatch.setattr(intake_services, "delivery_awaiting_reply", awaiting)
    monkeypatch.setattr(
        services,
        "_run_engine",
        lambda analysis, **_: services.EngineOutcome("pass", {"schema_version": 2}, "9", "d"),
    )
    return asked


@pytest.mark.django_db
def test_only_an_analysis_that_came_in_over_smtp_is_looked_up(
    looked_up: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    upload = services.analysis_submit(raw=MESSAGE, enqueue=False)
    given = services.analysis_submit(raw=MESSAGE, mail_from="<a@example.org>", enqueue=False)
    received = services.analysis_submit(
        raw=MESSAGE, mail_from="<a@example.org>", envelope_source="smtp", enqueue=False
    )
    assert (upload.envelope_source, given.envelope_source) == ("none", "user")
    with django_capture_on_commit_callbacks(execute=True):
        for analysis in (upload, given, received):
            assert services.analysis_run(analysis_id=analysis.pk) is not None
    assert looked_up == [str(received.pk)]


@pytest.mark.django_db
def test_a_failure_recorded_without_the_source_is_still_looked_up(
    looked_up: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    # The task's own failure path (analysis_fail) does not read the row: the hook asks.
    upload = services.analysis_submit(raw=MESSAGE, enqueue=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.analysis_fail(analysis_id=upload.pk, reason="gave up") is True
    assert looked_up == [str(upload.pk)]
    assert Analysis.objects.get(pk=upload.pk).status == Analysis.Status.FAILED


@pytest.mark.django_db
def test_no_lookup_at_all_when_the_intake_does_not_answer(
    looked_up: list[str], settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.DKIM2WEB_INTAKE_REPLY = False
    received = services.analysis_submit(
        raw=MESSAGE, mail_from="<a@example.org>", envelope_source="smtp", enqueue=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.analysis_run(analysis_id=received.pk)
    assert looked_up == []
