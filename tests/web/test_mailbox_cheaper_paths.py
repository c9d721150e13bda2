"""What the mailbox stopped paying for keeps its behaviour (issue #13).

* The SMTP server parses MAIL and RCPT addresses exactly as aiosmtpd does, without the class
  aiosmtpd defines on every call.
* A text part is looked at for an inline forward's marker unless it is an attachment: the
  header block is read by the email package only when it names Content-Disposition.
* The finished-analysis hook settles by the analysis and the MAIL FROM the run reports; should
  that MAIL FROM differ from the delivery's, the delivery's own decides, as before.
* The engine is imported in a worker's main process before its pool forks; an engine that
  does not import is logged there, and the worker starts all the same.
* Rows stored together (reports.insert_new) are saved one by one on SQLite, each key made
  by the database read back.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP
from django.utils import timezone

from dkim2web.intake import inline, mime, services, tasks
from dkim2web.intake.models import Delivery, IntakePart, ReplyLog
from dkim2web.intake.server import IntakeSMTP
from dkim2web.intake.services import Recipient, SmtpEnvelope
from dkim2web.intake.signals import _reply_on_finish
from dkim2web.intake.testing import chain_to, message
from dkim2web.reports import services as report_services
from dkim2web.reports import tasks as report_tasks

REPO = Path(__file__).resolve().parent.parent.parent

ADDRESSES = [
    "",
    "<bob@forwarder.example>",
    " <bob@forwarder.example> SIZE=1000 BODY=8BITMIME",
    "bob@forwarder.example",
    "bob@forwarder.example SIZE=10",
    "<>",
    "<@relay.example:bob@forwarder.example>",
    '<"quoted local"@forwarder.example>',
    "<bob.@forwarder.example>",
    "<bob@[192.0.2.1]>",
    "<bob@forwarder.example",
    "<no at sign>",
    "<<bob@forwarder.example>>",
    "<bob@@forwarder.example>",
    "<bøb@forwarder.example>",
    "<" + "x" * 70 + "@forwarder.example>",
    "(comment) <bob@forwarder.example>",
]


@pytest.mark.parametrize("limit", [0, 64])
@pytest.mark.parametrize("arg", ADDRESSES)
def test_addresses_are_parsed_as_aiosmtpd_parses_them(arg: str, limit: int) -> None:
    ours, theirs = IntakeSMTP.__new__(IntakeSMTP), SMTP.__new__(SMTP)
    ours.local_part_limit = theirs.local_part_limit = limit
    assert ours._getaddr(arg) == SMTP._getaddr(theirs, arg)


GMAIL_FORWARD = (
    "---------- Forwarded message ---------\r\nFrom: Billing <billing@billing.example>\r\n"
    "Subject: Invoice 2041\r\nTo: <me@x.example>\r\n\r\nPay now\r\n"
)


def _with_text_part(headers: str) -> bytes:
    """A multipart message whose second part is a text part with ``headers``, holding a
    forward marker."""
    body = (
        "--b1\r\nContent-Type: text/plain\r\n\r\nHello\r\n"
        f"--b1\r\n{headers}Content-Type: text/plain\r\n\r\n{GMAIL_FORWARD}"
        "--b1--\r\n"
    )
    return message(
        sender="me@origin.example",
        to="x@intake.localhost",
        subject="Fwd",
        body=body,
        extra=[],
    ).replace(
        b"Content-Type: text/plain; charset=utf-8",
        b'Content-Type: multipart/mixed; boundary="b1"',
        1,
    )


@pytest.mark.parametrize(
    "headers",
    [
        "Content-Disposition: attachment\r\n",
        "CONTENT-DISPOSITION: ATTACHMENT; filename=notes.txt\r\n",
        "content-disposition:\r\n attachment\r\n",
        "X-Note: no Content-Disposition here\r\nContent-Disposition: attachment\r\n",
    ],
)
def test_a_text_attachment_is_no_inline_forward(headers: str) -> None:
    assert inline.find(mime.walk(_with_text_part(headers))) is None


@pytest.mark.parametrize(
    "headers",
    ["", "Content-Disposition: inline\r\n", "X-Mentions: content-disposition attachment\r\n"],
)
def test_a_text_part_that_is_not_an_attachment_is_looked_at(headers: str) -> None:
    found = inline.find(mime.walk(_with_text_part(headers)))
    assert found is not None and (found.client, found.part) == ("Gmail", "2")


@pytest.fixture
def address(alice: Any) -> Recipient:
    intake = services.intake_address_get_or_create(user=alice)
    return Recipient(rcpt=intake.address, address_id=intake.pk, owner_id=alice.pk)


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    ids: list[str] = []
    monkeypatch.setattr(tasks.reply_to_sender, "delay", lambda delivery_id: ids.append(delivery_id))
    return ids


def _delivered(address: Recipient, mail_from: str) -> tuple[Delivery, Any]:
    [stored] = services.delivery_store(
        raw=chain_to(address.rcpt),
        envelope=SmtpEnvelope(mail_from=mail_from, client_ip="127.0.0.1"),
        recipients=[address],
        enqueue=False,
    )
    assert isinstance(stored, services.Stored)
    return stored.delivery, stored.analyses[0].pk


@pytest.mark.django_db
def test_the_deliverys_own_mail_from_decides_when_the_run_says_another(
    address: Recipient, queued: list[str], settings: Any
) -> None:
    settings.DKIM2WEB_INTAKE_REPLIES_PER_DAY = 1
    day = timezone.now().astimezone(UTC).date()
    ReplyLog.objects.create(recipient="bob@forwarder.example", day=day, slot=1)
    delivery, analysis_id = _delivered(address, "<bob@forwarder.example>")
    # Told another MAIL FROM (fresh, with answers left), the hook settles nothing by it...
    _reply_on_finish(
        None, analysis_id=str(analysis_id), envelope_source="smtp", mail_from="<x@other.example>"
    )
    delivery.refresh_from_db()
    # ...and the delivery's own, at its day's limit, settles it without a task.
    assert (queued, delivery.reply_state) == ([], "skipped")
    assert delivery.reply_detail.startswith(
        "an answer could go only to the MAIL FROM <bob@forwarder.example>, but "
    )


@pytest.mark.django_db
def test_settling_by_the_analysis_finds_only_the_delivered_messages_delivery(
    address: Recipient,
) -> None:
    delivery, analysis_id = _delivered(address, "<>")
    # Not the delivery's MAIL FROM: nothing settled, and nothing said to be ruled out.
    assert services.delivery_reply_worth_queueing(analysis_id=analysis_id, mail_from="") is True
    delivery.refresh_from_db()
    assert delivery.reply_state == "pending"
    assert services.delivery_reply_worth_queueing(analysis_id=analysis_id, mail_from="<>") is False
    delivery.refresh_from_db()
    assert delivery.reply_state == "skipped"
    assert delivery.reply_detail.startswith("the message came from the null sender <>")
    # Settled already: nothing left to settle, for either key.
    assert services.delivery_reply_worth_queueing(analysis_id=analysis_id, mail_from="<>") is True
    assert services.delivery_reply_worth_queueing(delivery_id=delivery.pk, mail_from="<>") is False


def test_settling_needs_exactly_one_key() -> None:
    with pytest.raises(TypeError):
        services.delivery_reply_worth_queueing(mail_from="<a@b.example>")
    with pytest.raises(TypeError):
        services.delivery_reply_worth_queueing(
            mail_from="<a@b.example>", delivery_id="x", analysis_id="y"
        )


def test_the_worker_imports_the_engine_before_forking() -> None:
    # In a process of its own: the engine is imported by the worker_init signal (sent in a
    # worker's main process before the pool forks), not by Django's setup nor the tasks.
    script = (
        "import sys, warnings, django; django.setup()\n"
        "import dkim2web.celery\n"
        "from dkim2web.reports import tasks\n"
        "before = 'analysis.message_report' in sys.modules\n"
        "from celery.signals import worker_init\n"
        "warnings.simplefilter('ignore')\n"
        "worker_init.send(sender=None)\n"
        "print(before, 'analysis.message_report' in sys.modules,"
        " 'dkim2web.samples.keys' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DKIM2"))}
    env.update(
        DJANGO_SETTINGS_MODULE="dkim2web.settings",
        DJANGO_SECRET_KEY="test-only-" + "x" * 50,
        DKIM2_KEY_LOOKUP="dkim2web.samples.keys.DemoDnsLookup",
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "True", "True"]


def test_an_engine_that_does_not_import_does_not_stop_the_worker(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(name: str) -> None:
        raise ImportError(f"no module {name}")

    monkeypatch.setattr(report_tasks, "import_string", broken)
    with caplog.at_level(logging.ERROR, logger="dkim2web.reports.tasks"):
        report_tasks._import_the_engine_before_forking()
    assert [r.getMessage() for r in caplog.records] == [
        "the engine could not be imported before the pool started"
    ]


@pytest.mark.django_db
def test_rows_stored_together_on_sqlite_get_their_keys(alice: Any) -> None:
    raw = chain_to("a@intake.localhost")
    delivery = Delivery(owner_id=alice.pk, mail_from="<>", rcpt_to=["<a@intake.localhost>"])
    analyses = [report_services.analysis_build(raw=raw, owner_id=alice.pk) for _ in range(2)]
    parts = [IntakePart(analysis=a, delivery=delivery, kind="direct") for a in analyses]
    report_services.insert_new([delivery, *analyses, *parts])
    assert [p.pk for p in parts] == [IntakePart.objects.get(analysis_id=a.pk).pk for a in analyses]
    assert all(not x._state.adding for x in (delivery, *analyses, *parts))
    assert Delivery.objects.get().pk == delivery.pk
