"""StaticResolver over the shared interop zones, key-name validation, and zone semantics."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from analysis.lookup import KeyAnswer, KeyLookup, KeyQuery, LookupStatus
from analysis.resolvers import InvalidKeyName, StaticResolver, key_name


def _shared_dkim2_dir() -> Path:
    configured = os.environ.get("DKIM2_SHARED_DIR")
    shared = (
        Path(configured) if configured else Path(__file__).resolve().parents[2].parent / "shared"
    )
    path = shared / "dkim2"
    if not path.is_dir():
        pytest.fail(
            f"shared DKIM2 test data not found at {path}; "
            "set DKIM2_SHARED_DIR to the shared/ folder",
            pytrace=False,
        )
    return path


SHARED = _shared_dkim2_dir()
INTEROP_ZONE = SHARED / "interop" / "dns.json"
MAIL_AUTH_ZONE = SHARED / "mail-auth-vectors" / "dns.json"
TURSCAR_ZONE = SHARED / "turscar-testdata" / "testdata" / "dns.json"
CHAOS_ZONE = SHARED / "turscar-testdata" / "testdata" / "chaos" / "dns.json"

F, NX, ND = LookupStatus.FOUND, LookupStatus.NXDOMAIN, LookupStatus.NODATA


def _file_entries(path: Path) -> list[tuple[str, str, list[str]]]:
    """(selector, domain, txt records) for every key name an interop dns.json lists."""
    data = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for domain, names in data.items():
        for rel, entries in names.items():
            selector = rel.removesuffix("._domainkey")
            out.append((selector, domain, [v for t, v in entries if t == "txt"]))
    return out


# -- the real shared zones --------------------------------------------------------------


@pytest.mark.parametrize(
    "path", [INTEROP_ZONE, MAIL_AUTH_ZONE, TURSCAR_ZONE], ids=lambda p: p.parts[-2]
)
def test_every_name_in_a_shared_zone_is_found_with_exactly_its_records(path: Path) -> None:
    resolver = StaticResolver.from_json_file(path)
    entries = _file_entries(path)
    assert entries, f"{path} lists no key"
    queries = [KeyQuery(sel, dom) for sel, dom, _ in entries]
    answers = resolver.lookup_many(queries)
    for (_, _, records), query in zip(entries, queries, strict=True):
        answer = answers[query]
        assert (answer.status, list(answer.records)) == (F, records), query.name
        assert answer.transport == "static"
        assert answer.ttl is None


@pytest.mark.parametrize(
    ("selector", "domain", "status", "record_prefix"),
    [
        ("sel1", "test1.dkim2.com", F, "v=DKIM1; k=rsa; p=MIIBIjAN"),
        ("ed25519", "test5.dkim2.com", F, "v=DKIM1; k=ed25519; p="),
        ("rsa1024", "test2.dkim2.com", F, "v=DKIM1; k=rsa; p=MIGfMA0G"),
        ("SEL1", "TEST1.DKIM2.COM", F, "v=DKIM1; k=rsa;"),  # case-insensitive
        ("sel1", "test1.dkim2.com.", F, "v=DKIM1; k=rsa;"),  # trailing dot tolerated
        ("rsa1024", "test3.dkim2.com", NX, None),  # test3 has no rsa1024 key
        ("nope", "test1.dkim2.com", NX, None),
        ("sel1", "test9.dkim2.com", NX, None),  # domain not in the file
        ("sel1", "dkim2.com", NX, None),  # parent of listed domains, no key of its own
        ("dkim2test", "test1.dkim2.com", NX, None),  # only in mail-auth-vectors
    ],
)
def test_interop_zone(
    selector: str, domain: str, status: LookupStatus, record_prefix: str | None
) -> None:
    answer = StaticResolver.from_json_file(INTEROP_ZONE).lookup(KeyQuery(selector, domain))
    assert answer.status is status
    if record_prefix is None:
        assert answer.records == ()
    else:
        assert len(answer.records) == 1
        assert answer.records[0].startswith(record_prefix)


def test_mail_auth_vectors_zone_has_the_large_test_dkim2_eu_keys() -> None:
    resolver = StaticResolver.from_json_file(MAIL_AUTH_ZONE)
    answers = resolver.lookup_many(
        [KeyQuery(s, "test.dkim2.eu") for s in ("rsa512", "rsa8192", "pkix-rsa8192", "ed25519")]
    )
    assert {a.status for a in answers.values()} == {F}
    assert len(answers[KeyQuery("pkix-rsa8192", "test.dkim2.eu")].records[0]) == 1434


def test_merge_later_zone_wins_per_name() -> None:
    interop = StaticResolver.from_json_file(INTEROP_ZONE)
    mail_auth = StaticResolver.from_json_file(MAIL_AUTH_ZONE)
    query = KeyQuery("ed25519", "test1.dkim2.com")  # the two files disagree on this key
    interop_record = interop.lookup(query).records
    mail_auth_record = mail_auth.lookup(query).records
    assert interop_record != mail_auth_record

    merged = StaticResolver.merge(interop, mail_auth)
    assert merged.lookup(query).records == mail_auth_record
    assert StaticResolver.merge(mail_auth, interop).lookup(query).records == interop_record
    # names found only in one input are served too
    assert merged.lookup(KeyQuery("rsa8192", "test.dkim2.eu")).status is F
    assert merged.lookup(KeyQuery("dkim2test", "test1.dkim2.com")).status is F
    assert len(merged.names()) == len(set(interop.names()) | set(mail_auth.names()))


def test_flat_layout_of_the_turscar_chaos_zone() -> None:
    resolver = StaticResolver.from_json_file(CHAOS_ZONE)
    answer = resolver.lookup(KeyQuery("rsa2048", "dkim2test.turscar.ie"))
    assert answer.status is F
    assert answer.records[0].startswith("v=DKIM1; k=rsa; p=MIIBCgKCAQEA")
    assert resolver.lookup(KeyQuery("rsa2048", "turscar.ie")).status is NX


def test_restricted_to_example_serves_only_example_names() -> None:
    demo = StaticResolver.from_json_file(TURSCAR_ZONE).restrict_to_suffixes(".example")
    assert demo.suffixes == ("example",)
    assert demo.lookup(KeyQuery("selector", "bar.example")).status is F
    assert demo.lookup(KeyQuery("missing", "bar.example")).status is NX
    outside = demo.lookup(KeyQuery("sel1", "test1.dkim2.com"))  # in the file, but not served
    assert outside.status is LookupStatus.ERROR
    assert outside.status.is_temporary  # never a false "does not exist"
    assert "not served" in outside.detail
    assert not demo.serves(KeyQuery("sel1", "test1.example.com.evil"))
    assert demo.serves(KeyQuery("x", "EXAMPLE"))
    assert all(n.endswith(".example") for n in demo.names())


# -- zone semantics on a synthetic zone ---------------------------------------------------

ZONE = {
    "Example.COM.": {
        "one._domainkey": [["txt", "v=DKIM1; p=one"]],
        "two._domainkey": [["txt", "v=DKIM1; p=a"], ["TXT", "v=DKIM1; p=b"]],
        "empty._domainkey": [],
        "aonly._domainkey": [["a", "192.0.2.1"]],
        "broken._domainkey": [["servfail", ""]],
        "slow._domainkey": [["timeout", ""]],
        "both._domainkey": [["txt", "v=DKIM1; p=x"], ["servfail", ""]],
        "inner.outer._domainkey": [["txt", "v=DKIM1; p=deep"]],
    },
    "xn--bcher-kva.example": {"s._domainkey": [["txt", "v=DKIM1; p=idn"]]},
    "flat._domainkey.example.net": "v=DKIM1; p=flat",
}


@pytest.mark.parametrize(
    ("selector", "domain", "status", "records"),
    [
        ("one", "example.com", F, ("v=DKIM1; p=one",)),
        ("One", "EXAMPLE.com.", F, ("v=DKIM1; p=one",)),
        ("two", "example.com", F, ("v=DKIM1; p=a", "v=DKIM1; p=b")),
        ("empty", "example.com", ND, ()),
        ("aonly", "example.com", ND, ()),
        ("outer", "example.com", ND, ()),  # empty non-terminal above inner.outer
        ("inner.outer", "example.com", F, ("v=DKIM1; p=deep",)),
        ("absent", "example.com", NX, ()),
        ("one", "example.org", NX, ()),
        ("broken", "example.com", LookupStatus.SERVFAIL, ()),
        ("slow", "example.com", LookupStatus.TIMEOUT, ()),
        ("both", "example.com", LookupStatus.SERVFAIL, ()),  # a marker wins over txt
        ("s", "bücher.example", F, ("v=DKIM1; p=idn",)),  # U-label matched as A-label
        ("s", "xn--bcher-kva.example", F, ("v=DKIM1; p=idn",)),
        ("flat", "example.net", F, ("v=DKIM1; p=flat",)),
        ("bad sel", "example.com", LookupStatus.INVALID_NAME, ()),
        ("one", "exa_mple.com", LookupStatus.INVALID_NAME, ()),
    ],
)
def test_synthetic_zone(
    selector: str, domain: str, status: LookupStatus, records: tuple[str, ...]
) -> None:
    answer = StaticResolver(ZONE).lookup(KeyQuery(selector, domain))
    assert (answer.status, answer.records) == (status, records), answer.detail


def test_statuses_map_to_spec_temp_and_perm_errors() -> None:
    resolver = StaticResolver(ZONE)
    temporary = {
        s: resolver.lookup(KeyQuery(s, "example.com")).status.is_temporary
        for s in ("one", "empty", "absent", "broken", "slow")
    }
    assert temporary == {
        "one": False,
        "empty": False,
        "absent": False,
        "broken": True,
        "slow": True,
    }


def test_answers_are_recorded_and_deduplicated() -> None:
    clock_values = iter([100.0, 101.0, 102.0])
    resolver = StaticResolver(ZONE, clock=lambda: next(clock_values))
    one, absent = KeyQuery("one", "example.com"), KeyQuery("absent", "example.com")
    result = resolver.lookup_many([one, absent, one])
    assert list(result) == [one, absent]
    assert [(a.query, a.status, a.fetched_at) for a in resolver.answers] == [
        (one, F, 100.0),
        (absent, NX, 101.0),
    ]
    assert all(a.transport == "static" and a.elapsed_ms == 0.0 for a in resolver.answers)
    assert KeyAnswer.from_json(result[one].to_json()) == result[one]


def test_static_resolver_is_a_key_lookup() -> None:
    assert isinstance(StaticResolver(ZONE), KeyLookup)
    assert StaticResolver().lookup_many([]) == {}


def test_restricting_twice_keeps_the_intersection() -> None:
    zone = {
        "a.example": {"s._domainkey": [["txt", "v=DKIM1; p=a"]]},
        "b.example": {"s._domainkey": [["txt", "v=DKIM1; p=b"]]},
        "test": {"s._domainkey": [["txt", "v=DKIM1; p=t"]]},
    }
    narrowed = (
        StaticResolver(zone)
        .restrict_to_suffixes("example", "test")
        .restrict_to_suffixes("a.example", "invalid")
    )
    assert narrowed.suffixes == ("a.example",)
    assert narrowed.lookup(KeyQuery("s", "a.example")).status is F
    assert narrowed.lookup(KeyQuery("s", "b.example")).status is LookupStatus.ERROR
    assert narrowed.lookup(KeyQuery("s", "test")).status is LookupStatus.ERROR
    assert StaticResolver(zone, suffixes=["example"]).lookup(KeyQuery("s", "test")).status is (
        LookupStatus.ERROR
    )


def test_merge_keeps_restrictions() -> None:
    zone = {
        "a.example": {"s._domainkey": [["txt", "x"]]},
        "real.com": {"s._domainkey": [["txt", "y"]]},
    }
    restricted = StaticResolver(zone, suffixes=["example"])
    merged = StaticResolver.merge(restricted, StaticResolver(zone, suffixes=["example"]))
    assert merged.suffixes == ("example",)
    assert merged.lookup(KeyQuery("s", "real.com")).status is LookupStatus.ERROR
    unrestricted = StaticResolver.merge(restricted, StaticResolver({}))
    assert unrestricted.suffixes is None
    assert unrestricted.lookup(KeyQuery("s", "real.com")).status is NX  # dropped from restricted


@pytest.mark.parametrize(
    "zone",
    [
        {"example.com": {"s._domainkey": [["txt"]]}},
        {"example.com": {"s._domainkey": [["txt", 5]]}},
        {"x": 5},
        {"example.com": {"s._domainkey": {"txt": "v=DKIM1"}}},
        ["not", "an", "object"],
    ],
)
def test_malformed_zone_is_refused(zone: object) -> None:
    with pytest.raises(ValueError):
        StaticResolver(zone)  # type: ignore[arg-type]


def test_malformed_file_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "dns.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"dns\.json"):
        StaticResolver.from_json_file(bad)


# -- key-name validation (shared with DnsResolver) ---------------------------------------


LONG_DOMAIN_240 = ".".join(["a" * 63] * 3) + "." + "b" * 48
assert len("s._domainkey." + LONG_DOMAIN_240) == 253


@pytest.mark.parametrize(
    ("selector", "domain", "name"),
    [
        ("sel", "example.com", "sel._domainkey.example.com"),
        ("Sel", "Example.COM.", "sel._domainkey.example.com"),
        ("s1.delegated", "example.com", "s1.delegated._domainkey.example.com"),
        ("_s2048", "example.com", "_s2048._domainkey.example.com"),
        ("a-b", "x-y.example", "a-b._domainkey.x-y.example"),
        ("s", "bücher.example", "s._domainkey.xn--bcher-kva.example"),
        ("s", "xn--bcher-kva.example", "s._domainkey.xn--bcher-kva.example"),
        ("a" * 63, "example.com", "a" * 63 + "._domainkey.example.com"),
        ("s", LONG_DOMAIN_240, "s._domainkey." + LONG_DOMAIN_240),  # 253 octets in all
    ],
)
def test_key_name_accepts(selector: str, domain: str, name: str) -> None:
    assert key_name(KeyQuery(selector, domain)).name == name


@pytest.mark.parametrize(
    ("selector", "domain"),
    [
        ("", "example.com"),
        ("sel", ""),
        ("sel", "."),
        ("sel.", "example.com"),
        ("a..b", "example.com"),
        (".sel", "example.com"),
        ("sel", "example..com"),
        ("sel", ".example.com"),
        ("-sel", "example.com"),
        ("sel-", "example.com"),
        ("sel", "-example.com"),
        ("sel", "example-.com"),
        ("s el", "example.com"),
        ("sel", "exa mple.com"),
        ("s/l", "example.com"),
        ("s@l", "example.com"),
        ("s*", "example.com"),
        ("s\x00", "example.com"),
        ("sel", "exa_mple.com"),  # underscore only in selector labels
        ("sel", "example.com\n"),
        ("a" * 64, "example.com"),
        ("sel", "b" * 64 + ".com"),
        ("s", LONG_DOMAIN_240 + "b"),  # 254 octets in all
        ("s", "\ufffd.example"),  # prohibited in a U-label (RFC 3454 C.6)
        ("s", "a\u05d0.example"),  # mixes left-to-right and right-to-left
    ],
)
def test_key_name_rejects(selector: str, domain: str) -> None:
    with pytest.raises(InvalidKeyName):
        key_name(KeyQuery(selector, domain))
    assert StaticResolver(ZONE).lookup(KeyQuery(selector, domain)).status is (
        LookupStatus.INVALID_NAME
    )


def test_u_label_conversion_is_noted() -> None:
    normalised = key_name(KeyQuery("s", "bücher.example"))
    assert normalised.notes and "xn--bcher-kva" in normalised.notes[0]
    answer = StaticResolver(ZONE).lookup(KeyQuery("s", "bücher.example"))
    assert "xn--bcher-kva" in answer.detail
