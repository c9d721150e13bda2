"""Key records: every malformed TXT form, revoked keys, wrong k=, huge p=, ML-DSA-44 lengths,
DNS failures (draft-ietf-dkim-dkim2-dns-00 §3; analysis.dkim2.keys; SPEC-NOTES §6.2).

One message signed by example.com (Ed25519 ``ed1``, RSA-2048 ``rsa1`` or ML-DSA-44 ``pq1``)
straight to the intake address; each case serves another record for the selector.
"""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support import chains
from tests.support.chains import Chain, set_zone_entry

from .model import Case, E, Expect
from .world import API, AUTHOR, INTAKE, UPLOAD, WEB, Builder, one_hop

PASS = E("pass", v="pass")


def _p(record: str) -> str:
    return record.split("p=", 1)[1]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def build() -> list[Case]:
    b = Builder("keys")
    ed = one_hop()
    rsa_chain = one_hop(selectors=("rsa1",))
    pq = one_hop(selectors=("pq1",))
    ed_p = _p(chains.key_record("ed1"))
    rsa_key = chains.private_key("rsa1").public_key()
    assert isinstance(rsa_key, rsa.RSAPublicKey)
    pq_p = _p(chains.key_record("pq1"))
    pq_raw = base64.b64decode(pq_p)

    def served(
        name: str,
        title: str,
        entries: list[list[str]] | None,
        expect: Expect,
        *,
        of: Chain = ed,
        selector: str = "ed1",
        extra: dict[str, list[list[str]]] | None = None,
        **kw: object,
    ) -> None:
        zone = set_zone_entry(of.zone, AUTHOR, selector, entries)
        zone[AUTHOR].update(extra or {})
        b.add(name, title, of.message, expect, of=of, zone=zone, **kw)  # type: ignore[arg-type]

    def txt(*records: str) -> list[list[str]]:
        return [["txt", r] for r in records]

    # -- the record's syntax (Ed25519 signer) -----------------------------------------------
    served(
        "ed25519-valid",
        "the published Ed25519 record",
        txt(f"v=DKIM1; k=ed25519; p={ed_p}"),
        PASS,
        paths=WEB,
    )
    served(
        "no-record",
        "no TXT record at the selector (NXDOMAIN)",
        None,
        E(
            "permerror",
            "key.not-found",
            "PERMERROR: DKIM2-Signature i=1 public key ed1 does not exist",
            v="fail",
        ).because("the name does not exist (NXDOMAIN)"),
        paths=WEB,
    )
    served(
        "no-txt-data",
        "the name exists with no TXT record (NODATA)",
        [],
        E(
            "permerror",
            "key.not-found",
            "PERMERROR: DKIM2-Signature i=1 public key ed1 does not exist",
            v="fail",
        ).because("the name exists but has no TXT record"),
    )
    served(
        "empty-string",
        "an empty TXT record",
        txt(""),
        E(
            "permerror",
            "key.syntax",
            "PERMERROR: DKIM2-Signature i=1 public key ed1 has a syntax error",
            v="fail",
        ).because("the record has no p= tag"),
    )
    served(
        "v-not-dkim1",
        "v=DKIM2",
        txt(f"v=DKIM2; k=ed25519; p={ed_p}"),
        E(
            "permerror",
            "key.syntax",
            "PERMERROR: DKIM2-Signature i=1 public key ed1 has a syntax error",
            v="fail",
        ).because("v=DKIM2 is not DKIM1"),
    )
    served(
        "v-not-first",
        "v=DKIM1 after k=",
        txt(f"k=ed25519; v=DKIM1; p={ed_p}"),
        E(
            "permerror",
            "key.syntax",
            "PERMERROR: DKIM2-Signature i=1 public key ed1 has a syntax error",
            v="fail",
        ).because("v=DKIM1 is not the first tag"),
    )
    served(
        "no-p",
        "no p= tag",
        txt("v=DKIM1; k=ed25519"),
        E(
            "permerror",
            "key.syntax",
            "PERMERROR: DKIM2-Signature i=1 public key ed1 has a syntax error",
            v="fail",
        ).because("the record has no p= tag"),
    )
    served(
        "p-empty-revoked",
        "p= empty: the key is revoked",
        txt("v=DKIM1; k=ed25519; p="),
        E(
            "permerror",
            "key.revoked",
            "PERMERROR: DKIM2-Signature i=1 public key ed1 has been revoked",
            v="fail",
        ).because("p= is empty: the key has been revoked"),
        paths=UPLOAD,
    )
    served(
        "p-not-base64",
        "p= that is not base64",
        txt("v=DKIM1; k=ed25519; p=!!!!"),
        E(
            "permerror",
            "key.syntax",
            "PERMERROR: DKIM2-Signature i=1 public key ed1 has a syntax error",
            v="fail",
        ).because("p= is not valid base64 (Only base64 data is allowed)"),
    )
    served(
        "p-31-octets",
        "an Ed25519 p= of 31 octets",
        txt(f"v=DKIM1; k=ed25519; p={_b64(base64.b64decode(ed_p)[:31])}"),
        E(
            "permerror",
            "key.syntax",
            "PERMERROR: DKIM2-Signature i=1 public key ed1 has a syntax error",
            v="fail",
        ).because("an Ed25519 p= must be 32 octets; it is 31"),
    )
    served(
        "p-with-blanks",
        "p= split by blanks (FWS inside the value is ignored)",
        txt(f"v=DKIM1; k=ed25519; p={ed_p[:10]} {ed_p[10:30]}\t{ed_p[30:]}"),
        E("pass", v="pass"),
    )
    served(
        "trailing-semicolon-and-blanks",
        "a final ';' and blanks",
        txt(f"v=DKIM1; k=ed25519; p={ed_p} ;  "),
        E("pass", v="pass"),
    )
    served(
        "duplicate-tag",
        "p= twice",
        txt(f"v=DKIM1; k=ed25519; p={ed_p}; p={ed_p}"),
        E(
            "permerror",
            "key.syntax",
            "PERMERROR: DKIM2-Signature i=1 public key ed1 has a syntax error",
            v="fail",
        ).because("tag p= appears twice (DNS00 §3.2)"),
    )
    served(
        "tag-without-equals",
        "a tag without '='",
        txt(f"v=DKIM1; k=ed25519; junk; p={ed_p}"),
        E(
            "permerror",
            "key.syntax",
            "PERMERROR: DKIM2-Signature i=1 public key ed1 has a syntax error",
            v="fail",
        ).because("'junk' is not a tag=value pair"),
    )
    served(
        "control-character",
        "a control character in a value",
        txt(f"v=DKIM1; k=ed25519; n=a\x01b; p={ed_p}"),
        E(
            "permerror",
            "key.syntax",
            "PERMERROR: DKIM2-Signature i=1 public key ed1 has a syntax error",
            v="fail",
        ).because("tag n= has characters outside VALCHAR"),
    )
    served(
        "unknown-tags",
        "unknown tags and a DKIM1 h= and s= (ignored)",
        txt(f"v=DKIM1; k=ed25519; h=sha256; s=email; zz=1; p={ed_p}"),
        E("pass", v="pass"),
    )
    served(
        "testing-flag",
        "t=y (testing)",
        txt(f"v=DKIM1; k=ed25519; t=y; p={ed_p}"),
        E("pass", v="pass", notes="key.testing"),
        paths=API,
    )
    served(
        "t-s-flag",
        "t=s (no subdomains)",
        txt(f"v=DKIM1; k=ed25519; t=s; p={ed_p}"),
        E("pass", v="pass"),
    )
    served(
        "k-unknown",
        "k=frob (an unknown key type)",
        txt(f"v=DKIM1; k=frob; p={ed_p}"),
        E(
            "permerror",
            "key.algorithm-mismatch",
            "PERMERROR: DKIM2-Signature i=1 public key ed1 algorithm mismatch",
            v="fail",
        ).because("k=frob is not a key type this verifier knows"),
    )
    served(
        "k-missing",
        "no k= (RSA by default) with an Ed25519 p=",
        txt(f"v=DKIM1; p={ed_p}"),
        E(
            "permerror",
            "key.syntax",
            "PERMERROR: DKIM2-Signature i=1 public key ed1 has a syntax error",
            v="fail",
        ).because("p= is not an RSA public key (SPKI or PKCS#1)"),
    )
    served(
        "k-upper-case",
        "k=ED25519 (key types are case-sensitive)",
        txt(f"v=DKIM1; k=ED25519; p={ed_p}"),
        E(
            "permerror",
            "key.algorithm-mismatch",
            "PERMERROR: DKIM2-Signature i=1 public key ed1 algorithm mismatch",
            v="fail",
        ).because("k=ED25519 is not a key type this verifier knows"),
    )
    rsa_der = rsa_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    served(
        "rsa-key-for-ed25519-signature",
        "a valid RSA record at the Ed25519 selector",
        txt(f"v=DKIM1; k=rsa; p={_b64(rsa_der)}"),
        E(
            "permerror",
            "key.algorithm-mismatch",
            "PERMERROR: DKIM2-Signature i=1 public key ed1 algorithm mismatch",
            v="fail",
        ).because("s= says ed25519-sha256 but the key record is k=rsa"),
        paths=INTAKE,
    )
    served(
        "mldsa-key-for-ed25519-signature",
        "an ML-DSA-44 record at the Ed25519 selector",
        txt(f"v=DKIM1; k=mldsa44; p={pq_p}"),
        E(
            "permerror",
            "key.algorithm-mismatch",
            "PERMERROR: DKIM2-Signature i=1 public key ed1 algorithm mismatch",
            v="fail",
        ).because("s= says ed25519-sha256 but the key record is k=mldsa44"),
    )
    served(
        "two-records",
        "two valid TXT records at the selector",
        txt(f"v=DKIM1; k=ed25519; p={ed_p}", f"v=DKIM1; k=ed25519; p={ed_p}"),
        E(
            "permerror",
            "key.multiple-records",
            "PERMERROR: DKIM2-Signature i=1 public key ed1 has multiple records",
            v="fail",
        ).because("ed1._domainkey.example.com has 2 TXT records; exactly one is allowed"),
    )
    served(
        "record-and-junk",
        "the key record beside an unrelated TXT record",
        txt(f"v=DKIM1; k=ed25519; p={ed_p}", "google-site-verification=abc"),
        E(
            "permerror",
            "key.multiple-records",
            "PERMERROR: DKIM2-Signature i=1 public key ed1 has multiple records",
            v="fail",
        ).because("ed1._domainkey.example.com has 2 TXT records; exactly one is allowed"),
    )
    served(
        "servfail",
        "the key lookup answers SERVFAIL",
        [["servfail", ""]],
        E(
            "temperror",
            "key.temperror",
            "TEMPERROR: DKIM2-Signature i=1 public key ed1 could not be fetched",
            v="temperror",
        ).because("servfail: simulated servfail (static zone marker)"),
        paths=API,
    )
    served(
        "timeout",
        "the key lookup times out",
        [["timeout", ""]],
        E(
            "temperror",
            "key.temperror",
            "TEMPERROR: DKIM2-Signature i=1 public key ed1 could not be fetched",
            v="temperror",
        ).because("timeout: simulated timeout (static zone marker)"),
    )
    served(
        "cname",
        "the selector is a CNAME to the record",
        [["cname", "keys.example.com."]],
        E("pass", v="pass"),
        extra={"keys": txt(f"v=DKIM1; k=ed25519; p={ed_p}")},
    )
    served(
        "cname-loop",
        "the selector is a CNAME to itself",
        [["cname", "ed1._domainkey.example.com."]],
        E(
            "temperror",
            "key.temperror",
            "TEMPERROR: DKIM2-Signature i=1 public key ed1 could not be fetched",
            v="temperror",
        ).because("more than 8 CNAME links (a loop?)"),
    )
    served(
        "huge-p",
        "p= of 100,000 octets of base64 (k=ed25519)",
        txt(f"v=DKIM1; k=ed25519; p={_b64(bytes(75_000))}"),
        E(
            "permerror",
            "key.syntax",
            "PERMERROR: DKIM2-Signature i=1 public key ed1 has a syntax error",
            v="fail",
        ).because("an Ed25519 p= must be 32 octets; it is 75000"),
    )
    served(
        "huge-record-of-tags",
        "a record of 2,000 unknown tags before p=",
        txt("v=DKIM1; k=ed25519; " + "".join(f"x{k}=1; " for k in range(2000)) + f"p={ed_p}"),
        E("pass", v="pass"),
    )
    spki = "302a300506032b6570032100"
    served(
        "ed25519-spki-wrapped",
        "the Ed25519 key wrapped in SubjectPublicKeyInfo",
        txt(f"v=DKIM1; k=ed25519; p={_b64(bytes.fromhex(spki) + base64.b64decode(ed_p))}"),
        E("pass", v="pass", notes="key.format-note"),
    )

    # -- RSA (rsa1 signer) ----------------------------------------------------------------------
    def rsa_served(name: str, title: str, record: str | None, expect: Expect, **kw: object) -> None:
        served(
            name,
            title,
            None if record is None else txt(record),
            expect,
            of=rsa_chain,
            selector="rsa1",
            **kw,
        )

    rsa_served(
        "rsa-valid",
        "the published RSA-2048 record (SubjectPublicKeyInfo)",
        chains.key_record("rsa1"),
        PASS,
    )
    pkcs1 = rsa_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    rsa_served(
        "rsa-pkcs1",
        "the RSA key as a PKCS#1 RSAPublicKey (accepted, and said so)",
        f"v=DKIM1; k=rsa; p={_b64(pkcs1)}",
        E("pass", v="pass", notes="key.format-note"),
    )
    for bits, code, why in (
        (512, "key.too-short", "the RSA key has 512 bits; DKIM2 requires at least 1024"),
        (1023, "key.too-short", "the RSA key has 1023 bits; DKIM2 requires at least 1024"),
        (8193, "limits.key-too-large", "the RSA key has 8193 bits; this verifier accepts at most"),
        (16384, "limits.key-too-large", "the RSA key has 16384 bits; this verifier accepts"),
    ):
        rsa_served(
            f"rsa-{bits}-bits",
            f"an RSA key of {bits} bits",
            chains.rsa_public_record(bits),
            E(
                "permerror",
                code,
                "PERMERROR: DKIM2-Signature i=1 public key rsa1 has a syntax error",
                v="fail",
            ).because(why),
            paths=API if bits == 16384 else (),
        )
    small_e = rsa.RSAPublicNumbers(3, rsa_key.public_numbers().n).public_key()
    rsa_served(
        "rsa-exponent-3",
        "an RSA key with public exponent 3",
        "v=DKIM1; k=rsa; p="
        + _b64(
            small_e.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        ),
        E(
            "permerror",
            "key.syntax",
            "PERMERROR: DKIM2-Signature i=1 public key rsa1 has a syntax error",
            v="fail",
        ).because("the RSA public exponent is 3; S06 §3.2 requires 65537"),
    )
    rsa_served(
        "rsa-truncated",
        "an RSA p= cut in half",
        f"v=DKIM1; k=rsa; p={_b64(rsa_der[: len(rsa_der) // 2])}",
        E(
            "permerror",
            "key.syntax",
            "PERMERROR: DKIM2-Signature i=1 public key rsa1 has a syntax error",
            v="fail",
        ).because("p= is not an RSA public key (SPKI or PKCS#1)"),
    )
    rsa_served(
        "ed25519-key-for-rsa-signature",
        "an Ed25519 record at the RSA selector",
        f"v=DKIM1; k=ed25519; p={ed_p}",
        E(
            "permerror",
            "key.algorithm-mismatch",
            "PERMERROR: DKIM2-Signature i=1 public key rsa1 algorithm mismatch",
            v="fail",
        ).because("s= says rsa-sha256 but the key record is k=ed25519"),
    )

    # -- ML-DSA-44 (pq1 signer, -09) ---------------------------------------------------------
    def pq_served(name: str, title: str, record: str, expect: Expect, **kw: object) -> None:
        served(name, title, txt(record), expect, of=pq, selector="pq1", **kw)

    pq_served(
        "mldsa44-valid",
        "the published ML-DSA-44 record (1312 octets)",
        f"v=DKIM1; k=mldsa44; p={pq_p}",
        PASS,
        paths=INTAKE,
    )
    pq_served(
        "mldsa44-1311-octets",
        "an ML-DSA-44 p= of 1311 octets",
        f"v=DKIM1; k=mldsa44; p={_b64(pq_raw[:-1])}",
        E(
            "permerror",
            "key.syntax",
            "PERMERROR: DKIM2-Signature i=1 public key pq1 has a syntax error",
            v="fail",
        ).because("an ML-DSA-44 p= must be 1312 octets (raw public key); it is 1311"),
    )
    pq_served(
        "mldsa44-1313-octets",
        "an ML-DSA-44 p= of 1313 octets",
        f"v=DKIM1; k=mldsa44; p={_b64(pq_raw + b'x')}",
        E(
            "permerror",
            "key.syntax",
            "PERMERROR: DKIM2-Signature i=1 public key pq1 has a syntax error",
            v="fail",
        ).because("an ML-DSA-44 p= must be 1312 octets (raw public key); it is 1313"),
    )
    pq_served(
        "mldsa44-32-octets",
        "an ML-DSA-44 p= of 32 octets (an Ed25519 key's length)",
        f"v=DKIM1; k=mldsa44; p={ed_p}",
        E(
            "permerror",
            "key.syntax",
            "PERMERROR: DKIM2-Signature i=1 public key pq1 has a syntax error",
            v="fail",
        ).because("an ML-DSA-44 p= must be 1312 octets (raw public key); it is 32"),
    )
    pq_spki = bytes.fromhex("30820532300b06096086480165030403110382052100") + pq_raw
    pq_served(
        "mldsa44-spki-wrapped",
        "the ML-DSA-44 key wrapped in SubjectPublicKeyInfo",
        f"v=DKIM1; k=mldsa44; p={_b64(pq_spki)}",
        E("pass", v="pass", notes="key.format-note"),
    )
    pq_served(
        "mldsa44-as-ed25519",
        "the ML-DSA-44 key published with k=ed25519",
        f"v=DKIM1; k=ed25519; p={pq_p}",
        E(
            "permerror",
            "key.syntax",
            "PERMERROR: DKIM2-Signature i=1 public key pq1 has a syntax error",
            v="fail",
        ).because("an Ed25519 p= must be 32 octets; it is 1312"),
    )
    pq_served(
        "mldsa44-other-key",
        "another valid ML-DSA-44 key (the signature does not verify)",
        f"v=DKIM1; k=mldsa44; p={_b64(_other_mldsa44())}",
        E(
            "fail", "sig.incorrect", "FAIL: DKIM2-Signature i=1 pq1 incorrect signature", v="fail"
        ).because("the signature does not verify over the Message-Instance and"),
    )
    return b.cases


def _other_mldsa44() -> bytes:
    from cryptography.hazmat.primitives.asymmetric import mldsa

    key = mldsa.MLDSA44PrivateKey.from_seed_bytes(bytes(32))
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
