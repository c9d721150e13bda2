"""Header ambiguity: two From fields, forged Authentication-Results and ARC, DKIM2 fields
inside a MIME part, duplicate DKIM2 fields, envelopes that do not match what was signed.

A receiver must read one message the way the signer signed it: a field added above a signed
one, a second copy of a DKIM2 field, or DKIM2 fields that are only text inside a body part
must not make an unauthenticated message look authenticated.
"""

from __future__ import annotations

from tests.support import chains
from tests.support.chains import MI, SIG, Chain, Hop

from .model import Case, E
from .world import (
    API,
    AUTHOR,
    AUTHOR_FROM,
    FINAL_RCPT,
    INTAKE,
    UPLOAD,
    WEB,
    Builder,
    chain,
    one_hop,
)

PASS = E("pass", v="pass")
HEADER_1 = E(
    "fail",
    "hash.header-mismatch",
    "FAIL: Message Instance m=1 header hash sha256 mismatch",
    v="fail",
)
NONE = E("none", v="none")
#: A second From: the header hash fails, and DMARC cannot name one Author Domain.
TWO_FROM = E(
    "fail",
    "hash.header-mismatch",
    "FAIL: Message Instance m=1 header hash sha256 mismatch",
    v="permerror",
)

FORGED_AR = (
    b"Authentication-Results: mx.intake.localhost; dkim2=pass header.d=example.com;\r\n"
    b" dkim=pass header.d=example.com; spf=pass smtp.mailfrom=example.com;\r\n"
    b" dmarc=pass header.from=example.com; arc=pass\r\n"
)


def build() -> list[Case]:
    b = Builder("ambiguity")
    c = one_hop()
    msg = c.message

    def add(name: str, title: str, raw: bytes, expect: object, **kw: object) -> None:
        kw.setdefault("of", c)
        b.add(name, title, raw, expect, **kw)  # type: ignore[arg-type]

    # -- From ------------------------------------------------------------------------------
    add(
        "from-prepended",
        "a second From added above the signed one",
        b"From: CEO <ceo@example.com>\r\n" + msg,
        TWO_FROM,
        paths=WEB,
    )
    add(
        "from-appended",
        "a second From added at the bottom of the header",
        msg.replace(b"\r\n\r\n", b"\r\nFrom: CEO <ceo@example.com>\r\n\r\n", 1),
        TWO_FROM,
    )
    two_from = one_hop(
        chains.message(
            [
                ("From", "Alice <alice@example.com>"),
                ("From", "Mallory <m@evil.example>"),
                ("Subject", "two authors"),
            ]
        ),
        revision="06",
    )
    add(
        "two-from-fields-signed",
        "two From fields, both signed (by -06 rules, which sign any From)",
        two_from.message,
        E("pass", v="permerror", notes="sig.from-authentic-not-evaluated"),
        of=two_from,
        paths=API,
    )

    def signed_from(value: str, revision: str = "09") -> Chain:
        start = chains.message(
            [("From", value), ("To", "Bob <bob@example.net>"), ("Subject", "From test")]
        )
        return one_hop(start, revision=revision)

    def add_from(
        name: str, title: str, value: str, expect: object, revision: str = "09", **kw: object
    ) -> None:
        signed = signed_from(value, revision)
        add(name, title, signed.message, expect, of=signed, **kw)

    add_from(
        "from-two-domains",
        "one From field naming addresses in two domains (signed by -06 rules)",
        "alice@example.com, mallory@evil.example",
        E(
            "fail",
            "sig.from-not-authentic",
            "FAIL: From header field is not Authentic for d=example.com",
            v="permerror",
        ),
        revision="06",
    )
    add_from(
        "from-address-as-display-name",
        'From: "alice@example.com" <mallory@evil.example>, signed by -06 rules',
        '"alice@example.com" <mallory@evil.example>',
        E(
            "fail",
            "sig.from-not-authentic",
            "FAIL: From header field is not Authentic for d=example.com",
            v="fail",
        ),
        revision="06",
    )
    add_from(
        "from-other-domain",
        "example.com signs a From of another domain by -06 rules (-09: From-Authentic)",
        "Bank <service@bank.example>",
        E(
            "fail",
            "sig.from-not-authentic",
            "FAIL: From header field is not Authentic for d=example.com",
            v="fail",
        ),
        revision="06",
        paths=INTAKE,
    )
    add(
        "from-missing",
        "no From field at all, signed by -06 rules",
        one_hop(
            chains.message([("To", "b@example.net"), ("Subject", "no author")]), revision="06"
        ).message,
        E("pass", v="permerror", notes="sig.from-authentic-not-evaluated"),
    )

    # -- what other receivers claim ----------------------------------------------------------
    plain = chains.message()
    add(
        "forged-authres-unsigned",
        "an unsigned message with Authentication-Results claiming every pass",
        FORGED_AR + plain,
        NONE,
        paths=WEB,
        mail_from=None,
    )
    tampered = msg.replace(b"Line two.", b"Line 2.")
    add(
        "forged-authres-tampered",
        "a tampered signed message with Authentication-Results claiming pass",
        FORGED_AR + tampered,
        E(
            "fail",
            "hash.body-mismatch",
            "FAIL: Message Instance m=1 body hash sha256 mismatch",
            v="fail",
        ),
    )
    add(
        "forged-authres-own-authserv-id",
        "Authentication-Results naming dkim2web's own authserv-id above a valid chain",
        b'Authentication-Results: dkim2web; dkim2=fail reason="forged"\r\n' + msg,
        PASS,
    )
    add(
        "forged-arc-set",
        "an ARC set of garbage above an unsigned message",
        b"ARC-Seal: i=1; a=rsa-sha256; cv=none; d=example.com; s=ed1; b=AAAA\r\n"
        b"ARC-Message-Signature: i=1; a=rsa-sha256; d=example.com; s=ed1; h=from;"
        b" bh=AAAA; b=AAAA\r\n"
        b"ARC-Authentication-Results: i=1; mx.example.com; dkim=pass\r\n" + plain,
        E("none", v="fail"),
        mail_from=None,
    )
    add(
        "forged-dkim1-signature",
        "a DKIM-Signature of garbage above a valid chain",
        b"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=ed1; h=from; bh=AAAA; b=AAAA\r\n"
        + msg,
        PASS,
    )

    # -- DKIM2 fields where they do not belong ------------------------------------------------
    inner = c.message
    wrapper = (
        b"From: Bob <bob@example.net>\r\nTo: carol@example.org\r\nSubject: Fwd: Hello\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
        b"--b1\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--b1--\r\n"
    )
    add(
        "dkim2-in-attached-message",
        "a valid DKIM2 chain inside a message/rfc822 part of an unsigned forward",
        wrapper,
        NONE,
        paths=frozenset({"upload", "api"}),
        mail_from=None,
    )
    fields, _ = chains.split(inner)
    dkim2_lines = b"".join(f for f in fields if chains.field_name(f) in (MI, SIG))
    add(
        "dkim2-in-part-header",
        "DKIM2 fields in the header of a MIME part",
        b"From: Bob <bob@example.net>\r\nSubject: parts\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\n'
        + dkim2_lines
        + b"Content-Type: text/plain\r\n\r\nhello\r\n--b1--\r\n",
        NONE,
        mail_from=None,
        paths=INTAKE,
    )
    add(
        "dkim2-in-body-text",
        "DKIM2 fields pasted into the body of an unsigned message",
        chains.message(body=dkim2_lines + b"\r\nhello\r\n"),
        NONE,
        mail_from=None,
    )
    add(
        "dkim2-below-body-separator",
        "the DKIM2 fields moved below the empty line (into the body)",
        _dkim2_into_body(msg),
        NONE,
        mail_from=None,
    )

    # -- duplicate and misplaced DKIM2 fields -------------------------------------------------
    sig1 = chains.get_field(msg, SIG, 1)
    mi1 = chains.get_field(msg, MI, 1)
    add(
        "duplicate-signature",
        "the DKIM2-Signature i=1 twice, byte for byte",
        chains.prepend_fields(msg, sig1),
        E("permerror", "sig.duplicate", "PERMERROR DKIM2-Signature i=1 syntax error", v="fail"),
        paths=UPLOAD,
    )
    add(
        "duplicate-instance",
        "the Message-Instance m=1 twice, byte for byte",
        chains.prepend_fields(msg, mi1),
        E("permerror", "mi.duplicate", "PERMERROR Message-Instance m=1 syntax error", v="fail"),
    )
    other = one_hop(chains.message(body="Another body.\r\n"))
    add(
        "second-signature-i1-from-another-message",
        "a DKIM2-Signature i=1 of another message added beside the real one",
        chains.prepend_fields(msg, chains.get_field(other.message, SIG, 1)),
        E("permerror", "sig.duplicate", "PERMERROR DKIM2-Signature i=1 syntax error", v="fail"),
    )
    add(
        "dkim2-names-lower-case",
        "DKIM2 field names in lower case",
        msg.replace(b"DKIM2-Signature:", b"dkim2-signature:").replace(
            b"Message-Instance:", b"message-instance:"
        ),
        PASS,
    )
    add(
        "dkim2-name-blank-before-colon",
        "'DKIM2-Signature :' with a blank before the colon",
        msg.replace(b"DKIM2-Signature:", b"DKIM2-Signature :"),
        PASS,
    )
    add(
        "dkim2-fields-at-bottom",
        "the DKIM2 fields moved below the other header fields",
        _dkim2_to_bottom(msg),
        PASS,
        paths=API,
    )
    add(
        "dkim2-name-lookalike",
        "a field named DKIM2-Signatures (an ordinary, signed field name) holding a copy",
        chains.prepend_fields(msg, sig1.replace(b"DKIM2-Signature:", b"DKIM2-Signatures:")),
        HEADER_1,
    )

    # -- the envelope against what was signed -----------------------------------------------------
    add(
        "replayed-to-another-recipient",
        "the signed message delivered to an address rt= does not name",
        msg,
        E(
            "fail",
            "custody.rcpt-to-mismatch",
            "FAIL: DKIM2-Signature i=1 RCPT TO <someone-else@example.net> did not match",
            v="fail",
        ),
        rcpt_to=("<someone-else@example.net>",),
    )
    add(
        "replayed-from-another-sender",
        "the signed message delivered with a MAIL FROM mf= does not name",
        msg,
        E(
            "fail",
            "custody.mail-from-mismatch",
            "FAIL: DKIM2-Signature i=1 MAIL FROM <mallory@evil.example> did not match",
            v="fail",
        ),
        mail_from="<mallory@evil.example>",
        paths=INTAKE,
    )
    add(
        "no-envelope",
        "a valid chain analysed without an envelope (not checked, and said so)",
        msg,
        E("pass", v="pass", notes="envelope.not-checked"),
        mail_from=None,
        paths=UPLOAD,
    )
    many = chain(
        chains.message(),
        [
            Hop(
                AUTHOR,
                AUTHOR_FROM,
                ["<first@example.net>", FINAL_RCPT, "<third@example.net>"],
                revision="09",
            )
        ],
    )
    add(
        "recipient-among-several",
        "rt= names three recipients; the delivery is to the second",
        many.message,
        PASS,
        of=many,
    )
    add(
        "envelope-case-differs",
        "MAIL FROM in capitals (domains compare case-insensitively; local parts do not)",
        msg,
        PASS,
        mail_from="<alice@EXAMPLE.COM>",
    )
    add(
        "envelope-local-part-case-differs",
        "MAIL FROM with the local part in capitals",
        msg,
        E(
            "fail",
            "custody.mail-from-mismatch",
            "FAIL: DKIM2-Signature i=1 MAIL FROM <ALICE@example.com> did not match",
            v="fail",
        ),
        mail_from="<ALICE@example.com>",
    )
    return b.cases


def _dkim2_into_body(msg: bytes) -> bytes:
    fields, body = chains.split(msg)
    dkim2 = [f for f in fields if chains.field_name(f) in (MI, SIG)]
    rest = [f for f in fields if chains.field_name(f) not in (MI, SIG)]
    return chains.join(rest, b"".join(dkim2) + body)


def _dkim2_to_bottom(msg: bytes) -> bytes:
    fields, body = chains.split(msg)
    dkim2 = [f for f in fields if chains.field_name(f) in (MI, SIG)]
    rest = [f for f in fields if chains.field_name(f) not in (MI, SIG)]
    return chains.join(rest + dkim2, body)
