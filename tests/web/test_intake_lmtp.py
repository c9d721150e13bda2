"""LMTP (behind Postfix or another MTA): one reply per recipient, each from its own store."""

from __future__ import annotations

import smtplib
from typing import Any

import pytest

from dkim2web.intake import services
from dkim2web.intake.models import Delivery
from dkim2web.intake.testing import message, running_intake
from dkim2web.reports.models import Analysis

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def addresses(alice: Any, bob: Any) -> tuple[str, str]:
    return (
        services.intake_address_get_or_create(user=alice).address,
        services.intake_address_get_or_create(user=bob).address,
    )


def _lmtp(server: Any) -> smtplib.LMTP:
    conn = smtplib.LMTP("127.0.0.1", server.port, local_hostname="mx.example", timeout=30)
    code, _ = conn.ehlo("mx.example")  # smtplib.LMTP sends LHLO
    assert code == 250
    return conn


def _raw() -> bytes:
    return message(sender="alice@origin.example", to="x", subject="via lmtp", body="hi\r\n")


def test_each_recipient_gets_its_own_reply(addresses: tuple[str, str]) -> None:
    raw = _raw()
    with running_intake(lmtp=True, inline_analysis=True) as server, _lmtp(server) as conn:
        conn.mail("alice@origin.example")
        for rcpt in addresses:
            assert conn.rcpt(rcpt)[0] == 250
        first = conn.data(raw)
        second = conn.getreply()
    assert first[0] == 250 and addresses[0].encode() in first[1]
    assert second[0] == 250 and addresses[1].encode() in second[1]
    deliveries = Delivery.objects.all()
    assert {d.protocol for d in deliveries} == {"lmtp"}
    assert {d.helo for d in deliveries} == {"mx.example"}
    assert sorted(a.raw_bytes == raw for a in Analysis.objects.all()) == [True, True]


def test_a_recipient_whose_copy_failed_gets_451_and_the_others_250(
    addresses: tuple[str, str], bob: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = services._store_owner

    def store_owner(**kwargs: Any) -> Any:
        if kwargs["recipients"][0].owner_id == bob.pk:
            raise RuntimeError("bob's disk is full")
        return real(**kwargs)

    monkeypatch.setattr(services, "_store_owner", store_owner)
    with running_intake(lmtp=True, inline_analysis=True) as server, _lmtp(server) as conn:
        conn.mail("alice@origin.example")
        for rcpt in addresses:
            conn.rcpt(rcpt)
        first = conn.data(_raw())
        second = conn.getreply()
        assert conn.noop()[0] == 250  # and the session is in step
    assert first[0] == 250
    assert second[0] == 451 and second[1].startswith(b"4.3.0")
    assert [d.owner.username for d in Delivery.objects.all()] == ["alice"]
    assert not Analysis.objects.filter(owner=bob).exists()


def test_lmtp_refuses_helo_and_ehlo(addresses: tuple[str, str]) -> None:
    with running_intake(lmtp=True, inline_analysis=True) as server:
        conn = smtplib.SMTP("127.0.0.1", server.port, timeout=10)
        assert conn.docmd("EHLO", "x.example")[0] == 500
        assert conn.docmd("HELO", "x.example")[0] == 500
        assert conn.docmd("LHLO", "x.example")[0] == 250
        conn.quit()
