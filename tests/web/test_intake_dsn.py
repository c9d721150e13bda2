"""Bounces: allowed where DKIM2 lets a bounce go (S06 §12, §12.1.2), backscatter elsewhere."""

from __future__ import annotations

import pytest

from analysis import dsn
from dkim2web.intake import plan
from dkim2web.intake.testing import attach, bounce, message, sign_hop

ALICE = "<alice@origin.example>"
BOB = "<bob@forwarder.example>"


def _original(
    *, mail_from: str = ALICE, signer: str = "origin.example", revision: str = "09"
) -> bytes:
    msg = message(
        sender="Alice <alice@origin.example>",
        to="bob@forwarder.example",
        subject="Quarterly figures",
        body="The figures are on the portal.\r\n",
    )
    return sign_hop(msg, domain=signer, mail_from=mail_from, rcpt_to=[BOB], revision=revision)


def _judge(raw: bytes, *, smtp_mail_from: str | None = None) -> dict:
    item = plan.plan(raw, smtp_mail_from=smtp_mail_from)
    assert item.kind == plan.DSN
    return item.dsn["verdict"]


def _failed(verdict: dict) -> set[str]:
    return {c["code"] for c in verdict["checks"] if c["ok"] is False}


def test_a_bounce_to_the_newest_mf_from_a_recipient_domain_is_allowed() -> None:
    original = _original()
    raw = bounce(original, signer="forwarder.example", to=ALICE)
    item = plan.plan(raw, smtp_mail_from="<>")
    verdict = item.dsn["verdict"]
    assert verdict["verdict"] == dsn.ALLOWED, verdict
    assert all(c["ok"] for c in verdict["checks"])
    assert {c["code"] for c in verdict["checks"]} >= {
        "dsn.returned-mf",
        "dsn.null-sender",
        "dsn.smtp-null-sender",
        "dsn.addressed",
        "dsn.aligned",
        "dsn.returned-hash",
    }
    # The returned message is analysed too, exactly as it came back.
    assert [c.kind for c in item.children] == [plan.RETURNED]
    assert item.children[0].raw == original
    status = item.dsn["status"]
    assert status["recipients"][0]["status"] == "5.1.1"
    assert status["per_message"]["reporting-mta"] == "dns; mx.forwarder.example"


def test_a_bounce_of_the_header_block_only_is_checked_against_the_header_hash() -> None:
    raw = bounce(_original(), signer="forwarder.example", to=ALICE, headers_only=True)
    item = plan.plan(raw)
    assert item.dsn["verdict"]["verdict"] == dsn.ALLOWED
    assert item.children == []
    assert item.notes[0]["code"] == "intake.dsn-headers-only"


@pytest.mark.parametrize(
    ("build", "failing"),
    [
        # Someone forged Alice's From: on mail signed for mallory@relay.example; the bouncer
        # wrote to Alice anyway: the classic backscatter.
        (
            lambda: bounce(
                # signed by -06 rules: a -07 or later signer refuses a From it is not
                # Authentic for (SPEC-09-NOTES 1.7)
                _original(
                    mail_from="<mallory@relay.example>", signer="relay.example", revision="06"
                ),
                signer="forwarder.example",
                to=ALICE,
            ),
            {"dsn.addressed"},
        ),
        (lambda: bounce(_original(), signer=None, to=ALICE), {"dsn.unsigned"}),
        (lambda: bounce(_original(), signer="news.example", to=ALICE), {"dsn.aligned"}),
        (
            lambda: bounce(_original(mail_from="<>"), signer="forwarder.example", to=ALICE),
            {"dsn.returned-null-mf"},
        ),
        (
            lambda: bounce(
                _original().replace(b"on the portal", b"in the attachment"),
                signer="forwarder.example",
                to=ALICE,
            ),
            {"dsn.returned-hash"},
        ),
        (
            lambda: bounce(
                _original(),
                signer="forwarder.example",
                to=ALICE,
                mail_from="<postmaster@forwarder.example>",
            ),
            {"dsn.null-sender"},
        ),
    ],
    ids=["wrong-address", "unsigned", "not-aligned", "null-mf", "altered", "not-null-sender"],
)
def test_backscatter_is_named_with_the_rule_it_broke(build, failing: set[str]) -> None:
    verdict = _judge(build())
    assert verdict["verdict"] == dsn.BACKSCATTER
    assert _failed(verdict) == failing
    assert verdict["summary"].startswith("Backscatter")


def test_a_bounce_arriving_with_a_non_null_mail_from_is_backscatter() -> None:
    raw = bounce(_original(), signer="forwarder.example", to=ALICE)
    verdict = _judge(raw, smtp_mail_from="<postmaster@forwarder.example>")
    assert _failed(verdict) == {"dsn.smtp-null-sender"}


def test_a_bounce_of_a_message_without_dkim2_is_not_judged() -> None:
    unsigned = message(
        sender="alice@origin.example",
        to="bob@forwarder.example",
        subject="old style",
        body="no DKIM2 here\r\n",
    )
    verdict = _judge(bounce(unsigned, signer="forwarder.example", to=ALICE))
    assert verdict["verdict"] == dsn.UNDETERMINED
    assert "no DKIM2-Signature" in verdict["summary"]


def test_a_bounce_returning_nothing_is_not_judged() -> None:
    raw = bounce(_original(), signer="forwarder.example", to=ALICE)
    start = raw.index(b"Content-Type: message/rfc822")
    raw = raw[:start] + b"Content-Type: text/plain\r\n\r\ngone\r\n--==dsn-boundary==--\r\n"
    item = plan.plan(raw)
    assert item.dsn["verdict"]["verdict"] == dsn.UNDETERMINED
    assert "neither" in item.dsn["status"]["notes"][0]


def test_a_bounce_forwarded_as_an_attachment_is_judged_and_its_returned_message_kept() -> None:
    original = _original()
    the_bounce = bounce(original, signer="forwarder.example", to=ALICE)
    item = plan.plan(attach([the_bounce]))
    assert item.kind == plan.WRAPPER
    [child] = item.children
    assert child.kind == plan.ATTACHED and child.raw == the_bounce
    assert child.dsn["verdict"]["verdict"] == dsn.ALLOWED
    assert [g.raw for g in child.children] == [original]
