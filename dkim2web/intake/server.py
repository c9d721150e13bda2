"""The intake SMTP/LMTP server (aiosmtpd), and the thread that runs it.

The protocol runs on an asyncio loop; everything that touches the database runs on a
small thread pool of its own (Django's ORM is synchronous), and the loop awaits it:

* per client: at most ``max_connections_per_client`` connections at once from one
  address (an IPv6 client counts by its /64), then 421 4.7.0, as past the global cap;
  the idle timeout restarts only on progress (an accepted MAIL or RCPT, DATA and its
  bytes), never on NOOP, RSET, HELP, VRFY, EHLO and the like, and ends with 421 4.4.2;
* RCPT TO: the address is looked up; unknown or rotated -> 550 5.1.1, another domain
  -> 550 5.7.1 (no relay), too many recipients -> 452 4.5.3; after
  ``max_rejected_recipients`` refused recipients in a session the next RCPT is answered
  421 4.7.0 without a lookup and the connection closed;
* STARTTLS is offered (in EHLO/LHLO) only when a certificate and key are configured;
* DATA: the bytes are read as they come, dot-unstuffed and nothing else, up to the size
  limit; past it nothing more is kept and the client gets 552 5.3.4 at the end of its
  DATA (it is drained, within a bound, so it can read the answer; a client that goes on
  sending is disconnected). A client that drops mid-DATA leaves nothing: the message is
  only handed on once the final dot has arrived;
* data whose first line is not a header field is no message (the upload form's and the
  API's rule, dkim2web/reports/input_check.py): 550 5.6.0, nothing stored;
* then the message and its envelope are committed (:func:`services.delivery_store`)
  and only then is 250 answered; a failed write answers 451 4.3.0 and the client tries
  again. LMTP answers once per recipient, each from its owner's own transaction.

The analyses are queued after the commit. With a broker that is a publish; without one
(Celery eager, as in ``make run``) the server runs them itself on its analysis threads
after answering, and then answers the sender (:func:`services.delivery_reply`). With a
broker, the worker that finishes an analysis queues the answer (signals.py); a poll here
answers what that missed and settles answers a dead process left half sent.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import enum
import ipaddress
import logging
import re
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from email._header_value_parser import get_addr_spec, get_angle_addr
from email.errors import HeaderParseError
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session, syntax
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import close_old_connections, connections
from django.utils import timezone

from dkim2web.reports import input_check

from . import services
from .selectors import intake_address_target

logger = logging.getLogger(__name__)

IDENT = "dkim2web intake"
# Lines longer than RFC 5321's 1000 octets are kept whole (the bytes are what is analysed);
# this only sizes the read buffer.
READ_CHUNK = 64 * 1024
# After the size limit is passed, at most this much more is read (and dropped) so that the
# client sees the 552; a client still sending then is disconnected.
DRAIN_BOUND = 8 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_message_bytes: int
    max_recipients: int
    max_connections: int
    rate_per_minute: int  # messages per client IP address; 0: no limit
    timeout: float  # seconds without progress (NOOP and the like do not count)
    # Built directly (tests, the bench) these two are off; from the settings they are on.
    max_connections_per_client: int = 0  # at once from one client address; 0: no cap
    max_rejected_recipients: int = 0  # refused RCPTs per session, then 421; 0: no cap

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            max_message_bytes=settings.DKIM2WEB_MAX_MESSAGE_BYTES,
            max_recipients=settings.DKIM2WEB_INTAKE_MAX_RECIPIENTS,
            max_connections=settings.DKIM2WEB_INTAKE_MAX_CONNECTIONS,
            rate_per_minute=settings.DKIM2WEB_INTAKE_RATE_PER_MINUTE,
            timeout=float(settings.DKIM2WEB_INTAKE_TIMEOUT_SECONDS),
            max_connections_per_client=settings.DKIM2WEB_INTAKE_MAX_CONNECTIONS_PER_CLIENT,
            max_rejected_recipients=settings.DKIM2WEB_INTAKE_MAX_REJECTED_RECIPIENTS,
        )


def tls_context_from_settings() -> ssl.SSLContext | None:
    """The server side of STARTTLS, from ``DKIM2WEB_INTAKE_TLS_CERT_FILE`` and
    ``DKIM2WEB_INTAKE_TLS_KEY_FILE``; None (no STARTTLS) when they are not set.

    Raises ``ImproperlyConfigured`` naming the files when they cannot be loaded."""
    cert = settings.DKIM2WEB_INTAKE_TLS_CERT_FILE
    key = settings.DKIM2WEB_INTAKE_TLS_KEY_FILE
    if not cert:
        return None
    return tls_context(cert, key)


def tls_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """A server context (TLS 1.2 or later, no client certificates asked for)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_file, key_file)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        raise ImproperlyConfigured(
            f"the intake's TLS certificate {cert_file!r} and key {key_file!r} could not be "
            f"loaded ({exc}); fix DKIM2WEB_INTAKE_TLS_CERT_FILE and "
            "DKIM2WEB_INTAKE_TLS_KEY_FILE (PEM files readable by this process), or unset both"
        ) from exc
    return context


def client_key(ip: str) -> str:
    """What per-client limits count by: an IPv4 address; an IPv6 address by its /64
    (one site usually holds a whole /64); an IPv4-mapped IPv6 address as the IPv4 one."""
    try:
        address = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


#: A reverse- or forward-path that is one plain address: ``<``, a dot-atom local part of
#: RFC 5322 atext, ``@``, a host name, ``>`` (RFC 5321 §4.1.2). The email package's parser
#: gives such an address back as it is; everything else (quoted strings, comments, source
#: routes, address literals, non-ASCII, a local part that starts like an RFC 2047 encoded
#: word, which that parser would decode) is left to the parser.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_PATH = re.compile(rf"<((?!=\?){_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>")

#: Seconds a shutdown waits for messages being stored to get their reply.
SHUTDOWN_GRACE = 10.0


class RateLimiter:
    """At most ``per_minute`` events per key in any 60 seconds (a sliding window)."""

    WINDOW = 60.0
    MAX_KEYS = 10_000

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.events: dict[str, collections.deque[float]] = {}

    def check(self, key: str) -> float | None:
        """Record an event; None if allowed, else the seconds until one would be."""
        if self.per_minute <= 0:
            return None
        now = self.clock()
        events = self.events.setdefault(key, collections.deque())
        while events and events[0] <= now - self.WINDOW:
            events.popleft()
        if len(events) >= self.per_minute:
            return max(1.0, events[0] + self.WINDOW - now)
        events.append(now)
        if len(self.events) > self.MAX_KEYS:
            self._prune(now)
        return None

    def _prune(self, now: float) -> None:
        for key in [k for k, v in self.events.items() if not v or v[-1] <= now - self.WINDOW]:
            del self.events[key]


@dataclass
class Accepted:
    """A message stored: the deliveries made and the analyses to run."""

    delivery_ids: list[uuid.UUID]
    analysis_ids: list[uuid.UUID]


class IntakeHandler:
    """aiosmtpd handler hooks: RCPT policy, rate limit, and the durable DATA."""

    def __init__(
        self,
        *,
        domain: str,
        limits: Limits,
        db: concurrent.futures.Executor,
        store: Callable[..., list[Any]] = services.delivery_store,
        resolve: Callable[[str], Any] | None = None,
        enqueue: bool = True,
        after_store: Callable[[Accepted], None] | None = None,
    ) -> None:
        self.domain = domain.lower().rstrip(".")
        self.limits = limits
        self.db = db
        self.store = store
        self.resolve = resolve or _resolve
        self.enqueue = enqueue
        self.after_store = after_store
        self.rate = RateLimiter(limits.rate_per_minute)
        self.connections = 0
        self.per_client: dict[str, int] = {}  # open connections by client_key()
        self.sessions: set[_IntakeProtocol] = set()  # open SMTP/LMTP sessions

    async def _in_db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.db, _with_connection(fn, *args, **kwargs))

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        ip = _peer_ip(session)
        wait = self.rate.check(client_key(ip))
        if wait is not None:
            return (
                f"451 4.7.1 Too many messages from {ip}: at most "
                f"{self.limits.rate_per_minute} a minute; try again in {int(wait)} seconds"
            )
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= self.limits.max_recipients:
            return (
                f"452 4.5.3 Too many recipients: at most {self.limits.max_recipients} per "
                "message; send the rest in another transaction"
            )
        local, at, domain = address.rpartition("@")
        if not at or domain.lower().rstrip(".") != self.domain:
            return (
                f"550 5.7.1 Relaying denied: this server accepts mail only for addresses "
                f"@{self.domain}"
            )
        try:
            target = await self._in_db(self.resolve, local)
        except Exception:
            logger.exception("intake: looking up %r failed", address)
            return "451 4.3.0 Temporary failure looking up the mailbox; try again later"
        if target is None:
            return (
                f"550 5.1.1 <{address}>: no such mailbox here (an unknown or rotated "
                "intake address)"
            )
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        _targets(envelope).append(
            services.Recipient(rcpt=address, address_id=target[0], owner_id=target[1])
        )
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        recipients = list(_targets(envelope))
        lmtp = isinstance(server, LMTP)
        meta = services.SmtpEnvelope(
            mail_from=envelope.mail_from or "<>",
            protocol="lmtp" if lmtp else "smtp",
            client_ip=_peer_ip(session),
            client_port=_peer_port(session),
            helo=session.host_name or "",
            received_at=timezone.now(),
        )
        # Data that does not start with a header field is no message (the rule of the upload
        # form and the API): refused, nothing stored. Real mail always has one.
        refused = input_check.smtp_refusal(raw)
        if refused is not None:
            logger.info("intake: data from %s has no header fields; refused", meta.client_ip)
            if lmtp:
                return "\r\n".join(f"550 5.6.0 <{r.rcpt}> {refused}" for r in recipients)
            return f"550 5.6.0 {refused}"
        if not lmtp:
            try:
                stored = await self._in_db(
                    self.store,
                    raw=raw,
                    envelope=meta,
                    recipients=recipients,
                    enqueue=self.enqueue,
                )
            except Exception:
                logger.exception("intake: storing a message from %s failed", meta.client_ip)
                return "451 4.3.0 The message could not be stored; please try again later"
            self._accepted(stored)
            ids = ", ".join(str(s.delivery.pk) for s in stored)
            return f"250 2.0.0 OK: stored as {ids}"
        # LMTP: one reply per accepted recipient, in RCPT order (RFC 2033 §4.2).
        try:
            results = await self._in_db(
                self.store,
                raw=raw,
                envelope=meta,
                recipients=recipients,
                enqueue=self.enqueue,
                per_owner=True,
            )
        except Exception:
            logger.exception("intake: storing an LMTP message from %s failed", meta.client_ip)
            results = [None] * len({r.owner_id for r in recipients})
        by_owner = dict(zip(_owners(recipients), results, strict=False))
        self._accepted([r for r in results if isinstance(r, services.Stored)])
        replies = []
        for r in recipients:
            outcome = by_owner.get(r.owner_id)
            if isinstance(outcome, services.Stored):
                replies.append(f"250 2.0.0 <{r.rcpt}> OK: stored as {outcome.delivery.pk}")
            else:
                replies.append(f"451 4.3.0 <{r.rcpt}> could not be stored; please try again later")
        return "\r\n".join(replies)

    def _accepted(self, stored: Iterable[Any]) -> None:
        stored = list(stored)
        if not stored or self.after_store is None:
            return
        accepted = Accepted(
            [s.delivery.pk for s in stored], [a.pk for s in stored for a in s.analyses]
        )
        try:
            self.after_store(accepted)
        except Exception:
            logger.exception("intake: handing on stored deliveries failed (the sweep will)")


def _owners(recipients: Sequence[services.Recipient]) -> list[int]:
    return list(dict.fromkeys(r.owner_id for r in recipients))


def _targets(envelope: Envelope) -> list[services.Recipient]:
    targets: list[services.Recipient] | None = getattr(envelope, "intake_targets", None)
    if targets is None:
        targets = []
        envelope.intake_targets = targets  # type: ignore[attr-defined]
    return targets


def _resolve(local_part: str) -> tuple[int, int] | None:
    return intake_address_target(local_part=local_part)


def _with_connection(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[[], Any]:
    """``fn`` wrapped for a long-lived worker thread: stale connections are replaced first
    (CONN_MAX_AGE, a database that restarted), as Django does around each request."""

    def call() -> Any:
        close_old_connections()
        try:
            return fn(*args, **kwargs)
        finally:
            close_old_connections()

    return call


def _peer_ip(session: Session) -> str:
    peer = session.peer
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer or "")


def _peer_port(session: Session) -> int | None:
    peer = session.peer
    if isinstance(peer, tuple) and len(peer) > 1 and isinstance(peer[1], int):
        return peer[1]
    return None


class _IntakeProtocol:
    """Mixed into aiosmtpd's SMTP and LMTP: the connection limits, the idle timeout that
    only progress restarts, the cap on refused recipients, and the DATA reader."""

    event_handler: IntakeHandler
    hostname: str
    loop: asyncio.AbstractEventLoop
    data_size_limit: int | None
    tls_context: ssl.SSLContext | None
    _reader: asyncio.StreamReader
    _writer: asyncio.StreamWriter
    _timeout_handle: asyncio.TimerHandle | None
    _timeout_duration: float
    transport: Any
    envelope: Envelope | None
    session: Session | None

    #: RCPT commands answered 5xx in this session (unknown mailbox, relaying, syntax).
    rejected_recipients = 0
    #: The first character of the last reply sent ("2", "4", "5"...).
    _last_reply = ""

    async def _handle_client(self) -> None:
        handler = self.event_handler
        limits = handler.limits
        assert self.session is not None
        ip = _peer_ip(self.session)
        client = client_key(ip)
        per_client = limits.max_connections_per_client
        if per_client and handler.per_client.get(client, 0) >= per_client:
            logger.warning("intake: %s refused: %d connections from %s", ip, per_client, client)
            await self._refuse(
                f"421 4.7.0 {self.hostname} Too many connections from {ip}: at most "
                f"{per_client} at once from one address; close one, or try again later"
            )
            return
        if handler.connections >= limits.max_connections:
            logger.warning("intake: %s refused: %d connections open", ip, handler.connections)
            await self._refuse(
                f"421 4.7.0 {self.hostname} Too many connections at once; try again later"
            )
            return
        handler.connections += 1
        handler.per_client[client] = handler.per_client.get(client, 0) + 1
        handler.sessions.add(self)
        try:
            await super()._handle_client()  # type: ignore[misc]
        finally:
            handler.connections -= 1
            left = handler.per_client.get(client, 1) - 1
            if left > 0:
                handler.per_client[client] = left
            else:
                handler.per_client.pop(client, None)
            handler.sessions.discard(self)

    async def _refuse(self, reply: str) -> None:
        with contextlib.suppress(ConnectionError):
            await self.push(reply)
        if self.transport is not None:
            self.transport.close()

    async def push(self, status: str | bytes) -> None:
        self._last_reply = status[:1] if isinstance(status, str) else status[:1].decode("latin-1")
        await super().push(status)  # type: ignore[misc]

    # -- the idle timeout ----------------------------------------------------------------------

    #: When the idle timeout ends since the client last made progress (loop time); None
    #: when it has made none since the timer was set.
    _idle_deadline: float | None = None

    def _reset_timeout(self, duration: float | None = None) -> None:
        # aiosmtpd restarts the idle timer on every command it knows, NOOP included, so a
        # client holds its connection for ever with a NOOP now and then. Here the timer
        # starts with the connection and only _progress() restarts it.
        if self._timeout_handle is None or duration is not None:
            super()._reset_timeout(duration)  # type: ignore[misc]
            self._idle_deadline = None

    def _progress(self) -> None:
        """The client moved its mail on: the idle timeout starts again. Only its end is
        moved here; the timer, when it goes off before that end, is set again for it
        (:meth:`_timeout_cb`), rather than cancelled and set anew at each of a message's
        four steps (MAIL, RCPT, DATA and its end), which was measurable event-loop work."""
        self._idle_deadline = self.loop.time() + self._timeout_duration

    def _timeout_cb(self) -> None:
        deadline, timer = self._idle_deadline, self._timeout_handle
        if deadline is not None and timer is not None and deadline > timer.when():
            # Progress since the timer was set: the timeout ends later, as if restarted then.
            self._timeout_handle = self.loop.call_at(deadline, self._timeout_cb)
            return
        if self.transport is not None:
            with contextlib.suppress(Exception):
                self._writer.write(
                    f"421 4.4.2 {self.hostname} No mail command or message data for "
                    f"{self._timeout_duration:g} seconds (NOOP, RSET, HELP, VRFY and EHLO do "
                    "not count); closing the connection. Connect again when there is mail "
                    "to send\r\n".encode()
                )
        super()._timeout_cb()  # type: ignore[misc]

    # -- the envelope ---------------------------------------------------------------------------

    local_part_limit: int

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """aiosmtpd 1.4's address parsing of MAIL and RCPT, as it is, less the class
        (a typing.Protocol) that it defines inside the method on every call: making that
        class cost three times the parsing. A plain ``<local@host>``, what nearly every
        client sends, is read by one regular expression instead of the email package's
        parser (some 27 µs an address, most of what MAIL cost): the same address, and the
        same rest (what follows ``>``, its leading blanks dropped)."""
        if not arg:
            return "", ""
        plain = _PLAIN_PATH.match(arg)
        if plain is not None:
            rest = arg[plain.end() :]
            if rest[:1] in (" ", "\t"):
                rest = rest.lstrip()  # as the parser's folding white space does
            if rest[:1] != "(":  # a comment: the parser's to read
                return self._within_limit(plain.group(1), rest)
        address: Any  # an AngleAddr or an AddrSpec: each has its addr_spec
        try:
            if arg.lstrip().startswith("<"):
                address, rest = get_angle_addr(arg)
            else:
                address, rest = get_addr_spec(arg)
        except HeaderParseError:
            return None, None
        return self._within_limit(address.addr_spec, rest)

    def _within_limit(self, addr: str, rest: str) -> tuple[str | None, str | None]:
        localpart, _, _ = addr.rpartition("@")
        if self.local_part_limit and len(localpart) > self.local_part_limit:
            return None, None
        return addr, rest

    @syntax("MAIL FROM: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_MAIL(self, arg: str | None) -> None:
        self._last_reply = ""
        await super().smtp_MAIL(arg)  # type: ignore[misc]
        if self._last_reply == "2":
            self._progress()

    @syntax("RCPT TO: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_RCPT(self, arg: str | None) -> None:
        cap = self.event_handler.limits.max_rejected_recipients
        if cap and self.rejected_recipients >= cap:
            assert self.session is not None
            logger.warning(
                "intake: %s closed after %d refused recipients",
                _peer_ip(self.session),
                self.rejected_recipients,
            )
            await self._refuse(
                f"421 4.7.0 {self.hostname} Too many refused recipients: {cap} in this "
                f"session; closing the connection. Mail is accepted only for a-<token>@"
                f"{self.event_handler.domain} addresses that exist: check the addresses"
            )
            return
        self._last_reply = ""
        await super().smtp_RCPT(arg)  # type: ignore[misc]
        if self._last_reply == "2":
            self._progress()
        elif self._last_reply == "5":
            self.rejected_recipients += 1

    @syntax("STARTTLS", when="tls_context")
    async def smtp_STARTTLS(self, arg: str) -> None:
        if not self.tls_context:
            await self.push(
                "454 4.7.0 TLS not available: this intake has no certificate configured; "
                "go on without STARTTLS"
            )
            return
        await super().smtp_STARTTLS(arg)  # type: ignore[misc]

    #: True from the end of DATA until the reply is written: a shutdown waits for it.
    storing = False
    _shut = False

    def close_for_shutdown(self) -> None:
        """Say 421 (RFC 5321 §3.8) once and hang up; the client tries again later."""
        if self._shut:
            return  # the shutdown loop comes back until the session has ended
        self._shut = True
        with contextlib.suppress(Exception):
            self._writer.write(b"421 4.3.2 Service shutting down; try again later\r\n")
        if self.transport is not None:
            self.transport.close()

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        if await self.check_helo_needed():  # type: ignore[attr-defined]
            return
        if await self.check_auth_needed("DATA"):  # type: ignore[attr-defined]
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 5.5.1 Error: need RCPT command")
            return
        if arg:
            await self.push("501 5.5.4 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        self._progress()
        limit = self.data_size_limit or 0
        data = await self._read_data(limit)
        if data is None:
            return  # the client went away, or was cut off past the limit
        if data is _DataOutcome.TOO_BIG:
            self._set_post_data_state()  # type: ignore[attr-defined]
            await self.push(
                f"552 5.3.4 Message too big: the limit is {limit} bytes; nothing was stored"
            )
            return
        self._progress()  # the final dot: storing may take a while
        self.envelope.original_content = data
        self.envelope.content = data
        self.storing = True
        try:
            status = await self._call_handler_hook("DATA")  # type: ignore[attr-defined]
            self._set_post_data_state()  # type: ignore[attr-defined]
            await self.push(status)
        finally:
            self.storing = False

    async def _read_data(self, limit: int) -> bytes | _DataOutcome | None:
        """The message up to the line ".", dot-unstuffed (RFC 5321 §4.5.2); TOO_BIG when
        it is over ``limit`` (0: none), nothing of it kept; None when the client went away
        (nothing is kept) or kept sending past the limit (told 552, the connection closed).

        The data is read in pieces as large as the read buffer, up to the end or the buffer's
        size, never past the end: what the client sent after it is its next command. (Read
        line by line, a 50 KB message took 0.4 ms more.) The end may begin in what has been
        read already: where that ends like the start of END_OF_DATA (a CR, a line end, a line
        end and a dot...), the next byte, or the rest of that dot's line, is read alone.
        """
        loop = asyncio.get_running_loop()
        progress_at = loop.time()
        pieces: list[bytes] = []  # as read: dot-stuffed, the end included
        read = 0
        tail = b"\r\n"  # the last bytes read; to begin with, the DATA command's line end
        kept = True
        while self.transport is not None:
            started = _end_started(tail)
            try:
                if started == 3:  # a line that begins with a dot: the rest of it
                    piece = await self._read_line()
                elif started:  # a CR, or the start of a line: whether a dot comes next
                    piece = await self._reader.readexactly(1)
                else:  # inside a line: the end cannot begin before the line ends
                    piece = await self._read_to_end()
            except asyncio.IncompleteReadError:
                return None  # the client went away mid-DATA: nothing is kept
            except asyncio.CancelledError:
                # The connection was lost during DATA: nothing is kept.
                self._writer.close()
                raise
            # The idle timeout restarts as data arrives, at most once a second.
            if loop.time() - progress_at >= 1.0:
                progress_at = loop.time()
                self._progress()
            read += len(piece)
            ended = (tail + piece[-len(END_OF_DATA) :]).endswith(END_OF_DATA)
            tail = (tail + piece[-len(END_OF_DATA) :])[-len(END_OF_DATA) + 1 :]
            if ended:
                # The end's ".", CR and LF are not the message's.
                if limit and read - 3 > limit:
                    return _DataOutcome.TOO_BIG
                pieces.append(piece)
                content = b"".join(pieces)[:-3]
                pieces.clear()
                if content.startswith(b"."):
                    content = content[1:]
                return content.replace(b"\r\n.", b"\r\n")
            # Until the end has come, its "." and CR may be among the bytes read.
            if limit and read - 2 > limit:
                kept = False
                pieces.clear()
                if read - 2 > limit + DRAIN_BOUND:
                    await self.push(
                        f"552 5.3.4 Message too big: the limit is {limit} bytes; nothing "
                        "was stored. Closing the connection"
                    )
                    self.transport.close()
                    return None
            if kept:
                pieces.append(piece)
        return None

    async def _read_line(self) -> bytes:
        """The rest of the line, with its CRLF; a line longer than the read buffer comes in
        pieces of the buffer's size."""
        try:
            return await self._reader.readuntil(b"\r\n")
        except asyncio.LimitOverrunError as exc:
            return await self._reader.read(exc.consumed)

    async def _read_to_end(self) -> bytes:
        """Up to and with the end of the data, or as much before it as the buffer holds. A
        client that has not finished within a second gets its next line read instead, so
        that a slow but steady one restarts the idle timeout as it sends."""
        try:
            async with asyncio.timeout(1.0):
                return await self._reader.readuntil(END_OF_DATA)
        except asyncio.LimitOverrunError as exc:
            return await self._reader.read(exc.consumed)
        except TimeoutError:
            return await self._read_line()


#: The end of a message's data: its last line's CRLF, then the line "." (RFC 5321 §4.1.1.4).
END_OF_DATA = b"\r\n.\r\n"


class _DataOutcome(enum.Enum):
    TOO_BIG = "over the size limit"  # what _IntakeProtocol._read_data gives for that


def _end_started(tail: bytes) -> int:
    """How many of END_OF_DATA's bytes (1 to 4) ``tail`` ends with; 0 when none."""
    for length in range(len(END_OF_DATA) - 1, 0, -1):
        if tail.endswith(END_OF_DATA[:length]):
            return length
    return 0


class IntakeSMTP(_IntakeProtocol, SMTP):
    line_length_limit = READ_CHUNK


class IntakeLMTP(_IntakeProtocol, LMTP):
    line_length_limit = READ_CHUNK


class IntakeServer:
    """The intake on one address, in a thread of its own (tests, the bench) or in the
    caller's loop (:meth:`serve`, for ``run_intake``).

    ``inline_analysis`` (only without a broker): run each analysis before answering 250
    instead of on the analysis threads afterwards; tests use it to be deterministic.

    ``tls_context`` (default: :func:`tls_context_from_settings`) offers STARTTLS;
    ``require_starttls`` (default ``DKIM2WEB_INTAKE_REQUIRE_STARTTLS``, SMTP only) refuses
    mail commands until the client has started TLS.
    """

    def __init__(
        self,
        *,
        host: str | None = None,
        port: int | None = None,
        lmtp: bool = False,
        domain: str | None = None,
        limits: Limits | None = None,
        db_threads: int | None = None,
        analysis_threads: int | None = None,
        inline_analysis: bool = False,
        reply_poll_seconds: float | None = None,
        store: Callable[..., list[Any]] | None = None,
        tls_context: ssl.SSLContext | None = None,
        require_starttls: bool | None = None,
    ) -> None:
        self.host = host if host is not None else settings.DKIM2WEB_INTAKE_HOST
        self.port = port if port is not None else settings.DKIM2WEB_INTAKE_PORT
        self.lmtp = lmtp
        self.tls_context = tls_context if tls_context is not None else tls_context_from_settings()
        self.require_starttls = (
            require_starttls
            if require_starttls is not None
            else settings.DKIM2WEB_INTAKE_REQUIRE_STARTTLS
        )
        if self.require_starttls and self.tls_context is None:
            raise ImproperlyConfigured(
                "DKIM2WEB_INTAKE_REQUIRE_STARTTLS is on but no certificate is configured: "
                "set DKIM2WEB_INTAKE_TLS_CERT_FILE and DKIM2WEB_INTAKE_TLS_KEY_FILE, or turn "
                "it off"
            )
        if self.require_starttls and lmtp:
            # aiosmtpd lets only NOOP, EHLO, STARTTLS and QUIT through before TLS: an LMTP
            # client's LHLO would be refused and it could never start.
            raise ImproperlyConfigured(
                "DKIM2WEB_INTAKE_REQUIRE_STARTTLS applies to SMTP only: LMTP clients (an MTA "
                "in front) would be refused at LHLO. Turn it off for --lmtp"
            )
        self.domain = (domain or settings.DKIM2WEB_INTAKE_DOMAIN).lower()
        self.limits = limits or Limits.from_settings()
        self.eager = bool(getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False))
        self.inline_analysis = inline_analysis and self.eager
        self.background = self.eager and not self.inline_analysis
        self.reply_poll_seconds = (
            reply_poll_seconds
            if reply_poll_seconds is not None
            else float(settings.DKIM2WEB_INTAKE_REPLY_POLL_SECONDS)
        )
        self.db = concurrent.futures.ThreadPoolExecutor(
            db_threads or settings.DKIM2WEB_INTAKE_DB_THREADS, "intake-db"
        )
        threads = analysis_threads or settings.DKIM2WEB_INTAKE_ANALYSIS_THREADS
        self.work = concurrent.futures.ThreadPoolExecutor(max(1, threads), "intake-analysis")
        self._pending: set[concurrent.futures.Future[Any]] = set()
        self._pending_lock = threading.Lock()
        store = store or services.delivery_store
        self.handler = IntakeHandler(
            domain=self.domain,
            limits=self.limits,
            db=self.db,
            store=self._answering(store) if self.inline_analysis else store,
            # Without a broker and in the background, the reports' on-commit run would
            # happen before 250: enqueue later, on the analysis threads, instead.
            enqueue=not self.background,
            after_store=self._after_store,
        )
        self.loop: asyncio.AbstractEventLoop | None = None
        self.server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self.accepted = 0
        self.analysed = 0

    # -- the protocol ----------------------------------------------------------------------

    def _factory(self) -> SMTP:
        cls = IntakeLMTP if self.lmtp else IntakeSMTP
        assert self.loop is not None
        return cls(
            self.handler,
            data_size_limit=self.limits.max_message_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=self.domain,
            ident=IDENT,
            timeout=self.limits.timeout,
            tls_context=self.tls_context,
            require_starttls=self.require_starttls,
            loop=self.loop,
        )

    async def start_serving(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self.server = await self.loop.create_server(
            self._factory, host=self.host, port=self.port, reuse_address=True
        )
        sock = self.server.sockets[0]
        self.port = sock.getsockname()[1]

    async def serve(self) -> None:
        """Serve until :meth:`request_stop` (or cancellation); polls replies meanwhile."""
        if self.server is None:
            await self.start_serving()
        assert self._stopping is not None
        poller = asyncio.create_task(self._poll())
        try:
            await self._stopping.wait()
        finally:
            poller.cancel()
            await self._close()

    def request_stop(self) -> None:
        if self.loop is not None and self._stopping is not None:
            self.loop.call_soon_threadsafe(self._stopping.set)

    async def _close(self) -> None:
        if self.server is None:
            return
        # No new connections. Open sessions are told 421 and closed, except one whose
        # message is being stored: it gets its 250 (or 451) first, within SHUTDOWN_GRACE;
        # cut short, the client would send again what was stored. (Since Python 3.12
        # wait_closed() also waits for every open session, which an idle client would
        # hold until its timeout.)
        self.server.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SHUTDOWN_GRACE
        while True:
            for session in list(self.handler.sessions):
                if not session.storing or loop.time() > deadline:
                    session.close_for_shutdown()
            if not self.handler.sessions or loop.time() > deadline:
                break
            await asyncio.sleep(0.05)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.server.wait_closed(), timeout=5)
        self.server = None

    async def _poll(self) -> None:
        """Every so often: answer senders whose analysis finished elsewhere; without a
        broker, also publish again what was lost (the sweep a beat would run)."""
        if self.reply_poll_seconds <= 0:
            return
        loop = asyncio.get_running_loop()
        last_sweep = 0.0
        while True:
            await asyncio.sleep(self.reply_poll_seconds)
            try:
                if settings.DKIM2WEB_INTAKE_REPLY:
                    await loop.run_in_executor(
                        self.work, _with_connection(services.deliveries_reply_pending)
                    )
                if self.eager and time.monotonic() - last_sweep > max(
                    30.0, float(settings.DKIM2WEB_SWEEP_EVERY_SECONDS)
                ):
                    last_sweep = time.monotonic()
                    from dkim2web.reports.services import analyses_requeue_stale

                    await loop.run_in_executor(self.work, _with_connection(analyses_requeue_stale))
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("intake: the reply poll failed")

    # -- after the 250 ----------------------------------------------------------------------

    def _answering(self, store: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
        """``store``, then (the analyses having run on commit) answer the senders: all on
        the database thread, before 250 (``inline_analysis``)."""

        def store_and_answer(**kwargs: Any) -> list[Any]:
            stored = store(**kwargs)
            for item in stored:
                if isinstance(item, services.Stored) and settings.DKIM2WEB_INTAKE_REPLY:
                    try:
                        services.delivery_reply(delivery_id=item.delivery.pk)
                    except Exception:
                        logger.exception("intake: answering %s failed", item.delivery.pk)
            return stored

        return store_and_answer

    def _after_store(self, accepted: Accepted) -> None:
        self.accepted += 1
        if self.inline_analysis:
            self.analysed += 1  # the analyses ran on commit, before 250
            return
        if not self.background:
            return  # published to the broker on commit; the poll answers the sender
        future = self.work.submit(self._settle, accepted, run=True)
        with self._pending_lock:
            self._pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: concurrent.futures.Future[Any]) -> None:
        with self._pending_lock:
            self._pending.discard(future)

    def _settle(self, accepted: Accepted, *, run: bool) -> None:
        from dkim2web.reports.services import analysis_enqueue

        close_old_connections()
        try:
            if run:
                for analysis_id in accepted.analysis_ids:
                    analysis_enqueue(analysis_id=analysis_id)  # eager: runs here and now
            self.analysed += 1
            if settings.DKIM2WEB_INTAKE_REPLY:
                for delivery_id in accepted.delivery_ids:
                    services.delivery_reply(delivery_id=delivery_id)
        except Exception:
            logger.exception("intake: analysing or answering %s failed", accepted.delivery_ids)
        finally:
            close_old_connections()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until the analysis threads have nothing left (tests, the bench)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._pending_lock:
                pending = list(self._pending)
            if not pending:
                return True
            concurrent.futures.wait(pending, timeout=max(0.0, deadline - time.monotonic()))
        return False

    # -- in a thread -------------------------------------------------------------------------

    def start(self) -> None:
        """Start in a background thread; returns once the socket listens (``self.port``)."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start_serving())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_until_complete(self.serve())
            finally:
                _cancel_all(loop)
                loop.close()

        self._thread = threading.Thread(target=run, name="intake-smtp", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            raise failure[0]

    def stop(self) -> None:
        self.request_stop()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None
        self.shutdown_threads()

    def shutdown_threads(self) -> None:
        self.wait_idle(30)
        self.work.shutdown(wait=True)
        for pool in (self.db,):
            # Close each worker thread's database connection before letting it go.
            with contextlib.suppress(Exception):
                pool.submit(connections.close_all).result(10)
            pool.shutdown(wait=True)


def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
