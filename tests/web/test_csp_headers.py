"""Every response carries the Content-Security-Policy that forbids inline script, and the
pages need nothing it forbids."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from dkim2web.reports import services
from dkim2web.reports.models import Analysis, AnalysisRun
from dkim2web.security import DEFAULT_POLICY


def directives(policy: str) -> dict[str, list[str]]:
    out = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def test_the_policy_forbids_inline_script_and_style() -> None:
    policy = directives(DEFAULT_POLICY)
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]


@pytest.fixture
def done(alice: Any) -> Analysis:
    analysis = services.analysis_submit(raw=b"A: b\r\n\r\nc", owner=alice, enqueue=False)
    Analysis.objects.filter(pk=analysis.pk).update(status=Analysis.Status.DONE)
    AnalysisRun.objects.create(
        analysis=analysis,
        result="none",
        report={"result": "none", "summary": "None", "hops": []},
        engine_version="0",
        draft="d",
    )
    return analysis


@pytest.mark.django_db
def test_every_page_and_download_has_the_policy(
    done: Analysis, alice_client: Client, client: Client
) -> None:
    urls = [
        "/",
        reverse("reports:new"),
        reverse("reports:list"),
        reverse("reports:detail", args=[done.pk]),
        reverse("reports:status", args=[done.pk]),
        reverse("reports:delete", args=[done.pk]),
        reverse("reports:raw", args=[done.pk]),
        reverse("reports:instance", args=[done.pk, 1]),  # a 404 has it too
        reverse("reports:report_json", args=[done.pk]),
        reverse("reports:authres", args=[done.pk]),
    ]
    for url in urls:
        response = alice_client.get(url)
        assert response["Content-Security-Policy"] == DEFAULT_POLICY, url
        assert "script-src 'self'" in response["Content-Security-Policy"], url
        assert response["X-Content-Type-Options"] == "nosniff", url
    # A refused upload and a 404 for a stranger are covered as well.
    refused = alice_client.post(reverse("reports:new"), {})
    assert refused.status_code == 400
    assert refused["Content-Security-Policy"] == DEFAULT_POLICY
    stranger = client.get(reverse("reports:detail", args=[done.pk]))
    assert stranger.status_code == 404
    assert stranger["Content-Security-Policy"] == DEFAULT_POLICY
