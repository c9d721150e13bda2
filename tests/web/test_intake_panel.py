"""The result page's intake panel, and what happens to a delivery when its analyses go."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from dkim2web.intake import services
from dkim2web.intake.models import Delivery, IntakePart
from dkim2web.intake.presenters import intake_context
from dkim2web.intake.testing import attach, bounce, message, sign_hop
from dkim2web.reports import services as reports
from dkim2web.reports.models import Analysis

pytestmark = pytest.mark.django_db(transaction=True)


def _store(raw: bytes, owner: Any, *, mail_from: str = "alice@origin.example") -> list[Analysis]:
    address = services.intake_address_get_or_create(user=owner)
    stored = services.delivery_store(
        raw=raw,
        envelope=services.SmtpEnvelope(
            mail_from=mail_from,
            client_ip="127.0.0.1",
            helo="mua.example",
            received_at=timezone.now(),
        ),
        recipients=[services.Recipient(address.address, address.pk, owner.pk)],
        enqueue=False,
    )
    return stored[0].analyses


def test_an_uploaded_analysis_has_no_panel(alice: Any) -> None:
    analysis = reports.analysis_submit(
        raw=b"From: a@b.example\r\n\r\nx\r\n", owner=alice, enqueue=False
    )
    assert intake_context(analysis) == {"present": False}
    assert (
        render_to_string(
            "intake/_analysis_panel.html", {"intake": intake_context(analysis)}
        ).strip()
        == ""
    )


def test_the_panel_of_a_wrapper_lists_its_originals_and_theirs_point_back(alice: Any) -> None:
    a = message(sender="a@origin.example", to="x", subject="one", body="1\r\n")
    b = message(sender="b@origin.example", to="x", subject="two", body="2\r\n")
    top, first, second = _store(attach([a, b], encodings=[None, "base64"]), alice)
    context = intake_context(top)
    assert context["kind"] == "wrapper" and context["delivered"]
    assert [(c["id"], c["status"], c["transfer_encoding"]) for c in context["children"]] == [
        (first.pk, "queued", ""),
        (second.pk, "queued", "base64"),
    ]
    html = render_to_string("intake/_analysis_panel.html", {"intake": context})
    assert "Originals found in this forward" in html
    assert f"/analyses/{first.pk}/" in html and f"/analyses/{second.pk}/" in html

    child = intake_context(second)
    assert not child["delivered"] and child["parent"]["id"] == top.pk
    assert child["notes"][0]["code"] == "intake.decoded"
    html = render_to_string("intake/_analysis_panel.html", {"intake": child})
    assert "This is an original found inside your forward" in html
    assert f"/analyses/{top.pk}/" in html and "base64-encoded" in html
    shared = render_to_string("intake/_analysis_panel.html", {"intake": child, "shared": True})
    assert f"/analyses/{top.pk}/" not in shared  # another viewer could not open it


def test_a_bounce_whose_own_signature_fails_is_not_called_allowed(alice: Any) -> None:
    original = sign_hop(
        message(
            sender="alice@origin.example", to="bob@forwarder.example", subject="s", body="x\r\n"
        ),
        domain="origin.example",
        mail_from="<alice@origin.example>",
        rcpt_to=["<bob@forwarder.example>"],
    )
    when = int(time.time()) - 20
    raw = bounce(original, signer="forwarder.example", to="<alice@origin.example>", when=when)
    raw = raw.replace(f"t={when};".encode(), f"t={when - 1};".encode(), 1)  # breaks the signature
    top, _ = _store(raw, alice, mail_from="")
    assert IntakePart.objects.get(analysis=top).dsn["verdict"]["verdict"] == "allowed"
    before = intake_context(top)["dsn"]
    assert before["label"] == "Bounce allowed by DKIM2"
    assert "shown once the analysis ran" in before["summary"]

    from dkim2web.reports.services import analysis_run

    analysis_run(analysis_id=top.pk)
    after = intake_context(top)["dsn"]
    signature = next(c for c in after["checks"] if c["code"] == "dsn.signature")
    assert signature["ok"] is False and "fail" in signature["detail"]
    assert after["verdict"] == "undetermined" and after["label"] == "Bounce not judged"
    assert after["summary"].startswith("The bounce's own DKIM2 signature did not verify")


def test_a_delivery_goes_when_its_last_analysis_is_deleted(alice: Any) -> None:
    a = message(sender="a@origin.example", to="x", subject="one", body="1\r\n")
    top, child = _store(attach([a]), alice)
    reports.analysis_delete(analysis=child)
    assert Delivery.objects.count() == 1
    reports.analysis_delete(analysis=top)
    assert Delivery.objects.count() == 0
    assert not IntakePart.objects.exists()
