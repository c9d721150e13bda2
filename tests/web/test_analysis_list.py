"""The list of analyses: the user's own, newest first, with status and result, paginated."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dkim2web.reports import services
from dkim2web.reports.models import Analysis, AnalysisRun
from dkim2web.reports.selectors import ANON_SESSION_KEY


def make(owner: Any, name: str, *, minutes_ago: int, status: str = "queued") -> Analysis:
    analysis = services.analysis_submit(
        raw=name.encode(), filename=name, owner=owner, enqueue=False
    )
    Analysis.objects.filter(pk=analysis.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes_ago), status=status
    )
    return analysis


def run(analysis: Analysis, result: str, *, minutes_ago: int) -> None:
    AnalysisRun.objects.create(
        analysis=analysis,
        result=result,
        report={"result": result},
        engine_version="0",
        draft="d",
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


@pytest.mark.django_db
def test_the_list_shows_only_my_analyses_newest_first_with_badges(
    alice: Any, bob: Any, alice_client: Client
) -> None:
    old = make(alice, "old.eml", minutes_ago=30, status="done")
    run(old, "temperror", minutes_ago=29)
    run(old, "pass", minutes_ago=5)  # the re-run is what the list shows
    failed = make(alice, "failed.eml", minutes_ago=20, status="failed")
    new = make(alice, "new.eml", minutes_ago=1, status="running")
    make(bob, "bobs.eml", minutes_ago=0)

    response = alice_client.get(reverse("reports:list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<h1>Your analyses</h1>" in body
    assert "bobs.eml" not in body
    assert [a.pk for a in response.context["analyses"]] == [new.pk, failed.pk, old.pk]
    assert body.index("new.eml") < body.index("failed.eml") < body.index("old.eml")
    assert '<span class="badge status-running">Running</span>' in body
    assert '<span class="badge status-failed">Failed</span>' in body
    assert '<span class="badge status-done">Done</span>' in body
    assert '<span class="badge badge-pass">Pass</span>' in body
    assert "badge-temperror" not in body
    assert (
        f'<a href="{reverse("reports:detail", args=[old.pk])}" class="filename">old.eml</a>' in body
    )


@pytest.mark.django_db
def test_the_list_is_paginated_by_25(alice: Any, alice_client: Client) -> None:
    for k in range(30):
        make(alice, f"m{k:02}.eml", minutes_ago=k)
    first = alice_client.get(reverse("reports:list"))
    assert len(first.context["analyses"]) == 25
    assert "Page 1 of 2" in first.content.decode()
    assert '<a href="?page=2">Older →</a>' in first.content.decode()
    second = alice_client.get(reverse("reports:list"), {"page": 2})
    assert [a.filename for a in second.context["analyses"]] == [
        f"m{k:02}.eml" for k in range(25, 30)
    ]
    assert '<a href="?page=1">← Newer</a>' in second.content.decode()
    # A page out of range shows the last one rather than an error.
    assert alice_client.get(reverse("reports:list"), {"page": 99}).context["page"].number == 2


@pytest.mark.django_db
def test_an_empty_list_says_so(alice_client: Client) -> None:
    assert "No analyses yet." in alice_client.get(reverse("reports:list")).content.decode()


@pytest.mark.django_db
def test_a_logged_out_visitor_sees_only_this_sessions_analyses(alice: Any) -> None:
    make(alice, "alices.eml", minutes_ago=0)
    mine = make(None, "mine.eml", minutes_ago=1)
    make(None, "someone-elses.eml", minutes_ago=2)
    visitor = Client()
    session = visitor.session
    session[ANON_SESSION_KEY] = [str(mine.pk)]
    session.save()
    body = visitor.get(reverse("reports:list")).content.decode()
    assert "<h1>Analyses in this browser session</h1>" in body
    assert "mine.eml" in body
    assert "alices.eml" not in body
    assert "someone-elses.eml" not in body


@pytest.mark.django_db
def test_the_list_is_where_login_lands(settings: Any) -> None:
    assert settings.LOGIN_REDIRECT_URL == "reports:list"
    assert reverse("reports:list") == "/analyses/"
