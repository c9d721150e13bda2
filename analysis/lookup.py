"""The key-lookup seam between the engine and whatever fetches DNS TXT records.

The engine never does I/O.  It says which keys a message needs
(:class:`KeyQuery`, one per ``selector._domainkey.domain`` name) and is handed
back one :class:`KeyAnswer` per query.  An answer records exactly what the
resolver saw (the TXT strings, or the kind of failure) so a stored report can
be reproduced later without asking DNS again.

Implementations of :class:`KeyLookup`:

* ``analysis.resolvers.StaticResolver`` -- a declarative zone in the interop
  ``dns.json`` layout (tests, offline samples);
* ``analysis.dns.DnsResolver`` -- dnspython, with per-query timeout, a total
  budget per message, TCP fallback and a cap on the number of queries.
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
        return self in {
            LookupStatus.SERVFAIL,
            LookupStatus.TIMEOUT,
            LookupStatus.BUDGET,
            LookupStatus.ERROR,
        }


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
