"""Whom the intake may answer: an authenticated sender only, never <> (no backscatter)."""

from __future__ import annotations

import base64
import functools

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from analysis.message_report import analyze_message
from analysis.resolvers import StaticResolver
from dkim2web.intake import sender_auth
from dkim2web.intake.testing import message


def _report(
    *,
    result="pass",
    d="forwarder.example",
    mf="<bob@forwarder.example>",
    m=1,
    instance="pass",
    checked=True,
) -> dict:
    return {
        "envelope_checked": checked,
        "hops": [
            {
                "i": 1,
                "d": "origin.example",
                "mail_from": "<alice@origin.example>",
                "result": "pass",
                "m": 1,
            },
            {"i": 2, "d": d, "mail_from": mf, "result": result, "m": m},
        ],
        "instances": [{"m": 1, "result": instance}],
    }


@pytest.mark.parametrize(
    ("report", "mail_from", "ok", "why"),
    [
        (_report(), "bob@forwarder.example", True, "passed for <bob@forwarder.example>"),
        (_report(), "<bob@FORWARDER.example>", True, "passed"),
        (_report(d="example"), "bob@forwarder.example", True, "passed"),
        (_report(result="permerror"), "bob@forwarder.example", False, "did not pass"),
        (_report(checked=False), "bob@forwarder.example", False, "envelope was not checked"),
        (_report(), "carol@forwarder.example", False, "another MAIL FROM"),
        (_report(d="relay.example"), "bob@forwarder.example", False, "not for the MAIL FROM"),
        (_report(instance="fail"), "bob@forwarder.example", False, "m=1 did not verify"),
        (_report(), "<>", False, "null sender"),
        ({"hops": []}, "bob@forwarder.example", False, "no DKIM2 signature"),
    ],
)
def test_dkim2_authenticates_the_mail_from_only_when_the_newest_hop_passed_for_it(
    report: dict, mail_from: str, ok: bool, why: str
) -> None:
    decision = sender_auth.dkim2_authenticated(report, mail_from)
    assert decision.ok is ok and why in decision.reason
    assert decision.to == ("<bob@forwarder.example>" if ok else "")


@functools.cache
def _key() -> tuple[bytes, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def _analysed(raw: bytes) -> dict:
    """The whole-message report of ``raw``, its keys from a static zone (no network)."""
    zone = {"origin.example": {"sel._domainkey": [["txt", _key()[1]]]}}
    return analyze_message(raw, lookup=StaticResolver(zone)).to_json()


def _dkim1_signed(sender: str = "Alice <alice@mail.origin.example>", domain=b"origin.example"):
    raw = message(sender=sender, to="me@intake.localhost", subject="Fwd: look", body="hi\r\n")
    sig = dkim.sign(raw, b"sel", domain, _key()[0], include_headers=[b"from", b"subject", b"to"])
    return sig + raw


def test_a_dkim1_signature_aligned_with_the_from_domain_authenticates_it() -> None:
    raw = _dkim1_signed()
    decision = sender_auth.dkim1_authenticated(raw, _analysed(raw))
    assert decision.ok and decision.method == "dkim1"
    assert decision.to == "alice@mail.origin.example"
    assert decision.reason == "a DKIM1 signature (d=origin.example) passed for mail.origin.example"


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (lambda: _dkim1_signed("Mallory <m@relay.example>"), "pass, not aligned with"),
        (
            lambda: _dkim1_signed().replace(b"hi\r\n", b"ho\r\n"),
            "d=origin.example: fail at the body-hash step",
        ),
        (
            lambda: _dkim1_signed(domain=b"lists.example"),
            "d=lists.example: permerror at the key step",
        ),
        (
            lambda: message(sender="a@origin.example", to="x", subject="s", body="b"),
            "no DKIM1 signature",
        ),
        (lambda: _dkim1_signed("a@origin.example, b@origin.example"), "exactly one address"),
    ],
    ids=["not-aligned", "body-changed", "no-key", "unsigned", "two-authors"],
)
def test_dkim1_does_not_authenticate(raw, why: str) -> None:
    message_bytes = raw()
    decision = sender_auth.dkim1_authenticated(message_bytes, _analysed(message_bytes))
    assert not decision.ok and why in decision.reason


def test_the_null_sender_is_never_answered_even_when_everything_passed() -> None:
    raw = _dkim1_signed()
    decision = sender_auth.decide(raw=raw, mail_from="<>", report=_with_chain(raw, _report()))
    assert not decision.ok and "null sender" in decision.reason


def test_automatic_mail_is_never_answered() -> None:
    raw = b"Auto-Submitted: auto-replied\r\n" + _dkim1_signed()
    decision = sender_auth.decide(
        raw=raw, mail_from="bob@forwarder.example", report=_with_chain(raw, _report())
    )
    assert not decision.ok and "automatically" in decision.reason


def _with_chain(raw: bytes, chain: dict) -> dict:
    """The report of ``raw`` (its DKIM1 verdicts) with this DKIM2 chain in it."""
    return {**_analysed(raw), "dkim2": chain}


def test_dkim2_first_then_dkim1_and_otherwise_no_answer() -> None:
    signed = _dkim1_signed()
    report = _with_chain(signed, _report())
    first = sender_auth.decide(raw=signed, mail_from="bob@forwarder.example", report=report)
    assert first.ok and first.method == "dkim2" and first.to == "<bob@forwarder.example>"
    second = sender_auth.decide(raw=signed, mail_from="someone@else.example", report=report)
    assert second.ok and second.method == "dkim1" and second.to == "alice@mail.origin.example"
    plain = message(sender="a@b.example", to="x", subject="s", body="b")
    neither = sender_auth.decide(
        raw=plain, mail_from="a@b.example", report=_with_chain(plain, _report())
    )
    assert not neither.ok and neither.reason.startswith("the sender did not authenticate")


def test_a_message_not_analysed_yet_is_not_answered() -> None:
    decision = sender_auth.decide(raw=_dkim1_signed(), mail_from="a@b.example", report=None)
    assert (decision.ok, decision.reason) == (False, "the message has not been analysed")
