"""A small, real DNS server for tests: UDP and TCP on 127.0.0.1, one ephemeral port.

Theory of operation
-------------------
:class:`DnsTestServer` binds a UDP socket on ``127.0.0.1:0``, then a TCP
listener on the same port number (retrying with a new port if TCP's is taken),
and serves both from background threads until the ``with`` block ends.  Each
UDP datagram and each TCP connection is handled on its own thread, so a slow
or silent name never delays the others (the resolver under test asks in
parallel).  Messages are parsed and built with dnspython's message API
(``dns.message.from_wire``, ``dns.message.make_response``).

A test says, per name, how the server behaves::

    with DnsTestServer() as server:
        server.txt("sel._domainkey.example.com", "v=DKIM1; p=...")
        server.txt("multi._domainkey.example.com", ["v=DKIM1; ", "p=..."])   # one RR, 2 strings
        server.txt("two._domainkey.example.com", "v=DKIM1; p=a", "v=DKIM1; p=b")  # two RRs
        server.txt("big._domainkey.example.com", "...", truncate_udp=True)  # TC over UDP
        server.txt("slow._domainkey.example.com", "...", delay_ms=100)
        server.nxdomain(...); server.nodata(...); server.servfail(...)
        server.refused(...); server.drop(...)                # drop = never answer
        server.cname(alias, target)
        server.records("example.com", "MX", "10 mx.example.com.")  # any other type
        server.load_zone({"example.com": {"@": [["a", "192.0.2.1"]]}})  # a dns.json zone
        ... server.port ...
        assert server.count("sel._domainkey.example.com", "udp") == 1

Names match case-insensitively.  A name nobody configured gets NXDOMAIN.
Negative answers carry an SOA record (owner: the root, so any name is below
it) whose ``minimum`` is the configured ``negative_ttl``.  A UDP answer larger
than the client's advertised payload (512 octets without EDNS) is truncated
the way a real server does: TC set, empty answer.  Only the loopback address
is ever bound and nothing is ever sent anywhere but back to the asker.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rdtypes.ANY.SOA
import dns.rdtypes.ANY.TXT
import dns.rrset

__all__ = ["Behaviour", "DnsTestServer", "QueryRecord"]

LOOPBACK = "127.0.0.1"

Record = str | bytes | Sequence[str | bytes]


@dataclass
class Behaviour:
    """How the server answers one name."""

    kind: str  # "txt", "records", "nxdomain", "nodata", "servfail", "refused", "drop", "cname"
    records: list[list[bytes]] = field(default_factory=list)  # one list of strings per RR
    # "records": rdata in zone-file text, by type (TXT too, as one string per RR)
    rrsets: dict[int, list[str]] = field(default_factory=dict)
    target: str = ""  # for "cname"
    ttl: int = 300
    negative_ttl: int = 60
    delay_ms: int = 0
    truncate_udp: bool = False


@dataclass(frozen=True)
class QueryRecord:
    """One query the server received."""

    name: str  # lower case, no trailing dot
    rdtype: str
    transport: str  # "udp" or "tcp"
    at: float  # time.monotonic()


def _as_bytes(s: str | bytes) -> bytes:
    return s if isinstance(s, bytes) else s.encode("utf-8")


def _rr_strings(record: Record) -> list[bytes]:
    if isinstance(record, str | bytes):
        raw = _as_bytes(record)
        # A character-string holds at most 255 octets: split long records the
        # way zone tooling does.
        return [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]
    return [_as_bytes(part) for part in record]


def _quoted(record: str) -> str:
    """A TXT record as zone-file text: its 255-octet character-strings, each quoted."""
    parts = []
    for part in _rr_strings(record):
        text = part.decode("latin-1").replace("\\", "\\\\").replace('"', '\\"')
        parts.append(f'"{text}"')
    return " ".join(parts)


def _key(name: str) -> str:
    return name.lower().rstrip(".")


class DnsTestServer:
    """A context manager serving configured names on 127.0.0.1 over UDP and TCP."""

    def __init__(self) -> None:
        self._behaviours: dict[str, Behaviour] = {}
        self._log: list[QueryRecord] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._udp: socket.socket | None = None
        self._tcp: socket.socket | None = None
        self.port = 0
        self.host = LOOPBACK
        #: Exceptions raised while answering (a test can assert it stays empty).
        self.errors: list[Exception] = []

    # -- configuration ----------------------------------------------------------------

    def set(self, name: str, behaviour: Behaviour) -> None:
        with self._lock:
            self._behaviours[_key(name)] = behaviour

    def txt(
        self,
        name: str,
        *records: Record,
        ttl: int = 300,
        delay_ms: int = 0,
        truncate_udp: bool = False,
    ) -> None:
        """Serve TXT RRs: each positional argument is one RR (a str, or a list of strings)."""
        self.set(
            name,
            Behaviour(
                "txt",
                records=[_rr_strings(r) for r in records],
                ttl=ttl,
                delay_ms=delay_ms,
                truncate_udp=truncate_udp,
            ),
        )

    def records(self, name: str, rdtype: str, *values: str, ttl: int = 300) -> None:
        """Serve RRs of any type at ``name`` (zone-file text: ``"10 mx.example.com."``),
        beside what ``records`` already serves there for other types."""
        code = dns.rdatatype.from_text(rdtype)
        with self._lock:
            current = self._behaviours.get(_key(name))
            if current is None or current.kind != "records":
                current = Behaviour("records", ttl=ttl)
                self._behaviours[_key(name)] = current
            current.rrsets.setdefault(code, []).extend(values)

    def load_zone(self, zone: dict[str, object]) -> None:
        """Serve a zone in the dns.json layout of ``analysis.resolvers.StaticResolver``:
        ``{"example.com": {"@": [["txt", "v=spf1 -all"]], "mail": [["a", "192.0.2.1"]]}}``.
        ``[]`` is NODATA, the servfail/timeout markers become SERVFAIL and silence."""
        for domain, content in zone.items():
            names = content if isinstance(content, dict) else {"@": content}
            for rel, entries in names.items():
                full = domain if rel in ("@", "") else f"{rel}.{domain}"
                if isinstance(entries, str):
                    entries = [["txt", entries]]
                if not entries:
                    self.nodata(full)
                for kind, value in entries:
                    kind = kind.lower()
                    if kind == "servfail":
                        self.servfail(full)
                    elif kind == "timeout":
                        self.drop(full)
                    elif kind == "cname":
                        self.cname(full, value)
                    elif kind == "txt":
                        self.records(full, "TXT", _quoted(value))
                    else:
                        self.records(full, kind.upper(), value)

    def nxdomain(self, name: str, *, negative_ttl: int = 60, delay_ms: int = 0) -> None:
        self.set(name, Behaviour("nxdomain", negative_ttl=negative_ttl, delay_ms=delay_ms))

    def nodata(self, name: str, *, negative_ttl: int = 60, delay_ms: int = 0) -> None:
        self.set(name, Behaviour("nodata", negative_ttl=negative_ttl, delay_ms=delay_ms))

    def servfail(self, name: str, *, delay_ms: int = 0) -> None:
        self.set(name, Behaviour("servfail", delay_ms=delay_ms))

    def refused(self, name: str, *, delay_ms: int = 0) -> None:
        self.set(name, Behaviour("refused", delay_ms=delay_ms))

    def drop(self, name: str) -> None:
        """Never answer this name (the client times out)."""
        self.set(name, Behaviour("drop"))

    def cname(self, name: str, target: str, *, ttl: int = 300) -> None:
        """Answer with a CNAME to ``target`` followed by whatever ``target`` holds."""
        self.set(name, Behaviour("cname", target=_key(target), ttl=ttl))

    # -- what was asked ---------------------------------------------------------------

    @property
    def log(self) -> list[QueryRecord]:
        with self._lock:
            return list(self._log)

    def count(self, name: str | None = None, transport: str | None = None) -> int:
        """Queries received, optionally only for one name and/or one transport."""
        wanted = None if name is None else _key(name)
        return sum(
            1
            for q in self.log
            if (wanted is None or q.name == wanted)
            and (transport is None or q.transport == transport)
        )

    def counts(self) -> Counter[tuple[str, str]]:
        """``{(name, transport): number of queries}``."""
        return Counter((q.name, q.transport) for q in self.log)

    def reset_log(self) -> None:
        with self._lock:
            self._log.clear()

    # -- lifecycle -------------------------------------------------------------------

    def __enter__(self) -> DnsTestServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        for _ in range(20):
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind((LOOPBACK, 0))
            port = udp.getsockname()[1]
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                tcp.bind((LOOPBACK, port))
            except OSError:
                udp.close()
                tcp.close()
                continue
            tcp.listen(64)
            break
        else:  # pragma: no cover - would need 20 collisions in a row
            raise RuntimeError("could not bind UDP and TCP on the same loopback port")
        udp.settimeout(0.05)
        tcp.settimeout(0.05)
        self._udp, self._tcp, self.port = udp, tcp, port
        self._stop.clear()
        for target in (self._serve_udp, self._serve_tcp):
            thread = threading.Thread(
                target=target, name=f"dns-test-{target.__name__}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        self._threads.clear()
        for sock in (self._udp, self._tcp):
            if sock is not None:
                sock.close()
        self._udp = self._tcp = None

    # -- serving ---------------------------------------------------------------------

    def _serve_udp(self) -> None:
        assert self._udp is not None
        sock = self._udp
        while not self._stop.is_set():
            try:
                data, peer = sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._answer_udp, args=(data, peer), daemon=True).start()

    def _answer_udp(self, data: bytes, peer: tuple[str, int]) -> None:
        wire = self._respond(data, "udp")
        if wire is not None and self._udp is not None and not self._stop.is_set():
            with contextlib.suppress(OSError):
                self._udp.sendto(wire, peer)

    def _serve_tcp(self) -> None:
        assert self._tcp is not None
        listener = self._tcp
        while not self._stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle_tcp, args=(conn,), daemon=True).start()

    def _handle_tcp(self, conn: socket.socket) -> None:
        conn.settimeout(0.1)
        with conn:
            while not self._stop.is_set():
                header = self._recv_exact(conn, 2)
                if header is None:
                    return
                (length,) = struct.unpack("!H", header)
                data = self._recv_exact(conn, length)
                if data is None:
                    return
                wire = self._respond(data, "tcp")
                if wire is None:  # "drop": keep the connection silent until the client gives up
                    continue
                try:
                    conn.sendall(struct.pack("!H", len(wire)) + wire)
                except OSError:
                    return

    def _recv_exact(self, conn: socket.socket, size: int) -> bytes | None:
        buf = b""
        while len(buf) < size:
            if self._stop.is_set():
                return None
            try:
                chunk = conn.recv(size - len(buf))
            except TimeoutError:
                continue
            except OSError:
                return None
            if not chunk:
                return None
            buf += chunk
        return buf

    def _respond(self, data: bytes, transport: str) -> bytes | None:
        """Build the wire answer to one query, or None to stay silent."""
        try:
            return self._build(data, transport)
        except Exception as exc:  # a test server bug must show, not hang the client
            self.errors.append(exc)
            return None

    def _build(self, data: bytes, transport: str) -> bytes | None:
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return None
        if len(query.question) != 1:
            return None
        question = query.question[0]
        qname = _key(question.name.to_text())
        with self._lock:
            self._log.append(
                QueryRecord(
                    qname, dns.rdatatype.to_text(question.rdtype), transport, time.monotonic()
                )
            )
            behaviour = self._behaviours.get(qname, Behaviour("nxdomain"))
        if behaviour.kind == "drop":
            return None
        if behaviour.delay_ms and self._stop.wait(behaviour.delay_ms / 1000.0):
            return None  # stopped while waiting
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        self._fill(response, question.name, question.rdtype, behaviour, depth=0)
        wire = response.to_wire(max_size=65535)
        if transport == "udp":
            limit = query.payload if query.edns >= 0 else 512
            if behaviour.truncate_udp or len(wire) > limit:
                response.answer.clear()
                response.authority.clear()
                response.flags |= dns.flags.TC
                wire = response.to_wire(max_size=65535)
        return wire

    def _fill(
        self,
        response: dns.message.Message,
        owner: dns.name.Name,
        rdtype: int,
        behaviour: Behaviour,
        depth: int,
    ) -> None:
        kind = behaviour.kind
        if kind == "servfail":
            response.set_rcode(dns.rcode.SERVFAIL)
        elif kind == "refused":
            response.set_rcode(dns.rcode.REFUSED)
        elif kind == "nxdomain":
            response.set_rcode(dns.rcode.NXDOMAIN)
            response.authority.append(self._soa(behaviour.negative_ttl))
        elif kind == "cname" and depth < 8:
            target = dns.name.from_text(behaviour.target)
            rrset = dns.rrset.RRset(owner, dns.rdataclass.IN, dns.rdatatype.CNAME)
            rrset.add(
                dns.rdtypes.ANY.CNAME.CNAME(dns.rdataclass.IN, dns.rdatatype.CNAME, target),
                behaviour.ttl,
            )
            response.answer.append(rrset)
            with self._lock:
                follow = self._behaviours.get(behaviour.target, Behaviour("nxdomain"))
            self._fill(response, target, rdtype, follow, depth + 1)
        elif kind == "txt" and rdtype == dns.rdatatype.TXT and behaviour.records:
            rrset = dns.rrset.RRset(owner, dns.rdataclass.IN, dns.rdatatype.TXT)
            for strings in behaviour.records:
                rrset.add(
                    dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, strings),
                    behaviour.ttl,
                )
            response.answer.append(rrset)
        elif kind == "records" and behaviour.rrsets.get(rdtype):
            rrset = dns.rrset.RRset(owner, dns.rdataclass.IN, rdtype)
            for text in behaviour.rrsets[rdtype]:
                rrset.add(
                    dns.rdata.from_text(
                        dns.rdataclass.IN, rdtype, text, origin=dns.name.root, relativize=False
                    ),
                    behaviour.ttl,
                )
            response.answer.append(rrset)
        elif kind == "records" and behaviour.rrsets.get(dns.rdatatype.CNAME):
            target = behaviour.rrsets[dns.rdatatype.CNAME][0]
            self._fill(response, owner, rdtype, Behaviour("cname", target=_key(target)), depth)
        else:  # nodata, or a type we do not hold
            response.authority.append(self._soa(behaviour.negative_ttl))

    @staticmethod
    def _soa(negative_ttl: int) -> dns.rrset.RRset:
        rrset = dns.rrset.RRset(dns.name.root, dns.rdataclass.IN, dns.rdatatype.SOA)
        rrset.add(
            dns.rdtypes.ANY.SOA.SOA(
                dns.rdataclass.IN,
                dns.rdatatype.SOA,
                dns.name.from_text("ns.test."),
                dns.name.from_text("hostmaster.test."),
                1,
                3600,
                600,
                86400,
                negative_ttl,
            ),
            negative_ttl,
        )
        return rrset
