"""The "Try a sample" gallery: DKIM2 chains signed here, at request time, with demo keys.

Each sample is signed with :func:`analysis.dkim2.sign.sign` when it is asked for, with
timestamps relative to ``now``, so it never expires (except the one meant to). All
domains are under ``.example`` and their keys are served by
:func:`dkim2web.samples.keys.demo_zone`, so analysing a sample needs no network.

A sample comes with the SMTP envelope of its final delivery, which is what lets the
receiver check the newest signature's ``mf=``/``rt=`` (the replay defence).

Each hop signs by the rules of a named revision (:mod:`analysis.dkim2.revisions`): -09, the
newest, unless the sample is about an older signer. Only -06 is public text; the rules of
-07, -08 and -09 are second-hand (SPEC-09-NOTES), and the samples that show them say so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from analysis.dkim2.sign import sign

from . import mailauth
from .keys import (
    DEMO_SERVERS,
    mldsa44_signing_key,
    private_key,
    rsa_private_key,
    rsa_signing_key,
    signing_key,
)

CRLF = b"\r\n"
DAY = 24 * 3600


@dataclass(frozen=True)
class BuiltSample:
    """One freshly signed sample: the bytes as delivered and the final delivery's envelope."""

    raw: bytes
    mail_from: str
    rcpt_to: list[str]
    filename: str


@dataclass(frozen=True)
class Sample:
    slug: str
    title: str
    what_you_will_see: str
    build: Callable[[int], BuiltSample]  # unix time now -> signed sample

    def sign_now(self) -> BuiltSample:
        return self.build(int(time.time()))


# -- message editing (bytes in, bytes out; the header block is split by hand so that
# nothing is re-serialised) ----------------------------------------------------------------


def _split(msg: bytes) -> tuple[list[bytes], bytes]:
    head, _, body = msg.partition(CRLF + CRLF)
    fields: list[bytes] = []
    for line in (head + CRLF).split(CRLF)[:-1]:
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line + CRLF
        else:
            fields.append(line + CRLF)
    return fields, body


def _join(fields: list[bytes], body: bytes) -> bytes:
    return b"".join(fields) + CRLF + body


def _name(field: bytes) -> bytes:
    return field.split(b":", 1)[0].strip().lower()


def _set_subject(msg: bytes, subject: str) -> bytes:
    fields, body = _split(msg)
    fields = [
        f"Subject: {subject}".encode() + CRLF if _name(f) == b"subject" else f for f in fields
    ]
    return _join(fields, body)


def _add_field_below_dkim2(msg: bytes, name: str, value: str) -> bytes:
    """Add a field below the DKIM2 fields, where a list adds its List-* fields."""
    fields, body = _split(msg)
    at = 0
    while at < len(fields) and _name(fields[at]) in (b"dkim2-signature", b"message-instance"):
        at += 1
    fields.insert(at, f"{name}: {value}".encode() + CRLF)
    return _join(fields, body)


def _add_field_at_end(msg: bytes, name: str, value: str) -> bytes:
    fields, body = _split(msg)
    return _join([*fields, f"{name}: {value}".encode() + CRLF], body)


def _append_body(msg: bytes, *lines: str) -> bytes:
    fields, body = _split(msg)
    return _join(fields, body + b"".join(line.encode() + CRLF for line in lines))


def _message(*, sender: str, to: str, subject: str, when: int, msgid: str, body: str) -> bytes:
    date = format_datetime(datetime.fromtimestamp(when, UTC))
    head = (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\n"
        f"Message-ID: <{msgid}>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
    )
    return (head + "\r\n" + body).encode()


# -- the chains --------------------------------------------------------------------------------

ALICE = "<alice@origin.example>"
LIST = "<ops-talk@lists.example>"
LIST_BOUNCES = "<ops-talk-bounces@lists.example>"
BOB_FORWARD = "<bob@forwarder.example>"
BOB_INBOX = "<bob@inbox.example>"

_ANNOUNCEMENT = (
    "Hi all,\r\n"
    "\r\n"
    "The mail relays get new certificates on Saturday at 02:00 UTC.\r\n"
    "Expect a few seconds of refused connections while they restart.\r\n"
    "\r\n"
    "Alice\r\n"
)
_FOOTER = ("-- ", "ops-talk mailing list", "unsubscribe: ops-talk-leave@lists.example")


def _originator(now: int, slug: str) -> bytes:
    return _message(
        sender="Alice <alice@origin.example>",
        to="ops-talk <ops-talk@lists.example>",
        subject="Relay certificates change on Saturday",
        when=now,
        msgid=f"{slug}.{now}@origin.example",
        body=_ANNOUNCEMENT,
    )


def _list_edit(msg: bytes) -> bytes:
    """What the list does: tag the Subject, add List-Id, append the footer."""
    msg = _set_subject(msg, "[ops-talk] Relay certificates change on Saturday")
    msg = _add_field_below_dkim2(msg, "List-Id", "Ops talk <ops-talk.lists.example>")
    return _append_body(msg, *_FOOTER)


def _through_the_list(now: int, slug: str) -> bytes:
    """Hops 1-3 of the clean chain: originator, list (with a recipe), forwarder."""
    t1, t2, t3 = now - 240, now - 180, now - 60
    hop1 = sign(
        _originator(t1, slug),
        domain="origin.example",
        keys=[signing_key("origin.example")],
        timestamp=t1,
        mail_from=ALICE,
        rcpt_to=[LIST],
    ).message
    edited = _list_edit(hop1)
    hop2 = sign(
        edited,
        domain="lists.example",
        keys=[signing_key("lists.example")],
        timestamp=t2,
        mail_from=LIST_BOUNCES,
        rcpt_to=[BOB_FORWARD],
        previous=hop1,  # the list records how to undo its change: a recipe
    ).message
    return sign(
        hop2,
        domain="forwarder.example",
        keys=[signing_key("forwarder.example")],
        timestamp=t3,
        mail_from=BOB_FORWARD,
        rcpt_to=[BOB_INBOX],
    ).message


def build_clean_list(now: int) -> BuiltSample:
    return BuiltSample(
        _through_the_list(now, "clean-list"), BOB_FORWARD, [BOB_INBOX], "sample-clean-list.eml"
    )


def build_replayed(now: int) -> BuiltSample:
    # The same valid chain, re-sent by someone who received it to an address of their
    # choosing. They can copy the MAIL FROM; they cannot re-sign the recipients.
    return BuiltSample(
        _through_the_list(now, "replayed"),
        BOB_FORWARD,
        ["<carol@inbox.example>"],
        "sample-replayed.eml",
    )


def build_list_without_recipe(now: int) -> BuiltSample:
    t1, t2 = now - 180, now - 60
    hop1 = sign(
        _originator(t1, "no-recipe"),
        domain="origin.example",
        keys=[signing_key("origin.example")],
        timestamp=t1,
        mail_from=ALICE,
        rcpt_to=[LIST],
    ).message
    # The list signs as if it had forwarded the message unchanged (no new
    # Message-Instance, no recipe) and appends its footer: m=1's body hash no longer fits.
    hop2 = sign(
        hop1,
        domain="lists.example",
        keys=[signing_key("lists.example")],
        timestamp=t2,
        mail_from=LIST_BOUNCES,
        rcpt_to=[BOB_INBOX],
    ).message
    return BuiltSample(
        _append_body(hop2, *_FOOTER), LIST_BOUNCES, [BOB_INBOX], "sample-list-without-recipe.eml"
    )


_INVOICE = (
    "Hello,\r\n"
    "\r\n"
    "Invoice 2041 for 1,250.00 EUR is due in 30 days.\r\n"
    "Please pay to IBAN XE00 0000 1111 2222 3333 44.\r\n"
    "\r\n"
    "Billing team\r\n"
)


def build_tampered(now: int) -> BuiltSample:
    t1 = now - 120
    msg = _message(
        sender="Billing <billing@billing.example>",
        to="Accounts <accounts@inbox.example>",
        subject="Invoice 2041",
        when=t1,
        msgid=f"invoice-2041.{now}@billing.example",
        body=_INVOICE,
    )
    signed = sign(
        msg,
        domain="billing.example",
        keys=[signing_key("billing.example")],
        timestamp=t1,
        mail_from="<billing@billing.example>",
        rcpt_to=["<accounts@inbox.example>"],
    ).message
    tampered = signed.replace(b"XE00 0000 1111 2222 3333 44", b"XE99 9999 8888 7777 6666 55")
    return BuiltSample(
        tampered, "<billing@billing.example>", ["<accounts@inbox.example>"], "sample-tampered.eml"
    )


def build_expired(now: int) -> BuiltSample:
    t1 = now - 20 * DAY
    msg = _message(
        sender="News <newsletter@news.example>",
        to="Bob <bob@inbox.example>",
        subject="This week in mail operations",
        when=t1,
        msgid=f"weekly.{now}@news.example",
        body="Hello Bob,\r\n\r\nThis is the weekly summary, sent twenty days ago.\r\n",
    )
    signed = sign(
        msg,
        domain="news.example",
        keys=[signing_key("news.example")],
        timestamp=t1,
        mail_from="<newsletter@news.example>",
        rcpt_to=[BOB_INBOX],
    ).message
    return BuiltSample(signed, "<newsletter@news.example>", [BOB_INBOX], "sample-expired.eml")


def build_broken_custody(now: int) -> BuiltSample:
    t1, t2 = now - 180, now - 60
    msg = _message(
        sender="Alice <alice@origin.example>",
        to="Partners <team@partner.example>",
        subject="Quarterly figures",
        when=t1,
        msgid=f"custody.{now}@origin.example",
        body="Hello team,\r\n\r\nThe figures are attached to the portal as usual.\r\n",
    )
    hop1 = sign(
        msg,
        domain="origin.example",
        keys=[signing_key("origin.example")],
        timestamp=t1,
        mail_from=ALICE,
        rcpt_to=["<team@partner.example>"],
    ).message
    # relay.example was never a recipient of hop 1, yet it signs hop 2 as the next holder.
    hop2 = sign(
        hop1,
        domain="relay.example",
        keys=[signing_key("relay.example")],
        timestamp=t2,
        mail_from="<bounces@relay.example>",
        rcpt_to=[BOB_INBOX],
    ).message
    return BuiltSample(hop2, "<bounces@relay.example>", [BOB_INBOX], "sample-broken-custody.eml")


def build_groups_mldsa44(now: int) -> BuiltSample:
    """A chain signed by -09 rules with ``|`` signature and hash groups and ML-DSA-44
    (SPEC-09-NOTES 1.1, 1.2, 1.4; second-hand): Alice's hop offers Ed25519 or ML-DSA-44;
    the list offers Ed25519 and RSA together, or ML-DSA-44, and records SHA-256 or SHA-512
    hashes of what it changed."""
    t1, t2 = now - 180, now - 60
    hop1 = sign(
        _originator(t1, "groups-mldsa44"),
        domain="origin.example",
        keys=[signing_key("origin.example")],
        key_groups=[[mldsa44_signing_key("origin.example")]],
        timestamp=t1,
        mail_from=ALICE,
        rcpt_to=[LIST],
        revision="09",
    ).message
    edited = _list_edit(hop1)
    hop2 = sign(
        edited,
        domain="lists.example",
        keys=[signing_key("lists.example"), rsa_signing_key("lists.example")],
        key_groups=[[mldsa44_signing_key("lists.example")]],
        hash_groups=[["sha256"], ["sha512"]],
        timestamp=t2,
        mail_from=LIST_BOUNCES,
        rcpt_to=[BOB_INBOX],
        previous=hop1,
        revision="09",
    ).message
    return BuiltSample(hop2, LIST_BOUNCES, [BOB_INBOX], "sample-groups-mldsa44.eml")


_REMINDER = (
    "Hello Bob,\r\n"
    "\r\n"
    "Invoice 2042 for 310.00 EUR is ready in the customer portal.\r\n"
    "\r\n"
    "This message was sent automatically; replies are not read.\r\n"
)


def build_mixed_revisions(now: int) -> BuiltSample:
    """An -06 originator and a -09 forwarder. billing.example's software signs by -06 rules,
    which leave Auto-Submitted out of the header hash (S06 §4); -08 signs it again
    (SPEC-09-NOTES 1.8), so a -08 or later receiver computes another header hash for m=1."""
    t1, t2 = now - 180, now - 60
    msg = _message(
        sender="Billing <billing@billing.example>",
        to="Bob <bob@forwarder.example>",
        subject="Invoice 2042 is ready",
        when=t1,
        msgid=f"invoice-2042.{now}@billing.example",
        body=_REMINDER,
    )
    msg = _add_field_at_end(msg, "Auto-Submitted", "auto-generated")  # RFC 3834
    hop1 = sign(
        msg,
        domain="billing.example",
        keys=[signing_key("billing.example")],
        timestamp=t1,
        mail_from="<billing@billing.example>",
        rcpt_to=[BOB_FORWARD],
        revision="06",
    ).message
    # By -09 rules the content no longer matches m=1's header hash (Auto-Submitted now
    # counts), so the signer asks for the message as it arrived; nothing changed, so no
    # recipe is needed and forwarder.example only adds its signature. It signs without
    # verifying first, which a -08 or later forwarder should not do (the report warns of it;
    # SPEC-09-NOTES 1.12, second-hand).
    hop2 = sign(
        hop1,
        domain="forwarder.example",
        keys=[signing_key("forwarder.example")],
        timestamp=t2,
        mail_from=BOB_FORWARD,
        rcpt_to=[BOB_INBOX],
        previous=hop1,
        revision="09",
    ).message
    return BuiltSample(hop2, BOB_FORWARD, [BOB_INBOX], "sample-mixed-revisions.eml")


def _smtp_date(when: int) -> str:
    return format_datetime(datetime.fromtimestamp(when, UTC))


def build_real_mail(now: int) -> BuiltSample:
    """What a list message looks like in an inbox today: DKIM1 and DKIM2 from the author,
    the list's changes (which break DKIM1), its DKIM2 recipe and ARC seal, and the
    receiver's Received and Authentication-Results fields."""
    t1, t2, t3 = now - 240, now - 180, now - 120
    original = _originator(t1, "real-mail")
    dkim1 = mailauth.dkim1_sign(
        original, private_key("origin.example"), domain="origin.example", selector="demo1",
        timestamp=t1,
    )  # fmt: skip
    hop1 = sign(
        dkim1,
        domain="origin.example",
        keys=[signing_key("origin.example")],
        timestamp=t1,
        mail_from=ALICE,
        rcpt_to=[LIST],
    ).message
    at_list = (
        mailauth.received(
            helo="mail.origin.example",
            ip=DEMO_SERVERS["origin.example"],
            by="mx.lists.example",
            when=_smtp_date(t2),
            for_="ops-talk@lists.example",
        )
        + hop1
    )
    edited = _list_edit(at_list)
    hop2 = sign(
        edited,
        domain="lists.example",
        keys=[signing_key("lists.example")],
        timestamp=t2,
        mail_from=LIST_BOUNCES,
        rcpt_to=[BOB_INBOX],
        previous=at_list,
    ).message
    sealed = mailauth.arc_seal(
        hop2,
        rsa_private_key("lists.example"),
        domain="lists.example",
        selector="arc1",
        authserv_id="mx.lists.example",
        results=(
            "dkim=pass header.d=origin.example header.s=demo1; "
            "dkim2=pass header.d=origin.example; "
            "spf=pass smtp.mailfrom=alice@origin.example; "
            "dmarc=pass header.from=origin.example; arc=none"
        ),
        timestamp=t2,
    )
    # inbox.example checks it as most receivers do today: DKIM1 broke at the list, SPF is
    # the list's, so DMARC fails; it delivers it all the same because ARC vouches.
    delivered = (
        b"Return-Path: <ops-talk-bounces@lists.example>\r\n"
        b"Delivered-To: bob@inbox.example\r\n"
        b"Authentication-Results: mx.inbox.example;\r\n"
        b"\tdkim=fail (body hash did not verify) header.d=origin.example header.s=demo1;\r\n"
        b"\tspf=pass smtp.mailfrom=ops-talk-bounces@lists.example;\r\n"
        b"\tdmarc=fail (p=REJECT dis=NONE) header.from=origin.example;\r\n"
        b"\tarc=pass (i=1 lists.example)\r\n"
        + mailauth.received(
            helo="mail.lists.example",
            ip=DEMO_SERVERS["lists.example"],
            by="mx.inbox.example",
            when=_smtp_date(t3),
            for_="bob@inbox.example",
        )
        + sealed
    )
    return BuiltSample(delivered, LIST_BOUNCES, [BOB_INBOX], "sample-real-mail.eml")


SAMPLES: tuple[Sample, ...] = (
    Sample(
        "clean-list",
        "A clean chain through a mailing list",
        "Alice at origin.example writes to the ops-talk list at lists.example. The list tags "
        "the Subject, adds a List-Id field and appends a footer, and records a recipe that "
        "undoes exactly those changes; then forwarder.example passes the message on to "
        "Bob's inbox without touching it. You will see three hops that all pass, the custody "
        "links between them, and the list's changes as a diff that its recipe explains.",
        build_clean_list,
    ),
    Sample(
        "list-without-recipe",
        "A list that changed the body without a recipe",
        "The same announcement goes through a list that appends its footer but signs as if "
        "it had forwarded the message unchanged: it adds no Message-Instance and no recipe. "
        "Both signatures are correct, yet the body no longer matches the body hash that "
        "Message-Instance m=1 records, so the message fails. Only the originator's hop is "
        "marked failed: the list's signature verifies, but it vouches for m=1, and m=1 is "
        "not what arrived.",
        build_list_without_recipe,
    ),
    Sample(
        "replayed",
        "A replayed message",
        "A perfectly valid three-hop chain, delivered to carol@inbox.example, an address "
        "the newest signature never named. This is what a replay looks like: someone who "
        "received the message sends it on to recipients of their choosing. Every signature "
        "verifies, but the envelope check of the newest signature fails with a PERMERROR.",
        build_replayed,
    ),
    Sample(
        "tampered",
        "A body tampered with after signing",
        "An invoice from billing.example whose bank account number was changed on the way, "
        "after it was signed. The signature itself still verifies (it covers the hashes, "
        "not the text), but the body hash recorded in the Message-Instance does not match "
        "the body received, so the message fails.",
        build_tampered,
    ),
    Sample(
        "expired",
        "An expired signature",
        "A newsletter signed twenty days ago and only now delivered. DKIM2 signatures are "
        "valid for 14 days, so the signature is refused as expired (a PERMERROR) even "
        "though it is otherwise correct.",
        build_expired,
    ),
    Sample(
        "broken-custody",
        "Broken custody between two hops",
        "Alice sends a message to team@partner.example, and hop 1 signs that recipient. "
        "Hop 2 is then signed by relay.example, which was never a recipient of hop 1: its "
        "MAIL FROM is not in a domain hop 1 handed the message to. Both signatures verify, "
        "but the chain of custody is broken between hops 1 and 2 (a PERMERROR).",
        build_broken_custody,
    ),
    Sample(
        "real-mail",
        "Real mail today: DKIM1 broken by a list, ARC and DKIM2 vouch",
        "Alice's message as it lands in Bob's inbox, with everything mail carries today beside "
        "DKIM2: her DKIM1 signature, which breaks when the list tags the Subject and adds its "
        "footer; the list's ARC seal; and the receiver's own Received and "
        "Authentication-Results fields. The receiver, following DMARC alone, saw DMARC fail "
        "and delivered it anyway because ARC vouched. You will see every mechanism beside "
        "the receiver's record of it, why DMARC passes through DKIM2 only, and the SMTP "
        "client read back from the Received fields for SPF.",
        build_real_mail,
    ),
    Sample(
        "groups-mldsa44",
        "A -09 chain with signature groups and ML-DSA-44",
        "Alice's announcement goes through the ops-talk list, both hops signed by the rules "
        "of -09, the newest revision. Alice's hop offers two alternative signatures: Ed25519, "
        "or the post-quantum ML-DSA-44; either one passing is enough. The list signs with "
        "Ed25519 and RSA together (both must pass), or with ML-DSA-44 alone, and records the "
        "hashes of the message it changed as SHA-256 or SHA-512. A '|' separates those "
        "alternatives; an -06 or -07 verifier knows no groups and reads it as a syntax "
        "error. You will see the message trusted and both hops pass, with every selector "
        "passing (Ed25519, RSA and ML-DSA-44); that the chain would be a PERMERROR under -06 "
        "and -07 rules and passes under -08 and -09, split by the rule on signature and hash "
        "groups; and, for each hop, that its signer follows -08 or -09 rules and that -06 or "
        "-07 receivers need upgrading. The rules of -07, -08 and -09 are second-hand: their "
        "text is not public, and what is known of them comes from four implementations.",
        build_groups_mldsa44,
    ),
    Sample(
        "mixed-revisions",
        "A mixed chain: an -06 originator and a -09 forwarder",
        "An automatic invoice notice from billing.example, marked Auto-Submitted, whose mail "
        "software still signs by the rules of -06; forwarder.example, which signs by -09 "
        "rules, passes it on to Bob's inbox. -06 and -07 leave Auto-Submitted out of the "
        "header hash, -08 and later include it, so the header hash billing.example recorded "
        "no longer fits. You will see the message not trusted: judged by -09 rules (the "
        "default), billing.example's hop fails on a header hash mismatch while "
        "forwarder.example's hop passes, with a warning that forwarder.example signed a "
        "chain that does not verify; that the chain would pass under -06 and -07 rules and "
        "fails under -08 and -09, split by the rule on which header fields the header hash "
        "leaves out; and, for billing.example's hop, that it was signed by -06 or -07 rules "
        "(it left Auto-Submitted unsigned) and that billing.example's DKIM2 software needs "
        "upgrading. The rules of -07, -08 and -09 are second-hand: their text is not public, "
        "and what is known of them comes from four implementations.",
        build_mixed_revisions,
    ),
)

_BY_SLUG = {s.slug: s for s in SAMPLES}


def get_sample(slug: str) -> Sample:
    """The sample called ``slug``; raises KeyError for an unknown one."""
    return _BY_SLUG[slug]
