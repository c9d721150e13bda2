"""End to end over SMTP: forwards as attachment, inline forwards and bounces become linked
analyses in their owner's list, analysed, with the SMTP envelope on the result page."""

from __future__ import annotations

import smtplib
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.test import Client

from dkim2web.intake import services
from dkim2web.intake.models import IntakePart
from dkim2web.intake.presenters import intake_context
from dkim2web.intake.testing import attach, bounce, message, running_intake, sign_hop
from dkim2web.reports.models import Analysis
from dkim2web.reports.selectors import analysis_latest_run, analysis_list_for_user

pytestmark = pytest.mark.django_db(transaction=True)

ME = "alice@origin.example"


@pytest.fixture
def address(alice: Any) -> str:
    return services.intake_address_get_or_create(user=alice).address


@pytest.fixture
def intake() -> Any:
    with running_intake(inline_analysis=True) as server:
        yield server


def _send(server: Any, mail_from: str, rcpt: str, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as conn:
        conn.ehlo("mua.origin.example")
        assert conn.sendmail(mail_from, [rcpt], raw) == {}


def _signed(subject: str, signer: str, sender: str) -> bytes:
    msg = message(
        sender=sender,
        to="Alice <alice@origin.example>",
        subject=subject,
        body=f"{subject}: the body.\r\n",
    )
    return sign_hop(msg, domain=signer, mail_from=f"<{sender}>", rcpt_to=[f"<{ME}>"])


def test_a_forward_with_two_attached_originals_makes_three_linked_analyses(
    intake: Any, address: str, alice: Any, bob: Any
) -> None:
    first = _signed("Invoice 2041", "billing.example", "billing@billing.example")
    second = _signed("This week", "news.example", "newsletter@news.example")
    wrapper = attach([first, second], sender=f"Alice <{ME}>", to=address)
    _send(intake, ME, address, wrapper)

    parts = {p.kind: p for p in IntakePart.objects.filter(parent__isnull=True)}
    top = parts["wrapper"].analysis
    children = list(IntakePart.objects.filter(parent=top).order_by("mime_part"))
    assert [c.kind for c in children] == ["attached", "attached"]
    assert [c.analysis.raw_bytes for c in children] == [first, second]  # byte for byte
    assert [c.mime_part for c in children] == ["2", "3"]
    assert top.raw_bytes == wrapper
    assert top.envelope_source == "smtp" and top.mail_from == f"<{ME}>"
    for child in children:
        analysis = child.analysis
        assert (analysis.envelope_source, analysis.mail_from, analysis.rcpt_to) == ("none", "", [])
        assert analysis.owner == alice and analysis.status == "done"
        run = analysis_latest_run(analysis=analysis)
        assert run.document["dkim2"]["result"] == "pass", run.summary
        assert run.document["dkim2"]["envelope_checked"] is False
        assert "envelope.not-checked" in {f["code"] for f in run.document["dkim2"]["findings"]}

    # All three are in Alice's list, none in Bob's.
    assert set(analysis_list_for_user(user=alice)) == {top, *(c.analysis for c in children)}
    assert not analysis_list_for_user(user=bob).exists()

    # The panel links them both ways.
    context = intake_context(top)
    assert [c["id"] for c in context["children"]] == [c.analysis.pk for c in children]
    assert [c["result"] for c in context["children"]] == ["pass", "pass"]
    original = intake_context(children[0].analysis)
    assert original["found_in"] == "This is an original found inside your forward"
    assert original["parent"]["id"] == top.pk


def test_the_result_page_shows_the_smtp_envelope_and_the_panel_renders_it(
    intake: Any, address: str, alice: Any
) -> None:
    raw = message(sender=ME, to=address, subject="direct", body="hello\r\n")
    _send(intake, ME, address, raw)
    analysis = Analysis.objects.get()
    client = Client()
    client.force_login(alice)
    page = client.get(f"/analyses/{analysis.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "from the SMTP session" in text
    assert f"&lt;{address}&gt;" in text
    # The result page includes the intake panel: client, HELO and time of the delivery.
    assert "Received by mail" in text
    assert "127.0.0.1" in text and "mua.origin.example" in text

    html = render_to_string("intake/_analysis_panel.html", {"intake": intake_context(analysis)})
    assert "Received by mail" in html
    assert "127.0.0.1" in html and "mua.origin.example" in html
    assert f"&lt;{ME}&gt;" in html
    shared = render_to_string(
        "intake/_analysis_panel.html", {"intake": intake_context(analysis), "shared": True}
    )
    assert "127.0.0.1" not in shared and "mua.origin.example" not in shared


def test_an_inline_forward_is_analysed_with_the_explanation_stored(
    intake: Any, address: str
) -> None:
    body = (
        "FYI\r\n\r\n---------- Forwarded message ---------\r\nFrom: billing@billing.example\r\n"
        "Date: Sat, 28 Nov 2026\r\nSubject: Invoice 2041\r\n\r\nPay now.\r\n"
    )
    _send(intake, ME, address, message(sender=ME, to=address, subject="Fwd: Invoice", body=body))
    part = IntakePart.objects.get()
    assert part.kind == "inline" and part.analysis.status == "done"
    [note] = part.notes
    assert note["code"] == "intake.inline-forward" and note["found"]["client"] == "Gmail"
    html = render_to_string(
        "intake/_analysis_panel.html", {"intake": intake_context(part.analysis)}
    )
    assert "the original&#x27;s headers are gone" in html
    for client in ("Gmail", "Outlook", "Apple Mail", "Thunderbird"):
        assert f"<strong>{client}:</strong>" in html


@pytest.mark.parametrize(
    ("signer", "verdict", "label"),
    [
        ("forwarder.example", "allowed", "Bounce allowed by DKIM2"),
        ("news.example", "backscatter", "Backscatter"),
    ],
)
def test_a_bounce_is_judged_and_the_message_it_returned_analysed(
    intake: Any, address: str, signer: str, verdict: str, label: str
) -> None:
    original = sign_hop(
        message(
            sender=f"Alice <{ME}>",
            to="bob@forwarder.example",
            subject="figures",
            body="On the portal.\r\n",
        ),
        domain="origin.example",
        mail_from=f"<{ME}>",
        rcpt_to=["<bob@forwarder.example>"],
    )
    _send(intake, "", address, bounce(original, signer=signer, to=f"<{ME}>"))
    part = IntakePart.objects.get(parent__isnull=True)
    assert part.kind == "dsn"
    assert part.dsn["verdict"]["verdict"] == verdict
    returned = IntakePart.objects.get(parent=part.analysis)
    assert returned.kind == "returned" and returned.analysis.raw_bytes == original
    returned_run = analysis_latest_run(analysis=returned.analysis)
    assert returned_run is not None and returned_run.document["dkim2"]["result"] == "pass"

    context = intake_context(part.analysis)
    assert context["dsn"]["label"] == label
    # The bounce's own signature verified (the engine ran): the check is on the page.
    signature = next(c for c in context["dsn"]["checks"] if c["code"] == "dsn.signature")
    assert signature["ok"] is True
    html = render_to_string("intake/_analysis_panel.html", {"intake": context})
    assert label in html and "The message this bounce returned" in html


def test_deleting_the_forwards_report_before_the_answer_answers_nobody(
    address: str, alice: Any
) -> None:
    # With a broker the answer waits for a worker; the owner deletes the wrapper's report
    # first. Its attached original (a third party's mail) must not become "the delivered
    # message" whose From: gets the answer.
    from dkim2web.intake.models import Delivery
    from dkim2web.reports.services import analysis_delete

    first = _signed("Invoice 2041", "billing.example", "billing@billing.example")
    wrapper = attach([first], sender=f"Alice <{ME}>", to=address)
    with running_intake(inline_analysis=True) as server:
        _send(server, ME, address, wrapper)
    top = IntakePart.objects.get(kind="wrapper").analysis
    Delivery.objects.update(reply_state="pending")  # as while its answer waits for a worker

    analysis_delete(analysis=top)
    delivery = Delivery.objects.get()  # the original is still there, so is the delivery
    assert (delivery.reply_state, delivery.reply_detail) == (
        "skipped",
        "the report of the delivered message was deleted before the answer went",
    )
    assert (
        services.delivery_awaiting_reply(analysis_id=IntakePart.objects.get().analysis_id) is None
    )
    assert services.delivery_reply(delivery_id=delivery.pk) is None
