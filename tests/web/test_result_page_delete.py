"""Deleting an analysis: a confirmation page, then a POST that removes the message and its runs."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from dkim2web.reports import services
from dkim2web.reports.models import Analysis, AnalysisRun


@pytest.fixture
def analysis(alice: Any) -> Analysis:
    stored = services.analysis_submit(
        raw=b"A: b\r\n\r\n", filename="gone.eml", owner=alice, enqueue=False
    )
    AnalysisRun.objects.create(
        analysis=stored, result="none", report={"result": "none"}, engine_version="0", draft="d"
    )
    return stored


@pytest.mark.django_db
def test_get_asks_for_confirmation_and_deletes_nothing(
    analysis: Analysis, alice_client: Client
) -> None:
    response = alice_client.get(reverse("reports:delete", args=[analysis.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<h1>Delete this analysis?</h1>" in body
    assert f'<form method="post" action="{reverse("reports:delete", args=[analysis.pk])}">' in body
    assert '<button type="submit" class="danger">Delete</button>' in body
    assert f'<a href="{reverse("reports:detail", args=[analysis.pk])}">Cancel</a>' in body
    assert Analysis.objects.filter(pk=analysis.pk).exists()


@pytest.mark.django_db
def test_post_deletes_the_message_and_every_run(analysis: Analysis, alice_client: Client) -> None:
    response = alice_client.post(reverse("reports:delete", args=[analysis.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:list")
    assert not Analysis.objects.filter(pk=analysis.pk).exists()
    assert not AnalysisRun.objects.exists()
    page = alice_client.get(response["Location"]).content.decode()
    assert "The analysis and its stored message were deleted." in page
    assert alice_client.get(reverse("reports:detail", args=[analysis.pk])).status_code == 404


@pytest.mark.django_db
def test_the_result_page_links_to_the_confirmation(
    analysis: Analysis, alice_client: Client
) -> None:
    body = alice_client.get(reverse("reports:detail", args=[analysis.pk])).content.decode()
    assert (
        f'<a href="{reverse("reports:delete", args=[analysis.pk])}">Delete this analysis…</a>'
        in body
    )
