"""Explanations of the DKIM1 findings (RFC 6376, RFC 8301, RFC 8463), made by
:mod:`analysis.dkim1`.

Each finding's detail names the signature's domain, selector or key record, so the
templates end with ``{detail}``.
"""

from __future__ import annotations

from . import Explanation

_E = Explanation

_KEY_FIX_DNS = (
    "The DNS administrator of the signing domain (d=) must publish the key the signer uses at "
    "<selector>._domainkey.<domain>, as a single TXT record; until then the signer should "
    "sign with a selector whose key is published."
)

ENTRIES: tuple[Explanation, ...] = (
    # -- the signature field (RFC 6376 §3.5, §6.1.1) ---------------------------------------------
    _E(
        code="dkim1.syntax",
        title="The DKIM-Signature field cannot be parsed",
        checked=(
            "A DKIM-Signature field is a list of tag=value pairs with fixed rules for each tag "
            "(RFC 6376 §3.2, §3.5). The verifier reads every tag before checking anything else."
        ),
        found_template="The DKIM-Signature field breaks the syntax rules: {detail}.",
        likely_causes=(
            "the signing software writes a malformed tag (a bad domain, an unknown version, "
            "a timestamp in the wrong form)",
            "a gateway or mailing list re-wrapped or re-encoded the field after signing",
            "the field was written by hand or by a test tool",
        ),
        fix=(
            "The operator of the signing domain must fix or update the software that writes "
            "the DKIM-Signature field; a relay that rewrites header fields must leave it alone."
        ),
        responsible="signer",
        spec="RFC 6376 §3.2, §3.5, §6.1.1",
        severity_hint="error",
    ),
    _E(
        code="dkim1.missing-tag",
        title="The DKIM-Signature field lacks a required tag",
        checked=(
            "Every DKIM-Signature must carry v=, a=, b=, bh=, d=, h= and s= (RFC 6376 §3.5); "
            "without them the signature cannot be checked."
        ),
        found_template="A required tag is missing: {detail}.",
        likely_causes=(
            "the signing software is broken or only partly configured",
            "the field was cut short when a relay re-folded or truncated long header lines",
        ),
        fix="The operator of the signing domain must fix the software that signs its mail.",
        responsible="signer",
        spec="RFC 6376 §3.5, §6.1.1",
        severity_hint="error",
    ),
    _E(
        code="dkim1.unknown-algorithm",
        title="The signature uses an algorithm the verifier does not know",
        checked=(
            "The a= tag names the signing algorithm: rsa-sha256, ed25519-sha256 (RFC 8463) or "
            "the retired rsa-sha1 (RFC 6376 §3.3)."
        ),
        found_template="The signature algorithm is not supported: {detail}.",
        likely_causes=(
            "a typing error in the signer's configuration",
            "an experimental or private algorithm name",
        ),
        fix="The operator of the signing domain must sign with rsa-sha256 or ed25519-sha256.",
        responsible="signer",
        spec="RFC 6376 §3.3, RFC 8463 §3",
        severity_hint="error",
    ),
    _E(
        code="dkim1.identity-mismatch",
        title="The signature's i= is outside its d= domain",
        checked=(
            "The identity in i= must be in the signing domain d= or one of its subdomains "
            "(RFC 6376 §3.5); otherwise the signature is invalid."
        ),
        found_template="The identity does not belong to the signing domain: {detail}.",
        likely_causes=(
            "the signer is configured with the identity of another domain",
            "a multi-tenant signing service mixed up two customers' settings",
        ),
        fix=(
            "The operator of the signing domain must set i= to an address in d= (or leave i= out)."
        ),
        responsible="signer",
        spec="RFC 6376 §3.5, §6.1.1",
        severity_hint="error",
    ),
    _E(
        code="dkim1.field-too-large",
        title="The DKIM-Signature field is too large to verify here",
        checked=(
            "The analyser reads signature fields of bounded size, tag count and h= length, "
            "so that a hostile message cannot make it work without end (RFC 6376 §6.1 lets a "
            "verifier limit its work)."
        ),
        found_template="The field was not verified because it is too large: {detail}.",
        likely_causes=(
            "the message was built to exhaust verifiers",
            "a broken signer repeated tags or header names many times",
        ),
        fix=(
            "Nobody needs to act for a hostile message; a genuine signer must keep its "
            "signature fields to a normal size."
        ),
        responsible="signer",
        spec="RFC 6376 §6.1",
        severity_hint="error",
    ),
    # -- policy (RFC 6376 §5.4, §3.5; RFC 8301) ---------------------------------------------------
    _E(
        code="dkim1.from-not-signed",
        title="The signature does not cover the From field",
        checked=(
            "A DKIM signature must include the From field in its h= list (RFC 6376 §5.4); a "
            "verifier must ignore a signature that does not (§6.1.1)."
        ),
        found_template="The From field is not signed: {detail}.",
        likely_causes=(
            "the signer's list of header fields to sign was edited and From was dropped",
            "the signing software signs a fixed list that does not include From",
        ),
        fix="The operator of the signing domain must add From to the header fields it signs.",
        responsible="signer",
        spec="RFC 6376 §5.4, §6.1.1",
        severity_hint="error",
    ),
    _E(
        code="dkim1.sha1",
        title="The signature uses SHA-1, which is no longer accepted",
        checked=(
            "RFC 8301 §3.1 says verifiers must not consider signatures using SHA-1 "
            "(a=rsa-sha1) valid, because SHA-1 is broken."
        ),
        found_template="The signature uses rsa-sha1: {detail}.",
        likely_causes=(
            "very old signing software or configuration",
            "a signer that falls back to SHA-1 for compatibility",
        ),
        fix="The operator of the signing domain must sign with rsa-sha256 or ed25519-sha256.",
        responsible="signer",
        spec="RFC 8301 §3.1",
        severity_hint="error",
    ),
    _E(
        code="dkim1.future-timestamp",
        title="The signature is dated in the future",
        checked=(
            "The t= tag gives the signing time; a verifier may ignore a signature whose time "
            "is later than the verification time (RFC 6376 §3.5). A quarter of an hour is "
            "allowed for clock differences."
        ),
        found_template="The signing time lies in the future: {detail}.",
        likely_causes=(
            "the signing server's clock is wrong",
            "the message was analysed with a verification time earlier than its arrival",
        ),
        fix=(
            "The operator of the signing domain must synchronise its signing servers' clocks (NTP)."
        ),
        responsible="signer",
        spec="RFC 6376 §3.5",
        severity_hint="error",
    ),
    _E(
        code="dkim1.expired",
        title="The signature has expired",
        checked=(
            "The x= tag gives the time after which the signer no longer vouches for the "
            "signature; a verifier may then consider it invalid (RFC 6376 §3.5)."
        ),
        found_template="The signature's expiry time has passed: {detail}.",
        likely_causes=(
            "the message is being checked long after it was sent (an old message, a re-analysis)",
            "the signer sets a very short lifetime and delivery was slow",
        ),
        fix=(
            "Usually nothing: check the message as of its arrival time. A signer whose "
            "signatures expire before delivery must choose a longer x=."
        ),
        responsible="signer",
        spec="RFC 6376 §3.5, §6.1.1",
        severity_hint="error",
    ),
    _E(
        code="dkim1.extra-from-field",
        title="The message has more From fields than the signature covers",
        checked=(
            "A signature covers as many From fields as h= lists. An extra, unsigned From field "
            "above the signed one is what readers see, while the signature still verifies "
            "(RFC 6376 §8.15)."
        ),
        found_template="A From field is not covered by the signature: {detail}.",
        likely_causes=(
            "someone added a From field to a signed message to impersonate the author",
            "a broken mail program duplicated the From field",
        ),
        fix=(
            "Receivers should treat the message as suspicious; signers should list From in "
            "h= one time more than it occurs (oversigning) so added fields break the signature."
        ),
        responsible="signer",
        spec="RFC 6376 §8.15",
        severity_hint="warning",
    ),
    _E(
        code="dkim1.body-length-limit",
        title="The signature covers only the first part of the body (l=)",
        checked=(
            "The l= tag limits the signature to the first octets of the body, so text can be "
            "appended after signing without breaking it (RFC 6376 §3.5, §8.2)."
        ),
        found_template="The signature has a body length limit: {detail}.",
        likely_causes=(
            "the signer uses l= so that mailing list footers do not break its signature",
        ),
        fix=(
            "The operator of the signing domain should stop using l=: anyone can append "
            "content (a different message, a link) that the signature then seems to vouch for."
        ),
        responsible="signer",
        spec="RFC 6376 §3.5, §8.2",
        severity_hint="warning",
    ),
    # -- the key (RFC 6376 §3.6.1, §6.1.2; RFC 8301 §3.2) ----------------------------------------
    _E(
        code="dkim1.key-not-found",
        title="No DKIM key is published for the signature",
        checked=(
            "The verifier asks DNS for the TXT record at <selector>._domainkey.<domain> "
            "(RFC 6376 §3.6.2). A name that does not exist, or exists without a TXT record, "
            "means there is no key (§6.1.2)."
        ),
        found_template="No key was found: {detail}.",
        likely_causes=(
            "the key was removed or the selector rotated since the message was sent",
            "the signer uses a selector whose key was never published",
            "a typing error in the selector or the published name",
        ),
        fix=_KEY_FIX_DNS,
        responsible="dns",
        spec="RFC 6376 §6.1.2",
        severity_hint="error",
    ),
    _E(
        code="dkim1.key-temperror",
        title="The DKIM key could not be fetched just now",
        checked=(
            "The verifier asks DNS for the key; a server failure, a timeout or an exhausted "
            "lookup budget is a temporary failure (RFC 6376 §6.1.2), and a later check may "
            "succeed."
        ),
        found_template="The key lookup failed temporarily: {detail}.",
        likely_causes=(
            "the domain's name servers are down, slow or misconfigured (SERVFAIL)",
            "the network between the analyser and the name servers is unreliable",
            "the message needed more DNS lookups than the analyser allows for one message",
        ),
        fix=(
            "Check again later; if the failure persists, the DNS administrator of the signing "
            "domain must fix its name servers."
        ),
        responsible="dns",
        spec="RFC 6376 §6.1.2",
        severity_hint="error",
    ),
    _E(
        code="dkim1.key-name-invalid",
        title="The key's DNS name is not valid",
        checked=(
            "The key lives at <selector>._domainkey.<domain>; that name must be a valid DNS "
            "name (labels of at most 63 characters, at most 253 in all)."
        ),
        found_template="No key can exist at that name: {detail}.",
        likely_causes=(
            "an overlong selector or domain in the signature",
            "a hostile message made to trigger lookups of odd names",
        ),
        fix="The operator of the signing domain must use a selector that forms a valid name.",
        responsible="signer",
        spec="RFC 6376 §3.6.2.1, §6.1.2",
        severity_hint="error",
    ),
    _E(
        code="dkim1.key-syntax",
        title="The published DKIM key record cannot be used",
        checked=(
            "A key record is a tag list with v=DKIM1 (optional), k= and a base64 p= public "
            "key (RFC 6376 §3.6.1); a record that breaks these rules must be ignored "
            "(§6.1.2)."
        ),
        found_template="The key record is broken: {detail}.",
        likely_causes=(
            "the record was pasted with a missing or extra character, or split wrongly into "
            "TXT strings",
            "the DNS provider's web form mangled quotes, spaces or semicolons",
            "another kind of TXT record (for example SPF) was published at the key's name",
        ),
        fix=(
            "The DNS administrator of the signing domain must republish the key record exactly "
            "as the signing software printed it."
        ),
        responsible="dns",
        spec="RFC 6376 §3.6.1, §6.1.2",
        severity_hint="error",
    ),
    _E(
        code="dkim1.key-revoked",
        title="The DKIM key has been revoked",
        checked=(
            "A key record with an empty p= means the key has been revoked (RFC 6376 §3.6.1); "
            "signatures made with it must fail (§6.1.2)."
        ),
        found_template="The key is revoked: {detail}.",
        likely_causes=(
            "the signer rotated its keys and revoked the old selector; the message is older "
            "than the rotation",
            "the key was revoked after a compromise",
        ),
        fix=(
            "If the message is recent, the operator of the signing domain must sign with a "
            "selector whose key is published; revoked selectors must not be used."
        ),
        responsible="signer",
        spec="RFC 6376 §3.6.1, §6.1.2",
        severity_hint="error",
    ),
    _E(
        code="dkim1.key-type-mismatch",
        title="The key type does not match the signature algorithm",
        checked=(
            "The key record's k= (rsa by default, or ed25519) must be the key type of the "
            "signature's a= (RFC 6376 §3.6.1, §6.1.2; RFC 8463)."
        ),
        found_template="The key and the signature disagree on the algorithm: {detail}.",
        likely_causes=(
            "an Ed25519 key was published under a selector used for RSA signatures, or the "
            "other way round",
            "the record lacks k=ed25519, so it is read as an RSA key",
        ),
        fix=(
            "The DNS administrator of the signing domain must publish the key of the right "
            "type under the selector the signer uses (each algorithm its own selector)."
        ),
        responsible="dns",
        spec="RFC 6376 §3.6.1, §6.1.2",
        severity_hint="error",
    ),
    _E(
        code="dkim1.key-hash-not-allowed",
        title="The key does not allow the signature's hash algorithm",
        checked=(
            "A key record's h= tag, when present, lists the hash algorithms the key may be "
            "used with (RFC 6376 §3.6.1); signatures with another hash must fail."
        ),
        found_template="The key's hash restriction excludes this signature: {detail}.",
        likely_causes=(
            "the key record says h=sha1 (an old record) while the signer moved to sha256",
        ),
        fix="The DNS administrator of the signing domain must remove h= from the key record.",
        responsible="dns",
        spec="RFC 6376 §3.6.1, §6.1.2",
        severity_hint="error",
    ),
    _E(
        code="dkim1.key-service-mismatch",
        title="The key is not meant for e-mail",
        checked=(
            "A key record's s= tag lists the services the key may be used for; it must "
            "include email or * (RFC 6376 §3.6.1)."
        ),
        found_template="The key's service types exclude e-mail: {detail}.",
        likely_causes=("the key was published for another service (for example s=tlsrpt)",),
        fix=(
            "The DNS administrator of the signing domain must publish an e-mail key (s=email, "
            "or no s= at all) under the selector the signer uses."
        ),
        responsible="dns",
        spec="RFC 6376 §3.6.1",
        severity_hint="error",
    ),
    _E(
        code="dkim1.key-strict-identity",
        title="The key forbids signing for a subdomain",
        checked=(
            "A key record with t=s requires the domain of the signature's i= to be d= "
            "itself, not a subdomain (RFC 6376 §3.6.1)."
        ),
        found_template="The signature's identity breaks the key's t=s rule: {detail}.",
        likely_causes=(
            "the signer signs mail of a subdomain with a key that is restricted to the "
            "parent domain",
        ),
        fix=(
            "The operator of the signing domain must set i= in d= itself, or the DNS "
            "administrator must remove s from the key's t= flags."
        ),
        responsible="signer",
        spec="RFC 6376 §3.6.1",
        severity_hint="error",
    ),
    _E(
        code="dkim1.key-too-short",
        title="The RSA key is shorter than 1024 bits",
        checked=(
            "RFC 8301 §3.2 says verifiers must not consider signatures made with RSA keys of "
            "less than 1024 bits valid: such keys can be broken."
        ),
        found_template="The key is too short: {detail}.",
        likely_causes=(
            "a key generated many years ago with 512 or 768 bits and never replaced",
            "a test key left in production",
        ),
        fix=(
            "The operator of the signing domain must generate an RSA key of 2048 bits, publish "
            "it under a new selector and sign with it."
        ),
        responsible="signer",
        spec="RFC 8301 §3.2",
        severity_hint="error",
    ),
    _E(
        code="dkim1.key-too-large",
        title="The key is too large for the analyser to use",
        checked=(
            "The analyser uses RSA keys of up to 8192 bits with public exponents of up to 64 "
            "bits, so that a hostile key cannot make a check take minutes."
        ),
        found_template="The key was not used: {detail}.",
        likely_causes=(
            "a hostile key published to slow verifiers down",
            "an unusual key generator with a huge public exponent",
        ),
        fix=(
            "A genuine signer must use an RSA key of 2048 to 4096 bits with the exponent "
            "65537, or an Ed25519 key."
        ),
        responsible="signer",
        spec="RFC 6376 §3.6.1",
        severity_hint="error",
    ),
    _E(
        code="dkim1.key-testing",
        title="The signing domain says it is testing DKIM (t=y)",
        checked=(
            "A key record with t=y marks the domain as testing DKIM; RFC 6376 §3.6.1 asks "
            "verifiers not to treat its mail differently from unsigned mail."
        ),
        found_template="The key is in testing mode: {detail}.",
        likely_causes=("the domain started DKIM and never removed the testing flag",),
        fix=(
            "Once its signatures verify reliably, the DNS administrator of the signing domain "
            "should remove t=y from the key record."
        ),
        responsible="dns",
        spec="RFC 6376 §3.6.1",
        severity_hint="warning",
    ),
    _E(
        code="dkim1.key-multiple-records",
        title="Several TXT records are published at the key's name",
        checked=(
            "A key name should hold one TXT record; with several, the verifier picks one "
            "(RFC 6376 §6.1.2), and different verifiers may pick differently."
        ),
        found_template="More than one record was found: {detail}.",
        likely_causes=(
            "an old key was left in place next to a new one",
            "the record was added twice through a DNS provider's interface",
        ),
        fix=(
            "The DNS administrator of the signing domain must leave exactly one TXT record at "
            "the key's name."
        ),
        responsible="dns",
        spec="RFC 6376 §6.1.2",
        severity_hint="warning",
    ),
    # -- the hashes (RFC 6376 §3.7, §6.1.3) --------------------------------------------------------
    _E(
        code="dkim1.body-hash-mismatch",
        title="The body changed after it was signed",
        checked=(
            "The verifier canonicalises the body as the signature's c= says, hashes it (up to "
            "l= octets) and compares the result with the bh= tag (RFC 6376 §3.7, §6.1.3)."
        ),
        found_template="The body hash does not match: {detail}.",
        likely_causes=(
            "a mailing list added a footer or a subject tag, or rewrote the body",
            "a security gateway rewrote links, added a banner or re-encoded the MIME parts",
            "the copy analysed here was re-encoded or re-wrapped when it was saved",
        ),
        fix=(
            "Whoever changes messages after signing (list, forwarder, gateway) should stop "
            "changing the body or add its own signature (or ARC seal); export the exact bytes "
            "as received when analysing."
        ),
        responsible="intermediary",
        spec="RFC 6376 §3.7, §6.1.3",
        severity_hint="error",
    ),
    _E(
        code="dkim1.signature-mismatch",
        title="The signature does not verify",
        checked=(
            "The verifier hashes the header fields listed in h= and the signature field itself "
            "(without its b= value), then checks b= with the published key (RFC 6376 §3.7, "
            "§6.1.3)."
        ),
        found_template="The header signature does not verify: {detail}.",
        likely_causes=(
            "a signed header field (Subject, From, To, Date) was changed after signing, for "
            "example by a mailing list",
            "the key in DNS is not the one the signer used (a rotation that went wrong)",
            "a relay re-folded or re-encoded signed header fields and the signature uses "
            "simple header canonicalisation",
        ),
        fix=(
            "If the key was rotated, the signer's DNS administrator must publish the key that "
            "matches the signing key; otherwise whoever changed the header fields should stop "
            "or add its own signature."
        ),
        responsible="intermediary",
        spec="RFC 6376 §3.7, §6.1.3",
        severity_hint="error",
    ),
    _E(
        code="dkim1.verifier-error",
        title="The verifier could not process this signature",
        checked=(
            "The header hash and the RSA check are computed by dkimpy; an error it raises on "
            "this field is caught and reported here instead of stopping the analysis."
        ),
        found_template="The signature could not be checked: {detail}.",
        likely_causes=(
            "a malformed field or key that dkimpy cannot process",
            "a case the analyser does not handle yet",
        ),
        fix=(
            "Report the message to the dkim2web maintainers, with this finding; the signature "
            "itself may well be broken too."
        ),
        responsible="analyser",
        spec="RFC 6376 §6.1.3",
        severity_hint="error",
    ),
    _E(
        code="dkim1.too-many-signatures",
        title="Too many DKIM signatures: only the first ones were verified",
        checked=(
            "The analyser verifies a bounded number of DKIM-Signature fields per message, "
            "the topmost first (RFC 6376 §6.1 lets a verifier limit them)."
        ),
        found_template="Not every signature was verified: {detail}.",
        likely_causes=(
            "a message built to exhaust verifiers",
            "a mail loop in which each pass added a signature",
        ),
        fix=(
            "Nobody needs to act for a hostile message; a loop must be fixed by the operators "
            "of the servers involved."
        ),
        responsible="analyser",
        spec="RFC 6376 §6.1",
        severity_hint="warning",
    ),
)
