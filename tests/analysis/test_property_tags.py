"""Property-based tests of the tag-list parsers: DKIM2 (analysis.dkim2.grammar, S06 §7, §8),
the DKIM2 field parsers on top of it (analysis.dkim2.fields) and DKIM1 (analysis.dkim1,
RFC 6376 §3.2).

Properties: arbitrary input gives a result or the documented exception (GrammarError,
TagListError), never another one; what is accepted agrees with a naive reading of the ABNF
written here; formatting tags with any FWS and parsing them gives the same tags back; parse
problems carry a code the explanation catalogue knows; parsed values stay inside the bounds of
analysis/limits.py.  Derandomised and database-less, so CI runs the same examples every time.
"""

from __future__ import annotations

import base64
import random
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import catalogue, limits
from analysis.dkim1 import LimitExceeded, TagListError
from analysis.dkim1 import parse_tag_list as dkim1_parse_tag_list
from analysis.dkim1 import unfold as dkim1_unfold
from analysis.dkim2.fields import (
    MI_NAME,
    SIG_NAME,
    FieldProblem,
    number_hint,
    parse_message_instance,
    parse_signature,
)
from analysis.dkim2.grammar import GrammarError, TagList, parse_tag_list
from analysis.message import HeaderField

PROPERTY = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

WSP = " \t"
#: FWS as it appears between tokens of a field value (S06 §2.14; RFC 5322 §3.2.2).
FWS = st.sampled_from(["", " ", "\t", "  ", "\r\n ", " \r\n\t", "\t\r\n  "])
LOWER = "abcdefghijklmnopqrstuvwxyz"
LETTERS = LOWER + LOWER.upper()
DIGITS = "0123456789"
NAME = st.builds(str.__add__, st.sampled_from(LETTERS), st.text(LETTERS + DIGITS + "_", max_size=6))
#: VALCHAR (%x21-3A / %x3C-7E): a tag value's characters.
VALCHARS = "".join(chr(c) for c in range(0x21, 0x7F) if c != 0x3B)
WORD = st.text(VALCHARS, min_size=1, max_size=12)

# -- a naive reading of the DKIM2 tag-list ABNF (S06 §7, §8, with a missing final ";") --------

_NAIVE_PIECE = r"[ \t]*[A-Za-z][A-Za-z0-9_]*[ \t]*=[^;]*"
_NAIVE_LIST = re.compile(rf"(?:{_NAIVE_PIECE};)*(?:{_NAIVE_PIECE}|[ \t]*)\Z")


def naive_dkim2_tags(value: bytes) -> tuple[dict[str, str], list[str], bool] | None:
    """(tags, duplicates, missing final ";") or None where the list is not valid."""
    text = value.replace(b"\r\n", b"")
    if not text.isascii() or b"\r" in text or b"\n" in text:
        return None
    t = text.decode("ascii")
    if not _NAIVE_LIST.match(t):
        return None
    tags: dict[str, str] = {}
    duplicates: list[str] = []
    pieces = [p for p in t.split(";") if p.strip(WSP)]
    for piece in pieces:
        name, _, val = piece.partition("=")
        key = name.strip(WSP).lower()
        if key in tags:
            duplicates.append(key)
        else:
            tags[key] = val.strip(WSP)
    missing_final = bool(t.split(";")[-1].strip(WSP))
    return tags, duplicates, missing_final


#: An alphabet that makes valid tag lists often and every kind of invalid one too.
TAG_SOUP = st.binary(max_size=60) | st.lists(
    st.sampled_from(
        [b"a", b"B", b"_", b"1", b"=", b";", b" ", b"\t", b"\r\n ", b"\r", b"\n", b"\x80", b"x="]
    ),
    max_size=30,
).map(b"".join)


@PROPERTY
@given(TAG_SOUP)
def test_a_dkim2_tag_list_is_parsed_as_the_naive_reading_of_its_abnf_says(value: bytes) -> None:
    expected = naive_dkim2_tags(value)
    try:
        got: TagList | None = parse_tag_list(value)
    except GrammarError:
        got = None
    if expected is None:
        assert got is None
        return
    assert got is not None
    assert (got.tags, got.duplicates, got.missing_final_semicolon) == expected


@st.composite
def tag_lists(draw: st.DrawFn) -> tuple[list[tuple[str, str]], bytes, bool]:
    """Tags with distinct names (case-insensitively), formatted with random FWS and folds;
    returns (tags with their values as written, the field value, final semicolon)."""
    names = draw(st.lists(NAME, min_size=1, max_size=8, unique_by=str.lower))
    tags = []
    out = []
    for name in names:
        words = draw(st.lists(WORD, max_size=3))
        seps = [draw(st.sampled_from([" ", "\t", "\r\n ", " \r\n\t "])) for _ in words[1:]]
        value = words[0] if words else ""
        for sep, word in zip(seps, words[1:], strict=True):
            value += sep + word
        tags.append((name, value))
        out.append(f"{draw(FWS)}{name}{draw(FWS)}={draw(FWS)}{value}{draw(FWS)}")
    final = draw(st.booleans())
    text = ";".join(out) + (";" + draw(FWS) if final else "")
    return tags, text.encode("ascii"), final


@PROPERTY
@given(tag_lists())
def test_dkim2_tags_formatted_with_any_fws_parse_back_to_the_same_tags(
    case: tuple[list[tuple[str, str]], bytes, bool],
) -> None:
    tags, value, final = case
    got = parse_tag_list(value)
    assert got.tags == {n.lower(): v.replace("\r\n", "") for n, v in tags}
    assert got.names_as_written == {n.lower(): n for n, _ in tags}
    assert got.missing_final_semicolon is not final
    assert got.duplicates == []


@PROPERTY
@given(tag_lists(), st.data())
def test_a_repeated_dkim2_tag_keeps_its_first_value_and_is_listed_as_a_duplicate(
    case: tuple[list[tuple[str, str]], bytes, bool], data: st.DataObject
) -> None:
    tags, value, _ = case
    name, first = data.draw(st.sampled_from(tags))
    again = data.draw(st.sampled_from([name, name.upper(), name.lower(), name.swapcase()]))
    got = parse_tag_list(value.rstrip(b"; \t\r\n") + f"; {again}=other;".encode())
    assert got.tags[name.lower()] == first.replace("\r\n", "")
    assert got.duplicates == [name.lower()]


# -- the DKIM2 fields -------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


SIG_BYTES = st.binary(min_size=1, max_size=40)
LABEL = st.builds(
    lambda a, b: f"{a}-{b}" if b else a,
    st.text(LOWER + DIGITS, min_size=1, max_size=6),
    st.text(LOWER + DIGITS, max_size=4),
)
DOMAIN = st.lists(LABEL, min_size=1, max_size=4).map(".".join)
LOCAL = st.text(LETTERS + DIGITS + ".+_-", min_size=1, max_size=12)
NONCE = st.text(VALCHARS, max_size=64)
FLAG = st.text(LETTERS + DIGITS + "_-", min_size=1, max_size=10)
ADDRESS = st.tuples(LOCAL, DOMAIN)
NULL = ("", "")


@st.composite
def signatures(draw: st.DrawFn) -> dict[str, Any]:
    """The parts of a valid DKIM2-Signature (S06 §8)."""
    selectors = draw(st.lists(LABEL, min_size=1, max_size=limits.MAX_SIG_SETS, unique=True))
    algs = ["ed25519-sha256", "ed25519-sha256", "rsa-sha256", "rsa-sha256", "mldsa44", "x-a"]
    chosen = draw(st.permutations(algs))[: len(selectors)]
    parts: dict[str, Any] = {
        "i": draw(st.integers(1, 9999)),
        "m": draw(st.integers(1, 9999)),
        "t": draw(st.integers(0, 10**20 - 1)),
        "d": draw(DOMAIN),
        "s": [(s, a, draw(SIG_BYTES)) for s, a in zip(selectors, chosen, strict=False)],
    }
    if draw(st.booleans()):
        parts["nd"] = draw(DOMAIN)
    else:
        parts["mf"] = draw(st.just(NULL) | ADDRESS)
        parts["rt"] = draw(st.lists(ADDRESS, min_size=1, max_size=5))
    if draw(st.booleans()):
        parts["n"] = draw(NONCE)
    if draw(st.booleans()):
        parts["f"] = draw(st.lists(FLAG, min_size=1, max_size=4))
    return parts


def _address(pair: tuple[str, str]) -> str:
    return "<>" if pair == NULL else f"<{pair[0]}@{pair[1]}>"


def signature_tags(parts: dict[str, Any]) -> list[tuple[str, str]]:
    texts = {
        "s": lambda v: ",".join(f"{s}:{a}:{b64(sig)}" for s, a, sig in v),
        "mf": lambda v: b64(_address(v).encode()),
        "rt": lambda v: ",".join(b64(_address(p).encode()) for p in v),
        "f": ",".join,
    }
    return [(name, texts.get(name, str)(value)) for name, value in parts.items()]


HASH_SETS = st.lists(
    st.tuples(st.sampled_from(["sha256", "sha512", "x-hash"]), st.binary(min_size=1)),
    min_size=1,
    max_size=3,
    unique_by=lambda t: t[0],
)


def hash_sets(sets: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """(name, header hash) pairs of the right size for sha256 and sha512 (the body hash is the
    header hash reversed)."""
    size = {"sha256": 32, "sha512": 64}
    return [(name, (seed * 64)[: size.get(name, len(seed))]) for name, seed in sets]


def instance_tags(m: int, hashes: list[tuple[str, bytes]], recipe: bytes | None, fws: str):
    h = ",".join(f"{fws}{n}:{b64(d)}:{fws}{b64(d[::-1])}" for n, d in hashes)
    tags = [("m", f"{fws}{m}"), ("h", h)]
    return tags if recipe is None else [*tags, ("r", b64(recipe))]


def format_tags(tags: list[tuple[str, str]], fws: str, *, final: bool = True) -> bytes:
    text = ";".join(f"{fws}{n}{fws}={fws}{v}{fws}" for n, v in tags)
    return (text + (";" if final else "")).encode("ascii")


#: Values a tag edit puts in: numbers at and past the limits, separators, addresses, sets.
ODD_VALUE = st.one_of(
    st.integers(0, 10**21).map(str),
    st.sampled_from(["", "0", "-1", "1 2", "9999", "10000", "<>", "|", ",", ":", "=", "a|b"]),
    DOMAIN.map(lambda d: d + "."),
    st.builds(
        lambda sel, alg, sig: f"{sel}:{alg}:{b64(sig)}",
        st.sampled_from(["s1", "s2", "S1", "bad sel", "", "_x"]),
        st.sampled_from(["ed25519-sha256", "rsa-sha256", "mldsa44", "x", ""]),
        SIG_BYTES,
    ),
    st.builds(
        lambda name, x, y: f"{name}:{b64(x)}:{b64(y)}",
        st.sampled_from(["sha256", "sha512", "md5", "SHA256"]),
        st.binary(max_size=70),
        st.binary(max_size=70),
    ),
    st.sampled_from(["<a@example.com>", "a@example.com", "<>", "<@x,@y:a@b.c>", "<a\x01b@c.d>"])
    .map(str.encode)
    .map(b64),
    st.text(VALCHARS, max_size=80),
)


@st.composite
def edited(draw: st.DrawFn, tags: list[tuple[str, str]]) -> bytes:
    """``tags`` after up to four edits (a value replaced, a tag dropped, repeated or added),
    or, now and then, arbitrary octets."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200))
    tags = list(tags)
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["value", "drop", "repeat", "add", "case"]))
        k = draw(st.integers(0, max(len(tags) - 1, 0)))
        if not tags:
            op = "add"
        if op == "value":
            tags[k] = (tags[k][0], draw(ODD_VALUE))
        elif op == "drop":
            del tags[k]
        elif op == "repeat":
            tags.insert(draw(st.integers(0, len(tags))), (tags[k][0], draw(ODD_VALUE)))
        elif op == "case":
            tags[k] = (tags[k][0].upper(), tags[k][1])
        else:
            tags.append(
                (draw(st.sampled_from(["i", "m", "nd", "mf", "h", "r", "z"])), draw(ODD_VALUE))
            )
    return format_tags(tags, draw(FWS), final=draw(st.booleans()))


@st.composite
def signature_values(draw: st.DrawFn) -> bytes:
    return draw(edited(signature_tags(draw(signatures()))))


@st.composite
def instance_values(draw: st.DrawFn) -> bytes:
    m = draw(st.integers(1, 9999))
    recipe = draw(st.none() | st.binary(min_size=1, max_size=50))
    return draw(edited(instance_tags(m, hash_sets(draw(HASH_SETS)), recipe, "")))


#: Every code a field parse problem may carry (analysis.dkim2.fields).
FIELD_CODES = frozenset(
    {
        "mi.syntax",
        "mi.tag-missing",
        "mi.duplicate-hash-algorithm",
        "limits.recipe-too-large",
        "sig.syntax",
        "sig.tag-missing",
        "sig.tag-unexpected",
        "sig.duplicate-selector",
        "sig.too-many-selectors",
    }
)


def check_parse(parsed: object, problems: list[FieldProblem], *, kind: str) -> None:
    assert (parsed is None) == bool(problems)
    codes = {p.code for p in problems}
    assert codes <= FIELD_CODES
    assert codes <= catalogue.codes()
    assert all(p.code.startswith((kind, "limits.")) for p in problems)


@PROPERTY
@given(signature_values(), st.booleans())
def test_a_dkim2_signature_value_parses_or_gives_known_problems_within_the_limits(
    value: bytes, groups: bool
) -> None:
    f = HeaderField("DKIM2-Signature", b"DKIM2-Signature:" + value + b"\r\n")
    sig, problems = parse_signature(f, groups=groups)
    check_parse(sig, problems, kind="sig.")
    if sig is None:
        return
    assert 1 <= sig.hop < 10**limits.MAX_NUMBER_DIGITS
    assert 1 <= sig.instance < 10**limits.MAX_NUMBER_DIGITS
    assert 0 <= sig.timestamp < 10**limits.MAX_TIMESTAMP_DIGITS
    assert 1 <= len(sig.sig_sets) <= limits.MAX_SIG_SETS
    assert sig.nonce is None or len(sig.nonce) <= limits.MAX_NONCE_CHARS
    assert sig.rcpt_to is None or 1 <= len(sig.rcpt_to) <= limits.MAX_RECIPIENTS
    assert (sig.next_domain is None) == (sig.mail_from is not None)
    assert groups or not sig.uses_groups
    selectors = [s.selector.lower() for s in sig.sig_sets]
    assert len(selectors) == len(set(selectors))


@PROPERTY
@given(instance_values(), st.booleans())
def test_a_message_instance_value_parses_or_gives_known_problems_within_the_limits(
    value: bytes, groups: bool
) -> None:
    f = HeaderField("Message-Instance", b"Message-Instance:" + value + b"\r\n")
    mi, problems = parse_message_instance(f, groups=groups)
    check_parse(mi, problems, kind="mi.")
    if mi is None:
        return
    assert 1 <= mi.instance < 10**limits.MAX_NUMBER_DIGITS
    assert 1 <= len(mi.hashes) <= limits.MAX_HASH_SETS
    assert mi.recipe_bytes is None or len(mi.recipe_bytes) <= limits.MAX_RECIPE_JSON_BYTES
    names = [h.algorithm for h in mi.hashes]
    assert len(names) == len(set(names))


@PROPERTY
@given(signature_values() | instance_values(), st.sampled_from(["i", "m"]))
def test_the_number_hint_of_any_field_is_none_or_a_number_within_the_digit_limit(
    value: bytes, tag: str
) -> None:
    name = SIG_NAME if tag == "i" else MI_NAME
    hint = number_hint(HeaderField(name, name.encode() + b":" + value + b"\r\n"), tag)
    assert hint is None or 0 <= hint < 10**limits.MAX_NUMBER_DIGITS
    tags = naive_dkim2_tags(value)
    if tags is not None and re.fullmatch(r"[0-9]{1,4}", tags[0].get(tag, "").strip(WSP)):
        assert hint == int(tags[0][tag])


@PROPERTY
@given(signatures(), st.randoms(use_true_random=False), FWS)
def test_a_formatted_dkim2_signature_parses_back_to_its_parts(
    parts: dict[str, Any], rnd: random.Random, fws: str
) -> None:
    tags = signature_tags(parts)
    rnd.shuffle(tags)
    value = format_tags(tags, fws)
    sig, problems = parse_signature(HeaderField("DKIM2-Signature", b"DKIM2-Signature:" + value))
    assert problems == []
    assert sig is not None
    assert (sig.hop, sig.instance, sig.timestamp, sig.domain) == tuple(parts[x] for x in "imtd")
    assert [(s.selector, s.algorithm, s.signature) for s in sig.sig_sets] == parts["s"]
    assert sig.next_domain == parts.get("nd")
    if "mf" in parts:
        assert sig.mail_from is not None and sig.rcpt_to is not None
        assert sig.mail_from.normalised() == _address(parts["mf"])
        assert [r.normalised() for r in sig.rcpt_to] == [_address(p) for p in parts["rt"]]
    assert sig.nonce == parts.get("n")
    assert sig.flags == [f.lower() for f in parts.get("f", [])]
    assert not sig.missing_final_semicolon and sig.unknown_tags == []


@PROPERTY
@given(st.integers(1, 9999), HASH_SETS, st.none() | st.binary(min_size=1, max_size=300), FWS)
def test_a_formatted_message_instance_parses_back_to_its_parts(
    m: int, sets: list[tuple[str, bytes]], recipe: bytes | None, fws: str
) -> None:
    hashes = hash_sets(sets)
    value = format_tags(instance_tags(m, hashes, recipe, fws), fws)
    mi, problems = parse_message_instance(
        HeaderField("Message-Instance", b"Message-Instance:" + value)
    )
    assert problems == []
    assert mi is not None
    assert mi.instance == m
    assert [(x.algorithm, x.header_hash, x.body_hash) for x in mi.hashes] == [
        (n, d, d[::-1]) for n, d in hashes
    ]
    assert mi.recipe_bytes == recipe


# -- DKIM1 tag lists (RFC 6376 §3.2): case-sensitive names, a duplicate is an error ------------


@PROPERTY
@given(st.binary(max_size=120) | st.text(max_size=60).map(lambda t: t.encode("utf-8", "replace")))
def test_dkim1_unfold_gives_text_without_controls_or_a_tag_list_error(value: bytes) -> None:
    try:
        text = dkim1_unfold(value)
    except TagListError:
        return
    assert "\r" not in text and "\n" not in text and "\x00" not in text
    assert text.encode("utf-8") == value.replace(b"\r\n", b"")


def naive_dkim1_tags(text: str) -> dict[str, str] | None:
    """RFC 6376 §3.2 read naively: the DKIM2 shape, case-sensitive names, no duplicate."""
    if not _NAIVE_LIST.match(text):
        return None
    pairs = [p.partition("=") for p in text.split(";") if p.strip(WSP)]
    tags = {name.strip(WSP): value.strip(WSP) for name, _, value in pairs}
    return tags if len(tags) == len(pairs) else None


@PROPERTY
@given(st.text(alphabet="aB_1= ;\t\x7f\u00e9", max_size=60))
def test_dkim1_tag_lists_agree_with_the_naive_reading_of_the_abnf(text: str) -> None:
    try:
        got: dict[str, str] | None = dkim1_parse_tag_list(text)
    except TagListError:
        got = None
    assert got == naive_dkim1_tags(text)


@PROPERTY
@given(
    st.lists(
        st.tuples(NAME, st.text(VALCHARS, max_size=10)), max_size=80, unique_by=lambda t: t[0]
    ),
    FWS.filter(lambda s: "\r" not in s),
)
def test_dkim1_tags_round_trip_up_to_the_tag_limit_and_are_refused_past_it(
    tags: list[tuple[str, str]], fws: str
) -> None:
    text = ";".join(f"{fws}{n}{fws}={fws}{v}{fws}" for n, v in tags)
    try:
        got = dkim1_parse_tag_list(text)
    except LimitExceeded:
        assert len(tags) > limits.MAX_DKIM1_TAGS
        return
    assert len(tags) <= limits.MAX_DKIM1_TAGS
    assert got == dict(tags)
