"""The answer to the sender is decided as far as it can be before a task is queued (issue #13).

When the analysis of a delivered message finishes, the hook settles at once what the envelope
and one count of today's answers already rule out -- the null sender, no answers at all, an
address that has had the day's answers -- and queues ``reply_to_sender`` only for an answer
that may go. The task still decides everything else from the message and its report, and still
reserves every answer in ReplyLog: the early count is an economy, never the guard.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from dkim2web.intake import services, tasks
from dkim2web.intake.models import Delivery, IntakePart, ReplyLog
from dkim2web.intake.services import Recipient, SmtpEnvelope
from dkim2web.intake.testing import chain_to
from dkim2web.reports import services as report_services

pytestmark = pytest.mark.django_db

FORWARDER = "bob@forwarder.example"  # chain_to's last hop signs this MAIL FROM
DAY_USED_UP = (
    "<bob@forwarder.example> has had 3 answers today (UTC), the most "
    "DKIM2WEB_INTAKE_REPLIES_PER_DAY allows; this delivery's report is on the intake page "
    "of the address's owner, and answers to this address resume tomorrow"
)
NULL_SENDER = (
    "the message came from the null sender <>: no answer is sent, so the analyser never "
    "produces backscatter"
)


@pytest.fixture(autouse=True)
def three_a_day(settings: Any) -> None:
    settings.DKIM2WEB_INTAKE_REPLIES_PER_DAY = 3


@pytest.fixture
def address(alice: Any) -> Recipient:
    intake = services.intake_address_get_or_create(user=alice)
    return Recipient(rcpt=intake.address, address_id=intake.pk, owner_id=alice.pk)


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The delivery ids the hook queues an answer task for (the task is not run)."""
    ids: list[str] = []
    monkeypatch.setattr(tasks.reply_to_sender, "delay", lambda delivery_id: ids.append(delivery_id))
    return ids


@pytest.fixture
def message_read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The deliveries whose message and report the reply path read (the task's work)."""
    read: list[str] = []
    real = services._reply_prepare

    def prepare(delivery: Delivery, top: IntakePart) -> Any:
        read.append(str(delivery.pk))
        return real(delivery, top)

    monkeypatch.setattr(services, "_reply_prepare", prepare)
    return read


def _deliver(address: Recipient, *, mail_from: str, raw: bytes | None = None) -> Delivery:
    """Store a delivery as the intake does, its analysis left queued for a worker."""
    [stored] = services.delivery_store(
        raw=chain_to(address.rcpt) if raw is None else raw,
        envelope=SmtpEnvelope(mail_from=mail_from, client_ip="127.0.0.1", helo="relay.example"),
        recipients=[address],
        enqueue=False,
    )
    assert not isinstance(stored, BaseException)
    return stored.delivery


def _finish(delivery: Delivery, capture: Callable[..., Any]) -> Delivery:
    """What the worker does: run the analysis; its commit fires the hook."""
    top = IntakePart.objects.get(delivery=delivery, parent__isnull=True)
    with capture(execute=True):
        assert report_services.analysis_run(analysis_id=top.analysis_id) is not None
    delivery.refresh_from_db()
    return delivery


def _answered(recipient: str, count: int, *, days_ago: int = 0) -> None:
    """``count`` answers already taken by ``recipient`` on a UTC day."""
    day = timezone.now().astimezone(UTC).date() - timedelta(days=days_ago)
    for slot in range(1, count + 1):
        ReplyLog.objects.create(recipient=recipient, day=day, slot=slot)


def test_a_fresh_address_gets_its_answer_queued_and_sent(
    address: Recipient,
    queued: list[str],
    message_read: list[str],
    django_capture_on_commit_callbacks: Any,
) -> None:
    delivery = _finish(_deliver(address, mail_from=FORWARDER), django_capture_on_commit_callbacks)
    assert queued == [str(delivery.pk)]
    assert (delivery.reply_state, message_read) == ("pending", [])
    assert tasks.reply_to_sender.run(queued[0]) == "sent"
    assert [m.to for m in mail.outbox] == [[FORWARDER]]
    assert ReplyLog.objects.filter(recipient=FORWARDER).count() == 1


def test_an_address_below_its_limit_gets_its_answer_queued(
    address: Recipient, queued: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    _answered(FORWARDER, 2)
    delivery = _finish(_deliver(address, mail_from=FORWARDER), django_capture_on_commit_callbacks)
    assert (queued, delivery.reply_state) == ([str(delivery.pk)], "pending")


def test_an_address_at_its_limit_gets_no_task_and_its_message_is_not_read(
    address: Recipient,
    queued: list[str],
    message_read: list[str],
    django_capture_on_commit_callbacks: Any,
) -> None:
    _answered(FORWARDER, 3)
    delivery = _finish(_deliver(address, mail_from=FORWARDER), django_capture_on_commit_callbacks)
    assert (queued, message_read, mail.outbox) == ([], [], [])
    assert (delivery.reply_state, delivery.reply_to) == ("skipped", "")
    assert delivery.reply_detail == (
        f"an answer could go only to the MAIL FROM <bob@forwarder.example>, but {DAY_USED_UP}"
    )
    assert ReplyLog.objects.count() == 3  # nothing reserved
    # Nothing is left for the task or the poll to do.
    assert services.delivery_reply(delivery_id=delivery.pk) is None
    later = timezone.now() + services.REPLY_POLL_GRACE + timedelta(seconds=1)
    assert services.deliveries_reply_pending(now=later) == 0


def test_the_task_would_have_refused_it_with_the_same_limit(
    address: Recipient, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    # The same delivery decided the old way, by the task alone: the same refusal.
    _answered(FORWARDER, 3)
    monkeypatch.setattr(services, "delivery_reply_worth_queueing", lambda **kwargs: True)
    monkeypatch.setattr(tasks.reply_to_sender, "delay", lambda delivery_id: None)
    delivery = _finish(_deliver(address, mail_from=FORWARDER), django_capture_on_commit_callbacks)
    assert services.delivery_reply(delivery_id=delivery.pk) == "skipped"
    delivery.refresh_from_db()
    assert delivery.reply_detail.endswith(f", but {DAY_USED_UP}")
    assert mail.outbox == []


def test_the_limit_counts_the_address_as_the_task_does_in_any_case(
    address: Recipient, queued: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    _answered(FORWARDER, 3)  # ReplyLog keeps addresses lower-cased
    delivery = _finish(
        _deliver(address, mail_from="<BOB@Forwarder.Example>"), django_capture_on_commit_callbacks
    )
    assert (queued, delivery.reply_state) == ([], "skipped")
    assert delivery.reply_detail.startswith(
        "an answer could go only to the MAIL FROM <BOB@forwarder.example>, but "
        "<BOB@forwarder.example> has had 3 answers today (UTC)"
    )


def test_yesterdays_answers_and_another_addresses_do_not_count(
    address: Recipient, queued: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    _answered(FORWARDER, 3, days_ago=1)
    _answered("alice@forwarder.example", 3)
    delivery = _finish(_deliver(address, mail_from=FORWARDER), django_capture_on_commit_callbacks)
    assert (queued, delivery.reply_state) == ([str(delivery.pk)], "pending")


def test_the_null_sender_gets_no_task_and_the_tasks_own_words(
    address: Recipient,
    queued: list[str],
    message_read: list[str],
    django_capture_on_commit_callbacks: Any,
) -> None:
    delivery = _finish(_deliver(address, mail_from=""), django_capture_on_commit_callbacks)
    assert (queued, message_read, mail.outbox) == ([], [], [])
    assert (delivery.mail_from, delivery.reply_state) == ("<>", "skipped")
    assert delivery.reply_detail == NULL_SENDER


def test_no_answers_at_all_queues_no_task(
    address: Recipient,
    queued: list[str],
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.DKIM2WEB_INTAKE_REPLIES_PER_DAY = 0
    delivery = _finish(_deliver(address, mail_from=FORWARDER), django_capture_on_commit_callbacks)
    assert (queued, delivery.reply_state, mail.outbox) == ([], "skipped", [])
    assert delivery.reply_detail == (
        "an answer could go only to the MAIL FROM <bob@forwarder.example>, but "
        "DKIM2WEB_INTAKE_REPLIES_PER_DAY is 0, so no address is answered"
    )


def test_replies_off_queue_nothing_and_count_nothing(
    address: Recipient,
    queued: list[str],
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.DKIM2WEB_INTAKE_REPLY = False
    counted: list[Any] = []
    monkeypatch.setattr(services, "delivery_reply_worth_queueing", lambda **kw: counted.append(kw))
    delivery = _finish(_deliver(address, mail_from=FORWARDER), django_capture_on_commit_callbacks)
    assert (queued, counted, delivery.reply_state, mail.outbox) == ([], [], "off", [])


def test_what_only_the_message_tells_is_still_decided_by_the_task(
    address: Recipient, queued: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    raw = b"Auto-Submitted: auto-generated\r\n" + chain_to(address.rcpt)
    delivery = _finish(
        _deliver(address, mail_from=FORWARDER, raw=raw), django_capture_on_commit_callbacks
    )
    assert queued == [str(delivery.pk)]  # the envelope does not tell: the task reads the message
    assert tasks.reply_to_sender.run(queued[0]) == "skipped"
    delivery.refresh_from_db()
    assert "sent automatically" in delivery.reply_detail and mail.outbox == []


def test_the_task_still_enforces_the_limit_when_queued_anyway(
    address: Recipient, queued: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    _answered(FORWARDER, 2)
    delivery = _finish(_deliver(address, mail_from=FORWARDER), django_capture_on_commit_callbacks)
    assert queued == [str(delivery.pk)]  # two of three taken when the hook counted
    # Meanwhile another process answered the address: the last slot is gone.
    ReplyLog.objects.create(recipient=FORWARDER, day=timezone.now().astimezone(UTC).date(), slot=3)
    assert tasks.reply_to_sender.run(queued[0]) == "skipped"
    delivery.refresh_from_db()
    assert delivery.reply_detail.startswith(
        "the newest DKIM2 signature (i=3, d=forwarder.example) passed for <bob@forwarder.example>"
    )
    assert delivery.reply_detail.endswith(f", but {DAY_USED_UP}")
    assert mail.outbox == [] and ReplyLog.objects.count() == 3


def test_two_deliveries_queued_for_the_last_answer_send_one(
    address: Recipient, queued: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    _answered(FORWARDER, 2)
    now = int(time.time())
    first, second = (
        _finish(
            _deliver(address, mail_from=FORWARDER, raw=chain_to(address.rcpt, now=now - n)),
            django_capture_on_commit_callbacks,
        )
        for n in (0, 1)
    )
    # Both finished before either answer went: the hook counted two answers for each.
    assert queued == [str(first.pk), str(second.pk)]
    assert [tasks.reply_to_sender.run(pk) for pk in queued] == ["sent", "skipped"]
    assert [m.to for m in mail.outbox] == [[FORWARDER]]
    assert sorted(ReplyLog.objects.values_list("slot", flat=True)) == [1, 2, 3]
    # The third delivery from the address is settled before any task.
    third = _finish(
        _deliver(address, mail_from=FORWARDER, raw=chain_to(address.rcpt, now=now - 2)),
        django_capture_on_commit_callbacks,
    )
    assert (len(queued), third.reply_state) == (2, "skipped")


def test_a_mail_from_that_is_not_one_plain_address_gets_no_task(
    address: Recipient, queued: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    delivery = _finish(
        _deliver(address, mail_from="<@relay.example:bob@forwarder.example>"),
        django_capture_on_commit_callbacks,
    )
    assert (queued, delivery.reply_state, mail.outbox) == ([], "skipped", [])
    assert delivery.reply_detail == (
        "the MAIL FROM is not one plain address: '<@relay.example:bob@forwarder.example>' "
        "carries a source route (RFC 5321 §4.1.2)"
    )
