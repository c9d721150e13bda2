"""One message's DNS: one budget for every mechanism, each question asked once, every answer kept.

Theory of operation
-------------------
:class:`MessageDns` wraps the lookup the caller injected (the static zone, the real-DNS
adapter, the web app's router) for the analysis of one message.  Every mechanism asks
through it, naming its purpose (``"dkim2 key"``, ``"dkim1 key"``, ``"arc key"``,
``"spf"``, ``"dmarc"``):

1. A question is the pair (name, type), the name lower-cased without its final dot.  A
   question already asked for this message is answered from memory: DKIM1 and ARC
   signatures of the same domain share their key, SPF's ``include`` and DMARC's walk may
   meet the same names.  Each answer lists every purpose it served.
2. The message has one time budget (:data:`analysis.limits.DNS_BUDGET_SECONDS` unless
   told otherwise), started by its first question; what is left of it is passed to the
   inner lookup as ``time_left``, and once it is spent questions are answered
   ``BUDGET`` without being asked.
3. At most ``max_queries`` distinct questions are asked
   (:data:`analysis.limits.MAX_DNS_QUERIES`); the rest are answered ``BUDGET``.  SPF's
   own limits (ten lookups, two void lookups, RFC 7208 §4.6.4) are the SPF evaluator's;
   this cap only bounds what a hostile message can make all mechanisms ask together.
4. A lookup that only answers key queries (a :class:`~analysis.lookup.KeyLookup` without
   ``resolve_many``, such as a test's stub) still serves the keys; other questions are
   answered ``ERROR`` saying so.

:attr:`MessageDns.evidence` is the list the report shows: every answer in the order
first asked, with its purposes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from . import limits
from .lookup import (
    DnsAnswer,
    DnsLookup,
    DnsQuery,
    KeyAnswer,
    KeyLookup,
    KeyQuery,
    LookupStatus,
    RecordType,
    key_answer,
)
from .resolvers import InvalidKeyName, key_answers, key_name

__all__ = ["Evidence", "MessageDns", "PurposeLookup", "evidence_json"]


@dataclass
class Evidence:
    """One question asked for the message, its answer, and what it was asked for."""

    answer: DnsAnswer
    purposes: list[str] = field(default_factory=list)

    def to_json(self, *, room: int = limits.MAX_EVIDENCE_CHARS) -> dict[str, Any]:
        """The answer as the report keeps it: at most :data:`limits.MAX_EVIDENCE_RECORDS`
        records of at most :data:`limits.MAX_EVIDENCE_RECORD_CHARS` characters each, and
        no more than ``room`` characters of records in all (a zone can hold far more than a
        report should); ``records_total`` says when some were cut or left out."""
        data = {**self.answer.to_json(), "purposes": list(self.purposes)}
        records = list(self.answer.records)
        kept: list[str] = []
        for record in records[: limits.MAX_EVIDENCE_RECORDS]:
            limit = min(limits.MAX_EVIDENCE_RECORD_CHARS, room)
            if limit <= 0:
                break
            kept.append(record if len(record) <= limit else record[:limit] + "…")
            room -= len(kept[-1])
        data["records"] = kept
        if kept != records:
            data["records_total"] = len(records)
        return data


def evidence_json(items: list[Evidence]) -> list[dict[str, Any]]:
    """Every answer of a message as the report keeps it, within one budget of
    :data:`limits.MAX_EVIDENCE_CHARS` characters of records (the first answers first)."""
    out: list[dict[str, Any]] = []
    room = limits.MAX_EVIDENCE_CHARS
    for item in items:
        data = item.to_json(room=room)
        room -= sum(len(r) for r in data["records"])
        out.append(data)
    return out


def _question(query: DnsQuery) -> tuple[str, RecordType]:
    return query.name.lower().rstrip("."), query.rtype


class MessageDns:
    """See the module docs."""

    def __init__(
        self,
        lookup: KeyLookup | DnsLookup,
        *,
        budget: float = limits.DNS_BUDGET_SECONDS,
        max_queries: int = limits.MAX_DNS_QUERIES,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.inner = lookup
        self.budget = float(budget)
        self.max_queries = max_queries
        self.clock = clock
        self.wall_clock = wall_clock
        self._deadline: float | None = None
        self._memo: dict[tuple[str, RecordType], Evidence] = {}
        self.evidence: list[Evidence] = []

    # -- the two shapes of question ---------------------------------------------------------

    def resolve_many(self, queries: list[DnsQuery], *, purpose: str) -> dict[DnsQuery, DnsAnswer]:
        return self._resolve_tagged([(q, purpose) for q in queries])

    def _resolve_tagged(self, tagged: list[tuple[DnsQuery, str]]) -> dict[DnsQuery, DnsAnswer]:
        """Questions with their purposes, asked of the inner lookup in one call."""
        result: dict[DnsQuery, DnsAnswer] = {}
        to_ask: dict[tuple[str, RecordType], list[tuple[DnsQuery, str]]] = {}
        for query, purpose in dict.fromkeys(tagged):
            key = _question(query)
            known = self._memo.get(key)
            if known is not None:
                if purpose not in known.purposes:
                    known.purposes.append(purpose)
                result[query] = _as_asked(known.answer, query)
                continue
            to_ask.setdefault(key, []).append((query, purpose))
        if to_ask:
            answers = self._ask([waiting[0][0] for waiting in to_ask.values()])
            for key, waiting in to_ask.items():
                answer = answers[waiting[0][0]]
                self._remember(key, answer, waiting[0][1])
                for query, purpose in waiting:
                    if purpose not in self._memo[key].purposes:
                        self._memo[key].purposes.append(purpose)
                    result[query] = _as_asked(answer, query)
        return result

    def lookup_keys(
        self, by_purpose: dict[str, list[KeyQuery]]
    ) -> dict[str, dict[KeyQuery, KeyAnswer]]:
        """Every mechanism's key queries in one call to the inner lookup (so they are
        resolved in parallel), each answer tagged with the purposes that asked for it."""
        out: dict[str, dict[KeyQuery, KeyAnswer]] = {p: {} for p in by_purpose}
        if not hasattr(self.inner, "resolve_many"):
            for purpose, queries in by_purpose.items():
                out[purpose] = self._keys_only(queries, purpose) if queries else {}
            return out
        tagged: list[tuple[DnsQuery, str]] = []
        names: dict[tuple[str, KeyQuery], tuple[DnsQuery, tuple[str, ...]]] = {}
        for purpose, queries in by_purpose.items():
            for query in dict.fromkeys(queries):
                try:
                    normalised = key_name(query)
                except InvalidKeyName as exc:
                    out[purpose][query] = KeyAnswer(
                        query,
                        LookupStatus.INVALID_NAME,
                        detail=str(exc),
                        fetched_at=self.wall_clock(),
                    )
                    continue
                question = DnsQuery(normalised.name, RecordType.TXT)
                names[(purpose, query)] = (question, normalised.notes)
                tagged.append((question, purpose))
        answers = self._resolve_tagged(tagged) if tagged else {}
        for (purpose, query), (question, notes) in names.items():
            out[purpose][query] = key_answer(query, answers[question], notes)
        return out

    def resolve(self, query: DnsQuery, *, purpose: str) -> DnsAnswer:
        return self.resolve_many([query], purpose=purpose)[query]

    def lookup_many(self, queries: list[KeyQuery], *, purpose: str) -> dict[KeyQuery, KeyAnswer]:
        """Key queries: the TXT question at each key's name."""
        if hasattr(self.inner, "resolve_many"):
            return key_answers(partial(self.resolve_many, purpose=purpose), queries)
        return self._keys_only(queries, purpose)

    def for_purpose(self, purpose: str) -> PurposeLookup:
        """A view asking every question for ``purpose`` (both lookup protocols)."""
        return PurposeLookup(self, purpose)

    @property
    def questions_asked(self) -> int:
        return len(self.evidence)

    # -- asking -----------------------------------------------------------------------------

    def _time_left(self) -> float:
        now = self.clock()
        if self._deadline is None:
            self._deadline = now + self.budget
        return self._deadline - now

    def _ask(self, queries: list[DnsQuery]) -> dict[DnsQuery, DnsAnswer]:
        room = max(0, self.max_queries - len(self.evidence))
        sent, refused = queries[:room], queries[room:]
        answers = {
            q: self._budget_answer(
                q, f"not asked: this message's {self.max_queries}-question DNS budget is spent"
            )
            for q in refused
        }
        if not sent:
            return answers
        left = self._time_left()
        if left <= 0:
            spent = f"not asked: this message's {self.budget:g} s DNS budget is spent"
            answers.update({q: self._budget_answer(q, spent) for q in sent})
            return answers
        resolve = getattr(self.inner, "resolve_many", None)
        if resolve is None:
            detail = (
                f"not asked: the configured lookup ({type(self.inner).__name__}) "
                "answers DKIM key queries only"
            )
            answers.update(
                {
                    q: DnsAnswer(q, LookupStatus.ERROR, detail=detail, fetched_at=self.wall_clock())
                    for q in sent
                }
            )
            return answers
        got = resolve(sent, time_left=left)
        for q in sent:
            answers[q] = got.get(q) or DnsAnswer(
                q,
                LookupStatus.ERROR,
                detail="the lookup gave no answer",
                fetched_at=self.wall_clock(),
            )
        return answers

    def _budget_answer(self, query: DnsQuery, detail: str) -> DnsAnswer:
        return DnsAnswer(query, LookupStatus.BUDGET, detail=detail, fetched_at=self.wall_clock())

    def _remember(self, key: tuple[str, RecordType], answer: DnsAnswer, purpose: str) -> None:
        item = Evidence(answer, [purpose])
        self._memo[key] = item
        self.evidence.append(item)

    def _keys_only(self, queries: list[KeyQuery], purpose: str) -> dict[KeyQuery, KeyAnswer]:
        """Keys from a lookup that only implements ``lookup_many``."""
        result: dict[KeyQuery, KeyAnswer] = {}
        missing: list[KeyQuery] = []
        for query in dict.fromkeys(queries):
            try:
                name = key_name(query).name
            except InvalidKeyName:
                name = query.name.lower()
            known = self._memo.get((name, RecordType.TXT))
            if known is not None:
                if purpose not in known.purposes:
                    known.purposes.append(purpose)
                result[query] = key_answer(query, known.answer)
            else:
                missing.append(query)
        if missing:
            assert hasattr(self.inner, "lookup_many")
            self._time_left()  # the budget starts with the first question all the same
            got = self.inner.lookup_many(missing)
            for query in missing:
                answer = got[query]
                result[query] = answer
                try:
                    name = key_name(query).name
                except InvalidKeyName:
                    name = query.name.lower()
                self._remember((name, RecordType.TXT), _dns_answer(name, answer), purpose)
        return result


@dataclass(frozen=True)
class PurposeLookup:
    """:class:`MessageDns` with a fixed purpose; a KeyLookup and a DnsLookup."""

    dns: MessageDns
    purpose: str

    def lookup_many(self, queries: list[KeyQuery]) -> dict[KeyQuery, KeyAnswer]:
        return self.dns.lookup_many(queries, purpose=self.purpose)

    def resolve_many(
        self, queries: list[DnsQuery], *, time_left: float | None = None
    ) -> dict[DnsQuery, DnsAnswer]:
        return self.dns.resolve_many(queries, purpose=self.purpose)

    def resolve(self, query: DnsQuery) -> DnsAnswer:
        return self.dns.resolve(query, purpose=self.purpose)


def _as_asked(answer: DnsAnswer, query: DnsQuery) -> DnsAnswer:
    """The shared answer, carrying the query exactly as this caller asked it."""
    return answer if answer.query == query else replace(answer, query=query)


def _dns_answer(name: str, answer: KeyAnswer) -> DnsAnswer:
    return DnsAnswer(
        DnsQuery(name, RecordType.TXT),
        answer.status,
        answer.records,
        answer.detail,
        answer.fetched_at,
        answer.elapsed_ms,
        answer.ttl,
        answer.transport,
    )
