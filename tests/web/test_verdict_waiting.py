"""The result page and the progress partial wait, within bounds, for an analysis to change its
status (dkim2web/reports/waiting.py), so the upload's redirect lands on the verdict and the
poller hears of a change when it happens.

The waits run on a clock of the test's own: each pause the view takes advances it, and the
"worker" finishes the analysis when the clock passes a given time. Nothing really waits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dkim2web.reports import selectors, services, waiting
from dkim2web.reports.models import Analysis, AnalysisRun

MESSAGE = b"From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n"
SUMMARY = "Pass: 1 hop verified"

pytestmark = pytest.mark.django_db


class Clock:
    """A monotonic clock that only the pauses of the code under test move forward."""

    def __init__(self) -> None:
        self.now = 0.0
        self.pauses: list[float] = []
        self.events: list[tuple[float, Callable[[], None]]] = []

    def at(self, when: float, event: Callable[[], None]) -> None:
        self.events.append((when, event))

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.pauses.append(round(seconds, 6))
        self.now += seconds
        due = [e for e in self.events if e[0] <= self.now]
        self.events = [e for e in self.events if e[0] > self.now]
        for _, event in due:
            event()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(waiting, "sleep", fake.sleep)
    monkeypatch.setattr(waiting, "monotonic", fake.monotonic)
    return fake


def stored(owner: Any, **changes: Any) -> Analysis:
    analysis = services.analysis_submit(raw=MESSAGE, filename="hi.eml", owner=owner, enqueue=False)
    if changes:
        Analysis.objects.filter(pk=analysis.pk).update(**changes)
        analysis.refresh_from_db()
    return analysis


def finish(analysis: Analysis) -> Callable[[], None]:
    """What a worker does when it stores the run: the status and the run together."""

    def event() -> None:
        Analysis.objects.filter(pk=analysis.pk).update(
            status=Analysis.Status.DONE, finished_at=timezone.now()
        )
        AnalysisRun.objects.create(
            analysis=analysis,
            result="pass",
            report={"schema_version": 1, "result": "pass", "summary": SUMMARY, "hops": []},
            engine_version="0.1.0",
            draft="d-06",
        )

    return event


def claim(analysis: Analysis) -> Callable[[], None]:
    def event() -> None:
        Analysis.objects.filter(pk=analysis.pk).update(
            status=Analysis.Status.RUNNING, started_at=timezone.now()
        )

    return event


def page(client: Client, analysis: Analysis) -> str:
    response = client.get(reverse("reports:detail", args=[analysis.pk]))
    assert response.status_code == 200
    return response.content.decode()


def partial(client: Client, analysis: Analysis, **query: str) -> str:
    response = client.get(reverse("reports:status", args=[analysis.pk]), query)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    return response.content.decode()


VERDICT_HEADLINE = f'<h1 id="verdict-summary" class="verdict-summary">{SUMMARY}</h1>'


# -- the result page ------------------------------------------------------------------------


def test_the_page_shows_the_verdict_stored_while_it_waited(
    alice: Any, alice_client: Client, clock: Clock, not_eager: None
) -> None:
    analysis = stored(alice)
    clock.at(0.025, finish(analysis))
    body = page(alice_client, analysis)
    assert VERDICT_HEADLINE in body
    assert 'id="analysis-status"' not in body
    assert "progress.js" not in body
    # The status was read every 10 ms, and no more once it said done.
    assert clock.pauses == [0.01, 0.01, 0.01]


def test_the_page_shows_the_progress_after_half_a_second_without_a_verdict(
    alice: Any, alice_client: Client, clock: Clock, not_eager: None
) -> None:
    analysis = stored(alice)
    body = page(alice_client, analysis)
    assert 'data-status="queued"' in body
    assert "<h1>Queued</h1>" in body
    assert "progress.js" in body
    assert "verdict-summary" not in body
    # Every 10 ms, then every 20 ms, then less and less often, for half a second in all.
    assert clock.pauses == [0.01] * 5 + [0.02] * 5 + [0.04, 0.08, 0.16, 0.07]
    assert clock.now == pytest.approx(waiting.PAGE_WAIT_SECONDS)


def test_the_page_says_running_when_a_worker_took_the_analysis_while_it_waited(
    alice: Any, alice_client: Client, clock: Clock, not_eager: None
) -> None:
    analysis = stored(alice)
    clock.at(0.1, claim(analysis))
    body = page(alice_client, analysis)
    assert 'data-status="running"' in body
    assert "<h1>Running</h1>" in body
    assert clock.now == pytest.approx(waiting.PAGE_WAIT_SECONDS)


def test_nothing_waits_when_tasks_run_in_process(
    alice: Any, alice_client: Client, clock: Clock
) -> None:
    # Without a broker the analysis ran before the upload was answered: one still queued is
    # not being worked on, and nobody will finish it during a wait.
    analysis = stored(alice)
    clock.at(0.0, finish(analysis))
    body = page(alice_client, analysis)
    assert 'data-status="queued"' in body
    assert clock.pauses == []


def test_a_page_does_not_wait_while_every_wait_of_its_process_is_taken(
    alice: Any, alice_client: Client, clock: Clock, not_eager: None
) -> None:
    analysis = stored(alice)
    clock.at(0.0, finish(analysis))
    taken = [waiting._waiters.acquire(blocking=False) for _ in range(waiting.WAITERS_PER_PROCESS)]
    try:
        assert taken == [True] * waiting.WAITERS_PER_PROCESS
        body = page(alice_client, analysis)
    finally:
        for _ in taken:
            waiting._waiters.release()
    assert 'data-status="queued"' in body
    assert clock.pauses == []
    # Freed again: the next page waits, and finds the verdict.
    assert VERDICT_HEADLINE in page(alice_client, analysis)


def test_a_finished_analysis_is_shown_at_once(
    alice: Any, alice_client: Client, clock: Clock, not_eager: None
) -> None:
    analysis = stored(alice)
    finish(analysis)()
    assert VERDICT_HEADLINE in page(alice_client, analysis)
    assert clock.pauses == []


def test_a_run_stored_after_the_status_was_read_is_shown_as_finished(
    alice: Any, alice_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worker stores the run (and the status "done") just after the page read the
    # status "running", just before it looks for the latest run.
    analysis = stored(alice, status=Analysis.Status.RUNNING, started_at=timezone.now())
    latest_run = selectors.analysis_latest_run
    calls: list[str] = []

    def worker_finishes_first(*, analysis: Analysis) -> AnalysisRun | None:
        if not calls:
            finish(analysis)()
        calls.append(analysis.status)
        return latest_run(analysis=analysis)

    monkeypatch.setattr(selectors, "analysis_latest_run", worker_finishes_first)
    body = page(alice_client, analysis)
    assert VERDICT_HEADLINE in body
    assert 'id="analysis-status"' not in body
    assert "progress.js" not in body
    assert "the previous run" not in body
    assert calls == ["running", "done"]


def test_an_earlier_run_shown_beside_a_rerun_in_progress_stays_so(
    alice: Any, alice_client: Client, not_eager: None, clock: Clock
) -> None:
    analysis = stored(alice)
    finish(analysis)()
    Analysis.objects.filter(pk=analysis.pk).update(status=Analysis.Status.QUEUED)
    body = page(alice_client, analysis)
    assert 'data-status="queued"' in body
    assert "Below: the previous run, shown until the new one finishes." in body
    assert f'<h2 id="verdict-summary" class="verdict-summary">{SUMMARY}</h2>' in body
    assert clock.now == pytest.approx(waiting.PAGE_WAIT_SECONDS)


# -- the progress partial -------------------------------------------------------------------


def test_the_partial_answers_when_the_status_shown_changes(
    alice: Any, alice_client: Client, clock: Clock, not_eager: None
) -> None:
    analysis = stored(alice)
    clock.at(0.045, claim(analysis))
    body = partial(alice_client, analysis, shown="queued")
    assert body.startswith('<div class="progress progress-running" id="analysis-status"')
    assert clock.pauses == [0.01] * 5


def test_the_partial_says_done_as_soon_as_the_run_is_stored(
    alice: Any, alice_client: Client, clock: Clock, not_eager: None
) -> None:
    analysis = stored(alice, status=Analysis.Status.RUNNING, started_at=timezone.now())
    clock.at(0.2, finish(analysis))
    body = partial(alice_client, analysis, shown="running")
    assert 'data-status="done"' in body
    assert "Show the result</a>" in body
    assert clock.pauses == [0.01] * 5 + [0.02] * 5 + [0.04, 0.08]


def test_the_partial_answers_at_once_when_the_page_shows_an_older_status(
    alice: Any, alice_client: Client, clock: Clock, not_eager: None
) -> None:
    analysis = stored(alice, status=Analysis.Status.RUNNING, started_at=timezone.now())
    body = partial(alice_client, analysis, shown="queued")
    assert 'data-status="running"' in body
    assert clock.pauses == []


def test_the_partial_answers_after_five_seconds_without_a_change(
    alice: Any, alice_client: Client, clock: Clock, not_eager: None
) -> None:
    analysis = stored(alice)
    body = partial(alice_client, analysis, shown="queued")
    assert 'data-status="queued"' in body
    assert clock.now == pytest.approx(waiting.STATUS_WAIT_SECONDS)
    # 23 looks at one column of one row in five seconds: 14 in the first 0.75 s, then one
    # each half second.
    assert clock.pauses == [0.01] * 5 + [0.02] * 5 + [0.04, 0.08, 0.16, 0.32] + [0.5] * 8 + [0.25]


@pytest.mark.parametrize("query", [{}, {"shown": "done"}, {"shown": "anything"}])
def test_the_partial_answers_at_once_unless_asked_about_a_status_in_progress(
    alice: Any, alice_client: Client, clock: Clock, not_eager: None, query: dict[str, str]
) -> None:
    analysis = stored(alice)
    body = partial(alice_client, analysis, **query)
    assert 'data-status="queued"' in body
    assert clock.pauses == []


def test_the_partial_of_another_users_analysis_is_not_found_without_waiting(
    alice: Any, bob: Any, clock: Clock, not_eager: None
) -> None:
    analysis = stored(alice)
    client = Client()
    client.force_login(bob)
    url = reverse("reports:status", args=[analysis.pk])
    assert client.get(url, {"shown": "queued"}).status_code == 404
    assert clock.pauses == []


def test_a_wait_ends_when_the_analysis_is_deleted(clock: Clock, not_eager: None) -> None:
    analysis = stored(None)
    clock.at(0.015, lambda: Analysis.objects.filter(pk=analysis.pk).delete())
    status = waiting.wait_while(
        analysis_id=analysis.pk, current="queued", statuses=waiting.IN_PROGRESS, seconds=5
    )
    assert status is None
    assert clock.pauses == [0.01, 0.01]


@pytest.fixture
def no_waits_left() -> Iterator[None]:
    taken = [waiting._waiters.acquire(blocking=False) for _ in range(waiting.WAITERS_PER_PROCESS)]
    yield
    for got in taken:
        if got:
            waiting._waiters.release()


def test_the_partial_answers_at_once_while_every_wait_is_taken(
    alice: Any, alice_client: Client, clock: Clock, not_eager: None, no_waits_left: None
) -> None:
    analysis = stored(alice)
    body = partial(alice_client, analysis, shown="queued")
    assert 'data-status="queued"' in body
    assert clock.pauses == []
