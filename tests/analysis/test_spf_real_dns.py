"""The production path: SPF through analysis.dns.DnsResolver and a real DNS server on loopback
(TXT, A, MX, PTR over UDP) gives exactly what the static zone gives."""

from __future__ import annotations

from analysis import spf
from analysis.dns import DnsResolver
from analysis.resolvers import StaticResolver
from tests.support.dns_server import DnsTestServer

LONG_TERMS = " ".join(f"ip4:198.51.100.{i}" for i in range(1, 25))  # > 255 octets: 2 strings

ZONE: dict[str, object] = {
    "example.com": {
        "@": [
            ["txt", f"v=spf1 {LONG_TERMS} include:_spf.example.net mx -all exp=why.example.com"],
            ["txt", "google-site-verification=abc"],
            ["mx", "10 mx1.example.com."],
            ["mx", "20 mx2.example.com."],
        ],
        "mx1": [["a", "192.0.2.10"]],
        "mx2": [["a", "192.0.2.20"], ["aaaa", "2001:db8::20"]],
        "why": [["txt", "%{i} is not a server of %{d}"]],
        "empty": [],
        "v6": [["txt", "v=spf1 mx:example.com -all"]],
    },
    "example.net": {
        "_spf": [["txt", "v=spf1 a:relay.example.net exists:%{ir}.allow.example.net ?all"]],
        "relay": [["a", "203.0.113.5"]],
        "7.113.0.203.allow": [["a", "127.0.0.2"]],
    },
    "mta.example.org": {"@": [["txt", "v=spf1 ptr:example.org -all"]]},
    "host.example.org": {"@": [["a", "192.0.2.20"]]},
    "20.2.0.192.in-addr.arpa": {"@": [["ptr", "host.example.org."]]},
    "broken.example.com": {"@": [["txt", "v=spf1 a:one.example.com a:two.example.com mx ~all"]]},
}

ENVELOPES = [
    ("198.51.100.7", "<a@example.com>", "mta.example.org"),  # pass: ip4 in the long record
    ("203.0.113.5", "<a@example.com>", "mta.example.org"),  # include: a
    ("203.0.113.7", "<a@example.com>", "mta.example.org"),  # include: exists
    ("192.0.2.20", "<a@example.com>", "mta.example.org"),  # mx; HELO passes by ptr
    # IPv6: AAAA relay, the exists name and AAAA mx1 find nothing: 3 void lookups
    ("2001:db8::20", "<a@example.com>", "mta.example.org"),
    ("2001:db8::20", "<a@v6.example.com>", ""),  # mx over AAAA (one void: mx1)
    ("192.0.2.99", "<a@example.com>", "mta.example.org"),  # fail, with exp=
    ("192.0.2.99", "<>", "mta.example.org"),  # HELO identity
    ("192.0.2.99", "<a@broken.example.com>", ""),  # three void lookups: permerror
    ("192.0.2.99", "<a@empty.example.com>", ""),  # NODATA: none
    ("192.0.2.99", "<a@nowhere.example.com>", ""),  # NXDOMAIN: none
]


def _outcome(report: spf.SpfReport) -> tuple[object, ...]:
    return (
        report.result,
        report.identity,
        report.domain,
        report.helo_result,
        report.matched,
        report.record,
        report.explanation,
        report.lookups,
        report.void_lookups,
        [f.code for f in report.findings],
        [(s.identity, s.depth, s.kind, s.text) for s in report.trace],
    )


def test_real_dns_over_udp_gives_the_static_zones_results() -> None:
    static = StaticResolver(ZONE)
    with DnsTestServer() as server:
        server.load_zone(ZONE)
        real = DnsResolver(nameservers=["127.0.0.1"], port=server.port, timeout=1)
        outcomes = []
        for ip, mail_from, helo in ENVELOPES:
            expected = spf.evaluate(
                ip=ip, helo=helo, mail_from=mail_from, lookup=static, source="smtp"
            )
            got = spf.evaluate(ip=ip, helo=helo, mail_from=mail_from, lookup=real, source="smtp")
            assert _outcome(got) == _outcome(expected), (ip, mail_from)
            outcomes.append((got.result, got.matched, got.helo_result))
        assert server.errors == []
        asked = {(q.name, q.rdtype) for q in server.log}
        transports = {q.transport for q in server.log}
    assert outcomes == [
        ("pass", "ip4:198.51.100.7", "fail"),
        ("pass", "include:_spf.example.net (a:relay.example.net)", "fail"),
        ("pass", "include:_spf.example.net (exists:%{ir}.allow.example.net)", "fail"),
        ("pass", "mx", "pass"),
        ("permerror", None, "fail"),
        ("pass", "mx:example.com", None),
        ("fail", "-all", "fail"),
        ("fail", "-all", "fail"),
        ("permerror", None, None),
        ("none", None, None),
        ("none", None, None),
    ]
    assert {("example.com", "TXT"), ("example.com", "MX"), ("mx2.example.com", "AAAA")} <= asked
    assert ("20.2.0.192.in-addr.arpa", "PTR") in asked
    assert transports == {"udp"}


def test_a_long_record_arrives_joined_from_its_character_strings() -> None:
    with DnsTestServer() as server:
        server.load_zone(ZONE)
        real = DnsResolver(nameservers=["127.0.0.1"], port=server.port, timeout=1)
        report = spf.evaluate(
            ip="198.51.100.24", helo="", mail_from="<a@example.com>", lookup=real, source="smtp"
        )
    assert report.record == (
        f"v=spf1 {LONG_TERMS} include:_spf.example.net mx -all exp=why.example.com"
    )
    assert len(report.record) > 255
    assert (report.result, report.matched) == ("pass", "ip4:198.51.100.24")
