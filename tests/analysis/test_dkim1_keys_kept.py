"""DKIM1 key records are read once per record, not once per signature (issue #13).

dkimpy's ASN.1 reading of an RSA key and cryptography's building of the key from its
numbers were most of a DKIM1 or ARC verification outside the RSA operation itself; a
process meets the same few signers' records again and again, and the outcome depends on
the name and the record alone.
"""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from analysis import dkim1
from analysis.lookup import KeyAnswer, KeyQuery, LookupStatus

_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_P = base64.b64encode(
    _KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode("ascii")


def _answer(query: KeyQuery, record: str) -> KeyAnswer:
    return KeyAnswer(query, LookupStatus.FOUND, records=(record,))


def test_a_record_read_again_gives_the_same_outcome_without_reading_it_again() -> None:
    query = KeyQuery("s1", "kept.example")
    record = f"v=DKIM1; k=rsa; p={_P}"
    first = dkim1.load_key(query, _answer(query, record))
    second = dkim1.load_key(query, _answer(query, record))
    assert first.problem is None and first.key is not None
    assert first.key.bits == 2048
    assert second.key is first.key  # the kept outcome, not a second reading


def test_the_same_record_at_another_name_is_read_for_that_name() -> None:
    record = f"v=DKIM1; p={_P}; t=s"
    a = dkim1.load_key(KeyQuery("s1", "a.example"), _answer(KeyQuery("s1", "a.example"), record))
    b = dkim1.load_key(KeyQuery("s1", "b.example"), _answer(KeyQuery("s1", "b.example"), record))
    assert a.name == "s1._domainkey.a.example"
    assert b.name == "s1._domainkey.b.example"
    assert a.key is not None and b.key is not None and b.key.strict


def test_a_record_longer_than_any_real_key_is_read_each_time_not_kept() -> None:
    query = KeyQuery("s1", "long.example")
    record = f"v=DKIM1; p={_P}; n={'x' * 3000}"
    before = dkim1._read_key_kept.cache_info().currsize
    outcome = dkim1.load_key(query, _answer(query, record))
    assert outcome.problem is None and outcome.key is not None and outcome.key.bits == 2048
    assert dkim1._read_key_kept.cache_info().currsize == before


def test_a_key_is_built_once_from_its_numbers() -> None:
    numbers = _KEY.public_key().public_numbers()
    built = dkim1._rsa_public_key(numbers.e, numbers.n)
    assert dkim1._rsa_public_key(numbers.e, numbers.n) is built
    assert built.public_numbers() == numbers
