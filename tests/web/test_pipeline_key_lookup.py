"""AppKeyLookup: demo domains from the samples' static zone, never DNS; the rest from DNS."""

from __future__ import annotations

import pytest
from django.core.cache import cache, caches

from analysis.dns import DnsResolver
from analysis.lookup import KeyAnswer, KeyQuery, LookupStatus
from dkim2web.reports.lookup import AppKeyLookup
from tests.support.dns_server import DnsTestServer


class StubResolver:
    """Stands in for DNS: answers NXDOMAIN and records what it was asked."""

    def __init__(self) -> None:
        self.asked: list[list[KeyQuery]] = []

    def lookup_many(self, queries: list[KeyQuery]) -> dict[KeyQuery, KeyAnswer]:
        self.asked.append(list(queries))
        return {q: KeyAnswer(q, LookupStatus.NXDOMAIN, transport="stub") for q in queries}


DEMO = KeyQuery("demo1", "lists.example")
DEMO_MISSING = KeyQuery("nokey", "origin.example")
DEMO_UPPER = KeyQuery("demo1", "Lists.Example.")
REAL = KeyQuery("sel", "example.org")
LOOKALIKE = KeyQuery("demo1", "lists.example.org")
BAD_NAME = KeyQuery("bad selector", "example.org")


def test_demo_domains_never_reach_the_resolver() -> None:
    stub = StubResolver()
    answers = AppKeyLookup(resolver=stub).lookup_many([DEMO, DEMO_MISSING, DEMO_UPPER])
    assert stub.asked == []
    assert answers[DEMO].status == LookupStatus.FOUND
    assert answers[DEMO].transport == "static"
    assert answers[DEMO_UPPER].records == answers[DEMO].records
    assert answers[DEMO_MISSING].status == LookupStatus.NXDOMAIN


def test_other_domains_go_to_the_resolver_in_one_batch() -> None:
    stub = StubResolver()
    answers = AppKeyLookup(resolver=stub).lookup_many([DEMO, REAL, LOOKALIKE])
    assert stub.asked == [[REAL, LOOKALIKE]]  # .example.org is not .example
    assert answers[REAL].transport == "stub"
    assert answers[LOOKALIKE].transport == "stub"
    assert answers[DEMO].transport == "static"
    assert set(answers) == {DEMO, REAL, LOOKALIKE}


def test_an_invalid_name_is_refused_without_any_lookup() -> None:
    stub = StubResolver()
    answers = AppKeyLookup(resolver=stub).lookup_many([BAD_NAME])
    assert stub.asked == []
    assert answers[BAD_NAME].status == LookupStatus.INVALID_NAME


def test_by_default_the_rest_goes_to_dns_with_djangos_cache() -> None:
    lookup = AppKeyLookup()
    assert isinstance(lookup.resolver, DnsResolver)
    assert lookup.resolver.cache is caches["default"]


def test_a_cached_answer_comes_from_djangos_cache_without_a_query(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The resolver stores answers in Django's cache; a later analysis (a new lookup) gets
    # them from there, and no query is sent (the network guard would fail the test).
    cached = KeyAnswer(REAL, LookupStatus.FOUND, ("v=DKIM1; p=",), fetched_at=1.0, ttl=300)
    cache.set("dkim2:key:sel._domainkey.example.org", cached, 300)
    try:
        lookup = AppKeyLookup()
        monkeypatch.setattr(lookup.resolver, "clock", lambda: 61.0)
        answer = lookup.lookup_many([REAL])[REAL]
    finally:
        cache.delete("dkim2:key:sel._domainkey.example.org")
    assert (answer.status, answer.transport, answer.ttl) == (LookupStatus.FOUND, "cache", 240)


def test_against_a_real_dns_server_only_the_other_names_are_asked() -> None:
    with DnsTestServer() as server:
        server.txt("sel._domainkey.example.org", "v=DKIM1; k=ed25519; p=AAAA")
        resolver = DnsResolver(nameservers=["127.0.0.1"], port=server.port, timeout=2.0)
        answers = AppKeyLookup(resolver=resolver).lookup_many([DEMO, REAL, LOOKALIKE])
        asked = sorted(record.name.lower() for record in server.log)
    assert asked == ["demo1._domainkey.lists.example.org", "sel._domainkey.example.org"]
    assert answers[REAL].records == ("v=DKIM1; k=ed25519; p=AAAA",)
    assert answers[LOOKALIKE].status == LookupStatus.NXDOMAIN
    assert answers[DEMO].status == LookupStatus.FOUND
