"""The signature values emptied for the signing input (S06 §9.6, §11.6 step 1;
``|`` groups from -08, SPEC-09-NOTES 1.1), done by two regular expressions
(analysis.dkim2.canonical._empty_signature_values), against a plain reading written here:
split the tag list at ``;``, take every tag named ``s``, split its value at ``,`` and
``|`` and cut each entry with two or more colons after its second colon.  Derandomised."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.dkim2.canonical import _empty_signature_values

PROPERTY = settings(max_examples=600, deadline=None, derandomize=True)


def _reference(value: bytes) -> bytes:
    parts = value.split(b";")
    for idx, part in enumerate(parts):
        name, eq, tagval = part.partition(b"=")
        if eq and name.lower() == b"s":
            out = []
            for piece in re.split(rb"([,|])", tagval):
                fields = piece.split(b":")
                if piece not in (b",", b"|") and len(fields) >= 3:
                    out.append(fields[0] + b":" + fields[1] + b":")
                else:
                    out.append(piece)
            parts[idx] = name + b"=" + b"".join(out)
    return b";".join(parts)


@PROPERTY
@given(st.binary(max_size=40).map(lambda b: bytes(b"sS=;:,|ab\r\n="[x % 12] for x in b)))
def test_emptied_like_the_plain_reading(value: bytes) -> None:
    assert _empty_signature_values(value) == _reference(value)


@PROPERTY
@given(
    st.lists(
        st.tuples(
            st.sampled_from([b"s", b"S", b"i", b"d", b"xs", b"ss"]),
            st.lists(
                st.lists(
                    st.binary(min_size=0, max_size=6).map(lambda b: b.replace(b";", b"")),
                    min_size=1,
                    max_size=4,
                ),
                min_size=1,
                max_size=3,
            ),
        ),
        max_size=5,
    )
)
def test_tag_lists_of_entries(tags: list[tuple[bytes, list[list[bytes]]]]) -> None:
    value = b";".join(
        name
        + b"="
        + b"|".join(b",".join(b":".join(e for e in [p, p, p]) for p in group) for group in groups)
        for name, groups in tags
    )
    assert _empty_signature_values(value) == _reference(value)


def test_a_signature_field_keeps_separators_and_names() -> None:
    value = b"i=2;m=1;s=s1:rsa-sha256:QUJD,s2:ed25519-sha256:REVG|s3:mldsa44:R0hJ;d=x.example;"
    assert _empty_signature_values(value) == (
        b"i=2;m=1;s=s1:rsa-sha256:,s2:ed25519-sha256:|s3:mldsa44:;d=x.example;"
    )
