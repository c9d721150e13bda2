"""Property-based tests of the key-record parsers: DKIM2's (analysis.dkim2.keys, DNS00 §3) and
DKIM1's (analysis.dkim1.load_key, RFC 6376 §3.6.1).

Properties: any text gives a key or the documented error kind (KeyRecordError.kind; a
KEY_PROBLEMS kind for DKIM1), never another exception; the tag list is read as a naive
reading of DNS00 §3.2 written here; a published record, written with any FWS, extra tags and
any tag order, parses back to the same key; both parsers agree on the keys both accept.
Derandomised and database-less.
"""

from __future__ import annotations

import base64
import random
import re

from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from analysis.dkim1 import KEY_PROBLEMS, load_key
from analysis.dkim2.keys import (
    KeyRecord,
    KeyRecordError,
    _public_key_bytes,
    parse_key_record,
    parse_key_tags,
    public_record_for,
)
from analysis.lookup import KeyAnswer, KeyQuery, LookupStatus
from tests.support.chains import private_key

PROPERTY = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

KINDS = frozenset({"syntax", "revoked", "too-short", "too-large", "unknown-type"})
#: The keys of tests.support.chains: Ed25519, RSA 1024 and 2048 bits, ML-DSA-44.
SELECTORS = ("ed1", "rsa1024", "rsa1", "pq1")
WSP = " \t\r\n"

# -- a naive reading of DNS00 §3.2: tag=value pairs, names case-sensitive, values VALCHAR -------

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_VALUE = re.compile(r"[\x21-\x3a\x3c-\x7e]*(?:[ \t\r\n]+[\x21-\x3a\x3c-\x7e]+)*\Z")


def naive_key_tags(record: str) -> dict[str, str] | None:
    pieces = record.split(";")
    if not pieces[-1].strip(WSP):
        pieces.pop()
    tags: dict[str, str] = {}
    for piece in pieces:
        name, eq, value = piece.strip(WSP).partition("=")
        name, value = name.strip(WSP), value.strip(WSP)
        if not eq or not _NAME.match(name) or name in tags or not _VALUE.match(value):
            return None
        tags[name] = value
    return tags


#: Blanks, and characters that are white space to Python's str.split but not to DNS00 §3.2.
BLANK = st.sampled_from([" ", "\t", "\r\n ", "\x0b", "\x1c", "\x7f", "\xa0", "\u2028", ""])
WORDS = st.lists(st.text("aB1+/=", min_size=1, max_size=4), min_size=1, max_size=3)
RECORD_SOUP = st.text(
    st.sampled_from([*"pkvt=;aB1+/ \t\r\n", "\x0b", "\x1c", "\x7f", "\xa0", "\u2028"]),
    max_size=40,
) | st.lists(
    st.tuples(BLANK, st.sampled_from(["p", "k", "v", "t", "1x", ""]), BLANK, WORDS, BLANK, BLANK),
    max_size=4,
).map(lambda tags: ";".join(f"{a}{n}{b}={c.join(w)}{d}" for a, n, b, w, c, d in tags))


@PROPERTY
@given(RECORD_SOUP)
@example("k=\x1c")  # found: str.split() white space was taken for FWS (fixed)
def test_key_tags_are_read_as_the_naive_reading_of_the_grammar_says(record: str) -> None:
    try:
        got: dict[str, str] | None = parse_key_tags(record)
    except KeyRecordError as exc:
        assert exc.kind == "syntax"
        got = None
    assert got == naive_key_tags(record)


# -- records near the real ones ----------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def key_bytes(selector: str, form: str) -> bytes:
    """The public key of ``selector`` as ``p=`` octets: SPKI DER, or its raw/PKCS#1 form."""
    key = private_key(selector).public_key()
    if form == "spki":
        return key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    if selector.startswith("rsa"):
        return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@st.composite
def p_values(draw: st.DrawFn) -> str:
    """A p= value: a real key (either form), one cut short or with a flipped octet, or junk."""
    kind = draw(st.sampled_from(["key", "cut", "flip", "junk", "empty", "not base64"]))
    if kind == "empty":
        return ""
    if kind == "not base64":
        return draw(st.text("AB=+/-_.!", min_size=1, max_size=12))
    if kind == "junk":
        return b64(draw(st.binary(max_size=60)))
    data = key_bytes(draw(st.sampled_from(SELECTORS)), draw(st.sampled_from(["spki", "raw"])))
    if kind == "cut":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif kind == "flip":
        k = draw(st.integers(0, len(data) - 1))
        data = data[:k] + bytes([data[k] ^ draw(st.integers(1, 255))]) + data[k + 1 :]
    return b64(data)


TAG_VALUES = {
    "v": st.sampled_from(["DKIM1", "DKIM2", "dkim1", ""]),
    "k": st.sampled_from(["rsa", "ed25519", "mldsa44", "RSA", "dsa", ""]),
    "t": st.sampled_from(["y", "s", "y:s", "", "x"]),
    "h": st.sampled_from(["sha256", "sha1:sha256", "md5"]),
    "s": st.sampled_from(["*", "email", "other"]),
    "n": st.text("abc ", max_size=6),
}


@st.composite
def records(draw: st.DrawFn) -> str:
    tags = [("p", draw(p_values()))]
    for name in draw(st.lists(st.sampled_from(sorted(TAG_VALUES)), max_size=4, unique=True)):
        tags.append((name, draw(TAG_VALUES[name])))
    draw(st.randoms(use_true_random=False)).shuffle(tags)
    sep = draw(st.sampled_from(["; ", ";", " ;\t", ";\r\n "]))
    return sep.join(f"{n}={v}" for n, v in tags) + draw(st.sampled_from(["", ";", "; "]))


#: Records as a zone file may hold them: any text, lone surrogates too (JSON "\ud800").
ANY_RECORD = st.one_of(
    records(),
    st.text(max_size=60),
    st.builds(
        lambda r, k, c: r[:k] + c + r[k:],
        records(),
        st.integers(0, 200),
        st.sampled_from(["\ud800", "\udcff", "\x00", "\x1c", "\u00e9", "\u2028"]),
    ),
)


@PROPERTY
@given(ANY_RECORD)
def test_any_record_gives_a_key_or_a_key_record_error_of_a_known_kind(record: str) -> None:
    try:
        key = parse_key_record(record)
    except KeyRecordError as exc:
        assert exc.kind in KINDS
        return
    assert isinstance(key, KeyRecord)
    assert key.key_type in ("rsa", "ed25519", "mldsa44")
    assert key.testing == ("y" in key.flags)


def dkim1_outcome(record: str):  # type: ignore[no-untyped-def]
    query = KeyQuery("sel", "example.com")
    return load_key(query, KeyAnswer(query, LookupStatus.FOUND, (record,)))


@PROPERTY
@given(ANY_RECORD)
@example("v=DKIM1; p=\ud800")  # found: UnicodeEncodeError out of the key reader (fixed)
def test_any_record_gives_dkim1_a_key_or_a_known_key_problem(record: str) -> None:
    outcome = dkim1_outcome(record)
    assert (outcome.key is None) == (outcome.problem is not None)
    assert outcome.problem is None or outcome.problem in KEY_PROBLEMS


@PROPERTY
@given(
    st.sampled_from(SELECTORS),
    st.lists(st.tuples(st.sampled_from(["t", "n", "s", "x"]), st.sampled_from(["y", "abc"]))),
    st.randoms(use_true_random=False),
    st.sampled_from(["; ", ";", " ;\t", ";\r\n "]),
)
def test_a_published_record_with_any_fws_and_extra_tags_parses_back_to_its_key(
    selector: str, extra: list[tuple[str, str]], rnd: random.Random, sep: str
) -> None:
    published = public_record_for(private_key(selector))
    tags = [tuple(t.split("=", 1)) for t in published.split("; ")]
    version, rest = tags[0], tags[1:] + list(dict(extra).items())
    rnd.shuffle(rest)
    record = sep.join(f"{n}={v}" for n, v in [version, *rest])
    key = parse_key_record(record)
    assert _public_key_bytes(key.public_key) == _public_key_bytes(
        private_key(selector).public_key()
    )
    assert key.testing == (dict(extra).get("t") == "y")
    outcome = dkim1_outcome(record)
    if key.key_type == "mldsa44":
        assert outcome.key is not None and outcome.key.key_type == "mldsa44"  # not a DKIM1 type
    else:
        assert outcome.key is not None and outcome.key.bits == key.bits
