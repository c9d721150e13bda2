"""What fuzzing found (scripts/fuzz.py, ``make fuzz``; tests/analysis/test_property_*.py), as
cases: each finding that was fixed in the engine, with the input that showed it, and inputs of
outcomes the rest of the corpus did not have.

The fuzzer mutates corpus messages; its inputs carry signatures made with the keys of its own
run, so each case here rebuilds its input from a freshly signed chain with the same change, in
words and in code.
"""

from __future__ import annotations

from tests.support import chains
from tests.support.chains import set_zone_entry

from .model import Case, E
from .world import AUTHOR, Builder, field_edit, one_hop, two_hops


def build() -> list[Case]:
    b = Builder("fuzz")

    # -- findings, fixed -------------------------------------------------------------------------

    # 1. A line without a colon that bears a field's name ("Comments") was numbered with the
    # fields of that name when a recipe was applied (analysis.dkim2.recipes.apply_header_recipe),
    # though the header hash and compute_recipe skip it: the list's recipe {"c": [1, 1]} then
    # copied the broken line instead of the author's Comments field, and instance 1 failed its
    # header hash.  Found by test_property_recipes (compute, then apply).
    start = chains.message([*chains.DEFAULT_HEADERS, ("Comments", "from the author")])
    listed = two_hops(start, modify=chains.add_header("Comments", "via the list"))
    fields, body = chains.split(listed.message)
    b.add(
        "recipe-beside-a-line-without-colon",
        "a line 'Comments' without a colon below the Comments fields a recipe copies",
        chains.join([*fields, b"Comments\r\n"], body),
        E("pass", v="pass", notes="message.malformed-header-line"),
        of=listed,
    )

    # 2. A key record holding a lone surrogate (a zone file may: JSON "\ud800") made DKIM1's key
    # reader raise UnicodeEncodeError out of analyze_message (analysis.dkim1._parse_key); it is
    # now a key syntax problem, as analysis.spf reads its records.  Found by
    # test_property_keys.
    signed = one_hop()
    dkim1 = b"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=zone; h=from; bh=AAAA; b=AAAA\r\n"
    b.add(
        "dkim1-key-record-with-lone-surrogate",
        "a DKIM1 signature whose key record holds a lone surrogate",
        dkim1 + signed.message,
        E("pass", v="pass"),
        of=signed,
        zone=set_zone_entry(signed.zone, AUTHOR, "zone", [["txt", "v=DKIM1; p=\ud800"]]),
    )

    # 3. The DKIM2 key reader took any character Python calls white space (VT, FF, FS..US,
    # U+00A0, U+2028) for FWS inside a tag value, so p= with an FS inside verified; DNS00 §3.2
    # allows WSP and FWS only (analysis.dkim2.keys.parse_key_tags).  Found by
    # test_property_keys (the naive reading of the grammar).
    p = chains.key_record("ed1").split("p=", 1)[1]
    b.add(
        "key-record-control-character-in-p",
        "a key record whose p= holds an FS control character (0x1c) in the middle",
        signed.message,
        E(
            "permerror",
            "key.syntax",
            "PERMERROR: DKIM2-Signature i=1 public key ed1 has a syntax error",
            v="fail",
        ).because("tag p= has characters outside VALCHAR"),
        of=signed,
        zone=set_zone_entry(
            signed.zone, AUTHOR, "ed1", [["txt", f"v=DKIM1; k=ed25519; p={p[:20]}\x1c{p[20:]}"]]
        ),
    )

    # 4. Thousands of copies of one header field above a signed message: the change search
    # (analysis.change_search, issue #12) tried 500 header candidates, each hashing every field
    # (2,533 From fields: 6-14 s).  A header candidate is now charged per field it hashes
    # (limits.CHANGE_SEARCH_FIELD_COST), so such a header gets a few candidates and stops,
    # saying so.  Found by make fuzz.
    b.add(
        "change-search-2533-from-fields",
        "2,533 From fields added above a signed one-hop message (the header hash fails)",
        b"From: alice@example.com\r\n" * 2533 + signed.message,
        E(
            "fail",
            "hash.header-mismatch",
            "FAIL: Message Instance m=1 header hash sha256 mismatch",
            v="permerror",  # DMARC: 2,533 From fields, no single Author Domain
        ),
        of=signed,
    )

    # -- outcomes no other case had (make fuzz, 10 minutes: 98,235 inputs, 104 outcomes) -------

    # A fold inside the field name of hop 1's DKIM2-Signature ("DKIM2-Si" CRLF " gnature:"):
    # the line has no colon before its line end, so it is no field and hop 1 is missing.
    two = two_hops()
    fields, body = chains.split(two.message)
    k = chains.find_field(two.message, chains.SIG, 1)
    fields[k] = fields[k].replace(b"DKIM2-Signature:", b"DKIM2-Si\r\n gnature:", 1)
    b.add(
        "fold-inside-signature-name",
        "a fold inside the name of hop 1's DKIM2-Signature field",
        chains.join(fields, body),
        E(
            "permerror",
            "sig.missing",
            "PERMERROR DKIM2-Signature i=1 missing",
            v="fail",
            notes="message.malformed-header-line",
        ),
        of=two,
    )

    # d= of the only signature changed to a domain that publishes no key and is not the
    # domain of mf=: the custody check decides (FAIL), before the missing key (PERMERROR).
    b.add(
        "d-not-the-mail-from-domain",
        "d=example.com of the only signature edited to d=emple.com",
        field_edit(signed.message, chains.SIG, 1, b"d=example.com", b"d=emple.com"),
        E(
            "fail",
            "custody.mf-d-mismatch",
            "FAIL: DKIM2-Signature i=1 MAIL FROM and d= do not match",
            v="fail",
            notes="key.not-found",
        ),
        of=signed,
    )

    # A key that cannot be fetched (a CNAME loop: TEMPERROR) on a message changed after
    # signing: the FAIL of the header hash decides, the TEMPERROR is the first finding.
    b.add(
        "key-temperror-and-changed-header",
        "the selector is a CNAME to itself, and the signed To field was changed",
        signed.message.replace(b"To: Bob <bob@example.net>", b"To: Bob <bob@example\xaenet>"),
        E(
            "fail",
            "key.temperror",
            "TEMPERROR: DKIM2-Signature i=1 public key ed1 could not be fetched",
            v="fail",
            notes="hash.header-mismatch",
        ),
        of=signed,
        zone=set_zone_entry(signed.zone, AUTHOR, "ed1", [["cname", "ed1._domainkey.example.com."]]),
    )

    # The -06 revision has no hash groups: an h= of an unknown hash alone is "no known hash"
    # there (from -08 it is an unknown hash in a group).
    h1 = chains.get_tag(two.message, chains.MI, 1, "h")
    _, header_hash, body_hash = h1.split(":")
    b.add(
        "unknown-hash-only-rev06",
        "Message-Instance m=1 h= of sha3-256 alone (re-signed), judged by -06 rules",
        chains.resign(
            chains.set_tag(two.message, chains.MI, 1, "h", f"sha3-256:{header_hash}:{body_hash}")
        ),
        E(
            "permerror",
            "mi.no-known-hash",
            "PERMERROR Message-Instance m=1 has no hash this verifier can check",
            v="fail",
        ),
        of=two,
        revision="06",
    )

    # From-Authentic (SPEC-09-NOTES 1.7, placed in -07; analysis.dkim2.revisions): example.com
    # signs a From of another domain.  By -06 rules (no such rule) the chain passes, and the
    # verdict is neutral: authenticated, but not as evil.example, which publishes no DMARC
    # policy.  By -07 rules it is a PERMERROR (custody_state), from -08 a FAIL
    # (cases_ambiguity's from-address-as-display-name, judged by -09 rules).
    spoofed = one_hop(
        chains.message(
            [
                ("From", '"alice@example.com" <mallory@evil.example>'),
                ("To", "Bob <bob@example.net>"),
                ("Subject", "From test"),
            ]
        ),
        revision="06",
    )
    for revision, expect in (
        ("06", E("pass", v="neutral")),
        (
            "07",
            E(
                "permerror",
                "sig.from-not-authentic",
                "PERMERROR: From header field is not Authentic for d=example.com",
                v="fail",
            ),
        ),
    ):
        b.add(
            f"from-display-name-rev{revision}",
            f'From: "alice@example.com" <mallory@evil.example>, judged by -{revision} rules',
            spoofed.message,
            expect,
            of=spoofed,
            revision=revision,
        )
    return b.cases
