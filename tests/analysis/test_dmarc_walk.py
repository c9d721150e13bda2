"""The DNS Tree Walk (RFC 9989 §4.10), Organizational Domains (§4.10.2) and policy discovery
(§4.10.1): the exact questions asked, in order and in which batches, and the RFC's own
examples (§4.10, Appendix B.4)."""

from __future__ import annotations

from typing import Any

import pytest

from analysis import limits
from analysis.dmarc import (
    AuthenticatedIdentifier,
    DmarcRecord,
    DmarcReport,
    evaluate,
    organizational_domain,
    parse_record,
    walk_names,
)
from analysis.lookup import DnsAnswer, DnsQuery, LookupStatus
from analysis.message import parse_message
from analysis.resolvers import StaticResolver


def spf(domain: str, result: str = "pass") -> AuthenticatedIdentifier:
    return AuthenticatedIdentifier("spf", domain, result, f"SPF (MAIL FROM {domain})")


def dkim(domain: str, result: str = "pass", n: int = 1) -> AuthenticatedIdentifier:
    return AuthenticatedIdentifier("dkim", domain, result, f"DKIM1 signature {n} (d={domain})")


class Batches:
    """A lookup that records each batch of questions it was given."""

    def __init__(self, zone: dict[str, Any]) -> None:
        self.inner = StaticResolver(zone)
        self.batches: list[list[str]] = []

    def resolve_many(
        self, queries: list[DnsQuery], *, time_left: float | None = None
    ) -> dict[DnsQuery, DnsAnswer]:
        self.batches.append([str(q) for q in queries])
        return self.inner.resolve_many(queries)


def run(
    zone: dict[str, Any], author: str, identifiers: list[AuthenticatedIdentifier]
) -> tuple[DmarcReport, Batches]:
    lookup = Batches(zone)
    message = parse_message(f"From: <x@{author}>\r\n\r\n".encode())
    return evaluate(message=message, identifiers=identifiers, lookup=lookup), lookup


def questions(lookup: Batches) -> list[str]:
    return [q for batch in lookup.batches for q in batch]


def record(text: str) -> DmarcRecord:
    parsed = parse_record(text)
    assert parsed is not None
    return parsed


# -- the names a walk asks (§4.10 steps 3-7) ----------------------------------------------------


@pytest.mark.parametrize(
    ("domain", "names"),
    [
        ("com", ["com"]),
        ("example.com", ["example.com", "com"]),
        ("a.mail.example.com", ["a.mail.example.com", "mail.example.com", "example.com", "com"]),
        (
            "a.b.c.d.e.f.g.h",  # eight labels: the parent, like any shorter name
            [
                "a.b.c.d.e.f.g.h",
                "b.c.d.e.f.g.h",
                "c.d.e.f.g.h",
                "d.e.f.g.h",
                "e.f.g.h",
                "f.g.h",
                "g.h",
                "h",
            ],
        ),
        (
            "x.a.b.c.d.e.f.g.h",  # nine labels: straight to the last seven
            [
                "x.a.b.c.d.e.f.g.h",
                "b.c.d.e.f.g.h",
                "c.d.e.f.g.h",
                "d.e.f.g.h",
                "e.f.g.h",
                "f.g.h",
                "g.h",
                "h",
            ],
        ),
        (
            "a.b.c.d.e.f.g.h.i.j.mail.example.com",  # the example of §4.10
            [
                "a.b.c.d.e.f.g.h.i.j.mail.example.com",
                "g.h.i.j.mail.example.com",
                "h.i.j.mail.example.com",
                "i.j.mail.example.com",
                "j.mail.example.com",
                "mail.example.com",
                "example.com",
                "com",
            ],
        ),
    ],
)
def test_walk_names(domain: str, names: list[str]) -> None:
    assert walk_names(domain) == names
    assert len(names) <= 8


def test_the_rfc_example_walk_asks_exactly_its_eight_questions() -> None:
    report, lookup = run({}, "a.b.c.d.e.f.g.h.i.j.mail.example.com", [])
    assert report.result == "none"
    # §4.10: the eight queries of the example, one at a time (each answer decides the next).
    assert lookup.batches == [
        ["_dmarc.a.b.c.d.e.f.g.h.i.j.mail.example.com TXT"],
        ["_dmarc.g.h.i.j.mail.example.com TXT"],
        ["_dmarc.h.i.j.mail.example.com TXT"],
        ["_dmarc.i.j.mail.example.com TXT"],
        ["_dmarc.j.mail.example.com TXT"],
        ["_dmarc.mail.example.com TXT"],
        ["_dmarc.example.com TXT"],
        ["_dmarc.com TXT"],
    ]
    assert [(s.name, s.status, s.outcome) for s in report.walk][:2] == [
        (
            "_dmarc.a.b.c.d.e.f.g.h.i.j.mail.example.com",
            "nxdomain",
            "no record: the name does not exist",
        ),
        ("_dmarc.g.h.i.j.mail.example.com", "nxdomain", "no record: the name does not exist"),
    ]


# -- Organizational Domain selection (§4.10.2) --------------------------------------------------

U = "v=DMARC1; p=none"
PSD_Y = "v=DMARC1; p=none; psd=y"
PSD_N = "v=DMARC1; p=none; psd=n"


@pytest.mark.parametrize(
    ("start", "found", "org"),
    [
        ("a.mail.example.com", [], "a.mail.example.com"),  # nothing: the start itself
        ("a.mail.example.com", [("mail.example.com", U), ("example.com", U)], "example.com"),
        ("a.mail.example.com", [("mail.example.com", PSD_N)], "mail.example.com"),
        ("a.mail.example.com", [("com", PSD_Y)], "example.com"),
        ("a.mail.example.com", [("mail.example.com", U), ("com", PSD_Y)], "example.com"),
        ("a.mail.example.com", [("example.com", PSD_Y)], "mail.example.com"),
        ("example.com", [("example.com", PSD_Y)], "example.com"),  # the start's own psd=y
        ("a.mail.example.com", [("a.mail.example.com", U), ("com", U)], "com"),
        ("a.mail.example.com", [("a.mail.example.com", PSD_N)], "a.mail.example.com"),
    ],
)
def test_organizational_domain_selection(
    start: str, found: list[tuple[str, str]], org: str
) -> None:
    assert organizational_domain(start, [(d, record(t)) for d, t in found]) == org


# -- the examples of Appendix B.4 ---------------------------------------------------------------


def test_b_4_1_simple_organizational_and_policy_example() -> None:
    zone = {
        "example.com": {
            "_dmarc": [["txt", "v=DMARC1; p=reject"]],
            "_dmarc.signing": [["txt", "v=DMARC1; p=none"]],
        }
    }
    report, lookup = run(zone, "example.com", [spf("example.com"), dkim("signing.example.com")])
    assert (report.result, report.policy_domain, report.organizational_domain) == (
        "pass",
        "example.com",
        "example.com",
    )
    assert [(a.aligned, a.organizational_domain) for a in report.alignment] == [
        (True, "example.com"),
        (True, "example.com"),
    ]
    # "query _dmarc.example.com and _dmarc.com"; for the DKIM identifier
    # "_dmarc.signing.example.com, _dmarc.example.com, and _dmarc.com" (the last two
    # already answered).
    assert lookup.batches == [
        ["_dmarc.example.com TXT"],
        ["_dmarc.com TXT", "_dmarc.signing.example.com TXT"],
    ]
    assert [(s.walk, s.name) for s in report.walk] == [
        ("example.com", "_dmarc.example.com"),
        ("example.com", "_dmarc.com"),
        ("signing.example.com", "_dmarc.signing.example.com"),
        ("signing.example.com", "_dmarc.example.com"),
        ("signing.example.com", "_dmarc.com"),
    ]


def test_b_4_2_deep_tree_walk_example() -> None:
    zone = {
        "example.com": {
            "_dmarc": [["txt", "v=DMARC1; p=reject"]],
            "_dmarc.signing": [["txt", "v=DMARC1; p=none"]],
        }
    }
    author = "a.b.c.d.e.f.g.h.i.j.k.example.com"
    report, lookup = run(zone, author, [spf("example.com"), dkim("signing.example.com")])
    assert (report.result, report.policy_domain, report.organizational_domain) == (
        "pass",
        "example.com",
        "example.com",
    )
    assert report.policy is not None and (report.policy.tag, report.policy.value) == (
        "p",
        "reject",
    )
    assert questions(lookup) == [
        f"_dmarc.{author} TXT",
        "_dmarc.g.h.i.j.k.example.com TXT",
        "_dmarc.h.i.j.k.example.com TXT",
        "_dmarc.i.j.k.example.com TXT",
        "_dmarc.j.k.example.com TXT",
        "_dmarc.k.example.com TXT",
        "_dmarc.example.com TXT",
        "_dmarc.com TXT",
        "_dmarc.signing.example.com TXT",
    ]


def test_b_4_3_example_with_a_psd_dmarc_policy_record() -> None:
    zone = {
        "bank.example": {
            "_dmarc": [["txt", "v=DMARC1; p=reject; psd=y"]],
            "_dmarc.giant": [["txt", "v=DMARC1; p=quarantine"]],
        }
    }
    report, lookup = run(
        zone,
        "giant.bank.example",
        [spf("mail.giant.bank.example"), dkim("mail.mega.bank.example")],
    )
    assert (report.result, report.policy_domain, report.organizational_domain) == (
        "pass",
        "giant.bank.example",
        "giant.bank.example",
    )
    assert [(a.aligned, a.organizational_domain) for a in report.alignment] == [
        (True, "giant.bank.example"),
        (False, "mega.bank.example"),
    ]
    # Every walk stops at psd=y: _dmarc.example is never asked.
    assert questions(lookup) == [
        "_dmarc.giant.bank.example TXT",
        "_dmarc.bank.example TXT",
        "_dmarc.mail.giant.bank.example TXT",
        "_dmarc.mail.mega.bank.example TXT",
        "_dmarc.mega.bank.example TXT",
    ]
    assert [s.outcome for s in report.walk][:2] == [
        "DMARC record found",
        "DMARC record found with psd=y; the walk stops here",
    ]


# -- psd=y and psd=n ----------------------------------------------------------------------------


def test_psd_y_gives_the_public_suffix_policy_when_the_organizational_domain_has_none() -> None:
    zone = {
        "bank.example": {
            "_dmarc": [["txt", "v=DMARC1; p=reject; sp=quarantine; np=reject; psd=y"]],
            "tiny": [["a", "192.0.2.1"]],
        }
    }
    report, lookup = run(zone, "tiny.bank.example", [dkim("tiny.bank.example", "fail")])
    assert (report.result, report.policy_domain, report.organizational_domain) == (
        "fail",
        "bank.example",
        "tiny.bank.example",
    )
    assert report.policy is not None
    assert (report.policy.tag, report.policy.value, report.disposition) == (
        "sp",
        "quarantine",
        "quarantine",
    )
    assert report.policy.why == (
        "tiny.bank.example exists and is a subdomain of the Public Suffix Domain bank.example; "
        "its record's sp=quarantine applies"
    )
    assert [f.code for f in report.findings] == [
        "dmarc.psd-policy",
        "dmarc.aligned-but-failed",
        "dmarc.fail",
    ]
    assert report.findings[0].detail == (
        "no record at the From domain or its Organizational Domain; the record at "
        "_dmarc.bank.example has psd=y, so the Public Suffix Operator's policy applies"
    )
    assert questions(lookup) == [
        "_dmarc.tiny.bank.example TXT",
        "_dmarc.bank.example TXT",
        "tiny.bank.example CNAME",
    ]


def test_psd_y_below_a_deeper_author_makes_the_name_one_label_below_the_organizational_domain() -> (
    None
):
    zone = {"bank.example": {"_dmarc": [["txt", "v=DMARC1; p=reject; psd=y"]]}}
    report, _ = run(zone, "a.b.giant.bank.example", [dkim("c.giant.bank.example")])
    assert (report.result, report.organizational_domain, report.policy_domain) == (
        "pass",
        "giant.bank.example",
        "bank.example",
    )
    assert report.alignment[0].organizational_domain == "giant.bank.example"


def test_psd_n_at_an_intermediate_level_stops_the_walk_and_is_the_organizational_domain() -> None:
    zone = {
        "example.com": {
            "_dmarc": [["txt", "v=DMARC1; p=reject"]],
            "_dmarc.mail": [["txt", "v=DMARC1; p=quarantine; psd=n"]],
        }
    }
    report, lookup = run(zone, "a.b.mail.example.com", [dkim("x.example.com")])
    assert (report.result, report.policy_domain, report.organizational_domain) == (
        "fail",
        "mail.example.com",
        "mail.example.com",
    )
    assert report.policy is not None and (report.policy.tag, report.policy.value) == (
        "p",
        "quarantine",
    )
    assert report.alignment[0].organizational_domain == "example.com"
    assert questions(lookup) == [
        "_dmarc.a.b.mail.example.com TXT",
        "_dmarc.b.mail.example.com TXT",
        "_dmarc.mail.example.com TXT",
        "_dmarc.x.example.com TXT",
        "_dmarc.example.com TXT",
        "_dmarc.com TXT",
    ]


def test_a_record_at_an_intermediate_level_without_psd_is_passed_over_for_the_shortest() -> None:
    """§4.10.2 rule 3 and §4.10.1: the policy is the Organizational Domain's (the fewest
    labels), not the intermediate record's."""
    zone = {
        "example.com": {
            "_dmarc": [["txt", "v=DMARC1; p=reject"]],
            "_dmarc.mail": [["txt", "v=DMARC1; p=none"]],
        }
    }
    report, lookup = run(zone, "a.b.mail.example.com", [dkim("mail.example.com")])
    assert (report.result, report.policy_domain, report.organizational_domain) == (
        "pass",
        "example.com",
        "example.com",
    )
    assert report.record == "v=DMARC1; p=reject"
    assert report.alignment[0].organizational_domain == "example.com"
    assert questions(lookup) == [
        "_dmarc.a.b.mail.example.com TXT",
        "_dmarc.b.mail.example.com TXT",
        "_dmarc.mail.example.com TXT",
        "_dmarc.example.com TXT",
        "_dmarc.com TXT",
    ]


def test_the_authors_own_record_with_psd_n_needs_no_further_walk() -> None:
    zone = {
        "example.com": {
            "_dmarc.mail": [["txt", "v=DMARC1; p=reject; psd=n"]],
            "_dmarc": [["txt", "v=DMARC1; p=none"]],
        }
    }
    report, lookup = run(zone, "mail.example.com", [dkim("x.mail.example.com")])
    assert (report.result, report.organizational_domain) == ("pass", "mail.example.com")
    assert questions(lookup) == [
        "_dmarc.mail.example.com TXT",
        "_dmarc.x.mail.example.com TXT",
    ]


def test_a_tld_record_without_psd_y_captures_every_domain_below_it() -> None:
    zone = {"example": {"_dmarc": [["txt", "v=DMARC1; p=none"]]}}
    report, _ = run(zone, "foo.example", [dkim("bar.example")])
    assert (report.result, report.organizational_domain) == ("pass", "example")
    assert [f.code for f in report.findings] == [
        "dmarc.org-domain-is-tld",
        "dmarc.policy-none",
        "dmarc.pass",
    ]
    assert report.findings[0].detail == (
        "the tree walk from foo.example selected example as the Organizational Domain, since "
        "_dmarc.example has a DMARC record without psd=y; relaxed alignment then accepts any "
        "domain under .example"
    )


# -- batches, memo, long names ------------------------------------------------------------------


def test_identifier_walks_go_in_lock_step_and_each_name_is_asked_once() -> None:
    zone = {"example.com": {"_dmarc": [["txt", "v=DMARC1; p=reject"]]}}
    report, lookup = run(
        zone,
        "news.example.com",
        [spf("bounce.esp.example"), dkim("a.example.com"), dkim("b.example.com", n=2)],
    )
    assert report.result == "pass"
    assert lookup.batches == [
        ["_dmarc.news.example.com TXT"],
        ["_dmarc.example.com TXT"],
        ["_dmarc.com TXT"],
        ["_dmarc.bounce.esp.example TXT", "_dmarc.a.example.com TXT", "_dmarc.b.example.com TXT"],
        ["_dmarc.esp.example TXT"],
        ["_dmarc.example TXT"],
    ]
    assert len(questions(lookup)) == len(set(questions(lookup)))


def test_a_name_too_long_for_the_dmarc_label_is_not_asked_and_the_walk_goes_on() -> None:
    author = ".".join(["a"] * 120) + ".example.com"  # 251 octets; _dmarc.<it> would be 258
    assert len(author) == 251
    report, lookup = run({"example.com": {"_dmarc": [["txt", "v=DMARC1; p=none"]]}}, author, [])
    assert (report.result, report.policy_domain) == ("fail", "example.com")
    assert (report.walk[0].status, report.walk[0].outcome) == (
        "not asked",
        "no record: the name is longer than 253 octets, so it cannot exist",
    )
    assert questions(lookup) == [
        "_dmarc.a.a.a.a.a.example.com TXT",
        "_dmarc.a.a.a.a.example.com TXT",
        "_dmarc.a.a.a.example.com TXT",
        "_dmarc.a.a.example.com TXT",
        "_dmarc.a.example.com TXT",
        "_dmarc.example.com TXT",
        "_dmarc.com TXT",
    ]
    assert len(report.walk) == 8


# -- limits -------------------------------------------------------------------------------------


def test_alignment_walks_beyond_the_limit_are_not_made_and_the_report_says_so() -> None:
    zone = {"example.com": {"_dmarc": [["txt", "v=DMARC1; p=reject"]]}}
    many = [dkim(f"d{n}.example.net", n=n) for n in range(limits.MAX_DMARC_ALIGNMENT_WALKS + 2)]
    report, lookup = run(zone, "example.com", many)
    assert report.result == "fail"  # not temperror: the limit is not a DNS failure
    limit = [f for f in report.findings if f.code == "dmarc.limit"]
    assert [f.detail for f in limit] == [
        f"2 identifier domains beyond the first {limits.MAX_DMARC_ALIGNMENT_WALKS} were not "
        "looked up; their alignment is not evaluated (RFC 9989 §11.5: a limited evaluation "
        "is incomplete)"
    ]
    assert [a.aligned for a in report.alignment[-3:]] == [False, None, None]
    assert report.alignment[-1].why == (
        f"Not checked: this analyser looks up the Organizational Domains of at most "
        f"{limits.MAX_DMARC_ALIGNMENT_WALKS} identifier domains per message."
    )
    assert "_dmarc.d9.example.net TXT" not in questions(lookup)
    assert "_dmarc.d7.example.net TXT" in questions(lookup)


def test_identifiers_beyond_the_limit_are_not_read() -> None:
    zone = {"example.com": {"_dmarc": [["txt", "v=DMARC1; p=reject"]]}}
    many = [dkim("example.com", "fail", n) for n in range(limits.MAX_DMARC_IDENTIFIERS + 5)]
    report, _ = run(zone, "example.com", [*many, dkim("example.com")])
    assert report.result == "fail"  # the passing one came too late
    assert len(report.alignment) == limits.MAX_DMARC_IDENTIFIERS
    assert report.findings[0].detail == (
        f"{limits.MAX_DMARC_IDENTIFIERS + 6} identifiers were given; only the first "
        f"{limits.MAX_DMARC_IDENTIFIERS} were evaluated (RFC 9989 §11.5: a limited evaluation "
        "is incomplete)"
    )


# -- every answer status ------------------------------------------------------------------------


class Statuses:
    """The static zone, except for names given a fixed status (or no answer at all)."""

    def __init__(self, zone: dict[str, Any], overrides: dict[str, LookupStatus | None]) -> None:
        self.inner = StaticResolver(zone)
        self.overrides = overrides

    def resolve_many(
        self, queries: list[DnsQuery], *, time_left: float | None = None
    ) -> dict[DnsQuery, DnsAnswer]:
        out = self.inner.resolve_many(queries)
        for query in queries:
            if query.name in self.overrides:
                status = self.overrides[query.name]
                if status is None:
                    del out[query]
                else:
                    out[query] = DnsAnswer(query, status, detail=f"forced {status.value}")
        return out


@pytest.mark.parametrize(
    ("status", "result", "outcome"),
    [
        (
            LookupStatus.BUDGET,
            "temperror",
            "DNS error (budget): forced budget; the walk cannot go on",
        ),
        (LookupStatus.ERROR, "temperror", "DNS error (error): forced error; the walk cannot go on"),
        (None, "temperror", "the resolver gave no answer for this name"),
        (LookupStatus.INVALID_NAME, "fail", "no record: the name cannot be asked"),
        (LookupStatus.NODATA, "fail", "no record: the name has no TXT record"),
    ],
)
def test_each_answer_status_at_a_walk_step(
    status: LookupStatus | None, result: str, outcome: str
) -> None:
    zone = {"example.com": {"_dmarc": [["txt", "v=DMARC1; p=reject"]]}}
    lookup = Statuses(zone, {"_dmarc.news.example.com": status})
    message = parse_message(b"From: <x@news.example.com>\r\n\r\n")
    report = evaluate(message=message, identifiers=[], lookup=lookup)
    assert report.result == result
    assert report.walk[0].outcome == outcome
    assert report.walk[0].status == (status.value if status is not None else "error")
