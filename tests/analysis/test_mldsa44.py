"""ML-DSA-44 (``mldsa44``) keys and signatures: key records, sign/verify, keygen, the signer.

What is tested here is the keys level (``analysis.dkim2.keys``), the ``dkim2 keygen`` command
and what the signer writes; how the verifier treats ``mldsa44`` under each revision is tested
with the revision profiles.  The rules come second-hand from Stalwart mail-auth 0.15.1 (pure
ML-DSA-44 over the signing input, context "DKIM2", raw 1312-octet ``p=``, PKCS#8 keys).
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa, rsa

from analysis.cli import main
from analysis.dkim2.canonical import signing_input
from analysis.dkim2.keys import (
    KEY_TYPE_FOR_ALGORITHM,
    MLDSA44_CONTEXT,
    KeyRecord,
    KeyRecordError,
    algorithm_for_private_key,
    load_private_key,
    other_reading,
    parse_key_record,
    public_record_for,
    sign_bytes,
    verify_signature,
)
from analysis.dkim2.sign import SigningKey, sign
from analysis.message import HeaderField, parse_message

# RFC 9881: the SubjectPublicKeyInfo header of an ML-DSA-44 key, and the PKCS#8 header of
# its seed-only private key form (version 0, id-ml-dsa-44, [0] 32-octet seed).
SPKI_PREFIX = bytes.fromhex("30820532300b06096086480165030403110382052100")
PKCS8_SEED_PREFIX = bytes.fromhex("3034020100300b060960864801650304031104228020")
ALICE_HOP = ("example.com", "<alice@example.com>", ["<list@lists.example.org>"])
DATA = b"dkim2-signature:i=1; m=1; s=pq1:mldsa44:;\r\n"
T1 = 1790000000


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def raw_public(key: mldsa.MLDSA44PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@pytest.fixture(scope="module")
def key() -> mldsa.MLDSA44PrivateKey:
    return mldsa.MLDSA44PrivateKey.generate()


@pytest.fixture(scope="module")
def raw(key: mldsa.MLDSA44PrivateKey) -> bytes:
    return raw_public(key)


# --- key records ----------------------------------------------------------------------------


def test_mldsa44_signatures_need_a_k_mldsa44_key() -> None:
    assert KEY_TYPE_FOR_ALGORITHM == {
        "rsa-sha256": "rsa",
        "ed25519-sha256": "ed25519",
        "mldsa44": "mldsa44",
    }


def test_a_raw_1312_octet_key_is_a_k_mldsa44_record_of_10496_bits(raw: bytes) -> None:
    rec = parse_key_record(f"v=DKIM1; k=mldsa44; p={b64(raw)}")
    assert (rec.key_type, rec.bits, rec.testing, rec.flags, rec.notes) == (
        "mldsa44",
        10496,
        False,
        (),
        (),
    )
    assert isinstance(rec.public_key, mldsa.MLDSA44PublicKey)
    assert rec.public_key == mldsa.MLDSA44PublicKey.from_public_bytes(raw)


def test_a_folded_testing_record_without_v_is_read(raw: bytes) -> None:
    p = b64(raw)
    folded = " ".join(p[i : i + 255] for i in range(0, len(p), 255))
    rec = parse_key_record(f"k=mldsa44; t=y; p={folded};")
    assert (rec.key_type, rec.testing, rec.flags) == ("mldsa44", True, ("y",))


def test_an_spki_wrapped_key_is_accepted_with_a_note(raw: bytes) -> None:
    rec = parse_key_record(f"v=DKIM1; k=mldsa44; p={b64(SPKI_PREFIX + raw)}")
    assert rec.public_key == mldsa.MLDSA44PublicKey.from_public_bytes(raw)
    assert rec.bits == 10496
    assert rec.notes == (
        "p= wraps the ML-DSA-44 key in SubjectPublicKeyInfo; DKIM2 implementations publish "
        "the raw 1312 octets",
    )


@pytest.mark.parametrize(
    ("p", "octets"),
    [
        (bytes(1311), 1311),
        (bytes(1313), 1313),
        (bytes(32), 32),  # an Ed25519 key under k=mldsa44
        (bytes(1), 1),
        (bytes(1334), 1334),  # SPKI-sized, but not an ML-DSA-44 SubjectPublicKeyInfo
        (bytes(2420), 2420),  # a signature pasted as the key
    ],
)
def test_a_key_of_the_wrong_length_is_a_syntax_error(p: bytes, octets: int) -> None:
    with pytest.raises(KeyRecordError) as err:
        parse_key_record(f"v=DKIM1; k=mldsa44; p={b64(p)}")
    assert err.value.kind == "syntax"
    assert str(err.value) == (
        f"an ML-DSA-44 p= must be 1312 octets (raw public key); it is {octets}"
    )


def test_an_spki_header_around_a_short_key_is_a_syntax_error(raw: bytes) -> None:
    with pytest.raises(KeyRecordError) as err:
        parse_key_record(f"v=DKIM1; k=mldsa44; p={b64(SPKI_PREFIX + raw[:-1])}")
    assert (err.value.kind, str(err.value)) == (
        "syntax",
        "an ML-DSA-44 p= must be 1312 octets (raw public key); it is 1333",
    )


def test_an_ml_dsa_key_published_as_ed25519_is_a_syntax_error(raw: bytes) -> None:
    with pytest.raises(KeyRecordError) as err:
        parse_key_record(f"v=DKIM1; k=ed25519; p={b64(raw)}")
    assert (err.value.kind, str(err.value)) == (
        "syntax",
        "an Ed25519 p= must be 32 octets; it is 1312",
    )


@pytest.mark.parametrize("record", ["v=DKIM1; k=mldsa44; p=", "k=mldsa44; p= ;"])
def test_an_empty_p_revokes_an_ml_dsa_key(record: str) -> None:
    with pytest.raises(KeyRecordError) as err:
        parse_key_record(record)
    assert (err.value.kind, str(err.value)) == (
        "revoked",
        "p= is empty: the key has been revoked",
    )


@pytest.mark.parametrize("k", ["MLDSA44", "mldsa65", "ml-dsa-44", "mldsa44-ed25519-sha512"])
def test_other_spellings_and_the_composite_are_unknown_key_types(k: str, raw: bytes) -> None:
    with pytest.raises(KeyRecordError) as err:
        parse_key_record(f"v=DKIM1; k={k}; p={b64(raw)}")
    assert (err.value.kind, str(err.value)) == (
        "unknown-type",
        f"k={k[:20]} is not a key type this verifier knows",  # the name is cut at 20
    )


def test_key_records_can_key_a_cache(raw: bytes) -> None:
    ed = ed25519.Ed25519PrivateKey.generate()
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    records = [
        parse_key_record(f"v=DKIM1; k=mldsa44; p={b64(raw)}"),
        parse_key_record(public_record_for(ed)),
        parse_key_record(public_record_for(rsa_key)),
    ]
    cache: dict[KeyRecord, int] = {r: n for n, r in enumerate(records)}
    again = parse_key_record.__wrapped__(f"v=DKIM1; k=mldsa44; p={b64(raw)}")
    assert again is not records[0]
    assert again == records[0]
    assert hash(again) == hash(records[0])
    assert cache[again] == 0
    other = parse_key_record(public_record_for(mldsa.MLDSA44PrivateKey.generate()))
    assert other != records[0]
    assert other not in cache


# --- signing and verifying ------------------------------------------------------------------


def test_a_signature_is_2420_octets_and_verifies(key: mldsa.MLDSA44PrivateKey) -> None:
    signature = sign_bytes("mldsa44", key, DATA)
    assert len(signature) == 2420
    assert verify_signature("mldsa44", key.public_key(), DATA, signature) is True


def test_signing_is_hedged_and_each_signature_verifies(key: mldsa.MLDSA44PrivateKey) -> None:
    first, second = sign_bytes("mldsa44", key, DATA), sign_bytes("mldsa44", key, DATA)
    assert first != second
    assert verify_signature("mldsa44", key.public_key(), DATA, first) is True
    assert verify_signature("mldsa44", key.public_key(), DATA, second) is True


def test_the_signature_is_pure_ml_dsa_over_the_input_with_context_dkim2(
    key: mldsa.MLDSA44PrivateKey,
) -> None:
    assert MLDSA44_CONTEXT == b"DKIM2"
    signature = sign_bytes("mldsa44", key, DATA)
    key.public_key().verify(signature, DATA, b"DKIM2")  # raises if not
    digest_signed = key.sign(hashlib.sha256(DATA).digest(), b"DKIM2")
    assert verify_signature("mldsa44", key.public_key(), DATA, digest_signed) is False


def test_a_signature_made_with_an_empty_context_does_not_verify(
    key: mldsa.MLDSA44PrivateKey,
) -> None:
    assert verify_signature("mldsa44", key.public_key(), DATA, key.sign(DATA)) is False


def test_tampered_data_does_not_verify(key: mldsa.MLDSA44PrivateKey) -> None:
    signature = sign_bytes("mldsa44", key, DATA)
    assert verify_signature("mldsa44", key.public_key(), DATA + b" ", signature) is False
    assert verify_signature("mldsa44", key.public_key(), DATA[:-1], signature) is False


def test_a_tampered_signature_does_not_verify(key: mldsa.MLDSA44PrivateKey) -> None:
    signature = bytearray(sign_bytes("mldsa44", key, DATA))
    signature[100] ^= 0x01
    assert verify_signature("mldsa44", key.public_key(), DATA, bytes(signature)) is False


@pytest.mark.parametrize(
    "signature",
    [b"", bytes(64), bytes(256), bytes(2419), bytes(2421), bytes(4840), b"\xff" * 2420],
    ids=["empty", "ed25519-size", "rsa-size", "one-short", "one-long", "doubled", "garbage"],
)
def test_a_malformed_signature_is_false_not_an_exception(
    key: mldsa.MLDSA44PrivateKey, signature: bytes
) -> None:
    assert verify_signature("mldsa44", key.public_key(), DATA, signature) is False


def test_keys_and_algorithms_must_match(key: mldsa.MLDSA44PrivateKey) -> None:
    ed = ed25519.Ed25519PrivateKey.generate()
    ml_signature = sign_bytes("mldsa44", key, DATA)
    ed_signature = sign_bytes("ed25519-sha256", ed, DATA)
    assert verify_signature("ed25519-sha256", key.public_key(), DATA, ml_signature) is False
    assert verify_signature("mldsa44", ed.public_key(), DATA, ed_signature) is False
    assert verify_signature("rsa-sha256", key.public_key(), DATA, ml_signature) is False
    with pytest.raises(ValueError) as err:
        sign_bytes("mldsa44", ed, DATA)
    assert str(err.value) == "algorithm mldsa44 does not fit a Ed25519PrivateKey"
    with pytest.raises(ValueError) as err:
        sign_bytes("ed25519-sha256", key, DATA)
    assert str(err.value) == "algorithm ed25519-sha256 does not fit a MLDSA44PrivateKey"


def test_the_algorithm_follows_the_private_key(key: mldsa.MLDSA44PrivateKey) -> None:
    assert [
        algorithm_for_private_key(k)
        for k in (
            key,
            ed25519.Ed25519PrivateKey.generate(),
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
        )
    ] == ["mldsa44", "ed25519-sha256", "rsa-sha256"]


# --- private keys and the record to publish ---------------------------------------------------


def test_a_pkcs8_pem_private_key_loads_back(key: mldsa.MLDSA44PrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    loaded = load_private_key(pem)
    assert isinstance(loaded, mldsa.MLDSA44PrivateKey)
    assert raw_public(loaded) == raw_public(key)


def test_an_ml_dsa_65_private_key_is_refused() -> None:
    pem = mldsa.MLDSA65PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(ValueError) as err:
        load_private_key(pem)
    assert str(err.value) == "unsupported private key type MLDSA65PrivateKey"


def test_the_record_to_publish_holds_the_raw_public_key(key: mldsa.MLDSA44PrivateKey) -> None:
    record = public_record_for(key)
    assert record == f"v=DKIM1; k=mldsa44; p={b64(raw_public(key))}"
    assert len(record) == len("v=DKIM1; k=mldsa44; p=") + 1752
    assert parse_key_record(record).public_key == key.public_key()


# --- dkim2 keygen -----------------------------------------------------------------------------


def test_keygen_writes_a_seed_only_pkcs8_key_and_a_record_that_parses_back(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "pq1.pem"
    code = main(
        [
            "keygen",
            "--type",
            "mldsa44",
            "--selector",
            "pq1",
            "--domain",
            "sender.example",
            "--out",
            str(path),
        ]
    )
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    m = re.fullmatch(r'pq1\._domainkey\.sender\.example\. IN TXT "(.*)"\n', out)
    assert m
    strings = re.findall(r'"([^"]*)"', m.group(1).join('""'))
    # RFC 1035 §3.3: a zone file string holds at most 255 octets; the record is split.
    assert [len(x) for x in strings] == [255] * 6 + [244]
    rec = parse_key_record("".join(strings))
    assert (rec.key_type, rec.bits, rec.notes) == ("mldsa44", 10496, ())
    pem = path.read_bytes()
    assert path.stat().st_mode & 0o777 == 0o600
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----\n")
    der = serialization.load_pem_private_key(pem, None).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    assert (len(der), der[:22]) == (54, PKCS8_SEED_PREFIX)
    private = load_private_key(pem)
    assert isinstance(private, mldsa.MLDSA44PrivateKey)
    assert rec.public_key == private.public_key()
    signature = sign_bytes("mldsa44", private, DATA)
    assert verify_signature("mldsa44", rec.public_key, DATA, signature) is True


def test_keygen_without_out_prints_the_key_then_the_record(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["keygen", "--type", "mldsa44", "-s", "pq2", "-d", "sender.example"])
    out, _ = capsys.readouterr()
    assert code == 0
    m = re.fullmatch(
        r"(-----BEGIN PRIVATE KEY-----\n.*\n-----END PRIVATE KEY-----\n)"
        r'pq2\._domainkey\.sender\.example\. IN TXT "(.*)"\n',
        out,
        re.DOTALL,
    )
    assert m
    private = load_private_key(m.group(1).encode())
    assert public_record_for(private) == "".join(re.findall(r'"([^"]*)"', f'"{m.group(2)}"'))


# --- the signer ------------------------------------------------------------------------------


MESSAGE = b"From: a@sender.example\r\nTo: b@rcpt.example\r\nSubject: hi\r\n\r\nhello\r\n"


def _signature_values(field: HeaderField) -> dict[str, tuple[str, bytes]]:
    """selector -> (algorithm, signature) from an s= written by the signer."""
    text = field.value.decode().replace("\r\n", "")
    m = re.search(r"\bs=([^;]*);", text)
    assert m
    out = {}
    for entry in "".join(m.group(1).split()).split(","):
        selector, algorithm, value = entry.split(":")
        out[selector] = (algorithm, base64.b64decode(value, validate=True))
    return out


def _signed_fields(message: bytes) -> tuple[HeaderField, HeaderField]:
    fields = parse_message(message).fields
    sig = next(f for f in fields if f.lname == "dkim2-signature")
    mi = next(f for f in fields if f.lname == "message-instance")
    return sig, mi


def test_the_signer_writes_an_mldsa44_entry_that_verifies(
    key: mldsa.MLDSA44PrivateKey,
) -> None:
    signing_key = SigningKey("pq1", key)
    assert signing_key.algorithm == "mldsa44"
    result = sign(
        MESSAGE,
        domain="sender.example",
        keys=[signing_key],
        timestamp=T1,
        mail_from="a@sender.example",
        rcpt_to=["b@rcpt.example"],
    )
    assert (result.role, result.hop, result.instance) == ("originator", 1, 1)
    sig, mi = _signed_fields(result.message)
    values = _signature_values(sig)
    assert list(values) == ["pq1"]
    algorithm, signature = values["pq1"]
    assert (algorithm, len(signature)) == ("mldsa44", 2420)
    data = signing_input([mi], [], sig)
    rec = parse_key_record(public_record_for(key))
    assert verify_signature("mldsa44", rec.public_key, data, signature) is True
    assert verify_signature("mldsa44", rec.public_key, data + b"x", signature) is False


def test_an_mldsa44_entry_signs_the_same_input_as_an_ed25519_entry_beside_it(
    key: mldsa.MLDSA44PrivateKey,
) -> None:
    ed = ed25519.Ed25519PrivateKey.generate()
    result = sign(
        MESSAGE,
        domain="sender.example",
        keys=[SigningKey("ed1", ed), SigningKey("pq1", key)],
        timestamp=T1,
        next_domain="rcpt.example",
    )
    sig, mi = _signed_fields(result.message)
    values = _signature_values(sig)
    assert [(s, a) for s, (a, _) in values.items()] == [
        ("ed1", "ed25519-sha256"),
        ("pq1", "mldsa44"),
    ]
    data = signing_input([mi], [], sig)
    assert verify_signature("ed25519-sha256", ed.public_key(), data, values["ed1"][1]) is True
    assert verify_signature("mldsa44", key.public_key(), data, values["pq1"][1]) is True


def test_a_signature_made_with_another_context_fails_and_names_the_reading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An ML-DSA-44 signature with an empty context fails (the context is "DKIM2"), and the
    engine says it would verify with an empty context: the interop difference, named."""
    from tests.support import chains

    chain = chains.build_chain(
        chains.message(),
        [chains.Hop(*ALICE_HOP, revision="09", selectors=("pq1",))],
    )
    monkeypatch.setattr(chains, "MLDSA44_CONTEXT", b"")
    raw = chains.resign(chain.message)
    report = chain.analyze(raw)
    assert [(f.code, f.message) for f in report.findings if f.affects_verdict] == [
        ("sig.incorrect", "FAIL: DKIM2-Signature i=1 pq1 incorrect signature")
    ]
    (note,) = [f for f in report.findings if f.code == "sig.other-signing-reading"]
    assert note.detail == (
        "The signature is valid as ML-DSA-44 over the signing input with an empty context "
        '(this verifier expects the input itself with context "DKIM2"). The signer\'s '
        "software and this verifier read the algorithm differently; the signature still "
        "counts as failed."
    )


def test_ed25519_over_the_raw_input_is_named_too() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    raw_signature = key.sign(DATA)
    assert verify_signature("ed25519-sha256", key.public_key(), DATA, raw_signature) is False
    assert other_reading("ed25519-sha256", key.public_key(), DATA, raw_signature) == (
        "Ed25519 over the signing input itself rather than its SHA-256 digest"
    )
    good = sign_bytes("ed25519-sha256", key, DATA)
    assert other_reading("ed25519-sha256", key.public_key(), DATA + b"x", good) is None
