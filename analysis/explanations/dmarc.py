"""Explanations of the DMARC findings (RFC 9989, analysis.dmarc).

Section numbers are those of RFC 9989 (the text of draft-ietf-dmarc-dmarcbis-41).  "The
From domain" is the Author Domain (§3.2.2); its owner is whoever controls its DNS and
its mail streams.
"""

from __future__ import annotations

from . import Explanation

_E = Explanation

ENTRIES: tuple[Explanation, ...] = (
    # -- the result ----------------------------------------------------------------------------
    _E(
        code="dmarc.pass",
        title="DMARC passes",
        checked=(
            "DMARC asks whether an identifier that passed SPF or DKIM belongs to the same "
            "domain (or organisation) as the address in the From field (RFC 9989 §4.4, "
            "§5.3.5)."
        ),
        found_template="The From domain is authenticated: {detail}.",
        likely_causes=("the sender signs or sends with its own domain, as DMARC expects",),
        fix="Nothing to fix.",
        responsible="none",
        spec="RFC 9989 §4.4, §5.3.5",
        severity_hint="info",
    ),
    _E(
        code="dmarc.fail",
        title="DMARC fails: nothing aligned with the From domain passed",
        checked=(
            "DMARC looked for an SPF or DKIM result that passed for the From domain or a domain "
            "of the same organisation, and read the policy the From domain publishes for mail "
            "that has none (RFC 9989 §4.10.1, §5.3.5)."
        ),
        found_template="The message fails DMARC: {detail}.",
        likely_causes=(
            "the message is forged: someone else used the From domain",
            "a forwarder or mailing list changed the message and broke the From domain's DKIM "
            "signature, and SPF failed because the message came through the forwarder",
            "the sender uses a service (newsletter, CRM, ticketing) that signs with its own "
            "domain and uses its own bounce domain instead of the From domain's",
            "the sending server does not sign with DKIM at all",
        ),
        fix=(
            "The From domain's owner, if the message is genuine: sign every mail stream with "
            "DKIM d= the From domain (or a subdomain of it), and use a bounce (MAIL FROM) "
            "domain under the From domain whose SPF record lists the sending servers. A "
            "forwarder or list that changes messages should rewrite the From field or stop "
            "changing them."
        ),
        responsible="sender",
        spec="RFC 9989 §5.3.5, §5.3.6",
        severity_hint="error",
    ),
    _E(
        code="dmarc.no-policy",
        title="The From domain publishes no DMARC policy",
        checked=(
            "DMARC looks for a TXT record at _dmarc.<From domain>, then walks up the parent "
            "domains (RFC 9989 §4.10, §4.10.1). Without a record, DMARC does not apply."
        ),
        found_template="No DMARC policy record was found: {detail}.",
        likely_causes=(
            "the domain's owner has never set up DMARC",
            "the record was published under the wrong name (it must be _dmarc.<domain>)",
            "the record does not start with v=DMARC1, so it does not count",
        ),
        fix=(
            "The From domain's DNS administrator: publish a TXT record at _dmarc.<domain>, for "
            'example "v=DMARC1; p=none; rua=mailto:dmarc-reports@<domain>", read the reports, '
            "then move to p=quarantine or p=reject once every mail stream passes."
        ),
        responsible="dns",
        spec="RFC 9989 §4.10.1, §5.1.4",
        severity_hint="warning",
    ),
    _E(
        code="dmarc.dns-error",
        title="A DNS question DMARC needs failed",
        checked=(
            "DMARC asks DNS for the policy record and, for relaxed alignment, for the records "
            "that decide each domain's Organizational Domain (RFC 9989 §4.10). A question that "
            "fails (server failure, timeout) leaves the result open (§5.3.6)."
        ),
        found_template="The DMARC result is unknown because a DNS question failed: {detail}.",
        likely_causes=(
            "the domain's name servers are down, unreachable or too slow",
            "a DNSSEC or delegation error makes resolvers answer SERVFAIL",
            "the analyser's DNS budget for this message ran out",
        ),
        fix=(
            "Re-run the analysis later. If it keeps failing, the DNS administrator of the "
            "domain named must fix its name servers or delegation."
        ),
        responsible="dns",
        spec="RFC 9989 §4.10.1, §5.3.6",
        severity_hint="error",
    ),
    _E(
        code="dmarc.invalid-policy",
        title="The DMARC record has no usable policy",
        checked=(
            "A DMARC record needs a valid p= tag (none, quarantine or reject), and any sp= or "
            "np= must be valid too; without them, only a valid rua= address keeps the record "
            "in force (RFC 9989 §4.10.1)."
        ),
        found_template="DMARC cannot be applied: {detail}.",
        likely_causes=(
            "the p= tag is missing or misspelt (p=rejected, p=quarantaine)",
            "an sp= or np= tag has a value other than none, quarantine or reject",
            "the record was cut or edited by a DNS hosting panel",
        ),
        fix=(
            "The From domain's DNS administrator: correct the record so that it reads, for "
            'example, "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@<domain>".'
        ),
        responsible="dns",
        spec="RFC 9989 §4.10.1, §9.2",
        severity_hint="error",
    ),
    _E(
        code="dmarc.invalid-policy-as-none",
        title="The DMARC record's policy is invalid, so it counts as p=none",
        checked=(
            "When a DMARC record's p=, sp= or np= is missing or invalid but rua= holds a valid "
            "address, receivers act as if the record said p=none (RFC 9989 §4.10.1)."
        ),
        found_template="The policy is treated as none: {detail}.",
        likely_causes=(
            "the p= tag is missing or misspelt",
            "an sp= or np= tag has a value other than none, quarantine or reject",
        ),
        fix=(
            "The From domain's DNS administrator: correct the p=, sp= and np= values; until "
            "then, nothing is enforced for this domain."
        ),
        responsible="dns",
        spec="RFC 9989 §4.10.1",
        severity_hint="warning",
    ),
    # -- the From field (Author Domain) -------------------------------------------------------
    _E(
        code="dmarc.no-from",
        title="The message has no From field",
        checked=(
            "DMARC protects the domain of the address in the From field, so it needs exactly "
            "one From field (RFC 9989 §4.2, §5.3.1)."
        ),
        found_template="DMARC cannot be evaluated: {detail}.",
        likely_causes=(
            "the sending application or script did not write a From field",
            "a gateway or filter removed it",
            "only part of the message was uploaded",
        ),
        fix=(
            "The sending system's operator: add a From field with the sender's address. "
            "Receivers often reject messages without one (RFC 5322 §3.6 requires it)."
        ),
        responsible="sender",
        spec="RFC 9989 §5.3.1",
        severity_hint="error",
    ),
    _E(
        code="dmarc.multiple-from-fields",
        title="The message has more than one From field",
        checked=(
            "A message must have exactly one From field (RFC 5322 §3.6); with several, no "
            "single domain can be protected and DMARC does not apply (RFC 9989 §4.2, §4.4, "
            "§11.5)."
        ),
        found_template="DMARC cannot be evaluated: {detail}.",
        likely_causes=(
            "a forgery that hopes the receiver checks one From field and the mail program "
            "shows the other",
            "a broken script or gateway added a second From field",
        ),
        fix=(
            "The sending system's operator: write exactly one From field. Receivers should "
            "treat such messages as suspicious."
        ),
        responsible="sender",
        spec="RFC 9989 §4.2, §11.5",
        severity_hint="error",
    ),
    _E(
        code="dmarc.from-too-long",
        title="The From field is too long to read",
        checked=(
            "The analyser reads From fields up to a fixed length, so that a hostile message "
            "cannot make it scan without end (RFC 9989 §11.5)."
        ),
        found_template="The From field was not read: {detail}.",
        likely_causes=(
            "a hostile or broken message with an enormous From field",
            "a From field listing a very large number of addresses",
        ),
        fix=(
            "The sending system's operator: send one From address. Nobody else needs to act "
            "for a forged message."
        ),
        responsible="sender",
        spec="RFC 9989 §5.3.1, §11.5",
        severity_hint="error",
    ),
    _E(
        code="dmarc.from-no-address",
        title="The From field holds no address",
        checked=(
            "DMARC takes the domain of the address in the From field (RFC 9989 §5.3.1); "
            "without an address, no domain can be protected."
        ),
        found_template="DMARC cannot be evaluated: {detail}.",
        likely_causes=(
            "the From field holds only a name, or a group such as undisclosed-recipients:;",
            "the address is malformed (no @, or nothing after it)",
        ),
        fix="The sending system's operator: put the sender's full address in the From field.",
        responsible="sender",
        spec="RFC 9989 §5.3.1",
        severity_hint="error",
    ),
    _E(
        code="dmarc.from-malformed",
        title="The From field is not a well-formed mailbox",
        checked=(
            "DMARC takes the Author Domain from the address in the From field (RFC 9989 "
            "§5.3.1). The analyser reads that field strictly by RFC 5322 §3.4, with the "
            "obsolete forms real mail still uses (§4.4): programs read a field that is not "
            "well-formed differently (CVE-2023-27043: Python read alice@example.org)"
            "<bob@example.org> as one address), so no domain in it can be trusted to be the "
            "author's."
        ),
        found_template="DMARC cannot be evaluated: {detail}.",
        likely_causes=(
            "a forgery that hopes the receiver's check and the recipient's mail program "
            "read different addresses from the same From field",
            "a script that writes the From field by hand and does not quote a display name "
            "holding '@', ',', ':', ';' or parentheses",
        ),
        fix=(
            "The sending system's operator: write one well-formed mailbox, such as \"Alice "
            'Example" <alice@example.com>, quoting any display name with special characters. '
            "Receivers should treat such messages as suspicious."
        ),
        responsible="sender",
        spec="RFC 9989 §5.3.1; RFC 5322 §3.4",
        severity_hint="error",
    ),
    _E(
        code="dmarc.from-domain-invalid",
        title="The From address's domain is not a usable domain name",
        checked=(
            "DMARC looks up the From address's domain in DNS (RFC 9989 §5.3.1); an address "
            "literal such as [192.0.2.1], or text that cannot be a DNS name, has no policy."
        ),
        found_template="DMARC cannot be evaluated: {detail}.",
        likely_causes=(
            "the sender wrote an IP address literal instead of a domain",
            "the domain has characters no DNS name can hold, or is longer than 253 octets",
            "a hostile message tries to confuse checks with a malformed domain",
        ),
        fix="The sending system's operator: use an address at a real domain in the From field.",
        responsible="sender",
        spec="RFC 9989 §5.3.1",
        severity_hint="error",
    ),
    _E(
        code="dmarc.multiple-author-domains",
        title="The From field names addresses in more than one domain",
        checked=(
            "DMARC needs one Author Domain; a From field with addresses in several domains "
            "stops DMARC validation (RFC 9989 §5.3.1, §11.5)."
        ),
        found_template="DMARC cannot be evaluated: {detail}.",
        likely_causes=(
            "a forgery that lists a trusted domain beside the real one",
            "an application that puts several authors in the From field",
        ),
        fix=(
            "The sending system's operator: put one author in the From field (and others in "
            "Reply-To or the body). Receivers should treat such messages as suspicious."
        ),
        responsible="sender",
        spec="RFC 9989 §5.3.1, §11.5",
        severity_hint="error",
    ),
    _E(
        code="dmarc.multiple-from-addresses",
        title="The From field holds several addresses in one domain",
        checked=(
            "DMARC counts the domains in the From field, not the addresses (RFC 9989 §5.3.1)."
        ),
        found_template="DMARC goes on with one Author Domain: {detail}.",
        likely_causes=("an application that lists several authors of the same organisation",),
        fix=(
            "Nothing is required. Some receivers still distrust several From addresses; one "
            "author in From is the safer choice."
        ),
        responsible="none",
        spec="RFC 9989 §5.3.1",
        severity_hint="info",
    ),
    _E(
        code="dmarc.idn-author-domain",
        title="The From domain is internationalised and was converted to its A-label",
        checked=(
            "A From domain written in Unicode (a U-label) is converted to its ASCII A-label "
            "(xn--...) before DMARC looks it up (RFC 9989 §5.3.1, RFC 5890 §2.3.2.1)."
        ),
        found_template="The From domain was converted: {detail}.",
        likely_causes=("the sender uses an internationalised domain name",),
        fix="Nothing to fix: publish the DMARC record under the A-label name.",
        responsible="none",
        spec="RFC 9989 §5.3.1",
        severity_hint="info",
    ),
    # -- the policy record --------------------------------------------------------------------
    _E(
        code="dmarc.policy-none",
        title="The DMARC policy is p=none: nothing is enforced",
        checked=(
            "The policy (p=, sp= or np=) tells receivers what the domain's owner wants done "
            "with mail that fails DMARC; none asks for nothing but reports (RFC 9989 §3.2.12, "
            "§4.7)."
        ),
        found_template="The domain is in monitoring mode: {detail}.",
        likely_causes=(
            "the domain's owner is still collecting reports before enforcing",
            "the record was set up once and never moved to enforcement",
        ),
        fix=(
            "The From domain's owner: once the aggregate reports show every genuine mail "
            "stream passing, move to p=quarantine, then p=reject. Until then anyone can send "
            "mail in the domain's name without consequence."
        ),
        responsible="dns",
        spec="RFC 9989 §4.7, §5.1.7",
        severity_hint="warning",
    ),
    _E(
        code="dmarc.testing",
        title="The DMARC record is in testing mode (t=y)",
        checked=(
            "With t=y, receivers apply the policy one level lower: reject as quarantine, "
            "quarantine as none (RFC 9989 §4.7, Appendix A.6)."
        ),
        found_template="The policy is applied one level lower: {detail}.",
        likely_causes=(
            "the domain's owner is testing a stricter policy before enforcing it",
            "t=y was left in the record after testing ended",
        ),
        fix=(
            "The From domain's owner: remove t=y (or set t=n) once the reports show genuine "
            "mail passing, so the published policy applies in full."
        ),
        responsible="dns",
        spec="RFC 9989 §4.7, Appendix A.6",
        severity_hint="warning",
    ),
    _E(
        code="dmarc.psd-policy",
        title="The policy comes from a public suffix's DMARC record",
        checked=(
            "When neither the From domain nor its Organizational Domain publishes a record, "
            "the record of the public suffix above it (one marked psd=y) applies (RFC 9989 "
            "§4.10.1, §4.10.2)."
        ),
        found_template="The Public Suffix Operator's policy applies: {detail}.",
        likely_causes=(
            "the From domain's owner has not published a DMARC record, and its registry "
            "publishes a default policy for every domain below it",
        ),
        fix=(
            "The From domain's owner: publish its own DMARC record at _dmarc.<domain>, so the "
            "registry's default no longer decides."
        ),
        responsible="dns",
        spec="RFC 9989 §4.10.1, §3.2.15",
        severity_hint="info",
    ),
    _E(
        code="dmarc.org-domain-is-tld",
        title="A top-level domain's DMARC record made it the Organizational Domain",
        checked=(
            "The tree walk picks the record with the fewest labels as the Organizational "
            "Domain unless a record says psd=y or psd=n (RFC 9989 §4.10.2). A top-level "
            "domain's record without psd=y therefore captures every domain below it."
        ),
        found_template="The Organizational Domain is a top-level domain: {detail}.",
        likely_causes=("a top-level domain's operator published a DMARC record without psd=y",),
        fix=(
            "The top-level domain's operator: add psd=y to its record. Until then, the From "
            "domain's owner can add psd=n to its own record so that its domain is the "
            "Organizational Domain (RFC 9989 §11.8)."
        ),
        responsible="dns",
        spec="RFC 9989 §4.10.2, §11.8",
        severity_hint="warning",
    ),
    _E(
        code="dmarc.non-existent-author",
        title="The From domain does not exist",
        checked=(
            "When np= is published, DMARC asks whether the From domain exists: a name that "
            "answers NXDOMAIN does not (RFC 9989 §3.2.13, Appendix A.4), and np= applies to it."
        ),
        found_template="The np= policy applies: {detail}.",
        likely_causes=(
            "a forgery using an invented subdomain of a real organisation",
            "a sending system configured with a subdomain that was never created in DNS",
        ),
        fix=(
            "If the mail is genuine, the From domain's DNS administrator must create the "
            "subdomain (any record will do) or the sender must use an existing domain."
        ),
        responsible="sender",
        spec="RFC 9989 §3.2.13, §4.7",
        severity_hint="warning",
    ),
    _E(
        code="dmarc.multiple-records",
        title="Several DMARC records at one name: all are ignored",
        checked=(
            "Exactly one TXT record starting with v=DMARC1 may exist at a _dmarc name; when "
            "there are several, receivers discard them all (RFC 9989 §4.10 step 2)."
        ),
        found_template="The DMARC records were discarded: {detail}.",
        likely_causes=(
            "a new record was added without deleting the old one",
            "two services (a DMARC reporting vendor and the DNS host) each published one",
        ),
        fix="The domain's DNS administrator: keep one DMARC record at the name, merging the tags.",
        responsible="dns",
        spec="RFC 9989 §4.10",
        severity_hint="warning",
    ),
    _E(
        code="dmarc.record-ignored",
        title="A TXT record meant as DMARC is ignored",
        checked=(
            "A DMARC record must start with the tag v=DMARC1, written exactly so; any other "
            "TXT record at a _dmarc name is ignored (RFC 9989 §4.7, §4.10 step 2)."
        ),
        found_template="A record was ignored: {detail}.",
        likely_causes=(
            "the version is written in the wrong case (v=dmarc1) or with a typo",
            "v=DMARC1 is not the first tag (for example p=reject; v=DMARC1)",
            "quotes or other characters were copied into the record by a DNS panel",
        ),
        fix=('The domain\'s DNS administrator: make the record start with "v=DMARC1;" exactly.'),
        responsible="dns",
        spec="RFC 9989 §4.7, §4.10",
        severity_hint="warning",
    ),
    _E(
        code="dmarc.invalid-tag",
        title="Part of the DMARC record is invalid and was ignored",
        checked=(
            "Each tag of a DMARC record has a defined syntax; an invalid tag is ignored and "
            "its default used (RFC 9989 §4.8)."
        ),
        found_template="Some tags were ignored: {detail}.",
        likely_causes=(
            "a typo in a tag's value (adkim=strict instead of adkim=s)",
            "a tag written twice, or two semicolons in a row",
            "a reporting address without its mailto: prefix",
        ),
        fix="The domain's DNS administrator: correct the record's syntax.",
        responsible="dns",
        spec="RFC 9989 §4.7, §4.8",
        severity_hint="warning",
    ),
    _E(
        code="dmarc.obsolete-tag",
        title="The DMARC record uses tags RFC 9989 removed",
        checked=(
            "RFC 9989 removed the pct=, rf= and ri= tags of RFC 7489 (Appendix C.5.2); "
            "receivers that follow it ignore them. pct=0 is replaced by t=y (Appendix A.6)."
        ),
        found_template="Obsolete tags were ignored: {detail}.",
        likely_causes=("the record was written for RFC 7489 and not updated",),
        fix=(
            "The domain's DNS administrator: remove pct=, rf= and ri=; use t=y where pct=0 "
            "was meant to test a policy."
        ),
        responsible="dns",
        spec="RFC 9989 Appendix C.5.2",
        severity_hint="warning",
    ),
    _E(
        code="dmarc.unknown-tag",
        title="The DMARC record has tags DMARC does not define",
        checked="Tags DMARC does not define are ignored (RFC 9989 §4.7).",
        found_template="Unknown tags were ignored: {detail}.",
        likely_causes=(
            "a typo in a tag's name (aspf written asfp)",
            "a vendor-specific tag",
        ),
        fix="The domain's DNS administrator: check the tag names against RFC 9989 §4.7.",
        responsible="dns",
        spec="RFC 9989 §4.7",
        severity_hint="info",
    ),
    # -- alignment ----------------------------------------------------------------------------
    _E(
        code="dmarc.spf-not-aligned",
        title="SPF passed for a domain not aligned with the From domain",
        checked=(
            "SPF counts for DMARC only when the MAIL FROM (bounce) domain it passed for is the "
            "From domain, or (relaxed mode) has the same Organizational Domain (RFC 9989 "
            "§4.4.2)."
        ),
        found_template="SPF does not help DMARC here: {detail}.",
        likely_causes=(
            "the mail is sent through a service that uses its own bounce domain",
            "the message was forwarded, and the forwarder's bounce domain was checked",
            "aspf=s requires the exact From domain, and a subdomain was used",
        ),
        fix=(
            "The From domain's owner: configure a custom bounce (return-path) domain under "
            "the From domain at the sending service, or rely on an aligned DKIM signature."
        ),
        responsible="sender",
        spec="RFC 9989 §4.4.2",
        severity_hint="warning",
    ),
    _E(
        code="dmarc.dkim-not-aligned",
        title="DKIM passed for a domain not aligned with the From domain",
        checked=(
            "A DKIM signature counts for DMARC only when its d= domain is the From domain, or "
            "(relaxed mode) has the same Organizational Domain (RFC 9989 §4.4.1)."
        ),
        found_template="DKIM does not help DMARC here: {detail}.",
        likely_causes=(
            "the sending service signs with its own domain instead of the customer's",
            "a mailing list or forwarder added its own signature",
            "adkim=s requires the exact From domain, and a subdomain signed",
        ),
        fix=(
            "The From domain's owner: set up DKIM signing with d= the From domain at the "
            "sending service (usually by publishing its selector records)."
        ),
        responsible="sender",
        spec="RFC 9989 §4.4.1",
        severity_hint="warning",
    ),
    _E(
        code="dmarc.aligned-but-failed",
        title="An aligned identifier did not pass its own check",
        checked=(
            "An identifier of the From domain counts only if its own mechanism passed: a DKIM "
            "signature that verifies, an SPF check that passes (RFC 9989 §4.3, §4.4)."
        ),
        found_template="An aligned identifier failed: {detail}.",
        likely_causes=(
            "a forwarder or mailing list changed the message (subject tag, footer) and broke "
            "the DKIM signature",
            "the message was forwarded, so SPF checked the forwarder's server against the "
            "original domain",
            "the sender's DKIM key or SPF record is wrong",
        ),
        fix=(
            "The intermediary that changed the message: stop modifying it, or rewrite the "
            "From field and sign with its own domain. If no intermediary was involved, the "
            "From domain's owner must fix its DKIM signing or SPF record."
        ),
        responsible="intermediary",
        spec="RFC 9989 §4.4, §7.4",
        severity_hint="warning",
    ),
    _E(
        code="dmarc.dkim2-only",
        title="DMARC passes only through DKIM2",
        checked=(
            "RFC 9989 §4.3 counts SPF and DKIM only; this analyser also counts a passing, "
            "aligned DKIM2 hop, as a receiver treating DKIM2 as DKIM's successor would, and "
            "compares the two results."
        ),
        found_template="Only DKIM2 makes DMARC pass: {detail}.",
        likely_causes=(
            "the sender signs with DKIM2 only",
            "the DKIM1 signature broke on the way while the DKIM2 chain survived",
            "SPF passed for a bounce domain that is not aligned",
        ),
        fix=(
            "The From domain's mail administrator: keep signing with DKIM1 (d= the From "
            "domain) beside DKIM2 until receivers understand DKIM2 (DKIM2 BCP advice), so "
            "DMARC passes everywhere."
        ),
        responsible="signer",
        spec="RFC 9989 §4.3; SPEC-NOTES §8.3",
        severity_hint="warning",
    ),
    _E(
        code="dmarc.limit",
        title="The DMARC evaluation was limited",
        checked=(
            "The analyser bounds its work per message: how many identifiers it reads and how "
            "many Organizational Domains it looks up (RFC 9989 §11.5 asks receivers to limit "
            "such work)."
        ),
        found_template="The evaluation is incomplete: {detail}.",
        likely_causes=(
            "the message carries an unusual number of signatures from different domains",
            "a hostile message built to make receivers do many DNS lookups",
        ),
        fix=(
            "Nothing to fix for a hostile message. A genuine sender should not add signatures "
            "of many unrelated domains."
        ),
        responsible="analyser",
        spec="RFC 9989 §11.5",
        severity_hint="warning",
    ),
)
