"""Whom the intake may answer: an authenticated sender only, never <> (no backscatter)."""

from __future__ import annotations

import base64
import functools

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

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
def _key() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


def _zone(queries: list[bytes]):
    def dnsfunc(name, timeout=5):
        queries.append(name)
        return _key()[1] if name == b"sel._domainkey.origin.example." else None

    return dnsfunc


def _dkim1_signed(sender: str = "Alice <alice@mail.origin.example>", domain=b"origin.example"):
    raw = message(sender=sender, to="me@intake.localhost", subject="Fwd: look", body="hi\r\n")
    sig = dkim.sign(raw, b"sel", domain, _key()[0], include_headers=[b"from", b"subject", b"to"])
    return sig + raw


def test_a_dkim1_signature_aligned_with_the_from_domain_authenticates_it() -> None:
    queries: list[bytes] = []
    decision = sender_auth.dkim1_authenticated(_dkim1_signed(), dnsfunc=_zone(queries))
    assert decision.ok and decision.method == "dkim1"
    assert decision.to == "alice@mail.origin.example"
    assert queries == [b"sel._domainkey.origin.example."]


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (lambda: _dkim1_signed("Mallory <m@relay.example>"), "not aligned"),
        (lambda: _dkim1_signed().replace(b"hi\r\n", b"ho\r\n"), "body hash mismatch"),
        (lambda: _dkim1_signed(domain=b"lists.example"), "fail"),
        (
            lambda: message(sender="a@origin.example", to="x", subject="s", body="b"),
            "no DKIM1 signature",
        ),
        (lambda: _dkim1_signed("a@origin.example, b@origin.example"), "exactly one address"),
    ],
    ids=["not-aligned", "body-changed", "no-key", "unsigned", "two-authors"],
)
def test_dkim1_does_not_authenticate(raw, why: str) -> None:
    decision = sender_auth.dkim1_authenticated(raw(), dnsfunc=_zone([]))
    assert not decision.ok and why in decision.reason


def test_the_null_sender_is_never_answered_even_when_everything_passed() -> None:
    decision = sender_auth.decide(
        raw=_dkim1_signed(), mail_from="<>", report=_report(), dnsfunc=_zone([])
    )
    assert not decision.ok and "null sender" in decision.reason


def test_automatic_mail_is_never_answered() -> None:
    raw = b"Auto-Submitted: auto-replied\r\n" + _dkim1_signed()
    decision = sender_auth.decide(
        raw=raw, mail_from="bob@forwarder.example", report=_report(), dnsfunc=_zone([])
    )
    assert not decision.ok and "automatically" in decision.reason


def test_dkim2_first_then_dkim1_and_otherwise_no_answer() -> None:
    zone = _zone([])
    first = sender_auth.decide(
        raw=_dkim1_signed(), mail_from="bob@forwarder.example", report=_report(), dnsfunc=zone
    )
    assert first.ok and first.method == "dkim2" and first.to == "<bob@forwarder.example>"
    second = sender_auth.decide(
        raw=_dkim1_signed(), mail_from="someone@else.example", report=_report(), dnsfunc=zone
    )
    assert second.ok and second.method == "dkim1" and second.to == "alice@mail.origin.example"
    neither = sender_auth.decide(
        raw=message(sender="a@b.example", to="x", subject="s", body="b"),
        mail_from="a@b.example",
        report=_report(),
        dnsfunc=zone,
    )
    assert not neither.ok and neither.reason.startswith("the sender did not authenticate")
