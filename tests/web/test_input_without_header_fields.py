"""Input with no header fields (a text file, a pasted paragraph, an HTML page) is no message:
the upload form and the API refuse it, saying what was checked, what was found and what to
do, and the mailbox answers 550 5.6.0. Nothing is stored on any path."""

from __future__ import annotations

import smtplib
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from dkim2web.accounts import services as accounts
from dkim2web.api.schema import SCHEMA
from dkim2web.intake import services as intake
from dkim2web.intake.models import Delivery
from dkim2web.intake.testing import message, running_intake
from dkim2web.reports.models import Analysis

CHECKED = (
    "An e-mail message starts with header fields, one per line, each a name, a colon and a "
    "value (From: …, Subject: …, Received: …), then an empty line, then the body; every "
    "message has a From: field."
)
ADVICE = (
    "Upload the message's source instead: in Gmail, \"Show original\" in the message's ⋮ "
    'menu, then "Download original"; in Outlook on the web, the … menu, View, "View message '
    'source"; in Thunderbird, File, Save As, File (an .eml file); in Apple Mail, View, '
    'Message, "Raw Source".'
)
TITLE = "This is not an e-mail message: it has no header fields."
BODY_TXT = b"Hi Bob,\r\n\r\nsee you on Friday.\r\n"
HI_BOB = '"Hi Bob,", is not a header field, and no From: field comes before the first empty line.'


def refusal(found: str) -> str:
    return f"{TITLE} {CHECKED} {found} {ADVICE}"


def upload_errors(response: Any) -> list[str]:
    return list(response.context["upload_errors"])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "data", "found"),
    [
        ("body.txt", BODY_TXT, f"Its first line, {HI_BOB}"),
        (
            "page.html",
            b"<!DOCTYPE html>\n<html><body>Inbox - Webmail</body></html>\n",
            'Its first line, "<!DOCTYPE html>", is not a header field and no From: field comes '
            "before the first empty line: this looks like an HTML page (a web-mail page saved "
            "from the browser, or the HTML part of a message on its own).",
        ),
        (
            "blank-first.eml",
            b"\r\nFrom: a@example.org\r\n\r\nbody\r\n",
            "This input starts with an empty line, so it has no header fields at all (if the "
            "header fields come further down, remove the empty lines above them).",
        ),
        (
            "indented.eml",
            b"  From: a@example.org\r\n\r\nbody\r\n",
            'Its first line, "  From: a@example.org", starts with a blank: it would continue '
            "a header field, but there is none before it; and no From: field comes before the "
            "first empty line.",
        ),
        (
            "long.txt",
            b"This paragraph is a lot longer than the sixty characters quoted of it.\n",
            'Its first line, "This paragraph is a lot longer than the sixty characters quo…", '
            "is not a header field, and no From: field comes before the first empty line.",
        ),
    ],
)
def test_a_file_without_header_fields_is_refused_and_explained(
    alice_client: Client, name: str, data: bytes, found: str
) -> None:
    response = alice_client.post(reverse("reports:new"), {"files": SimpleUploadedFile(name, data)})
    assert response.status_code == 400
    assert upload_errors(response) == [f"{name}: {refusal(found)} Nothing was stored."]
    assert not Analysis.objects.exists()


@pytest.mark.django_db
def test_a_pasted_paragraph_is_refused_and_the_page_says_why(client: Client) -> None:
    response = client.post(
        reverse("reports:new"), {"raw_text": "Dear Bob:\r\nthe meeting is at ten.\r\n"}
    )
    assert response.status_code == 400
    expected = (
        "The pasted source: "
        + refusal(
            'Its first line, "Dear Bob:", is not a header field, and no From: field comes '
            "before the first empty line."
        )
        + " Nothing was stored."
    )
    assert upload_errors(response) == [expected]
    body = response.content.decode()
    assert "<li>The pasted source: This is not an e-mail message: it has no header" in body
    assert not Analysis.objects.exists()


@pytest.mark.django_db
def test_one_file_without_a_header_stores_none_of_the_others(alice_client: Client) -> None:
    response = alice_client.post(
        reverse("reports:new"),
        {
            "files": [
                SimpleUploadedFile("ok.eml", b"From: a@example.org\r\n\r\nhi\r\n"),
                SimpleUploadedFile("body.txt", BODY_TXT),
            ]
        },
    )
    assert response.status_code == 400
    assert [e.split(":", 1)[0] for e in upload_errors(response)] == ["body.txt"]
    assert not Analysis.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        b"\xef\xbb\xbfFrom: a@example.org\r\n\r\nbody\r\n",  # a byte order mark first
        b"From a@example.org Sat Nov 28 10:00:00 2026\nSubject: x\n\nbody\n",  # mbox line
        b"Agenda: one\r\nnot a field\r\n\r\nbody\r\n",  # a first field, then damage
        b"Not a field\r\nFrom: a@example.org\r\n\r\nbody\r\n",  # damage, then a From
        b"Subject: only a header",  # no body at all
    ],
)
def test_input_that_starts_with_a_header_field_is_stored(alice_client: Client, data: bytes) -> None:
    response = alice_client.post(
        reverse("reports:new"), {"files": SimpleUploadedFile("m.eml", data)}
    )
    assert response.status_code == 302
    assert Analysis.objects.get().raw_bytes == data


# -- the API ------------------------------------------------------------------------------------


@pytest.fixture
def api(alice: Any) -> Client:
    _, key = accounts.api_token_create(user=alice, name="t")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


@pytest.mark.django_db
def test_the_api_refuses_it_with_no_header_fields(api: Client) -> None:
    response = api.post(reverse("api:analyses"), data=BODY_TXT, content_type="message/rfc822")
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "no_header_fields",
            "message": refusal(f"Its first line, {HI_BOB}"),
        }
    }
    assert not Analysis.objects.exists()


@pytest.mark.django_db
def test_the_api_refuses_another_format_with_its_own_words(api: Client) -> None:
    response = api.post(
        reverse("api:analyses"),
        {"message": SimpleUploadedFile("print.pdf", b"%PDF-1.7\n%...\n")},
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "no_header_fields",
        "message": "This is a PDF document, not an e-mail message. A printed or exported "
        'message has lost its header fields. Save the original message ("Show original", '
        '"View source" or "Save as .eml") and upload that.',
    }


@pytest.mark.django_db
def test_the_api_still_takes_binary_octets_behind_a_header(api: Client) -> None:
    raw = b"From: a@example.org\r\nSubject: b\x00ell\r\n\r\ncaf\xe9 \x00\r\n"
    response = api.post(reverse("api:analyses"), data=raw, content_type="message/rfc822")
    assert response.status_code == 201
    assert Analysis.objects.get().raw_bytes == raw


def test_the_schema_lists_the_code() -> None:
    codes = SCHEMA["components"]["schemas"]["Error"]["properties"]["error"]["properties"]
    assert "no_header_fields" in codes["code"]["enum"]
    described = SCHEMA["paths"]["/api/analyses"]["post"]["responses"]["400"]["description"]
    assert described.startswith("empty_message, no_header_fields (not an e-mail message: its ")


# -- the mailbox --------------------------------------------------------------------------------

REPLY = (
    "5.6.0 Not an e-mail message: the data does not start with a header field and has no "
    "From: field; nothing was stored"
)


@pytest.mark.django_db(transaction=True)
def test_the_mailbox_answers_550_and_stores_nothing(alice: Any) -> None:
    address = intake.intake_address_get_or_create(user=alice).address
    raw = message(sender="alice@origin.example", to=address, subject="s", body="b\r\n")
    with (
        running_intake(inline_analysis=True) as server,
        smtplib.SMTP("127.0.0.1", server.port, timeout=30) as conn,
    ):
        with pytest.raises(smtplib.SMTPDataError) as refused:
            conn.sendmail("alice@origin.example", [address], BODY_TXT)
        # The session goes on: a real message is taken.
        assert conn.sendmail("alice@origin.example", [address], raw) == {}
    assert (refused.value.smtp_code, refused.value.smtp_error.decode()) == (550, REPLY)
    assert Delivery.objects.count() == 1
    assert [a.raw_bytes for a in Analysis.objects.all()] == [raw]


@pytest.mark.django_db(transaction=True)
def test_lmtp_answers_550_for_each_recipient(alice: Any, bob: Any) -> None:
    addresses = [intake.intake_address_get_or_create(user=user).address for user in (alice, bob)]
    with (
        running_intake(lmtp=True, inline_analysis=True) as server,
        smtplib.LMTP("127.0.0.1", server.port, timeout=30) as conn,
    ):
        conn.ehlo("mx.example")
        conn.mail("alice@origin.example")
        for rcpt in addresses:
            assert conn.rcpt(rcpt)[0] == 250
        first = conn.data(BODY_TXT)
        second = conn.getreply()
    assert [(code, text.decode()) for code, text in (first, second)] == [
        (550, f"5.6.0 <{rcpt}> {REPLY.removeprefix('5.6.0 ')}") for rcpt in addresses
    ]
    assert not Delivery.objects.exists()
    assert not Analysis.objects.exists()
