"""Explanations of the verdict of the whole message (analysis.verdict).

The verdict follows DMARC (RFC 9989), the receivers' own answer to "is this message from
its From domain", and compares what the receiving system recorded in its
Authentication-Results fields (RFC 8601) with what re-verification finds now.
"""

from __future__ import annotations

from . import Explanation

_E = Explanation

_COMPARED = (
    "The analyser compared the result the receiving system wrote into the message (its own "
    "Authentication-Results field, trusted because of where it sits) with the result of "
    "verifying the message again now."
)

ENTRIES: tuple[Explanation, ...] = (
    _E(
        code="verdict.trusted",
        title="The From domain is authenticated",
        checked=(
            "The analyser asked what a receiver asks: does an identifier aligned with the "
            "From domain (a DKIM1 signature, a DKIM2 hop or the SPF envelope sender) pass, "
            "as DMARC requires."
        ),
        found_template="{detail}.",
        likely_causes=("the sender signs its mail and publishes its records correctly",),
        fix="Nothing needs fixing.",
        responsible="none",
        spec="RFC 9989 §4.7",
        severity_hint="info",
    ),
    _E(
        code="verdict.not-trusted",
        title="The From domain is not authenticated",
        checked=(
            "The analyser asked what a receiver asks: does an identifier aligned with the "
            "From domain (a DKIM1 signature, a DKIM2 hop or the SPF envelope sender) pass, "
            "as DMARC requires."
        ),
        found_template="{detail}.",
        likely_causes=(
            "a forwarder or mailing list changed the message, breaking the author's "
            "signature, and sent it from its own servers, so SPF checks the forwarder",
            "the sending service signs with its own domain rather than the From domain, and "
            "its envelope sender is its own too",
            "the message was not sent by the From domain at all (spoofing)",
        ),
        fix=(
            "The owner of the From domain: sign all mail with a DKIM key of that domain (or "
            "a subdomain) and make sure the services sending for it do the same. A "
            "forwarder that changes messages: sign with DKIM2 and record its changes, or "
            "seal with ARC, so receivers can see who changed what."
        ),
        responsible="sender",
        spec="RFC 9989 §4.7",
        severity_hint="error",
    ),
    _E(
        code="verdict.not-aligned",
        title="Authenticated only for other domains than the From domain",
        checked=(
            "The analyser checked which domains the passing signatures and SPF vouch for, "
            "and whether any of them is the From domain or in its organisation."
        ),
        found_template="{detail}.",
        likely_causes=(
            "an e-mail service provider signs with its own domain and uses its own bounce "
            "domain, and the brand in From has not delegated a DKIM key to it",
        ),
        fix=(
            "The owner of the From domain: have the sending service sign with a key "
            "published under the From domain (a CNAME to the provider's key is common), and "
            "publish a DMARC policy."
        ),
        responsible="sender",
        spec="RFC 9989 §3.2.10",
        severity_hint="warning",
    ),
    _E(
        code="verdict.no-authentication",
        title="The message carries no authentication",
        checked=(
            "The analyser looked for DKIM1, DKIM2 and ARC signatures, evaluated SPF for the "
            "envelope sender, and looked up the From domain's DMARC policy."
        ),
        found_template="Nothing could vouch for the message: {detail}.",
        likely_causes=(
            "the sending system does not sign its mail and its domain publishes no SPF or "
            "DMARC record",
            "the message was saved without its header fields, or before it was sent",
        ),
        fix=(
            "The operator of the sending domain: sign outgoing mail with DKIM (and DKIM2), "
            "publish an SPF record and a DMARC policy."
        ),
        responsible="sender",
        spec="RFC 9989 §4",
        severity_hint="warning",
    ),
    _E(
        code="verdict.undecided-dns",
        title="DNS failed, so the verdict could not be reached",
        checked=("The analyser looked up the keys and policies the verdict depends on in DNS."),
        found_template="{detail}.",
        likely_causes=(
            "the domain's DNS servers did not answer in time or answered SERVFAIL",
            "this analyser's own resolver could not reach the Internet",
        ),
        fix=(
            "Re-run the analysis in a while. If it keeps failing, the domain's DNS "
            "administrator should check that its name servers answer."
        ),
        responsible="dns",
        spec="RFC 9989 §4.10",
        severity_hint="error",
    ),
    _E(
        code="verdict.undecided",
        title="DMARC could not be evaluated",
        checked="The analyser evaluated the From domain's DMARC policy (RFC 9989).",
        found_template="{detail}.",
        likely_causes=(
            "the message has no From field, several From fields, or a From field with "
            "several addresses or no domain",
        ),
        fix=(
            "The sending system: write exactly one From field with exactly one address, "
            "as receivers that follow RFC 9989 reject anything else."
        ),
        responsible="sender",
        spec="RFC 9989 §4.4",
        severity_hint="error",
    ),
    _E(
        code="verdict.not-a-message",
        title="The input could not be analysed as a message",
        checked="The analyser read the input as an RFC 5322 message before any check.",
        found_template="The input was refused: {detail}.",
        likely_causes=(
            "the file is not an e-mail message (a binary, an archive, a document)",
            "the message is larger than the analyser's limit",
        ),
        fix=(
            "Whoever exported the message: save the original with every header field "
            '("Show original" or "Save as .eml") and analyse that file.'
        ),
        responsible="receiver",
        spec="RFC 5322 §2.1",
        severity_hint="error",
    ),
    _E(
        code="verdict.disagrees-dkim1",
        title="A DKIM1 result recorded at delivery differs from today's",
        checked=_COMPARED,
        found_template="{detail}.",
        likely_causes=(
            "the message changed after the receiver checked it: a mail client, an archive, "
            "a security gateway or the export to a file altered the body or a signed field",
            "the sender rotated or removed the key since the message was received",
            "the signature expired since",
            "DNS could not be reached now, or could not be reached by the receiver then",
        ),
        fix=(
            "To investigate the delivery, analyse a copy taken straight from the receiving "
            "server's store. The receiver's recorded result is what counted for delivery."
        ),
        responsible="receiver",
        spec="RFC 8601 §7",
        severity_hint="warning",
    ),
    _E(
        code="verdict.disagrees-spf",
        title="The SPF result recorded at delivery differs from today's",
        checked=_COMPARED,
        found_template="{detail}.",
        likely_causes=(
            "the domain changed its SPF record since the message was received",
            "the client address or envelope sender read back from the Received fields is "
            "not the one the receiver saw",
        ),
        fix=(
            "Trust the receiver's recorded result for the delivery itself; give the "
            "analysis the real envelope (the mail intake sees it) to check SPF as it was."
        ),
        responsible="receiver",
        spec="RFC 8601 §7",
        severity_hint="warning",
    ),
    _E(
        code="verdict.disagrees-arc",
        title="The ARC result recorded at delivery differs from today's",
        checked=_COMPARED,
        found_template="{detail}.",
        likely_causes=(
            "an ARC sealer rotated its key since the message was received",
            "the message changed after the receiver checked it",
            "ARC sets were added after this receiver checked the message",
        ),
        fix=(
            "Analyse a copy taken straight from the receiving server's store; the recorded "
            "result is what counted for delivery."
        ),
        responsible="receiver",
        spec="RFC 8601 §7",
        severity_hint="warning",
    ),
    _E(
        code="verdict.disagrees-dmarc",
        title="The DMARC result recorded at delivery differs from today's",
        checked=_COMPARED,
        found_template="{detail}.",
        likely_causes=(
            "the DKIM or SPF results it rests on differ (see those differences)",
            "the From domain changed its DMARC record since the message was received",
            "the receiver applied a local policy, such as trusting an ARC chain",
        ),
        fix=(
            "Read the DKIM and SPF differences first; a changed DMARC record is for the "
            "domain's DNS administrator to confirm."
        ),
        responsible="receiver",
        spec="RFC 8601 §7",
        severity_hint="warning",
    ),
    _E(
        code="verdict.disagrees-dkim2",
        title="The DKIM2 result recorded at delivery differs from today's",
        checked=_COMPARED,
        found_template="{detail}.",
        likely_causes=(
            "a DKIM2 signer rotated its key since the message was received",
            "the message changed after the receiver checked it",
            "the receiver follows another revision of the DKIM2 draft",
        ),
        fix=(
            "Analyse a copy taken straight from the receiving server's store, and compare "
            "the draft revisions the receiver and dkim2web follow."
        ),
        responsible="receiver",
        spec="RFC 8601 §7",
        severity_hint="warning",
    ),
)
