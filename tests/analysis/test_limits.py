"""One test per bound of :mod:`analysis.limits`: at the limit the engine works as usual,
one past it the engine refuses with the limit's finding.

The constants are used by name.  Timing guards are generous sanity bounds (a hang or a
quadratic blow-up fails them); speed itself is measured by ``bench/``.
"""

from __future__ import annotations

import functools
import json
import time
import tracemalloc

import pytest

from analysis import State, limits
from analysis.dkim2 import ChainReport, Envelope, analyze
from analysis.dkim2.fields import parse_message_instance
from analysis.dkim2.recipes import FIELD_COST, RecipeError, decode_recipe
from analysis.message import HeaderField
from analysis.resolvers import StaticResolver
from tests.support.chains import (
    DEFAULT_HEADERS,
    MI,
    SIG,
    T0,
    Chain,
    Hop,
    append_body,
    b64,
    build_chain,
    edit_recipe,
    edit_tags,
    get_tag,
    hash_set,
    instance_field,
    message,
    prepend_fields,
    replace_body_line,
    resign,
    rsa_public_record,
    set_tag,
    set_zone_entry,
    signature_field,
    split,
    zone_for,
)

PERM = State.PERMERROR

ALICE_ARGS = ("example.com", "<alice@example.com>", ["<bob@example.net>"])
FWD_ARGS = ("example.net", "<fwd@example.net>", ["<carol@dest.test>"])
ALICE = Hop(*ALICE_ARGS)


def verdicts(report: ChainReport) -> list[tuple[str, State, str]]:
    return [(f.code, f.state, f.message) for f in report.findings if f.affects_verdict]


def detail(report: ChainReport, code: str) -> str:
    (f,) = [f for f in report.findings if f.code == code]
    return f.detail


@functools.cache
def one_hop() -> Chain:
    return build_chain(message(), [ALICE])


def _sized_chain(extra: int, *, body_line: bytes = b"A" * 76) -> Chain:
    """A one-hop chain whose body has ``extra`` octets of filler lines (+ a short last line)."""
    full, rest = divmod(extra, len(body_line) + 2)
    body = (body_line + b"\r\n") * full + b"B" * rest
    return build_chain(message(body=body), [ALICE])


# -- message, header block, header fields ----------------------------------------------------------


def test_message_size_limit() -> None:
    overhead = len(_sized_chain(0).message)  # the signed message with an empty body
    at_limit = _sized_chain(limits.MAX_MESSAGE_BYTES - overhead)
    assert len(at_limit.message) == limits.MAX_MESSAGE_BYTES
    assert verdicts(at_limit.analyze(revision="06")) == []
    over = at_limit.message + b"x"
    report = at_limit.analyze(over, revision="06")
    assert verdicts(report) == [
        ("limits.message-too-large", PERM, "Message is larger than the analyser accepts")
    ]
    assert report.result == PERM
    assert report.hops == []


def _header_chain(header_octets: int) -> Chain:
    """A one-hop chain whose header block (fields + CRLF of the last one) has exactly
    ``header_octets`` octets, padded with Comments fields of 1000 octets or fewer."""
    probe = build_chain(message(), [ALICE])
    base = probe.message.index(b"\r\n\r\n") + 2
    missing = header_octets - base
    pads = []
    while missing > 0:
        size = min(missing, 1000)
        if 0 < missing - size < len("Comments: x\r\n"):
            size -= len("Comments: x\r\n")
        pads.append(("Comments", "x" * (size - len("Comments: \r\n"))))
        missing -= size
    return build_chain(message([*DEFAULT_HEADERS, *pads]), [ALICE])


def test_header_block_limit() -> None:
    at_limit = _header_chain(limits.MAX_HEADER_BYTES)
    assert at_limit.message.index(b"\r\n\r\n") + 2 == limits.MAX_HEADER_BYTES
    assert verdicts(at_limit.analyze(revision="06")) == []
    fields, body = split(at_limit.message)
    over = b"".join(fields[:-1]) + fields[-1][:-2] + b"x\r\n\r\n" + body
    report = at_limit.analyze(over, revision="06")
    assert verdicts(report) == [
        ("limits.header-too-large", PERM, "Header block is larger than the analyser accepts")
    ]
    assert report.result == PERM


def test_header_field_count_limit() -> None:
    # The signer adds two fields (Message-Instance, DKIM2-Signature).
    pads = [
        ("Comments", str(n)) for n in range(limits.MAX_HEADER_FIELDS - 2 - len(DEFAULT_HEADERS))
    ]
    at_limit = build_chain(message([*DEFAULT_HEADERS, *pads]), [ALICE])
    assert len(split(at_limit.message)[0]) == limits.MAX_HEADER_FIELDS
    assert verdicts(at_limit.analyze(revision="06")) == []
    report = at_limit.analyze(b"Comments: one more\r\n" + at_limit.message, revision="06")
    assert verdicts(report) == [
        (
            "limits.too-many-header-fields",
            PERM,
            "Message has more header fields than the analyser accepts",
        )
    ]


# -- DKIM2 field counts ----------------------------------------------------------------------------


def _relay_hops(n: int, *, change: bool) -> list[Hop]:
    """n hops of one domain (one key: MAX_KEY_LOOKUPS stays out of the way)."""
    hops = [Hop("relay.example", "<a@relay.example>", ["<b@relay.example>"])]
    for k in range(2, n + 1):
        hops.append(
            Hop(
                "relay.example",
                "<a@relay.example>",
                ["<b@relay.example>"],
                modify=append_body(f"hop {k}") if change else None,
            )
        )
    return hops


@functools.cache
def _revisers() -> Chain:
    return build_chain(message(), _relay_hops(limits.MAX_INSTANCES, change=True))


def test_signature_count_limit() -> None:
    at_limit = build_chain(message(), _relay_hops(limits.MAX_SIGNATURES, change=False))
    report = at_limit.analyze(revision="06")
    assert verdicts(report) == []
    assert len(report.hops) == limits.MAX_SIGNATURES
    over = build_chain(message(), _relay_hops(limits.MAX_SIGNATURES + 1, change=False))
    report = over.analyze(revision="06")
    assert verdicts(report) == [
        ("limits.too-many-dkim2-fields", PERM, "PERMERROR too many DKIM2 header fields")
    ]
    assert detail(report, "limits.too-many-dkim2-fields").startswith(
        f"{limits.MAX_SIGNATURES + 1} DKIM2-Signature and 1 Message-Instance fields"
    )


def test_instance_count_limit() -> None:
    chain = _revisers()
    report = chain.analyze(revision="06")
    assert verdicts(report) == []
    assert len(report.instances) == limits.MAX_INSTANCES
    extra = instance_field(limits.MAX_INSTANCES + 1, chain.message)
    report = chain.analyze(prepend_fields(chain.message, extra), revision="06")
    assert verdicts(report) == [
        ("limits.too-many-dkim2-fields", PERM, "PERMERROR too many DKIM2 header fields")
    ]
    assert detail(report, "limits.too-many-dkim2-fields").startswith(
        f"{limits.MAX_SIGNATURES} DKIM2-Signature and {limits.MAX_INSTANCES + 1} "
        "Message-Instance fields"
    )


# -- digits, sets, recipients, nonce ---------------------------------------------------------------


def _padded(number: str, digits: int) -> str:
    return number.rjust(digits, "0")


@pytest.mark.parametrize(("kind", "tag"), [(SIG, "i"), (SIG, "m"), (MI, "m")])
def test_number_digits(kind: str, tag: str) -> None:
    chain = one_hop()
    ok = resign(set_tag(chain.message, kind, 1, tag, _padded("1", limits.MAX_NUMBER_DIGITS)))
    assert verdicts(chain.analyze(ok, revision="06")) == []
    bad = resign(set_tag(chain.message, kind, 1, tag, _padded("1", limits.MAX_NUMBER_DIGITS + 1)))
    report = chain.analyze(bad, revision="06")
    label = "DKIM2-Signature i=1" if kind == SIG else "Message-Instance m=1"
    code = "sig.syntax" if kind == SIG else "mi.syntax"
    assert verdicts(report) == [(code, PERM, f"PERMERROR {label} syntax error")]
    assert f"at most {limits.MAX_NUMBER_DIGITS} are accepted" in detail(report, code)


def test_timestamp_digits() -> None:
    chain = one_hop()
    t = str(T0)
    ok = resign(set_tag(chain.message, SIG, 1, "t", _padded(t, limits.MAX_TIMESTAMP_DIGITS)))
    assert verdicts(chain.analyze(ok, revision="06")) == []
    bad = resign(set_tag(chain.message, SIG, 1, "t", _padded(t, limits.MAX_TIMESTAMP_DIGITS + 1)))
    report = chain.analyze(bad, revision="06")
    assert verdicts(report) == [("sig.syntax", PERM, "PERMERROR DKIM2-Signature i=1 syntax error")]
    assert f"at most {limits.MAX_TIMESTAMP_DIGITS} are accepted" in detail(report, "sig.syntax")


def test_sig_sets() -> None:
    """One ed25519 entry plus unknown-algorithm entries (ignored, S06 §3.4) up to the limit."""
    chain = one_hop()
    s = get_tag(chain.message, SIG, 1, "s")

    def with_entries(n: int) -> bytes:
        extra = [f"x{k}:x-alg{k}:AAAA" for k in range(n - 1)]
        return resign(set_tag(chain.message, SIG, 1, "s", ",".join([s, *extra])))

    assert verdicts(chain.analyze(with_entries(limits.MAX_SIG_SETS), revision="06")) == []
    report = chain.analyze(with_entries(limits.MAX_SIG_SETS + 1), revision="06")
    assert verdicts(report) == [("sig.syntax", PERM, "PERMERROR DKIM2-Signature i=1 syntax error")]
    assert detail(report, "sig.syntax") == (
        f"s= has {limits.MAX_SIG_SETS + 1} entries; at most {limits.MAX_SIG_SETS}"
    )


def test_hash_sets() -> None:
    chain = one_hop()
    h = get_tag(chain.message, MI, 1, "h")

    def with_sets(n: int) -> bytes:
        extra = [f"x-h{k}:AAAA:AAAA" for k in range(n - 1)]
        return resign(set_tag(chain.message, MI, 1, "h", ",".join([h, *extra])))

    assert verdicts(chain.analyze(with_sets(limits.MAX_HASH_SETS), revision="06")) == []
    report = chain.analyze(with_sets(limits.MAX_HASH_SETS + 1), revision="06")
    assert verdicts(report) == [("mi.syntax", PERM, "PERMERROR Message-Instance m=1 syntax error")]
    assert detail(report, "mi.syntax") == (
        f"h= has {limits.MAX_HASH_SETS + 1} hash sets; at most {limits.MAX_HASH_SETS}"
    )


def test_recipients() -> None:
    rcpts = [f"<r{k}@example.net>" for k in range(limits.MAX_RECIPIENTS + 1)]
    at_limit = build_chain(
        message(), [Hop("example.com", "<alice@example.com>", rcpts[: limits.MAX_RECIPIENTS])]
    )
    envelope = Envelope("<alice@example.com>", rcpts[: limits.MAX_RECIPIENTS])
    assert verdicts(at_limit.analyze(envelope=envelope, revision="06")) == []
    over = build_chain(message(), [Hop("example.com", "<alice@example.com>", rcpts)])
    report = over.analyze(envelope=envelope, revision="06")
    assert verdicts(report) == [("sig.syntax", PERM, "PERMERROR DKIM2-Signature i=1 syntax error")]
    assert detail(report, "sig.syntax") == (
        f"rt= lists {limits.MAX_RECIPIENTS + 1} recipients; at most {limits.MAX_RECIPIENTS}"
    )


def test_nonce_length() -> None:
    nonce = "n" * limits.MAX_NONCE_CHARS
    chain = build_chain(message(), [Hop(*ALICE_ARGS, nonce=nonce)])
    report = chain.analyze(revision="06")
    assert verdicts(report) == []
    assert report.hops[0].nonce == nonce
    report = chain.analyze(resign(set_tag(chain.message, SIG, 1, "n", nonce + "n")), revision="06")
    assert verdicts(report) == [("sig.syntax", PERM, "PERMERROR DKIM2-Signature i=1 syntax error")]
    assert f"MUST NOT exceed {limits.MAX_NONCE_CHARS}" in detail(report, "sig.syntax")


# -- recipes ---------------------------------------------------------------------------------------


def test_recipe_json_size() -> None:
    """The limit is checked when r= is decoded.  It cannot be reached through a whole message:
    r= lives in the header block, which MAX_HEADER_BYTES caps below the base64 of
    MAX_RECIPE_JSON_BYTES, so the field parser is tested directly."""
    assert limits.MAX_RECIPE_JSON_BYTES * 4 // 3 > limits.MAX_HEADER_BYTES
    h = hash_set(message())

    def field(size: int) -> HeaderField:
        text = b'{"b":null,"x":"' + b"a" * (size - len(b'{"b":null,"x":""}')) + b'"}'
        assert len(text) == size
        return HeaderField.build("Message-Instance", f" m=2; h={h}; r={b64(text)};")

    mi, problems = parse_message_instance(field(limits.MAX_RECIPE_JSON_BYTES))
    assert problems == [] and mi is not None
    assert mi.recipe_bytes is not None and len(mi.recipe_bytes) == limits.MAX_RECIPE_JSON_BYTES
    mi, problems = parse_message_instance(field(limits.MAX_RECIPE_JSON_BYTES + 1))
    assert mi is None
    assert [(p.code, p.what) for p in problems] == [("limits.recipe-too-large", "syntax error")]


def test_recipe_steps() -> None:
    """Checked when the recipe is decoded.  Like the JSON size, out of reach of a whole
    message (the smallest step, {"c":[1,1]}, takes 11 octets of JSON)."""
    assert (limits.MAX_RECIPE_STEPS + 1) * 11 * 4 // 3 > limits.MAX_HEADER_BYTES

    def recipe(n: int) -> bytes:
        return json.dumps({"b": [{"c": [k, k]} for k in range(1, n + 1)]}).encode()

    assert len(decode_recipe(recipe(limits.MAX_RECIPE_STEPS)).body or []) == limits.MAX_RECIPE_STEPS
    with pytest.raises(RecipeError, match=f"at most {limits.MAX_RECIPE_STEPS}"):
        decode_recipe(recipe(limits.MAX_RECIPE_STEPS + 1))


@functools.cache
def two_hops() -> Chain:
    return build_chain(
        message(),
        [
            Hop("example.com", "<alice@example.com>", ["<list@lists.example.org>"]),
            Hop(
                "lists.example.org",
                "<bounces@lists.example.org>",
                ["<bob@example.net>"],
                modify=append_body("footer"),
            ),
        ],
    )


def _amplifier(name_octets: int, literals: int) -> dict[str, object]:
    """A header recipe that emits ``literals`` fields of a ``name_octets``-long name, each
    from a 2-octet JSON string: the output grows ~name_octets/3 times faster than the input."""
    return {"h": {"n" * name_octets: [{"d": [""] * literals}]}, "b": [{"c": [1, 3]}]}


def _output_allowance(raw: bytes) -> int:
    return limits.RECIPE_OUTPUT_FACTOR * len(raw) + limits.RECIPE_OUTPUT_SLACK


def test_recipe_output_factor_boundary() -> None:
    """Just under the allowance the recipe is applied; one field more and it is refused."""
    chain = two_hops()
    name = 1000
    literals = 1
    while True:
        raw = resign(edit_recipe(chain.message, 2, _amplifier(name, literals + 1)))
        if (literals + 1) * (name + 3) > _output_allowance(raw):
            break
        literals += 1
    under = resign(edit_recipe(chain.message, 2, _amplifier(name, literals)))
    assert literals * (name + 3) <= _output_allowance(under)
    report = chain.analyze(under, revision="06")
    # Applied: m=1 is rebuilt with the invented fields, so its header hash fails.
    assert verdicts(report) == [
        (
            "hash.header-mismatch",
            State.FAIL,
            "FAIL: Message Instance m=1 header hash sha256 mismatch",
        )
    ]
    report = chain.analyze(raw, revision="06")
    assert verdicts(report) == [
        (
            "limits.recipe-output-too-large",
            State.TEMPERROR,
            "TEMPERROR: Message-Instance m=2 not undone: its recipe would make more than the "
            "analyser's bound",
        )
    ]


def test_recipe_output_factor_huge_amplification_is_cut_short() -> None:
    """Header-block-sized recipe that would emit ~20 GB: refused quickly, memory bounded."""
    chain = two_hops()
    recipe = _amplifier(60_000, 230_000)  # 230k * 60 kB if nothing stopped it
    raw = resign(edit_recipe(chain.message, 2, recipe))
    assert len(raw) < limits.MAX_HEADER_BYTES
    tracemalloc.start()
    started = time.perf_counter()
    try:
        report = chain.analyze(raw, revision="06")
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert verdicts(report) == [
        (
            "limits.recipe-output-too-large",
            State.TEMPERROR,
            "TEMPERROR: Message-Instance m=2 not undone: its recipe would make more than the "
            "analyser's bound",
        )
    ]
    assert elapsed < 5
    assert peak < 8 * _output_allowance(raw)


def test_many_copies_of_a_big_range_are_refused_before_any_copying() -> None:
    chain = two_hops()
    recipe = {"b": [{"c": [1, 3]}] * 50_000}
    raw = resign(edit_recipe(chain.message, 2, recipe))
    started = time.perf_counter()
    report = chain.analyze(raw, revision="06")
    assert time.perf_counter() - started < 5
    assert verdicts(report) == [
        ("mi.invalid-json", PERM, "PERMERROR Message-Instance m=2 contains invalid JSON")
    ]
    assert "overlaps" in detail(report, "mi.invalid-json")


def _undo_chain(
    content: bytes, recipes: list[dict[str, object] | None], contents: list[bytes]
) -> bytes:
    """One signature over instances m=1..len(recipes): instance m has ``contents[m - 1]`` and
    the recipe ``recipes[m - 1]`` (None: no r=); the message is the newest instance."""
    mis = [instance_field(m, contents[m - 1], recipes[m - 1]) for m in range(1, len(recipes) + 1)]
    return resign(prepend_fields(content, signature_field(1, len(recipes)), *reversed(mis)))


def _named_fields(name: str, count: int) -> bytes:
    """``count`` fields ``name:`` with empty values (what a literal "" of a header recipe
    rebuilds)."""
    return (name.encode() + b":\r\n") * count


def test_total_reconstruction_factor() -> None:
    """An amplifying recipe on top (within RECIPE_OUTPUT_FACTOR) and identity recipes below
    it that copy what it made: each undo is fine, together they pass the bound on the work of
    rebuilding, TOTAL_RECONSTRUCTION_FACTOR times the message.  The analyser could not
    finish: TEMPERROR, named, no verdict against the signer."""
    content = message(body=("y" * 78 + "\r\n") * 1200)
    name = "n" * 1000
    literals = 7 * len(content) // 2 // (len(name) + 3)  # 3.5 times the message's content
    amplified = _named_fields(name, literals) + content
    count = 30
    copy_all = {"h": {name: [{"c": [1, literals]}]}}
    recipes: list[dict[str, object] | None] = [
        None,
        *[copy_all] * (count - 2),
        {"h": {name: [{"d": [""] * literals}]}},
    ]
    contents = [*[amplified] * (count - 1), content]
    raw = _undo_chain(content, recipes, contents)
    instance = len(raw) + len(amplified) - len(content)
    total = limits.TOTAL_RECONSTRUCTION_FACTOR * len(raw) + limits.RECIPE_OUTPUT_SLACK
    undos = total // instance + 1  # the undo that takes the work past its bound
    assert undos < count - 1
    report = analyze(
        raw, lookup=StaticResolver(zone_for(["example.com"])), now=T0 + 60, revision="06"
    )
    m = count - undos + 1  # the instance whose recipe that undo applies
    assert verdicts(report) == [
        (
            "limits.reconstruction-too-large",
            State.TEMPERROR,
            f"TEMPERROR: Message-Instance m={m} not undone: the analyser's bound on "
            "reconstruction was reached",
        )
    ]
    assert report.result == State.TEMPERROR
    assert "bound on the work of rebuilding" in detail(report, "limits.reconstruction-too-large")
    assert [i.result for i in report.instances] == [State.TEMPERROR] + [State.PASS] * (count - m)


def test_reconstruction_memory_factor() -> None:
    """Each recipe rebuilds fields of a name of its own, within RECIPE_OUTPUT_FACTOR: their
    literals together pass what rebuilt instances may hold in memory
    (RECONSTRUCTION_MEMORY_FACTOR times the message, plus RECONSTRUCTION_MEMORY_SLACK)."""
    content = message(body=("y" * 78 + "\r\n") * 1200)
    names = [f"n{k}" + "n" * 1000 for k in range(1, 8)]
    literals = 3 * len(content) // (len(names[0]) + 3)
    count = len(names) + 1
    # Instance m < count holds the fields of names[m - 1:]; the recipe of m + 1 rebuilds
    # those of names[m - 1].
    contents = [
        b"".join(_named_fields(n, literals) for n in names[m - 1 :]) + content
        for m in range(1, count)
    ] + [content]
    recipes: list[dict[str, object] | None] = [None] + [
        {"h": {names[m - 2]: [{"d": [""] * literals}]}} for m in range(2, count + 1)
    ]
    raw = _undo_chain(content, recipes, contents)
    made = literals * (len(names[0]) + 3 + FIELD_COST)  # by one undo
    bound = limits.RECONSTRUCTION_MEMORY_FACTOR * len(raw) + limits.RECONSTRUCTION_MEMORY_SLACK
    undos = bound // made + 1  # the undo that takes the memory past its bound
    assert undos < count - 1
    report = analyze(
        raw, lookup=StaticResolver(zone_for(["example.com"])), now=T0 + 60, revision="06"
    )
    m = count - undos + 1
    assert verdicts(report) == [
        (
            "limits.reconstruction-too-large",
            State.TEMPERROR,
            f"TEMPERROR: Message-Instance m={m} not undone: the analyser's bound on "
            "reconstruction was reached",
        )
    ]
    assert "octets in memory besides the message" in detail(
        report, "limits.reconstruction-too-large"
    )


def test_a_chain_at_the_instance_limit_of_message_sized_instances_fits() -> None:
    """MAX_INSTANCES instances, each copying every field of the message (each the size of
    the message): rebuilt and checked in full (issue #11, finding 9: 16 times the message was
    too little for an honest chain)."""
    pads = [("Foo", "f" * 990) for _ in range(900)]
    content = message([*DEFAULT_HEADERS, *pads])
    count = limits.MAX_INSTANCES
    identity = {"h": {"foo": [{"c": [1, len(pads)]}]}}
    recipes: list[dict[str, object] | None] = [None, *[identity] * (count - 1)]
    raw = _undo_chain(content, recipes, [content] * count)
    report = analyze(
        raw, lookup=StaticResolver(zone_for(["example.com"])), now=T0 + 60, revision="06"
    )
    assert verdicts(report) == []
    assert report.result == State.PASS
    assert len(report.instances) == count


# -- keys ------------------------------------------------------------------------------------------


def test_key_lookups() -> None:
    """One key per signature is always fetched; two per hop can exceed the limit."""
    assert limits.MAX_KEY_LOOKUPS >= limits.MAX_SIGNATURES

    def chain_of(n: int, selectors: tuple[str, ...]) -> Chain:
        hops = [
            Hop(
                f"h{k}.example",
                f"<a@h{k}.example>",
                [f"<b@h{k + 1}.example>"],
                selectors=selectors,
            )
            for k in range(1, n + 1)
        ]
        return build_chain(message(), hops)

    at_limit = chain_of(limits.MAX_KEY_LOOKUPS // 2, ("ed1", "rsa1"))
    assert verdicts(at_limit.analyze(revision="06")) == []
    over = chain_of(limits.MAX_KEY_LOOKUPS // 2 + 1, ("ed1", "rsa1"))
    resolver = StaticResolver(over.zone)
    report = analyze(
        over.message, lookup=resolver, envelope=over.envelope, now=over.now, revision="06"
    )
    assert len(resolver.answers) == limits.MAX_KEY_LOOKUPS
    assert verdicts(report) == [
        ("limits.too-many-keys", PERM, "PERMERROR too many keys to look up")
    ]
    assert [s.result for s in report.hops[-1].selectors] == ["permerror", "permerror"]


def test_rsa_min_bits() -> None:
    chain = build_chain(message(), [Hop(*ALICE_ARGS, selectors=("rsa1024",))])
    report = chain.analyze(revision="06")
    assert verdicts(report) == []
    assert report.hops[0].selectors[0].key_bits == limits.MIN_RSA_BITS
    short = rsa_public_record(limits.MIN_RSA_BITS - 1)
    zone = set_zone_entry(chain.zone, "example.com", "rsa1024", [["txt", short]])
    report = chain.analyze(zone=zone, revision="06")
    assert verdicts(report) == [
        (
            "key.too-short",
            PERM,
            "PERMERROR: DKIM2-Signature i=1 public key rsa1024 has a syntax error",
        )
    ]
    assert f"at least {limits.MIN_RSA_BITS}" in detail(report, "key.too-short")


def test_rsa_max_bits() -> None:
    chain = build_chain(message(), [Hop(*ALICE_ARGS, selectors=("rsa1",))])
    # A key of MAX_RSA_BITS is accepted (it is not the signer's key, so the signature fails).
    zone = set_zone_entry(
        chain.zone, "example.com", "rsa1", [["txt", rsa_public_record(limits.MAX_RSA_BITS)]]
    )
    assert verdicts(chain.analyze(zone=zone, revision="06")) == [
        ("sig.incorrect", State.FAIL, "FAIL: DKIM2-Signature i=1 rsa1 incorrect signature")
    ]
    zone = set_zone_entry(
        chain.zone, "example.com", "rsa1", [["txt", rsa_public_record(limits.MAX_RSA_BITS + 1)]]
    )
    report = chain.analyze(zone=zone, revision="06")
    assert verdicts(report) == [
        (
            "limits.key-too-large",
            PERM,
            "PERMERROR: DKIM2-Signature i=1 public key rsa1 has a syntax error",
        )
    ]
    assert f"at most {limits.MAX_RSA_BITS}" in detail(report, "limits.key-too-large")


# -- time ------------------------------------------------------------------------------------------


def test_signature_lifetime() -> None:
    chain = one_hop()
    assert verdicts(chain.analyze(now=T0 + limits.SIGNATURE_LIFETIME_SECONDS, revision="06")) == []
    report = chain.analyze(now=T0 + limits.SIGNATURE_LIFETIME_SECONDS + 1, revision="06")
    assert verdicts(report) == [
        ("sig.expired", PERM, "PERMERROR DKIM2-Signature i=1 signature expired")
    ]


def test_future_skew() -> None:
    chain = one_hop()
    report = chain.analyze(now=T0 - limits.FUTURE_SKEW_SECONDS, revision="06")
    assert [f.code for f in report.findings if f.code.startswith("sig.")] == []
    report = chain.analyze(now=T0 - limits.FUTURE_SKEW_SECONDS - 1, revision="06")
    assert report.result == State.PASS
    (note,) = [f for f in report.findings if f.code == "sig.future-timestamp"]
    assert note.state == State.NONE
    assert note.message == "DKIM2-Signature i=1 timestamp is in the future"


def test_now_zero_skips_the_clock() -> None:
    assert verdicts(one_hop().analyze(now=0, revision="06")) == []


# -- report size -----------------------------------------------------------------------------------


def test_diff_lines() -> None:
    lines = limits.MAX_DIFF_LINES
    body = "".join(f"line {n}\r\n" for n in range(1, lines + 1))
    hops = [
        ALICE,
        Hop(*FWD_ARGS, modify=_rewrite_all_lines),
    ]
    chain = build_chain(message(body=body), hops)
    report = chain.analyze(revision="06")
    assert verdicts(report) == []
    (diff,) = report.diffs
    assert diff.body_diff_truncated is True
    assert len(diff.body_diff) == limits.MAX_DIFF_LINES
    short = build_chain(message(), [ALICE, Hop(*FWD_ARGS, modify=replace_body_line(1, "x"))])
    assert short.analyze(revision="06").diffs[0].body_diff_truncated is False


def _rewrite_all_lines(msg: bytes) -> bytes:
    head, _, body = msg.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n" + body.replace(b"line ", b"LINE ")


def test_edit_tags_roundtrip_is_neutral() -> None:
    """Sanity check of the test helpers this module leans on."""
    chain = one_hop()
    same = resign(edit_tags(chain.message, SIG, 1, lambda tags: tags))
    assert verdicts(chain.analyze(same, revision="06")) == []
