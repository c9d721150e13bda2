"""Fault 5: DNS misbehaves, against a real DNS server on 127.0.0.1 (tests/support/dns_server.py).

Each message is signed by a domain of its own (``<case>.test``: not a demo domain, so the
app's key lookup sends it to DNS) and run through the app's pipeline,
``services.analysis_run`` with an ``AppDnsLookup`` whose resolver asks the test server.
The verdict and the finding are the spec's (SPEC-NOTES §6.2 step 6): a key that could not
be fetched is TEMPERROR, a key that does not exist PERMERROR; all within the message's DNS
budget. Nothing is lost: every analysis is done, with one run that says what DNS did.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.core.cache import caches

from analysis.dns import DnsResolver
from dkim2web.reports import services
from dkim2web.reports.lookup import AppDnsLookup
from dkim2web.reports.models import Analysis
from dkim2web.samples.keys import demo_zone
from tests.support.chains import DEFAULT_HEADERS, Hop, build_chain, key_record, message
from tests.support.dns_server import DnsTestServer

# The whole message's verdict for each DKIM2 result: the test message is From the signing
# <case>.test (From-Authentic, -07 on), so a passing hop authenticates the From domain.
VERDICT = {"pass": "pass", "temperror": "temperror", "permerror": "fail"}
NOT_FETCHED = "TEMPERROR: DKIM2-Signature i=1 public key ed1 could not be fetched"
DOES_NOT_EXIST = "PERMERROR: DKIM2-Signature i=1 public key ed1 does not exist"
TIMEOUT = 1.0  # seconds per query
BUDGET = 5.0  # seconds per message


@dataclass(frozen=True)
class Case:
    serve: Callable[[DnsTestServer, str], None]
    result: str
    finding: str | None
    status: str  # the DNS evidence's status
    transport: str = "udp"
    timeout: float = TIMEOUT
    budget: float = BUDGET
    at_least: float = 0.0  # seconds the run must have waited
    at_most: float = 0.5  # seconds it may have taken


CASES = {
    "answer": Case(lambda s, n: s.txt(n, key_record("ed1")), "pass", None, "found"),
    "timeout": Case(
        lambda s, n: s.drop(n), "temperror", NOT_FETCHED, "timeout", at_least=1.0, at_most=1.5
    ),
    "servfail": Case(lambda s, n: s.servfail(n), "temperror", NOT_FETCHED, "servfail"),
    "refused": Case(lambda s, n: s.refused(n), "temperror", NOT_FETCHED, "servfail"),
    "nxdomain": Case(lambda s, n: s.nxdomain(n), "permerror", DOES_NOT_EXIST, "nxdomain"),
    "empty-answer": Case(lambda s, n: s.nodata(n), "permerror", DOES_NOT_EXIST, "nodata"),
    "slow-answer": Case(
        lambda s, n: s.txt(n, key_record("ed1"), delay_ms=300),
        "pass", None, "found", at_least=0.3, at_most=0.8,
    ),
    "slower-than-the-timeout": Case(
        lambda s, n: s.txt(n, key_record("ed1"), delay_ms=1500),
        "temperror", NOT_FETCHED, "timeout", at_least=1.0, at_most=1.5,
    ),
    "over-the-message-budget": Case(
        lambda s, n: s.drop(n),
        "temperror", NOT_FETCHED, "budget", timeout=3.0, budget=1.0, at_least=1.0, at_most=1.5,
    ),
    "truncated-needs-tcp": Case(
        lambda s, n: s.txt(n, key_record("ed1"), truncate_udp=True),
        "pass", None, "found", transport="tcp",
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def server() -> Iterator[DnsTestServer]:
    # The demo zone's keys are derived once per process (a worker does it at start, see
    # dkim2web.celery): not part of any DNS timing measured here.
    demo_zone()
    with DnsTestServer() as running:
        yield running


def _submit(domain: str) -> Analysis:
    # From the signing domain: -07 on, a From the originator is not Authentic for fails.
    headers = [("From", f"Alice <alice@{domain}>"), *DEFAULT_HEADERS[1:]]
    chain = build_chain(
        message(headers),
        [Hop(domain, f"<alice@{domain}>", ["<bob@inbox.test>"], timestamp=int(time.time()) - 60)],
    )
    return services.analysis_submit(
        raw=chain.message, mail_from=f"<alice@{domain}>", rcpt_to=["<bob@inbox.test>"],
        enqueue=False,
    )  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(CASES))
def test_each_dns_fault_gives_the_spec_verdict(server: DnsTestServer, case: str) -> None:
    expected = CASES[case]
    domain = f"{case}.test"
    expected.serve(server, f"ed1._domainkey.{domain}")
    analysis = _submit(domain)
    resolver = DnsResolver(
        nameservers=["127.0.0.1"], port=server.port, timeout=expected.timeout,
        budget=expected.budget,
    )  # fmt: skip

    started = time.monotonic()
    run = services.analysis_run(analysis_id=analysis.pk, lookup=AppDnsLookup(resolver=resolver))
    took = time.monotonic() - started

    assert run is not None
    chain = run.document["dkim2"]
    failures = [f["message"] for f in chain["findings"] if f["state"] != "none"]
    assert (chain["result"], failures[0] if failures else None) == (
        expected.result,
        expected.finding,
    )
    # The whole message: no DMARC record anywhere, so the verdict rests on the DKIM2 hop
    # alone: the From domain authenticated, undecided while DNS fails, or nothing vouches.
    assert run.result == VERDICT[expected.result]
    (evidence,) = [e for e in run.dns_evidence if e["purposes"] == ["dkim2 key"]]
    assert (evidence["status"], evidence["transport"]) == (expected.status, expected.transport)
    assert expected.at_least <= took <= expected.at_most, took
    if case == "truncated-needs-tcp":
        name = f"ed1._domainkey.{domain}"
        assert (server.count(name, "udp"), server.count(name, "tcp")) == (1, 1)
    analysis.refresh_from_db()
    assert (analysis.status, analysis.runs.count()) == ("done", 1)  # nothing lost


@pytest.mark.django_db
def test_answers_are_kept_in_djangos_cache_for_the_next_message(server: DnsTestServer) -> None:
    name = "ed1._domainkey.cached.test"
    server.txt(name, key_record("ed1"), ttl=120)
    cache = caches["default"]
    try:
        runs = []
        for _ in range(2):
            resolver = DnsResolver(
                nameservers=["127.0.0.1"], port=server.port, timeout=TIMEOUT, cache=cache
            )
            lookup = AppDnsLookup(resolver=resolver)
            runs.append(services.analysis_run(analysis_id=_submit("cached.test").pk, lookup=lookup))
    finally:
        cache.delete(f"dns:TXT:{name}")
    assert [r.document["dkim2"]["result"] for r in runs if r] == ["pass", "pass"]
    assert server.count(name) == 1  # the second message asked no one
    first, second = (r.dns_evidence[0] for r in runs if r)
    assert (first["transport"], second["transport"]) == ("udp", "cache")
    assert 0 < second["ttl"] <= 120
