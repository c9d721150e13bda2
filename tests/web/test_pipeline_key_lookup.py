"""AppDnsLookup: demo domains from the samples' static zone, never DNS; the rest from DNS."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache, caches

from analysis.dns import DnsResolver, TieredAnswerCache
from analysis.lookup import DnsAnswer, DnsQuery, KeyAnswer, KeyQuery, LookupStatus, RecordType
from dkim2web.reports.lookup import AppDnsLookup
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
    answers = AppDnsLookup(resolver=stub).lookup_many([DEMO, DEMO_MISSING, DEMO_UPPER])
    assert stub.asked == []
    assert answers[DEMO].status == LookupStatus.FOUND
    assert answers[DEMO].transport == "static"
    assert answers[DEMO_UPPER].records == answers[DEMO].records
    assert answers[DEMO_MISSING].status == LookupStatus.NXDOMAIN


def test_other_domains_go_to_the_resolver_in_one_batch() -> None:
    stub = StubResolver()
    answers = AppDnsLookup(resolver=stub).lookup_many([DEMO, REAL, LOOKALIKE])
    assert stub.asked == [[REAL, LOOKALIKE]]  # .example.org is not .example
    assert answers[REAL].transport == "stub"
    assert answers[LOOKALIKE].transport == "stub"
    assert answers[DEMO].transport == "static"
    assert set(answers) == {DEMO, REAL, LOOKALIKE}


def test_an_invalid_name_is_refused_without_any_lookup() -> None:
    stub = StubResolver()
    answers = AppDnsLookup(resolver=stub).lookup_many([BAD_NAME])
    assert stub.asked == []
    assert answers[BAD_NAME].status == LookupStatus.INVALID_NAME


def test_by_default_the_rest_goes_to_dns_with_djangos_cache() -> None:
    lookup = AppDnsLookup()
    assert isinstance(lookup.resolver, DnsResolver)
    assert isinstance(lookup.resolver.cache, TieredAnswerCache)
    assert lookup.resolver.cache.far is caches["default"]
    assert lookup.resolver.cache.near is AppDnsLookup().resolver.cache.near  # per process
    assert lookup.resolver.nameservers is None  # the system's resolvers
    assert (lookup.resolver.port, lookup.resolver.timeout, lookup.resolver.budget) == (
        53,
        3.0,
        10.0,
    )


def test_the_settings_name_the_dns_server_the_default_lookup_asks(settings: Any) -> None:
    with DnsTestServer() as server:
        server.txt("sel._domainkey.example.org", "v=DKIM1; k=ed25519; p=AAAA")
        settings.DKIM2WEB_DNS_SERVERS = ["127.0.0.1"]
        settings.DKIM2WEB_DNS_PORT = server.port
        settings.DKIM2WEB_DNS_TIMEOUT_SECONDS = 2
        settings.DKIM2WEB_DNS_BUDGET_SECONDS = 4
        cache.delete("dns:TXT:sel._domainkey.example.org")
        try:
            lookup = AppDnsLookup()
            answer = lookup.lookup_many([REAL])[REAL]
        finally:
            cache.delete("dns:TXT:sel._domainkey.example.org")
        asked = [record.name.lower() for record in server.log]
    assert (lookup.resolver.timeout, lookup.resolver.budget) == (2.0, 4.0)
    assert asked == ["sel._domainkey.example.org"]
    assert (answer.status, answer.records) == (LookupStatus.FOUND, ("v=DKIM1; k=ed25519; p=AAAA",))


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DKIM2WEB_DNS_PORT", 0, "port must be 1-65535, not 0"),
        ("DKIM2WEB_DNS_TIMEOUT_SECONDS", 0, "timeout must be a positive number, not 0"),
        ("DKIM2WEB_DNS_BUDGET_SECONDS", -1, "budget must be a positive number, not -1"),
    ],
)
def test_invalid_dns_settings_stop_the_start_with_a_check_error(
    settings: Any, name: str, value: int, message: str
) -> None:
    from dkim2web.reports.checks import dns_settings_check

    assert dns_settings_check() == []
    setattr(settings, name, value)
    [error] = dns_settings_check()
    assert (error.id, error.msg) == ("dkim2web.E001", f"The DNS settings are invalid: {message}.")


def test_a_cached_answer_comes_from_djangos_cache_without_a_query(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The resolver stores answers in Django's cache; a later analysis (a new lookup) gets
    # them from there, and no query is sent (the network guard would fail the test).
    cached = DnsAnswer(
        DnsQuery("sel._domainkey.example.org", RecordType.TXT),
        LookupStatus.FOUND,
        ("v=DKIM1; p=",),
        fetched_at=1.0,
        ttl=300,
    )
    cache.set("dns:TXT:sel._domainkey.example.org", cached, 300)
    try:
        lookup = AppDnsLookup()
        monkeypatch.setattr(lookup.resolver, "clock", lambda: 61.0)
        answer = lookup.lookup_many([REAL])[REAL]
    finally:
        cache.delete("dns:TXT:sel._domainkey.example.org")
    assert (answer.status, answer.transport, answer.ttl) == (LookupStatus.FOUND, "cache", 240)


def test_against_a_real_dns_server_only_the_other_names_are_asked() -> None:
    with DnsTestServer() as server:
        server.txt("sel._domainkey.example.org", "v=DKIM1; k=ed25519; p=AAAA")
        resolver = DnsResolver(nameservers=["127.0.0.1"], port=server.port, timeout=2.0)
        answers = AppDnsLookup(resolver=resolver).lookup_many([DEMO, REAL, LOOKALIKE])
        asked = sorted(record.name.lower() for record in server.log)
    assert asked == ["demo1._domainkey.lists.example.org", "sel._domainkey.example.org"]
    assert answers[REAL].records == ("v=DKIM1; k=ed25519; p=AAAA",)
    assert answers[LOOKALIKE].status == LookupStatus.NXDOMAIN
    assert answers[DEMO].status == LookupStatus.FOUND
