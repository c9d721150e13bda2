"""Every failure string of the engine, each produced by the one defect it names.

A test starts from a chain the signer built (it passes), breaks exactly one thing,
re-signs whatever the break would otherwise also invalidate (:func:`resign`), and
asserts the complete list of verdict-affecting findings -- code, state, the S06
string verbatim (SPEC-NOTES §6.4), hop and instance -- and the overall result.  A
test cannot pass because some other check happened to fail.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import serialization

from analysis import Finding, KeyAnswer, KeyQuery, State
from analysis.dkim2 import ChainReport, Envelope, Options, analyze
from analysis.dkim2.verify import duplicate_finding
from analysis.limits import SIGNATURE_LIFETIME_SECONDS
from tests.support.chains import (
    MI,
    SIG,
    T0,
    Chain,
    Hop,
    add_header,
    append_body,
    b64,
    build_chain,
    compose,
    edit_recipe,
    edit_tags,
    get_field,
    get_tag,
    join,
    key_record,
    message,
    private_key,
    replace_field,
    resign,
    rsa_public_record,
    set_header,
    set_tag,
    set_zone_entry,
    split,
)

PERM, FAIL, TEMP = State.PERMERROR, State.FAIL, State.TEMPERROR

Verdict = tuple[str, State, str, int | None, int | None]


def verdicts(report: ChainReport) -> list[Verdict]:
    """(code, state, message, hop, instance) of every finding that affects the verdict."""
    return [
        (f.code, f.state, f.message, f.hop, f.instance)
        for f in report.findings
        if f.affects_verdict
    ]


def finding(report: ChainReport, code: str) -> Finding:
    (f,) = [f for f in report.findings if f.code == code]
    return f


ALICE_ARGS = ("example.com", "<alice@example.com>", ["<list@lists.example.org>"])
LIST_ARGS = ("lists.example.org", "<list-bounces@lists.example.org>", ["<bob@example.net>"])
ALICE = Hop(*ALICE_ARGS)
LIST = Hop(
    *LIST_ARGS,
    modify=compose(set_header("Subject", "[list] Hello"), append_body("-- ", "footer")),
)


@functools.cache
def one_hop() -> Chain:
    return build_chain(message(), [ALICE])


@functools.cache
def two_hops() -> Chain:
    """example.com -> lists.example.org (Subject tag, 2-line footer: m=2 with a recipe)."""
    return build_chain(message(), [ALICE, LIST])


def test_the_unbroken_chains_pass() -> None:
    for chain in (one_hop(), two_hops()):
        report = chain.analyze(revision="06")
        assert verdicts(report) == []
        assert report.result == State.PASS


# -- Message-Instance (S06 §11.2) ------------------------------------------------------------------


def test_mi_missing_when_there_is_none() -> None:
    chain = one_hop()
    raw = resign(replace_field(chain.message, MI, 1, None))
    report = chain.analyze(raw, revision="06")
    assert verdicts(report) == [
        ("mi.missing", PERM, "PERMERROR Message-Instance m=1 missing", None, 1)
    ]
    assert report.result == PERM


def test_mi_missing_in_the_middle() -> None:
    chain = two_hops()
    raw = resign(replace_field(chain.message, MI, 1, None))
    report = chain.analyze(raw, revision="06")
    assert verdicts(report) == [
        ("mi.missing", PERM, "PERMERROR Message-Instance m=1 missing", None, 1)
    ]
    assert report.result == PERM


@pytest.mark.parametrize(
    ("tag", "value", "detail"),
    [
        ("h", "sha256:AAAA", "is not hash-name:header-hash:body-hash"),
        ("h", "sha256:!!!!:AAAA", "not a base64 character"),
        ("h", "sha256:AAAA:AAAA", "must be 32 octets"),
        ("h", "sha 256:AAAA:AAAA", "is not a valid name"),
        ("r", "e30", "not padded base64"),
    ],
)
def test_mi_syntax_error(tag: str, value: str, detail: str) -> None:
    chain = two_hops()
    raw = resign(set_tag(chain.message, MI, 1, tag, value))
    report = chain.analyze(raw, revision="06")
    assert verdicts(report) == [
        ("mi.syntax", PERM, "PERMERROR Message-Instance m=1 syntax error", None, 1)
    ]
    assert detail in finding(report, "mi.syntax").detail
    assert report.result == PERM


def test_mi_syntax_error_m_zero() -> None:
    """m=0 is read (for labelling) but is no instance number: m=1 is then missing too."""
    chain = two_hops()
    raw = resign(set_tag(chain.message, MI, 1, "m", "0"))
    report = chain.analyze(raw, revision="06")
    assert verdicts(report) == [
        ("mi.syntax", PERM, "PERMERROR Message-Instance m=0 syntax error", None, 0),
        ("mi.missing", PERM, "PERMERROR Message-Instance m=1 missing", None, 1),
    ]
    assert "must be 1 or more" in finding(report, "mi.syntax").detail


def test_mi_syntax_error_leaves_earlier_instances_unverified() -> None:
    """Without m=2 its change cannot be undone: m=1 is neither rebuilt nor checked against
    the un-rebuilt message (which would blame hop 1 for hop 2's change)."""
    chain = two_hops()
    raw = resign(set_tag(chain.message, MI, 2, "h", "sha256:AAAA"))
    report = chain.analyze(raw, revision="06")
    assert verdicts(report) == [
        ("mi.syntax", PERM, "PERMERROR Message-Instance m=2 syntax error", None, 2)
    ]
    assert finding(report, "recipe.reconstruction-stopped").state == State.NONE
    assert [x.instance for x in report.instances] == [2]


def test_mi_syntax_error_duplicate_tag() -> None:
    chain = two_hops()
    raw = resign(edit_tags(chain.message, MI, 1, lambda tags: [*tags, ("M", "1")]))
    report = chain.analyze(raw, revision="06")
    assert verdicts(report) == [
        ("mi.syntax", PERM, "PERMERROR Message-Instance m=1 syntax error", None, 1)
    ]
    assert (
        finding(report, "mi.syntax").detail
        == "tag m= appears more than once (each tag at most once)"
    )


def test_mi_syntax_error_unreadable_number() -> None:
    """m= that is not a number: the field cannot be placed, and m=1 is then missing too."""
    chain = one_hop()
    raw = resign(set_tag(chain.message, MI, 1, "m", "one"))
    report = chain.analyze(raw, revision="06")
    assert verdicts(report) == [
        ("mi.syntax", PERM, "PERMERROR Message-Instance m=? syntax error", None, None),
        ("mi.missing", PERM, "PERMERROR Message-Instance m=1 missing", None, 1),
    ]


def test_mi_duplicate_number_same_bytes() -> None:
    chain = one_hop()
    fields, body = split(chain.message)
    raw = resign(join([get_field(chain.message, MI, 1), *fields], body))
    report = chain.analyze(raw, revision="06")
    assert verdicts(report) == [
        ("mi.duplicate", PERM, "PERMERROR Message-Instance m=1 syntax error", None, 1)
    ]


def test_mi_duplicate_number_different_bytes() -> None:
    """Two different fields claiming m=1 (a crash once: the signature check sorted them)."""
    chain = one_hop()
    fields, body = split(chain.message)
    twin = get_field(chain.message, MI, 1).replace(b"m=1;", b"m=1 ;")
    report = chain.analyze(resign(join([twin, *fields], body)), revision="06")
    assert verdicts(report) == [
        ("mi.duplicate", PERM, "PERMERROR Message-Instance m=1 syntax error", None, 1)
    ]


@pytest.mark.parametrize("tag", ["h", "m"])
def test_mi_tag_missing(tag: str) -> None:
    chain = two_hops()
    raw = resign(set_tag(chain.message, MI, 1, tag, None))
    report = chain.analyze(raw, revision="06")
    if tag == "h":
        assert verdicts(report) == [
            ("mi.tag-missing", PERM, "PERMERROR Message-Instance m=1 tag=h missing", None, 1)
        ]
    else:
        assert verdicts(report) == [
            ("mi.tag-missing", PERM, "PERMERROR Message-Instance m=? tag=m missing", None, None),
            ("mi.missing", PERM, "PERMERROR Message-Instance m=1 missing", None, 1),
        ]
    assert report.result == PERM


def test_mi_is_not_signed() -> None:
    """An m=3 no signature names (every m= is at most 2)."""
    chain = two_hops()
    h = get_tag(chain.message, MI, 2, "h")
    fields, body = split(chain.message)
    raw = join([f"Message-Instance: m=3; h={h};\r\n".encode(), *fields], body)
    report = chain.analyze(raw, revision="06")
    assert verdicts(report) == [
        ("mi.not-signed", PERM, "PERMERROR Message-Instance m=3 is not signed", None, 3)
    ]
    assert report.result == PERM


def test_mi_duplicate_hash_algorithm() -> None:
    chain = one_hop()
    h = get_tag(chain.message, MI, 1, "h")
    raw = resign(set_tag(chain.message, MI, 1, "h", f"{h}, sha256:{h.split(':', 1)[1]}"))
    report = chain.analyze(raw, revision="06")
    assert verdicts(report) == [
        (
            "mi.duplicate-hash-algorithm",
            PERM,
            "PERMERROR Message-Instance m=1 has a duplicate hash algorithm",
            None,
            1,
        )
    ]


@pytest.mark.parametrize(
    ("recipe", "detail"),
    [
        pytest.param(b"not json", "not JSON", id="not-json"),
        pytest.param(b'{"b": [\xff]}', "not UTF-8", id="not-utf8"),
        pytest.param("[1, 2]", "must be a JSON object", id="array"),
        pytest.param({"x": 1}, 'neither "h" nor "b"', id="no-h-no-b"),
        pytest.param({"h": {}}, "minProperties", id="empty-h"),
        pytest.param({"h": []}, '"h" must be an object', id="h-array"),
        pytest.param({"b": {"c": [1, 3]}}, "must be an array of steps", id="b-object"),
        pytest.param({"b": [{"x": [1, 3]}]}, "unknown step", id="unknown-step"),
        pytest.param({"b": [{"c": [1, 3], "d": ["x"]}]}, "exactly one of", id="two-keys"),
        pytest.param({"b": [{}]}, "exactly one of", id="empty-step"),
        pytest.param({"b": ["c"]}, "exactly one of", id="bare-string"),
        pytest.param({"b": [{"c": [1, True]}]}, "two integers", id="bool-in-range"),
        pytest.param({"b": [{"c": [1]}]}, "two integers", id="short-range"),
        pytest.param({"b": [{"c": [0, 2]}]}, "must start at 1", id="zero"),
        pytest.param({"b": [{"d": []}]}, "non-empty array of strings", id="empty-literal"),
        pytest.param({"b": [{"d": [1]}]}, "non-empty array of strings", id="number-literal"),
        pytest.param({"b": [{"d": ["a\r\nb"]}]}, "CR or LF", id="crlf-literal"),
        pytest.param({"h": {"bad name": []}}, "not a header field name", id="bad-name"),
        pytest.param({"h": {"subject": []}, "H": {"to": []}}, "differ only in case", id="case"),
        pytest.param({"b": [{"c": [3, 1]}]}, "is descending", id="descending"),
        pytest.param({"b": [{"c": [1, 2]}, {"c": [2, 3]}]}, "overlaps", id="overlapping"),
        pytest.param({"b": [{"c": [2, 3]}, {"c": [1, 1]}]}, "overlaps", id="out-of-order"),
        pytest.param({"b": [{"c": [1, 6]}]}, "beyond the 5 line(s)", id="body-out-of-range"),
        pytest.param(
            {"h": {"subject": [{"c": [1, 2]}]}},
            "beyond the 1 subject field(s)",
            id="header-out-of-range",
        ),
    ],
)
def test_mi_contains_invalid_json(recipe: object, detail: str) -> None:
    chain = two_hops()
    raw = resign(edit_recipe(chain.message, 2, recipe))
    report = chain.analyze(raw, revision="06")
    assert verdicts(report) == [
        ("mi.invalid-json", PERM, "PERMERROR Message-Instance m=2 contains invalid JSON", 2, 2)
    ]
    assert detail in finding(report, "mi.invalid-json").detail
    assert report.result == PERM
    # The walk stops at a recipe it cannot use: no earlier instance is shown.
    assert [x.instance for x in report.instances] == [2]


def test_mi_unknown_top_level_members_are_ignored() -> None:
    """S06 §2 / SPEC-NOTES §11 A7: unknown top-level members are ignored, not invalid."""
    chain = two_hops()
    recipe = {"h": {"subject": [{"d": [" Hello"]}]}, "b": [{"c": [1, 3]}], "x-note": "hi"}
    report = chain.analyze(resign(edit_recipe(chain.message, 2, recipe)), revision="06")
    assert verdicts(report) == []
    assert report.result == State.PASS


def test_mi_recipe_keys_match_case_insensitively() -> None:
    chain = two_hops()
    recipe = {"H": {"SUBJECT": [{"D": [" Hello"]}]}, "B": [{"C": [1, 3]}]}
    report = chain.analyze(resign(edit_recipe(chain.message, 2, recipe)), revision="06")
    assert verdicts(report) == []
    assert report.result == State.PASS


def test_mi_no_known_hash() -> None:
    chain = one_hop()
    h = get_tag(chain.message, MI, 1, "h")
    raw = resign(set_tag(chain.message, MI, 1, "h", "sha3-256:" + h.split(":", 1)[1]))
    report = chain.analyze(raw, revision="06")
    assert verdicts(report) == [
        (
            "mi.no-known-hash",
            PERM,
            "PERMERROR Message-Instance m=1 has no hash this verifier can check",
            1,
            1,
        )
    ]


def test_unknown_hash_next_to_a_known_one_is_ignored() -> None:
    chain = one_hop()
    h = get_tag(chain.message, MI, 1, "h")
    raw = resign(set_tag(chain.message, MI, 1, "h", f"{h},x-new:AAAA:AAAA"))
    report = chain.analyze(raw, revision="06")
    assert verdicts(report) == []
    assert report.result == State.PASS


def test_null_body_recipe_is_an_error_only_when_asked() -> None:
    hops = [ALICE, Hop(*LIST_ARGS, modify=append_body("scanned"), body_unrecoverable=True)]
    chain = build_chain(message(), hops)
    assert b"eyJiIjpudWxsfQ==" in chain.message  # r= base64 of {"b":null}
    lenient = chain.analyze(revision="06")
    assert verdicts(lenient) == []
    assert lenient.result == State.PASS
    assert finding(lenient, "recipe.null-body").state == State.NONE
    assert lenient.instances[0].body is None
    strict = chain.analyze(options=Options(null_body_is_error=True), revision="06")
    assert verdicts(strict) == [
        ("recipe.null-body", PERM, "PERMERROR Message-Instance m=2 has a null body recipe", 2, 2)
    ]
    assert strict.result == PERM


# -- DKIM2-Signature (S06 §11.2, §11.3) ------------------------------------------------------------


def test_sig_missing_in_the_middle() -> None:
    chain = two_hops()
    raw = resign(replace_field(chain.message, SIG, 1, None))
    report = chain.analyze(raw, revision="06")
    assert verdicts(report) == [
        ("sig.missing", PERM, "PERMERROR DKIM2-Signature i=1 missing", 1, None)
    ]
    assert report.result == PERM


def test_sig_missing_when_there_is_none() -> None:
    chain = one_hop()
    raw = replace_field(chain.message, SIG, 1, None)
    report = chain.analyze(raw, revision="06")
    assert verdicts(report) == [
        ("sig.missing", PERM, "PERMERROR DKIM2-Signature i=1 missing", 1, None)
    ]
    assert report.hops == []


NONCE_65 = "n" * 65
MF_B64 = b64("<alice@example.com>")  # PGFsaWNlQGV4YW1wbGUuY29tPg==
MF_NON_CANONICAL = MF_B64[:-3] + "h=="  # same octets, non-zero pad bits


def _add_tag(tag: str, value: str) -> Callable[[bytes], bytes]:
    return lambda raw: edit_tags(raw, SIG, 1, lambda tags: [*tags, (tag, value)])


def _set(tag: str, value: str) -> Callable[[bytes], bytes]:
    return lambda raw: set_tag(raw, SIG, 1, tag, value)


@pytest.mark.parametrize(
    ("edit", "detail"),
    [
        pytest.param(_add_tag("D", "example.com"), "tag d= appears more than once", id="dup-tag"),
        pytest.param(_set("mf", "!!!!"), "not a base64 character", id="bad-base64"),
        pytest.param(_set("mf", MF_B64.rstrip("=")), "not padded base64", id="unpadded"),
        pytest.param(_set("mf", MF_NON_CANONICAL), "not canonical base64", id="non-canonical"),
        pytest.param(
            _set("mf", "PG=FsaWNlQGV4YW1wbGUuY29tPg=="),
            "padding in the wrong place",
            id="misplaced-padding",
        ),
        pytest.param(_set("rt", b64("<>")), "null path <>", id="null-rcpt"),
        pytest.param(_set("n", NONCE_65), "MUST NOT exceed 64", id="long-nonce"),
        pytest.param(_set("n", "a b"), "outside %x21-3A", id="nonce-space"),
        pytest.param(_set("mf", b64("alice@example.com")), "without angle brackets", id="bare-mf"),
        pytest.param(
            _set("rt", b64("list@lists.example.org")), "without angle brackets", id="bare-rt"
        ),
        pytest.param(_set("d", "exa_mple.com"), "is not a domain name", id="bad-domain"),
        pytest.param(_set("t", "18e8"), "is not a decimal number", id="bad-t"),
        pytest.param(_set("f", "do not"), "is not a valid flag name", id="bad-flag"),
        pytest.param(_set("m", "0"), "must be 1 or more", id="m-zero"),
        pytest.param(_set("m", "x"), "is not a decimal number", id="m-text"),
    ],
)
def test_sig_syntax_error(edit: Callable[[bytes], bytes], detail: str) -> None:
    chain = two_hops()
    raw = resign(edit(chain.message))
    report = chain.analyze(raw, revision="06")
    assert verdicts(report) == [
        ("sig.syntax", PERM, "PERMERROR DKIM2-Signature i=1 syntax error", 1, None)
    ]
    assert detail in finding(report, "sig.syntax").detail
    assert report.result == PERM


def test_sig_syntax_error_i_zero() -> None:
    """i=0 is read (for labelling) but is no hop number: i=1 is then missing too."""
    chain = two_hops()
    report = chain.analyze(resign(set_tag(chain.message, SIG, 1, "i", "0")), revision="06")
    assert verdicts(report) == [
        ("sig.syntax", PERM, "PERMERROR DKIM2-Signature i=0 syntax error", 0, None),
        ("sig.missing", PERM, "PERMERROR DKIM2-Signature i=1 missing", 1, None),
    ]


@pytest.mark.parametrize(
    ("tags", "detail"),
    [
        pytest.param("ed1:ed25519-sha256:", "has no signature value", id="empty-value"),
        pytest.param("ed1:ed25519-sha256", "is not selector:algorithm:signature", id="two-parts"),
        pytest.param("e d:ed25519-sha256:AAAA", "is not a valid DNS name", id="bad-selector"),
        pytest.param("ed1:ed25519/sha256:AAAA", "is not a valid name", id="bad-algorithm"),
    ],
)
def test_sig_syntax_error_in_s(tags: str, detail: str) -> None:
    chain = two_hops()
    raw = resign(set_tag(chain.message, SIG, 1, "s", tags), from_hop=2)
    report = chain.analyze(raw, revision="06")
    assert verdicts(report) == [
        ("sig.syntax", PERM, "PERMERROR DKIM2-Signature i=1 syntax error", 1, None)
    ]
    assert detail in finding(report, "sig.syntax").detail


def test_bare_addresses_are_accepted_with_compat() -> None:
    chain = one_hop()
    raw = resign(set_tag(chain.message, SIG, 1, "mf", b64("alice@example.com")))
    strict = chain.analyze(raw, revision="06")
    assert [v[:3] for v in verdicts(strict)] == [
        ("sig.syntax", PERM, "PERMERROR DKIM2-Signature i=1 syntax error")
    ]
    compat = chain.analyze(raw, options=Options(compat=True), revision="06")
    assert verdicts(compat) == []
    assert compat.result == State.PASS
    assert finding(compat, "draft.bare-addresses").state == State.NONE


def test_sig_duplicate_number_same_bytes() -> None:
    chain = one_hop()
    fields, body = split(chain.message)
    raw = join([get_field(chain.message, SIG, 1), *fields], body)
    report = chain.analyze(raw, revision="06")
    assert verdicts(report) == [
        ("sig.duplicate", PERM, "PERMERROR DKIM2-Signature i=1 syntax error", 1, None)
    ]


def test_sig_duplicate_number_different_bytes() -> None:
    """Two different fields claiming i=1 (a crash once: the signature check sorted them)."""
    chain = one_hop()
    fields, body = split(chain.message)
    twin = get_field(chain.message, SIG, 1).replace(b"i=1;", b"i=1 ;")
    report = chain.analyze(join([twin, *fields], body), revision="06")
    assert verdicts(report) == [
        ("sig.duplicate", PERM, "PERMERROR DKIM2-Signature i=1 syntax error", 1, None)
    ]


def test_sig_instance_out_of_range() -> None:
    chain = two_hops()
    raw = resign(set_tag(chain.message, SIG, 2, "m", "3"))
    report = chain.analyze(raw, revision="06")
    assert verdicts(report) == [
        ("sig.instance-out-of-range", PERM, "PERMERROR DKIM2-Signature i=2 syntax error", 2, None)
    ]


def test_sig_instance_decreasing() -> None:
    fwd = Hop("example.net", "<fwd@example.net>", ["<carol@dest.test>"])
    chain = build_chain(message(), [ALICE, LIST, fwd])
    raw = resign(set_tag(chain.message, SIG, 3, "m", "1"))
    report = chain.analyze(raw, revision="06")
    assert verdicts(report) == [
        ("sig.instance-decreasing", PERM, "PERMERROR DKIM2-Signature i=3 syntax error", 3, None)
    ]


@pytest.mark.parametrize("tag", ["m", "t", "d", "s", "mf", "rt"])
def test_sig_tag_missing(tag: str) -> None:
    chain = two_hops()
    raw = resign(set_tag(chain.message, SIG, 1, tag, None), from_hop=1 if tag != "s" else 2)
    report = chain.analyze(raw, revision="06")
    assert verdicts(report) == [
        ("sig.tag-missing", PERM, f"PERMERROR DKIM2-Signature i=1 tag={tag} missing", 1, None)
    ]
    assert report.result == PERM


def test_sig_tag_i_missing() -> None:
    chain = two_hops()
    raw = resign(set_tag(chain.message, SIG, 1, "i", None))
    report = chain.analyze(raw, revision="06")
    assert verdicts(report) == [
        ("sig.tag-missing", PERM, "PERMERROR DKIM2-Signature i=? tag=i missing", None, None),
        ("sig.missing", PERM, "PERMERROR DKIM2-Signature i=1 missing", 1, None),
    ]


def test_sig_tag_unexpected_nd_with_mf_and_rt() -> None:
    chain = two_hops()
    raw = resign(set_tag(chain.message, SIG, 1, "nd", "lists.example.org"))
    report = chain.analyze(raw, revision="06")
    assert verdicts(report) == [
        (
            "sig.tag-unexpected",
            PERM,
            "PERMERROR DKIM2-Signature i=1 tag=mf was unexpected",
            1,
            None,
        ),
        (
            "sig.tag-unexpected",
            PERM,
            "PERMERROR DKIM2-Signature i=1 tag=rt was unexpected",
            1,
            None,
        ),
    ]


def test_sig_duplicate_selector() -> None:
    hop = Hop(*ALICE_ARGS, selectors=("ed1", "ed1"))
    chain = build_chain(message(), [hop])
    report = chain.analyze(revision="06")
    assert verdicts(report) == [
        (
            "sig.duplicate-selector",
            PERM,
            "PERMERROR DKIM2-Signature i=1 has a duplicate selector",
            1,
            None,
        )
    ]


def test_sig_duplicate_selector_ignores_case() -> None:
    chain = one_hop()
    s = get_tag(chain.message, SIG, 1, "s")
    raw = set_tag(chain.message, SIG, 1, "s", f"{s},ED1:{s.split(':', 1)[1]}")
    report = chain.analyze(raw, revision="06")
    assert [v[0] for v in verdicts(report)] == ["sig.duplicate-selector"]


def test_sig_more_selectors_than_allowed() -> None:
    hop = Hop(*ALICE_ARGS, selectors=("ed1", "ed2", "ed3"))
    chain = build_chain(message(), [hop])
    report = chain.analyze(revision="06")
    assert verdicts(report) == [
        (
            "sig.too-many-selectors",
            PERM,
            "PERMERROR DKIM2-Signature i=1 has more selectors than allowed",
            1,
            None,
        )
    ]


def test_two_selectors_of_one_algorithm_are_allowed() -> None:
    """S06 §8.9: one extra signature per algorithm (e.g. two RSA key lengths)."""
    hop = Hop(*ALICE_ARGS, selectors=("rsa1", "rsa1024", "ed1", "ed2"))
    chain = build_chain(message(), [hop])
    report = chain.analyze(revision="06")
    assert verdicts(report) == []
    assert [s.result for s in report.hops[0].selectors] == ["pass"] * 4


def test_sig_expired() -> None:
    chain = two_hops()
    report = chain.analyze(
        now=T0 + SIGNATURE_LIFETIME_SECONDS + 1, revision="06"
    )  # i=2 signed at T0 + 60
    assert verdicts(report) == [
        ("sig.expired", PERM, "PERMERROR DKIM2-Signature i=1 signature expired", 1, None)
    ]
    assert report.result == PERM
    assert [h.result for h in report.hops] == [PERM, State.PASS]


def test_sig_no_verifiable_signature() -> None:
    chain = one_hop()
    raw = set_tag(chain.message, SIG, 1, "s", "pq1:mldsa44-sha512:AAAA")
    report = chain.analyze(raw, revision="06")
    assert verdicts(report) == [
        (
            "sig.no-verifiable-signature",
            PERM,
            "PERMERROR DKIM2-Signature i=1 has no signature this verifier can check",
            1,
            None,
        )
    ]
    assert finding(report, "sig.unknown-algorithm").state == State.NONE


def test_unknown_algorithm_next_to_a_known_one_is_ignored() -> None:
    chain = one_hop()
    s = get_tag(chain.message, SIG, 1, "s")
    raw = resign(set_tag(chain.message, SIG, 1, "s", f"{s},pq1:mldsa44-sha512:AAAA"))
    report = chain.analyze(raw, revision="06")
    assert verdicts(report) == []
    assert [(s.selector, s.result) for s in report.hops[0].selectors] == [
        ("ed1", "pass"),
        ("pq1", "skipped"),
    ]


# -- custody against the envelope (S06 §11.4) ------------------------------------------------------


def test_envelope_mail_from_did_not_match() -> None:
    chain = two_hops()
    report = chain.analyze(
        envelope=Envelope("<other@lists.example.org>", ["<bob@example.net>"]), revision="06"
    )
    assert verdicts(report) == [
        (
            "custody.mail-from-mismatch",
            PERM,
            "PERMERROR: DKIM2-Signature i=2 MAIL FROM <other@lists.example.org> did not match",
            2,
            None,
        )
    ]
    assert report.result == PERM


def test_envelope_local_part_is_case_sensitive_domain_is_not() -> None:
    chain = two_hops()
    ok = chain.analyze(
        envelope=Envelope("list-bounces@LISTS.Example.org", ["<bob@EXAMPLE.NET>"]), revision="06"
    )
    assert verdicts(ok) == []
    bad = chain.analyze(
        envelope=Envelope("<List-Bounces@lists.example.org>", ["<Bob@example.net>"]), revision="06"
    )
    assert [v[2] for v in verdicts(bad)] == [
        "PERMERROR: DKIM2-Signature i=2 MAIL FROM <List-Bounces@lists.example.org> did not match",
        "PERMERROR: DKIM2-Signature i=2 RCPT TO <Bob@example.net> did not match",
    ]


def test_envelope_rcpt_to_did_not_match() -> None:
    chain = two_hops()
    envelope = Envelope(
        "<list-bounces@lists.example.org>", ["<bob@example.net>", "<eve@example.net>"]
    )
    report = chain.analyze(envelope=envelope, revision="06")
    assert verdicts(report) == [
        (
            "custody.rcpt-to-mismatch",
            PERM,
            "PERMERROR: DKIM2-Signature i=2 RCPT TO <eve@example.net> did not match",
            2,
            None,
        )
    ]


def test_envelope_null_sender_must_match_mf() -> None:
    chain = two_hops()
    report = chain.analyze(envelope=Envelope("<>", ["<bob@example.net>"]), revision="06")
    assert [v[2] for v in verdicts(report)] == [
        "PERMERROR: DKIM2-Signature i=2 MAIL FROM <> did not match"
    ]


def test_envelope_not_checked_without_one() -> None:
    chain = two_hops()
    report = chain.analyze(envelope=None, revision="06")
    assert verdicts(report) == []
    assert report.result == State.PASS
    assert report.envelope_checked is False
    assert finding(report, "envelope.not-checked").message == "Envelope not checked"


def test_envelope_unexpected_nd_on_the_newest_signature() -> None:
    chain = build_chain(message(), [ALICE, Hop("lists.example.org", nd="out.example.org")])
    report = chain.analyze(
        envelope=Envelope("<x@out.example.org>", ["<bob@example.net>"]), revision="06"
    )
    assert verdicts(report) == [
        (
            "custody.unexpected-nd",
            PERM,
            "PERMERROR: DKIM2-Signature i=2 unexpected nd= tag",
            2,
            None,
        )
    ]
    # Also without an envelope: the nd= hop never handed the message to anyone who signed.
    assert [v[0] for v in verdicts(chain.analyze(envelope=None, revision="06"))] == [
        "custody.unexpected-nd"
    ]


# -- custody inside the chain (S06 §8.7, §8.8, §9.4) -----------------------------------------------


def test_chain_mail_from_and_d_do_not_match() -> None:
    hop = Hop("example.com", "<alice@example.org>", ["<list@lists.example.org>"])
    chain = build_chain(message(), [hop])
    report = chain.analyze(revision="06")
    assert verdicts(report) == [
        (
            "custody.mf-d-mismatch",
            PERM,
            "PERMERROR: DKIM2-Signature i=1 MAIL FROM and d= do not match",
            1,
            None,
        )
    ]


def test_chain_mail_from_below_d_matches() -> None:
    hop = Hop("example.com", "<alice@mail.eu.example.com>", ["<list@lists.example.org>"])
    assert verdicts(build_chain(message(), [hop]).analyze(revision="06")) == []


def test_chain_inter_hop_mail_from_did_not_match() -> None:
    """Annex C 1: hop 2's MAIL FROM is not at or below any RCPT TO domain of hop 1."""
    evil = Hop("evil.example", "<x@evil.example>", ["<bob@example.net>"])
    chain = build_chain(message(), [ALICE, evil])
    report = chain.analyze(revision="06")
    assert verdicts(report) == [
        (
            "custody.chain-link",
            PERM,
            "PERMERROR: DKIM2-Signature i=2 MAIL FROM <x@evil.example> did not match",
            2,
            None,
        )
    ]
    assert [h.custody_link for h in report.hops] == ["first", "broken"]


def test_chain_inter_hop_null_sender_is_checked_by_d() -> None:
    """A19: a hop with mf=<> links by its d=; the string then names the domain."""
    bounce = Hop("evil.example", "<>", ["<alice@example.com>"])
    chain = build_chain(message(), [ALICE, bounce])
    report = chain.analyze(revision="06")
    assert verdicts(report) == [
        (
            "custody.chain-link",
            PERM,
            "PERMERROR: DKIM2-Signature i=2 MAIL FROM evil.example did not match",
            2,
            None,
        )
    ]


def test_chain_inter_hop_relaxed_match() -> None:
    """S06 §9.4: hop 2's MAIL FROM domain may be below hop 1's RCPT TO domain."""
    sub = Hop("out.lists.example.org", "<b@out.lists.example.org>", ["<bob@example.net>"])
    assert verdicts(build_chain(message(), [ALICE, sub]).analyze(revision="06")) == []
    parent = Hop("example.org", "<b@example.org>", ["<bob@example.net>"])
    assert [
        v[0] for v in verdicts(build_chain(message(), [ALICE, parent]).analyze(revision="06"))
    ] == ["custody.chain-link"]


def test_chain_nd_does_not_match() -> None:
    hops = [
        Hop("example.com", "<alice@example.com>", ["<bob@in.example.net>"]),
        Hop("in.example.net", nd="out.example.net"),
        Hop("other.test", "<fwd@other.test>", ["<carol@dest.test>"]),
    ]
    chain = build_chain(message(), hops)
    report = chain.analyze(revision="06")
    assert verdicts(report) == [
        (
            "custody.nd-mismatch",
            PERM,
            "PERMERROR: DKIM2-Signature i=3 MAIL nd= does not match",
            3,
            None,
        )
    ]
    assert [h.custody_link for h in report.hops] == ["first", "ok", "broken"]


# -- keys (S06 §11.5) ------------------------------------------------------------------------------


def _with_key(chain: Chain, entries: list[list[str]] | None, selector: str = "ed1") -> ChainReport:
    zone = set_zone_entry(chain.zone, "example.com", selector, entries)
    return chain.analyze(zone=zone, revision="06")


@pytest.mark.parametrize("marker", ["timeout", "servfail"])
def test_key_could_not_be_fetched(marker: str) -> None:
    report = _with_key(one_hop(), [[marker, ""]])
    assert verdicts(report) == [
        (
            "key.temperror",
            TEMP,
            "TEMPERROR: DKIM2-Signature i=1 public key ed1 could not be fetched",
            1,
            None,
        )
    ]
    assert marker in finding(report, "key.temperror").detail
    assert report.result == TEMP
    assert report.hops[0].selectors[0].result == "temperror"


@pytest.mark.parametrize(
    ("entries", "detail"),
    [(None, "NXDOMAIN"), ([], "no TXT record")],
    ids=["nxdomain", "nodata"],
)
def test_key_does_not_exist(entries: list[list[str]] | None, detail: str) -> None:
    report = _with_key(one_hop(), entries)
    assert verdicts(report) == [
        (
            "key.not-found",
            PERM,
            "PERMERROR: DKIM2-Signature i=1 public key ed1 does not exist",
            1,
            None,
        )
    ]
    assert detail in finding(report, "key.not-found").detail


def test_key_name_too_long_does_not_exist() -> None:
    """A d= that parses (253 octets) but whose key name exceeds 253 octets: INVALID_NAME."""
    domain = ".".join(["a" * 60] * 4) + ".example"  # 252 octets
    hop = Hop(domain, f"<x@{domain}>", ["<bob@example.net>"])
    chain = build_chain(message(), [hop])
    report = chain.analyze(revision="06")
    assert [v[2] for v in verdicts(report)] == [
        "PERMERROR: DKIM2-Signature i=1 public key ed1 does not exist"
    ]
    assert "not a valid DNS name" in finding(report, "key.not-found").detail


def test_key_has_multiple_records() -> None:
    rec = key_record("ed1")
    report = _with_key(one_hop(), [["txt", rec], ["txt", rec]])
    assert verdicts(report) == [
        (
            "key.multiple-records",
            PERM,
            "PERMERROR: DKIM2-Signature i=1 public key ed1 has multiple records",
            1,
            None,
        )
    ]


@pytest.mark.parametrize(
    ("record", "detail"),
    [
        ("v=DKIM1; k=ed25519; p=!!!!", "not valid base64"),
        ("v=DKIM1; k=ed25519; p=AA\x7fA", "outside VALCHAR"),
        ("v=DKIM1; k=ed25519; p=AAAA", "must be 32 octets"),
        ("v=DKIM1; k=ed25519", "no p= tag"),
        ("k=ed25519; v=DKIM1; p=AAAA", "not the first tag"),
        ("v=DKIM2; k=ed25519; p=AAAA", "is not DKIM1"),
        ("v=DKIM1; k=ed25519; k=ed25519; p=AAAA", "appears twice"),
        ("v=DKIM1; k=ed25519; garbage", "not a tag=value pair"),
    ],
)
def test_key_has_a_syntax_error(record: str, detail: str) -> None:
    report = _with_key(one_hop(), [["txt", record]])
    assert verdicts(report) == [
        (
            "key.syntax",
            PERM,
            "PERMERROR: DKIM2-Signature i=1 public key ed1 has a syntax error",
            1,
            None,
        )
    ]
    assert detail in finding(report, "key.syntax").detail


def test_key_algorithm_mismatch() -> None:
    report = _with_key(one_hop(), [["txt", key_record("rsa1")]])
    assert verdicts(report) == [
        (
            "key.algorithm-mismatch",
            PERM,
            "PERMERROR: DKIM2-Signature i=1 public key ed1 algorithm mismatch",
            1,
            None,
        )
    ]


def test_key_has_been_revoked() -> None:
    report = _with_key(one_hop(), [["txt", "v=DKIM1; k=ed25519; p="]])
    assert verdicts(report) == [
        (
            "key.revoked",
            PERM,
            "PERMERROR: DKIM2-Signature i=1 public key ed1 has been revoked",
            1,
            None,
        )
    ]


def test_key_too_short_rsa() -> None:
    """Annex C 2: an RSA key under 1024 bits is a key-record problem."""
    chain = build_chain(message(), [Hop(*ALICE_ARGS, selectors=("rsa1",))])
    report = _with_key(chain, [["txt", rsa_public_record(512)]], selector="rsa1")
    assert verdicts(report) == [
        (
            "key.too-short",
            PERM,
            "PERMERROR: DKIM2-Signature i=1 public key rsa1 has a syntax error",
            1,
            None,
        )
    ]
    assert "512 bits" in finding(report, "key.too-short").detail


def test_key_lookup_gave_no_answer() -> None:
    """A lookup that returns no answer for a query it was asked is a TEMPERROR too."""

    class Silent:
        def lookup_many(self, queries: list[KeyQuery]) -> dict[KeyQuery, KeyAnswer]:
            return {}

    chain = one_hop()
    report = analyze(
        chain.message, lookup=Silent(), envelope=chain.envelope, now=chain.now, revision="06"
    )
    assert verdicts(report) == [
        (
            "key.not-fetched",
            TEMP,
            "TEMPERROR: DKIM2-Signature i=1 public key ed1 could not be fetched",
            1,
            None,
        )
    ]
    assert report.result == TEMP


def test_key_of_an_unknown_type_is_an_algorithm_mismatch() -> None:
    """DNS00 §3.4.1 ignores unknown k= types: the signature then has no key of its type."""
    report = _with_key(one_hop(), [["txt", "v=DKIM1; k=xmss; p=AAAA"]])
    assert verdicts(report) == [
        (
            "key.algorithm-mismatch",
            PERM,
            "PERMERROR: DKIM2-Signature i=1 public key ed1 algorithm mismatch",
            1,
            None,
        )
    ]


def _format_notes(selector: str, record: str) -> list[str]:
    chain = build_chain(message(), [Hop(*ALICE_ARGS, selectors=(selector,))])
    report = _with_key(chain, [["txt", record]], selector=selector)
    assert verdicts(report) == []
    assert report.result == State.PASS
    return [f.message for f in report.findings if f.code == "key.format-note"]


def test_key_spki_wrapped_ed25519_is_accepted_with_a_note() -> None:
    spki = (
        private_key("ed1")
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    assert _format_notes("ed1", f"v=DKIM1; k=ed25519; p={b64(spki)}") == [
        "DKIM2-Signature i=1 public key ed1: "
        "p= wraps the Ed25519 key in SubjectPublicKeyInfo; RFC 8463 publishes the raw 32 octets"
    ]


def test_key_pkcs1_rsa_is_accepted_with_a_note() -> None:
    """SPEC-NOTES §11 A31: DNS00 says RSAPublicKey (PKCS#1); accept it and say so."""
    pkcs1 = (
        private_key("rsa1")
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    )
    assert _format_notes("rsa1", f"v=DKIM1; p={b64(pkcs1)}") == [
        "DKIM2-Signature i=1 public key rsa1: "
        "p= is a PKCS#1 RSAPublicKey rather than SubjectPublicKeyInfo"
    ]


def test_key_in_testing_mode_still_verifies() -> None:
    report = _with_key(one_hop(), [["txt", key_record("ed1") + "; t=y"]])
    assert verdicts(report) == []
    assert report.result == State.PASS
    assert finding(report, "key.testing").state == State.NONE
    assert report.hops[0].selectors[0].key_testing is True


# -- signatures (S06 §11.6) ------------------------------------------------------------------------


def test_incorrect_signature() -> None:
    chain = two_hops()
    raw = resign(set_tag(chain.message, SIG, 1, "t", str(T0 + 1)), from_hop=2)
    report = chain.analyze(raw, revision="06")
    assert verdicts(report) == [
        ("sig.incorrect", FAIL, "FAIL: DKIM2-Signature i=1 ed1 incorrect signature", 1, None)
    ]
    assert report.result == FAIL
    assert [h.result for h in report.hops] == [FAIL, State.PASS]


def test_a_changed_earlier_signature_breaks_every_later_one() -> None:
    """Each signature covers the signatures below it (S06 §9.6)."""
    chain = two_hops()
    raw = set_tag(chain.message, SIG, 1, "t", str(T0 + 1))
    assert [v[2] for v in verdicts(chain.analyze(raw, revision="06"))] == [
        "FAIL: DKIM2-Signature i=1 ed1 incorrect signature",
        "FAIL: DKIM2-Signature i=2 ed1 incorrect signature",
    ]


def test_one_signature_passed_one_failed() -> None:
    chain = build_chain(message(), [Hop(*ALICE_ARGS, selectors=("rsa1", "ed1"))])
    report = _with_key(chain, [["txt", key_record("ed2")]])
    assert verdicts(report) == [
        (
            "sig.partial",
            FAIL,
            "FAIL: DKIM2-Signature i=1 rsa1 signature passed, ed1 signature failed",
            1,
            None,
        )
    ]
    assert [(s.selector, s.result) for s in report.hops[0].selectors] == [
        ("rsa1", "pass"),
        ("ed1", "fail"),
    ]


def test_every_signature_failed() -> None:
    chain = build_chain(message(), [Hop(*ALICE_ARGS, selectors=("rsa1", "ed1"))])
    zone = set_zone_entry(chain.zone, "example.com", "ed1", [["txt", key_record("ed2")]])
    zone = set_zone_entry(zone, "example.com", "rsa1", [["txt", key_record("rsa2")]])
    report = chain.analyze(zone=zone, revision="06")
    assert verdicts(report) == [
        ("sig.incorrect", FAIL, "FAIL: DKIM2-Signature i=1 rsa1 incorrect signature", 1, None),
        ("sig.incorrect", FAIL, "FAIL: DKIM2-Signature i=1 ed1 incorrect signature", 1, None),
    ]


# -- hashes (S06 §11.7) ----------------------------------------------------------------------------


def test_header_hash_mismatch() -> None:
    chain = two_hops()
    raw = chain.message.replace(b"Subject: [list] Hello", b"Subject: [list] Hullo")
    report = chain.analyze(raw, revision="06")
    assert verdicts(report) == [
        (
            "hash.header-mismatch",
            FAIL,
            "FAIL: Message Instance m=2 header hash sha256 mismatch",
            2,
            2,
        )
    ]
    assert report.result == FAIL
    assert report.diffs[0].explained is True  # m=1 still rebuilt correctly


def test_body_hash_mismatch_after_tampering() -> None:
    chain = two_hops()
    raw = chain.message.replace(b"\r\nfooter\r\n", b"\r\nfooter: click here\r\n")
    report = chain.analyze(raw, revision="06")
    assert verdicts(report) == [
        ("hash.body-mismatch", FAIL, "FAIL: Message Instance m=2 body hash sha256 mismatch", 2, 2)
    ]
    assert report.result == FAIL


def test_body_tampering_inside_copied_lines_fails_both_instances() -> None:
    chain = two_hops()
    raw = chain.message.replace(b"Line two.", b"Line 2.")
    assert [v[2] for v in verdicts(chain.analyze(raw, revision="06"))] == [
        "FAIL: Message Instance m=1 body hash sha256 mismatch",
        "FAIL: Message Instance m=2 body hash sha256 mismatch",
    ]


def test_hash_mismatch_names_each_algorithm() -> None:
    alice = Hop(*ALICE_ARGS, hashes=("sha256", "sha512"))
    chain = build_chain(message(), [alice])
    raw = chain.message.replace(b"Line two.", b"Line 2.")
    assert [v[2] for v in verdicts(chain.analyze(raw, revision="06"))] == [
        "FAIL: Message Instance m=1 body hash sha256 mismatch",
        "FAIL: Message Instance m=1 body hash sha512 mismatch",
    ]


# -- requests (S06 §11.8) --------------------------------------------------------------------------


def test_donotmodify_violated() -> None:
    chain = build_chain(message(), [Hop(*ALICE_ARGS, flags=("donotmodify",)), LIST])
    report = chain.analyze(revision="06")
    assert verdicts(report) == [
        (
            "request.donotmodify",
            FAIL,
            "FAIL: Message has been modified despite a donotmodify request",
            2,
            2,
        )
    ]
    assert report.result == FAIL


def test_donotmodify_allows_an_added_field() -> None:
    """A26: a [] recipe (the hop added a field) does not violate donotmodify."""
    added = Hop(*LIST_ARGS, modify=add_header("List-Id", "<l.example.org>"))
    chain = build_chain(message(), [Hop(*ALICE_ARGS, flags=("donotmodify",)), added])
    report = chain.analyze(revision="06")
    assert verdicts(report) == []
    assert report.result == State.PASS


def test_donotexplode_violated() -> None:
    exploder = Hop(*LIST_ARGS, flags=("exploded",))
    chain = build_chain(message(), [Hop(*ALICE_ARGS, flags=("donotexplode",)), exploder])
    report = chain.analyze(revision="06")
    assert verdicts(report) == [
        (
            "request.donotexplode",
            FAIL,
            "FAIL: Message has been exploded despite a donotexplode request",
            2,
            None,
        )
    ]


def test_duplicate_message_string() -> None:
    """The stateful replay verdict (S06 §11.9) is made by the caller from the replay key."""
    f = duplicate_finding(3)
    assert (f.code, f.state, f.message) == (
        "replay.duplicate",
        FAIL,
        "FAIL: Duplicate message with no exploded flag",
    )


# -- aggregation (SPEC-NOTES §6.5) -----------------------------------------------------------------


def test_structural_permerror_beats_a_fail() -> None:
    chain = two_hops()
    raw = resign(set_tag(chain.message, SIG, 1, "n", NONCE_65))
    raw = raw.replace(b"\r\nfooter\r\n", b"\r\nfooter!\r\n")
    report = chain.analyze(raw, revision="06")
    assert [(v[0], v[1]) for v in verdicts(report)] == [
        ("sig.syntax", PERM),
        ("hash.body-mismatch", FAIL),
    ]
    assert report.result == PERM


def test_permerror_beats_a_fail_of_the_same_step() -> None:
    chain = two_hops()
    raw = resign(edit_recipe(chain.message, 2, {"b": [{"c": [1, 99]}]}))
    raw = raw.replace(b"Subject: [list] Hello", b"Subject: [list] Hullo")
    report = chain.analyze(raw, revision="06")
    assert [(v[0], v[1]) for v in verdicts(report)] == [
        ("hash.header-mismatch", FAIL),
        ("mi.invalid-json", PERM),
    ]
    assert report.result == PERM


def test_unparseable_recipe_json_beats_an_incorrect_signature() -> None:
    """r= that is not a recipe is a step-2 syntax problem (SPEC-NOTES §6.2), so it outranks
    the step-7 FAIL of an incorrect signature."""
    chain = two_hops()
    raw = resign(edit_recipe(chain.message, 2, b"not json"))
    raw = set_tag(raw, SIG, 2, "t", str(T0 + 61))  # i=2 no longer verifies
    report = chain.analyze(raw, revision="06")
    assert [(v[0], v[1]) for v in verdicts(report)] == [
        ("mi.invalid-json", PERM),
        ("sig.incorrect", FAIL),
    ]
    assert report.result == PERM


def test_temperror_only_when_nothing_is_permanent() -> None:
    chain = two_hops()
    zone = set_zone_entry(chain.zone, "example.com", "ed1", [["timeout", ""]])
    assert chain.analyze(zone=zone, revision="06").result == TEMP
    tampered = chain.message.replace(b"\r\nfooter\r\n", b"\r\nfooter!\r\n")
    report = chain.analyze(tampered, zone=zone, revision="06")
    assert [(v[0], v[1]) for v in verdicts(report)] == [
        ("key.temperror", TEMP),
        ("hash.body-mismatch", FAIL),
    ]
    assert report.result == FAIL
    expired = chain.analyze(zone=zone, now=T0 + SIGNATURE_LIFETIME_SECONDS + 1, revision="06")
    assert expired.result == PERM


def test_none_without_dkim2_fields() -> None:
    report = one_hop().analyze(message(), revision="06")
    assert report.result == State.NONE
    assert verdicts(report) == []
    assert report.hops == []
    assert report.instances == []
    assert report.summary == "None: the message carries no DKIM2 signature"


def test_dkim1_signature_alone_is_none() -> None:
    raw = message(
        [
            ("DKIM-Signature", "v=1; a=rsa-sha256; d=example.com; s=s; b=AAAA"),
            ("From", "a@example.com"),
        ]
    )
    assert one_hop().analyze(raw, revision="06").result == State.NONE
