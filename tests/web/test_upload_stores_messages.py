"""An upload stores each message byte for byte, with its envelope, and queues its analysis."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse

from dkim2web.reports.models import Analysis
from dkim2web.reports.selectors import ANON_SESSION_KEY

# LF line ends, a trailing blank, a tab and a byte that is not UTF-8: all must survive.
AWKWARD = b"From: a@example.org\nSubject: caf\xe9 \t\nTo: b@example.net\n\nbody line \n\n"
PLAIN = b"From: x@example.org\r\nSubject: two\r\n\r\nsecond\r\n"


def eml(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="message/rfc822")


@pytest.mark.django_db
def test_one_file_is_stored_exactly_and_opens_its_result_page(
    alice: Any, alice_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as queued:
        response = alice_client.post(
            reverse("reports:new"), {"files": eml("odd.eml", AWKWARD), "action": "analyse"}
        )
    analysis = Analysis.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:detail", args=[analysis.pk])
    assert analysis.raw_bytes == AWKWARD
    assert analysis.size == len(AWKWARD)
    assert analysis.filename == "odd.eml"
    assert analysis.owner == alice
    assert analysis.status == Analysis.Status.QUEUED
    assert (analysis.mail_from, analysis.rcpt_to, analysis.envelope_source) == ("", [], "none")
    assert len(queued) == 1  # the task is published after the commit


@pytest.mark.django_db
def test_the_home_page_accepts_the_same_post(alice: Any, alice_client: Client) -> None:
    response = alice_client.post("/", {"files": eml("a.eml", PLAIN)})
    analysis = Analysis.objects.get()
    assert response["Location"] == reverse("reports:detail", args=[analysis.pk])
    assert analysis.raw_bytes == PLAIN


@pytest.mark.django_db
def test_several_files_become_several_analyses_and_the_list_opens(
    alice: Any, alice_client: Client
) -> None:
    files = [eml("one.eml", AWKWARD), eml("two.eml", PLAIN), eml("three.eml", PLAIN + b"3")]
    response = alice_client.post(reverse("reports:new"), {"files": files})
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:list")
    stored = {a.filename: a.raw_bytes for a in Analysis.objects.all()}
    assert stored == {"one.eml": AWKWARD, "two.eml": PLAIN, "three.eml": PLAIN + b"3"}
    page = alice_client.get(response["Location"]).content.decode()
    assert "3 messages stored; their analyses are under way." in page


@pytest.mark.django_db
def test_pasted_source_is_stored_as_utf8_with_the_line_ends_sent(
    alice: Any, alice_client: Client
) -> None:
    text = "From: a@example.org\r\nSubject: café  \r\n\r\n  indented body\r\n\r\n"
    response = alice_client.post(reverse("reports:new"), {"raw_text": text})
    analysis = Analysis.objects.get()
    assert response["Location"] == reverse("reports:detail", args=[analysis.pk])
    assert analysis.raw_bytes == text.encode("utf-8")
    assert analysis.filename == ""


@pytest.mark.django_db
def test_a_file_and_a_paste_together_are_two_analyses(alice: Any, alice_client: Client) -> None:
    alice_client.post(
        reverse("reports:new"), {"files": eml("f.eml", PLAIN), "raw_text": "A: b\r\n"}
    )
    assert sorted(a.raw_bytes for a in Analysis.objects.all()) == [b"A: b\r\n", PLAIN]


@pytest.mark.django_db
def test_the_envelope_is_saved_for_every_message(alice: Any, alice_client: Client) -> None:
    alice_client.post(
        reverse("reports:new"),
        {
            "files": [eml("1.eml", PLAIN), eml("2.eml", AWKWARD)],
            "mail_from": " <list-bounces@lists.example.org> ",
            "rcpt_to": "<bob@example.net>\r\n<carol@example.net>, dave@example.net\r\n",
        },
    )
    rows = list(Analysis.objects.values_list("mail_from", "rcpt_to", "envelope_source"))
    assert (
        rows
        == [
            (
                "<list-bounces@lists.example.org>",
                ["<bob@example.net>", "<carol@example.net>", "dave@example.net"],
                "user",
            )
        ]
        * 2
    )


@pytest.mark.django_db
def test_a_null_mail_from_is_accepted(alice: Any, alice_client: Client) -> None:
    alice_client.post(
        reverse("reports:new"),
        {"files": eml("dsn.eml", PLAIN), "mail_from": "<>", "rcpt_to": "<bob@example.net>"},
    )
    assert Analysis.objects.get().mail_from == "<>"


@pytest.mark.django_db
def test_an_anonymous_upload_is_seen_only_through_its_session(client: Client) -> None:
    response = client.post(reverse("reports:new"), {"files": eml("anon.eml", PLAIN)})
    analysis = Analysis.objects.get()
    assert analysis.owner is None
    assert client.session[ANON_SESSION_KEY] == [str(analysis.pk)]
    assert client.get(response["Location"]).status_code == 200
    assert Client().get(response["Location"]).status_code == 404


@pytest.mark.django_db
@override_settings(DKIM2_KEY_LOOKUP="analysis.resolvers.StaticResolver")
def test_without_a_broker_the_analysis_runs_right_after_the_upload(
    alice_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(reverse("reports:new"), {"files": eml("p.eml", PLAIN)})
    analysis = Analysis.objects.get()
    assert analysis.status == Analysis.Status.DONE, analysis.error
    body = alice_client.get(response["Location"]).content.decode()
    # An empty static zone: nothing signs the message and example.org publishes nothing.
    assert (
        '<h1 id="verdict-summary" class="verdict-summary">No authentication at all: the '
        "message carries no DKIM1, DKIM2 or ARC signature, and neither SPF nor DMARC could "
        "vouch for example.org; if it is genuine, the mail administrator of example.org should "
        "set up DKIM, SPF and DMARC.</h1>"
    ) in body
