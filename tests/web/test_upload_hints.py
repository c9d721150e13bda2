"""Without JavaScript, "Guess the envelope" reads the message's trace the way the analysis
does (analysis.received.reconstruct_smtp: the border hop's for clause, the Return-Path) and
fills the envelope in, marked as guesses; a chosen file is kept on the server (held.py) so
"Analyse" needs nothing chosen again. Nothing is analysed before "Analyse"."""

from __future__ import annotations

import re
from datetime import timedelta
from html import escape
from typing import Any

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dkim2web.reports import held
from dkim2web.reports.envelope_guess import Hints, envelope_guess
from dkim2web.reports.models import Analysis, HeldUpload
from dkim2web.reports.tasks import purge_expired_analyses

pytestmark = pytest.mark.django_db

TRACED = (
    "Return-Path: <list-bounces@lists.example.org>\r\n"
    "Delivered-To: bob@example.net\r\n"
    "X-Original-To: bob+tag@example.net\r\n"
    "From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n"
)
# Delivered through a border hop whose Received field names the recipient.
RECEIVED = (
    b"Return-Path: <bounce@lists.example.org>\r\n"
    b"Delivered-To: bob@example.net\r\n"
    b"Received: from mail.lists.example.org (mail.lists.example.org [203.0.113.7])\r\n"
    b"\tby mx.example.net with ESMTPS id abc\r\n"
    b"\tfor <bob@example.net>; Sat, 28 Nov 2026 10:00:00 +0000\r\n"
    b"Received: from [10.0.0.2] by mail.lists.example.org; Sat, 28 Nov 2026 09:59:00 +0000\r\n"
    b"From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n"
)
HOW = (
    "client 203.0.113.7 and HELO mail.lists.example.org from the Received field added by "
    "mx.example.net (hop 2); MAIL FROM from the Return-Path; RCPT TO from that Received "
    "field's for clause"
)


def held_token(body: str) -> str:
    match = re.search(r'<input type="hidden" name="held" value="([^"]+)"', body)
    assert match is not None, "no held token in the form"
    return match.group(1)


def test_pasted_source_fills_the_envelope_with_guesses(client: Client) -> None:
    response = client.post(reverse("reports:new"), {"raw_text": TRACED, "action": "hints"})
    assert response.status_code == 200
    assert Analysis.objects.count() == 0
    assert HeldUpload.objects.count() == 0  # a paste comes back in the textarea instead
    form = response.context["form"]
    assert form.initial == {
        "raw_text": TRACED,
        "mail_from": "<list-bounces@lists.example.org>",
        "rcpt_to": "bob@example.net\nbob+tag@example.net",
        "held": "",
    }
    body = response.content.decode()
    assert (
        '<p class="notice notice-guess">Filled in from the message\'s Return-Path, '
        "Delivered-To, X-Original-To fields. <strong>These are guesses</strong>"
    ) in body
    assert 'value="&lt;list-bounces@lists.example.org&gt;"' in body
    assert '<span class="badge badge-guess">guess from Return-Path</span>' in body
    assert '<span class="badge badge-guess">guess from Delivered-To, X-Original-To</span>' in body
    # The pasted text comes back in the textarea, unchanged.
    assert "\nReturn-Path: &lt;list-bounces@lists.example.org&gt;\r\nDelivered-To:" in body


def test_rcpt_to_comes_from_the_border_hops_for_clause(client: Client) -> None:
    upload = SimpleUploadedFile("traced.eml", RECEIVED)
    response = client.post(reverse("reports:new"), {"files": upload, "action": "hints"})
    initial = response.context["form"].initial
    assert (initial["mail_from"], initial["rcpt_to"]) == (
        "<bounce@lists.example.org>",
        "<bob@example.net>",
    )
    body = response.content.decode()
    assert (
        '<p class="notice notice-guess">Filled in from the message\'s Return-Path, Received '
        "fields. <strong>These are guesses</strong>"
    ) in body
    assert f'<p class="help">How the trace was read: {escape(HOW)}.</p>' in body
    assert '<span class="badge badge-guess">guess from Received (for clause)</span>' in body


def test_the_file_is_kept_and_analysed_with_the_envelope(client: Client) -> None:
    upload = SimpleUploadedFile("traced.eml", RECEIVED)
    response = client.post(reverse("reports:new"), {"files": upload, "action": "hints"})
    body = response.content.decode()
    assert Analysis.objects.count() == 0
    assert (
        '<p class="notice" data-held>Kept from the previous step, so there is nothing to '
        f'choose again: <span class="filename">traced.eml</span> ({len(RECEIVED)} bytes). '
        "It is analysed with the envelope below unless you choose other files (kept for an "
        "hour, until analysed).</p>"
    ) in body
    assert "Browsers do not keep a chosen file" not in body
    kept = HeldUpload.objects.get()
    assert (kept.raw_bytes, kept.filename, kept.owner) == (RECEIVED, "traced.eml", None)

    response = client.post(
        reverse("reports:new"),
        {
            "held": held_token(body),
            "mail_from": "<bounce@lists.example.org>",
            "rcpt_to": "<bob@example.net>",
            "action": "analyse",
        },
    )
    analysis = Analysis.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:detail", args=[analysis.pk])
    assert (analysis.raw_bytes, analysis.filename) == (RECEIVED, "traced.eml")
    assert (analysis.mail_from, analysis.rcpt_to) == (
        "<bounce@lists.example.org>",
        ["<bob@example.net>"],
    )
    assert analysis.envelope_source == Analysis.EnvelopeSource.USER
    assert not HeldUpload.objects.exists()  # taken out once analysed
    assert client.session[held.SESSION_KEY] == []
    assert client.get(response["Location"]).status_code == 200  # the visitor's own


def test_an_account_keeps_its_file_too(alice: Any, alice_client: Client) -> None:
    upload = SimpleUploadedFile("t.eml", TRACED.encode())
    body = alice_client.post(
        reverse("reports:new"), {"files": upload, "action": "hints"}
    ).content.decode()
    assert HeldUpload.objects.get().owner == alice
    response = alice_client.post(
        reverse("reports:new"), {"held": held_token(body), "action": "analyse"}
    )
    assert response.status_code == 302
    assert Analysis.objects.get().owner == alice


def test_guessing_twice_keeps_the_same_file(client: Client) -> None:
    upload = SimpleUploadedFile("t.eml", TRACED.encode())
    first = client.post(reverse("reports:new"), {"files": upload, "action": "hints"})
    token = held_token(first.content.decode())
    again = client.post(reverse("reports:new"), {"held": token, "action": "hints"})
    assert held_token(again.content.decode()) == token
    assert HeldUpload.objects.count() == 1
    assert again.context["form"].initial["mail_from"] == "<list-bounces@lists.example.org>"


def test_a_newly_chosen_file_replaces_the_kept_one(client: Client) -> None:
    upload = SimpleUploadedFile("old.eml", TRACED.encode())
    body = client.post(
        reverse("reports:new"), {"files": upload, "action": "hints"}
    ).content.decode()
    new = SimpleUploadedFile("new.eml", b"From: n@example.org\r\n\r\nnew\r\n")
    response = client.post(
        reverse("reports:new"), {"held": held_token(body), "files": new, "action": "analyse"}
    )
    assert response.status_code == 302
    assert [a.filename for a in Analysis.objects.all()] == ["new.eml"]


def test_several_files_are_kept_without_a_guess(client: Client) -> None:
    files = [
        SimpleUploadedFile("a.eml", TRACED.encode()),
        SimpleUploadedFile("b.eml", RECEIVED),
    ]
    response = client.post(reverse("reports:new"), {"files": files, "action": "hints"})
    body = response.content.decode()
    assert "Hints are read only when a single message is given." in body
    assert response.context["form"].initial["mail_from"] == ""
    assert '<span class="filename">a.eml</span> (' in body
    assert "They are analysed with the envelope below" in body
    response = client.post(reverse("reports:new"), {"held": held_token(body), "action": "analyse"})
    assert response["Location"] == reverse("reports:list")
    assert sorted(a.filename for a in Analysis.objects.all()) == ["a.eml", "b.eml"]


GONE = (
    "The file kept from the previous step is no longer here (files are kept for 60 minutes, "
    "and only until they are analysed): choose it again. Nothing was stored."
)


def _kept_token(client: Client) -> str:
    upload = SimpleUploadedFile("t.eml", TRACED.encode())
    body = client.post(
        reverse("reports:new"), {"files": upload, "action": "hints"}
    ).content.decode()
    return held_token(body)


def _analyse(client: Client, token: str) -> Any:
    return client.post(reverse("reports:new"), {"held": token, "action": "analyse"})


def _refused_as_gone(response: Any) -> None:
    assert response.status_code == 400
    assert list(response.context["upload_errors"]) == [GONE]
    assert not Analysis.objects.exists()


def test_a_file_kept_over_an_hour_is_gone(client: Client) -> None:
    token = _kept_token(client)
    HeldUpload.objects.update(created_at=timezone.now() - timedelta(seconds=3601))
    _refused_as_gone(_analyse(client, token))


def test_a_file_kept_for_another_visitor_is_refused(client: Client) -> None:
    token = _kept_token(client)
    _refused_as_gone(_analyse(Client(), token))  # another session, the same token
    assert HeldUpload.objects.count() == 1  # still there for its visitor
    assert _analyse(client, token).status_code == 302


def test_a_forged_or_used_token_is_refused(client: Client) -> None:
    token = _kept_token(client)
    (kept,) = HeldUpload.objects.all()
    forged = signing.dumps([str(kept.pk)], salt="another-salt")
    _refused_as_gone(_analyse(client, forged))
    _refused_as_gone(_analyse(client, token[:-2] + "xx"))
    assert _analyse(client, token).status_code == 302
    Analysis.objects.all().delete()
    _refused_as_gone(_analyse(client, token))  # used once: gone


def test_the_purge_deletes_what_nobody_analysed(client: Client) -> None:
    _kept_token(client)
    _kept_token(client)
    HeldUpload.objects.filter(
        pk=HeldUpload.objects.order_by("created_at").first().pk  # type: ignore[union-attr]
    ).update(created_at=timezone.now() - timedelta(seconds=3601))
    purge_expired_analyses()
    assert HeldUpload.objects.count() == 1


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


def test_no_trace_fields_means_no_guess(client: Client) -> None:
    response = client.post(
        reverse("reports:new"), {"raw_text": "From: a@example.org\r\n\r\nhi\r\n", "action": "hints"}
    )
    assert (
        '<p class="notice">Nothing to guess from: the message has no Return-Path, and no '
        "Received field's for clause, Delivered-To or X-Original-To field names a "
        "recipient.</p>"
    ) in response.content.decode()
    assert response.context["form"].initial["mail_from"] == ""


def test_a_recipient_without_a_return_path_asks_for_mail_from(client: Client) -> None:
    raw = RECEIVED.replace(b"Return-Path: <bounce@lists.example.org>\r\n", b"").decode()
    response = client.post(reverse("reports:new"), {"raw_text": raw, "action": "hints"})
    assert response.context["form"].initial["rcpt_to"] == "<bob@example.net>"
    assert response.context["form"].initial["mail_from"] == ""
    assert (
        "The message has no Return-Path, so MAIL FROM is unknown: write it in "
        "(<code>&lt;&gt;</code> for a bounce).</p>"
    ) in response.content.decode()


# -- envelope_guess ---------------------------------------------------------------------------


def test_without_a_border_hop_every_delivered_to_is_read() -> None:
    raw = (
        b"Return-Path:\r\n <a@example.org>\r\nDelivered-To: b@example.net\r\n"
        b"Delivered-To: b@example.net\r\nX-Original-To: c@example.net\r\n\r\n"
    )
    assert envelope_guess(raw) == Hints(
        mail_from="<a@example.org>",
        rcpt_to=["b@example.net", "c@example.net"],
        mail_from_source="Return-Path",
        rcpt_to_source="Delivered-To, X-Original-To",
        sources=["Return-Path", "Delivered-To", "X-Original-To"],
    )


def test_a_field_below_the_border_hop_is_not_taken() -> None:
    # A Delivered-To written before the message reached the final receiver (below its
    # border hop) names an earlier mailbox: reconstruct_smtp never reads it.
    raw = (
        RECEIVED.replace(b"\tfor <bob@example.net>; ", b"\t; ").replace(
            b"Delivered-To: bob@example.net\r\n", b""
        )
        + b""
    )
    raw = raw.replace(b"From: a@example.org\r\n", b"Delivered-To: old@example.com\r\nFrom: a@x\r\n")
    hints = envelope_guess(raw)
    assert (hints.mail_from, hints.rcpt_to) == ("<bounce@lists.example.org>", [])


def test_x_original_to_above_the_border_hop_names_the_recipient() -> None:
    raw = RECEIVED.replace(b"\tfor <bob@example.net>; ", b"\t; ").replace(
        b"Delivered-To: bob@example.net\r\n", b"X-Original-To: bob+x@example.net\r\n"
    )
    hints = envelope_guess(raw)
    assert (hints.rcpt_to, hints.rcpt_to_source, hints.sources) == (
        ["<bob+x@example.net>"],
        "X-Original-To",
        ["Return-Path", "X-Original-To"],
    )


def test_a_null_return_path_is_the_null_sender() -> None:
    raw = RECEIVED.replace(b"<bounce@lists.example.org>", b"<>")
    assert envelope_guess(raw).mail_from == "<>"
