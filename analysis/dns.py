"""DNS over the network, with dnspython: the only module of ``analysis`` that imports ``dns``.

Theory of operation
-------------------
:meth:`DnsResolver.resolve_many` answers a batch of :class:`~analysis.lookup.DnsQuery`
(any name, any :class:`~analysis.lookup.RecordType`); :meth:`DnsResolver.lookup_many`
answers DKIM key queries by asking the TXT question at each key's name through it.  For
one call:

1. Each name is validated and normalised by :func:`analysis.resolvers.dns_name` (key
   names by :func:`analysis.resolvers.key_name`: LDH labels, underscore allowed, U-labels
   converted to A-labels, length limits).  A name that fails gets ``INVALID_NAME`` and
   nothing is sent.
2. Questions for the same name and type (after lower-casing) share one lookup.  The cache,
   if any, is asked first; a hit costs no query and is answered with
   ``transport="cache"``, the original ``fetched_at`` and the remaining TTL.
3. At most ``max_queries`` distinct names go to the network; the rest get
   ``BUDGET`` without a query.  Cache hits and invalid names do not count.
4. The remaining names are resolved in parallel by a small thread pool.  Each
   asks its name and type and nothing else, with
   EDNS0 (payload 1232) and RD set, over UDP first; a response with the TC
   bit set is asked again over TCP of the same server.  Nameservers are tried
   in order: SERVFAIL, REFUSED, a timeout or a network error moves on to the
   next one; NOERROR and NXDOMAIN are final.  Each attempt gets an equal share
   of what is left of the query's time.
5. Every query has its own deadline, ``timeout`` seconds after it starts, and
   no deadline is later than the call's budget (``budget`` seconds after the call
   started, or the caller's ``time_left`` when that is shorter: what remains of the
   message's budget, :class:`analysis.evidence.MessageDns`).  A query cut short by the
   budget rather than by its own timeout, one not started before the budget ran out, or
   one not finished when the call stops waiting, is answered ``BUDGET``.
6. Outcomes map to :class:`~analysis.lookup.LookupStatus` at exactly one
   boundary, :func:`_ask`; no dnspython exception leaves this module:

   =======================================  ============
   dnspython / response                     status
   =======================================  ============
   NOERROR with records (CNAMEs followed)   FOUND
   NOERROR without them (NoAnswer)          NODATA
   NXDOMAIN                                 NXDOMAIN
   SERVFAIL, REFUSED                        SERVFAIL
   ``dns.exception.Timeout``                TIMEOUT (or BUDGET, step 5)
   other rcodes, malformed responses,       ERROR, with the exception in
   network errors, any other exception      ``detail``
   =======================================  ============

   FOUND/NODATA/NXDOMAIN are permanent for SPEC-NOTES §6.2 step 6 ("does
   not exist"); the others are temporary ("could not be fetched").
7. Records are written as :class:`~analysis.lookup.DnsAnswer` describes.  Each TXT
   record's character-strings are concatenated without whitespace (DNS00 §3.4) and
   decoded as ASCII; an octet outside ASCII becomes U+FFFD and ``detail`` says so.
   Records keep the order the server sent.
8. FOUND, NODATA and NXDOMAIN answers are cached for their TTL (the answer's,
   or the SOA's negative TTL), capped by :data:`MAX_CACHE_TTL` and
   :data:`MAX_NEGATIVE_CACHE_TTL`; failures are never cached.  The cache is
   any object with ``get(key)`` and ``set(key, value, ttl)``, so Django's
   cache framework fits as it is; a cache that raises is treated as a miss.

``clock`` (wall time, default :func:`time.time`) stamps ``fetched_at`` and the
remaining TTL of cached answers; the timeout and budget are measured with
:func:`time.monotonic`, because sockets wait in real time.

``DnsResolver()`` with no argument reads the system's ``/etc/resolv.conf``
(once, at the first lookup, not at construction) and never the environment;
Django can build it from a dotted path and pass settings as keyword arguments,
which are checked at construction.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver

from analysis import limits
from analysis.lookup import DnsAnswer, DnsQuery, KeyAnswer, KeyQuery, LookupStatus, RecordType
from analysis.resolvers import InvalidKeyName, dns_name, key_answers

__all__ = [
    "DEFAULT_BUDGET",
    "DEFAULT_MAX_QUERIES",
    "DEFAULT_PORT",
    "DEFAULT_TIMEOUT",
    "AnswerCache",
    "DnsResolver",
    "InMemoryTtlCache",
    "TieredAnswerCache",
]

#: DNS port.
DEFAULT_PORT = 53

#: Seconds one query may take, across all nameservers and both transports.
DEFAULT_TIMEOUT = 3.0

#: Seconds all the lookups of one ``lookup_many`` call may take together.
DEFAULT_BUDGET = 10.0

#: Most distinct questions sent to the network by one call.
DEFAULT_MAX_QUERIES = limits.MAX_DNS_QUERIES

#: Most queries in flight at once within one call.
MAX_PARALLEL = 8

#: EDNS0 UDP payload size advertised (the 2020 DNS flag day value).
EDNS_PAYLOAD = 1232

#: Longest time a FOUND answer is cached, in seconds.
MAX_CACHE_TTL = 3600

#: Longest time an NXDOMAIN or NODATA answer is cached, in seconds.
MAX_NEGATIVE_CACHE_TTL = 300

#: Extra seconds ``lookup_many`` waits past the budget for workers to report.
_GRACE = 0.25

#: Entries kept by :class:`InMemoryTtlCache` unless told otherwise.
DEFAULT_CACHE_ENTRIES = 4096

_CACHE_PREFIX = "dns:"


class AnswerCache(Protocol):
    """What :class:`DnsResolver` needs of a cache (Django's cache API fits)."""

    def get(self, key: str) -> DnsAnswer | None: ...

    def set(self, key: str, answer: DnsAnswer, ttl: int) -> None: ...


class InMemoryTtlCache:
    """A thread-safe, size-bounded TTL cache (least recently used entries go first)."""

    def __init__(
        self,
        *,
        max_entries: int = DEFAULT_CACHE_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._data: OrderedDict[str, tuple[float, DnsAnswer]] = OrderedDict()

    def get(self, key: str) -> DnsAnswer | None:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            expires, answer = item
            if self._clock() >= expires:
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return answer

    def set(self, key: str, answer: DnsAnswer, ttl: int) -> None:
        if ttl <= 0:
            return
        with self._lock:
            self._data[key] = (self._clock() + ttl, answer)
            self._data.move_to_end(key)
            while len(self._data) > self._max_entries:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)


class TieredAnswerCache:
    """A process's own :class:`InMemoryTtlCache` in front of a shared cache (Redis).

    Every worker process reads the same few signing domains' keys over and over; a read
    from its own memory costs microseconds, one from the shared cache a network round
    trip. An answer found in the shared cache is kept near for what is left of its TTL
    (from its ``fetched_at``, so the TTL is never stretched), at most ``near_ttl_cap``
    seconds, which bounds how long a process goes on using an answer the shared cache
    has dropped (an operator flushing it). Writes go to both.
    """

    def __init__(
        self,
        far: AnswerCache,
        *,
        near: InMemoryTtlCache | None = None,
        near_ttl_cap: int = 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.far = far
        self.near = near if near is not None else InMemoryTtlCache()
        self.near_ttl_cap = near_ttl_cap
        self.clock = clock

    def get(self, key: str) -> DnsAnswer | None:
        answer = self.near.get(key)
        if answer is not None:
            return answer
        answer = self.far.get(key)
        if isinstance(answer, DnsAnswer) and answer.ttl is not None:
            left = answer.ttl - max(0.0, self.clock() - answer.fetched_at)
            self.near.set(key, answer, int(min(self.near_ttl_cap, left)))
        return answer

    def set(self, key: str, answer: DnsAnswer, ttl: int) -> None:
        self.far.set(key, answer, ttl)
        self.near.set(key, answer, min(self.near_ttl_cap, ttl))


@dataclass(frozen=True)
class _Outcome:
    """What one name's lookup produced, before it is fanned out to its queries."""

    status: LookupStatus
    records: tuple[str, ...] = ()
    detail: str = ""
    ttl: int | None = None
    transport: str = ""
    elapsed_ms: float = 0.0
    fetched_at: float = 0.0


class _Attempt(Exception):
    """Internal: one nameserver failed in a way that lets the next one be tried."""

    def __init__(self, outcome: _Outcome) -> None:
        super().__init__(outcome.detail)
        self.outcome = outcome


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{name} must be a positive number, not {value!r}")
    return float(value)


class DnsResolver:
    """A :class:`~analysis.lookup.KeyLookup` that asks DNS (see the module docs)."""

    def __init__(
        self,
        *,
        nameservers: Sequence[str] | None = None,
        port: int = DEFAULT_PORT,
        timeout: float = DEFAULT_TIMEOUT,
        budget: float = DEFAULT_BUDGET,
        max_queries: int = DEFAULT_MAX_QUERIES,
        cache: AnswerCache | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if isinstance(nameservers, str):
            nameservers = [s for s in nameservers.replace(",", " ").split() if s]
        if nameservers is not None:
            nameservers = [str(s) for s in nameservers]
            if not nameservers:
                raise ValueError("nameservers must be None (system) or a non-empty list")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError(f"port must be 1-65535, not {port!r}")
        if isinstance(max_queries, bool) or not isinstance(max_queries, int) or max_queries < 0:
            raise ValueError(f"max_queries must be a whole number >= 0, not {max_queries!r}")
        self.nameservers: list[str] | None = None if nameservers is None else list(nameservers)
        self.port = port
        self.timeout = _positive("timeout", timeout)
        self.budget = _positive("budget", budget)
        self.max_queries = max_queries
        self.cache = cache
        self.clock = clock
        self._system_nameservers: list[str] | None = None
        self._config_error = ""
        self._config_lock = threading.Lock()

    def __repr__(self) -> str:
        servers = "system" if self.nameservers is None else ",".join(self.nameservers)
        return (
            f"<DnsResolver nameservers={servers} port={self.port} timeout={self.timeout}"
            f" budget={self.budget} max_queries={self.max_queries}>"
        )

    # -- public -------------------------------------------------------------------

    def lookup(self, query: KeyQuery) -> KeyAnswer:
        """One key query, with the same rules as :meth:`lookup_many`."""
        return self.lookup_many([query])[query]

    def lookup_many(self, queries: list[KeyQuery]) -> dict[KeyQuery, KeyAnswer]:
        """DKIM key queries: the TXT question at each ``selector._domainkey.domain``."""
        return key_answers(self.resolve_many, queries, clock=self.clock)

    def resolve(self, query: DnsQuery) -> DnsAnswer:
        """One question, with the same rules as :meth:`resolve_many`."""
        return self.resolve_many([query])[query]

    def resolve_many(
        self, queries: list[DnsQuery], *, time_left: float | None = None
    ) -> dict[DnsQuery, DnsAnswer]:
        started = time.monotonic()
        budget = self.budget if time_left is None else max(0.0, min(self.budget, time_left))
        deadline = started + budget
        result: dict[DnsQuery, DnsAnswer] = {}
        pending: dict[tuple[str, RecordType], list[DnsQuery]] = {}
        notes: dict[DnsQuery, tuple[str, ...]] = {}

        for query in dict.fromkeys(queries):
            try:
                normalised = dns_name(query.name)
            except InvalidKeyName as exc:
                result[query] = self._answer(
                    query, _Outcome(LookupStatus.INVALID_NAME, detail=str(exc))
                )
                continue
            notes[query] = normalised.notes
            key = (normalised.name, query.rtype)
            cached = self._cache_get(key)
            if cached is not None:
                result[query] = self._from_cache(query, cached, normalised.notes)
                continue
            pending.setdefault(key, []).append(query)

        keys = list(pending)
        to_send, over_cap = keys[: self.max_queries], keys[self.max_queries :]
        outcomes: dict[tuple[str, RecordType], _Outcome] = {}
        for key in over_cap:
            outcomes[key] = _Outcome(
                LookupStatus.BUDGET,
                detail=f"not queried: more than {self.max_queries} names in one call",
                fetched_at=self.clock(),
            )
        if to_send:
            outcomes.update(self._resolve_all(to_send, deadline, budget))

        for key, waiting in pending.items():
            outcome = outcomes[key]
            if outcome.status in (LookupStatus.FOUND, LookupStatus.NODATA, LookupStatus.NXDOMAIN):
                self._cache_set(key, self._answer(waiting[0], outcome))
            for query in waiting:
                result[query] = self._answer(query, outcome, notes.get(query, ()))
        return result

    # -- the fan-out and the budget ------------------------------------------------

    def _resolve_all(
        self, names: list[tuple[str, RecordType]], deadline: float, budget: float
    ) -> dict[tuple[str, RecordType], _Outcome]:
        servers, config_error = self._servers()
        if not servers:
            detail = f"no nameserver configured ({config_error or 'empty list'})"
            return {
                n: _Outcome(LookupStatus.ERROR, detail=detail, fetched_at=self.clock())
                for n in names
            }
        pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=min(MAX_PARALLEL, len(names)), thread_name_prefix="dkim2-dns"
        )
        try:
            futures = {
                pool.submit(self._resolve_one, n, servers, deadline, budget): n for n in names
            }
            remaining = max(0.0, deadline - time.monotonic()) + _GRACE
            done, _ = concurrent.futures.wait(futures, timeout=remaining)
            outcomes: dict[tuple[str, RecordType], _Outcome] = {}
            for future, name in futures.items():
                if future in done:
                    try:
                        outcomes[name] = future.result()
                    except Exception as exc:  # a bug in _resolve_one; still an answer
                        outcomes[name] = _Outcome(
                            LookupStatus.ERROR,
                            detail=f"internal error: {type(exc).__name__}: {exc}",
                            fetched_at=self.clock(),
                        )
                else:
                    outcomes[name] = _Outcome(
                        LookupStatus.BUDGET,
                        detail=f"not finished within the {budget:g} s budget for this message",
                        elapsed_ms=budget * 1000.0,
                        fetched_at=self.clock(),
                    )
            return outcomes
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _resolve_one(
        self,
        question: tuple[str, RecordType],
        servers: list[str],
        budget_deadline: float,
        budget: float,
    ) -> _Outcome:
        started = time.monotonic()
        if started >= budget_deadline:
            return _Outcome(
                LookupStatus.BUDGET,
                detail=f"not queried: the {budget:g} s budget for this message ran out",
                fetched_at=self.clock(),
            )
        own_deadline = started + self.timeout
        deadline = min(own_deadline, budget_deadline)
        name, rtype = question
        outcome = _ask(name, rtype, servers, self.port, deadline)
        if outcome.status is LookupStatus.TIMEOUT and budget_deadline < own_deadline:
            outcome = dataclasses.replace(
                outcome,
                status=LookupStatus.BUDGET,
                detail=f"{outcome.detail}; cut short by the {budget:g} s budget",
            )
        elapsed_ms = (time.monotonic() - started) * 1000.0
        return dataclasses.replace(outcome, elapsed_ms=elapsed_ms, fetched_at=self.clock())

    def _servers(self) -> tuple[list[str], str]:
        if self.nameservers is not None:
            return self.nameservers, ""
        with self._config_lock:
            if self._system_nameservers is None:
                self._system_nameservers, self._config_error = _system_nameservers()
            return self._system_nameservers, self._config_error

    # -- answers and the cache -------------------------------------------------------

    def _answer(self, query: DnsQuery, outcome: _Outcome, notes: tuple[str, ...] = ()) -> DnsAnswer:
        detail = "; ".join(p for p in (outcome.detail, *notes) if p)
        return DnsAnswer(
            query=query,
            status=outcome.status,
            records=outcome.records,
            detail=detail,
            fetched_at=outcome.fetched_at or self.clock(),
            elapsed_ms=outcome.elapsed_ms,
            ttl=outcome.ttl,
            transport=outcome.transport,
        )

    @staticmethod
    def _cache_key(question: tuple[str, RecordType]) -> str:
        # Short, printable keys, safe for memcached (250 octets, no spaces).
        name, rtype = question
        if len(name) > 200:
            name = hashlib.sha256(name.encode("ascii")).hexdigest()
        return f"{_CACHE_PREFIX}{rtype.value}:{name}"

    def _cache_get(self, question: tuple[str, RecordType]) -> DnsAnswer | None:
        if self.cache is None:
            return None
        try:
            value = self.cache.get(self._cache_key(question))
        except Exception:  # a broken cache must not break lookups
            return None
        return value if isinstance(value, DnsAnswer) else None

    def _cache_set(self, question: tuple[str, RecordType], answer: DnsAnswer) -> None:
        if self.cache is None or answer.ttl is None:
            return
        cap = MAX_CACHE_TTL if answer.status is LookupStatus.FOUND else MAX_NEGATIVE_CACHE_TTL
        ttl = min(answer.ttl, cap)
        if ttl <= 0:
            return
        try:
            self.cache.set(self._cache_key(question), answer, ttl)
        except Exception:  # a broken cache must not break lookups
            return

    def _from_cache(
        self, query: DnsQuery, cached: DnsAnswer, notes: tuple[str, ...] = ()
    ) -> DnsAnswer:
        ttl = cached.ttl
        if ttl is not None:
            ttl = max(0, int(ttl - max(0.0, self.clock() - cached.fetched_at)))
        origin = f"from cache (fetched over {cached.transport or 'dns'})"
        return dataclasses.replace(
            cached,
            query=query,
            detail="; ".join(p for p in (origin, cached.detail, *notes) if p),
            elapsed_ms=0.0,
            ttl=ttl,
            transport="cache",
        )


def _system_nameservers() -> tuple[list[str], str]:
    """Nameservers of /etc/resolv.conf (read only, no traffic), or an error sentence."""
    try:
        resolver = dns.resolver.Resolver(configure=True)
    except (dns.exception.DNSException, OSError) as exc:
        return [], f"cannot read the system resolver configuration: {exc}"
    servers: list[str] = []
    for ns in resolver.nameservers:
        address = ns if isinstance(ns, str) else getattr(ns, "address", None)
        if isinstance(address, str):
            servers.append(address)
    return servers, "" if servers else "the system resolver configuration lists no nameserver"


# -- the dnspython boundary ---------------------------------------------------------------


def _ask(name: str, rtype: RecordType, servers: list[str], port: int, deadline: float) -> _Outcome:
    """Ask each server in turn until one gives a final answer; never raises."""
    last: _Outcome | None = None
    tried: list[str] = []
    for index, server in enumerate(servers):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        share = remaining / (len(servers) - index)
        tried.append(server)
        try:
            return _ask_server(name, rtype, server, port, share)
        except _Attempt as failed:
            last = failed.outcome
        except Exception as exc:  # the one place foreign exceptions become outcomes
            last = _outcome_for_exception(exc, server, port)
    if last is None:
        return _Outcome(LookupStatus.TIMEOUT, detail="no time left to send the query")
    if len(tried) > 1:
        last = dataclasses.replace(last, detail=f"{last.detail} (tried {', '.join(tried)})")
    return last


def _outcome_for_exception(
    exc: BaseException, server: str, port: int, transport: str = "udp"
) -> _Outcome:
    where = f"{server}#{port} over {transport.upper()}"
    what = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, dns.exception.Timeout):
        status, detail = LookupStatus.TIMEOUT, f"no answer from {where}: {exc}"
    elif isinstance(exc, dns.exception.DNSException):
        status, detail = LookupStatus.ERROR, f"bad response from {where}: {what}"
    elif isinstance(exc, OSError | EOFError):
        status, detail = LookupStatus.ERROR, f"network error with {where}: {what}"
    else:
        status, detail = LookupStatus.ERROR, f"unexpected error with {where}: {what}"
    return _Outcome(status, detail=detail, transport=transport)


def _ask_server(name: str, rtype: RecordType, server: str, port: int, timeout: float) -> _Outcome:
    """One server: UDP, then TCP if truncated.  Raises on failures worth another server."""
    # Built from the labels, not parsed as zone-file text, so a label holding "@", "(" or
    # a space (SPF macro expansions) is asked exactly as it is.
    qname = dns.name.Name([label.encode("ascii") for label in name.split(".")] + [b""])
    request = dns.message.make_query(
        qname,
        dns.rdatatype.from_text(rtype.value),
        use_edns=0,
        payload=EDNS_PAYLOAD,
        flags=dns.flags.RD,
    )
    started = time.monotonic()
    response = dns.query.udp(request, server, timeout=timeout, port=port)
    transport = "udp"
    notes: list[str] = []
    if response.flags & dns.flags.TC:
        left = timeout - (time.monotonic() - started)
        if left <= 0:
            raise _Attempt(
                _Outcome(
                    LookupStatus.TIMEOUT,
                    detail=f"truncated over UDP; no time left to ask {server}#{port} over TCP",
                    transport="tcp",
                )
            )
        try:
            response = dns.query.tcp(request, server, timeout=left, port=port)
        except Exception as exc:  # mapped here so the report says it was the TCP retry
            failed = _outcome_for_exception(exc, server, port, "tcp")
            detail = f"truncated over UDP; TCP retry failed: {failed.detail}"
            raise _Attempt(dataclasses.replace(failed, detail=detail)) from None
        transport = "tcp"
        notes.append("truncated over UDP, asked again over TCP")
    return _interpret(response, name, rtype, server, port, transport, notes)


def _interpret(
    response: dns.message.Message,
    name: str,
    rtype: RecordType,
    server: str,
    port: int,
    transport: str,
    notes: list[str],
) -> _Outcome:
    where = f"{server}#{port}"
    rcode = response.rcode()
    if rcode in (dns.rcode.SERVFAIL, dns.rcode.REFUSED):
        raise _Attempt(
            _Outcome(
                LookupStatus.SERVFAIL,
                detail=f"{dns.rcode.to_text(rcode)} from {where}",
                transport=transport,
            )
        )
    if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        raise _Attempt(
            _Outcome(
                LookupStatus.ERROR,
                detail=f"{dns.rcode.to_text(rcode)} from {where}",
                transport=transport,
            )
        )
    if not isinstance(response, dns.message.QueryMessage):  # pragma: no cover - dnspython
        raise _Attempt(_Outcome(LookupStatus.ERROR, detail=f"not a query response from {where}"))
    chain = response.resolve_chaining()
    ttl = int(chain.minimum_ttl)
    if chain.cnames:
        hops = " -> ".join(
            [name, *(c[0].target.to_text(omit_final_dot=True) for c in chain.cnames)]
        )
        notes.append(f"CNAME {hops}")
    if rcode == dns.rcode.NXDOMAIN:
        return _Outcome(
            LookupStatus.NXDOMAIN,
            detail="; ".join([f"NXDOMAIN from {where}", *notes]),
            ttl=ttl,
            transport=transport,
        )
    if chain.answer is None:
        return _Outcome(
            LookupStatus.NODATA,
            detail="; ".join([f"no {rtype.value} record (NOERROR) from {where}", *notes]),
            ttl=ttl,
            transport=transport,
        )
    records = [
        _record_text(rtype, rdata, index, notes)
        for index, rdata in enumerate(chain.answer, start=1)
    ]
    return _Outcome(
        LookupStatus.FOUND,
        records=tuple(records),
        detail="; ".join(notes),
        ttl=ttl,
        transport=transport,
    )


def _name_text(name: dns.name.Name) -> str:
    return "." if name == dns.name.root else name.to_text(omit_final_dot=True)


def _record_text(rtype: RecordType, rdata: object, index: int, notes: list[str]) -> str:
    """One record in the text form :class:`~analysis.lookup.DnsAnswer` describes."""
    if rtype is RecordType.TXT:
        raw = b"".join(rdata.strings)  # type: ignore[attr-defined]
        if not raw.isascii():
            notes.append(f"record {index}: non-ASCII octets replaced with U+FFFD")
        return str(raw.decode("ascii", errors="replace"))
    if rtype in (RecordType.A, RecordType.AAAA):
        return str(rdata.address)  # type: ignore[attr-defined]
    if rtype is RecordType.MX:
        return f"{rdata.preference} {_name_text(rdata.exchange)}"  # type: ignore[attr-defined]
    return _name_text(rdata.target)  # type: ignore[attr-defined]  # PTR, CNAME
