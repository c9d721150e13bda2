"""GET /api/analyses (list), GET and DELETE /api/analyses/<id>, GET /api/raw/<id>."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from analysis.resolvers import StaticResolver
from dkim2web.accounts import services as account_services
from dkim2web.reports import services
from dkim2web.reports.models import Analysis, AnalysisRun

pytestmark = pytest.mark.django_db

MESSAGE = (
    b"From: carol@example.com\r\nTo: dave@example.net\r\nSubject: quarterly numbers\r\n"
    b"Message-ID: <q@example.com>\r\n\r\nSee attached.\r\n"
)


def api_for(user: Any) -> Client:
    _, key = account_services.api_token_create(user=user, name="t")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


@pytest.fixture
def alice_api(alice: Any) -> Client:
    return api_for(alice)


@pytest.fixture
def bob_api(bob: Any) -> Client:
    return api_for(bob)


def submit(owner: Any, raw: bytes = MESSAGE, **kwargs: Any) -> Analysis:
    return services.analysis_submit(raw=raw, owner=owner, enqueue=False, **kwargs)


def finish(analysis: Analysis) -> AnalysisRun:
    run = services.analysis_run(analysis_id=analysis.pk, lookup=StaticResolver({}))
    assert run is not None
    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.DONE, analysis.error
    return run


# --- list ---------------------------------------------------------------------------------


def test_the_list_has_only_the_token_owners_analyses_newest_first(
    alice_api: Client, alice: Any, bob: Any
) -> None:
    older = submit(alice, filename="older.eml")
    newer = submit(alice, filename="newer.eml")
    Analysis.objects.filter(pk=older.pk).update(created_at=newer.created_at - timedelta(hours=1))
    submit(bob, filename="bobs.eml")
    finish(newer)

    body = alice_api.get(reverse("api:analyses")).json()
    assert body["count"] == 2
    assert [item["id"] for item in body["results"]] == [str(newer.pk), str(older.pk)]
    first, second = body["results"]
    assert first["status"] == "done"
    assert first["result"] == "none"
    assert first["subject"] == "quarterly numbers"
    assert first["filename"] == "newer.eml"
    assert first["url"].endswith(reverse("api:analysis", args=[newer.pk]))
    assert first["html_url"].endswith(reverse("reports:detail", args=[newer.pk]))
    assert second["status"] == "queued"
    assert second["result"] is None
    assert second["subject"] is None


def test_the_list_is_paginated(alice_api: Client, alice: Any, settings: Any) -> None:
    settings.DKIM2WEB_API_PAGE_SIZE = 2
    for _ in range(5):
        submit(alice)
    url = reverse("api:analyses")

    first = alice_api.get(url).json()
    assert (first["count"], first["page"], first["pages"], first["page_size"]) == (5, 1, 3, 2)
    assert len(first["results"]) == 2
    assert first["previous"] is None
    assert first["next"] == f"http://testserver{url}?page=2"

    last = alice_api.get(url, {"page": 3}).json()
    assert len(last["results"]) == 1
    assert last["next"] is None
    assert last["previous"] == f"http://testserver{url}?page=2"

    seen = {
        item["id"]
        for page in (1, 2, 3)
        for item in alice_api.get(url, {"page": page}).json()["results"]
    }
    assert len(seen) == 5


def test_an_empty_list_is_one_empty_page(alice_api: Client) -> None:
    body = alice_api.get(reverse("api:analyses")).json()
    assert (body["count"], body["page"], body["pages"], body["results"]) == (0, 1, 1, [])


@pytest.mark.parametrize("page", ["0", "-1", "x", "1.5", ""])
def test_a_bad_page_is_400(alice_api: Client, page: str) -> None:
    response = alice_api.get(reverse("api:analyses"), {"page": page})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_page"


def test_a_page_past_the_end_is_404(alice_api: Client, alice: Any) -> None:
    submit(alice)
    response = alice_api.get(reverse("api:analyses"), {"page": 2})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "page_not_found"


# --- detail -------------------------------------------------------------------------------


def test_a_queued_analysis_has_a_status_and_no_report(alice_api: Client, alice: Any) -> None:
    analysis = submit(alice, filename="q.eml", mail_from="carol@example.com", rcpt_to=["d@x"])
    response = alice_api.get(reverse("api:analysis", args=[analysis.pk]))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(analysis.pk)
    assert body["status"] == "queued"
    assert body["result"] is None
    assert body["report"] is None
    assert body["run"] is None
    assert body["runs"] == []
    assert body["finished_at"] is None
    assert body["error"] is None
    assert body["filename"] == "q.eml"
    assert body["size"] == len(MESSAGE)
    assert body["sha256"] == analysis.sha256
    assert body["envelope"] == {
        "mail_from": "carol@example.com",
        "rcpt_to": ["d@x"],
        "source": "user",
    }
    assert body["links"] == {
        "html": body["html_url"],
        "raw": f"http://testserver{reverse('api:raw', args=[analysis.pk])}",
        "json": body["url"],
    }


def test_a_done_analysis_carries_the_engines_report_unchanged(
    alice_api: Client, alice: Any
) -> None:
    analysis = submit(alice)
    run = finish(analysis)
    body = alice_api.get(reverse("api:analysis", args=[analysis.pk])).json()
    assert body["status"] == "done"
    assert body["result"] == run.result == "none"
    assert body["report"] == run.report  # what `dkim2 verify --json` prints
    assert body["report"]["message"]["subject"] == "quarterly numbers"
    assert body["run"]["id"] == run.pk
    assert body["run"]["engine_version"] == run.engine_version
    assert body["runs"] == []
    assert body["finished_at"] is not None


def test_earlier_runs_are_listed_newest_first(alice_api: Client, alice: Any) -> None:
    analysis = submit(alice)
    first = finish(analysis)
    assert services.analysis_rerun(analysis=analysis)
    second = finish(analysis)
    assert services.analysis_rerun(analysis=analysis)
    third = finish(analysis)
    AnalysisRun.objects.filter(pk=first.pk).update(created_at=third.created_at - timedelta(2))
    AnalysisRun.objects.filter(pk=second.pk).update(created_at=third.created_at - timedelta(1))

    body = alice_api.get(reverse("api:analysis", args=[analysis.pk])).json()
    assert body["run"]["id"] == third.pk
    assert [r["id"] for r in body["runs"]] == [second.pk, first.pk]
    assert set(body["runs"][0]) == {
        "id",
        "created_at",
        "result",
        "engine_version",
        "draft",
        "revision",
    }

    # While a re-run waits, no report is shown and every finished run is listed.
    assert services.analysis_rerun(analysis=analysis)
    body = alice_api.get(reverse("api:analysis", args=[analysis.pk])).json()
    assert body["status"] == "queued"
    assert body["report"] is None
    assert body["result"] == third.result
    assert [r["id"] for r in body["runs"]] == [third.pk, second.pk, first.pk]


def test_a_failed_analysis_says_why(alice_api: Client, alice: Any) -> None:
    analysis = submit(alice)
    Analysis.objects.filter(pk=analysis.pk).update(
        status=Analysis.Status.FAILED, error="ValueError: not a message"
    )
    body = alice_api.get(reverse("api:analysis", args=[analysis.pk])).json()
    assert body["status"] == "failed"
    assert body["error"] == "ValueError: not a message"
    assert body["report"] is None


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "123", str(uuid.uuid4())])
def test_a_malformed_or_unknown_id_is_404(alice_api: Client, bad_id: str) -> None:
    for name in ("api:analysis", "api:raw"):
        response = alice_api.get(reverse(name, args=[bad_id]))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    response = alice_api.delete(reverse("api:analysis", args=[bad_id]))
    assert response.status_code == 404


# --- raw ----------------------------------------------------------------------------------


def test_the_raw_message_comes_back_byte_for_byte(alice_api: Client, alice: Any) -> None:
    raw = MESSAGE + b"caf\xe9 \r\n"
    analysis = submit(alice, raw=raw, filename="case 9.eml")
    response = alice_api.get(reverse("api:raw", args=[analysis.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "message/rfc822"
    assert response.content == raw
    assert response["Content-Disposition"] == 'attachment; filename="case 9.eml"'


# --- delete -------------------------------------------------------------------------------


def test_delete_removes_the_analysis_and_its_runs(alice_api: Client, alice: Any) -> None:
    analysis = submit(alice)
    finish(analysis)
    response = alice_api.delete(reverse("api:analysis", args=[analysis.pk]))
    assert response.status_code == 204
    assert response.content == b""
    assert not Analysis.objects.filter(pk=analysis.pk).exists()
    assert not AnalysisRun.objects.filter(analysis_id=analysis.pk).exists()
    assert alice_api.get(reverse("api:analysis", args=[analysis.pk])).status_code == 404
    assert alice_api.delete(reverse("api:analysis", args=[analysis.pk])).status_code == 404


# --- another user's token -----------------------------------------------------------------


def test_another_users_token_gets_404_everywhere(bob_api: Client, alice: Any) -> None:
    analysis = submit(alice)
    finish(analysis)
    for response in (
        bob_api.get(reverse("api:analysis", args=[analysis.pk])),
        bob_api.get(reverse("api:raw", args=[analysis.pk])),
        bob_api.delete(reverse("api:analysis", args=[analysis.pk])),
    ):
        assert response.status_code == 404
        assert response.json() == {"error": {"code": "not_found", "message": "No such analysis."}}
    assert Analysis.objects.filter(pk=analysis.pk).exists()
    assert bob_api.get(reverse("api:analyses")).json()["count"] == 0


def test_an_ownerless_analysis_is_nobodys_through_the_api(alice_api: Client) -> None:
    analysis = submit(None)
    assert alice_api.get(reverse("api:analysis", args=[analysis.pk])).status_code == 404
