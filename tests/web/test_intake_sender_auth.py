"""Whom the intake may answer: an address the delivery itself proves, never <>, never a robot.

The decision reads the engine's verdicts in the stored report; these tests make that report
with the engine itself (the demo zone: news.example's server is 192.0.2.60, forwarder.example's
203.0.113.30, both in their SPF records) or, for the DKIM2 rules alone, write its section.
"""

from __future__ import annotations

from typing import Any

import pytest

from analysis.message_report import analyze_message
from analysis.received import SmtpContext
from analysis.resolvers import StaticResolver
from dkim2web.intake import sender_auth
from dkim2web.intake.testing import chain_to, dkim1_signed, message, newsletter, relayed
from dkim2web.samples.keys import demo_zone

INTAKE = "a-0123@intake.localhost"

# CVE-2023-27043 (CPython gh-102988): the published strings, which Python 3.11's
# email.utils.parseaddr / getaddresses read as one address or as the wrong one.
CVE_2023_27043 = [
    "alice@example.org)<bob@example.org>",
    "alice@example.org(<bob@example.org>",
    "alice@example.org<<bob@example.org>",
    "alice@example.org@<bob@example.org>",
    "alice@example.org[<bob@example.org>",
    "alice@example.org]<bob@example.org>",
    "alice@example.org,<bob@example.org>",
    "alice@example.org:<bob@example.org>",
    "alice@example.org;<bob@example.org>",
]


def _dkim2_section(
    *,
    result: str = "pass",
    d: str = "forwarder.example",
    mf: str = "<bob@forwarder.example>",
    m: int = 1,
    instance: str = "pass",
    checked: bool = True,
) -> dict[str, Any]:
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


BOB = sender_auth.Mailbox("bob", "forwarder.example")


@pytest.mark.parametrize(
    ("section", "sender", "reason"),
    [
        (
            _dkim2_section(d="forwarder.example"),
            BOB,
            "the newest DKIM2 signature (i=2, d=forwarder.example) passed for "
            "<bob@forwarder.example>",
        ),
        (
            _dkim2_section(d="forwarder.example", mf="<bob@mail.forwarder.example>"),
            sender_auth.Mailbox("bob", "mail.forwarder.example"),
            "the newest DKIM2 signature (i=2, d=forwarder.example) passed for "
            "<bob@mail.forwarder.example>",
        ),
        (
            _dkim2_section(d="example"),
            BOB,
            "the newest DKIM2 signature (i=2, d=example) is not for the MAIL FROM domain "
            "forwarder.example",
        ),
        (
            _dkim2_section(result="permerror"),
            BOB,
            "the newest DKIM2 signature (i=2, d=forwarder.example) did not pass (permerror)",
        ),
        (_dkim2_section(checked=False), BOB, "the envelope was not checked against the signature"),
        (
            _dkim2_section(),
            sender_auth.Mailbox("carol", "forwarder.example"),
            "the newest DKIM2 signature (i=2, d=forwarder.example) names another MAIL FROM "
            "than <carol@forwarder.example>",
        ),
        (
            _dkim2_section(d="relay.example"),
            BOB,
            "the newest DKIM2 signature (i=2, d=relay.example) is not for the MAIL FROM domain "
            "forwarder.example",
        ),
        (_dkim2_section(instance="fail"), BOB, "Message-Instance m=1 did not verify"),
        (_dkim2_section(m=2), BOB, "Message-Instance m=2 did not verify"),  # none reported
        ({"hops": []}, BOB, "the message carries no DKIM2 signature"),
    ],
)
def test_dkim2_proves_the_mail_from_only_when_the_newest_hop_passed_for_it(
    section: dict[str, Any], sender: sender_auth.Mailbox, reason: str
) -> None:
    decision = sender_auth.dkim2_authenticated(section, sender)
    assert decision.reason == reason
    proved = " passed for " in reason
    assert (decision.ok, decision.to) == ((True, sender.path) if proved else (False, ""))


# -- strict addresses (CVE-2023-27043) --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("<bob@forwarder.example>", "bob@forwarder.example"),
        ("bob@FORWARDER.example", "bob@forwarder.example"),
        ("<first.last+tag@mail.news.example.>", "first.last+tag@mail.news.example"),
    ],
)
def test_a_plain_reverse_path_is_read(text: str, address: str) -> None:
    parsed = sender_auth.parse_reverse_path(text)
    assert parsed is not None and parsed.address == address


@pytest.mark.parametrize("text", ["", "<>", "  <> "])
def test_the_null_reverse_path_is_none(text: str) -> None:
    assert sender_auth.parse_reverse_path(text) is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        *[
            (f"<{s}>", f"the local part of {s!r} is not a plain dot-atom (RFC 5321 §4.1.2)")
            for s in CVE_2023_27043
        ],
        ("<@relay.example:bob@forwarder.example>", "carries a source route"),
        ('<"bob smith"@forwarder.example>', "is not a plain dot-atom"),
        ("<bob@[192.0.2.1]>", "is not a domain name"),
        ("<bob@localhost>", "is not a domain name"),
        ("<bob@forwarder.example", "has unbalanced angle brackets"),
        ("<bob@forwarder.example>\r\nRCPT TO:<x@y.example>", "is not a plain dot-atom"),
        ("<bob..smith@forwarder.example>", "is not a plain dot-atom"),
        ("<bob@-forwarder.example>", "is not a domain name"),
        ("<bob@forwarder.123>", "is not a domain name"),
    ],
)
def test_anything_but_one_plain_reverse_path_is_refused(text: str, why: str) -> None:
    with pytest.raises(sender_auth.AddressError) as refused:
        sender_auth.parse_reverse_path(text)
    assert why in str(refused.value)


@pytest.mark.parametrize("exploit", CVE_2023_27043)
def test_the_published_cve_2023_27043_strings_are_not_one_mailbox(exploit: str) -> None:
    # An unpatched Python 3.11 finds an address in each (parseaddr takes alice from the
    # first); the intake finds none, so none of them can decide an answer.
    with pytest.raises(sender_auth.AddressError) as refused:
        sender_auth.parse_mailbox(exploit)
    assert str(refused.value) == (
        f"the display name of {exploit!r} holds characters outside a phrase or quoted string "
        "(a comment, a second address or a group)"
    )


@pytest.mark.parametrize(
    ("value", "address"),
    [
        ("letters@news.example", "letters@news.example"),
        ("News <letters@news.example>", "letters@news.example"),
        ('"News, weekly" <letters@news.example>', "letters@news.example"),
        ("=?utf-8?q?Caf=C3=A9?= <letters@news.example>", "letters@news.example"),
        ("J. R. Doe <jr@news.example>", "jr@news.example"),
    ],
)
def test_a_from_mailbox_is_read(value: str, address: str) -> None:
    assert sender_auth.parse_mailbox(value).address == address


@pytest.mark.parametrize(
    "value",
    [
        "News (weekly) <letters@news.example>",
        "letters@news.example, victim@inbox.example",
        '"x" <letters@news.example> <victim@inbox.example>',
        "list: letters@news.example;",
        "<@relay.example:letters@news.example>",
    ],
)
def test_a_from_field_with_comments_groups_or_two_addresses_is_refused(value: str) -> None:
    with pytest.raises(sender_auth.AddressError):
        sender_auth.parse_mailbox(value)


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("<letter.1@news.example>", "<letter.1@news.example>"),
        (" <a$b@[192.0.2.1]> ", "<a$b@[192.0.2.1]>"),
        ("<letter.1@news.example> Bcc: victim@inbox.example", None),
        ("<letter.1@news.example>\r\nBcc: victim@inbox.example", None),
        ("letter.1@news.example", None),
        ("<no-at-sign>", None),
        ("<" + "x" * 250 + "@news.example>", None),
    ],
)
def test_a_message_id_is_copied_only_in_the_strict_syntax(value: str, parsed: str | None) -> None:
    assert sender_auth.parse_message_id(value) == parsed


# -- the header block ---------------------------------------------------------------------------


def test_the_header_block_is_split_strictly() -> None:
    header = sender_auth.read_header(b"Subject: one\r\n two\r\nX-A: 1\r\nsubject: three\r\n\r\nb")
    assert header.all("subject") == [" one two", " three"]
    for broken, why in [
        (b"Subject: a\r\nnot a field\r\n\r\nbody", "line 2 of the header block"),
        (b" continued\r\nSubject: a\r\n\r\n", "starts with a continuation line"),
    ]:
        with pytest.raises(sender_auth.HeaderError) as refused:
            sender_auth.read_header(broken)
        assert why in str(refused.value)


def test_a_header_block_too_large_to_read_to_its_end_is_refused() -> None:
    raw = b"X-Pad: " + b"x" * (1024 * 1024) + b"\r\nSubject: hidden\r\n\r\nbody"
    with pytest.raises(sender_auth.HeaderError) as refused:
        sender_auth.read_header(raw)
    assert str(refused.value) == (
        "the header block is larger than 1,048,576 bytes, so it was not read to its end"
    )


# -- the whole decision, on the engine's own report ---------------------------------------------


def _analysed(
    raw: bytes,
    *,
    mail_from: str,
    ip: str | None,
    lookup: Any = None,
) -> dict[str, Any]:
    """The whole-message report of ``raw`` as the intake gets it: delivered by ``ip`` (None:
    by the trusted MTA in front, so the engine reads the client from its Received field)."""
    context = SmtpContext(
        client_ip=ip,
        helo=None,
        mail_from=mail_from,
        rcpt_to=[f"<{INTAKE}>"],
        source="smtp",
        detail="seen by the intake",
    )
    return analyze_message(raw, lookup=lookup or demo_zone(), smtp=context).to_json()


def _decide(
    raw: bytes, *, mail_from: str, ip: str | None, lookup: Any = None
) -> sender_auth.Decision:
    report = _analysed(raw, mail_from=mail_from, ip=ip, lookup=lookup)
    return sender_auth.decide(
        raw=raw,
        mail_from=mail_from,
        report=report,
        client_ip=ip or "127.0.0.1",
        relayed=ip is None,
    )


def test_a_dkim1_signed_newsletter_resent_by_a_stranger_is_not_answered() -> None:
    decision = _decide(newsletter(), mail_from="<mallory@relay.example>", ip="127.0.0.1")
    assert (decision.ok, decision.to) == (False, "")
    assert decision.reason == (
        "the delivery does not prove the address <mallory@relay.example>: the message carries "
        "no DKIM2 signature; SPF for relay.example is fail, not pass, at 127.0.0.1 (the client "
        "that connected)"
    )


def test_a_stranger_with_spf_for_their_own_domain_proves_only_their_own_domain() -> None:
    # forwarder.example's own server resends news.example's signed letter: SPF passes for
    # forwarder.example, which is not news.example's organisation.
    decision = _decide(newsletter(), mail_from="<bob@forwarder.example>", ip="203.0.113.30")
    assert not decision.ok
    assert decision.reason.endswith(
        "the MAIL FROM domain forwarder.example (Organizational Domain forwarder.example) is "
        "not in the organisation of the From domain news.example (news.example)"
    )


def test_a_stranger_using_the_authors_domain_in_mail_from_fails_spf() -> None:
    decision = _decide(newsletter(), mail_from="<letters@news.example>", ip="203.0.113.30")
    assert not decision.ok
    assert decision.reason.endswith(
        "SPF for news.example is fail, not pass, at 203.0.113.30 (the client that connected)"
    )


def test_dkim1_with_spf_at_the_authors_own_server_proves_the_mail_from() -> None:
    decision = _decide(newsletter(), mail_from="<bounces@news.example>", ip="192.0.2.60")
    assert (decision.ok, decision.to, decision.method) == (
        True,
        "<bounces@news.example>",
        "dkim1+spf",
    )
    assert decision.reason == (
        "a DKIM1 signature (d=news.example) passed for the From domain news.example, and SPF "
        "passed for <bounces@news.example> at 192.0.2.60, the client that connected"
    )
    assert decision.covered == {"from", "to", "subject", "date", "message-id"}


def test_a_mail_from_in_a_subdomain_of_the_same_organisation_is_proved() -> None:
    zone = StaticResolver.merge(
        demo_zone(),
        StaticResolver({"news.example": {"bounce": [["txt", "v=spf1 ip4:192.0.2.60 -all"]]}}),
    )
    decision = _decide(
        newsletter(), mail_from="<b-1@bounce.news.example>", ip="192.0.2.60", lookup=zone
    )
    assert (decision.ok, decision.to) == (True, "<b-1@bounce.news.example>")


def test_through_the_trusted_mta_spf_is_judged_at_the_client_it_recorded() -> None:
    decision = _decide(relayed(newsletter()), mail_from="<bounces@news.example>", ip=None)
    assert (decision.ok, decision.to) == (True, "<bounces@news.example>")
    assert decision.reason.endswith(
        "SPF passed for <bounces@news.example> at 192.0.2.60, the client the trusted MTA in "
        "front recorded"
    )


def test_through_the_trusted_mta_only_its_own_newest_received_field_counts() -> None:
    # Below an internal hop the border would be a field the MTA did not necessarily write.
    inner = b"Received: from localhost (localhost [127.0.0.1]) by mx.intake.example; "
    raw = inner + b"Sat, 28 Nov 2026 10:00:01 +0000\r\n" + relayed(newsletter())
    decision = _decide(raw, mail_from="<bounces@news.example>", ip=None)
    assert not decision.ok
    assert decision.reason.endswith(
        "the message came through a trusted MTA, but SPF was not evaluated at the client that "
        "MTA recorded in the newest Received field"
    )


def test_a_received_field_is_worth_nothing_from_a_client_that_is_not_a_trusted_mta() -> None:
    raw = relayed(newsletter())
    report = _analysed(raw, mail_from="<bounces@news.example>", ip=None)
    decision = sender_auth.decide(
        raw=raw,
        mail_from="<bounces@news.example>",
        report=report,
        client_ip="127.0.0.1",
        relayed=False,
    )
    assert not decision.ok
    assert decision.reason.endswith(
        "SPF was not evaluated at the client that connected (127.0.0.1)"
    )


@pytest.mark.parametrize(
    ("build", "why"),
    [
        (
            lambda: dkim1_signed(
                message(sender="letters@news.example", to="x@y.example", subject="s", body="b"),
                domain="forwarder.example",
            ),
            "no DKIM1 signature passed for the From domain (d=forwarder.example: pass, not "
            "aligned with news.example)",
        ),
        (
            lambda: b"From: victim@inbox.example\r\n" + newsletter(),
            "the message has 2 From fields, not one",
        ),
        (
            lambda: newsletter().replace(b"This week", b"Next week"),
            "no DKIM1 signature passed for the From domain (d=news.example: fail at the "
            "body-hash step)",
        ),
        (
            lambda: dkim1_signed(
                message(sender="letters@news.example", to="x@y.example", subject="s", body="b"),
                domain="news.example",
                signed=("to", "subject"),
            ),
            "no DKIM1 signature passed for the From domain (d=news.example: policy at the "
            "policy step)",
        ),
    ],
    ids=["not-aligned", "two-from-fields", "body-changed", "from-not-signed"],
)
def test_dkim1_does_not_prove_the_from_domain(build: Any, why: str) -> None:
    decision = _decide(build(), mail_from="<bounces@news.example>", ip="192.0.2.60")
    assert not decision.ok and decision.reason.endswith(why)


@pytest.mark.parametrize("joint", [")", "(", "<", "@", "[", "]", ",", ":", ";"])
def test_a_signed_from_field_shaped_like_cve_2023_27043_proves_nothing(joint: str) -> None:
    # The published strings' shape, signed by the domain of their first address.
    author = f"letters@news.example{joint}<victim@inbox.example>"
    raw = dkim1_signed(
        message(sender=author, to="x@y.example", subject="s", body="b\r\n"),
        domain="news.example",
    )
    decision = _decide(raw, mail_from="<bounces@news.example>", ip="192.0.2.60")
    assert not decision.ok
    assert "the From field is not one plain address" in decision.reason


def test_the_null_sender_is_never_answered_even_when_everything_passed() -> None:
    raw = newsletter()
    report = _analysed(raw, mail_from="<bounces@news.example>", ip="192.0.2.60")
    decision = sender_auth.decide(raw=raw, mail_from="<>", report=report, client_ip="192.0.2.60")
    assert decision.reason == (
        "the message came from the null sender <>: no answer is sent, so the analyser never "
        "produces backscatter"
    )


@pytest.mark.parametrize(
    "field",
    [b"Auto-Submitted: auto-replied", b"auto-submitted: auto-generated", b"Precedence: bulk"],
)
def test_automatic_mail_is_never_answered(field: bytes) -> None:
    raw = field + b"\r\n" + chain_to(INTAKE)
    decision = sender_auth.decide(
        raw=raw,
        mail_from="bob@forwarder.example",
        report={"dkim2": _dkim2_section()},
        client_ip="127.0.0.1",
    )
    assert decision.reason == (
        "the message says it was sent automatically (Auto-Submitted or Precedence): robots "
        "are not answered"
    )


def test_a_message_not_analysed_yet_is_not_answered() -> None:
    decision = sender_auth.decide(raw=newsletter(), mail_from="a@b.example", report=None)
    assert (decision.ok, decision.reason) == (False, "the message has not been analysed")


@pytest.mark.parametrize("exploit", CVE_2023_27043)
def test_a_mail_from_carrying_a_cve_2023_27043_string_is_not_answered(exploit: str) -> None:
    decision = sender_auth.decide(
        raw=chain_to(INTAKE),
        mail_from=f"<{exploit}>",
        report={"dkim2": _dkim2_section(mf=f"<{exploit}>")},
        client_ip="127.0.0.1",
    )
    assert not decision.ok
    assert decision.reason.startswith("the MAIL FROM is not one plain address: ")


# -- what the answer copies (finding 3's Subject; CVE-2024-6923) ------------------------------

PROVED_BY_DKIM1 = sender_auth.Decision(
    True, "<bounces@news.example>", "proved", "dkim1+spf", frozenset({"from", "to"})
)
PROVED_BY_DKIM2 = sender_auth.Decision(
    True, "<bob@forwarder.example>", "proved", "dkim2", frozenset({"subject", "message-id"})
)


def test_a_prepended_subject_is_not_the_one_copied() -> None:
    raw = b"Subject: Your account is locked\r\n" + newsletter(subject="Weekly letter")
    decision = _decide(raw, mail_from="<bounces@news.example>", ip="192.0.2.60")
    assert decision.ok  # the signature still verifies: it covers the last Subject only
    fields = sender_auth.reply_fields(raw, decision)
    assert fields.subject == "Weekly letter"


def test_a_field_the_proof_does_not_cover_is_not_copied() -> None:
    raw = b"Subject: hello\r\nMessage-ID: <m.1@news.example>\r\n\r\nbody"
    fields = sender_auth.reply_fields(raw, PROVED_BY_DKIM1)
    assert fields == sender_auth.ReplyFields(None, None, "<m.1@news.example>")
    assert sender_auth.reply_fields(raw, PROVED_BY_DKIM2) == sender_auth.ReplyFields(
        "hello", "<m.1@news.example>", "<m.1@news.example>"
    )


@pytest.mark.parametrize(
    ("subject", "copied"),
    [
        # CVE-2024-6923 (CPython gh-121650): the published encoded word decodes to a newline.
        ("Here's an =?UTF-8?Q?embedded_newline=0A?=", "Here's an embedded newline"),
        ("=?UTF-8?Q?hi=0D=0ABcc:_victim@inbox.example?=", "hi Bcc: victim@inbox.example"),
        ("=?UTF-8?Q?a=00b=E2=80=AEtxt.exe?=", "a b txt.exe"),
        ("=?UTF-8?Q?caf=C3=A9?=", "café"),
    ],
)
def test_a_copied_subject_is_one_clean_line(subject: str, copied: str) -> None:
    raw = f"Subject: {subject}\r\n\r\nbody".encode()
    assert sender_auth.reply_fields(raw, PROVED_BY_DKIM2).subject == copied


def test_a_malformed_message_id_is_not_copied_even_when_covered() -> None:
    raw = b"Message-ID: <m.1@news.example>\r\n Bcc: victim@inbox.example\r\n\r\nbody"
    assert sender_auth.reply_fields(raw, PROVED_BY_DKIM2) == sender_auth.ReplyFields(None, None, "")
