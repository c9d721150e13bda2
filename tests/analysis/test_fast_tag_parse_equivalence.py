"""The short paths of the DKIM2 field parsers agree with the careful readings they stand in for.

analysis.dkim2.grammar reads the common case of a tag list, a base64string, a selector and a
path in as few steps as it can and hands everything else to the careful reading, which says
what is wrong; analysis.dkim2.structure takes a parsed field's own number as its number hint.
Each property here holds one short path to its careful reading on random input, malformed
input most of all: the same result, or the same GrammarError with the same message.  At the
field level, DKIM2-Signature and Message-Instance fields parse to the same objects and the
same FieldProblems with every short path switched off.  Derandomised, like the other property
tests.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.dkim2 import fields, grammar
from analysis.dkim2.fields import number_hint, parse_message_instance, parse_signature
from analysis.dkim2.grammar import GrammarError
from analysis.dkim2.structure import ParseCache
from analysis.message import HeaderField

PROPERTY = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def outcome(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[str, Any]:
    """What a call gives: ("ok", result) or ("error", the GrammarError's message)."""
    try:
        return "ok", fn(*args, **kwargs)
    except GrammarError as exc:
        return "error", str(exc)


# -- tag lists (S06 §7, §8) --------------------------------------------------------------------

#: Pieces that make valid tag lists often and every kind of invalid one too: plain and
#: unusual names, folds, bare CR and LF, controls, non-ASCII, empty tags, missing "=".
TAG_PIECES = st.sampled_from(
    [
        b"i=1",
        b" m=2",
        b"t = 3 ",
        b"\tmf=PD4=",
        b"Mf=x",
        b"RT=y",
        b"x_1=a b",
        b"1a=2",
        b"a-b=1",
        b"=1",
        b"h",
        b"",
        b" ",
        b"\r\n ",
        b"\r\n\t",
        b"\r",
        b"\n",
        b"\x00",
        b"\x7f",
        b"\x0b",
        b"\x80",
        b"\xe9",
        b"s=s1:rsa-sha256:AAAA\r\n  BBBB",
        b"i=1",
        b" i=01",
        b"nd=example.org",
        b"a=\tb",
        b"a=1\x00",
        b"x=\x7fy",
        b"v=a\x0cb",
        b"k\x01=1",
        b"w=\xc3\xa9",
        b"y=\r2",
    ]
)
TAG_SEPARATORS = st.sampled_from([b";", b"; ", b";\r\n ", b";;", b" ", b"="])


@st.composite
def tag_list_values(draw: st.DrawFn) -> bytes:
    pieces = draw(st.lists(TAG_PIECES, max_size=8))
    seps = [draw(TAG_SEPARATORS) for _ in pieces]
    value = b"".join(p + s for p, s in zip(pieces, seps, strict=True))
    if draw(st.booleans()) and value:
        value = value[: draw(st.integers(0, len(value)))]
    return value


@PROPERTY
@given(tag_list_values() | st.binary(max_size=40))
def test_the_short_tag_list_reading_agrees_with_the_careful_one(value: bytes) -> None:
    assert outcome(grammar.parse_tag_list, value) == outcome(grammar._parse_tag_list_careful, value)


# -- base64strings (S06 §2.14) -----------------------------------------------------------------

B64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
#: Base64 text, padding in and out of place, FWS, and characters outside the alphabet.
B64_SOUP = st.text(B64_CHARS[:3] + B64_CHARS[-3:] + "QgwEIM=  \t-_!é\x00", max_size=14)


@st.composite
def encoded(draw: st.DrawFn) -> str:
    """The canonical encoding of random octets, then perhaps damaged in one place."""
    text = base64.b64encode(draw(st.binary(max_size=12))).decode("ascii")
    if text and draw(st.booleans()):
        at = draw(st.integers(0, len(text) - 1))
        text = text[:at] + draw(st.sampled_from([*B64_CHARS, "=", " ", "\t", "!"])) + text[at + 1 :]
    if draw(st.booleans()):
        text += draw(st.sampled_from(["=", "==", "A", " ", "AAAA", "A==="]))
    return text


@PROPERTY
@given(encoded() | B64_SOUP)
def test_the_short_base64string_reading_agrees_with_the_careful_one(value: str) -> None:
    careful = outcome(grammar._decode_base64string_careful, value, "mf=")
    assert outcome(grammar.decode_base64string, value, "mf=") == careful
    compact = value.replace(" ", "").replace("\t", "")
    short = grammar.canonical_base64string(value)
    if careful[0] == "ok":
        assert short == (careful[1], compact)
        assert outcome(grammar.decode_base64string_compact, value, "mf=") == (
            "ok",
            (careful[1], compact),
        )
    else:
        assert short is None


def test_every_last_quantum_is_canonical_exactly_when_re_encoding_gives_it_back() -> None:
    """All 64*64 "XY==" and all 64*64*64 "XYZ=" endings (after a full quantum)."""
    for a in B64_CHARS:
        for b in B64_CHARS:
            tails = [f"{a}{b}=="] + [f"{a}{b}{c}=" for c in B64_CHARS]
            for tail in tails:
                text = "AAAA" + tail
                decoded = binascii.a2b_base64(text, strict_mode=True)
                canonical = binascii.b2a_base64(decoded, newline=False).decode() == text
                assert (grammar.canonical_base64string(text) is not None) is canonical, text


# -- selectors and paths (S06 §3.5, §8.5, §8.6) -------------------------------------------------


def careful_selector(value: str) -> str:
    """parse_selector as it read labels one at a time."""
    text = value.strip(" \t")
    if (
        not text
        or len(text) > 253
        or not all(grammar._SELECTOR_LABEL.match(x) for x in text.split("."))
    ):
        raise GrammarError(f"selector '{grammar._clip(value)}' is not a valid DNS name")
    return text


LABELISH = st.text("ab_-1.Z \t", max_size=12) | st.builds(
    lambda n, c: c * n, st.integers(60, 66), st.sampled_from(["a", "a.", "-"])
)


@PROPERTY
@given(LABELISH)
def test_the_one_match_selector_reading_agrees_with_the_label_by_label_one(value: str) -> None:
    assert outcome(grammar.parse_selector, value) == outcome(careful_selector, value)


PATHS = st.builds(
    lambda parts: "".join(parts),
    st.lists(
        st.sampled_from(
            [
                *["<", ">", "@", "a", "B", ".", "-", "example", ".org", ":", ",", "[1.2.3.4]"],
                *[" ", "\t", "\x01", "\x7f", "é", "\u0085", "postmaster", "x" * 64, "y" * 250],
                "A..",
                ".".join(["d" * 63] * 4),  # 255 characters: one label too many
                ".".join(["d" * 63] * 3 + ["d" * 61]),  # 253: just short enough
            ]
        ),
        max_size=9,
    ),
)


LOCALS = st.sampled_from(["a", "Bounce", "a.b+c", "", "@x", "é", "a\x01", "<a", "a>", "x" * 64])
DOMAINS = st.sampled_from(
    [
        "example.org",
        "Sub.Example.ORG",
        "example.org.",
        " example.org",
        "-x.org",
        "a..b",
        "[192.0.2.1]",
        "x_y.org",
        "",
        ".".join(["d" * 63] * 4),  # 255 characters: too long
        ".".join(["d" * 63] * 3 + ["d" * 61]),  # 253: just short enough
    ]
)
MAILBOXES = st.builds(
    lambda local, domain, form: form.format(f"{local}@{domain}"),
    LOCALS,
    DOMAINS,
    st.sampled_from(["<{}>", "<{}>", "{}", "<@r.example:{}>", "<{}> ", "<{}>\x7f"]),
)


@PROPERTY
@given(MAILBOXES | PATHS, st.booleans(), st.booleans())
def test_the_short_path_reading_agrees_with_the_careful_one(
    text: str, allow_null: bool, allow_bare: bool
) -> None:
    options = {"allow_null": allow_null, "allow_bare": allow_bare}
    careful = outcome(grammar._parse_address_careful, text, "mf=", **options)
    assert outcome(grammar.parse_address, text, "mf=", **options) == careful
    plain = grammar.plain_address(text)
    assert plain is None or careful == ("ok", plain)


# -- whole fields, every short path switched off -----------------------------------------------


@contextmanager
def careful_only() -> Iterator[None]:
    """The field parsers with every short path switched off: the grammar's, and the fields'
    own (numbers, names looked up, the check that a signature has all its tags)."""
    never = frozenset({"a tag no field has"})
    with (
        mock.patch.object(fields, "parse_tag_list", grammar._parse_tag_list_careful),
        mock.patch.object(fields, "_number", fields._number_careful),
        mock.patch.object(fields, "_PLAIN_NAMES", frozenset()),
        mock.patch.object(fields, "_SIG_NEEDS_ND", never),
        mock.patch.object(fields, "_SIG_NEEDS_MF_RT", never),
        mock.patch.object(fields, "canonical_base64string", lambda value: None),
        mock.patch.object(grammar, "canonical_base64string", lambda value: None),
        mock.patch.object(fields, "plain_address", lambda text: None),
        mock.patch.object(grammar, "plain_address", lambda text: None),
        mock.patch.object(fields, "parse_selector", careful_selector),
    ):
        yield


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


SIG = base64.b64encode(bytes(range(256))).decode()
SIG_VALUES: dict[str, list[str]] = {
    "i": ["1", "2", "01", "0", "12345", "x", "", "1 2", "٣"],
    "m": ["1", "3", "0", "0001", "a"],
    "t": ["1790000050", "0", "123456789012345678901", "-1"],
    "d": ["example.org", "Example.ORG.", "-bad.org", "", "a..b", "x" * 254],
    "s": [
        f"s1:rsa-sha256:{SIG}",
        f"s1:ED25519-SHA256:{SIG[:60]} {SIG[60:88]}",
        f"s1:rsa-sha256:{SIG},s2:ed25519-sha256:{SIG}",
        f"s1:rsa-sha256:{SIG},S1:ed25519-sha256:{SIG}",
        f"a:rsa-sha256:{SIG},b:rsa-sha256:{SIG},c:rsa-sha256:{SIG}",
        f"s1:rsa-sha256:{SIG}|s2:rsa-sha256:{SIG}",
        f"s1:rsa-sha256:{SIG}||",
        "s1:rsa-sha256:PD5=",
        "s1:rsa-sha256:PD4",
        "s1:rsa-sha256:",
        "s1:rsa sha:AAAA",
        "bad..sel:rsa-sha256:AAAA",
        "s_1:x-new:AAAA",
        "s1:rsa-sha256",
    ],
    "mf": [
        b64("<bounce@example.org>"),
        b64("<Bounce@Sub.Example.ORG>"),
        b64("<>"),
        b64("bare@example.org"),
        b64("<@a,@b:user@example.org>"),
        b64("<postmaster>"),
        b64("<a@[192.0.2.1]>"),
        b64("<a@example.org.>"),
        b64("<a@-x.org>"),
        b64("<a\x01b@example.org>"),
        b64("<ü@example.org>"),
        b64(b"<\xff@example.org>"),
        "PD5=",
        "!!!!",
    ],
    "rt": [
        b64("<user@example.org>"),
        f"{b64('<a@example.org>')},{b64('<b@example.net>')}",
        b64("<>"),
        b64("user@example.org"),
        f"{b64('<a@example.org>')},",
    ],
    "nd": ["example.net", "EXAMPLE.NET.", "bad_domain"],
    "n": ["abc", "ok-nonce", "a" * 65, "a b"],
    "f": ["donotmodify", "DoNotExplode, feedback", "bad flag", ""],
    "x": ["unknown", "1"],
}
MI_VALUES: dict[str, list[str]] = {
    "m": ["1", "2", "0", "12345", "x"],
    "h": [
        f"sha256:{b64(bytes(32))}:{b64(bytes(range(32)))}",
        f"SHA256 : {b64(bytes(32))} : {b64(bytes(32))}",
        f"sha256:{b64(bytes(32))}:{b64(bytes(32))},sha512:{b64(bytes(64))}:{b64(bytes(64))}",
        f"sha256:{b64(bytes(32))}:{b64(bytes(32))},sha256:{b64(bytes(32))}:{b64(bytes(32))}",
        f"sha256:{b64(bytes(31))}:{b64(bytes(32))}",
        f"sha256:{b64(bytes(32))}:{b64(bytes(32))}|sha512:{b64(bytes(64))}:{b64(bytes(64))}",
        "sha256:AAAA",
        "sha256:PD5=:PD4=",
        "md5:AAAA:AAAA",
        "bad name:AAAA:AAAA",
    ],
    "r": [b64('{"b":[{"c":[1,2]}]}'), "e30=", "PD5=", ""],
    "x": ["unknown", "1"],
}
FOLDS = st.sampled_from(["", " ", "\t", "\r\n ", "\r\n\t", " \r\n  "])


@st.composite
def fields_of(draw: st.DrawFn, name: str, values: dict[str, list[str]]) -> HeaderField:
    """A field with some of the tags (random values, order, case, folds, duplicates).  Each
    tag's first two values are good ones; mostly one tag at most takes any value, and a
    signature mostly takes one form (nd= or mf= and rt=), so that many fields parse and the
    rest fail in one place."""
    names = sorted(values)
    if name == "DKIM2-Signature":
        drop = draw(
            st.sampled_from([("nd",), ("nd",), ("mf", "rt"), ("mf", "rt"), ("mf",), ("rt",), ()])
        )
        names = [n for n in names if n not in drop]
    names = [n for n in names if n not in ("n", "f", "x", "r") or draw(st.booleans())]
    if not draw(st.integers(0, 4)):  # sometimes a random choice, repeats and gaps
        names = draw(st.lists(st.sampled_from(sorted(values)), max_size=len(values) + 2))
    odd = draw(st.sampled_from(names)) if names and draw(st.integers(0, 3)) else None
    pieces = []
    for tag in draw(st.permutations(names)):
        if tag == odd or not draw(st.integers(0, 9)):
            value = draw(st.sampled_from(values[tag]))
        else:
            value = values[tag][draw(st.integers(0, 1))]
        written = tag.upper() if draw(st.integers(0, 9)) == 0 else tag
        pieces.append(f"{draw(FOLDS)}{written}{draw(FOLDS)}={draw(FOLDS)}{value}{draw(FOLDS)}")
    text = ";".join(pieces) + draw(st.sampled_from([";", "; ", "", ";\r\n ", ";;"]))
    raw = f"{name}: {text}\r\n".encode()
    if draw(st.integers(0, 9)) == 0:  # a line break that is not a fold
        raw = raw.replace(b"=", b"=\r\n", 1)
    return HeaderField(name, raw)


FIELDS = settings(PROPERTY, max_examples=1000)


@FIELDS
@given(fields_of("DKIM2-Signature", SIG_VALUES), st.booleans(), st.booleans())
def test_a_signature_parses_the_same_with_and_without_the_short_paths(
    header: HeaderField, bare: bool, groups: bool
) -> None:
    fast = parse_signature(header, allow_bare_addresses=bare, groups=groups)
    with careful_only():
        careful = parse_signature(header, allow_bare_addresses=bare, groups=groups)
    assert fast == careful
    hint_agrees(header, "i", None if fast[0] is None else fast[0].hop)


@FIELDS
@given(fields_of("Message-Instance", MI_VALUES), st.booleans())
def test_an_instance_parses_the_same_with_and_without_the_short_paths(
    header: HeaderField, groups: bool
) -> None:
    fast = parse_message_instance(header, groups=groups)
    with careful_only():
        careful = parse_message_instance(header, groups=groups)
    assert fast == careful
    hint_agrees(header, "m", None if fast[0] is None else fast[0].instance)


def hint_agrees(header: HeaderField, tag: str, parsed: int | None) -> None:
    """The number hint of a field that parsed is what the search would have found."""
    assert ParseCache().hint(header, tag, parsed) == number_hint(header, tag)


@PROPERTY
@given(
    st.sampled_from(["i", "I", "m"]),
    st.lists(st.sampled_from(["0", "1", "7", "\r\n", "\r\n ", " ", "\t", ";", "x=1"]), max_size=6),
)
def test_the_number_hint_of_a_field_that_parses_is_its_number(tag: str, tail: list[str]) -> None:
    """Folds and line breaks around and inside the number: for a tag list that reads, the
    hint taken from the number read is the one the search finds (or the search is made)."""
    header = HeaderField("X", f"X: {tag}={''.join(tail)}; a=1;\r\n".encode())
    try:
        tags = grammar.parse_tag_list(header.value)
    except GrammarError:
        return
    number = tags.tags.get(tag.lower(), "")
    # What a parse of i= or m= takes: one tag of 1 to MAX_NUMBER_DIGITS ASCII digits.
    if tags.duplicates or not (number.isascii() and number.isdigit() and len(number) <= 4):
        return
    hint = ParseCache().hint(header, tag.lower(), int(number))
    assert hint == number_hint(header, tag.lower())
    if b"\r\n" not in header.value.replace(b"\r\n ", b"").replace(b"\r\n\t", b""):
        assert hint == int(number)  # only folds: the number read is the hint


def test_an_address_that_is_not_utf8_is_a_syntax_error_naming_its_tag() -> None:
    """mf= holds canonical base64 of octets that are not UTF-8: neither the quick nor the
    careful reading may take it, and the field is refused in words."""
    mf = base64.b64encode(b"<\xffbounce@d1.example>").decode()
    rt = base64.b64encode(b"<user@d2.example>").decode()
    value = f" i=1; m=1; t=1790000010; d=d1.example; mf={mf}; rt={rt}; s=s1:rsa-sha256:QUJD;"
    sig, problems = parse_signature(HeaderField.build("DKIM2-Signature", value))
    assert sig is None
    assert [(p.code, p.what, p.detail) for p in problems] == [
        ("sig.syntax", "syntax error", "mf= does not decode to UTF-8 text")
    ]
