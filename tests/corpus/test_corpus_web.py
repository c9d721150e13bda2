"""Corpus cases through the upload view and the API, each analysed as the web app does it
(stored byte for byte, the task run in-process after the commit, the report stored).

The analysis asks its keys of the case's zone (``DKIM2_KEY_LOOKUP`` points at
tests/corpus/lookup.py) and verifies with the real clock; the cases are signed on the corpus
clock an hour before now, so the outcome is the engine's.  A case the web side refuses
before storing it gives its exact status and sentence, and nothing is stored.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from dkim2web.accounts import services as account_services
from dkim2web.reports.models import Analysis

from . import catalogue, runner
from .conftest import corpus_params
from .lookup import DOTTED_PATH
from .model import Case, outcome_of_message_report

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus_zone(settings: Any) -> Any:
    """The web side's key lookup serves the zone the test puts in DKIM2WEB_CORPUS_ZONE."""
    settings.DKIM2_KEY_LOOKUP = DOTTED_PATH
    settings.DKIM2WEB_CORPUS_ZONE = {}
    return settings


def _analysed(analysis: Analysis, case: Case) -> list[str]:
    """What differs between the stored analysis and the case's expected outcome."""
    analysis.refresh_from_db()
    if analysis.status != Analysis.Status.DONE:
        return [f"analysis {analysis.status}: {analysis.error}"]
    run = analysis.runs.get()
    return outcome_of_message_report(run.report).problems(case.expect)


@pytest.mark.parametrize("case", corpus_params(catalogue.all_cases(), "upload"))
def test_the_upload_view_stores_and_analyses_or_refuses_exactly(
    case: Case,
    corpus_zone: Any,
    alice_client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    corpus_zone.DKIM2WEB_CORPUS_ZONE = case.zone
    request = case.upload
    assert case.revision == "auto", "the upload form judges by the newest revision only"
    mail_from = request.mail_from if request.mail_from is not None else case.mail_from or ""
    rcpt_to = request.rcpt_to if request.rcpt_to is not None else "\n".join(case.rcpt_to)
    data: dict[str, Any] = {"mail_from": mail_from, "rcpt_to": rcpt_to}
    if request.paste:
        data["raw_text"] = case.raw.decode("utf-8")
    else:
        data["files"] = [
            SimpleUploadedFile(request.filename, case.raw, "message/rfc822")
            for _ in range(request.files)
        ]

    def post() -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return alice_client.post(reverse("reports:new"), data)

    response = runner.timed(case, "upload", post)
    if request.refusal is not None:
        assert response.status_code == request.refusal.status
        form = response.context["form"]
        field_errors = [
            str(e) for name, errors in form.errors.items() if name != "__all__" for e in errors
        ]
        assert [*response.context["upload_errors"], *field_errors] == [request.refusal.message]
        assert not Analysis.objects.exists()
        return
    assert response.status_code == 302, list(response.context["upload_errors"])
    analyses = list(Analysis.objects.all())
    assert len(analyses) == request.files
    for analysis in analyses:
        assert analysis.raw_bytes == case.raw
        expected_name = (
            request.stored_filename if request.stored_filename is not None else request.filename
        )
        assert analysis.filename == ("" if request.paste else expected_name)
        assert _analysed(analysis, case) == []


@pytest.fixture
def api(alice: Any) -> Client:
    _, key = account_services.api_token_create(user=alice, name="corpus")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


@pytest.mark.parametrize("case", corpus_params(catalogue.all_cases(), "api"))
def test_the_api_stores_and_analyses_or_refuses_exactly(
    case: Case, corpus_zone: Any, api: Client, django_capture_on_commit_callbacks: Any
) -> None:
    corpus_zone.DKIM2WEB_CORPUS_ZONE = case.zone
    request = case.api
    params: list[tuple[str, str]] = []
    if case.mail_from is not None:
        params.append(("mail_from", case.mail_from))
        params += [("rcpt_to", r) for r in case.rcpt_to]
    if case.revision != "auto":
        params.append(("revision", case.revision))
    if request.filename is not None:
        params.append(("filename", request.filename))
    params += list(request.params)
    url = reverse("api:analyses")

    def post() -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            if request.body is not None:
                return api.post(url, data=request.body, content_type=request.content_type)
            if request.content_type == "multipart/form-data":
                fields: dict[str, Any] = {}
                for name, value in params:
                    fields.setdefault(name, []).append(value)
                if request.as_text_field:
                    fields["message"] = case.raw.decode("latin-1")
                elif request.files:
                    fields["message"] = [
                        SimpleUploadedFile("message.eml", case.raw) for _ in range(request.files)
                    ]
                return api.post(url, fields)
            query = ("?" + urlencode(params)) if params else ""
            return api.post(
                url + query,
                data=case.raw,
                content_type=request.content_type,
                # The test client drops an empty body's Content-Type; a real client sends it.
                **({"CONTENT_TYPE": request.content_type} if not case.raw else {}),
            )

    response = runner.timed(case, "api", post)
    if request.refusal is not None:
        assert (response.status_code, response.json()["error"]) == (
            request.refusal.status,
            {"code": request.refusal.code, "message": request.refusal.message},
        )
        assert not Analysis.objects.exists()
        return
    assert response.status_code == 201, response.content
    analysis = Analysis.objects.get(pk=response.json()["id"])
    assert analysis.raw_bytes == case.raw
    if request.stored_filename is not None:
        assert analysis.filename == request.stored_filename
    assert analysis.revision == case.revision
    assert _analysed(analysis, case) == []
