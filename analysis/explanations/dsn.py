"""Explanations of the bounce findings (delivery status notifications), made by :mod:`analysis.dsn`.

Two kinds of code come from there:

* Notes on reading the bounce (:func:`analysis.dsn.read`): its form by RFC 3464 and RFC 6522,
  and the analyser's own bounds.  Each carries a text, rendered as ``{detail}``.  They never
  change the DKIM2 verdict on the bounce; they say what could not be read and why.
* Checks of DKIM2's bounce rules (:func:`analysis.dsn.judge`; S06 §12, §12.1, §12.1.2;
  SPEC-NOTES §6.6, §8.1).  Each carries a detail, rendered as ``{detail}``, and an outcome:
  passed, failed (the bounce is backscatter) or undecided.  Several codes are made with any
  of the three outcomes; their entries state the rule, let the detail say how it came out,
  and hint the severity of a failure.

"The bouncing system" is the system that received the returned message, could not deliver
it, and wrote the bounce (its Reporting-MTA).  Its actions are hinted ``receiver``: it is the
receiving side of the message that failed.  "The returned message" is the message (or header
block) the bounce carries; its newest DKIM2-Signature decides where a bounce may go.
"""

from __future__ import annotations

from . import Explanation

_E = Explanation

#: What the receiver of a bounce that fails a §12.1.2 check does (SPEC-NOTES §8.1).
_REJECT = (
    "Whoever received the bounce should reject it (550 with a 5.7.x code while still in the "
    "SMTP session) or discard it, and never pass it on (S06 §12.1.2)."
)

ENTRIES: tuple[Explanation, ...] = (
    # -- where the returned message may be bounced to (S06 §12) --------------------------------
    _E(
        code="dsn.returned-unsigned",
        title="The returned message is not DKIM2-signed, so DKIM2 cannot judge the bounce",
        checked=(
            "DKIM2 decides where a bounce may go from the newest DKIM2-Signature of the "
            "message that bounced (S06 §12). The analyser looked for one in the message or "
            "header block the bounce returned."
        ),
        found_template="DKIM2's bounce rules do not apply: {detail}.",
        likely_causes=(
            "the returned message was sent without DKIM2 (most mail today carries DKIM "
            "signatures only, if any)",
            "someone sent mail with your address as MAIL FROM, and this bounce of it came "
            "back to you: classic backscatter, which DKIM2 exists to stop",
            "the bouncing system returned a copy without the DKIM2 fields",
            "the DKIM2-Signature fields are there but cannot be parsed (see the analysis of "
            "the returned message)",
        ),
        fix=(
            "Nothing to fix in the bounce. Without DKIM2 its destination cannot be checked, "
            "so treat it as unverified mail: if you did not send the returned message, the "
            "bounce is backscatter of mail forged in your name. To have the bounces of your "
            "own mail judged, sign it with DKIM2."
        ),
        responsible="none",
        spec="S06 §12, §12.1.2; SPEC-NOTES §6.6, §8.1",
        severity_hint="info",
    ),
    _E(
        code="dsn.returned-mf",
        title="The returned message says where its bounce may go",
        checked=(
            "A DKIM2 system may bounce a message only to the MAIL FROM in the mf= of the "
            "message's newest DKIM2-Signature, that is, to the hop that handed it the "
            "message, and never when that mf= is <> (S06 §12)."
        ),
        found_template="In the returned message, {detail}.",
        likely_causes=(
            "the returned message was signed as DKIM2 expects: its newest signature names the "
            "MAIL FROM it was sent with",
        ),
        fix=(
            "Nothing to fix. The other bounce checks say whether the bounce really went to that "
            "address, from a system the message was sent to."
        ),
        responsible="none",
        spec="S06 §12; SPEC-NOTES §6.6, §8.1",
        severity_hint="info",
    ),
    _E(
        code="dsn.returned-null-mf",
        title="A bounce was sent for a message that must not be bounced",
        checked=(
            "A message whose newest DKIM2-Signature has mf=<> (an empty MAIL FROM, as bounces "
            "and other automatic notices are sent with) MUST NOT be bounced (S06 §12): there "
            "is nobody to return it to, and bouncing it can start a loop (RFC 5321 §4.5.5)."
        ),
        found_template="In the returned message, {detail}.",
        likely_causes=(
            "the returned message was itself a bounce or another automatic notice, and the "
            "bouncing system bounced it anyway: a bounce loop in the making",
            "the bouncing system does not implement DKIM2's bounce rules and took an address "
            "from the message's fields (From, Reply-To) instead",
            "the bounce is forged around a copy of a real notice",
        ),
        fix=(
            "The operator of the bouncing system: never bounce a message whose newest "
            "DKIM2-Signature has mf=<>; refuse it during the SMTP session, or drop it. " + _REJECT
        ),
        responsible="receiver",
        spec="S06 §12; SPEC-NOTES §6.6, §8.1; RFC 5321 §4.5.5",
        severity_hint="error",
    ),
    _E(
        code="dsn.returned-no-mf",
        title="The returned message's newest signature names no bounce address",
        checked=(
            "A bounce goes to the mf= of the returned message's newest DKIM2-Signature "
            "(S06 §12). A signature carries either mf= and rt=, or only nd= (the domain of the "
            "next signature) when a system bridges two of its own domains; a run of nd= "
            "signatures must end in one with mf= and rt= (S06 §8.7, §9.3)."
        ),
        found_template="In the returned message, {detail}.",
        likely_causes=(
            "a forwarder passing the bounce back rebuilt the returned message by removing its "
            "last signature but left the nd= signature it had added before it (S06 §12.1.1 "
            "asks it to remove all it added)",
            "the last signer's software ended its run of nd= signatures without the signature "
            "that must follow (S06 §8.7), and the message was accepted under an out-of-band "
            "arrangement",
            "the bounce is forged around a made-up or edited copy of the message",
        ),
        fix=(
            "The DKIM2 implementer of the system that made the newest signature, or that "
            "rebuilt the returned message: a chain must end in a signature with mf= and rt=, "
            "and a forwarder passing a bounce back removes every signature it added. " + _REJECT
        ),
        responsible="implementer",
        spec="S06 §8.7, §12, §12.1.1; SPEC-NOTES §2.3, §8.1",
        severity_hint="error",
    ),
    # -- the bounce itself (S06 §12.1) --------------------------------------------------------
    _E(
        code="dsn.unsigned",
        title="The bounce is not DKIM2-signed",
        checked=(
            "A bounce of DKIM2-signed mail must be DKIM2-signed itself, with its own "
            "Message-Instance and DKIM2-Signature, mf=<> and rt= the address it is sent to "
            "(S06 §12.1). Its signature is what lets the receiver check where the bounce came "
            "from and where it went."
        ),
        found_template="{detail}.",
        likely_causes=(
            "the bouncing system does not sign the bounces it makes, even if it signs or "
            "checks other mail",
            "the bouncing system signs mail its users submit, but its bounces leave by "
            "another path (a separate queue or relay)",
            "the bounce is backscatter from a system that knows nothing of DKIM2, sent to the "
            "MAIL FROM of a message that carried your address",
            "the bounce has a DKIM2-Signature that cannot be parsed (see the chain findings "
            "of this message)",
        ),
        fix=(
            "The operator of the bouncing system: sign bounces with DKIM2 like other outgoing "
            "mail, with mf=<> and rt= the address the bounce goes to (S06 §12.1). " + _REJECT
        ),
        responsible="receiver",
        spec="S06 §12.1, §12.1.2; SPEC-NOTES §8.1",
        severity_hint="error",
    ),
    _E(
        code="dsn.null-sender",
        title="The bounce's own signature must say MAIL FROM <> (mf=<>)",
        checked=(
            "A bounce is sent with an empty MAIL FROM (<>), so that it can never be bounced in "
            "turn, and DKIM2 signs that envelope: the bounce's DKIM2-Signature has mf=<> "
            "(S06 §12.1; RFC 5321 §4.5.5). The analyser reads the bounce's i=1 signature as "
            "the bouncing system's own; later signatures are hops that relayed the bounce on."
        ),
        found_template="{detail}.",
        likely_causes=(
            "the bouncing software signs bounces like ordinary mail, with a postmaster or "
            "bounce-handling address as MAIL FROM",
            "the report was made by an application (a help desk, a list manager, an "
            "auto-responder) rather than a mail server, and sent with its own address",
            "the bounce's first signature is an nd= signature bridging two of the bouncing "
            "system's domains (S06 §9.3), which names no MAIL FROM at all; the analyser reads "
            "only the first signature as the bounce's own",
        ),
        fix=(
            "When the signature says mf=<>, nothing to fix. Otherwise the operator of the "
            "bouncing system: send bounces with MAIL FROM <> and sign them with mf=<>, so that "
            "a bounce that fails is never bounced again."
        ),
        responsible="receiver",
        spec="S06 §12.1; SPEC-NOTES §8.1; RFC 5321 §4.5.5",
        severity_hint="error",
    ),
    _E(
        code="dsn.smtp-null-sender",
        title="The bounce must arrive with MAIL FROM <>",
        checked=(
            "When the bounce reached this mailbox straight from the bouncing system (one "
            "DKIM2 signature, delivered directly), the analyser compared the SMTP MAIL FROM it "
            "arrived with against the empty reverse-path <> that bounces are sent with "
            "(RFC 5321 §4.5.5; S06 §12.1)."
        ),
        found_template="The bounce's envelope: {detail}.",
        likely_causes=(
            "the bouncing system sends bounces with a real return address (a postmaster or "
            "bounce address), so a bounce that fails can bounce again and loop",
            "the message is not a bounce from a mail server but a report made by an "
            "application and sent with its own address",
            "a relay without DKIM2 between the bouncing system and this mailbox rewrote the "
            "empty MAIL FROM (some forwarding and SRS set-ups do)",
        ),
        fix=(
            "When it was <>, nothing to fix. Otherwise the operator of the bouncing system: "
            "send bounces with MAIL FROM <> (RFC 5321 §4.5.5), as the bounce's own signature "
            "must also say (S06 §12.1)."
        ),
        responsible="receiver",
        spec="RFC 5321 §4.5.5; S06 §12.1; SPEC-NOTES §8.1",
        severity_hint="error",
    ),
    # -- checking an inbound bounce (S06 §12.1.2) ------------------------------------------------
    _E(
        code="dsn.addressed",
        title="A bounce may go only to the returned message's newest mf=",
        checked=(
            "DKIM2 sends a bounce back to the hop that delivered the message: the MAIL FROM "
            "in the mf= of the returned message's newest DKIM2-Signature, and no other address "
            "(S06 §12). The analyser compared that address with the recipients (rt=) of the "
            "bounce's own signature. For whoever receives the bounce, this is also the check "
            "that the returned message's newest signature was its own (S06 §12.1.2, check 2)."
        ),
        found_template="Where the bounce went: {detail}.",
        likely_causes=(
            "the bouncing system does not implement DKIM2's bounce rule and sent the bounce to "
            "an address from the message's fields (From, Reply-To, Return-Path) or to the "
            "originator's MAIL FROM instead of the newest one",
            "the bounce is backscatter: it went to an address that never handed this message "
            "on, often one that spam forged",
            "the two addresses differ only in form: a local part in another case, or a tag "
            "(BATV, VERP, SRS) added or removed by one side; DKIM2 compares local parts exactly",
            "the bounce's signature has nd= instead of rt=, so it names no recipient at all",
        ),
        fix=(
            "When the addresses match, nothing to fix. Otherwise the operator of the bouncing "
            "system: send bounces only to the decoded mf= of the newest DKIM2-Signature of the "
            "message that failed, and name that address in the bounce's rt=. " + _REJECT
        ),
        responsible="receiver",
        spec="S06 §12, §12.1.2; SPEC-NOTES §6.6, §8.1",
        severity_hint="error",
    ),
    _E(
        code="dsn.aligned",
        title="A bounce must be signed by a domain the message was sent to",
        checked=(
            "Only a system the message was sent to may bounce it, so the bounce's signing "
            "domain (the d= of its own signature) must be aligned with a recipient in the rt= "
            "of the returned message's newest DKIM2-Signature (S06 §12.1.2, check 1). The "
            "draft does not define aligned; the analyser uses S06 §9.4's relaxed match: d= is "
            "a recipient's domain or below it (SPEC-NOTES §11 A33). An nd= domain of that "
            "signature counts as a recipient domain."
        ),
        found_template="Who signed the bounce: {detail}.",
        likely_causes=(
            "the bounce is forged or misdirected: it comes from a system the message was never "
            "sent to",
            "the recipient's mail is hosted by a provider that signs bounces with its own "
            "domain instead of the recipient's",
            "the bouncing system signs with a parent of the recipient's domain (d=example.com "
            "for user@mail.example.com), which the relaxed match does not accept",
            "a forwarder bounced the message under its own domain without rebuilding the "
            "returned message to what it had received, as S06 §12.1.1 requires",
        ),
        fix=(
            "When aligned, nothing to fix. Otherwise the operator of the bouncing system: sign "
            "bounces with d= the domain of the recipient that failed, or a subdomain of it; a "
            "provider signing for its customers needs a key published under each customer's "
            "domain. " + _REJECT
        ),
        responsible="receiver",
        spec=(
            "S06 §9.4, §12.1.2; SPEC-NOTES §8.1, §11 A33; -08 §16.2 binds a bounce's signing "
            "identity to its recipients (second-hand, SPEC-09-NOTES §1.15)"
        ),
        severity_hint="error",
        standing=(
            "S06 does not define aligned for bounces: the relaxed match is this analyser's "
            "reading (SPEC-NOTES §11 A33)."
        ),
    ),
    _E(
        code="dsn.returned-hash",
        title="The returned message must be the one its newest Message-Instance describes",
        checked=(
            "The receiver of a bounce checks that the returned message is the one that was "
            "sent: the returned header block must match the header hash, and the body, when "
            "the whole message came back, the body hash of the newest Message-Instance "
            "(S06 §12.1, §12.1.2, check 3). The analyser recomputed those hashes over the "
            "bytes the bounce returned; Received, Return-Path and the other trace fields a "
            "receiver adds are not hashed (S06 §4)."
        ),
        found_template="{detail}.",
        likely_causes=(
            "the bouncing system changed the message before bouncing it (a footer, a subject "
            "tag such as [SPAM], a rewritten field) and returned its changed copy",
            "the returned message was re-encoded on the way (8-bit text turned into "
            "quoted-printable, line ends changed, long lines wrapped), or its transfer "
            "encoding could not be undone cleanly (see the notes on the bounce)",
            "the bouncing system returned a shortened body; only the header block alone "
            "(text/rfc822-headers) may be returned instead of the whole message",
            "a forwarder passing the bounce back did not undo its own changes and remove the "
            "Message-Instance that recorded them (S06 §12.1.1)",
            "the message had already failed its DKIM2 check when it arrived, and then no bounce "
            "may be sent for it at all (S06 §10.1)",
            "the returned message has no Message-Instance, or only hash algorithms this "
            "analyser does not know",
            "the bounce is forged around an altered copy of the message",
        ),
        fix=(
            "When the hashes match, nothing to fix. Otherwise the operator of the bouncing "
            "system: return the message exactly as it arrived (message/rfc822), or only its "
            "header block (text/rfc822-headers), never a changed or shortened copy. " + _REJECT
        ),
        responsible="receiver",
        spec="S06 §4, §12.1, §12.1.2; SPEC-NOTES §3.1, §6.6, §8.1",
        severity_hint="error",
    ),
    # -- the form of the bounce (RFC 3464, RFC 6522) --------------------------------------------
    _E(
        code="dsn.no-status-part",
        title="The bounce has no machine-readable delivery-status part",
        checked=(
            "A bounce is a multipart/report with a human-readable explanation, a "
            "message/delivery-status part (message/global-delivery-status in its "
            "internationalised form) holding the status of each recipient, and optionally "
            "the returned message (RFC 3464 §2, RFC 6522 §3, RFC 6533). The analyser looked "
            "for the delivery-status part."
        ),
        found_template="The bounce cannot be read as a delivery report: {detail}.",
        likely_causes=(
            "the bouncing system writes its status only in the human-readable text but labels "
            "the message a delivery report anyway",
            "a gateway, virus scanner or archive export converted or removed the part",
            "the MIME structure is damaged, so the part was not found (see the MIME notes on "
            "this bounce)",
            "the message only imitates a bounce, as phishing and spam often do",
        ),
        fix=(
            "The operator of the bouncing system: send standard bounces, with a "
            "message/delivery-status part (RFC 3464). Meanwhile, who failed and why can only be "
            "read from the human-readable part."
        ),
        responsible="receiver",
        spec="RFC 3464 §2; RFC 6522 §3; RFC 6533",
        severity_hint="warning",
    ),
    _E(
        code="dsn.no-reporting-mta",
        title="The bounce does not say which server wrote it",
        checked=(
            "The first block of fields in the delivery-status part describes the report as a "
            "whole; its Reporting-MTA field, naming the server that wrote the report, is "
            "required (RFC 3464 §2.1, §2.2.2)."
        ),
        found_template="The report names no reporting server: {detail}.",
        likely_causes=(
            "the bouncing software writes an incomplete delivery-status part",
            "a blank line is missing or misplaced, so the first block holds other fields",
            "the delivery-status part was edited, cut, or written by hand",
        ),
        fix=(
            "The operator of the bouncing system: start the delivery-status part with a "
            'Reporting-MTA field (for example "Reporting-MTA: dns; mx.example.net"). '
            "Meanwhile, the bounce's Received fields show which server sent it."
        ),
        responsible="receiver",
        spec="RFC 3464 §2.1, §2.2.2",
        severity_hint="warning",
    ),
    _E(
        code="dsn.no-recipients",
        title="The bounce does not say which recipient it is about",
        checked=(
            "After its first block, the delivery-status part holds one block of fields per "
            "recipient (Final-Recipient, Action, and a Status with an RFC 3463 code such as "
            "5.1.1), each after a blank line; at least one is required (RFC 3464 §2.1, §2.3)."
        ),
        found_template="No recipient's status can be read: {detail}.",
        likely_causes=(
            "the blank line between the report's fields and the first recipient's fields is "
            "missing, so both were read as one block",
            "the bouncing software writes only the fields about the report as a whole",
            "the delivery-status part is empty or was cut",
        ),
        fix=(
            "The operator of the bouncing system: write one block per recipient after a blank "
            "line, with Final-Recipient, Action and Status (RFC 3464 §2.3). Meanwhile, read "
            "the human-readable part for who failed and why."
        ),
        responsible="receiver",
        spec="RFC 3464 §2.1, §2.3; RFC 3463",
        severity_hint="warning",
    ),
    _E(
        code="dsn.nothing-returned",
        title="The bounce returned neither the message nor its header block",
        checked=(
            "A bounce may carry the message that failed (message/rfc822) or only its header "
            "block (text/rfc822-headers): RFC 3464 §2 makes this part optional, and the "
            "sender's RET parameter asks for one or the other (RFC 3461 §4.3). DKIM2 requires "
            "one of them (S06 §12.1), so that whoever receives the bounce can check it is "
            "about a message it sent."
        ),
        found_template="There is no returned message to check: {detail}.",
        likely_causes=(
            "the bouncing system is set up never to return content (for privacy or size)",
            "the report is a delay or success notice, which often carries no copy",
            "a filter or an archive export removed the attachment",
            "the bounce was made up: without the returned message it cannot be checked",
        ),
        fix=(
            "The operator of the bouncing system: return at least the header block of the "
            "message that failed (text/rfc822-headers), as DKIM2 requires (S06 §12.1). Until "
            "then the bounce's DKIM2 verdict stays undetermined."
        ),
        responsible="receiver",
        spec="RFC 3464 §2; RFC 3461 §4.3; S06 §12.1; SPEC-NOTES §8.1",
        severity_hint="warning",
    ),
    _E(
        code="dsn.decode",
        title="The returned message's transfer encoding could not be undone cleanly",
        checked=(
            "The returned message travels as a MIME part; the analyser undid its "
            "Content-Transfer-Encoding (RFC 2045 §6) to get the message back byte for byte, as "
            "the DKIM2 hash check needs. A message/rfc822 part may only be sent as 7bit, 8bit "
            "or binary (RFC 2046 §5.2.1)."
        ),
        found_template="The returned part was taken as it is: {detail}.",
        likely_causes=(
            "the bounce was cut short, leaving a broken base64 block at its end",
            "the bouncing system uses a transfer encoding that is not standard, or misspells "
            "its name",
            "a gateway re-encoded the bounce on the way",
        ),
        fix=(
            "The operator of the bouncing system: send a returned message/rfc822 as 7bit, "
            "8bit or binary, never base64 or quoted-printable (RFC 2046 §5.2.1). Until then "
            "the returned copy may differ from what was sent, so a failed hash check of it "
            "proves less."
        ),
        responsible="receiver",
        spec="RFC 2045 §6; RFC 2046 §5.2.1",
        severity_hint="warning",
    ),
    _E(
        code="dsn.mime",
        title="The bounce's MIME structure is damaged or too large",
        checked=(
            "The analyser splits the bounce into its parts at the boundaries each multipart "
            "part declares (RFC 2046 §5.1.1), down to a fixed depth and up to a fixed number "
            "of parts."
        ),
        found_template="Part of the bounce's structure could not be read: {detail}.",
        likely_causes=(
            "the bounce was cut short (a size limit on the returned message, or a truncated "
            "export), so its closing boundary is missing",
            "a multipart part lost its boundary parameter, or its boundary lines were altered "
            "on the way",
            "the bounce nests parts very deeply or holds very many, by mistake or to burden "
            "whoever reads it",
        ),
        fix=(
            "The operator of the bouncing system: send well-formed MIME and keep the returned "
            "message whole (or return only its header block) rather than cut it. If the copy "
            "was exported from a mailbox, export it again in full."
        ),
        responsible="receiver",
        spec="RFC 2046 §5.1.1; RFC 3464 §2",
        severity_hint="warning",
    ),
    # -- the analyser's bounds (analysis.limits) -------------------------------------------------
    _E(
        code="dsn.status-cut",
        title="The delivery-status part was read only in part",
        checked=(
            "The analyser reads at most a fixed number of octets of a bounce's "
            "delivery-status part; a real one takes well under a kilobyte per recipient "
            "(RFC 3464 §2.1)."
        ),
        found_template="Not all of it was read: {detail}.",
        likely_causes=(
            "the bounce reports on a very large number of recipients",
            "the returned message or other content was put inside the delivery-status part "
            "instead of a part of its own",
            "the part was padded on purpose to burden whoever reads it",
        ),
        fix=(
            "Nothing to fix for the analysis: the report's own fields and the first recipients "
            "were read. The operator of the bouncing system should send the returned message "
            "as a part of its own (RFC 3464 §2)."
        ),
        responsible="analyser",
        spec="RFC 3464 §2, §2.1",
        severity_hint="warning",
    ),
    _E(
        code="dsn.recipients-cut",
        title="Only the first recipients of the bounce are listed",
        checked=(
            "The analyser lists at most a fixed number of the recipients a bounce names, each "
            "with its status explained, and counts the others, so that a bounce naming "
            "thousands cannot make the report grow without bound (RFC 3464 §2.3)."
        ),
        found_template="Not every recipient is listed: {detail}.",
        likely_causes=(
            "the returned message went to many recipients handled by one system, and they all "
            "failed at once",
            "the bounce is padded with recipient blocks to burden whoever reads it",
        ),
        fix=(
            "Nothing to fix for the analysis: the recipients listed show the pattern and the "
            "count covers the rest. If the bounce is genuine, the sender should check its "
            "recipient list: Status codes 5.1.x mean addresses that do not exist (RFC 3463)."
        ),
        responsible="analyser",
        spec="RFC 3464 §2.1, §2.3; RFC 3463",
        severity_hint="info",
    ),
    _E(
        code="dsn.fields-cut",
        title="Some fields of the delivery-status part were not kept",
        checked=(
            "The analyser keeps a fixed number of different fields from each block of the "
            "delivery-status part and counts the others. RFC 3464 defines five fields for the "
            "report as a whole and nine for a recipient; any others are extensions (§2.4)."
        ),
        found_template="Fields past the limit were counted, not kept: {detail}.",
        likely_causes=(
            "the bouncing software adds many extension fields of its own",
            "a header block was written into the delivery-status part instead of a part of its own",
            "the bounce was padded on purpose to burden whoever reads it",
        ),
        fix=(
            "Nothing to fix for the analysis: the first fields of each block, where RFC 3464's "
            "own fields normally stand, are kept. The operator of the bouncing system should "
            "keep the delivery-status part to the fields RFC 3464 defines."
        ),
        responsible="analyser",
        spec="RFC 3464 §2.1, §2.4",
        severity_hint="warning",
    ),
)
