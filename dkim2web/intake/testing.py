"""Message builders and an intake server in a thread, for the tests and the bench.

Everything signed here uses the public demo keys of :mod:`dkim2web.samples.keys`
(``*.example`` domains, served by the static demo zone), so analysing it needs no network.
Wrappers and bounces are assembled by concatenating bytes, so a test knows exactly which
bytes each attached original must come back as.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import secrets
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from analysis.dkim2.revisions import NEWEST
from analysis.dkim2.sign import sign
from dkim2web.samples.keys import DEMO_DOMAINS, DEMO_SERVERS, private_key, signing_key

CRLF = b"\r\n"


def message(
    *,
    sender: str,
    to: str,
    subject: str,
    body: str,
    when: int | None = None,
    msgid: str = "",
    extra: Sequence[str] = (),
) -> bytes:
    when = int(time.time()) if when is None else when
    date = format_datetime(datetime.fromtimestamp(when, UTC))
    domain = sender.rsplit("@", 1)[-1].strip(">")
    msgid = msgid or f"{when}.{secrets.token_hex(4)}@{domain}"
    head = [
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {subject}",
        f"Date: {date}",
        f"Message-ID: <{msgid.strip('<>')}>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        *extra,
    ]
    return ("\r\n".join(head) + "\r\n\r\n" + body).encode()


def sign_hop(
    msg: bytes,
    *,
    domain: str,
    mail_from: str,
    rcpt_to: Sequence[str],
    when: int | None = None,
    previous: bytes | None = None,
    revision: str = NEWEST,
) -> bytes:
    """One DKIM2 hop signed by ``domain`` (a demo domain) with ``mf=``/``rt=``, by the rules
    of ``revision`` (a forger's or an old signer's hop: "06", which signs any From)."""
    return sign(
        msg,
        domain=domain,
        keys=[signing_key(domain)],
        timestamp=int(time.time()) - 30 if when is None else when,
        mail_from=mail_from,
        rcpt_to=list(rcpt_to),
        previous=previous,
        revision=revision,
    ).message


def chain_to(rcpt: str, *, now: int | None = None, subject: str = "Relay certificates") -> bytes:
    """Three hops: alice@origin.example -> the lists.example list (which tags the Subject and
    records a recipe) -> bob@forwarder.example, which relays to ``rcpt``. Delivered with
    MAIL FROM <bob@forwarder.example> RCPT TO ``rcpt`` it passes."""
    now = int(time.time()) if now is None else now
    original = message(
        sender="Alice <alice@origin.example>",
        to="ops-talk <ops-talk@lists.example>",
        subject=subject,
        body="The relays get new certificates on Saturday.\r\n",
        when=now - 240,
        msgid=f"chain.{now}@origin.example",
    )
    hop1 = sign_hop(
        original,
        domain="origin.example",
        mail_from="<alice@origin.example>",
        rcpt_to=["<ops-talk@lists.example>"],
        when=now - 240,
    )
    edited = hop1.replace(f"Subject: {subject}".encode(), f"Subject: [ops-talk] {subject}".encode())
    hop2 = sign_hop(
        edited,
        domain="lists.example",
        mail_from="<ops-talk-bounces@lists.example>",
        rcpt_to=["<bob@forwarder.example>"],
        when=now - 180,
        previous=hop1,
    )
    return sign_hop(
        hop2,
        domain="forwarder.example",
        mail_from="<bob@forwarder.example>",
        rcpt_to=[rcpt if rcpt.startswith("<") else f"<{rcpt}>"],
        when=now - 60,
    )


def attach(
    originals: Sequence[bytes],
    *,
    sender: str = "Alice <alice@origin.example>",
    to: str = "me@intake.localhost",
    subject: str = "Fwd: please look at these",
    encodings: Sequence[str | None] = (),
    nested: bool = False,
    boundary: str = "==outer-boundary==",
) -> bytes:
    """A forward with ``originals`` attached as message/rfc822 parts, byte for byte.

    ``encodings[i]`` ("base64" or "quoted-printable") encodes original ``i`` in the
    wrapper; ``nested`` puts the originals inside a multipart/mixed inside the forward.
    """
    inner = "==inner-boundary=="
    parts: list[bytes] = [
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nHere are the messages I got.\r\n"
    ]
    attached: list[bytes] = []
    for n, raw in enumerate(originals):
        encoding = encodings[n] if n < len(encodings) else None
        head = b"Content-Type: message/rfc822\r\nContent-Disposition: attachment\r\n"
        if encoding == "base64":
            head += b"Content-Transfer-Encoding: base64\r\n"
            body = base64.encodebytes(raw).replace(b"\n", CRLF)
        elif encoding == "quoted-printable":
            head += b"Content-Transfer-Encoding: quoted-printable\r\n"
            body = binascii.b2a_qp(raw, istext=False).replace(b"\n", CRLF)
        else:
            body = raw
        attached.append(head + CRLF + body)
    if nested:
        box = b"".join(b"--" + inner.encode() + CRLF + a + CRLF for a in attached)
        box += b"--" + inner.encode() + b"--" + CRLF
        parts.append(
            f'Content-Type: multipart/mixed; boundary="{inner}"'.encode() + CRLF + CRLF + box
        )
    else:
        parts.extend(attached)
    head = message(sender=sender, to=to, subject=subject, body="")
    head = head.replace(
        b"Content-Type: text/plain; charset=utf-8",
        f'Content-Type: multipart/mixed; boundary="{boundary}"'.encode(),
    )
    body = b"This is a multi-part message in MIME format.\r\n"
    for part in parts:
        body += b"--" + boundary.encode() + CRLF + part + CRLF
    body += b"--" + boundary.encode() + b"--" + CRLF
    return head + body


def bounce(
    returned: bytes,
    *,
    signer: str | None,
    to: str,
    mail_from: str = "<>",
    headers_only: bool = False,
    when: int | None = None,
) -> bytes:
    """An RFC 3464 bounce of ``returned``, DKIM2-signed by ``signer`` (None: unsigned),
    sent with MAIL FROM ``mail_from`` (signed as ``mf=``) to ``to`` (``rt=``)."""
    when = int(time.time()) - 20 if when is None else when
    boundary = "==dsn-boundary=="
    recipient = "bob@forwarder.example"
    head = message(
        sender=f"Mail Delivery System <MAILER-DAEMON@{signer or 'forwarder.example'}>",
        to=to.strip("<>"),
        subject="Undelivered Mail Returned to Sender",
        body="",
        when=when,
        extra=("Auto-Submitted: auto-replied",),
    ).replace(
        b"Content-Type: text/plain; charset=utf-8",
        b"Content-Type: multipart/report; report-type=delivery-status; "
        + f'boundary="{boundary}"'.encode(),
    )
    human = (
        b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        b"Your message could not be delivered.\r\n"
    )
    status = (
        b"Content-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.forwarder.example\r\n"
        b"Arrival-Date: Sat, 28 Nov 2026 10:00:00 +0000\r\n\r\n"
        + f"Final-Recipient: rfc822; {recipient}\r\n".encode()
        + b"Action: failed\r\nStatus: 5.1.1\r\n"
        b"Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n"
    )
    if headers_only:
        header_block = returned.split(b"\r\n\r\n", 1)[0] + CRLF
        third = b"Content-Type: text/rfc822-headers\r\n\r\n" + header_block
    else:
        third = b"Content-Type: message/rfc822\r\n\r\n" + returned
    body = b""
    for part in (human, status, third):
        body += b"--" + boundary.encode() + CRLF + part + CRLF
    body += b"--" + boundary.encode() + b"--" + CRLF
    raw = head + body
    if signer is None:
        return raw
    return sign_hop(raw, domain=signer, mail_from=mail_from, rcpt_to=[to], when=when)


def dkim1_signed(
    raw: bytes,
    *,
    domain: str,
    when: int | None = None,
    signed: Sequence[str] = ("from", "to", "subject", "date", "message-id"),
) -> bytes:
    """``raw`` with a DKIM1 signature of ``domain`` (a demo domain: its Ed25519 demo key,
    whose record the demo zone serves) over the fields ``signed`` (each once: a field added
    above a signed one is not covered, RFC 6376 §5.4.2)."""
    from dkim2web.samples.mailauth import dkim1_sign

    return dkim1_sign(
        raw,
        private_key(domain),
        domain=domain,
        selector=DEMO_DOMAINS[domain],
        timestamp=int(time.time()) - 60 if when is None else when,
        signed=signed,
    )


def newsletter(
    *,
    to: str = "Reader <reader@inbox.example>",
    subject: str = "Weekly letter",
    msgid: str = "",
    when: int | None = None,
) -> bytes:
    """A newsletter of news.example, DKIM1-signed by news.example (From, To, Subject, Date
    and Message-ID, each once): what anyone who received it holds, and can send again."""
    when = int(time.time()) - 120 if when is None else when
    raw = message(
        sender="News <letters@news.example>",
        to=to,
        subject=subject,
        body="This week: certificates, relays and a new list.\r\n",
        when=when,
        msgid=msgid or f"letter.{when}.{secrets.token_hex(4)}@news.example",
    )
    return dkim1_signed(raw, domain="news.example", when=when)


def relayed(
    raw: bytes,
    *,
    domain: str = "news.example",
    by: str = "mx.intake.example",
    rcpt: str | None = None,
) -> bytes:
    """``raw`` with the Received field an MTA in front of the intake writes when it takes
    the message from ``domain``'s outgoing server (its demo address, which its SPF record
    lists): the hop that MTA recorded."""
    from dkim2web.samples.mailauth import received

    return (
        received(
            helo=f"mail.{domain}",
            ip=DEMO_SERVERS[domain],
            by=by,
            when=format_datetime(datetime.now(UTC)),
            for_=rcpt,
        )
        + raw
    )


@contextlib.contextmanager
def running_intake(**kwargs: Any) -> Iterator[Any]:
    """An :class:`~dkim2web.intake.server.IntakeServer` on 127.0.0.1, an ephemeral port."""
    from .server import IntakeServer

    kwargs.setdefault("host", "127.0.0.1")
    kwargs.setdefault("port", 0)
    kwargs.setdefault("reply_poll_seconds", 0)
    server = IntakeServer(**kwargs)
    server.start()
    try:
        yield server
    finally:
        server.stop()
