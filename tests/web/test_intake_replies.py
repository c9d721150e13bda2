"""The answer to the sender: only for one that authenticated, never to <> (no backscatter)."""

from __future__ import annotations

import base64
import smtplib
from datetime import timedelta
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core import mail
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from analysis.resolvers import StaticResolver
from dkim2web.intake import services, tasks
from dkim2web.intake.models import Delivery
from dkim2web.intake.testing import attach, chain_to, message, relayed, running_intake
from dkim2web.reports import services as report_services
from dkim2web.reports.models import Analysis
from dkim2web.samples.keys import demo_zone

pytestmark = pytest.mark.django_db(transaction=True)

FORWARDER = "bob@forwarder.example"


@pytest.fixture
def address(alice: Any) -> str:
    return services.intake_address_get_or_create(user=alice).address


def _send(raw: bytes, *, mail_from: str, rcpt: str, **server: Any) -> Delivery:
    server.setdefault("inline_analysis", True)
    with running_intake(**server) as intake:
        with smtplib.SMTP("127.0.0.1", intake.port, timeout=30) as conn:
            assert conn.sendmail(mail_from, [rcpt], raw) == {}
        intake.wait_idle()
    return Delivery.objects.get()


def test_a_sender_whose_newest_dkim2_signature_passed_is_answered(
    address: str, settings: Any
) -> None:
    settings.DKIM2WEB_SITE_URL = "https://dkim2web.example"
    delivery = _send(chain_to(address, subject="Certs"), mail_from=FORWARDER, rcpt=address)
    assert delivery.reply_state == "sent", delivery.reply_detail
    [reply] = mail.outbox
    assert reply.to == [FORWARDER]
    assert reply.subject.startswith("DKIM2 report (PASS)")
    analysis = Analysis.objects.get()
    assert f"https://dkim2web.example/analyses/{analysis.pk}/" in reply.body
    assert reply.extra_headers["Auto-Submitted"] == "auto-replied"
    assert reply.extra_headers["In-Reply-To"].endswith("@origin.example>")
    assert "passed for <bob@forwarder.example>" in delivery.reply_detail


def test_the_null_sender_is_never_answered(address: str) -> None:
    delivery = _send(chain_to(address), mail_from="", rcpt=address)
    assert mail.outbox == []
    assert delivery.reply_state == "skipped" and "null sender" in delivery.reply_detail


@pytest.mark.parametrize(
    ("build", "mail_from", "why"),
    [
        (
            lambda a: message(sender="x@origin.example", to=a, subject="s", body="b\r\n"),
            "x@origin.example",
            "no DKIM2 signature",
        ),
        (lambda a: chain_to("bob@inbox.example"), FORWARDER, "did not pass"),
        (lambda a: chain_to(a), "victim@forwarder.example", "did not pass"),
    ],
    ids=["unsigned", "replayed", "forged-mail-from"],
)
def test_a_sender_that_did_not_authenticate_is_not_answered(
    address: str, build: Any, mail_from: str, why: str
) -> None:
    delivery = _send(build(address), mail_from=mail_from, rcpt=address)
    assert mail.outbox == []
    assert delivery.reply_state == "skipped"
    assert why in delivery.reply_detail


def test_a_wrapper_signed_with_dkim1_for_its_from_domain_is_answered_when_spf_passed_too(
    address: str, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()
    # The analysis looks the DKIM1 key up like every other (the app's lookup, here the demo
    # zone with this key added); deciding whom to answer asks DNS nothing more.
    zone = StaticResolver.merge(
        demo_zone(), StaticResolver({"origin.example": {"s1._domainkey": [["txt", record]]}})
    )
    monkeypatch.setattr(report_services, "key_lookup_from_settings", lambda: zone)
    # DKIM1 alone proves only that origin.example once sent this; SPF for the MAIL FROM at
    # origin.example's own server (which the trusted MTA in front recorded) proves this copy.
    settings.DKIM2WEB_INTAKE_TRUSTED_RELAYS = ["127.0.0.1"]
    wrapper = attach(
        [chain_to("bob@inbox.example")], sender="Alice <alice@origin.example>", to=address
    )
    signed = (
        dkim.sign(
            wrapper,
            b"s1",
            b"origin.example",
            pem,
            include_headers=[b"from", b"to", b"subject", b"date"],
        )
        + wrapper
    )
    delivery = _send(
        relayed(signed, domain="origin.example"), mail_from="alice@origin.example", rcpt=address
    )
    assert delivery.reply_state == "sent", delivery.reply_detail
    [reply] = mail.outbox
    assert reply.to == ["alice@origin.example"]
    assert "Found inside it" in reply.body and "an original attached" in reply.body
    assert delivery.reply_detail == (
        "a DKIM1 signature (d=origin.example) passed for the From domain origin.example, and "
        "SPF passed for <alice@origin.example> at 192.0.2.10, the client the trusted MTA in "
        "front recorded"
    )
    asked = [str(a.query) for a in zone.dns_answers]
    assert asked.count("s1._domainkey.origin.example TXT") == 1


def test_replies_can_be_turned_off(address: str, settings: Any) -> None:
    settings.DKIM2WEB_INTAKE_REPLY = False
    delivery = _send(chain_to(address), mail_from=FORWARDER, rcpt=address)
    assert delivery.reply_state == "off" and mail.outbox == []


def test_in_the_background_the_analysis_runs_after_250_and_then_the_answer_goes(
    address: str,
) -> None:
    delivery = _send(chain_to(address), mail_from=FORWARDER, rcpt=address, inline_analysis=False)
    assert Analysis.objects.get().status == "done"
    assert delivery.reply_state == "sent" and len(mail.outbox) == 1


def _stored_and_queued(address: str) -> tuple[Delivery, Analysis]:
    # A broker setup: stored and left queued (the worker is elsewhere), no answer yet.
    delivery = _send(
        chain_to(address),
        mail_from=FORWARDER,
        rcpt=address,
        store=lambda **kw: services.delivery_store(**{**kw, "enqueue": False}),
    )
    analysis = Analysis.objects.get()
    assert analysis.status == "queued" and delivery.reply_state == "pending"
    assert services.deliveries_reply_pending() == 0  # nothing finished yet
    return delivery, analysis


def test_a_worker_finishing_the_analysis_answers_the_sender_at_once(address: str) -> None:
    delivery, analysis = _stored_and_queued(address)
    from dkim2web.reports.services import analysis_run

    analysis_run(analysis_id=analysis.pk)  # what the worker does; the hook queues the answer
    delivery.refresh_from_db()
    assert delivery.reply_state == "sent" and len(mail.outbox) == 1
    assert services.deliveries_reply_pending() == 0  # answered once, not again by the poll
    assert tasks.reply_to_sender(str(delivery.pk)) is None  # a duplicate task sends nothing
    assert len(mail.outbox) == 1


def test_the_poll_answers_what_the_hook_missed(
    address: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    delivery, analysis = _stored_and_queued(address)

    def broker_down(*args: Any, **kwargs: Any) -> None:
        raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.reply_to_sender, "delay", broker_down)
    from dkim2web.reports.services import analysis_run

    analysis_run(analysis_id=analysis.pk)
    assert Delivery.objects.get().reply_state == "pending" and mail.outbox == []
    assert f"the answer for delivery {delivery.pk} was not queued" in caplog.text
    # Within the grace the hook may still be at it: the poll leaves the delivery alone.
    assert services.deliveries_reply_pending() == 0 and mail.outbox == []
    later = timezone.now() + services.REPLY_POLL_GRACE + timedelta(seconds=1)
    assert services.deliveries_reply_pending(now=later) == 1
    assert Delivery.objects.get().reply_state == "sent" and len(mail.outbox) == 1


def test_an_answer_left_half_sent_by_a_dead_process_is_failed_not_sent_again(
    address: str,
) -> None:
    delivery, analysis = _stored_and_queued(address)
    claimed = timezone.now()
    Delivery.objects.filter(pk=delivery.pk).update(reply_state="sending", reply_started_at=claimed)
    Analysis.objects.filter(pk=analysis.pk).update(status="done", finished_at=claimed)
    just_before = claimed + services.REPLY_STUCK_AFTER - timedelta(seconds=1)
    assert services.deliveries_reply_pending(now=just_before) == 0
    assert Delivery.objects.get().reply_state == "sending"
    after = claimed + services.REPLY_STUCK_AFTER + timedelta(seconds=1)
    assert services.deliveries_reply_pending(now=after) == 1
    delivery.refresh_from_db()
    assert delivery.reply_state == "failed" and mail.outbox == []
    assert delivery.reply_detail == (
        "the process sending the answer stopped before it could record whether it was "
        "sent; it was not sent again, so that the sender is never answered twice"
    )


def test_claiming_the_answer_records_when(address: str) -> None:
    delivery, analysis = _stored_and_queued(address)
    from dkim2web.reports.services import analysis_run

    before = timezone.now()
    analysis_run(analysis_id=analysis.pk)
    delivery.refresh_from_db()
    assert delivery.reply_state == "sent"
    assert delivery.reply_started_at is not None and delivery.reply_started_at >= before


def test_an_analysis_outside_any_delivery_queues_no_answer(
    address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued: list[Any] = []
    monkeypatch.setattr(tasks.reply_to_sender, "delay", lambda *a: queued.append(a))
    from dkim2web.reports.services import analysis_run, analysis_submit

    upload = analysis_submit(raw=chain_to(address), enqueue=False)
    analysis_run(analysis_id=upload.pk)
    assert queued == [] and mail.outbox == []


def test_automatic_mail_is_not_answered(address: str) -> None:
    raw = b"Auto-Submitted: auto-generated\r\n" + chain_to(address)
    delivery = _send(raw, mail_from=FORWARDER, rcpt=address)
    assert mail.outbox == [] and "automatically" in delivery.reply_detail


def test_a_failing_mail_backend_is_recorded(address: str, settings: Any) -> None:
    settings.EMAIL_BACKEND = "tests.web.test_intake_replies.BrokenBackend"
    delivery = _send(chain_to(address), mail_from=FORWARDER, rcpt=address)
    assert delivery.reply_state == "failed" and "relay refused" in delivery.reply_detail


class BrokenBackend:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def send_messages(self, messages: Any) -> int:
        raise ConnectionRefusedError("relay refused")


def _analysed_without_the_hook(
    address: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[Delivery, Analysis]:
    delivery, analysis = _stored_and_queued(address)
    monkeypatch.setattr(tasks.reply_to_sender, "delay", lambda *args: None)
    from dkim2web.reports.services import analysis_run

    analysis_run(analysis_id=analysis.pk)
    delivery.refresh_from_db()
    assert delivery.reply_state == "pending"
    return delivery, analysis


def test_an_error_before_sending_puts_the_claim_back_and_the_retry_answers(
    address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import OperationalError

    from dkim2web.reports import selectors

    delivery, _ = _analysed_without_the_hook(address, monkeypatch)
    real = selectors.analysis_latest_run

    def blinks(**kwargs: Any) -> Any:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(selectors, "analysis_latest_run", blinks)
    with pytest.raises(OperationalError):
        tasks.reply_to_sender.run(str(delivery.pk))  # the task's own retry takes it from here
    delivery.refresh_from_db()
    assert (delivery.reply_state, delivery.reply_started_at, mail.outbox) == ("pending", None, [])

    monkeypatch.setattr(selectors, "analysis_latest_run", real)
    assert tasks.reply_to_sender.run(str(delivery.pk)) == "sent"
    assert len(mail.outbox) == 1


def test_a_claim_settled_meanwhile_is_not_overwritten(
    address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    delivery, _ = _analysed_without_the_hook(address, monkeypatch)
    real_send = services.EmailMessage.send

    def slow_send(message: Any, *args: Any, **kwargs: Any) -> int:
        # The poll, long after, settled this claim as half sent while the MTA dawdled.
        Delivery.objects.filter(pk=delivery.pk).update(reply_state="failed")
        return real_send(message, *args, **kwargs)

    monkeypatch.setattr(services.EmailMessage, "send", slow_send)
    assert services.delivery_reply(delivery_id=delivery.pk) == "sent"
    assert Delivery.objects.get().reply_state == "failed"  # the first settlement stands
