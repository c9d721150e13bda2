"""Explanations of the SPF findings (RFC 7208, :mod:`analysis.spf`)."""

from __future__ import annotations

from . import Explanation

_E = Explanation

_CHECKED_RECORD = (
    "SPF asks whether the server that handed the message over (its IP address) is allowed to "
    "send for the envelope's domain: the MAIL FROM domain, or the HELO name when MAIL FROM is "
    "empty. The analyser read that domain's SPF record (a TXT record starting with v=spf1) "
    "and evaluated its terms in order, following include: and redirect=."
)

ENTRIES: tuple[Explanation, ...] = (
    # -- the results ---------------------------------------------------------------------------
    _E(
        code="spf.fail",
        title="The sending server is not allowed to send for this domain",
        checked=_CHECKED_RECORD,
        found_template="{message}: {detail}.",
        likely_causes=(
            "the domain started sending through a new server or service and its SPF record "
            "was not updated",
            "the message was forwarded (an alias, a mailing list, a mailbox rule) by a "
            "server that kept the original MAIL FROM instead of rewriting it (SRS)",
            "someone else is sending with this domain in the MAIL FROM (forgery)",
            "the client address was reconstructed from the wrong Received field",
        ),
        fix=(
            "If the server sends for the domain, the domain's DNS administrator must add it "
            "to the SPF record (an ip4:, ip6: or include: term). If the message was "
            "forwarded, the forwarder must rewrite the envelope sender (SRS) or the receiver "
            "must trust the forwarder's ARC seal. Otherwise the sending server's operator "
            "must stop using that MAIL FROM domain."
        ),
        responsible="dns",
        spec="RFC 7208 §2.6.4, §8.4",
        severity_hint="error",
    ),
    _E(
        code="spf.softfail",
        title="The domain says the sending server is probably not allowed",
        checked=_CHECKED_RECORD,
        found_template="{message}: {detail}.",
        likely_causes=(
            "the domain ends its record in ~all and has not listed this server yet",
            "the message was forwarded by a server that kept the original MAIL FROM (no SRS)",
            "someone else is sending with this domain in the MAIL FROM",
        ),
        fix=(
            "If the server sends for the domain, the domain's DNS administrator must list it "
            "in the SPF record. A forwarder must rewrite the envelope sender (SRS). A "
            "softfail is a weak statement: receivers usually accept the message but treat "
            "it with suspicion, and DMARC does not count it as a pass."
        ),
        responsible="dns",
        spec="RFC 7208 §2.6.5, §8.5",
        severity_hint="warning",
    ),
    _E(
        code="spf.neutral",
        title="The domain neither allows nor denies the sending server",
        checked=_CHECKED_RECORD,
        found_template="{message}: {detail}.",
        likely_causes=(
            "the record ends in ?all, so every server not listed gets neutral",
            "the record has no all term and no term matched, so the default (neutral) applies",
            "the server is not listed but the domain does not want to say so",
        ),
        fix=(
            "The domain's DNS administrator should list every server that sends for the "
            "domain and end the record in -all (or ~all while testing). A neutral result "
            "protects nothing: DMARC does not count it as a pass."
        ),
        responsible="dns",
        spec="RFC 7208 §2.6.2, §4.7",
        severity_hint="warning",
    ),
    _E(
        code="spf.none",
        title="The domain publishes no SPF record",
        checked=(
            "The analyser asked for the TXT records of the envelope's domain and looked for "
            "one starting with v=spf1."
        ),
        found_template="{message}: {detail}.",
        likely_causes=(
            "the domain never published an SPF record",
            "the record was published at another name (a subdomain, or with a typo)",
            "the record does not start exactly with v=spf1 followed by a space",
            "the MAIL FROM domain is a subdomain made for bounces that has no record of its own",
        ),
        fix=(
            "The domain's DNS administrator should publish a TXT record such as "
            '"v=spf1 ip4:192.0.2.0/24 include:_spf.provider.example -all" listing every '
            "server that sends for the domain."
        ),
        responsible="dns",
        spec="RFC 7208 §2.6.1, §4.5",
        severity_hint="warning",
    ),
    _E(
        code="spf.temperror",
        title="A DNS lookup failed, so SPF has no result for now",
        checked=(
            "The analyser asked DNS for the SPF record and for every name the record's terms "
            "need. A lookup that fails (server failure, timeout) stops the evaluation with "
            "a temporary error."
        ),
        found_template="{message}: {detail}.",
        likely_causes=(
            "a DNS server of the domain (or of a domain it includes) did not answer or "
            "answered SERVFAIL",
            "the domain's DNSSEC signatures are broken or expired",
            "the analyser's DNS time budget ran out on slow servers",
        ),
        fix=(
            "Analyse the message again later. If the failure persists, the DNS administrator "
            "of the domain named in the detail must make its name servers answer."
        ),
        responsible="dns",
        spec="RFC 7208 §2.6.6, §4.4",
        severity_hint="error",
    ),
    # -- permanent errors, by cause -----------------------------------------------------------
    _E(
        code="spf.too-many-lookups",
        title="The SPF record needs more than 10 DNS lookups",
        checked=(
            "RFC 7208 allows at most 10 terms that cause DNS lookups (include, a, mx, ptr, "
            "exists, redirect) in one evaluation, counting the records reached through "
            "include and redirect. The analyser counted them."
        ),
        found_template="{message}: {detail}.",
        likely_causes=(
            "the record includes several service providers whose own records use many lookups",
            "a provider added includes to its record, pushing the total over the limit",
            "an include loop (two records that include each other)",
        ),
        fix=(
            "The domain's DNS administrator must bring the count to 10 or fewer: remove "
            "includes of services no longer used, replace a and mx terms with ip4:/ip6: "
            "ranges, or move some senders to a subdomain with its own record."
        ),
        responsible="dns",
        spec="RFC 7208 §4.6.4",
        severity_hint="error",
    ),
    _E(
        code="spf.too-many-void-lookups",
        title="More than two DNS lookups of the SPF record found nothing",
        checked=(
            "RFC 7208 recommends that at most two DNS lookups of one evaluation return no "
            "record (the name does not exist, or has no record of the type asked); the "
            "analyser, like pyspf, counts every such answer."
        ),
        found_template="{message}: {detail}.",
        likely_causes=(
            "the record includes or names domains that no longer exist",
            "a and mx terms name hosts without addresses of the client's family (an IPv6 "
            "client and hosts with only A records)",
            "a typo in a domain name in the record",
        ),
        fix=(
            "The domain's DNS administrator must remove terms naming domains that do not "
            "exist, fix typos, and prefer ip4:/ip6: terms over a and mx terms for hosts "
            "that have only one address family."
        ),
        responsible="dns",
        spec="RFC 7208 §4.6.4",
        severity_hint="error",
    ),
    _E(
        code="spf.too-many-mx",
        title="An mx term names a domain with more than 10 MX records",
        checked=(
            "RFC 7208 lets an mx term look up the addresses of at most 10 mail exchangers; "
            "more is a permanent error."
        ),
        found_template="{message}: {detail}.",
        likely_causes=(
            "the domain has many MX records (a large hosting platform)",
            "the record uses mx for a domain whose mail servers are not its senders",
        ),
        fix=(
            "The domain's DNS administrator must replace the mx term with ip4:/ip6: ranges "
            "or an include: of the provider's SPF record."
        ),
        responsible="dns",
        spec="RFC 7208 §4.6.4, §5.4",
        severity_hint="error",
    ),
    _E(
        code="spf.multiple-records",
        title="The domain publishes more than one SPF record",
        checked=(
            "A domain must publish exactly one TXT record starting with v=spf1; with two or "
            "more, SPF evaluation stops with a permanent error."
        ),
        found_template="{message}: {detail}.",
        likely_causes=(
            "a second provider was set up by adding a new v=spf1 record instead of an "
            "include: in the existing one",
            "an old record was left in place when a new one was published",
        ),
        fix=(
            "The domain's DNS administrator must merge the records into one (each "
            "provider's include: or ip4: terms in a single v=spf1 record) and delete the "
            "others."
        ),
        responsible="dns",
        spec="RFC 7208 §4.5, §3.2",
        severity_hint="error",
    ),
    _E(
        code="spf.include-without-record",
        title="The SPF record includes a domain that has no SPF record",
        checked=(
            "An include: term evaluates another domain's SPF record; if that domain "
            "publishes none, the evaluation stops with a permanent error."
        ),
        found_template="{message}: {detail}.",
        likely_causes=(
            "the included provider changed or removed its SPF record name",
            "a typo in the included domain",
            "the service is no longer used and its domain was deleted",
        ),
        fix=(
            "The domain's DNS administrator must correct the include: target (the provider "
            "documents the name to include) or remove the term."
        ),
        responsible="dns",
        spec="RFC 7208 §5.2",
        severity_hint="error",
    ),
    _E(
        code="spf.redirect-without-record",
        title="The SPF record redirects to a domain that has no SPF record",
        checked=(
            "A redirect= modifier replaces the record with another domain's; if that domain "
            "publishes no SPF record, the evaluation stops with a permanent error."
        ),
        found_template="{message}: {detail}.",
        likely_causes=(
            "a typo in the redirect= domain",
            "the target domain's record was deleted or moved",
        ),
        fix=(
            "The domain's DNS administrator must point redirect= at a domain that publishes "
            "an SPF record, or replace the redirect with the terms themselves."
        ),
        responsible="dns",
        spec="RFC 7208 §6.1",
        severity_hint="error",
    ),
    _E(
        code="spf.record-too-long",
        title="The SPF record is too long to evaluate",
        checked=(
            "The analyser evaluates SPF records of up to 4096 characters (RFC 7208 advises "
            "keeping records under 450 octets, so that they fit in one UDP answer)."
        ),
        found_template="{message}: {detail}.",
        likely_causes=(
            "a record flattened from many providers into one long list of addresses",
            "a record built to make verifiers work hard",
        ),
        fix=(
            "The domain's DNS administrator should shorten the record: use ip4:/ip6: ranges "
            "instead of single addresses, or move parts into include: records."
        ),
        responsible="dns",
        spec="RFC 7208 §3.4",
        severity_hint="error",
    ),
    _E(
        code="spf.syntax",
        title="The SPF record has a syntax error",
        checked=(
            "The analyser parsed every term of the SPF records it evaluated against RFC "
            "7208's grammar; any error stops the evaluation with a permanent error."
        ),
        found_template="{message}: {detail}.",
        likely_causes=(
            "a misspelt mechanism (ipv4: instead of ip4:, a missing colon, a comma between terms)",
            "an invalid address or prefix length in an ip4: or ip6: term",
            "a domain name in a term that does not end in a valid top-level label",
            "characters outside US-ASCII, or a bad macro, in the record",
        ),
        fix=(
            "The DNS administrator of the domain named in the detail must correct the term "
            "shown; an SPF checker shows the exact position."
        ),
        responsible="dns",
        spec="RFC 7208 §4.6, §12",
        severity_hint="error",
    ),
    # -- the envelope ------------------------------------------------------------------------
    _E(
        code="spf.no-ip",
        title="No connecting IP address is known, so SPF was not evaluated",
        checked=(
            "SPF judges the IP address of the server that handed the message to the "
            "receiver. The analyser looks for it in the SMTP session, the envelope given, or "
            "the receiver's Received field."
        ),
        found_template="{message}: {detail}.",
        likely_causes=(
            "the message was uploaded without its envelope and its Received fields do not "
            "name the client address",
            "the receiving system strips or rewrites Received fields",
        ),
        fix=(
            "Whoever analyses the message: send it to the product's SMTP intake, type the "
            "client address with the envelope, or export the copy with every Received field "
            "kept."
        ),
        responsible="receiver",
        spec="RFC 7208 §4.1",
        severity_hint="warning",
    ),
    _E(
        code="spf.invalid-ip",
        title="The connecting IP address given is not an IP address",
        checked="The analyser read the client address given with the envelope.",
        found_template="{message}: {detail}.",
        likely_causes=(
            "a typo in the address typed with the envelope",
            "the Received field that was read holds a host name or a mangled address",
        ),
        fix=("Whoever analyses the message: give the address as 192.0.2.1 or 2001:db8::1."),
        responsible="receiver",
        spec="RFC 7208 §4.1",
        severity_hint="warning",
    ),
    _E(
        code="spf.invalid-domain",
        title="The envelope's domain is not a domain SPF can check",
        checked=(
            "Before any lookup, RFC 7208 requires the MAIL FROM domain (or HELO name) to be "
            "a well-formed, fully qualified domain name; otherwise the result is none."
        ),
        found_template="{message}: {detail}.",
        likely_causes=(
            "the sending server greets with a bare host name or an address literal as HELO",
            "the MAIL FROM address has no domain or a malformed one",
            "a label longer than 63 characters or an empty label",
        ),
        fix=(
            "The sending server's operator must use a fully qualified domain name as HELO "
            "name and a valid address as MAIL FROM."
        ),
        responsible="sender",
        spec="RFC 7208 §4.3",
        severity_hint="warning",
    ),
    _E(
        code="spf.no-identity",
        title="Neither a MAIL FROM address nor a HELO name is known",
        checked=(
            "SPF checks the MAIL FROM domain, or the HELO name when MAIL FROM is empty (as "
            "for bounces). The analyser needs at least one of them."
        ),
        found_template="{message}: {detail}.",
        likely_causes=(
            "a bounce (empty MAIL FROM) uploaded without the HELO name of the server that sent it",
            "the receiver's Received field does not record the HELO name",
        ),
        fix=(
            "Whoever analyses the message: give the HELO name with the envelope, or send "
            "the message to the product's SMTP intake."
        ),
        responsible="receiver",
        spec="RFC 7208 §2.4",
        severity_hint="warning",
    ),
    _E(
        code="spf.reconstructed",
        title="The envelope was read back from the message's trace fields",
        checked=(
            "SPF needs the client address, HELO name and MAIL FROM of the last hop. When "
            "they were not seen by the product's SMTP intake, the analyser reads them from "
            "the receiver's Received field and the Return-Path field."
        ),
        found_template=(
            "The SPF result is only as good as the Received field it was read from: {detail}."
        ),
        likely_causes=("the message was uploaded as a file rather than sent to the SMTP intake",),
        fix=(
            "Nothing needs fixing if the receiver's Received field is trustworthy; for a "
            "result that needs no reconstruction, send the message to the product's SMTP "
            "intake."
        ),
        responsible="none",
        spec="RFC 7208 §2.2, RFC 5321 §4.4",
        severity_hint="info",
    ),
    _E(
        code="spf.helo-differs",
        title="The HELO name gives a different SPF result from the MAIL FROM domain",
        checked=(
            "RFC 7208 recommends checking the HELO name as well as the MAIL FROM domain. "
            "The analyser checked both."
        ),
        found_template="{message}: {detail}.",
        likely_causes=(
            "the sending server's HELO name publishes no SPF record (common and harmless)",
            "the server sends for a MAIL FROM domain that is not its own (a provider)",
            "the HELO name's record does not list the server's own address",
        ),
        fix=(
            "Usually nothing: receivers judge the MAIL FROM result. The sending server's "
            "operator can publish an SPF record for the HELO name that lists the server "
            '("v=spf1 a -all").'
        ),
        responsible="sender",
        spec="RFC 7208 §2.3",
        severity_hint="info",
    ),
    _E(
        code="spf.analyser-error",
        title="The analyser could not complete the SPF evaluation",
        checked="The analyser evaluated the SPF record with pyspf.",
        found_template="{message}: {detail}.",
        likely_causes=("a defect in dkim2web or in pyspf triggered by this record",),
        fix=(
            "Report the message to the dkim2web maintainers; the result says nothing about "
            "the domain's record."
        ),
        responsible="analyser",
        spec="RFC 7208 §2.6.6",
        severity_hint="error",
    ),
)
