"""DKIM1 relaxed header canonicalisation (RFC 6376 §3.4.2) done by the analyser: the same
octets as dkimpy's, in memory of a few copies of a field rather than one object per blank run
(issue #11: a signed 1 MB field of one-letter words took 90 MB in dkimpy's ``re.sub``)."""

from __future__ import annotations

import random
import tracemalloc

import pytest
from dkim.canonicalization import Relaxed  # type: ignore[import-untyped]

from analysis.dkim1 import relaxed_headers

PIECES = [b" ", b"\t", b"\r\n", b"\n", b"\r", b"a", b"B", b"\x0b", b"\x0c", b"\xff", b":", b"  "]


@pytest.mark.parametrize(
    "field",
    [
        (b"Subject", b" Hello \t world \r\n"),
        (b"SUBJECT \t", b"\r\n folded\r\n\tagain \r\n"),
        (b"X", b""),
        (b"X", b"\r\n"),
        (b"X", b" \x0b \x0c \r\n"),  # VT and FF are not WSP, but strip() takes them at the ends
        (b"X", b"a\rb\nc\r\n"),  # a bare CR stays, a bare LF is unfolded
        (b"X", b"a" + b" " * 5000 + b"\t" * 3 + b"b\r\n"),
    ],
)
def test_the_same_octets_as_dkimpy(field: tuple[bytes, bytes]) -> None:
    assert relaxed_headers([field]) == Relaxed.canonicalize_headers([field])


def test_the_same_octets_as_dkimpy_on_random_fields() -> None:
    rng = random.Random(6376)
    for _ in range(20_000):
        name = b"".join(rng.choice([b"X", b"y", b" ", b"\t"]) for _ in range(rng.randint(1, 6)))
        value = b"".join(rng.choice(PIECES) for _ in range(rng.randint(0, 40)))
        assert relaxed_headers([(name, value)]) == Relaxed.canonicalize_headers([(name, value)])


def test_a_1_mb_field_of_one_letter_words_costs_a_few_copies_of_it() -> None:
    value = b" a" * 500_000 + b"\r\n"
    tracemalloc.start()
    try:
        (canonical,) = relaxed_headers([(b"In-Reply-To", value)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert canonical == (b"in-reply-to", value.strip() + b"\r\n")
    assert peak <= 4 * len(value)
