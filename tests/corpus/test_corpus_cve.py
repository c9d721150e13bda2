"""CVE-2023-27043 and CVE-2024-6923 beyond the message cases of cases_cve.py: the published
strings given straight to each address reader, and the intake's answer to a delivery whose
Subject carries an encoded line break (real SMTP on loopback, the answer in Django's outbox).
"""

from __future__ import annotations

import email
from email import policy
from typing import Any

import pytest
from django.core import mail

from analysis.dkim2.grammar import GrammarError, normalise_envelope_address
from dkim2web.intake import sender_auth
from dkim2web.intake.models import Delivery, IntakeAddress
from dkim2web.intake.testing import running_intake
from tests.support import chains

from . import catalogue
from .cases_cve import AddressCase, address_cases
from .lookup import DOTTED_PATH
from .test_corpus_intake import LIMITS, send_exactly
from .world import INTAKE_ADDRESS, INTAKE_TOKEN

PLAIN = chains.message()


def read(case: AddressCase) -> str:
    """The reader's answer: the address accepted, or ``refused: <sentence>``."""
    try:
        if case.reader == "envelope":
            return normalise_envelope_address(case.text, allow_null=False).normalised()
        if case.reader == "mailbox":
            return sender_auth.parse_mailbox(case.text).address
        if case.reader == "reverse-path":
            box = sender_auth.parse_reverse_path(case.text)
            return box.address if box is not None else "<>"
        decision = sender_auth.decide(raw=PLAIN, mail_from=case.text, report={})
        return decision.to if decision.ok else f"refused: {decision.reason}"
    except (GrammarError, sender_auth.AddressError) as exc:
        return f"refused: {exc}"


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in address_cases()])
def test_a_cve_2023_27043_string_is_refused_by_every_address_reader(case: AddressCase) -> None:
    expected = case.accepted if case.accepted is not None else f"refused: {case.refusal}"
    assert read(case) == expected


@pytest.mark.parametrize(
    ("subject", "copied"),
    [
        ("Here's an =?UTF-8?Q?embedded_newline=0A?=", "Here's an embedded newline"),
        ("=?UTF-8?Q?hi=0D=0ABcc:_victim@inbox.example?=", "hi Bcc: victim@inbox.example"),
        (
            "=?UTF-8?B?aGkNCkJjYzogdmljdGltQGluYm94LmV4YW1wbGU=?=",
            "hi Bcc: victim@inbox.example",
        ),
        ("=?UTF-8?Q?a=00b=E2=80=AEtxt.exe?=", "a b txt.exe"),
    ],
)
def test_a_cve_2024_6923_subject_is_copied_as_one_clean_line(subject: str, copied: str) -> None:
    raw = f"Subject: {subject}\r\nMessage-ID: <m.1@example.com>\r\n\r\nbody".encode()
    proved = sender_auth.Decision(
        True, "<alice@example.com>", "proved", "dkim2", frozenset({"subject", "message-id"})
    )
    assert sender_auth.reply_fields(raw, proved) == sender_auth.ReplyFields(
        copied, "<m.1@example.com>", "<m.1@example.com>"
    )


@pytest.mark.parametrize(
    "message_id",
    [
        "<m.1@example.com>\r\n Bcc: victim@inbox.example",
        "=?UTF-8?Q?<m.1@example.com>=0ABcc:_victim@inbox.example?=",
        "<m.1@example.com> <m.2@example.com>",
    ],
)
def test_a_message_id_carrying_a_second_header_is_not_copied(message_id: str) -> None:
    raw = f"Subject: hi\r\nMessage-ID: {message_id}\r\n\r\nbody".encode()
    proved = sender_auth.Decision(
        True, "<alice@example.com>", "proved", "dkim2", frozenset({"subject", "message-id"})
    )
    assert sender_auth.reply_fields(raw, proved) == sender_auth.ReplyFields("hi", None, "")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("case_id", "shown"),
    [
        ("cve/6923-subject-embedded-newline", "Here's an embedded newline"),
        ("cve/6923-subject-crlf-bcc", "hi Bcc: victim@inbox.example"),
        ("cve/6923-subject-base64-crlf", "hi Bcc: victim@inbox.example"),
        ("cve/6923-subject-nul-and-rtl", "a b txt.exe"),
    ],
)
def test_the_intake_answers_a_cve_2024_6923_subject_with_one_header_line(
    case_id: str, shown: str, settings: Any, alice: Any
) -> None:
    """A DKIM2-proved delivery is answered at its MAIL FROM; the Subject it copies is one
    clean line, and no header the Subject smuggled (Bcc) reaches the generated answer."""
    case = catalogue.by_id(case_id)
    settings.DKIM2_KEY_LOOKUP = DOTTED_PATH
    settings.DKIM2WEB_CORPUS_ZONE = case.zone
    IntakeAddress.objects.create(user=alice, token=INTAKE_TOKEN)
    assert case.mail_from is not None
    with running_intake(inline_analysis=True, limits=LIMITS) as intake:
        code, _ = send_exactly(intake.port, case.mail_from, INTAKE_ADDRESS, case.raw)
        assert code == 250
        assert intake.wait_idle()
    delivery = Delivery.objects.get()
    assert delivery.reply_state == "sent", delivery.reply_detail
    [answer] = mail.outbox
    assert answer.recipients() == ["alice@example.com"]
    assert answer.subject == f"DKIM2 report (PASS): {shown}"
    generated = answer.message().as_bytes()
    parsed = email.message_from_bytes(generated, policy=policy.compat32)
    assert parsed.get_all("Subject") is not None and len(parsed.get_all("Subject")) == 1
    assert parsed.get_all("Bcc") is None
    head = generated.split(b"\n\n", 1)[0]
    assert not any(line.lower().startswith(b"bcc:") for line in head.splitlines())
