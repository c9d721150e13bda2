"""DnsResolver against a real DNS server on 127.0.0.1 (tests/support/dns_server.py).

Every outcome the resolver can report is produced by the server, with exact
statuses; no traffic leaves the loopback address.  Timeouts are 0.3 s so the
whole module runs in a few seconds.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import dns.flags
import dns.message
import pytest

from analysis.dns import (
    DEFAULT_BUDGET,
    DEFAULT_MAX_QUERIES,
    DEFAULT_TIMEOUT,
    DnsResolver,
    InMemoryTtlCache,
    TieredAnswerCache,
)
from analysis.lookup import (
    DnsAnswer,
    DnsQuery,
    KeyAnswer,
    KeyLookup,
    KeyQuery,
    LookupStatus,
    RecordType,
)
from tests.support.dns_server import DnsTestServer

TIMEOUT = 0.3
DOMAIN = "example.com"
RSA_P = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" + "x" * 340 + "IDAQAB"

F = LookupStatus.FOUND
TXT_Q = DnsQuery("s._domainkey.example.com", RecordType.TXT)


def name(selector: str) -> str:
    return f"{selector}._domainkey.{DOMAIN}"


@pytest.fixture(scope="module")
def server() -> Iterator[DnsTestServer]:
    with DnsTestServer() as srv:
        srv.txt(
            name("single"), "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
        )
        srv.txt(name("multi"), ["v=DKIM1; k=rsa; ", "p=" + RSA_P[:200], RSA_P[200:]])
        srv.txt(name("long"), "v=DKIM1; k=rsa; p=" + RSA_P)  # > 255 octets: split by the server
        srv.txt(name("two"), "v=DKIM1; p=first", "v=DKIM1; p=second")
        srv.nxdomain(name("nx"), negative_ttl=42)
        srv.nodata(name("nodata"), negative_ttl=17)
        srv.servfail(name("servfail"))
        srv.refused(name("refused"))
        srv.drop(name("silent"))
        srv.txt(name("slow"), "v=DKIM1; p=slow", delay_ms=100)
        srv.txt(name("truncated"), "v=DKIM1; p=viatcp", truncate_udp=True)
        srv.txt(name("big"), "v=DKIM1; k=rsa; p=" + "A" * 1500)  # over the 1232 EDNS payload
        srv.cname(name("alias"), "target._domainkey.keys.example.net")
        srv.txt("target._domainkey.keys.example.net", "v=DKIM1; p=delegated")
        srv.txt(name("latin1"), b"v=DKIM1; n=caf\xe9; p=x")
        srv.txt(name("zerottl"), "v=DKIM1; p=z", ttl=0)
        srv.txt("s._domainkey.xn--bcher-kva.example", "v=DKIM1; p=idn")
        yield srv
        assert srv.errors == []


def resolver(server: DnsTestServer, **kwargs: object) -> DnsResolver:
    options: dict[str, object] = {
        "nameservers": [server.host],
        "port": server.port,
        "timeout": TIMEOUT,
    }
    options.update(kwargs)
    return DnsResolver(**options)  # type: ignore[arg-type]


def lookup(r: DnsResolver, selector: str) -> KeyAnswer:
    return r.lookup_many([KeyQuery(selector, DOMAIN)])[KeyQuery(selector, DOMAIN)]


# -- one outcome per server behaviour ------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "status", "records", "transport", "ttl"),
    [
        (
            "single",
            F,
            ("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",),
            "udp",
            300,
        ),
        ("multi", F, ("v=DKIM1; k=rsa; p=" + RSA_P,), "udp", 300),
        ("long", F, ("v=DKIM1; k=rsa; p=" + RSA_P,), "udp", 300),
        ("nx", LookupStatus.NXDOMAIN, (), "udp", 42),
        ("nodata", LookupStatus.NODATA, (), "udp", 17),
        ("servfail", LookupStatus.SERVFAIL, (), "udp", None),
        ("refused", LookupStatus.SERVFAIL, (), "udp", None),
        ("silent", LookupStatus.TIMEOUT, (), "udp", None),
        ("slow", F, ("v=DKIM1; p=slow",), "udp", 300),
        ("truncated", F, ("v=DKIM1; p=viatcp",), "tcp", 300),
        ("big", F, ("v=DKIM1; k=rsa; p=" + "A" * 1500,), "tcp", 300),
        ("alias", F, ("v=DKIM1; p=delegated",), "udp", 300),
        ("unknown", LookupStatus.NXDOMAIN, (), "udp", 60),
    ],
)
def test_outcome(
    server: DnsTestServer,
    selector: str,
    status: LookupStatus,
    records: tuple[str, ...],
    transport: str,
    ttl: int | None,
) -> None:
    before = time.time()
    answer = lookup(resolver(server), selector)
    assert (answer.status, answer.records, answer.transport, answer.ttl) == (
        status,
        records,
        transport,
        ttl,
    ), answer.detail
    assert answer.query == KeyQuery(selector, DOMAIN)
    assert before <= answer.fetched_at <= time.time()
    assert answer.elapsed_ms > 0


def test_multiple_records_are_all_returned(server: DnsTestServer) -> None:
    answer = lookup(resolver(server), "two")
    assert answer.status is F
    assert sorted(answer.records) == ["v=DKIM1; p=first", "v=DKIM1; p=second"]


def test_timeout_respects_the_per_query_timeout(server: DnsTestServer) -> None:
    answer = lookup(resolver(server), "silent")
    assert answer.status is LookupStatus.TIMEOUT
    assert answer.status.is_temporary
    assert TIMEOUT * 1000 * 0.9 <= answer.elapsed_ms < TIMEOUT * 1000 + 200
    assert "no answer" in answer.detail


def test_slow_answer_within_the_timeout_is_found(server: DnsTestServer) -> None:
    answer = lookup(resolver(server), "slow")
    assert answer.status is F
    assert 90 <= answer.elapsed_ms < TIMEOUT * 1000


@pytest.mark.parametrize("selector", ["truncated", "big"])
def test_truncated_udp_answer_is_asked_again_over_tcp(server: DnsTestServer, selector: str) -> None:
    before = server.counts()
    answer = lookup(resolver(server), selector)
    after = server.counts()
    assert answer.transport == "tcp"
    assert "truncated over UDP" in answer.detail
    key = name(selector)
    assert after[(key, "udp")] - before[(key, "udp")] == 1
    assert after[(key, "tcp")] - before[(key, "tcp")] == 1


def test_cname_chain_is_followed_and_noted(server: DnsTestServer) -> None:
    answer = lookup(resolver(server), "alias")
    assert "CNAME" in answer.detail and "target._domainkey.keys.example.net" in answer.detail


def test_non_ascii_octets_are_replaced_and_noted(server: DnsTestServer) -> None:
    answer = lookup(resolver(server), "latin1")
    assert answer.status is F
    assert answer.records == ("v=DKIM1; n=caf\ufffd; p=x",)
    assert "U+FFFD" in answer.detail


def test_u_label_domain_is_asked_as_a_label(server: DnsTestServer) -> None:
    query, a_label = KeyQuery("s", "bücher.example"), KeyQuery("s", "xn--bcher-kva.example")
    r = resolver(server, cache=InMemoryTtlCache())
    answer = r.lookup_many([query])[query]
    assert answer.status is F
    assert answer.records == ("v=DKIM1; p=idn",)
    assert "xn--bcher-kva" in answer.detail
    assert server.count("s._domainkey.xn--bcher-kva.example") >= 1
    # the A-label spelling shares the cache entry; each answer keeps its own note
    assert r.lookup_many([a_label])[a_label].detail == "from cache (fetched over udp)"
    again = r.lookup_many([query])[query]
    assert again.transport == "cache" and "xn--bcher-kva" in again.detail


def test_only_txt_at_the_key_name_is_asked(server: DnsTestServer) -> None:
    server.reset_log()
    resolver(server).lookup_many([KeyQuery("single", "Example.COM."), KeyQuery("nx", DOMAIN)])
    assert sorted((q.name, q.rdtype) for q in server.log) == [
        (name("nx"), "TXT"),
        (name("single"), "TXT"),
    ]


def test_servfail_tries_every_nameserver(server: DnsTestServer) -> None:
    before = server.count(name("servfail"))
    answer = lookup(resolver(server, nameservers=[server.host, server.host]), "servfail")
    assert answer.status is LookupStatus.SERVFAIL
    assert server.count(name("servfail")) - before == 2
    assert "tried" in answer.detail


# -- parallelism and the budget ------------------------------------------------------------


def test_queries_run_in_parallel(server: DnsTestServer) -> None:
    server.drop(name("silent2"))
    queries = [KeyQuery(s, DOMAIN) for s in ("silent", "silent2", "slow", "single", "nx")]
    queries.append(KeyQuery("silent", "EXAMPLE.com"))  # same name: one query, two answers
    before = server.count(name("silent"))
    started = time.monotonic()
    result = resolver(server).lookup_many(queries)
    elapsed = time.monotonic() - started
    assert elapsed < 2 * TIMEOUT - 0.05  # one after the other would take 2 x 0.3 + 0.1 s
    assert [result[q].status for q in queries] == [
        LookupStatus.TIMEOUT,
        LookupStatus.TIMEOUT,
        F,
        F,
        LookupStatus.NXDOMAIN,
        LookupStatus.TIMEOUT,
    ]
    assert server.count(name("silent")) - before == 1


def test_time_budget_cuts_slow_queries_short(server: DnsTestServer) -> None:
    r = resolver(server, timeout=1.0, budget=0.2)
    queries = [KeyQuery("silent", DOMAIN), KeyQuery("slow", DOMAIN)]
    started = time.monotonic()
    result = r.lookup_many(queries)
    assert time.monotonic() - started < 0.2 + 0.3
    assert result[queries[0]].status is LookupStatus.BUDGET
    assert "budget" in result[queries[0]].detail
    assert result[queries[1]].status is F  # 100 ms fits in the budget


def test_queued_queries_that_start_too_late_get_budget(server: DnsTestServer) -> None:
    # Ten silent names and at most eight in flight: eight time out at 0.3 s,
    # the two queued ones start then and are cut by the 0.45 s budget.
    for i in range(10):
        server.drop(name(f"q{i}"))
    queries = [KeyQuery(f"q{i}", DOMAIN) for i in range(10)]
    started = time.monotonic()
    result = resolver(server, budget=0.45).lookup_many(queries)
    assert time.monotonic() - started < 0.45 + 0.3
    statuses = [result[q].status for q in queries]
    assert statuses.count(LookupStatus.TIMEOUT) == 8
    assert statuses.count(LookupStatus.BUDGET) == 2


def test_max_queries_caps_the_names_sent(server: DnsTestServer) -> None:
    selectors = ["single", "nx", "nodata", "two"]
    before = {s: server.count(name(s)) for s in selectors}
    result = resolver(server, max_queries=2).lookup_many([KeyQuery(s, DOMAIN) for s in selectors])
    statuses = [result[KeyQuery(s, DOMAIN)].status for s in selectors]
    assert statuses == [F, LookupStatus.NXDOMAIN, LookupStatus.BUDGET, LookupStatus.BUDGET]
    sent = {s: server.count(name(s)) - before[s] for s in selectors}
    assert sent == {"single": 1, "nx": 1, "nodata": 0, "two": 0}
    assert "more than 2" in result[KeyQuery("nodata", DOMAIN)].detail


def test_max_queries_zero_sends_nothing(server: DnsTestServer) -> None:
    total = server.count()
    result = resolver(server, max_queries=0).lookup_many([KeyQuery("single", DOMAIN)])
    assert result[KeyQuery("single", DOMAIN)].status is LookupStatus.BUDGET
    assert server.count() == total


# -- names that are never asked -------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "domain"),
    [
        ("", DOMAIN),
        ("sel", ""),
        ("a..b", DOMAIN),
        ("sel", "example..com"),
        ("-sel", DOMAIN),
        ("s el", DOMAIN),
        ("s/l", DOMAIN),
        ("sel", "exa_mple.com"),
        ("sel", "example.com\r\nX: y"),
        ("a" * 64, DOMAIN),
        ("s", ".".join(["a" * 63] * 4)),
        ("s", "\ufffd.example"),
    ],
)
def test_invalid_names_send_no_query(server: DnsTestServer, selector: str, domain: str) -> None:
    total = server.count()
    query = KeyQuery(selector, domain)
    answer = resolver(server).lookup_many([query])[query]
    assert answer.status is LookupStatus.INVALID_NAME
    assert answer.detail
    assert answer.transport == ""
    assert server.count() == total


# -- the cache ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "status"),
    [("single", F), ("nx", LookupStatus.NXDOMAIN), ("nodata", LookupStatus.NODATA)],
)
def test_cache_hit_sends_no_query(
    server: DnsTestServer, selector: str, status: LookupStatus
) -> None:
    r = resolver(server, cache=InMemoryTtlCache())
    before = server.count(name(selector))
    first = lookup(r, selector)
    second = lookup(r, selector)
    assert server.count(name(selector)) - before == 1
    assert (first.status, second.status) == (status, status)
    assert first.transport == "udp" and second.transport == "cache"
    assert second.records == first.records
    assert second.fetched_at == first.fetched_at
    assert second.ttl is not None and first.ttl is not None and second.ttl <= first.ttl
    assert "from cache" in second.detail


@pytest.mark.parametrize("selector", ["servfail", "zerottl"])
def test_failures_and_zero_ttl_are_not_cached(server: DnsTestServer, selector: str) -> None:
    r = resolver(server, cache=InMemoryTtlCache())
    before = server.count(name(selector))
    assert lookup(r, selector).transport == "udp"
    assert lookup(r, selector).transport == "udp"
    assert server.count(name(selector)) - before == 2


def test_cache_entries_expire() -> None:
    now = [1000.0]
    cache = InMemoryTtlCache(clock=lambda: now[0])
    answer = DnsAnswer(TXT_Q, F, ("v=DKIM1; p=x",), ttl=30)
    cache.set("k", answer, 30)
    now[0] += 29.9
    assert cache.get("k") == answer
    now[0] += 0.2
    assert cache.get("k") is None
    cache.set("zero", answer, 0)
    assert cache.get("zero") is None


def test_cache_is_bounded() -> None:
    cache = InMemoryTtlCache(max_entries=2)
    answer = DnsAnswer(TXT_Q, F)
    for key in ("a", "b", "c"):
        cache.set(key, answer, 60)
    assert (cache.get("a"), len(cache)) == (None, 2)


class RecordingCache:
    """A far cache that records what it is asked."""

    def __init__(self) -> None:
        self.data: dict[str, DnsAnswer] = {}
        self.gets: list[str] = []
        self.sets: list[tuple[str, int]] = []

    def get(self, key: str) -> DnsAnswer | None:
        self.gets.append(key)
        return self.data.get(key)

    def set(self, key: str, answer: DnsAnswer, ttl: int) -> None:
        self.sets.append((key, ttl))
        self.data[key] = answer


def _tiered(now: list[float]) -> tuple[TieredAnswerCache, RecordingCache]:
    far = RecordingCache()
    near = InMemoryTtlCache(clock=lambda: now[0])
    return TieredAnswerCache(far, near=near, near_ttl_cap=60, clock=lambda: now[0]), far


def test_the_tiered_cache_writes_both_and_reads_near_first() -> None:
    now = [1000.0]
    tiered, far = _tiered(now)
    answer = DnsAnswer(TXT_Q, F, ("v=DKIM1; p=x",), fetched_at=1000.0, ttl=300)
    tiered.set("k", answer, 300)
    assert far.sets == [("k", 300)]
    assert tiered.get("k") == answer and far.gets == []  # from this process's memory
    now[0] += 60  # the near copy was kept for at most 60 s: the far cache answers again
    assert tiered.get("k") == answer and far.gets == ["k"]
    assert tiered.get("k") == answer and far.gets == ["k"]  # and it is near again


def test_the_tiered_cache_never_keeps_a_copy_past_the_answers_ttl() -> None:
    now = [1000.0]
    tiered, far = _tiered(now)
    far.data["k"] = DnsAnswer(TXT_Q, F, fetched_at=990.0, ttl=25)
    assert tiered.get("k") is not None  # 15 s of its TTL left: kept near for 15 s
    now[0] += 14.9
    assert tiered.get("k") is not None and far.gets == ["k"]
    now[0] += 0.2
    tiered.get("k")
    assert far.gets == ["k", "k"]
    far.data["old"] = DnsAnswer(TXT_Q, F, fetched_at=0.0, ttl=25)
    tiered.get("old")
    tiered.get("old")
    assert far.gets[-2:] == ["old", "old"]  # expired by its TTL: never copied near


class BrokenCache:
    def get(self, key: str) -> DnsAnswer | None:
        raise ConnectionError("cache down")

    def set(self, key: str, answer: DnsAnswer, ttl: int) -> None:
        raise ConnectionError("cache down")


def test_a_broken_cache_is_a_miss(server: DnsTestServer) -> None:
    assert lookup(resolver(server, cache=BrokenCache()), "single").status is F


# -- never raises ----------------------------------------------------------------------------


def _closed_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("options", "statuses"),
    [
        ({"nameservers": ["not-an-address"]}, {LookupStatus.ERROR}),
        (
            {"nameservers": ["127.0.0.1"], "port": "closed"},
            {LookupStatus.TIMEOUT, LookupStatus.ERROR},
        ),
    ],
)
def test_lookup_many_never_raises(
    server: DnsTestServer, options: dict[str, object], statuses: set[LookupStatus]
) -> None:
    if options.get("port") == "closed":
        options = {**options, "port": _closed_udp_port()}
    queries = [KeyQuery("single", DOMAIN), KeyQuery("", DOMAIN)]
    result = resolver(server, **options).lookup_many(queries)
    assert set(result) == set(queries)
    assert result[queries[0]].status in statuses
    assert result[queries[0]].detail
    assert result[queries[1]].status is LookupStatus.INVALID_NAME


def test_closed_tcp_port_after_truncation_is_an_error() -> None:
    # A UDP-only responder: answers every query with TC set, has no TCP listener.
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.settimeout(2)

    def answer_once() -> None:
        data, peer = sock.recvfrom(4096)
        response = dns.message.make_response(dns.message.from_wire(data))
        response.flags |= dns.flags.TC
        sock.sendto(response.to_wire(), peer)

    thread = threading.Thread(target=answer_once)
    thread.start()
    try:
        r = DnsResolver(nameservers=["127.0.0.1"], port=port, timeout=TIMEOUT)
        answer = lookup(r, "any")
    finally:
        thread.join()
        sock.close()
    assert answer.status is LookupStatus.ERROR
    assert "TCP retry failed" in answer.detail


def test_empty_batch() -> None:
    assert DnsResolver(nameservers=["127.0.0.1"]).lookup_many([]) == {}


# -- construction -----------------------------------------------------------------------------


def test_zero_argument_constructor_uses_the_named_defaults() -> None:
    r = DnsResolver()
    assert (r.nameservers, r.port, r.timeout, r.budget, r.max_queries, r.cache) == (
        None,
        53,
        DEFAULT_TIMEOUT,
        DEFAULT_BUDGET,
        DEFAULT_MAX_QUERIES,
        None,
    )
    assert isinstance(r, KeyLookup)
    # invalid names are answered without reading resolv.conf or sending anything
    query = KeyQuery("bad name", DOMAIN)
    assert r.lookup_many([query])[query].status is LookupStatus.INVALID_NAME


def test_keyword_options_as_django_settings_would_pass_them() -> None:
    settings = {"nameservers": "127.0.0.1, 127.0.0.2", "port": 5353, "timeout": 1, "budget": 4}
    r = DnsResolver(**settings)  # type: ignore[arg-type]
    assert r.nameservers == ["127.0.0.1", "127.0.0.2"]
    assert (r.port, r.timeout, r.budget) == (5353, 1.0, 4.0)


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": 0},
        {"timeout": -1},
        {"budget": 0},
        {"timeout": "3"},
        {"port": 0},
        {"port": 70000},
        {"port": True},
        {"max_queries": -1},
        {"nameservers": []},
    ],
)
def test_bad_options_are_refused_at_construction(options: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        DnsResolver(**options)  # type: ignore[arg-type]


def test_positional_arguments_are_refused() -> None:
    with pytest.raises(TypeError):
        DnsResolver(["127.0.0.1"])  # type: ignore[misc]
