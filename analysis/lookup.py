"""The DNS seam between the engine and whatever answers DNS questions.

The engine never does I/O.  Two shapes of question cross this seam:

* a DKIM public key (:class:`KeyQuery`, the TXT record at
  ``selector._domainkey.domain``), answered by a :class:`KeyAnswer` -- what the DKIM2,
  DKIM1 and ARC verifiers ask, in one batch per message;
* any other record (:class:`DnsQuery`: a name and a :class:`RecordType`), answered by a
  :class:`DnsAnswer` -- what SPF and DMARC ask, one step at a time, since each answer
  decides the next question.

An answer records exactly what the resolver saw (the records, or the kind of failure),
so a stored report can be reproduced later without asking DNS again.

Implementations (each offers both :class:`KeyLookup` and :class:`DnsLookup`):

* ``analysis.resolvers.StaticResolver`` -- a declarative zone in the interop
  ``dns.json`` layout (tests, offline samples);
* ``analysis.dns.DnsResolver`` -- dnspython, with per-query timeout, a budget per
  call, TCP fallback and a cap on the number of queries;
* ``analysis.evidence.MessageDns`` -- wraps one of those for one message: one budget for
  every mechanism, each question asked once, every answer kept as evidence.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


class LookupStatus(enum.StrEnum):
    """What happened when a key's TXT name was asked for."""

    FOUND = "found"  # one or more TXT records came back
    NXDOMAIN = "nxdomain"  # the name does not exist
    NODATA = "nodata"  # the name exists but has no TXT record
    SERVFAIL = "servfail"  # the server could not answer (temporary)
    TIMEOUT = "timeout"  # no answer within the per-query timeout (temporary)
    BUDGET = "budget"  # the per-message DNS budget (time or count) ran out
    INVALID_NAME = "invalid-name"  # selector or domain is not a valid DNS name
    ERROR = "error"  # any other resolver failure (temporary)

    @property
    def is_temporary(self) -> bool:
        return self in _TEMPORARY


#: The statuses of a lookup that may answer otherwise when asked again.
_TEMPORARY = frozenset(
    {LookupStatus.SERVFAIL, LookupStatus.TIMEOUT, LookupStatus.BUDGET, LookupStatus.ERROR}
)


@dataclass(frozen=True, order=True)
class KeyQuery:
    """One key the engine needs: the TXT record at ``<selector>._domainkey.<domain>``."""

    selector: str
    domain: str

    @property
    def name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"


@dataclass(frozen=True)
class KeyAnswer:
    """The raw outcome of one key lookup, as evidence.

    ``records`` holds one string per TXT resource record, with the record's
    character-strings already concatenated without whitespace (DNS00 §3.4).
    """

    query: KeyQuery
    status: LookupStatus
    records: tuple[str, ...] = ()
    detail: str = ""  # resolver's own words for a failure, for the report
    fetched_at: float = 0.0  # unix time the answer was obtained
    elapsed_ms: float = 0.0
    ttl: int | None = None
    transport: str = ""  # "udp", "tcp", "static", "cache"

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.query.name,
            "selector": self.query.selector,
            "domain": self.query.domain,
            "status": self.status.value,
            "records": list(self.records),
            "detail": self.detail,
            "fetched_at": self.fetched_at,
            "elapsed_ms": round(self.elapsed_ms, 3),
            "ttl": self.ttl,
            "transport": self.transport,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> KeyAnswer:
        ttl = data.get("ttl")
        records = data.get("records") or []
        if not isinstance(records, list | tuple):
            records = []
        return cls(
            query=KeyQuery(str(data["selector"]), str(data["domain"])),
            status=LookupStatus(str(data["status"])),
            records=tuple(str(r) for r in records),
            detail=str(data.get("detail", "")),
            fetched_at=float(data.get("fetched_at", 0.0) or 0.0),  # type: ignore[arg-type]
            elapsed_ms=float(data.get("elapsed_ms", 0.0) or 0.0),  # type: ignore[arg-type]
            ttl=int(ttl) if isinstance(ttl, int) else None,
            transport=str(data.get("transport", "")),
        )


class RecordType(enum.StrEnum):
    """The record types the mechanisms ask for."""

    TXT = "TXT"  # DKIM keys, SPF policies, DMARC policies
    A = "A"  # SPF a, mx, exists mechanisms
    AAAA = "AAAA"
    MX = "MX"  # SPF mx mechanism
    PTR = "PTR"  # SPF ptr mechanism and %{p}
    CNAME = "CNAME"


@dataclass(frozen=True, order=True)
class DnsQuery:
    """One question: ``name`` (no trailing dot) and record type ``rtype``."""

    name: str
    rtype: RecordType

    def __str__(self) -> str:
        return f"{self.name} {self.rtype.value}"


@dataclass(frozen=True)
class DnsAnswer:
    """The raw outcome of one :class:`DnsQuery`, as evidence.

    ``records`` holds one string per resource record of the asked type, CNAMEs
    followed (``detail`` names them), in the order the server sent:

    * TXT: the record's character-strings concatenated without whitespace (RFC 7208
      §3.3, RFC 6376 §3.6.2.2, RFC 9989 §4.7);
    * A, AAAA: the address in its usual text form (``192.0.2.1``, ``2001:db8::1``);
    * MX: ``"<preference> <exchange>"``, the exchange without its final dot (``.``
      for a null MX, RFC 7505);
    * PTR, CNAME: the target name without its final dot.
    """

    query: DnsQuery
    status: LookupStatus
    records: tuple[str, ...] = ()
    detail: str = ""
    fetched_at: float = 0.0
    elapsed_ms: float = 0.0
    ttl: int | None = None
    transport: str = ""  # "udp", "tcp", "static", "cache"

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.query.name,
            "type": self.query.rtype.value,
            "status": self.status.value,
            "records": list(self.records),
            "detail": self.detail,
            "fetched_at": self.fetched_at,
            "elapsed_ms": round(self.elapsed_ms, 3),
            "ttl": self.ttl,
            "transport": self.transport,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> DnsAnswer:
        ttl = data.get("ttl")
        records = data.get("records") or []
        if not isinstance(records, list | tuple):
            records = []
        return cls(
            query=DnsQuery(str(data["name"]), RecordType(str(data.get("type") or "TXT"))),
            status=LookupStatus(str(data["status"])),
            records=tuple(str(r) for r in records),
            detail=str(data.get("detail", "")),
            fetched_at=float(data.get("fetched_at", 0.0) or 0.0),  # type: ignore[arg-type]
            elapsed_ms=float(data.get("elapsed_ms", 0.0) or 0.0),  # type: ignore[arg-type]
            ttl=int(ttl) if isinstance(ttl, int) else None,
            transport=str(data.get("transport", "")),
        )


@runtime_checkable
class DnsLookup(Protocol):
    """Anything that can answer a batch of :class:`DnsQuery` for one message.

    Like :class:`KeyLookup`: one answer per query, never an exception for a DNS failure.
    ``time_left`` (seconds), when given, is what remains of the message's DNS budget;
    an implementation that waits on the network must not wait longer.
    """

    def resolve_many(
        self, queries: list[DnsQuery], *, time_left: float | None = None
    ) -> dict[DnsQuery, DnsAnswer]: ...


def key_answer(query: KeyQuery, answer: DnsAnswer, notes: tuple[str, ...] = ()) -> KeyAnswer:
    """``answer`` (to the TXT question of ``query``'s name) as a :class:`KeyAnswer`."""
    return KeyAnswer(
        query=query,
        status=answer.status,
        records=answer.records,
        detail="; ".join(p for p in (answer.detail, *notes) if p),
        fetched_at=answer.fetched_at,
        elapsed_ms=answer.elapsed_ms,
        ttl=answer.ttl,
        transport=answer.transport,
    )


@runtime_checkable
class KeyLookup(Protocol):
    """Anything that can answer a batch of key queries for one message.

    ``lookup_many`` is called once per message with every distinct query, so
    an implementation may run them in parallel and enforce a per-message
    budget.  It must return one answer per query and must not raise for DNS
    failures: those are answers too.
    """

    def lookup_many(self, queries: list[KeyQuery]) -> dict[KeyQuery, KeyAnswer]: ...


@dataclass
class RecordingLookup:
    """Wraps a lookup and keeps every answer it gave (for reports and tests)."""

    inner: KeyLookup
    answers: list[KeyAnswer] = field(default_factory=list)

    def lookup_many(self, queries: list[KeyQuery]) -> dict[KeyQuery, KeyAnswer]:
        result = self.inner.lookup_many(queries)
        self.answers.extend(result[q] for q in queries if q in result)
        return result
