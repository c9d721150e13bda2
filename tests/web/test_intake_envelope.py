"""The real envelope at work: a chain relayed to the intake address passes; the same kind of
chain signed for someone else and sent to the intake is a replay (S06 §11.4)."""

from __future__ import annotations

import smtplib
from typing import Any

import pytest

from dkim2web.intake import services
from dkim2web.intake.testing import chain_to, running_intake
from dkim2web.reports.models import Analysis
from dkim2web.reports.selectors import analysis_latest_run

pytestmark = pytest.mark.django_db(transaction=True)

FORWARDER = "bob@forwarder.example"


@pytest.fixture
def address(alice: Any) -> str:
    return services.intake_address_get_or_create(user=alice).address


def _deliver(raw: bytes, *, mail_from: str, rcpt: str) -> Any:
    with (
        running_intake(inline_analysis=True) as server,
        smtplib.SMTP("127.0.0.1", server.port, timeout=30) as conn,
    ):
        conn.ehlo("mx.forwarder.example")
        assert conn.sendmail(mail_from, [rcpt], raw) == {}
    analysis = Analysis.objects.get()
    return analysis, analysis_latest_run(analysis=analysis)


def test_a_multi_hop_chain_delivered_with_the_matching_envelope_passes(address: str) -> None:
    analysis, run = _deliver(chain_to(address), mail_from=FORWARDER, rcpt=address)
    assert analysis.envelope_source == "smtp"
    assert run.document["dkim2"]["result"] == "pass", run.summary
    assert run.document["dkim2"]["envelope_checked"] is True
    assert run.document["dkim2"]["envelope"] == {
        "mail_from": f"<{FORWARDER}>",
        "rcpt_to": [f"<{address}>"],
    }
    assert [h["i"] for h in run.document["dkim2"]["hops"]] == [1, 2, 3]
    assert all(h["result"] == "pass" for h in run.document["dkim2"]["hops"])
    # SPF judged the intake's real SMTP client (loopback here, not forwarder.example's
    # published server), and DMARC passes through the DKIM2 chain.
    spf = run.document["spf"]
    assert (spf["source"], spf["ip"], spf["helo"], spf["result"]) == (
        "smtp",
        "127.0.0.1",
        "mx.forwarder.example",
        "fail",
    )
    assert (run.result, run.document["dmarc"]["result"]) == ("pass", "pass")


def test_the_same_chain_signed_for_another_recipient_is_a_replay(address: str) -> None:
    _, run = _deliver(chain_to("bob@inbox.example"), mail_from=FORWARDER, rcpt=address)
    # -09 rules judge (auto): a broken envelope binding is FAIL from -08 (Stalwart 0.15).
    assert run.document["dkim2"]["result"] == "fail"
    messages = [f["message"] for f in run.document["dkim2"]["findings"]]
    assert f"FAIL: DKIM2-Signature i=3 RCPT TO <{address}> did not match" in messages


def test_a_different_mail_from_does_not_match_either(address: str) -> None:
    _, run = _deliver(chain_to(address), mail_from="mallory@relay.example", rcpt=address)
    assert run.document["dkim2"]["result"] == "fail"
    assert any(
        "MAIL FROM <mallory@relay.example> did not match" in f["message"]
        for f in run.document["dkim2"]["findings"]
    )
