"""Explanations of the ARC findings (RFC 8617), made by :mod:`analysis.arc`.

An ARC set is what one intermediary (a mailing list, a forwarder) adds: an
ARC-Authentication-Results (what it saw), an ARC-Message-Signature (a DKIM-like signature
of the message as it sent it) and an ARC-Seal (a signature over all the sets so far).
"""

from __future__ import annotations

from . import Explanation

_E = Explanation

_KEY_FIX = (
    "The DNS administrator of the sealing domain (d= of the ARC field) must publish the key "
    "its ARC signer uses at <selector>._domainkey.<domain>."
)

ENTRIES: tuple[Explanation, ...] = (
    # -- the form of the chain (RFC 8617 §4, §5.2) -----------------------------------------------
    _E(
        code="arc.syntax",
        title="An ARC field cannot be parsed",
        checked=(
            "ARC fields are tag lists like DKIM's (RFC 8617 §4.1), each with an instance "
            "number i= that puts it in a set; the verifier reads them before checking anything."
        ),
        found_template="An ARC field breaks the syntax rules: {detail}.",
        likely_causes=(
            "the intermediary's ARC software writes a malformed field",
            "a later relay re-wrapped or truncated the field",
        ),
        fix=(
            "The operator of the intermediary that added the field must fix or update its ARC "
            "software."
        ),
        responsible="intermediary",
        spec="RFC 8617 §4.1, §4.2.1",
        severity_hint="error",
    ),
    _E(
        code="arc.field-too-large",
        title="An ARC field is too large to verify here",
        checked=(
            "The analyser reads ARC fields of bounded size and tag count, so that a hostile "
            "message cannot make it work without end."
        ),
        found_template="The field was not read because it is too large: {detail}.",
        likely_causes=(
            "a message built to exhaust verifiers",
            "broken ARC software repeating tags or header names",
        ),
        fix=(
            "Nobody needs to act for a hostile message; a genuine intermediary must keep its "
            "ARC fields to a normal size."
        ),
        responsible="intermediary",
        spec="RFC 8617 §5.2",
        severity_hint="error",
    ),
    _E(
        code="arc.instance-out-of-range",
        title="An ARC instance number is outside 1 to 50",
        checked=(
            "ARC instances are numbered from 1 to 50 (RFC 8617 §4.2.1); a chain with more than "
            "50 sets fails (§5.2)."
        ),
        found_template="An instance number is out of range: {detail}.",
        likely_causes=(
            "a mail loop between forwarders, each adding a set",
            "a message built to exhaust verifiers",
            "ARC software that numbers from 0",
        ),
        fix=(
            "The operators of the forwarders involved must break the loop; ARC software must "
            "number sets from 1 and stop sealing at 50."
        ),
        responsible="intermediary",
        spec="RFC 8617 §4.2.1, §5.2",
        severity_hint="error",
    ),
    _E(
        code="arc.set-incomplete",
        title="An ARC set is missing one of its three fields",
        checked=(
            "Each ARC set must have exactly one ARC-Authentication-Results, one "
            "ARC-Message-Signature and one ARC-Seal with the same i= (RFC 8617 §4.1, §5.2)."
        ),
        found_template="A set is incomplete: {detail}.",
        likely_causes=(
            "a later relay removed or renamed some ARC fields",
            "the intermediary's ARC software failed half-way",
            "the copy analysed here lost header fields when it was exported",
        ),
        fix=(
            "The operator of the intermediary that added the set must make it add all three "
            "fields; relays must not remove ARC fields."
        ),
        responsible="intermediary",
        spec="RFC 8617 §4.1, §5.2",
        severity_hint="error",
    ),
    _E(
        code="arc.duplicate-instance",
        title="An ARC instance number is used more than once",
        checked=(
            "Each instance number must belong to exactly one set (RFC 8617 §4.2.1, §5.2); "
            "two fields of the same kind with the same i= break the chain."
        ),
        found_template="An instance is repeated: {detail}.",
        likely_causes=(
            "two intermediaries both sealed as the same instance (the second did not read the "
            "existing chain)",
            "the same set was added twice by a retry",
        ),
        fix=(
            "The operator of the intermediary that added the second set must make its ARC "
            "software number its set one above the highest existing instance."
        ),
        responsible="intermediary",
        spec="RFC 8617 §4.2.1, §5.2",
        severity_hint="error",
    ),
    _E(
        code="arc.instance-gap",
        title="ARC instances are missing from the chain",
        checked=("Instance numbers must run from 1 to the newest without gaps (RFC 8617 §5.2)."),
        found_template="The chain has a gap: {detail}.",
        likely_causes=(
            "a relay removed a whole ARC set",
            "ARC software that numbered its set wrongly",
        ),
        fix=(
            "The operator of the intermediary after the gap must number its set one above the "
            "highest existing instance; relays must not remove ARC fields."
        ),
        responsible="intermediary",
        spec="RFC 8617 §4.2.1, §5.2",
        severity_hint="error",
    ),
    _E(
        code="arc.cv-fail",
        title="An ARC sealer recorded that the chain had already failed",
        checked=(
            "Each ARC-Seal says in cv= what its sealer found: none (first set), pass or fail "
            "(RFC 8617 §4.1.3). A chain with cv=fail anywhere fails for good (§5.2)."
        ),
        found_template="A seal says cv=fail: {detail}.",
        likely_causes=(
            "the message was changed between two intermediaries, so the later one could not "
            "validate the earlier sets",
            "the earlier sealer's key was not available to the later one",
        ),
        fix=(
            "Look at the sets before the one that wrote cv=fail: the intermediary or relay "
            "between them changed the message or broke a set."
        ),
        responsible="intermediary",
        spec="RFC 8617 §4.1.3, §5.2",
        severity_hint="error",
    ),
    _E(
        code="arc.cv-invalid",
        title="An ARC seal has the wrong cv= value for its position",
        checked=(
            "The first set's seal must say cv=none and every later one cv=pass (RFC 8617 §5.2)."
        ),
        found_template="A seal's cv= does not fit its position: {detail}.",
        likely_causes=(
            "ARC software that writes cv=none on a later set because it did not find the "
            "earlier ones",
            "ARC software that writes cv=pass on the first set",
        ),
        fix=(
            "The operator of the intermediary that added the seal must fix its ARC software's "
            "chain validation."
        ),
        responsible="intermediary",
        spec="RFC 8617 §4.1.3, §5.2",
        severity_hint="error",
    ),
    _E(
        code="arc.unsupported-algorithm",
        title="An ARC signature uses an algorithm that is not accepted",
        checked=(
            "ARC signatures use rsa-sha256 or ed25519-sha256 (RFC 8617 §4.1, RFC 8463); "
            "SHA-1 signatures must not be considered valid (RFC 8301 §3.1)."
        ),
        found_template="The signature algorithm cannot be accepted: {detail}.",
        likely_causes=(
            "old ARC software signing with rsa-sha1",
            "a typing error in the ARC signer's configuration",
        ),
        fix="The operator of the intermediary must seal with rsa-sha256 or ed25519-sha256.",
        responsible="intermediary",
        spec="RFC 8617 §4.1.2, RFC 8301 §3.1",
        severity_hint="error",
    ),
    _E(
        code="arc.ams-signs-seal",
        title="An ARC-Message-Signature signs ARC-Seal fields",
        checked=(
            "The ARC-Message-Signature must not list ARC-Seal in its h= (RFC 8617 §4.1.2): "
            "seals are added after it."
        ),
        found_template="The message signature covers ARC-Seal: {detail}.",
        likely_causes=("ARC software that signs every header field it finds",),
        fix=(
            "The operator of the intermediary must leave ARC-Seal out of the fields its "
            "ARC-Message-Signature signs."
        ),
        responsible="intermediary",
        spec="RFC 8617 §4.1.2",
        severity_hint="error",
    ),
    # -- the signatures (RFC 8617 §5.2) -----------------------------------------------------------
    _E(
        code="arc.ams-body-hash-mismatch",
        title="The body changed after an ARC set was added",
        checked=(
            "The ARC-Message-Signature carries a hash of the body as the intermediary sent it "
            "(bh=); the verifier recomputes it (RFC 8617 §4.1.2, RFC 6376 §3.7)."
        ),
        found_template="The ARC message signature's body hash does not match: {detail}.",
        likely_causes=(
            "a later handler (another list, a gateway) changed the body without adding its "
            "own ARC set",
            "the copy analysed here was re-encoded when it was saved",
        ),
        fix=(
            "The handler that changed the message after this set must add its own ARC set; "
            "analyse the exact bytes as received."
        ),
        responsible="intermediary",
        spec="RFC 8617 §4.1.2, RFC 6376 §6.1.3",
        severity_hint="error",
    ),
    _E(
        code="arc.ams-signature-mismatch",
        title="An ARC-Message-Signature does not verify",
        checked=(
            "The verifier hashes the header fields the ARC-Message-Signature lists in h= and "
            "checks its b= with the sealer's published key (RFC 8617 §4.1.2)."
        ),
        found_template="The ARC message signature does not verify: {detail}.",
        likely_causes=(
            "a signed header field was changed after the set was added",
            "the key in DNS is not the one the intermediary signed with",
        ),
        fix=(
            "The handler that changed the header fields must add its own ARC set; if the key "
            "was rotated, the sealer's DNS administrator must publish the matching key."
        ),
        responsible="intermediary",
        spec="RFC 8617 §4.1.2, RFC 6376 §6.1.3",
        severity_hint="error",
    ),
    _E(
        code="arc.seal-signature-mismatch",
        title="An ARC-Seal does not verify",
        checked=(
            "Each ARC-Seal signs the ARC fields of its own set and of every earlier set, in "
            "instance order (RFC 8617 §5.1.1); the verifier checks it with the sealer's key."
        ),
        found_template="The ARC seal does not verify: {detail}.",
        likely_causes=(
            "an ARC field of this or an earlier set was changed after sealing (re-folded, "
            "re-encoded, edited)",
            "the key in DNS is not the one the sealer used",
            "the sealer's ARC software hashes the sets differently from RFC 8617",
        ),
        fix=(
            "The operator of the sealing domain must check that its seals verify with its "
            "published key; relays must not modify ARC fields."
        ),
        responsible="intermediary",
        spec="RFC 8617 §5.1.1, §5.2",
        severity_hint="error",
    ),
    _E(
        code="arc.verifier-error",
        title="The verifier could not process an ARC signature",
        checked=(
            "The header hash and the RSA check are computed by dkimpy; an error it raises on "
            "this field is caught and reported here instead of stopping the analysis."
        ),
        found_template="The ARC signature could not be checked: {detail}.",
        likely_causes=(
            "a malformed field or key that dkimpy cannot process",
            "a case the analyser does not handle yet",
        ),
        fix="Report the message to the dkim2web maintainers, with this finding.",
        responsible="analyser",
        spec="RFC 8617 §5.2",
        severity_hint="error",
    ),
    _E(
        code="arc.body-length-limit",
        title="An ARC-Message-Signature covers only the first part of the body (l=)",
        checked=(
            "The l= tag limits a signature to the first octets of the body, so text can be "
            "appended afterwards without breaking it (RFC 6376 §3.5, §8.2)."
        ),
        found_template="The ARC message signature has a body length limit: {detail}.",
        likely_causes=("the intermediary's ARC software uses l=",),
        fix=(
            "The operator of the intermediary should stop using l=: content appended later is "
            "not covered."
        ),
        responsible="intermediary",
        spec="RFC 6376 §3.5, §8.2",
        severity_hint="warning",
    ),
    # -- keys (RFC 6376 §3.6.1, §6.1.2; RFC 8301 §3.2) -------------------------------------------
    _E(
        code="arc.key-not-found",
        title="No key is published for an ARC signature",
        checked=(
            "ARC keys are DKIM keys: the verifier asks DNS for the TXT record at "
            "<selector>._domainkey.<domain> (RFC 8617 §4.1, RFC 6376 §6.1.2)."
        ),
        found_template="No key was found: {detail}.",
        likely_causes=(
            "the intermediary rotated its ARC keys since the message passed through it",
            "the intermediary seals with a selector whose key was never published",
        ),
        fix=_KEY_FIX,
        responsible="dns",
        spec="RFC 6376 §6.1.2",
        severity_hint="error",
    ),
    _E(
        code="arc.key-temperror",
        title="An ARC key could not be fetched just now",
        checked=(
            "A DNS server failure, a timeout or an exhausted lookup budget is a temporary "
            "failure; the chain cannot be validated now, and a later check may pass."
        ),
        found_template="The key lookup failed temporarily: {detail}.",
        likely_causes=(
            "the sealing domain's name servers are down, slow or misconfigured",
            "the message needed more DNS lookups than the analyser allows for one message",
        ),
        fix=(
            "Check again later; if the failure persists, the DNS administrator of the sealing "
            "domain must fix its name servers."
        ),
        responsible="dns",
        spec="RFC 6376 §6.1.2",
        severity_hint="error",
    ),
    _E(
        code="arc.key-name-invalid",
        title="An ARC key's DNS name is not valid",
        checked=(
            "The key lives at <selector>._domainkey.<domain>, which must be a valid DNS name."
        ),
        found_template="No key can exist at that name: {detail}.",
        likely_causes=("an overlong selector or domain in the ARC field",),
        fix="The operator of the intermediary must seal with a selector that forms a valid name.",
        responsible="intermediary",
        spec="RFC 6376 §3.6.2.1, §6.1.2",
        severity_hint="error",
    ),
    _E(
        code="arc.key-syntax",
        title="The published ARC key record cannot be used",
        checked=(
            "A key record is a tag list with v=DKIM1 (optional), k= and a base64 p= public "
            "key (RFC 6376 §3.6.1)."
        ),
        found_template="The key record is broken: {detail}.",
        likely_causes=(
            "the record was pasted with a missing or extra character, or split wrongly",
            "another kind of TXT record was published at the key's name",
        ),
        fix=(
            "The DNS administrator of the sealing domain must republish the key record exactly "
            "as the ARC software printed it."
        ),
        responsible="dns",
        spec="RFC 6376 §3.6.1, §6.1.2",
        severity_hint="error",
    ),
    _E(
        code="arc.key-revoked",
        title="An ARC key has been revoked",
        checked="A key record with an empty p= means the key has been revoked (RFC 6376 §3.6.1).",
        found_template="The key is revoked: {detail}.",
        likely_causes=(
            "the intermediary rotated its keys after the message passed through it",
            "the key was revoked after a compromise",
        ),
        fix=(
            "If the message is recent, the operator of the sealing domain must seal with a "
            "selector whose key is published."
        ),
        responsible="intermediary",
        spec="RFC 6376 §3.6.1, §6.1.2",
        severity_hint="error",
    ),
    _E(
        code="arc.key-type-mismatch",
        title="An ARC key's type does not match the signature algorithm",
        checked=(
            "The key record's k= (rsa by default, or ed25519) must be the key type of the "
            "signature's a= (RFC 6376 §3.6.1)."
        ),
        found_template="The key and the signature disagree on the algorithm: {detail}.",
        likely_causes=("a key of the other type was published under the ARC selector",),
        fix=(
            "The DNS administrator of the sealing domain must publish the key of the right "
            "type under the selector the ARC software uses."
        ),
        responsible="dns",
        spec="RFC 6376 §3.6.1, §6.1.2",
        severity_hint="error",
    ),
    _E(
        code="arc.key-hash-not-allowed",
        title="An ARC key does not allow the signature's hash algorithm",
        checked=(
            "A key record's h= tag, when present, lists the hash algorithms the key may be "
            "used with (RFC 6376 §3.6.1)."
        ),
        found_template="The key's hash restriction excludes this signature: {detail}.",
        likely_causes=("an old key record with h=sha1",),
        fix="The DNS administrator of the sealing domain must remove h= from the key record.",
        responsible="dns",
        spec="RFC 6376 §3.6.1, §6.1.2",
        severity_hint="error",
    ),
    _E(
        code="arc.key-service-mismatch",
        title="An ARC key is not meant for e-mail",
        checked=(
            "A key record's s= tag lists the services the key may be used for; it must "
            "include email or * (RFC 6376 §3.6.1)."
        ),
        found_template="The key's service types exclude e-mail: {detail}.",
        likely_causes=("the key was published for another service",),
        fix=(
            "The DNS administrator of the sealing domain must publish an e-mail key under the "
            "ARC selector."
        ),
        responsible="dns",
        spec="RFC 6376 §3.6.1",
        severity_hint="error",
    ),
    _E(
        code="arc.key-too-short",
        title="An ARC RSA key is shorter than 1024 bits",
        checked=(
            "RFC 8301 §3.2 says verifiers must not consider signatures made with RSA keys of "
            "less than 1024 bits valid."
        ),
        found_template="The key is too short: {detail}.",
        likely_causes=("an old or test key used for ARC sealing",),
        fix=(
            "The operator of the sealing domain must generate an RSA key of 2048 bits, publish "
            "it under a new selector and seal with it."
        ),
        responsible="intermediary",
        spec="RFC 8301 §3.2",
        severity_hint="error",
    ),
    _E(
        code="arc.key-too-large",
        title="An ARC key is too large for the analyser to use",
        checked=(
            "The analyser uses RSA keys of up to 8192 bits with public exponents of up to 64 "
            "bits, so that a hostile key cannot make a check take minutes."
        ),
        found_template="The key was not used: {detail}.",
        likely_causes=("a hostile key published to slow verifiers down",),
        fix=(
            "A genuine sealer must use an RSA key of 2048 to 4096 bits with the exponent "
            "65537, or an Ed25519 key."
        ),
        responsible="intermediary",
        spec="RFC 6376 §3.6.1",
        severity_hint="error",
    ),
    _E(
        code="arc.key-testing",
        title="An ARC key is marked as testing (t=y)",
        checked=(
            "A key record with t=y says the domain is testing its keys (RFC 6376 §3.6.1); "
            "receivers may give the signature less weight."
        ),
        found_template="The key is in testing mode: {detail}.",
        likely_causes=("the sealing domain never removed the testing flag",),
        fix=(
            "The DNS administrator of the sealing domain should remove t=y once its seals "
            "verify reliably."
        ),
        responsible="dns",
        spec="RFC 6376 §3.6.1",
        severity_hint="warning",
    ),
    _E(
        code="arc.key-multiple-records",
        title="Several TXT records are published at an ARC key's name",
        checked=(
            "A key name should hold one TXT record; with several, the verifier picks one "
            "(RFC 6376 §6.1.2), and different verifiers may pick differently."
        ),
        found_template="More than one record was found: {detail}.",
        likely_causes=("an old key was left in place next to a new one",),
        fix=(
            "The DNS administrator of the sealing domain must leave exactly one TXT record at "
            "the key's name."
        ),
        responsible="dns",
        spec="RFC 6376 §6.1.2",
        severity_hint="warning",
    ),
)
