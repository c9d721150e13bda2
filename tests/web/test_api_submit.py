"""POST /api/analyses: the raw message as the body or as the multipart file "message"."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from dkim2web.accounts import services
from dkim2web.reports.models import Analysis

pytestmark = pytest.mark.django_db

# Bytes a re-serialiser would change: folded header, bare LF, trailing spaces, non-UTF-8.
MESSAGE = (
    b"From: carol@example.com\r\nSubject: folded\r\n\tline  \r\nX-Raw: caf\xe9\r\n"
    b"\r\nbody with bare\nLF   \r\n"
)


@pytest.fixture
def api(alice: Any) -> Client:
    _, key = services.api_token_create(user=alice, name="t")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def error_code(response: Any) -> str:
    return response.json()["error"]["code"]


@pytest.mark.parametrize("content_type", ["message/rfc822", "application/octet-stream"])
def test_a_raw_body_is_stored_byte_for_byte(api: Client, alice: Any, content_type: str) -> None:
    response = api.post(reverse("api:analyses"), data=MESSAGE, content_type=content_type)
    assert response.status_code == 201
    body = response.json()
    analysis = Analysis.objects.get(pk=body["id"])
    assert analysis.owner == alice
    assert analysis.raw_bytes == MESSAGE
    assert analysis.sha256 == hashlib.sha256(MESSAGE).hexdigest()
    assert analysis.envelope_source == Analysis.EnvelopeSource.NONE
    assert body["status"] == "queued"
    assert body["url"] == f"http://testserver{reverse('api:analysis', args=[analysis.pk])}"
    assert body["html_url"] == f"http://testserver{reverse('reports:detail', args=[analysis.pk])}"
    assert response["Location"] == body["url"]
    assert set(body) == {"id", "url", "html_url", "status", "revision"}
    assert body["revision"] == "auto"


def test_a_content_type_with_parameters_is_accepted(api: Client) -> None:
    response = api.post(
        reverse("api:analyses"), data=MESSAGE, content_type="Message/RFC822; x-source=mbox"
    )
    assert response.status_code == 201


def test_the_envelope_comes_from_query_parameters(api: Client) -> None:
    url = reverse("api:analyses") + (
        "?mail_from=%3Ccarol%40example.com%3E&rcpt_to=dave%40example.net"
        "&rcpt_to=erin%40example.net&filename=in.eml"
    )
    response = api.post(url, data=MESSAGE, content_type="message/rfc822")
    assert response.status_code == 201
    analysis = Analysis.objects.get(pk=response.json()["id"])
    assert analysis.mail_from == "<carol@example.com>"
    assert analysis.rcpt_to == ["dave@example.net", "erin@example.net"]
    assert analysis.envelope_source == Analysis.EnvelopeSource.USER
    assert analysis.filename == "in.eml"


def test_a_multipart_file_is_stored_byte_for_byte_with_its_envelope(
    api: Client, alice: Any
) -> None:
    response = api.post(
        reverse("api:analyses"),
        {
            "message": SimpleUploadedFile("case 17.eml", MESSAGE, "message/rfc822"),
            "mail_from": "carol@example.com",
            "rcpt_to": ["dave@example.net", "erin@example.net"],
        },
    )
    assert response.status_code == 201, response.content
    analysis = Analysis.objects.get(pk=response.json()["id"])
    assert analysis.owner == alice
    assert analysis.raw_bytes == MESSAGE
    assert analysis.filename == "case 17.eml"
    assert analysis.mail_from == "carol@example.com"
    assert analysis.rcpt_to == ["dave@example.net", "erin@example.net"]
    assert analysis.envelope_source == Analysis.EnvelopeSource.USER


def test_a_multipart_upload_may_take_its_envelope_from_the_query(api: Client) -> None:
    response = api.post(
        reverse("api:analyses") + "?mail_from=a%40x.example&rcpt_to=b%40y.example",
        {"message": SimpleUploadedFile("m.eml", MESSAGE)},
    )
    assert response.status_code == 201
    analysis = Analysis.objects.get(pk=response.json()["id"])
    assert (analysis.mail_from, analysis.rcpt_to) == ("a@x.example", ["b@y.example"])


def test_the_upload_is_run_after_the_commit(
    api: Client, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dkim2web.reports import services as report_services

    runs: list[str] = []
    monkeypatch.setattr(
        report_services, "analysis_run", lambda *, analysis_id, **_: runs.append(analysis_id)
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(reverse("api:analyses"), data=MESSAGE, content_type="message/rfc822")
    # Tests have no broker, so the task runs in-process once the row is committed.
    assert runs == [response.json()["id"]]


def test_an_empty_body_is_400(api: Client) -> None:
    # The test client drops Content-Type for an empty body; a real client sends it.
    response = api.post(
        reverse("api:analyses"),
        data=b"",
        content_type="message/rfc822",
        CONTENT_TYPE="message/rfc822",
    )
    assert response.status_code == 400
    assert error_code(response) == "empty_message"
    assert not Analysis.objects.exists()


def test_an_empty_file_is_400(api: Client) -> None:
    response = api.post(reverse("api:analyses"), {"message": SimpleUploadedFile("m.eml", b"")})
    assert response.status_code == 400
    assert error_code(response) == "empty_message"


def test_multipart_without_a_message_is_400(api: Client) -> None:
    response = api.post(reverse("api:analyses"), {"mail_from": "a@x.example"})
    assert response.status_code == 400
    assert error_code(response) == "missing_message"


def test_a_message_sent_as_a_text_field_is_400(api: Client) -> None:
    # Django decodes text fields, so their bytes would not be the bytes that were signed.
    response = api.post(reverse("api:analyses"), {"message": MESSAGE.decode("latin-1")})
    assert response.status_code == 400
    assert error_code(response) == "message_not_a_file"


def test_two_messages_are_400(api: Client) -> None:
    response = api.post(
        reverse("api:analyses"),
        {"message": [SimpleUploadedFile("a.eml", MESSAGE), SimpleUploadedFile("b.eml", MESSAGE)]},
    )
    assert response.status_code == 400
    assert error_code(response) == "too_many_messages"
    assert not Analysis.objects.exists()


def test_an_unsupported_content_type_is_415(api: Client) -> None:
    response = api.post(reverse("api:analyses"), data=MESSAGE, content_type="text/plain")
    assert response.status_code == 415
    assert error_code(response) == "unsupported_media_type"
    # curl --data-binary sends this one by default; say what to send instead.
    response = api.post(
        reverse("api:analyses"),
        data=MESSAGE,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 415
    assert "message/rfc822" in response.json()["error"]["message"]


@pytest.mark.parametrize("size", [1000, 1001])
def test_the_size_limit_is_inclusive(api: Client, settings: Any, size: int) -> None:
    settings.DKIM2WEB_MAX_MESSAGE_BYTES = 1000
    body = b"Subject: x\r\n\r\n" + b"a" * (size - 14)
    assert len(body) == size
    response = api.post(reverse("api:analyses"), data=body, content_type="message/rfc822")
    if size == 1000:
        assert response.status_code == 201
    else:
        assert response.status_code == 413
        assert error_code(response) == "message_too_large"
        assert "1000 bytes" in response.json()["error"]["message"]


def test_a_too_large_multipart_file_is_413(api: Client, settings: Any) -> None:
    settings.DKIM2WEB_MAX_MESSAGE_BYTES = 1000
    response = api.post(
        reverse("api:analyses"),
        {"message": SimpleUploadedFile("m.eml", b"Subject: x\r\n\r\n" + b"a" * 2000)},
    )
    assert response.status_code == 413
    assert error_code(response) == "message_too_large"
    assert not Analysis.objects.exists()


def test_a_body_beyond_djangos_own_limit_is_413_not_400(api: Client, settings: Any) -> None:
    settings.DKIM2WEB_MAX_MESSAGE_BYTES = 10_000
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post(
        reverse("api:analyses"), data=b"a" * 5000, content_type="application/octet-stream"
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    "query",
    [
        "?mail_from=a%0D%0Ab",
        "?rcpt_to=a%0Ab",
        "?rcpt_to=" + "a" * 999,
        "?" + "&".join(f"rcpt_to=r{i}%40x.example" for i in range(101)),
    ],
)
def test_an_unusable_envelope_is_400(api: Client, query: str) -> None:
    response = api.post(
        reverse("api:analyses") + query, data=MESSAGE, content_type="message/rfc822"
    )
    assert response.status_code == 400
    assert error_code(response) == "invalid_envelope"
    assert not Analysis.objects.exists()


def test_a_path_in_the_filename_is_dropped(api: Client) -> None:
    response = api.post(
        reverse("api:analyses") + "?filename=..%2F..%2Fetc%2Fpasswd",
        data=MESSAGE,
        content_type="message/rfc822",
    )
    assert Analysis.objects.get(pk=response.json()["id"]).filename == "passwd"
