"""Hostile and broken input: never an exception, never a hang, always an exact answer.

Timing guards are generous sanity bounds (a hang or a quadratic walk fails them);
speed itself is measured by ``bench/``.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable

from analysis import State, limits
from analysis.dkim2 import ChainReport, analyze
from analysis.resolvers import StaticResolver
from tests.support.chains import (
    MI,
    SIG,
    T0,
    Chain,
    Hop,
    append_body,
    b64,
    build_chain,
    edit_recipe,
    instance_field,
    message,
    prepend_fields,
    resign,
    set_tag,
    signature_field,
    zone_for,
)

PERM = State.PERMERROR
ALICE = Hop("example.com", "<alice@example.com>", ["<list@lists.example.org>"])
LIST_ARGS = ("lists.example.org", "<b@lists.example.org>", ["<bob@example.net>"])

#: Generous: a check that takes more than this has a complexity problem, not a slow machine.
SANITY_SECONDS = 5.0


def timed(fn: Callable[[], ChainReport]) -> ChainReport:
    started = time.perf_counter()
    report = fn()
    _ = report.summary  # made when first read (and the diffs it reads): inside the bound
    assert time.perf_counter() - started < SANITY_SECONDS
    return report


def run(raw: bytes, chain: Chain | None = None) -> ChainReport:
    """Analyse ``raw`` (with the chain's zone and envelope if given), within the time bound."""
    if chain is not None:
        return timed(lambda: chain.analyze(raw))
    return timed(lambda: analyze(raw, lookup=StaticResolver({}), now=T0))


def codes(report: ChainReport) -> list[str]:
    return [f.code for f in report.findings]


def verdicts(report: ChainReport) -> list[tuple[str, State, str]]:
    return [(f.code, f.state, f.message) for f in report.findings if f.affects_verdict]


@functools.cache
def one_hop() -> Chain:
    return build_chain(message(), [ALICE])


@functools.cache
def two_hops() -> Chain:
    return build_chain(message(), [ALICE, Hop(*LIST_ARGS, modify=append_body("footer"))])


# -- not messages at all ---------------------------------------------------------------------------


def test_empty_input() -> None:
    report = run(b"")
    assert report.result == State.NONE
    assert codes(report) == ["message.no-header"]


def test_only_crlfs() -> None:
    report = run(b"\r\n" * 100_000)
    assert report.result == State.NONE
    assert codes(report) == ["message.no-header"]
    assert report.message.body_size == 2 * 100_000 - 2


def test_binary_garbage() -> None:
    rng = random.Random(2026)
    for _ in range(20):
        raw = rng.randbytes(rng.randrange(1, 200_000))
        report = run(raw)
        assert report.result == State.NONE
        assert verdicts(report) == []


def test_binary_garbage_with_dkim2_names() -> None:
    rng = random.Random(7)
    for _ in range(20):
        junk = rng.randbytes(300).replace(b"\n", b" ").replace(b"\r", b" ")
        raw = b"DKIM2-Signature:" + junk + b"\r\nMessage-Instance:" + junk + b"\r\n\r\nbody"
        report = run(raw)
        assert report.result == PERM
        assert verdicts(report)


def test_nul_bytes_in_values_and_body_verify() -> None:
    """NUL is an ordinary octet to the hashes; the signer and verifier agree on it."""
    start = message(
        [("From", "a@example.com"), ("Subject", "nul\x00inside")], body=b"a\x00b\r\n\x00\r\n"
    )
    chain = build_chain(start, [ALICE])
    report = run(chain.message, chain)
    assert report.result == State.PASS
    assert verdicts(report) == []


def test_nul_bytes_in_a_field_name() -> None:
    chain = one_hop()
    raw = b"Bad\x00Name: x\r\n" + chain.message
    report = run(raw, chain)
    assert report.result == State.PASS
    assert "message.malformed-header-line" in codes(report)


# -- big and many ----------------------------------------------------------------------------------


def test_100k_one_byte_header_fields() -> None:
    """400 kB of header (within MAX_HEADER_BYTES) but far more fields than MAX_HEADER_FIELDS."""
    raw = b"a:\r\n" * 100_000 + b"\r\nbody\r\n"
    assert len(raw) < limits.MAX_HEADER_BYTES
    report = run(raw)
    assert report.result == PERM
    assert verdicts(report) == [
        (
            "limits.too-many-header-fields",
            PERM,
            "Message has more header fields than the analyser accepts",
        )
    ]


def test_100k_one_byte_continuation_lines_in_one_field() -> None:
    chain = build_chain(
        message([("From", "a@example.com"), ("Comments", "x" + "\r\n y" * 100_000)]), [ALICE]
    )
    report = run(chain.message, chain)
    assert report.result == State.PASS


def test_a_1mb_folded_header_line() -> None:
    value = "\r\n ".join(["word" * 19] * 13_000)  # ~1 MB, folded every 78 octets
    chain = build_chain(message([("From", "a@example.com"), ("Subject", value)]), [ALICE])
    assert 1_000_000 < len(chain.message) < limits.MAX_HEADER_BYTES
    report = run(chain.message, chain)
    assert report.result == State.PASS
    tampered = chain.message.replace(b"wordword\r\n word", b"wordword\r\n WORD", 1)
    assert verdicts(run(tampered, chain)) == [
        (
            "hash.header-mismatch",
            State.FAIL,
            "FAIL: Message Instance m=1 header hash sha256 mismatch",
        )
    ]


def test_a_1mb_unfolded_header_line() -> None:
    chain = build_chain(message([("From", "a@example.com"), ("Subject", "s" * 1_000_000)]), [ALICE])
    assert run(chain.message, chain).result == State.PASS


def test_a_40mb_message_is_refused() -> None:
    raw = one_hop().message + b"x" * (40 * 1024 * 1024)
    report = run(raw)
    assert report.result == PERM
    assert verdicts(report) == [
        ("limits.message-too-large", PERM, "Message is larger than the analyser accepts")
    ]


def test_a_body_of_1m_empty_lines() -> None:
    """Trailing empty lines are outside the body hash; stripping them must not be per line."""
    start = message(body=b"text\r\n" + b"\r\n" * 1_000_000)
    started = time.perf_counter()
    chain = build_chain(start, [ALICE])
    assert time.perf_counter() - started < SANITY_SECONDS
    report = run(chain.message, chain)
    assert report.result == State.PASS
    short = chain.message[: chain.message.index(b"text\r\n") + 6]
    assert run(short, chain).result == State.PASS  # same body hash without the empty lines


def test_a_body_of_1m_lines_with_a_footer_recipe() -> None:
    body = b"".join(b"%d\r\n" % n for n in range(1_000_000))
    chain = build_chain(message(body=body), [ALICE, Hop(*LIST_ARGS, modify=append_body("f"))])
    report = run(chain.message, chain)
    assert report.result == State.PASS
    assert len(report.instances) == 2


# -- hostile DKIM2 values --------------------------------------------------------------------------


def test_deeply_nested_json_in_r() -> None:
    chain = two_hops()
    for text in (b"[" * 100_000, b'{"h":{"a":' + b"[" * 100_000):
        report = run(resign(edit_recipe(chain.message, 2, text)), chain)
        assert verdicts(report) == [
            ("mi.invalid-json", PERM, "PERMERROR Message-Instance m=2 contains invalid JSON")
        ]


def test_deeply_nested_objects_in_r() -> None:
    chain = two_hops()
    report = run(resign(edit_recipe(chain.message, 2, b'{"b":' * 100_000)), chain)
    assert verdicts(report) == [
        ("mi.invalid-json", PERM, "PERMERROR Message-Instance m=2 contains invalid JSON")
    ]


def test_huge_base64_values() -> None:
    chain = two_hops()
    blob = b64(random.Random(1).randbytes(600_000))
    cases = [
        (set_tag(chain.message, MI, 2, "r", blob), "mi.invalid-json"),
        (set_tag(chain.message, MI, 1, "h", f"sha256:{blob}:{blob[:44]}"), "mi.syntax"),
        (set_tag(chain.message, SIG, 2, "s", f"ed1:ed25519-sha256:{blob}"), "sig.incorrect"),
        (set_tag(chain.message, SIG, 1, "mf", blob), "sig.syntax"),
    ]
    for raw, code in cases:
        report = run(resign(raw) if code != "sig.incorrect" else raw, chain)
        assert [v[0] for v in verdicts(report)] == [code]


def test_huge_recipe_literal() -> None:
    chain = two_hops()
    recipe = {"h": {"subject": [{"d": ["x" * 700_000]}]}, "b": [{"c": [1, 3]}]}
    report = run(resign(edit_recipe(chain.message, 2, recipe)), chain)
    assert verdicts(report) == [
        (
            "hash.header-mismatch",
            State.FAIL,
            "FAIL: Message Instance m=1 header hash sha256 mismatch",
        )
    ]


def test_header_names_with_non_ascii_octets() -> None:
    chain = one_hop()
    raw = (
        "Sübject: latin-1\r\nÜber: x\r\n".encode("latin-1")
        + "Grüß: utf-8\r\n".encode()
        + (chain.message)
    )
    report = run(raw, chain)
    assert report.result == State.PASS
    assert "message.malformed-header-line" in codes(report)


def test_lf_only_message_verifies_after_conversion() -> None:
    chain = two_hops()
    raw = chain.message.replace(b"\r\n", b"\n")
    report = run(raw, chain)
    assert report.result == State.PASS
    assert verdicts(report) == []
    (note,) = [f for f in report.findings if f.code == "message.lf-line-ends"]
    assert note.state == State.NONE


def test_mixed_line_endings() -> None:
    chain = two_hops()
    raw = chain.message.replace(b"Line two.\r\n", b"Line two.\n")
    report = run(raw, chain)
    assert report.result == State.PASS
    assert "message.mixed-line-ends" in codes(report)


def test_bare_cr_is_an_ordinary_octet() -> None:
    chain = two_hops()
    raw = chain.message.replace(b"Line two.\r\n", b"Line\rtwo.\r\n")
    report = run(raw, chain)
    assert "message.bare-cr" in codes(report)
    assert [v[0] for v in verdicts(report)] == ["hash.body-mismatch", "hash.body-mismatch"]


def _every_other_line_deleted(steps: int) -> tuple[bytes, bytes]:
    """A two-hop message whose hop 2 deleted every other line of a ``2 * steps``-line body:
    its recipe has ``steps`` copy steps.  Returns the message and the m=1 body."""
    current = b"".join(b"%d\r\n" % n for n in range(1, 2 * steps + 1))
    previous = b"".join(b"%d\r\n" % n for n in range(1, 2 * steps + 1, 2))
    m1, m2 = message(body=previous), message(body=current)
    recipe = {"b": [{"c": [k, k]} for k in range(1, 2 * steps + 1, 2)]}
    hop2 = signature_field(
        2,
        2,
        t=T0 + 60,
        domain="example.net",
        mail_from="<fwd@example.net>",
        rcpt_to=("<carol@dest.test>",),
    )
    raw = resign(
        prepend_fields(
            m2, hop2, instance_field(2, m2, recipe), signature_field(1, 1), instance_field(1, m1)
        )
    )
    return raw, previous


def _analyze_interleaved(raw: bytes) -> ChainReport:
    zone = zone_for(["example.com", "example.net"])
    return analyze(raw, lookup=StaticResolver(zone), now=T0 + 120)


def test_recipe_with_many_steps_through_a_whole_message() -> None:
    raw, previous = _every_other_line_deleted(1000)
    report = timed(lambda: _analyze_interleaved(raw))
    assert verdicts(report) == []
    assert report.result == State.PASS
    rebuilt = report.instances[0].body
    assert rebuilt is not None and rebuilt.to_bytes() == previous
    assert len(report.diffs[0].body_diff) > 1000


def test_body_diff_work_grows_linearly_with_interleaved_changes() -> None:
    """The report's body diff must not be quadratic in interleaved changes: difflib over
    30k copy steps (what fits in one header block) once took minutes."""
    small, _ = _every_other_line_deleted(300)
    big, _ = _every_other_line_deleted(2400)  # 8 times the lines and steps

    def seconds(raw: bytes) -> float:
        started = time.perf_counter()
        assert _analyze_interleaved(raw).diffs  # made when read: read them
        return time.perf_counter() - started

    # The best of a few runs each: the work, not a pause of a loaded machine (one run of the
    # large case once took 0.57 s where it takes 0.06).
    t_small = min(seconds(small) for _ in range(3))
    t_big = min(seconds(big) for _ in range(2))
    assert t_big < SANITY_SECONDS
    assert t_big < 24 * t_small, f"{t_small:.3f}s -> {t_big:.3f}s for 8x the input"


def test_recipe_with_1e5_steps_does_not_fit_in_a_header_block() -> None:
    chain = two_hops()
    recipe = {"b": [{"c": [k, k]} for k in range(1, 100_001)]}
    report = run(resign(edit_recipe(chain.message, 2, recipe)), chain)
    assert verdicts(report) == [
        ("limits.header-too-large", PERM, "Header block is larger than the analyser accepts")
    ]


def test_a_number_past_the_digit_limit_labels_nothing() -> None:
    """i=99999 once produced 99999 "missing" findings (and i=999999 a million, in 5 s)."""
    chain = one_hop()
    raw = set_tag(chain.message, SIG, 1, "i", "9" * (limits.MAX_NUMBER_DIGITS + 1))
    report = run(raw, chain)
    assert report.result == PERM
    assert verdicts(report) == [
        ("sig.syntax", PERM, "PERMERROR DKIM2-Signature i=? syntax error"),
        ("sig.missing", PERM, "PERMERROR DKIM2-Signature i=1 missing"),
    ]


def test_a_long_gap_is_one_finding() -> None:
    """i=9999 (within the digit limit) leaves 9998 numbers missing: one finding says so."""
    chain = one_hop()
    raw = resign(set_tag(chain.message, SIG, 1, "i", "9" * limits.MAX_NUMBER_DIGITS))
    report = run(raw, chain)
    assert verdicts(report) == [("sig.missing", PERM, "PERMERROR DKIM2-Signature i=1 missing")]
    (gap,) = [f for f in report.findings if f.code == "sig.missing"]
    assert "9998 numbers are missing, from 1 to 9998" in gap.detail
