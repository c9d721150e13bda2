"""Without JavaScript, "Guess the envelope" reads Return-Path / Delivered-To / X-Original-To
of a single message and fills the envelope in, marked as guesses; nothing is stored."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from dkim2web.reports.models import Analysis
from dkim2web.reports.presenters import header_hints

TRACED = (
    "Return-Path: <list-bounces@lists.example.org>\r\n"
    "Delivered-To: bob@example.net\r\n"
    "X-Original-To: bob+tag@example.net\r\n"
    "From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n"
)


@pytest.mark.django_db
def test_pasted_source_fills_the_envelope_with_guesses(client: Client) -> None:
    response = client.post(reverse("reports:new"), {"raw_text": TRACED, "action": "hints"})
    assert response.status_code == 200
    assert Analysis.objects.count() == 0
    form = response.context["form"]
    assert form.initial == {
        "raw_text": TRACED,
        "mail_from": "<list-bounces@lists.example.org>",
        "rcpt_to": "bob@example.net\nbob+tag@example.net",
    }
    body = response.content.decode()
    assert (
        '<p class="notice notice-guess">Filled in from the message\'s Return-Path, '
        "Delivered-To, X-Original-To fields. <strong>These are guesses</strong>"
    ) in body
    assert 'value="&lt;list-bounces@lists.example.org&gt;"' in body
    assert '<span class="badge badge-guess">guess from Return-Path</span>' in body
    assert '<span class="badge badge-guess">guess from Delivered-To</span>' in body
    # The pasted text comes back in the textarea, unchanged.
    assert "\nReturn-Path: &lt;list-bounces@lists.example.org&gt;\r\nDelivered-To:" in body


@pytest.mark.django_db
def test_a_file_gives_hints_and_a_reminder_to_choose_it_again(client: Client) -> None:
    upload = SimpleUploadedFile("t.eml", TRACED.encode())
    response = client.post(reverse("reports:new"), {"files": upload, "action": "hints"})
    assert Analysis.objects.count() == 0
    assert response.context["form"].initial["mail_from"] == "<list-bounces@lists.example.org>"
    assert "Browsers do not keep a chosen file from one page to the next" in (
        response.content.decode()
    )


@pytest.mark.django_db
def test_an_envelope_already_typed_is_kept(client: Client) -> None:
    response = client.post(
        reverse("reports:new"),
        {
            "raw_text": TRACED,
            "mail_from": "<x@example.org>",
            "rcpt_to": "<y@example.net>",
            "action": "hints",
        },
    )
    assert response.context["form"].initial["mail_from"] == "<x@example.org>"
    assert response.context["form"].initial["rcpt_to"] == "<y@example.net>"


@pytest.mark.django_db
def test_no_trace_fields_means_no_guess(client: Client) -> None:
    response = client.post(
        reverse("reports:new"), {"raw_text": "From: a@example.org\r\n\r\nhi\r\n", "action": "hints"}
    )
    assert "No Return-Path, Delivered-To or X-Original-To field in the message" in (
        response.content.decode()
    )
    assert response.context["form"].initial["mail_from"] == ""


@pytest.mark.django_db
def test_several_messages_give_no_hints(client: Client) -> None:
    upload = SimpleUploadedFile("t.eml", TRACED.encode())
    response = client.post(
        reverse("reports:new"), {"files": upload, "raw_text": TRACED, "action": "hints"}
    )
    assert "Hints are read only when a single message is given." in response.content.decode()
    assert Analysis.objects.count() == 0


def test_header_hints_reads_folded_fields_and_skips_duplicates() -> None:
    raw = (
        b"Return-Path:\r\n <a@example.org>\r\nDelivered-To: b@example.net\r\n"
        b"Delivered-To: b@example.net\r\nX-Original-To: c@example.net\r\n\r\n"
    )
    hints = header_hints(raw)
    assert (hints.mail_from, hints.rcpt_to, hints.sources) == (
        "<a@example.org>",
        ["b@example.net", "c@example.net"],
        ["Return-Path", "Delivered-To", "X-Original-To"],
    )
