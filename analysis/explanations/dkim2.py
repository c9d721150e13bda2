"""Explanations of the DKIM2 engine's findings (draft-ietf-dkim-dkim2-spec-06).

Section references use the tags of ``SPEC-NOTES.md`` (S06 =
draft-ietf-dkim-dkim2-spec-06, DNS00 = draft-ietf-dkim-dkim2-dns-00, BCP01 =
draft-ietf-dkim-dkim2-bcp-01).
"""

from __future__ import annotations

from . import PROVISIONAL, Explanation

_E = Explanation

ENTRIES: tuple[Explanation, ...] = (
    # -- the input as a message (SPEC-NOTES §6.2 step 1) ---------------------------------------
    _E(
        code="message.no-header",
        title="The input has no header fields",
        checked=(
            "The analyser splits the input into header fields and body at the first empty line. "
            "Every DKIM2 field and the header hash live in the header block."
        ),
        found_template="No header field was found before the first empty line: {detail}.",
        likely_causes=(
            "only the body was pasted or uploaded, without the header block",
            "the file starts with an empty line, so everything in it was read as body",
            "the input is not an e-mail message (an HTML page, a PDF, a mailbox index)",
        ),
        fix=(
            "Whoever exported the message: save the complete original with every header field "
            '("Show original", "View source" or "Save as .eml" in most clients) and '
            "analyse that file."
        ),
        responsible="receiver",
        spec="RFC 5322 §2.1",
        severity_hint="warning",
    ),
    _E(
        code="message.lf-line-ends",
        title="Line ends were converted from LF to CRLF",
        checked=(
            "DKIM2 hashes a message in the form it has on the wire, with CRLF line ends "
            "(S06 §13). The analyser checks which line ends the input uses."
        ),
        found_template=(
            "The input uses bare LF line ends; they were converted to CRLF before verifying: "
            "{detail}."
        ),
        likely_causes=(
            "the message was saved on a Unix-like system (mbox, Maildir, an .eml export), which "
            "stores LF line ends",
            'the message was copied from a web mail "show original" page into a text file',
        ),
        fix=(
            "Nothing needs fixing: the conversion restores the wire form. If hashes fail, "
            "analyse a byte-exact copy from the receiving MTA's queue or archive to rule out "
            "other changes made while saving."
        ),
        responsible="none",
        spec="S06 §13",
        severity_hint="info",
    ),
    _E(
        code="message.mixed-line-ends",
        title="The message mixes CRLF and bare LF line ends",
        checked=(
            "DKIM2 hashes a message in network-normal form, with CRLF line ends (S06 §13). The "
            "analyser checks whether the input uses one kind of line end throughout."
        ),
        found_template=(
            "Some lines end in CRLF and others in a bare LF; the bare LFs were converted to CRLF "
            "before verifying: {detail}."
        ),
        likely_causes=(
            "a filter on the receiving side inserted a header field or text with LF line ends "
            "into a CRLF message",
            "the copy was edited in a text editor, or pieced together from parts, before analysis",
            "the sending application put bare LF inside the body and no signer converted it "
            "before signing, as S06 §13 requires",
        ),
        fix=(
            "The receiving side: analyse a byte-exact copy from the MTA's queue or archive. If "
            "the bare LFs were in the message as delivered, the signer whose hashes fail must "
            "convert the message to CRLF form before hashing and send that converted form "
            "(S06 §13)."
        ),
        responsible="receiver",
        spec="S06 §13",
        severity_hint="warning",
    ),
    _E(
        code="message.bare-cr",
        title="The message contains bare CR characters",
        checked=(
            "S06 §13 asks signers to convert the message to network-normal form (every line "
            "ended by CRLF, no CR or LF on its own) before hashing. The analyser counts CR "
            "octets that are not followed by LF."
        ),
        found_template="Bare CR octets were found: {detail}.",
        likely_causes=(
            "the sending application generated text with old Mac-style CR line ends",
            "binary content was put in the message without a content transfer encoding",
            "an encoder or gateway left a stray CR at a line break",
        ),
        fix=(
            "The signing domain's operator (usually of the first hop): make the signing software "
            "convert bare CR and LF to CRLF before hashing and send the converted form "
            "(S06 §13). Verifiers treat bare CRs differently, so the same message can pass at "
            "one receiver and fail at another until then."
        ),
        responsible="signer",
        spec="S06 §13; SPEC-NOTES §11 A11",
        severity_hint="warning",
    ),
    _E(
        code="message.trailing-bare-cr",
        title="The body hash matches only if the last CR is read as a line end",
        checked=(
            "When a body hash fails, the analyser tries the likeliest copy damage: a body that "
            "ends in CR without LF, re-hashed as if it ended in CRLF."
        ),
        found_template="{instance} body hash matches with the final CR read as CRLF: {detail}.",
        likely_causes=(
            "the analysed copy lost its final LF (a truncated file, or a tool that strips the "
            "last newline)",
            "the message was saved from a program that trims trailing whitespace",
        ),
        fix=(
            "The receiving side: nothing is wrong with the signatures. Analyse a byte-exact copy "
            "of the message as delivered (from the MTA's queue or archive) to get a clean "
            "verdict."
        ),
        responsible="receiver",
        spec="S06 §13; SPEC-NOTES §11 A11",
        severity_hint="warning",
    ),
    _E(
        code="message.mbox-from-line",
        title="A mailbox 'From ' separator line was removed",
        checked=(
            "An mbox file starts each message with a 'From sender date' line that is not part of "
            "the message. The analyser removes it before verifying."
        ),
        found_template="The first line was an mbox separator and was removed: {detail}.",
        likely_causes=(
            "the message was saved from an mbox mailbox file or by a mail client's "
            '"save message" command',
        ),
        fix="Nothing needs fixing: the line is not part of the signed message.",
        responsible="none",
        spec="RFC 4155",
        severity_hint="info",
    ),
    _E(
        code="message.byte-order-mark",
        title="A UTF-8 byte order mark before the message was removed",
        checked=(
            "Some editors start a saved text file with the three octets EF BB BF to mark it "
            "as UTF-8. They are not part of the message, and left in place they would hide "
            "the first header field's name. The analyser removes them before verifying."
        ),
        found_template="The mark was removed: {detail}.",
        likely_causes=(
            "the message was opened and saved in a text editor (often on Windows) before it "
            "was uploaded",
        ),
        fix=(
            "Nothing needs fixing: the mark is not part of the signed message. To keep a "
            "byte-exact copy, save the message from the mail program rather than an editor."
        ),
        responsible="none",
        spec="RFC 5322 §2.2; RFC 3629 §6",
        severity_hint="info",
    ),
    _E(
        code="message.malformed-header-line",
        title="Some header lines are not valid header fields",
        checked=(
            "Every line of the header block must be a field (name, colon, value) or a "
            "continuation line starting with a space or tab (RFC 5322 §2.2). Lines that are "
            "neither cannot be hashed as fields."
        ),
        found_template=(
            "The header block has lines that are not header fields; they were left out of "
            "the header hash: {detail}."
        ),
        likely_causes=(
            "the message was pasted into a form or editor that re-wrapped long lines, so a "
            "folded line lost its leading space",
            "a gateway or filter inserted a line without a field name into the header",
            "an empty line inside the header was lost, so the first body lines became header lines",
        ),
        fix=(
            "The receiving side: analyse a byte-exact copy from the MTA's queue or archive. If "
            "that copy has the same lines, the system that last handled the message damaged it; "
            "its operator must emit only well-formed fields (RFC 5322 §2.2)."
        ),
        responsible="receiver",
        spec="RFC 5322 §2.2",
        severity_hint="warning",
    ),
    # -- analyser bounds ----------------------------------------------------------------------
    _E(
        code="limits.message-too-large",
        title="The message is larger than the analyser accepts",
        checked=(
            "To bound its work on hostile input, the analyser refuses messages above a fixed "
            "size before parsing them (analysis/limits.py)."
        ),
        found_template="The message was not analysed: {detail}.",
        likely_causes=(
            "the message carries large attachments",
            "several messages were concatenated into one file (an mbox export)",
        ),
        fix=(
            "No mail operator is at fault. The dkim2web operator can raise the limit; a "
            "shortened copy cannot be analysed instead, because the body hash covers every octet."
        ),
        responsible="analyser",
        spec="BCP01 §8",
        severity_hint="error",
    ),
    _E(
        code="limits.header-too-large",
        title="The header block is larger than the analyser accepts",
        checked=(
            "To bound its work on hostile input, the analyser refuses header blocks above a "
            "fixed size (analysis/limits.py)."
        ),
        found_template="The message was not analysed: {detail}.",
        likely_causes=(
            "a mail loop: each pass between two systems added trace fields (Received, "
            "Authentication-Results, signatures) until the header grew huge",
            "the message was built to exhaust verifiers",
            "the empty line that ends the header is missing, so the body was read as header",
        ),
        fix=(
            "If a loop caused it, the operators of the looping systems must fix the forwarding "
            "rule that sends the message back. Otherwise the dkim2web operator can raise the "
            "limit."
        ),
        responsible="analyser",
        spec="BCP01 §8",
        severity_hint="error",
    ),
    _E(
        code="limits.too-many-header-fields",
        title="The message has more header fields than the analyser accepts",
        checked=(
            "To bound its work on hostile input, the analyser refuses messages with more header "
            "fields than a fixed number (analysis/limits.py)."
        ),
        found_template="The message was not analysed: {detail}.",
        likely_causes=(
            "a mail loop: each pass added Received and other trace fields",
            "the message was built to exhaust verifiers",
        ),
        fix=(
            "If a loop caused it, the operators of the looping systems must fix the forwarding "
            "rule that sends the message back. Otherwise the dkim2web operator can raise the "
            "limit."
        ),
        responsible="analyser",
        spec="BCP01 §8",
        severity_hint="error",
    ),
    _E(
        code="limits.too-many-dkim2-fields",
        title="The message has too many DKIM2 fields",
        checked=(
            "BCP01 §7.5 asks verifiers to set a maximum number of Message-Instance and "
            "DKIM2-Signature fields and to return PERMERROR above it. Each hop adds one "
            "signature, so ordinary mail has a handful."
        ),
        found_template="The chain was not verified: {detail}.",
        likely_causes=(
            "a forwarding loop between two DKIM2 forwarders, each adding a hop on every pass",
            "the message was built to make verifiers do excessive work",
        ),
        fix=(
            "The operators of the forwarders in the chain: find the alias or list subscription "
            "that sends the message back and forth (the d= values of the repeating signatures "
            "name them) and break the loop."
        ),
        responsible="intermediary",
        spec="BCP01 §7.5",
        severity_hint="error",
    ),
    _E(
        code="limits.recipe-too-large",
        title="A change recipe is larger than the analyser accepts",
        checked=(
            "A Message-Instance r= tag holds the recipe that rebuilds the previous version. The "
            "analyser refuses recipes whose decoded JSON is larger than a fixed size."
        ),
        found_template="The recipe of {instance} was not used: {detail}.",
        likely_causes=(
            "a gateway removed a large attachment and put the whole removed content into the "
            "recipe instead of using a null body recipe",
            "the recipe was built to exhaust verifiers",
        ),
        fix=(
            "The operator of the hop that made this instance: when the removed content is large "
            'or sensitive, record a null body recipe ("b": null) instead of copying it into '
            "the recipe (BCP01 §5.7, §7.6)."
        ),
        responsible="intermediary",
        spec="S06 §7.2; BCP01 §7.6",
        severity_hint="error",
    ),
    _E(
        code="limits.too-many-keys",
        title="Too many keys to look up",
        checked=(
            "To bound DNS traffic, the analyser fetches at most a fixed number of distinct keys "
            "for one message."
        ),
        found_template="Some keys were not fetched: {detail}.",
        likely_causes=(
            "a long chain in which every hop signs with several selectors",
            "the message was built to make verifiers send many DNS queries",
        ),
        fix=(
            "BCP01 §7.5 asks verifiers to refuse such messages (PERMERROR); a receiver will do "
            "the same. The signers should use fewer selectors per hop; if the chain is genuine, "
            "the dkim2web operator can raise MAX_KEY_LOOKUPS."
        ),
        responsible="analyser",
        spec="BCP01 §7.5",
        severity_hint="error",
    ),
    _E(
        code="limits.key-too-large",
        title="The RSA key is larger than the analyser accepts",
        checked=(
            "RSA verification cost grows with the key size, so the analyser accepts moduli up "
            "to a fixed size (S06 requires verifiers to handle 1024 to 2048 bits; larger keys "
            "are optional)."
        ),
        found_template="The key of {hop} is too large: {detail}.",
        likely_causes=(
            "the domain published a very large RSA key (over 8192 bits)",
            "a key record crafted to make verification expensive",
        ),
        fix=(
            "The signing domain's operator should publish a 2048-bit RSA key (BCP01 §3.1) or an "
            "Ed25519 key under a new selector and sign with it."
        ),
        responsible="signer",
        spec="S06 §3.2; SPEC-NOTES §9",
        severity_hint="error",
    ),
    _E(
        code="limits.recipe-output-too-large",
        title="The analyser stopped: one recipe would rebuild more than its bound",
        checked=(
            "To check an earlier instance the analyser applies the recipe that undoes a hop's "
            "change. A recipe's copy ranges ascend and never overlap, so an honest recipe "
            "rebuilds about as much as the message holds; the analyser stops any recipe "
            "that would make more than four times the message (plus 64 KB)."
        ),
        found_template="The recipe of {instance} was not applied: {detail}.",
        likely_causes=(
            "a recipe built to exhaust verifiers' memory: its literals multiply (a long "
            "header field name emitted many times)",
            "a signer whose recipes rebuild very large header fields many times over",
        ),
        fix=(
            "This is the analyser's own bound, not a verdict against the signer: the "
            "instances below were not checked. A chain that reaches it is almost certainly "
            "hostile; if it is your own signer's, make its recipes emit each field once "
            "(S06 §5)."
        ),
        responsible="analyser",
        spec="S06 §5, §10.2; BCP01 §7.5",
        severity_hint="error",
    ),
    _E(
        code="limits.reconstruction-too-large",
        title="The analyser could not rebuild every earlier instance within its bounds",
        checked=(
            "To check each hop's hashes the analyser undoes the recipes one instance at a "
            "time. It bounds the work of rebuilding all of them together (64 times the "
            "message's size) and the new octets their literals may hold in memory (twice the "
            "message's size); a chain at the instance limit, each instance the size of the "
            "message, fits."
        ),
        found_template=(
            "The analyser stopped rebuilding at {instance}: {detail}. This is the analyser's "
            "limit, not a fault of any signer, so the result is temperror rather than a "
            "failure."
        ),
        likely_causes=(
            "recipes whose literals repeat a long field name many times, built to make "
            "verifiers use memory (hostile)",
            "an unusually long chain of large instances, each re-adding content a later hop "
            "removed",
        ),
        fix=(
            "Nobody along the chain needs to act for a genuine chain; the dkim2web operator "
            "can raise TOTAL_RECONSTRUCTION_FACTOR or RECONSTRUCTION_MEMORY_FACTOR in "
            "analysis/limits.py. If the recipes repeat long literals, treat the message as "
            "hostile: the hop that added them must fix its recipe generator (S06 §5)."
        ),
        responsible="analyser",
        spec="S06 §10.2; BCP01 §7.5",
        severity_hint="error",
    ),
    # -- Message-Instance syntax and numbering (S06 §7, §11.2) --------------------------------
    _E(
        code="mi.syntax",
        title="A Message-Instance field is malformed",
        checked=(
            "Each Message-Instance field must follow S06 §7: tag=value pairs separated by ';', "
            "each tag once, m= a number, h= entries of the form algorithm:header-hash:body-hash "
            "in padded base64 of the right length, r= padded base64."
        ),
        found_template="The Message-Instance field of {instance} cannot be parsed: {detail}.",
        likely_causes=(
            "the signing software implements a different draft revision (for example "
            "unpadded or non-canonical base64, accepted before -02)",
            "a relay re-wrapped or re-encoded the field and damaged it (8-bit characters, a "
            "broken fold)",
            "a hash value of the wrong length, e.g. a hex digest or a sha256 value labelled sha512",
        ),
        fix=(
            "The DKIM2 implementer of the hop that added this field: produce exactly the S06 §7 "
            "syntax (canonical padded base64, each tag once, ';' after every tag)."
        ),
        responsible="implementer",
        spec="S06 §7, §11.2",
        severity_hint="error",
    ),
    _E(
        code="mi.tag-missing",
        title="A Message-Instance field lacks a required tag",
        checked="Every Message-Instance field must carry m= (its number) and h= (its hashes).",
        found_template=(
            "The Message-Instance field of {instance} lacks a required tag; the engine reported "
            '"{message}".'
        ),
        likely_causes=(
            "the field was written to an older format: draft-clayton-dkim2-spec-07/-08 used v= "
            "where S06 uses m=",
            "the field was cut short by a relay that limits header line length",
        ),
        fix=(
            "The DKIM2 implementer of the hop that added this field: write m= and h= as S06 §7 "
            "defines them."
        ),
        responsible="implementer",
        spec="S06 §7, §11.2",
        severity_hint="error",
    ),
    _E(
        code="mi.duplicate",
        title="Two Message-Instance fields have the same number",
        checked=(
            "Message-Instance numbers (m=) must run 1, 2, 3 … with no number used twice; each "
            "new instance takes the highest existing number plus one (S06 §7.1)."
        ),
        found_template="More than one Message-Instance field claims {instance}: {detail}.",
        likely_causes=(
            "a hop added its Message-Instance with a number it counted itself instead of the "
            "highest present plus one",
            "the revising step of one hop ran twice (the message passed through the same "
            "filter twice)",
        ),
        fix=(
            "The DKIM2 implementer of the hop that added the second field: number a new "
            "Message-Instance as the highest m= present plus one, and add it only once per hop."
        ),
        responsible="implementer",
        spec="S06 §7.1; SPEC-NOTES §11 A23",
        severity_hint="error",
    ),
    _E(
        code="mi.missing",
        title="A Message-Instance field is missing",
        checked=(
            "Message-Instance numbers must run from 1 to the highest without a gap; a gap makes "
            "the whole message unverifiable (S06 §7.1). A message with DKIM2-Signature fields "
            "must also have at least the m=1 instance."
        ),
        found_template="No usable Message-Instance field exists for {instance}: {detail}.",
        likely_causes=(
            'a gateway removed the field (a "strip internal headers" rule matching it)',
            "the field is present but could not be parsed, so its number is unknown (see the "
            "syntax finding next to this one)",
            "the signer only added DKIM2-Signature fields and no Message-Instance",
        ),
        fix=(
            "The operator of the system that removed it: never remove or rewrite "
            "Message-Instance or DKIM2-Signature fields. If no field was removed, the DKIM2 "
            "implementer of the signer must add Message-Instance m=1 at the first hop."
        ),
        responsible="intermediary",
        spec="S06 §7.1, §11.2",
        severity_hint="error",
    ),
    _E(
        code="mi.duplicate-hash-algorithm",
        title="A Message-Instance lists the same hash algorithm twice",
        checked=(
            "The h= tag may give hashes under several algorithms, but each algorithm at most "
            "once (S06 §7.3)."
        ),
        found_template="The h= tag of {instance} repeats an algorithm: {detail}.",
        likely_causes=(
            "the signing software appended a hash set for each configured key instead of each "
            "hash algorithm",
            "a hop added its own hash set to an existing Message-Instance instead of adding a "
            "new one",
        ),
        fix=(
            "The DKIM2 implementer of the hop that added this field: list each hash algorithm "
            "once in h=."
        ),
        responsible="implementer",
        spec="S06 §7.3, §11.2",
        severity_hint="error",
    ),
    _E(
        code="mi.not-signed",
        title="A Message-Instance is not covered by any signature",
        checked=(
            "Each signature's m= names the highest Message-Instance that existed when it was "
            "made, so every instance must be covered by some signature (S06 §8.2, §11.2)."
        ),
        found_template="{instance} was added after the last signature was made: {detail}.",
        likely_causes=(
            "a hop changed the message and recorded a Message-Instance but did not sign "
            "(its signing step failed, or it left signing to an outbound MTA that did not run)",
            "the newest DKIM2-Signature could not be parsed, so its m= is unknown",
            "someone added a Message-Instance to a signed message",
        ),
        fix=(
            "The operator of the hop that changed the message: sign after recording the change, "
            "in the same pass; a Message-Instance never travels without the DKIM2-Signature of "
            "the hop that added it."
        ),
        responsible="intermediary",
        spec="S06 §9.1, §11.2",
        severity_hint="error",
    ),
    _E(
        code="mi.no-known-hash",
        title="A Message-Instance has no hash this verifier can check",
        checked=(
            "The h= tag gives hashes per algorithm. Verifiers implement sha256 and sha512 "
            "(S06 §3.1) and ignore other names; at least one known algorithm must be present."
        ),
        found_template="The hashes of {instance} cannot be checked: {detail}.",
        likely_causes=(
            "the signer uses only a hash algorithm from a later or experimental draft",
            'the algorithm name is misspelt (e.g. "sha-256")',
        ),
        fix=(
            "The DKIM2 implementer of the hop that added this field: always include a sha256 "
            "hash set; add newer algorithms next to it, not instead of it."
        ),
        responsible="implementer",
        spec="S06 §3.1, §7.3, §11.7",
        severity_hint="error",
    ),
    _E(
        code="mi.invalid-json",
        title="A change recipe is invalid or does not fit the message",
        checked=(
            "The r= tag is base64 of a JSON recipe (S06 §5) that turns this instance back into "
            'the previous one: "h" lists header steps, "b" body steps, each step '
            '{"c": [first, last]} (copy) or {"d": [...]} (literal text). The analyser '
            "decodes it, checks its shape, and applies it; copy ranges must ascend and lie "
            "inside the current message."
        ),
        found_template=(
            "The recipe of {instance} could not be used, so earlier versions cannot be rebuilt: "
            "{detail}."
        ),
        likely_causes=(
            "a later system changed the message without recording it, so the recipe's line or "
            "field numbers no longer fit (a copy range past the end of the body)",
            "the reviser's software counts lines differently (a last line without CRLF, bare "
            "LF line ends) and wrote ranges that do not undo its change",
            'the recipe uses a step from a later draft ("u", S07) or the string-array format '
            "of draft-clayton-dkim2-spec-08",
            "JSON keys that differ only in case, a literal containing CR or LF, an empty "
            '"d" array or an empty "h" object',
            "rebuilding would exceed the analyser's size bound (the detail says so)",
        ),
        fix=(
            "The DKIM2 implementer of the reviser that added this instance: emit recipes that "
            "match the S06 §5 schema and, applied to the message as sent, rebuild the previous "
            "version exactly; test them by applying them. If a later hop changed the message "
            "without a recipe, that hop's operator is at fault (see the hash findings)."
        ),
        responsible="implementer",
        spec="S06 §5, §11.2; SPEC-NOTES §11 A7, A12",
        severity_hint="error",
    ),
    # -- DKIM2-Signature syntax and numbering (S06 §8, §11.2) ---------------------------------
    _E(
        code="sig.syntax",
        title="A DKIM2-Signature field is malformed",
        checked=(
            "Each DKIM2-Signature field must follow S06 §8: tag=value pairs separated by ';', "
            "each tag once; i=, m=, t= numbers; d= a domain; s= entries "
            "selector:algorithm:signature; mf= and rt= base64 of addresses in angle brackets; "
            "n= at most 64 characters."
        ),
        found_template="The DKIM2-Signature field of {hop} cannot be parsed: {detail}.",
        likely_causes=(
            "the signing software implements an earlier revision: addresses in mf=/rt= without "
            "angle brackets (interop signers of -02 to -04), or DKIM1-style tags",
            "non-canonical base64 (missing '=' padding or non-zero pad bits, required since -02)",
            "a relay re-wrapped or re-encoded the field and damaged it",
            "a tag appears twice, or n= is longer than 64 characters",
        ),
        fix=(
            "The DKIM2 implementer of the hop that added this field: produce exactly the S06 §8 "
            "syntax. For archived messages from older signers, the analyser's compatibility "
            "mode accepts bare addresses and reports them."
        ),
        responsible="implementer",
        spec="S06 §8, §11.2",
        severity_hint="error",
    ),
    _E(
        code="sig.tag-missing",
        title="A DKIM2-Signature field lacks a required tag",
        checked=(
            "Every DKIM2-Signature must carry i=, m=, t=, d= and s=, and either nd= or both "
            "mf= and rt= (S06 §8)."
        ),
        found_template=(
            "The DKIM2-Signature field of {hop} lacks a required tag; the engine reported "
            '"{message}".'
        ),
        likely_causes=(
            "the signing software follows an older format (draft-clayton-dkim2-spec used "
            "JSON in m= and had no mf=/rt= tags)",
            "the signer was configured without an envelope and left out mf=/rt=",
            "the field was cut short by a relay that limits header line length",
        ),
        fix=(
            "The DKIM2 implementer of the hop that added this field: always write the required "
            "tags of S06 §8, including the envelope of the outgoing transaction in mf= and rt=."
        ),
        responsible="implementer",
        spec="S06 §8, §11.2",
        severity_hint="error",
    ),
    _E(
        code="sig.tag-unexpected",
        title="A DKIM2-Signature mixes nd= with mf=/rt=",
        checked=(
            "A signature names either the next signing domain (nd=) or the envelope "
            "(mf= and rt=), never both (S06 §8.7)."
        ),
        found_template=(
            "The DKIM2-Signature field of {hop} carries both forms; the engine reported "
            '"{message}": {detail}.'
        ),
        likely_causes=(
            "the signer added nd= for a domain hand-over but kept writing mf=/rt= as well",
        ),
        fix=(
            "The DKIM2 implementer: when signing with nd= (S06 §9.3), leave out mf= and rt=; "
            "the signature of the nd= domain carries the envelope."
        ),
        responsible="implementer",
        spec="S06 §8.7, §11.2",
        severity_hint="error",
    ),
    _E(
        code="sig.duplicate-selector",
        title="A DKIM2-Signature uses the same selector twice",
        checked=(
            "The s= tag may hold several signatures (for example RSA and Ed25519), but each "
            "selector only once (S06 §8.9)."
        ),
        found_template="The s= tag of {hop} repeats a selector: {detail}.",
        likely_causes=(
            "the signer was configured with two keys under one selector name (for example both "
            'the RSA and the Ed25519 key as "default")',
            "a key rotation added the new key under the old selector",
        ),
        fix=(
            "The signing domain's operator: give every key its own selector and publish each at "
            "its own <selector>._domainkey name."
        ),
        responsible="signer",
        spec="S06 §8.9, §11.2",
        severity_hint="error",
    ),
    _E(
        code="sig.too-many-selectors",
        title="A DKIM2-Signature has more signatures than allowed",
        checked=(
            "The s= tag allows at most one extra signature per algorithm (for example two RSA "
            "key lengths), so no algorithm may appear more than twice (S06 §8.9, §11.2)."
        ),
        found_template="The s= tag of {hop} uses one algorithm too often: {detail}.",
        likely_causes=(
            "the signer signs with every key it has, including retired ones",
            "several rotation generations of one algorithm are configured at once",
        ),
        fix=(
            "The signing domain's operator: sign with at most two keys per algorithm; remove "
            "retired keys from the signing configuration."
        ),
        responsible="signer",
        spec="S06 §8.9, §11.2",
        severity_hint="error",
    ),
    _E(
        code="sig.duplicate",
        title="Two DKIM2-Signature fields have the same number",
        checked=(
            "Hop numbers (i=) must run 1, 2, 3 … with no number used twice; each hop takes the "
            "highest existing number plus one (S06 §8.1)."
        ),
        found_template="More than one DKIM2-Signature field claims {hop}: {detail}.",
        likely_causes=(
            "the message passed through the same signing step twice (re-injected after a "
            "content filter) and the software did not count the existing signatures",
            "two branches of one operator's system signed the same copy independently",
        ),
        fix=(
            "The DKIM2 implementer: number a new signature as the highest i= present plus one; "
            "the operator should make sure each message passes its signer once."
        ),
        responsible="implementer",
        spec="S06 §8.1; SPEC-NOTES §11 A23",
        severity_hint="error",
    ),
    _E(
        code="sig.missing",
        title="A DKIM2-Signature field is missing",
        checked=(
            "Hop numbers must run from 1 to the highest without a gap; a gap makes the whole "
            "message unsigned (S06 §8.1). A message with Message-Instance fields must also have "
            "signatures."
        ),
        found_template="No usable DKIM2-Signature field exists for {hop}: {detail}.",
        likely_causes=(
            'a gateway removed the field (a "strip internal headers" rule matching it)',
            "the field is present but could not be parsed, so its number is unknown (see the "
            "syntax finding next to this one)",
            "a signer started numbering at the wrong value",
        ),
        fix=(
            "The operator of the system that removed it: never remove or rewrite DKIM2-Signature "
            "or Message-Instance fields. If none was removed, the DKIM2 implementer must number "
            "signatures from 1, each new one as the highest plus one."
        ),
        responsible="intermediary",
        spec="S06 §8.1, §11.2",
        severity_hint="error",
    ),
    _E(
        code="sig.instance-out-of-range",
        title="A signature names a Message-Instance that does not exist",
        checked=(
            "A signature's m= names the highest Message-Instance present when it was made "
            "(S06 §8.2), so it must lie between 1 and the highest m present."
        ),
        found_template="The signature of {hop} points past the last instance: {detail}.",
        likely_causes=(
            "a Message-Instance field was removed in transit",
            "the signer wrote the number of an instance it meant to add, then did not add it "
            "(it decided nothing had changed)",
            "the highest Message-Instance could not be parsed",
        ),
        fix=(
            "The DKIM2 implementer: set m= to the highest m= actually present after adding any "
            "new Message-Instance. An operator that strips fields must leave DKIM2 fields alone."
        ),
        responsible="implementer",
        spec="S06 §8.2; SPEC-NOTES §11 A22",
        severity_hint="error",
    ),
    _E(
        code="sig.instance-decreasing",
        title="A signature names an older instance than an earlier signature",
        checked=(
            "Instances only grow along the chain, so each signature's m= must be at least the "
            "m= of every earlier signature (S06 §8.2)."
        ),
        found_template="The signature of {hop} goes back in the instance numbering: {detail}.",
        likely_causes=(
            "the signer always writes m=1, or the number of the first instance, instead of the "
            "highest",
            "the signer counted only Message-Instance fields with its own domain",
        ),
        fix=(
            "The DKIM2 implementer: set m= to the highest Message-Instance number present when "
            "signing."
        ),
        responsible="implementer",
        spec="S06 §8.2; SPEC-NOTES §11 A22",
        severity_hint="error",
    ),
    # -- timestamps (S06 §8.4, §11.3) ---------------------------------------------------------
    _E(
        code="sig.expired",
        title="A signature is older than 14 days",
        checked=(
            "Every signature's t= (the signing time) is compared with the verification time; "
            "signatures older than 14 days fail (S06 §8.4, §11.3). This limits how long a "
            "captured message can be replayed."
        ),
        found_template="The signature of {hop} has expired: {detail}.",
        likely_causes=(
            "the message is being analysed more than 14 days after it was sent, using the "
            "current time as verification time",
            "the message sat in a queue, or was re-sent from an archive or a mailbox migration, "
            "long after it was signed",
            "the signer's clock is wrong",
            "an old signed message is being replayed",
        ),
        fix=(
            "If you are analysing an archived copy, re-run with the verification time set to "
            "when the message arrived (dkim2 verify --now <unix time>); nobody needs to change "
            "anything. If it expired on arrival, the signing domain's operator must keep the "
            "clock right (BCP01 §3.6), and the operator that delayed it must not deliver old "
            "mail without re-checking it."
        ),
        responsible="none",
        spec="S06 §8.4, §11.3; SPEC-NOTES §11 A18",
        severity_hint="error",
    ),
    _E(
        code="sig.valid-at-arrival",
        title="The signature was still valid when the message arrived",
        checked=(
            "When a signature has expired, the analyser reads the delivery time from the topmost "
            "Received field and checks whether the signature was within its 14-day lifetime then."
        ),
        found_template="{detail}",
        likely_causes=(
            "the message is being analysed long after it was delivered (an archived or "
            "forwarded copy)",
        ),
        fix=(
            "Nobody needs to fix anything for this reason alone. To see the verdict a receiver "
            "reached at delivery time, re-run the analysis as of the arrival time (the CLI's "
            "--now); the Received date is unsigned, so treat it as a hint."
        ),
        responsible="none",
        spec="S06 §8.4",
        severity_hint="info",
    ),
    _E(
        code="sig.future-timestamp",
        title="A signature's time is in the future",
        checked=(
            "The signature's t= is compared with the verification time. A time clearly in the "
            "future is suspicious; verifiers MAY ignore such a signature (S06 §8.4)."
        ),
        found_template="The signature of {hop} is dated after the verification time: {detail}.",
        likely_causes=(
            "the signer's clock is fast (no time synchronisation)",
            "the verification time given to the analyser is earlier than the message's arrival",
            "the signer wrote milliseconds instead of seconds in t=",
        ),
        fix=(
            "The signing domain's operator: synchronise the signing host's clock (NTP) and write "
            "t= in seconds since 1970 (S06 §8.4; BCP01 §3.6)."
        ),
        responsible="signer",
        spec="S06 §8.4",
        severity_hint="warning",
    ),
    # -- custody against the envelope and inside the chain (S06 §9, §11.4) --------------------
    _E(
        code="envelope.not-checked",
        title="The SMTP envelope was not checked",
        checked=(
            "DKIM2's replay defence compares the newest signature's mf= and rt= with the MAIL "
            "FROM and RCPT TO of the SMTP transaction that delivered the message (S06 §11.4). "
            "That envelope is not part of a saved message."
        ),
        found_template="{detail}.",
        likely_causes=("a saved message was analysed and no envelope was supplied",),
        fix=(
            "To run the check, supply the envelope as the receiving MTA logged it (dkim2 verify "
            "--mail-from ... --rcpt-to ...). Return-Path and Delivered-To fields are hints only."
        ),
        responsible="none",
        spec="S06 §11.4",
        severity_hint="info",
    ),
    _E(
        code="custody.mail-from-mismatch",
        title="The envelope sender does not match the newest signature",
        checked=(
            "The newest signature's mf= must equal the SMTP MAIL FROM of the transaction that "
            "delivered the message, exactly (domain case aside; S06 §11.4)."
        ),
        found_template="The envelope sender does not match for {hop}: {detail}.",
        likely_causes=(
            "the last hop rewrote the envelope sender after signing (SRS, VERP or "
            "bounce-address tagging applied by a later stage of the same MTA)",
            "a relay after the last signer changed MAIL FROM without signing (a relay that "
            "changes the envelope must sign, S06 §9.2)",
            "the envelope given to the analyser is not the one this copy arrived with (for "
            "example a Return-Path rewritten on delivery)",
            "the message was replayed by someone using their own MAIL FROM",
        ),
        fix=(
            "The operator of the newest signing domain: sign last, with the MAIL FROM actually "
            "used on the wire, after any SRS or VERP rewriting; any relay that changes the "
            "envelope must add its own signature. If the envelope matches nothing in the chain, "
            "treat the message as replayed."
        ),
        responsible="signer",
        spec="S06 §9.2, §11.4",
        severity_hint="error",
    ),
    _E(
        code="custody.rcpt-to-mismatch",
        title="The message was delivered to a recipient the newest signature does not name",
        checked=(
            "Every SMTP RCPT TO of the delivering transaction must appear among the newest "
            "signature's rt= addresses (extra rt= entries are fine; S06 §11.4). This is the "
            "check that catches replay to new recipients."
        ),
        found_template="A recipient is not covered by {hop}: {detail}.",
        likely_causes=(
            "an alias or forward was expanded after the last signature, by a system that did "
            "not sign (often the receiving domain's own alias expansion before verification)",
            "the envelope given to the analyser is the final mailbox (Delivered-To) rather than "
            "the RCPT TO seen at the border",
            "the message is a replay: a validly signed copy re-sent to other addresses",
        ),
        fix=(
            "The operator of the forwarder that changed the recipients: sign after alias "
            "expansion, listing the new RCPT TO in rt=. The receiver should verify at the border "
            "MTA, before its own alias expansion. If no hop explains the recipient, treat the "
            "message as replayed."
        ),
        responsible="intermediary",
        spec="S06 §8.6, §11.4",
        severity_hint="error",
    ),
    _E(
        code="custody.unexpected-nd",
        title="The newest signature hands the message to a domain that never signed",
        checked=(
            "A signature with nd= says the next signature will be made by that domain "
            "(S06 §8.7, §9.3). On the newest signature there is no next one, so there is no "
            "envelope to check; S06 §11.4 accepts that only under an out-of-band arrangement."
        ),
        found_template="{hop} ends the chain with nd=: {detail}.",
        likely_causes=(
            "an operator that sends from a different domain than it received for signed the "
            "hand-over (nd=) but the second signature, by the sending domain, was not added",
            "the message left through a path that bypasses the outbound signer",
        ),
        fix=(
            "The signing domain's operator: make sure every message signed with nd= passes "
            "through the signer of the nd= domain, or sign with mf=/rt= instead. A receiver "
            "with an out-of-band arrangement with that domain may accept it."
        ),
        responsible="signer",
        spec="S06 §8.7, §9.3, §11.4",
        severity_hint="error",
    ),
    _E(
        code="custody.mf-d-mismatch",
        title="The signing domain does not cover the envelope sender",
        checked=(
            "A signature's d= must be the domain of its own mf= (MAIL FROM) or a parent of it, "
            "unless mf= is the null sender <> (S06 §8.8)."
        ),
        found_template="The signature of {hop} covers the wrong sender domain: {detail}.",
        likely_causes=(
            "a forwarder signs with its own domain but keeps the original sender's MAIL FROM "
            "(no SRS rewriting)",
            "an email service provider signs with its own d= while MAIL FROM uses the "
            "customer's bounce domain, or the reverse",
        ),
        fix=(
            "The signing domain's operator: sign with a d= equal to the MAIL FROM domain or a "
            "parent of it — for a forwarder, rewrite MAIL FROM into its own domain (SRS); for a "
            "provider, sign with the customer's domain when using the customer's bounce domain."
        ),
        responsible="signer",
        spec="S06 §8.8, §11.4",
        severity_hint="error",
    ),
    _E(
        code="custody.chain-link",
        title="The chain of custody between two hops is broken",
        checked=(
            "Each hop must send from a domain the previous hop sent to: hop k's MAIL FROM "
            "domain (or its d= when mf= is <> or nd= is used) must equal, or be below, the "
            "domain of one of hop k-1's rt= recipients (S06 §9.2, §9.4)."
        ),
        found_template="{hop} does not continue the previous hop's delivery: {detail}.",
        likely_causes=(
            "a forwarder received the message for one domain and sent it on from another "
            "(its own or its provider's) without the hand-over signature S06 §9.3 requires",
            "an unsigned system between the two hops changed the recipient or sender",
            "the chain was assembled from an unrelated signed message",
        ),
        fix=(
            "The operator of the later hop: when sending from a domain other than the one the "
            "message arrived for, first add a signature by the arrival domain with nd= naming "
            'the sending domain (or an "imaginary hop" signature), as S06 §9.3 describes; or '
            "send with a MAIL FROM in the arrival domain."
        ),
        responsible="intermediary",
        spec="S06 §9.2, §9.3, §9.4; SPEC-NOTES Annex C 1",
        severity_hint="error",
    ),
    _E(
        code="custody.nd-mismatch",
        title="The next signer is not the domain the previous hop named",
        checked=(
            "When a signature carries nd=, the next signature's d= must equal it exactly; "
            "subdomains do not count (S06 §8.7)."
        ),
        found_template="{hop} signed as a different domain than announced: {detail}.",
        likely_causes=(
            "nd= was configured with a related but different name (nd=mail.example.com while the "
            "outbound signer uses d=example.com)",
            "the outbound signer picked another tenant's or another brand's domain",
            "another system signed between the two",
        ),
        fix=(
            "The forwarder's operator (who controls both signatures): set nd= to exactly the d= "
            "the outbound signer uses."
        ),
        responsible="intermediary",
        spec="S06 §8.7, §11.4",
        severity_hint="error",
    ),
    # -- keys (S06 §3.5, §3.6, §11.5; DNS00) --------------------------------------------------
    _E(
        code="key.not-fetched",
        title="A public key could not be fetched",
        checked=(
            "For each s= entry the verifier fetches the TXT record at "
            "<selector>._domainkey.<d=> (S06 §3.6). A key that cannot be fetched makes the "
            "result TEMPERROR (S06 §11.5)."
        ),
        found_template="The key for {hop} was not looked up: {detail}.",
        likely_causes=(
            "the analyser's per-message key limit was reached before this key",
            "the DNS lookup returned no answer for this name",
        ),
        fix=(
            "Re-run the analysis. If the per-message key limit was reached, the message has an "
            "unusual number of keys; the dkim2web operator can raise the limit."
        ),
        responsible="analyser",
        spec="S06 §11.5",
        severity_hint="error",
    ),
    _E(
        code="key.temperror",
        title="DNS failed temporarily while fetching a key",
        checked=(
            "The verifier asked DNS for the TXT record at <selector>._domainkey.<d=>. Timeouts "
            "and server failures are temporary: the result is TEMPERROR, and an MTA should "
            "answer 4xx so the sender retries (S06 §10.1, §11.5)."
        ),
        found_template="The key for {hop} could not be fetched: {detail}.",
        likely_causes=(
            "the signing domain's authoritative name servers are unreachable or slow",
            "a DNSSEC validation failure at the resolver (it shows as SERVFAIL)",
            "the _domainkey delegation or CNAME to a provider's zone is broken (lame delegation)",
            "the analyser's DNS time budget for the message ran out",
        ),
        fix=(
            "The signing domain's DNS administrator: check that the name resolves from outside "
            "(dig TXT <selector>._domainkey.<domain>), that every authoritative server answers, "
            "and that DNSSEC signatures are valid. Retry later."
        ),
        responsible="dns",
        spec="S06 §11.5",
        severity_hint="error",
    ),
    _E(
        code="key.not-found",
        title="The public key does not exist in DNS",
        checked=(
            "The verifier asked DNS for the TXT record at <selector>._domainkey.<d=> "
            "(S06 §3.6). A name that does not exist, or exists without a TXT record, is a "
            "permanent error (S06 §11.5)."
        ),
        found_template="No key was found for {hop}: {detail}.",
        likely_causes=(
            "the key was removed after the message was signed (a rotation that retired the "
            "selector while signed mail was still in transit or being checked)",
            "the key was never published, or was published under a mistyped selector or "
            "domain (a zone-file name missing its final dot)",
            "the CNAME delegating the selector to an email provider is missing or points to a "
            "name that no longer exists",
            "for a hand-over signature (S06 §9.3), the arrival domain does not publish the "
            "forwarder's key",
        ),
        fix=(
            "The signing domain's DNS administrator: publish the key at the name in the detail, "
            "and keep retired keys published for at least the 14-day signature lifetime; rotate "
            "by adding new selectors rather than deleting or reusing old ones (DNS00 §3.1, "
            "BCP01 §3.5)."
        ),
        responsible="dns",
        spec="S06 §3.6, §11.5",
        severity_hint="error",
    ),
    _E(
        code="key.multiple-records",
        title="The key name has more than one TXT record",
        checked=(
            "Exactly one TXT record must be published at <selector>._domainkey.<d=>; more than "
            "one is a permanent error (S06 §11.5)."
        ),
        found_template="The key for {hop} is ambiguous: {detail}.",
        likely_causes=(
            "a new key was added next to the old one under the same selector instead of "
            "replacing it",
            "an unrelated TXT record (a verification token, an SPF-like string) was put at the "
            "selector name",
            "a DKIM1 key record and a second record were both kept during a migration",
        ),
        fix=(
            "The signing domain's DNS administrator: leave exactly one key record at each "
            "selector; rotate by publishing new keys under new selectors (BCP01 §3.5)."
        ),
        responsible="dns",
        spec="S06 §11.5; SPEC-NOTES §11 A28",
        severity_hint="error",
    ),
    _E(
        code="key.syntax",
        title="The key record in DNS is not usable",
        checked=(
            "The TXT record is parsed as a key record (DNS00 §3): tag=value pairs, v=DKIM1 "
            "first if present, k= a known key type, p= the base64 public key; RSA keys must use "
            "the public exponent 65537 (S06 §3.2) and Ed25519 keys are 32 octets."
        ),
        found_template="The key record for {hop} cannot be used: {detail}.",
        likely_causes=(
            "the DNS provider's web form mangled the record: quotes or backslashes copied "
            "into it, or a value cut at 255 characters instead of being split into strings",
            "PEM lines (-----BEGIN PUBLIC KEY-----) or line breaks were pasted into p=",
            "k= names a key type from a later draft (such as mldsa44) that -06 verifiers do "
            "not know",
            "the RSA key is larger than the analyser accepts, or uses an exponent other than 65537",
        ),
        fix=(
            "The signing domain's DNS administrator: publish the record exactly as the key "
            "tool printed it (v=DKIM1; k=rsa or k=ed25519; p=<base64>), split into strings of "
            "at most 255 characters without added spaces, and check it with dig."
        ),
        responsible="dns",
        spec="S06 §3.2, §11.5; DNS00 §3",
        severity_hint="error",
    ),
    _E(
        code="key.revoked",
        title="The signing key has been revoked",
        checked=(
            "A key record with an empty p= means the domain has withdrawn the key; signatures "
            "made with it are a permanent error (S06 §11.5; DNS00 §3.4.1)."
        ),
        found_template="The key for {hop} has been withdrawn: {detail}.",
        likely_causes=(
            "the domain retired or revoked the key (a rotation, or a suspected compromise) "
            "after this message was signed",
            "the signer is still configured to sign with a key the domain has revoked",
        ),
        fix=(
            "The signing domain's operator: sign only with keys that are published; move the "
            "signer to a new selector before revoking the old key. If the key was revoked after "
            "a compromise, the failure is intended."
        ),
        responsible="signer",
        spec="S06 §11.5; DNS00 §3.4.1",
        severity_hint="error",
    ),
    _E(
        code="key.algorithm-mismatch",
        title="The key type does not match the signature algorithm",
        checked=(
            "The algorithm named in s= must fit the key's k= type: rsa-sha256 needs k=rsa, "
            "ed25519-sha256 needs k=ed25519 (S06 §8.9, §11.5). A record without k= is an RSA "
            "key."
        ),
        found_template="The key for {hop} is of the wrong type: {detail}.",
        likely_causes=(
            "an Ed25519 key was published without k=ed25519, so it reads as an RSA key",
            "one selector name was reused for a key of another type",
            "the signer labels its signatures with the wrong algorithm name",
        ),
        fix=(
            "The signing domain's DNS administrator: publish Ed25519 keys with k=ed25519, and "
            "give keys of different types different selectors."
        ),
        responsible="dns",
        spec="S06 §8.9, §11.5; DNS00 §3.4.1",
        severity_hint="error",
    ),
    _E(
        code="key.too-short",
        title="The RSA key is too short",
        checked=(
            "S06 §3.2 requires RSA signing keys of at least 1024 bits; the analyser treats a "
            "shorter key as an unusable key record (SPEC-NOTES Annex C 2)."
        ),
        found_template="The key for {hop} is too weak: {detail}.",
        likely_causes=("an old 512- or 768-bit DKIM1 key was reused for DKIM2",),
        fix=(
            "The signing domain's operator: generate a new RSA key of 2048 bits (BCP01 §3.1) or "
            "an Ed25519 key, publish it under a new selector and sign with it."
        ),
        responsible="signer",
        spec="S06 §3.2; SPEC-NOTES Annex C 2",
        severity_hint="error",
    ),
    _E(
        code="key.testing",
        title="The key is marked as being tested",
        checked=(
            "A key record with t=y says the domain is testing DKIM: receivers should treat "
            "failures like unsigned mail (DNS00 §3.4.1). The verdict is still reported."
        ),
        found_template="The key for {hop} carries t=y: {detail}.",
        likely_causes=(
            "the domain is rolling out DKIM2 and has not finished testing",
            "t=y was left in the record after the rollout",
        ),
        fix=(
            "The signing domain's DNS administrator: remove t=y once signing works, so that "
            "receivers act on the results."
        ),
        responsible="dns",
        spec="DNS00 §3.4.1; SPEC-NOTES Annex C 6",
        severity_hint="warning",
    ),
    _E(
        code="key.format-note",
        title="The key record uses an unusual encoding",
        checked=(
            "The key in p= is decoded. RSA keys are usually published as SubjectPublicKeyInfo "
            "and Ed25519 keys as the raw 32 octets (RFC 8463); the analyser accepts the other "
            "common encodings and notes them."
        ),
        found_template=(
            'The key for {hop} was accepted in an unusual form; the engine noted "{message}".'
        ),
        likely_causes=(
            "the key was exported with a tool that writes PKCS#1 RSAPublicKey or "
            "SPKI-wrapped Ed25519",
        ),
        fix=(
            "The signing domain's DNS administrator: nothing is broken here, but other "
            "verifiers may reject this form; publish SubjectPublicKeyInfo for RSA and the raw "
            "32-octet key for Ed25519."
        ),
        responsible="dns",
        spec="DNS00 §3.4; SPEC-NOTES §11 A31",
        severity_hint="info",
    ),
    # -- signatures (S06 §3, §9.6, §11.6) -----------------------------------------------------
    _E(
        code="sig.unknown-algorithm",
        title="A signature uses an algorithm this verifier does not know",
        checked=(
            "S06 defines rsa-sha256 and ed25519-sha256; verifiers ignore s= entries with other "
            "algorithm names (S06 §3.4) and check the rest."
        ),
        found_template='One s= entry of {hop} was skipped; the engine noted "{message}".',
        likely_causes=(
            "the signer also signs with a post-quantum algorithm of a later draft (reported: "
            "mldsa44-ed25519-sha512, mldsa44)",
            'the algorithm name is misspelt or in an older form ("rsa", "ed25519" as in '
            "draft-clayton-dkim2-spec-08)",
        ),
        fix=(
            "Nothing, as long as the same signature has another entry this verifier can check. "
            "The DKIM2 implementer should use the registered names for standard algorithms."
        ),
        responsible="none",
        spec="S06 §3.4, §8.9",
        severity_hint="info",
    ),
    _E(
        code="sig.no-verifiable-signature",
        title="A hop has no signature this verifier can check",
        checked=(
            "At least one s= entry of each DKIM2-Signature must use an algorithm the verifier "
            "implements (rsa-sha256 or ed25519-sha256); otherwise the hop cannot be verified."
        ),
        found_template="Nothing could be checked for {hop}: {detail}.",
        likely_causes=(
            "the signer signs only with an algorithm from a later draft (a post-quantum algorithm)",
            'the algorithm names are misspelt or in an older form ("rsa", "ed25519")',
        ),
        fix=(
            "The signing domain's operator: always include an rsa-sha256 or ed25519-sha256 "
            "signature next to experimental ones (BCP01 §3.2 recommends more than one "
            "algorithm)."
        ),
        responsible="signer",
        spec="S06 §3.4, §11.6; SPEC-NOTES §11 A16",
        severity_hint="error",
    ),
    _E(
        code="sig.incorrect",
        title="The signature does not verify",
        checked=(
            "The verifier rebuilt the data this hop signed — only the Message-Instance fields up "
            "to its m= and the earlier DKIM2-Signature fields, with all whitespace removed "
            "(S06 §9.6) — and checked it against the public key in DNS. Changes to Subject or "
            "body do not break this check; they show as hash mismatches."
        ),
        found_template='The engine reported "{message}": {detail}.',
        likely_causes=(
            "the DNS record was edited and the selector now holds a different key than the one "
            "that signed (a rotation that reused the selector)",
            "the signer is configured with a private key that does not belong to the published "
            "public key",
            "a system in transit altered a Message-Instance or DKIM2-Signature field "
            "(re-encoded a value, removed or added the final ';')",
            "the signing software builds the signed data differently (another draft revision, "
            "or Ed25519 over the raw data instead of its SHA-256 digest)",
        ),
        fix=(
            "The signing domain's operator: check that the private key configured for this "
            "selector matches the public key published at <selector>._domainkey.<d=> (sign a "
            "test message and verify it); use a new selector for every new key. If the key "
            "matches, look for a system in transit that rewrites DKIM2 fields."
        ),
        responsible="signer",
        spec="S06 §9.6, §11.6",
        severity_hint="error",
    ),
    _E(
        code="sig.partial",
        title="Some of a hop's signatures verify and others do not",
        checked=(
            "A hop may sign with several keys (s= lists them); every signature the verifier can "
            "check must verify (S06 §11.6)."
        ),
        found_template='The signatures of {hop} disagree; the engine reported "{message}".',
        likely_causes=(
            "the key published for the failing selector does not match the private key the "
            "signer uses for it (the passing one shows the fields were not altered)",
            "the signing software implements one of the algorithms wrongly (for example "
            "Ed25519 over the raw data instead of its SHA-256 digest)",
        ),
        fix=(
            "The signing domain's operator: compare the failing selector's DNS record with the "
            "private key configured for it and republish or reconfigure whichever is wrong."
        ),
        responsible="signer",
        spec="S06 §11.6; SPEC-NOTES §11 A15",
        severity_hint="error",
    ),
    # -- hashes and recipes (S06 §5, §6, §10.2, §11.7) -----------------------------------------
    _E(
        code="hash.header-mismatch",
        title="The header fields differ from what was signed",
        checked=(
            "The verifier recomputed the header hash of this instance (S06 §6.2: every header "
            "field except Received, Authentication-Results, X-*, DKIM-Signature, ARC and the "
            "other unsigned fields of S06 §4; from -08 Auto-Submitted and VBR-Info are hashed "
            "too) and compared it with the Message-Instance h= value. The newest instance is "
            "checked on the message as received; older ones on the version rebuilt by undoing "
            "later recipes."
        ),
        found_template=("The header hash of {instance}, made at {hop}, does not match: {detail}."),
        likely_causes=(
            'a mailing list rewrote the Subject after the signature was made (a "[list]" tag) '
            "without adding a Message-Instance recipe",
            "a forwarder rewrote From: (DMARC mitigation) or added Sender:, Reply-To: or "
            "List-* fields without recording it",
            "a system after the last signer added a header field that DKIM2 hashes (anything "
            "not on the S06 §4 list, e.g. a spam verdict not starting with X-)",
            "for an older instance: the reviser's recipe does not undo all of its header changes",
            "a relay re-encoded a header value or reordered fields of the same name",
            "the signer hashed under another draft's rules (see a draft.header-hash-revision "
            "finding, if present)",
        ),
        fix=(
            "The operator of the system that changed the header after this instance was made "
            "(usually the next forwarder or mailing list): leave signed header fields alone, or "
            "record each change as a new Message-Instance with a header recipe and sign it "
            "(S06 §5.1, §9.1). If no hop changed it, compare with the receiving MTA's stored "
            "original."
        ),
        responsible="intermediary",
        spec="S06 §6.2, §11.7",
        severity_hint="error",
    ),
    _E(
        code="hash.body-mismatch",
        title="The body differs from what was signed",
        checked=(
            "The verifier recomputed the body hash of this instance (S06 §6.1: the body octets "
            "as sent, trailing empty lines reduced to one CRLF, no other canonicalisation) and "
            "compared it with the Message-Instance h= value. The newest instance is checked on "
            "the message as received; older ones on the body rebuilt by undoing later recipes."
        ),
        found_template="The body hash of {instance}, made at {hop}, does not match: {detail}.",
        likely_causes=(
            "a mailing list or forwarder appended a footer or disclaimer without adding a "
            "Message-Instance recipe",
            "a security gateway rewrote links or removed an attachment without recording it",
            "a relay converted the transfer encoding (8bit to quoted-printable or base64) or "
            "re-wrapped long lines",
            "the analysed copy is not byte-exact (a mail client re-encoded it on saving, or "
            "its final newline was lost)",
            "for an older instance: the reviser's body recipe does not undo its change",
            "the signer hashed the body before a later filter of its own changed it",
        ),
        fix=(
            "The operator of the system that changed the body after this instance was made: "
            "record the change as a new Message-Instance with a body recipe (or a null body "
            "recipe when the original cannot be given back) and sign it (S06 §5.2, §9.1). "
            "Signers should sign as the last step before sending, in the wire form of S06 §13."
        ),
        responsible="intermediary",
        spec="S06 §6.1, §11.7, §13",
        severity_hint="error",
    ),
    _E(
        code="recipe.reconstruction-stopped",
        title="Earlier versions of the message could not be rebuilt",
        checked=(
            "The analyser rebuilds each earlier instance by undoing the newer instances' "
            "recipes, newest first (S06 §10.2)."
        ),
        found_template="{message}. {detail}",
        likely_causes=(
            "a Message-Instance field is missing or malformed, so its change cannot be undone",
            "a recipe is invalid (see the 'contains invalid JSON' finding)",
        ),
        fix=(
            "Fix the finding that names the broken Message-Instance; the earlier instances are "
            "then rebuilt and checked. The operator of the hop that added that instance is "
            "responsible."
        ),
        responsible="intermediary",
        spec="S06 §10.2",
        severity_hint="info",
    ),
    _E(
        code="recipe.null-body",
        title="A hop replaced the body and cannot give the original back",
        checked=(
            'A body recipe of "b": null says the previous body cannot be recreated (S06 '
            "§5.2). Earlier body hashes can then not be checked; whether to accept that is "
            "local policy in S06, and a PERMERROR in S09 (reported)."
        ),
        found_template="{instance}, made at {hop}, has a null body recipe: {detail}.",
        likely_causes=(
            "a security gateway rewrote links or removed content and chose not to record how",
            "a data-loss-prevention system redacted content (BCP01 §5.7 prefers a null recipe "
            "over copying redacted content into the recipe)",
            "a list or gateway re-encoded or converted the body and its software only writes "
            "null recipes",
        ),
        fix=(
            "The operator of the hop that made this instance: where the change can be "
            "described, write a real body recipe; keep null recipes for content that must not "
            "travel on. Receivers decide by that operator's reputation; later drafts reject "
            "null body recipes."
        ),
        responsible="intermediary",
        spec="S06 §5.2; SPEC-NOTES §11 A39, Annex A",
        severity_hint="warning",
    ),
    # -- sender requests (S06 §8.10, §11.8; removed in S07) ------------------------------------
    _E(
        code="request.donotmodify",
        title="The message was changed despite a do-not-modify request",
        checked=(
            "A signer can set f=donotmodify to ask that the body and existing header fields "
            "stay unchanged; a later instance that changes them fails (S06 §8.10, §11.8). The "
            "flag was removed in S07, so newer verifiers ignore it."
        ),
        found_template="{instance}, made at {hop}, changed the message: {detail}.",
        likely_causes=(
            "a mailing list added a Subject tag or footer",
            "a forwarder rewrote From: for DMARC (BCP01 §5.3 recommends that, which always "
            "conflicts with this flag)",
            "a security gateway rewrote links",
        ),
        fix=(
            "The operator of the hop that changed the message: honour the request, or keep the "
            "changed message inside its own systems (S06 §8.10)."
        ),
        responsible="intermediary",
        spec="S06 §8.10, §11.8 (flag removed in S07)",
        severity_hint="error",
    ),
    _E(
        code="request.donotexplode",
        title="The message was sent to many recipients despite a do-not-explode request",
        checked=(
            "A signer can set f=donotexplode to ask that the message go to one recipient only; "
            "a later hop that sets f=exploded fails (S06 §8.10, §11.8). The flag was removed in "
            "S07, so newer verifiers ignore it."
        ),
        found_template="{hop} distributed the message: {detail}.",
        likely_causes=(
            "a mailing list or group alias expanded a message that was meant for one person",
        ),
        fix=(
            "The list or alias operator: do not expand messages that carry donotexplode, or keep "
            "all copies inside its own systems (S06 §8.10)."
        ),
        responsible="intermediary",
        spec="S06 §8.10, §11.8 (flag removed in S07)",
        severity_hint="error",
    ),
    # -- replay (S06 §11.9; stateful: the caller counts the copies) -------------------------
    _E(
        code="replay.duplicate",
        title="Several copies arrived and no hop says it sent the message to several people",
        checked=(
            "A receiver that remembers messages (by the m=1 header and body hashes) checks for "
            "copies of the same message; unless some signature carries f=exploded, duplicates "
            "should all be rejected (S06 §11.9)."
        ),
        found_template="{detail}.",
        likely_causes=(
            "a mailing list or alias sent the message to several recipients without setting "
            "f=exploded",
            "a replay: someone re-sent a validly signed message to many addresses",
            "the same message was delivered twice after a retry (the first 250 reply was lost)",
        ),
        fix=(
            "The operator of the list or alias that sent several copies: set f=exploded in its "
            "signature. If no hop should have sent several copies, the receiver should reject "
            "the copies as a replay."
        ),
        responsible="intermediary",
        spec="S06 §8.10, §11.9; SPEC-NOTES §11 A27",
        severity_hint="error",
    ),
    # -- artefacts of other draft revisions (SPEC-NOTES §12) ----------------------------------
    _E(
        code="draft.bare-addresses",
        title="Envelope addresses are written without angle brackets",
        checked=(
            "S06 §8.5 and §8.6 encode mf= and rt= as base64 of the SMTP paths with angle "
            'brackets ("<user@example.com>", the null sender "<>"). Compatibility mode '
            "accepts bare addresses and reports them."
        ),
        found_template="{hop} encodes bare addresses: {detail}.",
        likely_causes=("the signer follows the interop practice of drafts -02 to -04",),
        fix=(
            "The DKIM2 implementer: base64-encode the reverse-path and each forward-path with "
            'their angle brackets (the null sender is "<>", base64 PD4=). S06 verifiers '
            "reject bare addresses as a syntax error."
        ),
        responsible="implementer",
        spec="S06 §8.5, §8.6",
        severity_hint="warning",
    ),
    _E(
        code="draft.clayton-json",
        title="A Message-Instance uses the pre-working-group JSON format",
        checked=(
            "Message-Instance fields are examined for the v= tag of "
            "draft-clayton-dkim2-spec-07/-08 (February-March 2026), the format before the "
            "working group adopted the draft."
        ),
        found_template="A Message-Instance field carries v=: {detail}.",
        likely_causes=(
            "the signing software implements draft-clayton-dkim2-spec-08 (v=, base64 JSON "
            "hashes and recipes, same-name fields hashed top-down)",
        ),
        fix=(
            "The DKIM2 implementer: move to the working-group format of -06: Message-Instance "
            "with m=, h=algorithm:header-hash:body-hash and r= JSON recipes (S06 §5, §7), and "
            "DKIM2-Signature with i=, m=, t=, d=, s=, mf=, rt= (S06 §8)."
        ),
        responsible="implementer",
        spec="S06 §7; SPEC-NOTES §12 (F2)",
        severity_hint="warning",
    ),
    _E(
        code="draft.header-hash-revision",
        title="The header hash matches another draft revision's rules",
        checked=(
            "When a header hash fails under -06, the analyser recomputes it with the list of "
            "unsigned header fields of earlier and later revisions."
        ),
        found_template="{instance} was hashed under another revision's rules: {detail}.",
        likely_causes=(
            "the signer implements -01 or earlier, which still hashed Authentication-Results",
            "the signer implements -02 to -04, which hashed Delivered-To (before -03) or "
            "Auto-Submitted, VBR-Info, Received-* and other fields -05 made unsigned",
            "the signer follows -08 or later, which reportedly signs Auto-Submitted and "
            "VBR-Info again; then the message is correct for its revision",
        ),
        fix=(
            "The DKIM2 implementer of the hop that made this instance: use the unsigned-field "
            "list of the revision the receivers implement (S06 §4 for -06). If the match is a "
            "later revision, the signer is ahead of this analyser and nothing is broken."
        ),
        responsible="implementer",
        spec="S06 §4; SPEC-NOTES §3.1, §12",
        severity_hint="warning",
    ),
    _E(
        code="draft.missing-final-semicolon",
        title="A DKIM2 field has no ';' after its last tag",
        checked=(
            "S06's grammar ends every tag, the last one included, with ';' (S06 §7, §8). The "
            "analyser accepts a missing final ';' and reports it (SPEC-NOTES §11 A1)."
        ),
        found_template="{message}: {detail}.",
        likely_causes=(
            "the signer was written for -03/-04 or reuses DKIM1 code, where the final ';' is "
            "optional",
        ),
        fix=(
            "The DKIM2 implementer: write ';' after every tag, including the last. A relay "
            "that adds or removes it breaks the signature (SPEC-NOTES Annex C 5)."
        ),
        responsible="implementer",
        spec="S06 §7, §8",
        severity_hint="info",
    ),
    _E(
        code="draft.pre-wg-fields",
        title="The message carries pre-working-group DKIM2 fields",
        checked=(
            "The header is examined for Mail-Version and DKIM2-Delta fields, the change "
            "formats of the 2025 individual drafts. S06 does not use them; they are ignored."
        ),
        found_template="Fields from 2025 experiments are present: {detail}.",
        likely_causes=(
            "the signer implements draft-gondwana-dkim2-mailversion or the modification algebra "
            "drafts of 2025",
            "an experimental interop setup from 2025 handled the message",
        ),
        fix=(
            "The DKIM2 implementer: replace these fields with Message-Instance and "
            "DKIM2-Signature as defined in S06 §5, §7 and §8."
        ),
        responsible="implementer",
        spec="SPEC-NOTES §12 (F0, F1)",
        severity_hint="warning",
    ),
    _E(
        code="draft.recipe-less-instance",
        title="A hop added a Message-Instance without changing anything",
        checked=(
            "A hop that changes the message adds a Message-Instance with a recipe; one that "
            "changes nothing should add only its DKIM2-Signature (S06 §9.1)."
        ),
        found_template="{instance} records no change: {detail}.",
        likely_causes=(
            "the signer follows the practice of interop signers before -05, which added a "
            "Message-Instance at every hop",
        ),
        fix=(
            "The DKIM2 implementer: add a Message-Instance only when the hashes differ from the "
            "highest existing instance. -06 allows the extra field, so nothing fails."
        ),
        responsible="implementer",
        spec="S06 §9.1",
        severity_hint="info",
    ),
    _E(
        code="draft.x-dkim2-info",
        title="The message names the draft its signer implemented",
        checked=(
            "Some interop software adds an X-DKIM2-Info field naming the draft revision it "
            "implements. The field is not signed."
        ),
        found_template="The message says which draft its signer followed: {detail}.",
        likely_causes=("interop or test software signed the message",),
        fix=(
            "Nothing to fix. Use the revision named for triage only: anyone on the path can "
            "add or change this field."
        ),
        responsible="none",
        spec="SPEC-NOTES §12",
        severity_hint="info",
    ),
    # -- rules of -07, -08 and -09 (SPEC-09-NOTES; analysis.dkim2.revisions) ------------------
    _E(
        code="sig.unknown-algorithm-in-group",
        title="A signature group uses an algorithm this revision does not know",
        checked=(
            "From -08 an s= entry whose algorithm the verifier does not implement makes its "
            "group of signatures PERMERROR; another group of the same hop may still pass."
        ),
        found_template='The engine reported "{message}": {detail}.',
        likely_causes=(
            "the signer uses an algorithm of a later draft or an experimental one (for example "
            "the composite mldsa44-ed25519-sha512 of the -07 era, dropped since)",
            "the algorithm name is misspelt",
        ),
        fix=(
            "The signing domain's operator: put experimental algorithms in a group of their own "
            "(s=a:rsa-sha256:...|b:newalg:...) so that receivers that do not know them still "
            "have a group they can check."
        ),
        responsible="signer",
        spec="SPEC-09-NOTES 1.3",
        severity_hint="error",
        standing=PROVISIONAL,
    ),
    _E(
        code="sig.group-failed",
        title="One signature group failed but another group of the hop passed",
        checked=(
            "From -08 s= may offer alternative groups separated by '|'; the hop passes when "
            "every signature of one group verifies."
        ),
        found_template="{message}. What failed in that group: {detail}.",
        likely_causes=(
            "the failing group uses an algorithm or key this verifier cannot use (an unknown "
            "algorithm, a missing or mismatched key)",
            "the key published for a selector of the failing group does not match the private "
            "key that signed",
        ),
        fix=(
            "Nothing for the verdict. The signing domain's operator may want to fix the failing "
            "group's key, since receivers that support only that group will fail the hop."
        ),
        responsible="signer",
        spec="SPEC-09-NOTES 1.1",
        severity_hint="warning",
        standing=PROVISIONAL,
    ),
    _E(
        code="sig.no-group-passed",
        title="None of the hop's alternative signature groups passed",
        checked=(
            "From -08 a DKIM2-Signature passes when every signature of at least one of its "
            "'|'-separated groups verifies."
        ),
        found_template="Every group of {hop} failed: {detail}.",
        likely_causes=(
            "the keys published in DNS do not match the private keys the signer uses",
            "the signer builds the signed data differently (another draft revision, or the "
            "'|' separators not kept in the signed copy of s=)",
            "a system in transit altered a DKIM2 field",
        ),
        fix=(
            "The signing domain's operator: check each selector's published key against its "
            "private key, and that the signing software empties only the signature values of "
            "s=, keeping every ',' and '|'."
        ),
        responsible="signer",
        spec="SPEC-09-NOTES 1.1",
        severity_hint="error",
        standing=PROVISIONAL,
    ),
    _E(
        code="mi.unknown-hash-in-group",
        title="A hash group of a Message-Instance uses a hash this revision does not know",
        checked=(
            "From -08 an h= hash whose name the verifier does not implement (sha256 and sha512 "
            "are known) makes its group PERMERROR; another group may still match."
        ),
        found_template='The engine reported "{message}": {detail}.',
        likely_causes=(
            "the signer records a hash of a later draft or an experimental one",
            "the hash name is misspelt",
        ),
        fix=(
            "The DKIM2 implementer: record sha256 (and optionally sha512), and put any other "
            "hash in a group of its own."
        ),
        responsible="implementer",
        spec="SPEC-09-NOTES 1.2, 1.3",
        severity_hint="error",
        standing=PROVISIONAL,
    ),
    _E(
        code="mi.hash-group-failed",
        title="One hash group did not match but another did",
        checked=(
            "From -08 h= may offer alternative hash groups separated by '|'; the instance "
            "matches when every hash of one group matches."
        ),
        found_template="{message}. In that group: {detail}.",
        likely_causes=(
            "the group uses a hash name this verifier does not know",
            "the signer computed that group's hashes differently",
        ),
        fix="Nothing for the verdict; the DKIM2 implementer may check the failing group.",
        responsible="implementer",
        spec="SPEC-09-NOTES 1.2",
        severity_hint="warning",
        standing=PROVISIONAL,
    ),
    _E(
        code="mi.no-hash-group-matched",
        title="None of the instance's alternative hash groups matches",
        checked=(
            "From -08 an instance matches its content when every hash of at least one of its "
            "'|'-separated h= groups matches."
        ),
        found_template="No hash group of {instance} matches: {detail}.",
        likely_causes=(
            "the content changed after the hop that recorded the hashes, without a recipe "
            "saying how (see the hash findings beside this one)",
            "the signer's software hashes under another revision's rules",
        ),
        fix=(
            "Read the hash findings of this instance: they name the header or body hash that "
            "differs and which hop changed the content."
        ),
        responsible="intermediary",
        spec="SPEC-09-NOTES 1.2",
        severity_hint="error",
        standing=PROVISIONAL,
    ),
    _E(
        code="sig.from-future",
        title="A signature is dated in the future",
        checked=(
            "From -07 a DKIM2-Signature whose t= lies ahead of the verification clock (beyond "
            "the allowed clock skew) is an error of its own; -06 let verifiers ignore it."
        ),
        found_template='The engine reported "{message}": {detail}.',
        likely_causes=(
            "the signing server's clock is wrong (check NTP)",
            "the analysis was run with a verification time (--now) before the message was sent",
        ),
        fix=(
            "The signing domain's operator: synchronise the signing server's clock. If this is "
            "a re-analysis, verify as of the arrival time instead."
        ),
        responsible="signer",
        spec="SPEC-09-NOTES 1.13",
        severity_hint="error",
        standing=PROVISIONAL,
    ),
    _E(
        code="request.obsolete-flag",
        title="A signature sets a request flag that no longer exists",
        checked=(
            "-06 let a signer ask that later hops not modify or not explode the message "
            "(f=donotmodify, f=donotexplode); -07 removed both, so they are not checked."
        ),
        found_template="{message}: {detail}.",
        likely_causes=("the signer's DKIM2 software follows -06",),
        fix=(
            "Nothing for the verdict. The signing domain's operator should upgrade the DKIM2 "
            "software and stop setting the flags."
        ),
        responsible="signer",
        spec="SPEC-09-NOTES 1.5",
        severity_hint="info",
        standing=PROVISIONAL,
    ),
    _E(
        code="sig.signed-unverified-chain",
        title="A hop signed over a chain that does not verify",
        checked=(
            "From -08 a hop adds its signature to a message that already carries DKIM2 only "
            "after the chain it received fully verified, or under an out-of-band arrangement."
        ),
        found_template="{message}. {detail}",
        likely_causes=(
            "the hop's software signs every message without verifying it first (-06 behaviour)",
            "an out-of-band arrangement between the two operators covers it",
            "the earlier hop fails only now (for example its key was revoked after delivery)",
        ),
        fix=(
            "The operator of the signing hop: verify the chain before signing, and refuse or "
            "mark messages whose chain is broken; fix the earlier hop's failure first."
        ),
        responsible="intermediary",
        spec="SPEC-09-NOTES 1.12",
        severity_hint="warning",
        standing=PROVISIONAL,
    ),
    _E(
        code="sig.exploded-first",
        title="The first signature claims the message was exploded",
        checked=(
            "-09 reserves f=exploded for lists that send a message on to several recipients; "
            "it is never set on a first signature."
        ),
        found_template="{message}: {detail}.",
        likely_causes=(
            "the originator's software sets the flag for every message with several recipients",
        ),
        fix=(
            "The DKIM2 implementer of the originator: leave f=exploded to lists; it weakens "
            "the replay defence of every message that carries it."
        ),
        responsible="implementer",
        spec="SPEC-09-NOTES 1.14",
        severity_hint="warning",
        standing=PROVISIONAL,
    ),
    _E(
        code="sig.from-not-authentic",
        title="The From domain does not belong to the hop that put it there",
        checked=(
            "The From domain of each instance must be the d= of the hop that introduced that "
            "From (the originator, or a hop whose recipe changed From), or lie below it."
        ),
        found_template='The engine reported "{message}": {detail}.',
        likely_causes=(
            "an email service provider signs with its own domain for its customers' From "
            "domains (d=esp.example for From: news@brand.example)",
            "a mailing list rewrote From (DMARC mitigation) without signing the new From with "
            "its own domain",
            "the originator signs with a sibling or unrelated domain of the organisation",
        ),
        fix=(
            "The operator of the hop named: sign with the From domain or a parent of it (the "
            "ESP needs the brand's key and selector), or, for a list that rewrites From, write "
            "a From in the list's own domain and sign it."
        ),
        responsible="signer",
        spec="SPEC-09-NOTES 1.7",
        severity_hint="error",
        standing=PROVISIONAL,
    ),
    _E(
        code="sig.from-needs-policy-record",
        title="From-Authentic not evaluated: needs the From domain's policy record",
        checked=(
            "A d= below the From domain is Authentic only when the From domain's Domain Policy "
            "Record authorises it; that record's name and format are not public yet."
        ),
        found_template="{message}. {detail}",
        likely_causes=(
            "the organisation signs with a subdomain (d=mail.example.com for From: "
            "news@example.com)",
        ),
        fix=(
            "Nothing this analyser can confirm yet. The From domain's operator should sign with "
            "the From domain itself, or publish the Domain Policy Record once its format is "
            "defined."
        ),
        responsible="none",
        spec="SPEC-09-NOTES 1.7",
        severity_hint="warning",
        standing=PROVISIONAL,
    ),
    _E(
        code="sig.from-authentic-not-evaluated",
        title="From-Authentic could not be evaluated",
        checked=(
            "The From domain of each instance is compared with the d= of the hop that "
            "introduced it; that needs the instance and exactly one From field with a domain."
        ),
        found_template="{message}. {detail}",
        likely_causes=(
            "the message has no From field, or several",
            "an earlier instance could not be rebuilt from the recipes",
        ),
        fix=(
            "The sender: a message carries exactly one From field with a domain (RFC 5322 "
            "§3.6); see the DMARC section and the recipe findings for the cause."
        ),
        responsible="sender",
        spec="SPEC-09-NOTES 1.7",
        severity_hint="warning",
        standing=PROVISIONAL,
    ),
    _E(
        code="sig.other-signing-reading",
        title="The signature verifies only under another reading of its algorithm",
        checked=(
            "When a signature does not verify, the verifier also tries the other ways signers "
            "have computed it: Ed25519 over the data itself instead of its SHA-256 digest "
            "(S06 §3.3), and ML-DSA-44 with an empty context or over a digest instead of the "
            'data itself with context "DKIM2".'
        ),
        found_template="{message}: {detail}",
        likely_causes=(
            "the signing software implements the algorithm as an earlier draft or another "
            "implementation reads it",
            "for ML-DSA-44: the -08 text is not public and implementations may differ on the "
            "context string",
        ),
        fix=(
            "The DKIM2 implementer of the signer: sign Ed25519 over the SHA-256 digest of the "
            'signing input, and ML-DSA-44 over the signing input itself with context "DKIM2" '
            "(as Stalwart mail-auth 0.15 does), or tell this project which reading the draft "
            "now requires."
        ),
        responsible="implementer",
        spec="S06 §3.3; SPEC-NOTES §11 A14; SPEC-09-NOTES 1.4",
        severity_hint="warning",
        standing=(
            "The Ed25519 reading is S06's; the ML-DSA-44 context and input are one "
            "implementation's (Stalwart mail-auth 0.15), the -08 text being not public."
        ),
    ),
)
