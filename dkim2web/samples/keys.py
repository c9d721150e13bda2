"""Demo signing keys for the sample gallery, and the static zone that publishes them with
each demo domain's SPF record and DMARC policy.

Every demo domain is under ``.example`` (RFC 2606: reserved, never delegated), so a demo
key can never speak for a real domain, and the zone is restricted to that suffix as well.
The keys are derived, not stored: each Ed25519 private key, and each ML-DSA-44 key's
32-octet seed (ξ of FIPS 204 ML-DSA.KeyGen), is the SHA-256 of a fixed string naming its algorithm,
selector and domain; the RSA keys come from a prime search seeded the same way. Anyone can
recompute them and nothing secret is committed. They sign demo messages only.

Besides its Ed25519 key (``demo1``), a domain may sign DKIM2 with an RSA key (``rsa1``) and
an ML-DSA-44 key (``pq1``, published ``k=mldsa44``: -08 §3.4 as reported by Stalwart
mail-auth 0.15 and croessner/dkim2 v0.1.49, SPEC-09-NOTES 1.4; draft text not public), which
the samples signed with ``|`` groups use.
"""

from __future__ import annotations

import functools
import hashlib
import random

from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa, rsa

from analysis.dkim2.sign import SigningKey
from analysis.lookup import DnsAnswer, DnsQuery, KeyAnswer, KeyQuery
from analysis.resolvers import StaticResolver

#: The only suffix the demo zone answers for.
DEMO_SUFFIX = "example"

#: Demo signing domain -> its selector.
DEMO_DOMAINS: dict[str, str] = {
    "origin.example": "demo1",
    "lists.example": "demo1",
    "forwarder.example": "demo1",
    "relay.example": "demo1",
    "billing.example": "demo1",
    "news.example": "demo1",
}

_SEED_PREFIX = "dkim2web demo key, never use for real mail: "


@functools.cache
def private_key(domain: str) -> ed25519.Ed25519PrivateKey:
    """The Ed25519 key ``domain`` signs demo messages with (same bytes on every machine)."""
    selector = DEMO_DOMAINS[domain]
    seed = hashlib.sha256(f"{_SEED_PREFIX}{selector}._domainkey.{domain}".encode()).digest()
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed)


def signing_key(domain: str) -> SigningKey:
    return SigningKey(DEMO_DOMAINS[domain], private_key(domain))


#: Demo domain -> the selector of its ML-DSA-44 key (``k=mldsa44``; -08 on).
DEMO_MLDSA44_SELECTORS: dict[str, str] = {"origin.example": "pq1", "lists.example": "pq1"}


@functools.cache
def mldsa44_private_key(domain: str) -> mldsa.MLDSA44PrivateKey:
    """The ML-DSA-44 key ``domain`` signs demo messages with: its 32-octet seed is derived
    like an Ed25519 key (the SHA-256 of a string naming algorithm, selector and domain), so
    the key, whose signatures are randomised, is the same on every machine."""
    selector = DEMO_MLDSA44_SELECTORS[domain]
    seed = hashlib.sha256(f"{_SEED_PREFIX}mldsa44 {selector}._domainkey.{domain}".encode()).digest()
    return mldsa.MLDSA44PrivateKey.from_seed_bytes(seed)


def mldsa44_signing_key(domain: str) -> SigningKey:
    return SigningKey(DEMO_MLDSA44_SELECTORS[domain], mldsa44_private_key(domain))


#: Demo domain -> the address of its outgoing mail server (documentation ranges, RFC 5737),
#: published in its SPF record, and the DMARC policy it publishes.
DEMO_SERVERS: dict[str, str] = {
    "origin.example": "192.0.2.10",
    "lists.example": "198.51.100.20",
    "forwarder.example": "203.0.113.30",
    "relay.example": "203.0.113.40",
    "billing.example": "192.0.2.50",
    "news.example": "192.0.2.60",
}
DEMO_DMARC: dict[str, str] = {
    "origin.example": "v=DMARC1; p=reject",
    "lists.example": "v=DMARC1; p=none",
    "forwarder.example": "v=DMARC1; p=none",
    "relay.example": "v=DMARC1; p=none",
    "billing.example": "v=DMARC1; p=quarantine",
    "news.example": "v=DMARC1; p=none",
}


@functools.cache
def _zone_data() -> dict[str, dict[str, list[list[str]]]]:
    from analysis.dkim2.keys import public_record_for

    zone = {
        domain: {
            f"{selector}._domainkey": [["txt", public_record_for(private_key(domain))]],
            "@": [["txt", f"v=spf1 ip4:{DEMO_SERVERS[domain]} -all"]],
            "mail": [["a", DEMO_SERVERS[domain]]],
            "_dmarc": [["txt", DEMO_DMARC[domain]]],
        }
        for domain, selector in DEMO_DOMAINS.items()
    }
    for selectors in (DEMO_RSA_SELECTORS, DEMO_DKIM2_RSA_SELECTORS):
        for domain, selector in selectors.items():
            record = public_record_for(rsa_private_key(domain, selector))
            zone[domain][f"{selector}._domainkey"] = [["txt", record]]
    for domain, selector in DEMO_MLDSA44_SELECTORS.items():
        record = public_record_for(mldsa44_private_key(domain))
        zone[domain][f"{selector}._domainkey"] = [["txt", record]]
    return zone


def demo_zone() -> StaticResolver:
    """A fresh static resolver serving the demo keys, and only names under ``.example``.

    Fresh on each call because a StaticResolver records every answer it gives; the zone
    itself is parsed once per process (every analysis asks for one: the key lookups).
    """
    return _parsed_demo_zone().unused_copy()


@functools.cache
def _parsed_demo_zone() -> StaticResolver:
    return StaticResolver(_zone_data()).restrict_to_suffixes(DEMO_SUFFIX)


class DemoDnsLookup:
    """A DNS lookup serving the demo zone alone: ``DKIM2_KEY_LOOKUP`` for offline workers.

    Names outside ``.example`` are answered "not served by this static zone" (a temporary
    error), never looked up.
    """

    def __init__(self) -> None:
        self.zone = demo_zone()

    def lookup_many(self, queries: list[KeyQuery]) -> dict[KeyQuery, KeyAnswer]:
        return self.zone.lookup_many(queries)

    def resolve_many(
        self, queries: list[DnsQuery], *, time_left: float | None = None
    ) -> dict[DnsQuery, DnsAnswer]:
        return self.zone.resolve_many(queries)


# -- RSA: ARC seals are rsa-sha256 only (RFC 8617 §4.1.3); DKIM2 groups may pair it ----------

#: Demo domain -> the selector of its RSA key (what it seals ARC sets with).
DEMO_RSA_SELECTORS: dict[str, str] = {"lists.example": "arc1"}
#: Demo domain -> the selector of the RSA key it signs DKIM2 with (its own key: a demo domain
#: does not reuse its ARC key).
DEMO_DKIM2_RSA_SELECTORS: dict[str, str] = {"lists.example": "rsa1"}

_SMALL_PRIMES = (3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73)


def _probable_prime(n: int, rng: random.Random) -> bool:
    if any(n % p == 0 for p in _SMALL_PRIMES):
        return False
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for _ in range(24):  # Miller-Rabin, error below 4**-24
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int, rng: random.Random) -> int:
    while True:
        candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if _probable_prime(candidate, rng):
            return candidate


def rsa_private_key(domain: str, selector: str | None = None) -> rsa.RSAPrivateKey:
    """The RSA-2048 key ``domain`` publishes under ``selector`` (default: the one it seals
    demo ARC sets with): derived like the Ed25519 keys, from a public seed (a seeded prime
    search), so every process and machine has the same key and nothing secret is committed.
    A demo key, never for real mail."""
    selector = selector or DEMO_RSA_SELECTORS[domain]
    if selector not in (DEMO_RSA_SELECTORS.get(domain), DEMO_DKIM2_RSA_SELECTORS.get(domain)):
        raise KeyError(f"{domain} publishes no RSA key under selector {selector!r}")
    return _derived_rsa_key(domain, selector)


@functools.cache
def _derived_rsa_key(domain: str, selector: str) -> rsa.RSAPrivateKey:
    seed = hashlib.sha256(f"{_SEED_PREFIX}rsa {selector}._domainkey.{domain}".encode()).digest()
    rng = random.Random(seed)
    e = 65537
    while True:
        p, q = _prime(1024, rng), _prime(1024, rng)
        phi = (p - 1) * (q - 1)
        if p != q and (p * q).bit_length() == 2048 and phi % e:
            break
    d = pow(e, -1, phi)
    numbers = rsa.RSAPrivateNumbers(
        p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p), rsa.RSAPublicNumbers(e, p * q)
    )
    return numbers.private_key()


def rsa_signing_key(domain: str) -> SigningKey:
    """The RSA key ``domain`` signs DKIM2 with (beside Ed25519, in one ``,`` group)."""
    selector = DEMO_DKIM2_RSA_SELECTORS[domain]
    return SigningKey(selector, rsa_private_key(domain, selector))
