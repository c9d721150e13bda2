"""Corpus cases delivered over real SMTP (loopback) to the intake, and analysed there.

The message's bytes are sent exactly as they are (dot-stuffed, nothing else: smtplib's own
``sendmail`` would turn bare CR and LF into CRLF) with the case's MAIL FROM to the intake
address the corpus's final hop signed for (a fixed token), so the DKIM2 chain is checked
against the real SMTP envelope.  The delivered message (the top part) must reach the
expected outcome; a refusal gives its exact SMTP reply.
"""

from __future__ import annotations

import smtplib
from typing import Any

import pytest

from dkim2web.intake.models import Delivery, IntakeAddress, IntakePart
from dkim2web.intake.server import Limits
from dkim2web.intake.testing import running_intake
from dkim2web.reports.models import Analysis

from . import catalogue, runner
from .conftest import corpus_params
from .lookup import DOTTED_PATH
from .model import Case, outcome_of_message_report
from .world import INTAKE_ADDRESS, INTAKE_TOKEN

pytestmark = pytest.mark.django_db(transaction=True)

#: MAIL FROM for a case without an envelope (an unsigned message: nothing checks it).
STRANGER = "<sender@example.org>"

LIMITS = Limits(
    max_message_bytes=25 * 1024 * 1024,
    max_recipients=20,
    max_connections=50,
    rate_per_minute=0,
    timeout=30.0,
)


def send_exactly(port: int, mail_from: str, rcpt: str, raw: bytes) -> tuple[int, bytes]:
    """One SMTP transaction sending ``raw`` as it is; the reply to the end of DATA (or to
    the first command refused)."""
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.example", timeout=30) as conn:
        conn.ehlo("client.example")
        code, text = conn.docmd(f"MAIL FROM:{mail_from}")
        if code != 250:
            return code, text
        code, text = conn.rcpt(rcpt)
        if code != 250:
            return code, text
        code, text = conn.docmd("DATA")
        if code != 354:
            return code, text
        data = raw if raw.endswith(b"\r\n") or not raw else raw + b"\r\n"
        if data.startswith(b"."):
            data = b"." + data
        conn.send(data.replace(b"\r\n.", b"\r\n..") + b".\r\n")
        return conn.getreply()


@pytest.mark.parametrize("case", corpus_params(catalogue.all_cases(), "intake"))
def test_the_intake_analyses_a_delivery_with_its_smtp_envelope(
    case: Case, settings: Any, alice: Any
) -> None:
    settings.DKIM2_KEY_LOOKUP = DOTTED_PATH
    settings.DKIM2WEB_CORPUS_ZONE = case.zone
    IntakeAddress.objects.create(user=alice, token=INTAKE_TOKEN)
    request = case.intake
    mail_from = request.mail_from or case.mail_from or STRANGER
    assert case.mail_from is not None or case.expect.result == "none", (
        "a signed case goes to the intake with the envelope it was signed for"
    )
    assert case.revision == "auto", "the intake judges by the newest revision only"
    with running_intake(inline_analysis=True, limits=LIMITS) as intake:

        def deliver() -> tuple[int, bytes]:
            reply = send_exactly(intake.port, mail_from, INTAKE_ADDRESS, case.raw)
            assert intake.wait_idle()  # the analysis, run by the intake after its 250
            return reply

        code, text = runner.timed(case, "intake", deliver)
    if request.refusal is not None:
        assert (code, text.decode()[: len(request.refusal.message)]) == (
            request.refusal.status,
            request.refusal.message,
        )
        assert not Delivery.objects.exists()
        return
    assert code == 250, text
    delivery = Delivery.objects.get()
    assert delivery.mail_from == mail_from
    top = IntakePart.objects.get(delivery=delivery, parent__isnull=True)
    analysis = top.analysis
    assert analysis.raw_bytes == (case.raw if case.raw.endswith(b"\r\n") else case.raw + b"\r\n")
    assert analysis.status == Analysis.Status.DONE, analysis.error
    report = analysis.runs.get().report
    assert outcome_of_message_report(report).problems(case.expect) == []
