"""MessageDns: one message's questions, asked once each, under one budget, kept as evidence."""

from __future__ import annotations

from analysis.evidence import MessageDns
from analysis.lookup import DnsAnswer, DnsQuery, KeyAnswer, KeyQuery, LookupStatus, RecordType
from analysis.resolvers import StaticResolver

ZONE = {
    "example.com": {
        "@": [["txt", "v=spf1 -all"]],
        "sel._domainkey": [["txt", "v=DKIM1; p=AAAA"]],
        "_dmarc": [["txt", "v=DMARC1; p=none"]],
    }
}
TXT = RecordType.TXT


class CountingZone(StaticResolver):
    """A static zone that counts the calls it gets and what time was left at each."""

    def __init__(self) -> None:
        super().__init__(ZONE)
        self.calls: list[tuple[list[DnsQuery], float | None]] = []

    def resolve_many(
        self, queries: list[DnsQuery], *, time_left: float | None = None
    ) -> dict[DnsQuery, DnsAnswer]:
        self.calls.append((list(queries), time_left))
        return super().resolve_many(queries)


def test_a_question_is_asked_once_and_lists_every_purpose() -> None:
    inner = CountingZone()
    dns = MessageDns(inner)
    first = dns.resolve(DnsQuery("example.com", TXT), purpose="spf")
    again = dns.resolve(DnsQuery("EXAMPLE.com.", TXT), purpose="dmarc")
    assert first.records == again.records == ("v=spf1 -all",)
    assert again.query == DnsQuery("EXAMPLE.com.", TXT)  # each caller sees its own question
    assert len(inner.calls) == 1
    assert [(e.answer.query.name, e.purposes) for e in dns.evidence] == [
        ("example.com", ["spf", "dmarc"])
    ]


def test_every_mechanisms_keys_go_out_in_one_call() -> None:
    inner = CountingZone()
    dns = MessageDns(inner)
    key = KeyQuery("sel", "example.com")
    answers = dns.lookup_keys({"dkim2 key": [key], "dkim1 key": [key], "arc key": []})
    assert len(inner.calls) == 1
    assert answers["dkim1 key"][key].records == ("v=DKIM1; p=AAAA",)
    assert answers["arc key"] == {}
    [item] = dns.evidence
    assert item.purposes == ["dkim2 key", "dkim1 key"]
    assert item.to_json()["name"] == "sel._domainkey.example.com"
    assert item.to_json()["type"] == "TXT"


def test_an_invalid_key_name_is_answered_without_a_question() -> None:
    inner = CountingZone()
    answers = MessageDns(inner).lookup_keys({"dkim1 key": [KeyQuery("bad sel", "example.com")]})
    assert answers["dkim1 key"][KeyQuery("bad sel", "example.com")].status is (
        LookupStatus.INVALID_NAME
    )
    assert inner.calls == []


def test_the_question_cap_answers_the_rest_budget() -> None:
    dns = MessageDns(CountingZone(), max_queries=2)
    names = [DnsQuery(f"n{i}.example.com", TXT) for i in range(3)]
    answers = dns.resolve_many(names, purpose="spf")
    assert [answers[q].status for q in names] == [
        LookupStatus.NXDOMAIN,
        LookupStatus.NXDOMAIN,
        LookupStatus.BUDGET,
    ]
    assert answers[names[2]].detail == ("not asked: this message's 2-question DNS budget is spent")
    assert dns.questions_asked == 3  # the refused one is evidence too


def test_the_time_budget_starts_at_the_first_question_and_is_passed_on() -> None:
    now = [100.0]
    inner = CountingZone()
    dns = MessageDns(inner, budget=10, clock=lambda: now[0])
    dns.resolve(DnsQuery("a.example.com", TXT), purpose="spf")
    now[0] += 4
    dns.resolve(DnsQuery("b.example.com", TXT), purpose="spf")
    assert [left for _, left in inner.calls] == [10.0, 6.0]
    now[0] += 6
    late = dns.resolve(DnsQuery("c.example.com", TXT), purpose="dmarc")
    assert (late.status, late.detail) == (
        LookupStatus.BUDGET,
        "not asked: this message's 10 s DNS budget is spent",
    )
    assert len(inner.calls) == 2


class KeysOnly:
    """A lookup that predates resolve_many (a test stub, an old plug-in)."""

    def __init__(self) -> None:
        self.asked: list[KeyQuery] = []

    def lookup_many(self, queries: list[KeyQuery]) -> dict[KeyQuery, KeyAnswer]:
        self.asked.extend(queries)
        return {q: KeyAnswer(q, LookupStatus.FOUND, ("v=DKIM1; p=",)) for q in queries}


def test_a_keys_only_lookup_still_serves_keys_and_refuses_other_questions() -> None:
    inner = KeysOnly()
    dns = MessageDns(inner)
    key = KeyQuery("s", "example.org")
    got = dns.lookup_keys({"dkim2 key": [key], "dkim1 key": [key]})
    assert got["dkim1 key"][key].status is LookupStatus.FOUND
    assert inner.asked == [key]  # the second purpose was served from memory
    other = dns.resolve(DnsQuery("example.org", TXT), purpose="spf")
    assert other.status is LookupStatus.ERROR
    assert (
        other.detail == "not asked: the configured lookup (KeysOnly) answers DKIM key queries only"
    )


def test_the_evidence_keeps_a_bounded_part_of_huge_records() -> None:
    from analysis import limits
    from analysis.evidence import evidence_json

    many = [["txt", "x" * (limits.MAX_EVIDENCE_RECORD_CHARS + 10)] for _ in range(15)]
    zone = {f"n{k}.example": {"@": many} for k in range(10)}
    dns = MessageDns(StaticResolver(zone))
    dns.resolve_many([DnsQuery(f"n{k}.example", TXT) for k in range(10)], purpose="spf")
    kept = evidence_json(dns.evidence)
    first = kept[0]
    assert len(first["records"]) == limits.MAX_EVIDENCE_RECORDS
    assert first["records"][0] == "x" * limits.MAX_EVIDENCE_RECORD_CHARS + "…"
    assert first["records_total"] == 15
    total = sum(len(r) for item in kept for r in item["records"])
    assert limits.MAX_EVIDENCE_CHARS <= total <= limits.MAX_EVIDENCE_CHARS + 10
    assert kept[-1]["records"] == [] and kept[-1]["records_total"] == 15  # past the budget
    assert [item["status"] for item in kept] == ["found"] * 10  # every answer is still listed
