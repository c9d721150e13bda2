"""Explanations of the receivers findings: the Received trace and the SMTP envelope it
implies (:mod:`analysis.received`), and the Authentication-Results and
ARC-Authentication-Results fields with how far each can be trusted (:mod:`analysis.authres`).
"""

from __future__ import annotations

from . import Explanation

_E = Explanation

ENTRIES: tuple[Explanation, ...] = (
    # -- the Received trace (analysis.received) ----------------------------------------------
    _E(
        code="receivers.received-unreadable",
        title="Some Received fields cannot be fully read",
        checked=(
            "Every server that accepts a message adds a Received field saying who connected, "
            "who received, how, and when (RFC 5321 §4.4). The analyser reads each one for "
            "the client's name and address, the receiving host and the date."
        ),
        found_template="Parts of these Received fields could not be read: {detail}.",
        likely_causes=(
            "a server writes its Received field in a home-made format, or without the "
            "date that RFC 5321 requires after the last semicolon",
            "the date uses a format or time zone that is not an RFC 5322 date",
            "a filter or an export tool damaged the field (cut lines, lost parentheses)",
            "the field was forged by the sender and never written by a real server",
        ),
        fix=(
            "Nothing to fix for the analysis: the readable parts are still shown. The "
            "operator of the server that wrote the field should make it write standard "
            "Received fields with a date."
        ),
        responsible="receiver",
        spec="RFC 5321 §4.4",
        severity_hint="warning",
    ),
    _E(
        code="receivers.received-cut",
        title="Only the newest Received fields were read",
        checked=(
            "The analyser reads at most a fixed number of Received fields, the newest "
            "first, so a message with a looping or padded trace cannot make it work without "
            "bound."
        ),
        found_template="The oldest Received fields were not read: {detail}.",
        likely_causes=(
            "the message looped between servers, each adding a Received field",
            "the sender padded the header with fake Received fields",
        ),
        fix=(
            "Nothing to fix for the analysis: the receiving side, which the newest fields "
            "describe, is fully read. If the message looped, the operators of the servers "
            "in the loop should fix their forwarding."
        ),
        responsible="analyser",
        spec="RFC 5321 §6.3",
        severity_hint="warning",
    ),
    _E(
        code="receivers.envelope-reconstructed",
        title="The SMTP envelope was read back from the Received fields",
        checked=(
            "SPF and the DKIM2 chain of custody need the SMTP envelope: the client's address, "
            "its HELO name, MAIL FROM and RCPT TO. When nobody gave it, the analyser finds "
            "the Received field where the message entered the final receiver from the "
            "outside, skipping the receiver's internal hops, and reads the envelope from it "
            "and from the Return-Path."
        ),
        found_template="The envelope was reconstructed: {detail}.",
        likely_causes=(
            "the message was uploaded or pasted, so the analyser did not see the SMTP "
            "transaction itself",
        ),
        fix=(
            "Nothing needs fixing. If a result depends on the envelope, check that the hop "
            "named here is really where the message entered your system, or give the "
            "envelope by hand."
        ),
        responsible="none",
        spec="RFC 5321 §4.4",
        severity_hint="info",
    ),
    _E(
        code="receivers.no-border-hop",
        title="No Received field shows where the message entered the receiver",
        checked=(
            "The analyser looks, from the newest Received field down, for the first one "
            "whose client address is public: the hop where the message came in from the "
            "outside. Hops from private, loopback or missing addresses and local deliveries "
            "are the receiver's internal hops."
        ),
        found_template="The SMTP envelope could not be reconstructed: {detail}.",
        likely_causes=(
            "the message was saved before it crossed the Internet (a draft, a local copy, a "
            "message sent between two mailboxes of one server)",
            "the receiving system strips or rewrites Received fields",
            "the client address sits behind a NAT or proxy, so every hop shows a private address",
            "the message has no Received field at all (it was composed or exported without one)",
        ),
        fix=(
            "Whoever runs the analysis: give the envelope (client address, HELO, MAIL FROM, "
            "RCPT TO) by hand, or analyse a copy as delivered by the receiving server."
        ),
        responsible="receiver",
        spec="RFC 5321 §4.4",
        severity_hint="warning",
    ),
    # -- Authentication-Results fields (analysis.authres) --------------------------------------
    _E(
        code="receivers.no-authres",
        title="No receiver recorded its authentication results",
        checked=(
            "Receivers that check DKIM, SPF, DMARC or ARC usually record what they found in "
            "an Authentication-Results field (RFC 8601). The analyser looks for these fields "
            "and for ARC-Authentication-Results."
        ),
        found_template="No receiver's verdict is recorded: {detail}.",
        likely_causes=(
            "the receiving server does not check authentication, or checks it without "
            "recording the results",
            "the copy was taken before final delivery (a sent copy, a draft)",
            "the mailbox provider removes these fields before showing the message",
        ),
        fix=(
            "Nothing needs fixing: the analyser checks every mechanism itself. A receiver "
            "that wants its verdict recorded should add Authentication-Results."
        ),
        responsible="none",
        spec="RFC 8601 §2",
        severity_hint="info",
    ),
    _E(
        code="receivers.too-many-fields",
        title="Only the topmost authentication results fields were read",
        checked=(
            "The analyser reads at most a fixed number of Authentication-Results and "
            "ARC-Authentication-Results fields, from the top, where the final receiver writes "
            "its own."
        ),
        found_template="Some authentication results fields were not read: {detail}.",
        likely_causes=(
            "the sender padded the header with fake Authentication-Results fields",
            "the message passed through a loop or a very long chain of forwarders",
        ),
        fix=(
            "Nothing to fix for the analysis: the final receiver's fields are at the top and "
            "were read. The final receiver should remove incoming fields that claim its name "
            "(RFC 8601 §5)."
        ),
        responsible="analyser",
        spec="RFC 8601 §5",
        severity_hint="warning",
    ),
    _E(
        code="receivers.too-many-methods",
        title="A field holds more results than the analyser reads",
        checked=(
            "The analyser reads at most a fixed number of method=result clauses from one "
            "Authentication-Results field."
        ),
        found_template="Only part of the field was read: {detail}.",
        likely_causes=(
            "the field was padded with results to hide something or to slow readers down",
            "a receiver records one clause per signature and the message carries very many "
            "signatures",
        ),
        fix=(
            "Nothing to fix for the analysis: the first results are shown. The system that "
            "wrote the field should record fewer results, or the sender should stop adding "
            "signatures."
        ),
        responsible="analyser",
        spec="RFC 8601 §2.2",
        severity_hint="warning",
    ),
    _E(
        code="receivers.unparsable",
        title="An authentication results field cannot be read",
        checked=(
            "The analyser parses each Authentication-Results field with the RFC 8601 grammar, "
            "and when that fails reads what it can (method=result, reason, properties)."
        ),
        found_template="Nothing usable could be read from this field: {detail}.",
        likely_causes=(
            "the field is longer than the analyser parses (it is still shown)",
            "the writer uses a home-made format that has no method=result clause",
            "the field was damaged by a filter or while saving the message",
            "the field was written by a sender to confuse readers",
        ),
        fix=(
            "Read the field's raw text shown in the report. The operator of the system named "
            "in it should write fields that follow RFC 8601."
        ),
        responsible="receiver",
        spec="RFC 8601 §2.2",
        severity_hint="warning",
    ),
    _E(
        code="receivers.lenient-parse",
        title="Some authentication results fields do not follow RFC 8601",
        checked=(
            "The analyser parses each Authentication-Results field with the RFC 8601 grammar, "
            "and when that fails reads it with a tolerant reader of its own."
        ),
        found_template="These fields were read by the tolerant reader: {detail}.",
        likely_causes=(
            "the writer leaves out the authserv-id (Microsoft 365 does)",
            "the writer ends the field with a semicolon or adds properties without a ptype "
            "(Yahoo does)",
            "the writer puts characters or comments where the grammar does not allow them",
        ),
        fix=(
            "Nothing needs fixing for the analysis: the results were read. The operator of the "
            "system that wrote the field could make it follow RFC 8601, so that strict "
            "readers understand it too."
        ),
        responsible="none",
        spec="RFC 8601 §2.2",
        severity_hint="info",
    ),
    _E(
        code="receivers.aar-without-instance",
        title="An ARC-Authentication-Results field has no instance number",
        checked=(
            "An ARC-Authentication-Results field must start with i=N; naming the ARC set it "
            "belongs to (RFC 8617 §4.1.1)."
        ),
        found_template="The field does not say which ARC set it belongs to: {detail}.",
        likely_causes=(
            "the ARC implementation that wrote it is broken or outdated",
            "the field was copied or forged by someone who does not seal ARC sets",
        ),
        fix=(
            "The operator of the ARC sealer named in the field should upgrade or fix it; ARC "
            "validators will fail the chain until then."
        ),
        responsible="intermediary",
        spec="RFC 8617 §4.1.1",
        severity_hint="warning",
    ),
    _E(
        code="receivers.sender-added",
        title="An Authentication-Results field was added by the sender",
        checked=(
            "An Authentication-Results field is only meaningful if the receiver named in it "
            "wrote it (RFC 8601 §5). The analyser places each field among the Received "
            "fields: a field below the oldest Received was there before any server received "
            "the message."
        ),
        found_template="This field is not trusted: {detail}.",
        likely_causes=(
            "the sender wrote it to make the message look authenticated (a phishing trick)",
            "the sending application copied a header block from another message",
            "the message was re-sent (resent or bounced) with the old fields still in it",
        ),
        fix=(
            "Ignore this field's results. The final receiver should remove incoming "
            "Authentication-Results fields that claim its name when mail arrives "
            "(RFC 8601 §5), and the sender should stop adding them."
        ),
        responsible="sender",
        spec="RFC 8601 §5",
        severity_hint="warning",
    ),
    _E(
        code="receivers.forged-or-copied",
        title="An Authentication-Results field claims a receiver that did not write it",
        checked=(
            "An Authentication-Results field is only meaningful if the receiver named in it "
            "wrote it (RFC 8601 §5). The analyser checks that a field naming a receiver lies "
            "in the part of the header written after that receiver got the message."
        ),
        found_template="This field is not trusted: {detail}.",
        likely_causes=(
            "a sender or an earlier server wrote a field in the name of a well-known "
            "receiver to make the message look checked",
            "the message went through the same receiver twice (a forward or a list that "
            "sends it back) and the old field stayed in",
            "the receiver does not remove incoming fields that claim its name",
        ),
        fix=(
            "Ignore this field's results. The receiver named in it should remove "
            "Authentication-Results fields that claim its name when mail arrives "
            "(RFC 8601 §5)."
        ),
        responsible="receiver",
        spec="RFC 8601 §5",
        severity_hint="warning",
    ),
    _E(
        code="receivers.no-received",
        title="Authentication-Results fields cannot be placed without Received fields",
        checked=(
            "The analyser decides who wrote each Authentication-Results field from where it "
            "lies among the Received fields."
        ),
        found_template="No field can be attributed to a receiver: {detail}.",
        likely_causes=(
            "the message was exported without its trace fields",
            "the message was composed by hand or by a test tool",
            "the Authentication-Results fields were added by the sender",
        ),
        fix=(
            "Analyse the message as delivered by the receiving server, with its Received "
            "fields; until then its Authentication-Results are not trusted."
        ),
        responsible="receiver",
        spec="RFC 8601 §5",
        severity_hint="warning",
    ),
    _E(
        code="receivers.upstream",
        title="Earlier receivers' and ARC sealers' testimony is present",
        checked=(
            "The analyser separates the final receiver's own Authentication-Results from "
            "fields written by systems the message passed through before (RFC 8601 §7.1), "
            "and from ARC-Authentication-Results, whose trust follows the ARC chain."
        ),
        found_template="Testimony of other systems is shown but not taken as the receiver's: "
        "{detail}.",
        likely_causes=(
            "the message passed through a mailing list, a forwarder or a filtering service "
            "that checked it and recorded its results",
            "an ARC sealer recorded what it found before sealing",
        ),
        fix=(
            "Nothing needs fixing. Trust these results only as far as you trust the systems "
            "named in them; the ARC section says whether their seals hold."
        ),
        responsible="none",
        spec="RFC 8601 §7.1",
        severity_hint="info",
    ),
    _E(
        code="receivers.none-from-receiver",
        title="The final receiver added no Authentication-Results of its own",
        checked=(
            "The analyser looks for Authentication-Results fields in the part of the header "
            "the final receiver wrote, above the hop where the message came in."
        ),
        found_template="Only other systems' fields are present: {detail}.",
        likely_causes=(
            "the final receiver does not record authentication results",
            "the final receiver records them under another field name",
            "the copy was saved before the final receiver's filters ran",
        ),
        fix=(
            "Nothing needs fixing: the analyser checks every mechanism itself. Do not read "
            "the fields that are present as the final receiver's verdict."
        ),
        responsible="none",
        spec="RFC 8601 §5",
        severity_hint="info",
    ),
    _E(
        code="receivers.arc-override",
        title="The receiver accepted the message although DMARC failed",
        checked=(
            "The analyser compares the final receiver's own DMARC and ARC results and looks "
            "for override markers. A receiver may deliver a message that fails DMARC when a "
            "trusted ARC chain shows it passed before a forwarder changed it (RFC 8617 "
            "§7.2.1), or when its local policy says so (RFC 9989)."
        ),
        found_template="The receiver overrode the DMARC failure: {detail}.",
        likely_causes=(
            "a mailing list or forwarder changed the message, breaking DKIM and SPF, and "
            "sealed it with ARC, which the receiver trusts",
            "the receiver's local policy exempts this sender or forwarder from DMARC",
        ),
        fix=(
            "Nothing needs fixing if the forwarder is known. The author's domain can avoid the "
            "failure by signing with DKIM in a way the forwarder does not break, and the "
            "forwarder by sealing with ARC or DKIM2."
        ),
        responsible="none",
        spec="RFC 8617 §7.2.1",
        severity_hint="info",
    ),
)
