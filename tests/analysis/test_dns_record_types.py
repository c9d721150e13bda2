"""Every record type the mechanisms ask for, from the static zone and from real DNS alike.

The static zone (tests, samples, ``--dns-json``) and :class:`~analysis.dns.DnsResolver`
against a real server on loopback must give the same answer to the same question, so a
test written against the zone says what production does.
"""

from __future__ import annotations

import pytest

from analysis.dns import DnsResolver, InMemoryTtlCache
from analysis.lookup import DnsQuery, LookupStatus
from analysis.lookup import RecordType as R
from analysis.resolvers import StaticResolver
from tests.support.dns_server import DnsTestServer

ZONE: dict[str, object] = {
    "example.com": {
        "@": [["txt", "v=spf1 mx -all"], ["mx", "10 mail.example.com."], ["a", "192.0.2.1"]],
        "mail": [["a", "192.0.2.2"], ["aaaa", "2001:db8::2"]],
        "alias": [["cname", "mail.example.com."]],
        "empty": [],
        "broken": [["servfail", ""]],
        "long": [["txt", "x" * 600]],
        "nullmx": [["mx", "0 ."]],
        "_dmarc": [["txt", "v=DMARC1; p=reject"]],
    },
    "2.2.0.192.in-addr.arpa": {"@": [["ptr", "mail.example.com."]]},
}

CASES: list[tuple[DnsQuery, LookupStatus, tuple[str, ...]]] = [
    (DnsQuery("example.com", R.TXT), LookupStatus.FOUND, ("v=spf1 mx -all",)),
    (DnsQuery("example.com", R.MX), LookupStatus.FOUND, ("10 mail.example.com",)),
    (DnsQuery("example.com", R.A), LookupStatus.FOUND, ("192.0.2.1",)),
    (DnsQuery("example.com", R.AAAA), LookupStatus.NODATA, ()),
    (DnsQuery("mail.example.com", R.AAAA), LookupStatus.FOUND, ("2001:db8::2",)),
    (DnsQuery("alias.example.com", R.A), LookupStatus.FOUND, ("192.0.2.2",)),
    (DnsQuery("empty.example.com", R.A), LookupStatus.NODATA, ()),
    (DnsQuery("nowhere.example.com", R.MX), LookupStatus.NXDOMAIN, ()),
    (DnsQuery("broken.example.com", R.A), LookupStatus.SERVFAIL, ()),
    (DnsQuery("2.2.0.192.in-addr.arpa", R.PTR), LookupStatus.FOUND, ("mail.example.com",)),
    (DnsQuery("long.example.com", R.TXT), LookupStatus.FOUND, ("x" * 600,)),
    (DnsQuery("nullmx.example.com", R.MX), LookupStatus.FOUND, ("0 .",)),
    (DnsQuery("_dmarc.example.com", R.TXT), LookupStatus.FOUND, ("v=DMARC1; p=reject",)),
    (DnsQuery("a\\b.example.com", R.A), LookupStatus.INVALID_NAME, ()),
    (DnsQuery("x" * 64 + ".example.com", R.A), LookupStatus.INVALID_NAME, ()),
    (DnsQuery("colon:and/slash.example.com", R.A), LookupStatus.NXDOMAIN, ()),
]


@pytest.fixture(scope="module")
def server() -> DnsTestServer:
    with DnsTestServer() as srv:
        srv.load_zone(ZONE)
        yield srv


@pytest.mark.parametrize(("query", "status", "records"), CASES, ids=[str(c[0]) for c in CASES])
def test_the_static_zone_and_real_dns_agree(
    server: DnsTestServer, query: DnsQuery, status: LookupStatus, records: tuple[str, ...]
) -> None:
    real = DnsResolver(nameservers=["127.0.0.1"], port=server.port, timeout=1, budget=3)
    got = real.resolve(query)
    static = StaticResolver(ZONE).resolve(query)
    assert (got.status, got.records) == (status, records)
    assert (static.status, static.records) == (status, records)
    assert server.errors == []


def test_a_cname_is_followed_and_named_in_the_detail() -> None:
    answer = StaticResolver(ZONE).resolve(DnsQuery("alias.example.com", R.A))
    assert answer.detail == "CNAME alias.example.com -> mail.example.com"


def test_a_cname_loop_is_an_error_not_a_hang() -> None:
    zone = {"loop.test": {"a": [["cname", "b.loop.test"]], "b": [["cname", "a.loop.test"]]}}
    answer = StaticResolver(zone).resolve(DnsQuery("a.loop.test", R.A))
    assert answer.status is LookupStatus.ERROR
    assert answer.detail.startswith("more than 8 CNAME links (a loop?)")


def test_the_failure_markers_apply_to_every_type() -> None:
    zone = {"t.test": {"slow": [["timeout", ""], ["a", "192.0.2.9"]]}}
    resolver = StaticResolver(zone)
    for rtype in R:
        assert resolver.resolve(DnsQuery("slow.t.test", rtype)).status is LookupStatus.TIMEOUT


def test_an_unknown_entry_type_is_refused_when_the_zone_is_read() -> None:
    with pytest.raises(ValueError, match="unknown type 'srv'"):
        StaticResolver({"t.test": {"@": [["srv", "0 0 25 mx.t.test."]]}})


def test_answers_of_every_type_are_cached_by_name_and_type(server: DnsTestServer) -> None:
    cache = InMemoryTtlCache()
    real = DnsResolver(nameservers=["127.0.0.1"], port=server.port, timeout=1, cache=cache)
    server.reset_log()
    for _ in range(2):
        real.resolve_many([DnsQuery("example.com", R.A), DnsQuery("example.com", R.MX)])
    assert server.count("example.com") == 2  # one A, one MX; the second round from cache
    again = real.resolve(DnsQuery("example.com", R.MX))
    assert (again.transport, again.records) == ("cache", ("10 mail.example.com",))


def test_time_left_shortens_the_calls_budget(server: DnsTestServer) -> None:
    real = DnsResolver(nameservers=["127.0.0.1"], port=server.port, timeout=1, budget=5)
    answer = real.resolve_many([DnsQuery("example.com", R.A)], time_left=0)
    assert answer[DnsQuery("example.com", R.A)].status is LookupStatus.BUDGET
