"""Uploads that cannot be analysed are refused with a clear message and nothing is stored;
input that is odd but might be a message is stored, analysed and explained."""

from __future__ import annotations

import html
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse

from dkim2web.reports.models import Analysis

PLAIN = b"From: x@example.org\r\nSubject: hi\r\n\r\nbody\r\n"


def eml(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def errors(response: Any) -> list[str]:
    return list(response.context["upload_errors"])


@pytest.mark.django_db
def test_a_message_over_25_mb_is_refused_with_413(alice_client: Client) -> None:
    big = PLAIN + b"x" * (25 * 1024 * 1024 + 1 - len(PLAIN))
    response = alice_client.post(reverse("reports:new"), {"files": eml("big.eml", big)})
    assert response.status_code == 413
    assert errors(response) == [
        "big.eml is 25.0 MB (26214401 bytes); the limit is 25.0 MB (26214400 bytes) per "
        "message. Nothing was stored."
    ]
    assert html.escape(errors(response)[0], quote=True) in response.content.decode()
    assert Analysis.objects.count() == 0


@pytest.mark.django_db
@override_settings(DKIM2WEB_MAX_MESSAGE_BYTES=64)
def test_one_file_too_large_stores_none_of_the_others(alice_client: Client) -> None:
    response = alice_client.post(
        reverse("reports:new"),
        {"files": [eml("ok.eml", PLAIN), eml("large.eml", PLAIN + b"y" * 64)]},
    )
    assert response.status_code == 413
    assert errors(response) == [
        "large.eml is 106 bytes; the limit is 64 bytes per message. Nothing was stored."
    ]
    assert Analysis.objects.count() == 0


@pytest.mark.django_db
@override_settings(DKIM2WEB_MAX_MESSAGE_BYTES=64)
def test_pasted_source_over_the_limit_is_refused_with_413(alice_client: Client) -> None:
    text = "Subject: é\r\n\r\n" + "z" * 60
    response = alice_client.post(reverse("reports:new"), {"raw_text": text})
    assert response.status_code == 413
    assert errors(response) == [
        "The pasted source is 75 bytes; the limit is 64 bytes per message. Nothing was stored."
    ]
    assert Analysis.objects.count() == 0


@pytest.mark.django_db
@override_settings(DKIM2WEB_MAX_FILES_PER_UPLOAD=2)
def test_too_many_files_are_refused(alice_client: Client) -> None:
    files = [eml(f"{k}.eml", PLAIN) for k in range(3)]
    response = alice_client.post(reverse("reports:new"), {"files": files})
    assert response.status_code == 400
    assert errors(response) == [
        "3 messages were sent; at most 2 can be analysed at once. Nothing was stored: upload "
        "them in smaller groups."
    ]
    assert Analysis.objects.count() == 0


@pytest.mark.django_db
@override_settings(DKIM2WEB_MAX_FILES_PER_UPLOAD=2)
def test_a_paste_counts_as_one_more_message(alice_client: Client) -> None:
    files = [eml(f"{k}.eml", PLAIN) for k in range(2)]
    response = alice_client.post(reverse("reports:new"), {"files": files, "raw_text": "A: b"})
    assert response.status_code == 400
    assert errors(response)[0].startswith("3 messages were sent; at most 2")


@pytest.mark.django_db
def test_a_few_files_over_the_cap_reach_the_form_and_get_its_message(alice_client: Client) -> None:
    files = [eml(f"{k}.eml", PLAIN) for k in range(21)]  # the cap is 20; Django allows 40
    response = alice_client.post(reverse("reports:new"), {"files": files})
    assert response.status_code == 400
    assert errors(response)[0].startswith("21 messages were sent; at most 20")
    assert Analysis.objects.count() == 0


@pytest.mark.django_db
def test_far_too_many_files_get_the_refusal_page(alice_client: Client) -> None:
    files = [eml(f"{k}.eml", PLAIN) for k in range(41)]  # over DATA_UPLOAD_MAX_NUMBER_FILES
    response = alice_client.post(reverse("reports:new"), {"files": files})
    assert response.status_code == 400
    # The test client skips the CSRF middleware, so the view itself meets Django's refusal
    # and answers with the form; behind CSRF a browser gets templates/400.html.
    assert errors(response)[0].startswith("More than 40 files were sent; at most 20")
    assert Analysis.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("data", [{}, {"raw_text": ""}, {"raw_text": " \r\n \r\n"}])
def test_empty_input_asks_for_a_message(alice_client: Client, data: dict[str, str]) -> None:
    response = alice_client.post(reverse("reports:new"), data)
    assert response.status_code == 400
    assert errors(response) == ["Choose at least one .eml file or paste a message's raw source."]
    assert Analysis.objects.count() == 0


@pytest.mark.django_db
def test_an_empty_file_is_refused(alice_client: Client) -> None:
    response = alice_client.post(reverse("reports:new"), {"files": eml("empty.eml", b"")})
    assert response.status_code == 400
    assert errors(response) == ["empty.eml is empty: there is nothing to analyse."]
    assert Analysis.objects.count() == 0


REFUSED = [
    (
        "message.msg",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 200,
        "message.msg: This is an Outlook .msg file, not an e-mail message. Outlook's .msg "
        "format is a binary container that does not keep the message as it travelled",
    ),
    (
        "mails.zip",
        b"PK\x03\x04\x14\x00\x00\x00" + b"\x00" * 50,
        "mails.zip: This is a ZIP archive, not an e-mail message. Unpack the archive and "
        "upload the .eml files inside it",
    ),
    ("m.eml.gz", b"\x1f\x8b\x08\x00" + b"\x00" * 20, "m.eml.gz: This is a compressed (gzip)"),
    ("print.pdf", b"%PDF-1.7\n%...", "print.pdf: This is a PDF document, not an e-mail message."),
    ("image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image.png: This is a binary file"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "data", "start"), REFUSED)
def test_input_that_cannot_be_a_message_is_explained_and_not_stored(
    alice_client: Client, name: str, data: bytes, start: str
) -> None:
    response = alice_client.post(reverse("reports:new"), {"files": eml(name, data)})
    assert response.status_code == 400
    [error] = errors(response)
    assert error.startswith(start)
    assert error.endswith("Nothing was stored.")
    assert Analysis.objects.count() == 0


ODD_BUT_STORED = [
    (
        "box.mbox",
        b"From a@example.org Sat Nov 28 10:00:00 2026\nSubject: one\n\n1\n\n"
        b"From b@example.org Sat Nov 28 11:00:00 2026\nSubject: two\n\n2\n",
        "This looks like a mailbox file holding several messages.",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "data", "title"), ODD_BUT_STORED)
def test_odd_input_with_a_chance_is_stored_analysed_and_explained(
    alice_client: Client, name: str, data: bytes, title: str
) -> None:
    response = alice_client.post(reverse("reports:new"), {"files": eml(name, data)})
    analysis = Analysis.objects.get()
    assert response.status_code == 302
    assert analysis.raw_bytes == data
    body = alice_client.get(response["Location"]).content.decode()
    assert f'<div class="notice notice-warning"><strong>{title}</strong>' in body


@pytest.mark.django_db
def test_a_half_given_envelope_is_refused(alice_client: Client) -> None:
    response = alice_client.post(
        reverse("reports:new"), {"files": eml("a.eml", PLAIN), "rcpt_to": "<b@example.net>"}
    )
    assert response.status_code == 400
    assert errors(response) == [
        "Give both MAIL FROM and RCPT TO, or neither (write <> for a null MAIL FROM)."
    ]
    assert Analysis.objects.count() == 0


@pytest.mark.django_db
def test_a_mail_from_with_blanks_is_refused(alice_client: Client) -> None:
    response = alice_client.post(
        reverse("reports:new"),
        {"files": eml("a.eml", PLAIN), "mail_from": "a b@x", "rcpt_to": "c@example.net"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["mail_from"] == [
        "MAIL FROM is one address (use <> for a null sender); it has blanks in it."
    ]


@pytest.mark.django_db
def test_with_csrf_checks_too_many_files_still_store_nothing() -> None:
    # A browser's POST goes through the CSRF middleware, which reads the body before the
    # view: Django itself refuses more than DATA_UPLOAD_MAX_NUMBER_FILES files there.
    browser = Client(enforce_csrf_checks=True)
    browser.get(reverse("reports:new"))
    token = browser.cookies["csrftoken"].value
    files = [eml(f"{k}.eml", PLAIN) for k in range(21)]
    response = browser.post(reverse("reports:new"), {"files": files, "csrfmiddlewaretoken": token})
    assert response.status_code == 400
    assert Analysis.objects.count() == 0


@pytest.mark.django_db
@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=100)
def test_a_paste_larger_than_django_reads_is_refused_with_413(alice_client: Client) -> None:
    response = alice_client.post(reverse("reports:new"), {"raw_text": "A: b\r\n\r\n" + "c" * 200})
    assert response.status_code == 413
    assert errors(response) == [
        "The pasted source is larger than 25.0 MB, the limit per message. Nothing was stored."
    ]
    assert Analysis.objects.count() == 0
