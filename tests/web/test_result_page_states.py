"""The result page while an analysis is queued, running, done or failed, and the progress partial
that static/reports/progress.js polls."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dkim2web.reports import services
from dkim2web.reports.models import Analysis, AnalysisRun

MESSAGE = b"From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n"


def stored(owner: Any, **changes: Any) -> Analysis:
    analysis = services.analysis_submit(raw=MESSAGE, filename="hi.eml", owner=owner, enqueue=False)
    if changes:
        Analysis.objects.filter(pk=analysis.pk).update(**changes)
        analysis.refresh_from_db()
    return analysis


def add_run(analysis: Analysis, result: str, summary: str, **fields: Any) -> AnalysisRun:
    report = {"schema_version": 1, "result": result, "summary": summary, "hops": [], **fields}
    return AnalysisRun.objects.create(
        analysis=analysis, result=result, report=report, engine_version="0.1.0", draft="d-06"
    )


@pytest.mark.django_db
def test_a_queued_analysis_shows_the_progress_partial_and_the_poller(
    alice: Any, alice_client: Client
) -> None:
    analysis = stored(alice)
    response = alice_client.get(reverse("reports:detail", args=[analysis.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "reports/_status.html" in [t.name for t in response.templates]
    assert (
        f'<div class="progress progress-queued" id="analysis-status" data-status="queued" '
        f'data-status-url="{reverse("reports:status", args=[analysis.pk])}" role="status" '
        'aria-live="polite">'
    ) in body
    assert "<h1>Queued</h1>" in body
    assert '<script src="/static/reports/progress.js" defer></script>' in body
    # Without JavaScript: a plain link, never a meta refresh.
    assert f'<a href="{reverse("reports:detail", args=[analysis.pk])}">Refresh</a>' in body
    assert "http-equiv" not in body
    assert 'id="timeline"' not in body


@pytest.mark.django_db
def test_the_status_route_returns_only_the_partial(alice: Any, alice_client: Client) -> None:
    analysis = stored(alice, status=Analysis.Status.RUNNING, started_at=timezone.now())
    response = alice_client.get(reverse("reports:status", args=[analysis.pk]))
    assert response.status_code == 200
    assert [t.name for t in response.templates] == ["reports/_status.html"]
    assert response["Cache-Control"] == "no-store"
    body = response.content.decode()
    assert body.startswith('<div class="progress progress-running" id="analysis-status"')
    assert "<h1>Running</h1>" in body
    assert "<html" not in body


@pytest.mark.django_db
def test_the_partial_says_done_when_the_run_finished(alice: Any, alice_client: Client) -> None:
    analysis = stored(alice, status=Analysis.Status.DONE)
    add_run(analysis, "none", "None: the message carries no DKIM2 signature")
    body = alice_client.get(reverse("reports:status", args=[analysis.pk])).content.decode()
    assert 'data-status="done"' in body
    assert "Show the result</a>" in body


@pytest.mark.django_db
def test_a_running_analysis_shows_running(alice: Any, alice_client: Client) -> None:
    analysis = stored(alice, status=Analysis.Status.RUNNING, started_at=timezone.now())
    body = alice_client.get(reverse("reports:detail", args=[analysis.pk])).content.decode()
    assert 'data-status="running"' in body
    assert "<h1>Running</h1>" in body
    assert "progress.js" in body


@pytest.mark.django_db
def test_a_failed_analysis_says_why_and_offers_a_rerun(alice: Any, alice_client: Client) -> None:
    analysis = stored(
        alice, status=Analysis.Status.FAILED, error="RecursionError: <too deep> & more"
    )
    response = alice_client.get(reverse("reports:detail", args=[analysis.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert '<section class="verdict verdict-failed">' in body
    assert "<h1>The analysis could not be completed</h1>" in body
    assert '<p class="verdict-action">RecursionError: &lt;too deep&gt; &amp; more</p>' in body
    assert f'action="{reverse("reports:rerun", args=[analysis.pk])}"' in body
    assert "progress.js" not in body


@pytest.mark.django_db
def test_a_done_analysis_without_a_pass_names_the_one_action(
    alice: Any, alice_client: Client
) -> None:
    analysis = stored(alice, status=Analysis.Status.DONE)
    finding = {
        "code": "key.not-found",
        "state": "permerror",
        "severity": "error",
        "message": "PERMERROR: DKIM2-Signature i=1 public key ed1 not found",
        "step": 6,
        "hop": 1,
        "instance": None,
        "detail": "ed1._domainkey.example.com: NXDOMAIN",
        "spec": "S06 §11.5",
    }
    add_run(analysis, "permerror", "Permerror: key not found (1 hop)", findings=[finding])
    body = alice_client.get(reverse("reports:detail", args=[analysis.pk])).content.decode()
    # The catalogue's fix, its spec references left to the evidence lines under it.
    fix = (
        "The signing domain&#x27;s DNS administrator: publish the key at the name in the "
        "detail, and keep retired keys published for at least the 14-day signature lifetime; "
        "rotate by adding new selectors rather than deleting or reusing old ones."
    )
    assert '<section class="verdict verdict-permerror"' in body
    assert '<p class="verdict-label">Permanent error</p>' in body
    assert f'<p class="verdict-action"><strong>What to do:</strong> {fix}</p>' in body
    # A run stored before the verdict kept evidence: the advice's finding is its evidence.
    assert (
        '<p class="verdict-evidence">Evidence: <code>key.not-found</code> PERMERROR: '
        "DKIM2-Signature i=1 public key ed1 not found (hop 1)</p>"
    ) in body
    assert '<p class="verdict-spec">Spec: S06 §11.5</p>' in body
    assert '(<a href="#hop-1">hop 1</a>)' in body


@pytest.mark.django_db
def test_a_rerun_keeps_the_earlier_run_and_lists_both(
    alice: Any, alice_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    analysis = stored(alice, status=Analysis.Status.DONE)
    first = add_run(analysis, "temperror", "Temperror: key could not be fetched (1 hop)")
    with django_capture_on_commit_callbacks() as queued:  # captured, not run
        response = alice_client.post(reverse("reports:rerun", args=[analysis.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:detail", args=[analysis.pk])
    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.QUEUED
    assert len(queued) == 1  # the task is published after the commit

    # The worker finishes the second run.
    Analysis.objects.filter(pk=analysis.pk).update(status=Analysis.Status.DONE)
    second = add_run(analysis, "pass", "Pass: 1 hop verified")
    body = alice_client.get(reverse("reports:detail", args=[analysis.pk])).content.decode()
    assert 'id="verdict-summary" class="verdict-summary">Pass: 1 hop verified</h1>' in body
    runs = body[body.index('id="runs"') : body.index('id="downloads"')]
    assert runs.count('<span class="badge badge-pass">Pass</span>') == 1
    assert runs.count('<span class="badge badge-temperror">Temperror</span>') == 1
    assert f'href="{reverse("reports:detail", args=[analysis.pk])}?run={first.pk}"' in runs

    earlier = alice_client.get(reverse("reports:detail", args=[analysis.pk]), {"run": first.pk})
    text = earlier.content.decode()
    assert "Temperror: key could not be fetched (1 hop)" in text
    assert "This is an earlier run" in text
    assert f"{reverse('reports:report_json', args=[analysis.pk])}?run={first.pk}" in text
    assert second.pk != first.pk


@pytest.mark.django_db
def test_a_run_of_another_analysis_is_not_found(alice: Any, alice_client: Client) -> None:
    mine = stored(alice, status=Analysis.Status.DONE)
    add_run(mine, "pass", "Pass")
    other = add_run(stored(alice, status=Analysis.Status.DONE), "fail", "Fail")
    url = reverse("reports:detail", args=[mine.pk])
    assert alice_client.get(url, {"run": other.pk}).status_code == 404
    assert alice_client.get(url, {"run": "x"}).status_code == 404


@pytest.mark.django_db
def test_rerun_of_a_queued_analysis_queues_nothing_and_says_so(
    alice: Any, alice_client: Client
) -> None:
    analysis = stored(alice)
    response = alice_client.post(reverse("reports:rerun", args=[analysis.pk]), follow=True)
    assert "This analysis is already queued or running." in response.content.decode()


@pytest.mark.django_db
def test_rerun_needs_a_post(alice: Any, alice_client: Client) -> None:
    analysis = stored(alice, status=Analysis.Status.DONE)
    assert alice_client.get(reverse("reports:rerun", args=[analysis.pk])).status_code == 405
