"""An answer task whose answer the day's count or the Message-ID rules out does not write it
(issue #13).

In a burst from one address, the answer tasks queued before the day's answers were taken
find them taken: each still decides from the message and its report and settles in the same
words as before ("<why it would have gone>, but <address> has had 3 answers today..."), but
it no longer writes the answer it cannot send, and reads the delivery with its delivered
message in one query and today's answers in one statement. An answer that may go is still
written before its answer is reserved, so that a failure to write it takes none of the
day's answers, and the reservation still decides between tasks asking at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC
from typing import Any

import pytest
from django.core import mail
from django.db import OperationalError
from django.utils import timezone

from dkim2web.intake import services, tasks
from dkim2web.intake.models import Delivery, IntakePart, ReplyLog
from dkim2web.intake.services import Recipient, SmtpEnvelope
from dkim2web.intake.testing import chain_to
from dkim2web.reports import services as report_services

pytestmark = pytest.mark.django_db

FORWARDER = "bob@forwarder.example"
PASSED = "the newest DKIM2 signature (i=3, d=forwarder.example) passed for <bob@forwarder.example>"
DAY_USED_UP = (
    "<bob@forwarder.example> has had 3 answers today (UTC), the most "
    "DKIM2WEB_INTAKE_REPLIES_PER_DAY allows; this delivery's report is on the intake page "
    "of the address's owner, and answers to this address resume tomorrow"
)


@pytest.fixture(autouse=True)
def three_a_day(settings: Any) -> None:
    settings.DKIM2WEB_INTAKE_REPLIES_PER_DAY = 3


@pytest.fixture
def address(alice: Any) -> Recipient:
    intake = services.intake_address_get_or_create(user=alice)
    return Recipient(rcpt=intake.address, address_id=intake.pk, owner_id=alice.pk)


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The deliveries whose answer was written (the message composed for sending)."""
    seen: list[str] = []
    real = services._reply_message

    def message(delivery: Delivery, top: IntakePart, prepared: Any) -> Any:
        seen.append(str(delivery.pk))
        return real(delivery, top, prepared)

    monkeypatch.setattr(services, "_reply_message", message)
    return seen


def _analysed(
    address: Recipient, capture: Callable[..., Any], *, raw: bytes | None = None
) -> Delivery:
    """A delivery whose analysis a worker finished while the address still had answers left
    (the hook queued its task; the task is run by the test)."""
    [stored] = services.delivery_store(
        raw=chain_to(address.rcpt) if raw is None else raw,
        envelope=SmtpEnvelope(mail_from=FORWARDER, client_ip="127.0.0.1", helo="relay.example"),
        recipients=[address],
        enqueue=False,
    )
    assert not isinstance(stored, BaseException)
    with capture(execute=True):
        report_services.analysis_run(analysis_id=stored.analyses[0].pk)
    delivery = Delivery.objects.get(pk=stored.delivery.pk)
    assert delivery.reply_state == "pending"
    return delivery


def _answered_today(count: int, *, thread_key: str = "") -> None:
    day = timezone.now().astimezone(UTC).date()
    for slot in range(1, count + 1):
        ReplyLog.objects.create(recipient=FORWARDER, day=day, slot=slot, thread_key=thread_key)


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    ids: list[str] = []
    monkeypatch.setattr(tasks.reply_to_sender, "delay", lambda delivery_id: ids.append(delivery_id))
    return ids


def test_an_answer_past_the_days_count_is_settled_unwritten_in_the_same_words(
    address: Recipient,
    queued: list[str],
    written: list[str],
    django_capture_on_commit_callbacks: Any,
) -> None:
    delivery = _analysed(address, django_capture_on_commit_callbacks)
    assert queued == [str(delivery.pk)]
    _answered_today(3)  # meanwhile, the tasks before it took the day's answers
    before = timezone.now()
    assert tasks.reply_to_sender.run(queued[0]) == "skipped"
    delivery.refresh_from_db()
    assert delivery.reply_detail == f"{PASSED}, but {DAY_USED_UP}"
    assert delivery.reply_started_at is not None and delivery.reply_started_at >= before
    assert (written, mail.outbox, ReplyLog.objects.count()) == ([], [], 3)


def test_an_answer_about_a_message_already_answered_is_settled_unwritten(
    address: Recipient,
    queued: list[str],
    written: list[str],
    django_capture_on_commit_callbacks: Any,
) -> None:
    raw = chain_to(address.rcpt)
    [message_id] = re.findall(rb"^Message-ID: (<[^>]+>)", raw, re.MULTILINE | re.IGNORECASE)
    first = _analysed(address, django_capture_on_commit_callbacks, raw=raw)
    assert tasks.reply_to_sender.run(str(first.pk)) == "sent"
    assert written == [str(first.pk)]
    # The same message delivered again: one answer per Message-ID, with answers left today.
    again = _analysed(address, django_capture_on_commit_callbacks, raw=raw)
    assert tasks.reply_to_sender.run(str(again.pk)) == "skipped"
    again.refresh_from_db()
    assert again.reply_detail == (
        f"{PASSED}, but <bob@forwarder.example> was already answered about the message "
        f"{message_id.decode()}, and an address gets one answer per Message-ID; the report is "
        "on the intake page of the address's owner"
    )
    assert (written, len(mail.outbox), ReplyLog.objects.count()) == ([str(first.pk)], 1, 1)


def test_an_answer_that_may_go_is_written_then_reserved_then_sent(
    address: Recipient,
    queued: list[str],
    written: list[str],
    django_capture_on_commit_callbacks: Any,
) -> None:
    _answered_today(2)
    delivery = _analysed(address, django_capture_on_commit_callbacks)
    assert tasks.reply_to_sender.run(queued[0]) == "sent"
    assert written == [str(delivery.pk)]
    assert sorted(ReplyLog.objects.values_list("slot", flat=True)) == [1, 2, 3]
    assert [m.to for m in mail.outbox] == [[FORWARDER]]


def test_a_failure_to_write_the_answer_takes_none_of_the_days_answers(
    address: Recipient,
    queued: list[str],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    delivery = _analysed(address, django_capture_on_commit_callbacks)
    real = services._reply_message

    def blinks(*args: Any) -> Any:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "_reply_message", blinks)
    with pytest.raises(OperationalError):
        tasks.reply_to_sender.run(queued[0])
    delivery.refresh_from_db()
    assert (delivery.reply_state, delivery.reply_started_at) == ("pending", None)
    assert ReplyLog.objects.count() == 0
    monkeypatch.setattr(services, "_reply_message", real)
    assert tasks.reply_to_sender.run(queued[0]) == "sent"  # the retry answers


def test_the_task_reads_the_delivery_with_its_message_and_todays_answers_at_once(
    address: Recipient,
    queued: list[str],
    django_assert_num_queries: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    delivery = _analysed(address, django_capture_on_commit_callbacks)
    _answered_today(3)
    # The delivered message's part with its analysis and delivery, the claim, the run,
    # today's answers, the settlement (before: eight, the answer written among them).
    with django_assert_num_queries(5):
        assert services.delivery_reply(delivery_id=delivery.pk) == "skipped"


def test_a_delivery_no_longer_pending_costs_one_query(
    address: Recipient,
    queued: list[str],
    django_assert_num_queries: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    delivery = _analysed(address, django_capture_on_commit_callbacks)
    assert services.delivery_reply(delivery_id=delivery.pk) == "sent"
    with django_assert_num_queries(1):
        assert services.delivery_reply(delivery_id=delivery.pk) is None  # a duplicate task
    with django_assert_num_queries(1):
        assert services.delivery_reply(delivery_id=str(delivery.pk)) is None
