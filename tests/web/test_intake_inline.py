"""Inline forwards are recognised by each client's marker, and the note says what to do."""

from __future__ import annotations

import pytest

from dkim2web.intake import inline, mime, plan
from dkim2web.intake.testing import message

GMAIL = (
    "FYI\r\n\r\n---------- Forwarded message ---------\r\n"
    "From: Billing <billing@billing.example>\r\nDate: Sat, 28 Nov 2026 at 10:00\r\n"
    "Subject: Invoice 2041\r\nTo: <me@x.example>\r\n\r\nPay now\r\n"
)
APPLE = (
    "Look\r\n\r\nBegin forwarded message:\r\n\r\nFrom: Billing <billing@billing.example>\r\n"
    "Subject: Invoice 2041\r\nDate: 28 November 2026 at 10:00:00 CET\r\n"
    "To: me@x.example\r\n\r\nPay\r\n"
)
OUTLOOK = (
    "See below\r\n\r\n-----Original Message-----\r\nFrom: Billing <billing@billing.example>\r\n"
    "Sent: Saturday, November 28, 2026 10:00 AM\r\nTo: Me\r\nSubject: Invoice 2041\r\n\r\nPay\r\n"
)
THUNDERBIRD = (
    "\r\n\r\n-------- Forwarded Message --------\r\nSubject: \tInvoice 2041\r\n"
    "Date: \tSat, 28 Nov 2026 10:00:00 +0000\r\nFrom: \tbilling@billing.example\r\n\r\nPay\r\n"
)
QUOTED_HEADERS = (
    "Have a look.\r\n\r\n> From: billing@billing.example\r\n> Sent: Saturday 10:00\r\n"
    "> To: me@x.example\r\n> Subject: Invoice 2041\r\n>\r\n> Pay\r\n"
)


@pytest.mark.parametrize(
    ("body", "client"),
    [
        (GMAIL, "Gmail"),
        (APPLE, "Apple Mail"),
        (OUTLOOK, "Outlook"),
        (THUNDERBIRD, "Thunderbird"),
        (QUOTED_HEADERS, "a mail client"),
    ],
)
def test_each_clients_inline_forward_is_recognised(body: str, client: str) -> None:
    raw = message(
        sender="me@origin.example", to="x@intake.localhost", subject="Fwd: Invoice", body=body
    )
    found = inline.find(mime.walk(raw))
    assert found is not None and found.client == client
    assert any("Invoice 2041" in line for line in found.excerpt)
    assert plan.plan(raw).kind == plan.INLINE


@pytest.mark.parametrize(
    "body",
    [
        "Hello,\r\n\r\nThe relays restart on Saturday.\r\n",
        "From: this line is the first line of the text\r\nSubject: and looks like a header\r\n"
        "To: but starts the text\r\n",
        "Quoting a reply:\r\n> On Saturday Alice wrote:\r\n> hello\r\n",
    ],
    ids=["plain", "headers-at-the-top", "reply-quote"],
)
def test_ordinary_text_is_not_an_inline_forward(body: str) -> None:
    raw = message(sender="me@origin.example", to="x@intake.localhost", subject="hi", body=body)
    assert inline.find(mime.walk(raw)) is None
    assert plan.plan(raw).kind == plan.DIRECT


def test_an_html_only_forward_is_recognised() -> None:
    html = (
        "<div>FYI</div><div><br>---------- Forwarded message ---------<br>From: "
        "&lt;billing@billing.example&gt;<br>Subject: Invoice 2041<br></div>"
    )
    raw = message(
        sender="me@origin.example", to="x@intake.localhost", subject="Fwd", body=html
    ).replace(b"text/plain", b"text/html")
    found = inline.find(mime.walk(raw))
    assert found is not None and found.client == "Gmail"


def test_a_quoted_printable_text_part_is_decoded_first() -> None:
    body = "---------- Forwarded message ---------=\r\n\r\nFrom: a@b.example\r\nSubject: x=3D1\r\n"
    raw = message(
        sender="me@origin.example",
        to="x@intake.localhost",
        subject="Fwd",
        body=body,
        extra=("Content-Transfer-Encoding: quoted-printable",),
    )
    found = inline.find(mime.walk(raw))
    assert found is not None and "Subject: x=1" in found.excerpt


def test_the_explanation_says_the_headers_are_gone_and_how_to_forward_as_attachment() -> None:
    raw = message(sender="me@origin.example", to="x@intake.localhost", subject="Fwd", body=GMAIL)
    note = plan.plan(raw).notes[0]
    assert note["code"] == "intake.inline-forward"
    assert "headers" in note["title"] and "gone" in note["title"]
    assert "cannot be verified" in note["text"]
    clients = [h["client"] for h in note["how_to"]]
    assert clients == ["Gmail", "Outlook", "Apple Mail", "Thunderbird"]
    assert all("ttachment" in h["steps"] for h in note["how_to"])
