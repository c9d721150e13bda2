"""Tag-list syntax of DKIM2-Signature and Message-Instance (S06 §7, §8; analysis.dkim2.grammar).

Each case changes one thing in one field of a valid two-hop chain (example.com -> the list,
which appends a footer -> the intake address).  A change the grammar refuses is made after
signing (the walk refuses the field before any signature is checked); a change it accepts is
re-signed (chains.resign), so the case shows the change alone is accepted.
"""

from __future__ import annotations

import base64

from tests.support import chains
from tests.support.chains import MI, SIG, b64, resign, set_tag

from .model import Case, E
from .world import (
    NOW,
    T0,
    WEB,
    Builder,
    field_append,
    field_edit,
    two_hops,
    without_final_semicolon,
)

PASS = E("pass", v="pass")


def dropped(cause: str) -> object:
    """DKIM2-Signature i=2 cannot be read, so the walk goes on without it: the newest
    signature it reads signs m=1, and m=2 is reported not signed first; ``cause`` (the code
    of the refusal of i=2) is reported too."""
    return E(
        "permerror",
        "mi.not-signed",
        "PERMERROR Message-Instance m=2 is not signed",
        v="fail",
        notes=cause,
    )


SYNTAX = dropped("sig.syntax")
NUMBER_SYNTAX = E("permerror", "sig.syntax", "PERMERROR DKIM2-Signature i=? syntax error", v="fail")


def build() -> list[Case]:
    b = Builder("tags")
    c = two_hops()
    msg = c.message

    def add(name: str, title: str, raw: bytes, expect: object, **kw: object) -> None:
        b.add(name, title, raw, expect, of=c, **kw)  # type: ignore[arg-type]

    add("baseline", "the unchanged two-hop chain", msg, E("pass", v="pass"), paths=WEB)

    # -- DKIM2-Signature: the tag list itself ----------------------------------------------
    add(
        "sig-no-final-semicolon",
        "DKIM2-Signature without its final ';' (a draft artefact, accepted with a note)",
        resign(without_final_semicolon(msg, SIG, 2), from_hop=2),
        E("pass", v="pass"),
    )
    add(
        "sig-empty-tag",
        "two ';' in a row in DKIM2-Signature",
        field_edit(msg, SIG, 2, b"; m=2;", b"; ; m=2;"),
        SYNTAX,
        paths=WEB,
    )
    add(
        "sig-leading-semicolon",
        "DKIM2-Signature value starting with ';'",
        field_edit(msg, SIG, 2, b": i=2;", b": ;i=2;"),
        SYNTAX,
    )
    add(
        "sig-tag-without-equals",
        "a tag without '=' in DKIM2-Signature",
        field_append(msg, SIG, 2, b" junk;"),
        SYNTAX,
    )
    add(
        "sig-tag-name-digit",
        "a tag name starting with a digit",
        field_append(msg, SIG, 2, b" 1x=y;"),
        SYNTAX,
    )
    add(
        "sig-tag-name-hyphen",
        "a tag name with a hyphen (x-tag-name allows ALPHA, DIGIT and '_')",
        field_append(msg, SIG, 2, b" x-y=1;"),
        SYNTAX,
    )
    add(
        "sig-unknown-tag",
        "an unknown but well-formed tag (ignored), re-signed",
        resign(field_append(msg, SIG, 2, b" zz=future;"), from_hop=2),
        PASS,
    )
    add(
        "sig-duplicate-tag",
        "d= twice in one DKIM2-Signature",
        field_append(msg, SIG, 2, b" d=lists.example.org;"),
        SYNTAX,
        paths=WEB,
    )
    add(
        "sig-duplicate-tag-other-case",
        "d= and D= in one DKIM2-Signature (names compare case-insensitively)",
        field_append(msg, SIG, 2, b" D=lists.example.org;"),
        SYNTAX,
    )
    add(
        "sig-upper-case-names",
        "tag names in upper case (I=, M=, T=, D=), re-signed",
        resign(
            field_edit(
                field_edit(field_edit(msg, SIG, 2, b"i=2;", b"I=2;"), SIG, 2, b"m=2;", b"M=2;"),
                SIG,
                2,
                b"d=lists",
                b"D=lists",
            ),
            from_hop=2,
        ),
        PASS,
    )
    add(
        "sig-blanks-around-equals",
        "FWS around '=' and ';' (allowed by the ABNF)",
        field_edit(msg, SIG, 2, b"i=2; m=2;", b"i \t= 2 ;\r\n\t m\r\n =\r\n 2 ;"),
        PASS,
        paths=WEB,
    )
    add(
        "sig-value-folded-inside-base64",
        "s= signature folded in the middle of its base64 (FWS is ignored there)",
        _fold_signature(msg, 2),
        PASS,
    )
    add(
        "sig-non-ascii-octet",
        "an 8-bit octet in a DKIM2-Signature value",
        field_edit(msg, SIG, 2, b"d=lists.example.org", "d=lïsts.example.org".encode()),
        SYNTAX,
    )
    add(
        "sig-bare-cr-in-value",
        "a bare CR inside a DKIM2-Signature value",
        field_edit(msg, SIG, 2, b"; m=2;", b"; m=\r2;"),
        dropped("sig.syntax"),
    )
    add(
        "sig-bare-lf-in-value",
        "a bare LF inside a DKIM2-Signature value (not a fold)",
        field_edit(msg, SIG, 2, b"; m=2;", b"; m=\n2;"),
        dropped("sig.tag-missing"),
    )
    add(
        "sig-nul-in-value",
        "a NUL octet inside a DKIM2-Signature value",
        field_edit(msg, SIG, 2, b"; m=2;", b"; m=2\x00;"),
        SYNTAX,
    )

    # -- required tags missing -------------------------------------------------------------
    for tag in ("m", "t", "d", "s"):
        add(
            f"sig-missing-{tag}",
            f"DKIM2-Signature i=2 without {tag}=",
            set_tag(msg, SIG, 2, tag, None),
            dropped("sig.tag-missing"),
            paths=WEB if tag == "d" else (),
        )
    add(
        "sig-missing-i",
        "DKIM2-Signature without i=",
        set_tag(msg, SIG, 2, "i", None),
        E(
            "permerror",
            "sig.tag-missing",
            "PERMERROR DKIM2-Signature i=? tag=i missing",
            v="fail",
        ),
    )
    add(
        "sig-missing-mf-and-rt",
        "neither mf=/rt= nor nd=",
        set_tag(set_tag(msg, SIG, 2, "mf", None), SIG, 2, "rt", None),
        dropped("sig.tag-missing"),
    )
    add(
        "sig-missing-rt",
        "mf= without rt=",
        set_tag(msg, SIG, 2, "rt", None),
        dropped("sig.tag-missing"),
    )
    add(
        "sig-nd-and-mf",
        "nd= beside mf=/rt= (S06 §8.7: one or the other), re-signed",
        resign(set_tag(msg, SIG, 2, "nd", "example.net"), from_hop=2),
        dropped("sig.tag-unexpected"),
    )

    # -- numbers ---------------------------------------------------------------------------
    i_zero = E("permerror", "sig.syntax", "PERMERROR DKIM2-Signature i=0 syntax error", v="fail")
    for name, value, resigned, expect in (
        ("zero", "0", False, i_zero),
        ("negative", "-2", False, NUMBER_SYNTAX),
        ("leading-zero", "02", True, PASS),
        ("letters", "two", False, NUMBER_SYNTAX),
        ("plus-sign", "+2", False, NUMBER_SYNTAX),
        ("five-digits", "10002", False, NUMBER_SYNTAX),
        ("empty", "", False, NUMBER_SYNTAX),
    ):
        raw = set_tag(msg, SIG, 2, "i", value)
        add(
            f"sig-i-{name}",
            f"DKIM2-Signature i={value}" + (", re-signed" if resigned else ""),
            resign(raw, from_hop=2) if resigned else raw,
            expect,
        )
    for name, value in (("zero", "0"), ("letters", "x")):
        add(f"sig-m-{name}", f"DKIM2-Signature m={value}", set_tag(msg, SIG, 2, "m", value), SYNTAX)
    add(
        "sig-m-beyond-instances",
        "DKIM2-Signature m=3 where the newest instance is m=2",
        set_tag(msg, SIG, 2, "m", "3"),
        E(
            "permerror",
            "sig.instance-out-of-range",
            "PERMERROR DKIM2-Signature i=2 syntax error",
            v="fail",
            notes="sig.incorrect",
        ),
    )
    add(
        "sig-m-decreasing",
        "hop 2 claims m=1 though it changed the message, re-signed",
        resign(set_tag(msg, SIG, 2, "m", "1"), from_hop=2),
        E("permerror", "mi.not-signed", "PERMERROR Message-Instance m=2 is not signed", v="fail"),
    )
    for name, value in (
        ("letters", "soon"),
        ("21-digits", "1" * 21),
        ("empty", ""),
        ("negative", "-5"),
    ):
        add(
            f"sig-t-{name}",
            f"DKIM2-Signature t={value[:24]}",
            set_tag(msg, SIG, 2, "t", value),
            SYNTAX,
        )
    add(
        "sig-t-future",
        "t= a day after the verification clock (-07 on: an error), re-signed",
        resign(set_tag(msg, SIG, 2, "t", str(NOW + 86400)), from_hop=2),
        E(
            "fail",
            "sig.from-future",
            "FAIL: DKIM2-Signature i=2 timestamp is in the future",
            v="fail",
        ),
    )
    add(
        "sig-t-expired",
        "t= 15 days before the verification clock (S06 §8.4: 14 days), re-signed",
        resign(set_tag(msg, SIG, 2, "t", str(T0 - 15 * 86400)), from_hop=2),
        E("fail", "sig.expired", "FAIL: DKIM2-Signature i=2 signature expired", v="fail"),
        paths=WEB,
    )

    # -- domains and selectors --------------------------------------------------------------
    for name, value in (
        ("underscore", "lists_x.example.org"),
        ("label-64", "a" * 64 + ".example.org"),
        ("address-literal", "[192.0.2.1]"),
        ("empty", ""),
        ("trailing-hyphen", "lists-.example.org"),
    ):
        add(
            f"sig-d-{name}",
            f"DKIM2-Signature d={value[:40]}",
            set_tag(msg, SIG, 2, "d", value),
            SYNTAX,
        )
    add(
        "sig-d-trailing-dot",
        "d= with a trailing dot (the root), re-signed",
        resign(set_tag(msg, SIG, 2, "d", "lists.example.org."), from_hop=2),
        PASS,
    )
    s2 = chains.get_tag(msg, SIG, 2, "s")
    sel, alg, sig = s2.split(":")
    for name, value, expect in (
        ("no-colons", f"{sel}{alg}{sig}", SYNTAX),
        ("no-signature", f"{sel}:{alg}", SYNTAX),
        ("empty-selector", f":{alg}:{sig}", SYNTAX),
        ("bad-selector", f"s!1:{alg}:{sig}", SYNTAX),
        ("four-parts", f"{sel}:{alg}:{sig}:extra", SYNTAX),
        ("non-canonical-base64", f"{sel}:{alg}:{_flip_pad_bits(sig)}", SYNTAX),
        ("signature-not-base64", f"{sel}:{alg}:not*base64", SYNTAX),
        ("nine-sets", ",".join([f"{sel}:{alg}:{sig}"] * 9), SYNTAX),
        (
            "duplicate-selector",
            f"{sel}:{alg}:{sig},{sel}:{alg}:{sig}",
            dropped("sig.duplicate-selector"),
        ),
    ):
        add(
            f"sig-s-{name}",
            f"s= {name.replace('-', ' ')}",
            set_tag(msg, SIG, 2, "s", value),
            expect,
            paths=WEB if name == "nine-sets" else (),
        )

    # -- envelope tags ---------------------------------------------------------------------
    for name, value in (
        ("not-base64", "not base64!"),
        ("bare-address", b64("list-bounces@lists.example.org")),
        ("control-character", b64("<list-bounces\x07@lists.example.org>")),
        ("with-parameters", b64("<list-bounces@lists.example.org> SIZE=100")),
        ("no-domain", b64("<list-bounces>")),
        ("crlf-inside", b64("<list-bounces@lists.example.org>\r\nBcc: x@y.example")),
    ):
        add(
            f"sig-mf-{name}",
            f"mf= {name.replace('-', ' ')}, re-signed",
            resign(set_tag(msg, SIG, 2, "mf", value), from_hop=2),
            SYNTAX,
        )
    add(
        "sig-mf-null-path",
        "mf= <> (a null reverse-path is allowed), re-signed, delivered with MAIL FROM <>",
        resign(set_tag(msg, SIG, 2, "mf", b64("<>")), from_hop=2),
        PASS,
        mail_from="<>",
    )
    for name, value in (
        ("empty-entry", b64("<a@example.net>") + ",," + b64("<b@example.net>")),
        ("null-path", b64("<>")),
        ("not-base64", "%%%"),
    ):
        add(
            f"sig-rt-{name}",
            f"rt= {name.replace('-', ' ')}, re-signed",
            resign(set_tag(msg, SIG, 2, "rt", value), from_hop=2),
            SYNTAX,
        )

    # -- other tags ------------------------------------------------------------------------
    add(
        "sig-nonce-65-chars",
        "n= of 65 characters (S06 §8.3: at most 64), re-signed",
        resign(set_tag(msg, SIG, 2, "n", "n" * 65), from_hop=2),
        SYNTAX,
    )
    add(
        "sig-nonce-64-chars",
        "n= of 64 characters, re-signed",
        resign(set_tag(msg, SIG, 2, "n", "n" * 64), from_hop=2),
        PASS,
    )
    add(
        "sig-unknown-flag",
        "f= with an unknown flag, re-signed",
        resign(set_tag(msg, SIG, 2, "f", "frobnicated"), from_hop=2),
        PASS,
    )
    add(
        "sig-exploded-first-hop",
        "f=exploded on the first hop (-09: never on a first signature; noted), re-signed",
        resign(set_tag(msg, SIG, 1, "f", "exploded"), from_hop=1),
        E("pass", v="pass", notes="sig.exploded-first"),
    )

    # -- Message-Instance ------------------------------------------------------------------
    add(
        "mi-no-final-semicolon",
        "Message-Instance without its final ';', re-signed",
        resign(without_final_semicolon(msg, MI, 2), from_hop=2),
        PASS,
    )
    add(
        "mi-empty-tag",
        "two ';' in a row in Message-Instance",
        field_edit(msg, MI, 2, b"m=2;", b"m=2;;"),
        E("permerror", "mi.syntax", "PERMERROR Message-Instance m=2 syntax error", v="fail"),
        paths=WEB,
    )
    mi1_syntax = E(
        "permerror", "mi.syntax", "PERMERROR Message-Instance m=1 syntax error", v="fail"
    )
    add(
        "mi-duplicate-tag",
        "h= twice in one Message-Instance",
        field_append(msg, MI, 1, b" h=" + chains.get_tag(msg, MI, 1, "h").encode() + b";"),
        mi1_syntax,
    )
    add(
        "mi-missing-m",
        "Message-Instance without m=",
        field_edit(msg, MI, 2, b"m=2; ", b""),
        E("permerror", "mi.tag-missing", "PERMERROR Message-Instance m=? tag=m missing", v="fail"),
    )
    add(
        "mi-missing-h",
        "Message-Instance m=1 without h=",
        set_tag(msg, MI, 1, "h", None),
        E("permerror", "mi.tag-missing", "PERMERROR Message-Instance m=1 tag=h missing", v="fail"),
    )
    add(
        "mi-m-zero",
        "Message-Instance m=0",
        set_tag(msg, MI, 1, "m", "0"),
        E("permerror", "mi.syntax", "PERMERROR Message-Instance m=0 syntax error", v="fail"),
    )
    h1 = chains.get_tag(msg, MI, 1, "h")
    alg, header_hash, body_hash = h1.split(":")
    for name, value, expect in (
        (
            "unknown-algorithm-only",
            f"sha3-256:{header_hash}:{body_hash}",
            E(
                "permerror",
                "mi.unknown-hash-in-group",
                "PERMERROR Message-Instance m=1 uses unknown hash sha3-256",
                v="fail",
            ),
        ),
        ("hash-too-short", f"{alg}:{b64(b'short')}:{body_hash}", mi1_syntax),
        ("hash-not-base64", f"{alg}:{header_hash[:-4]}@@@@:{body_hash}", mi1_syntax),
        ("no-body-hash", f"{alg}:{header_hash}", mi1_syntax),
        (
            "duplicate-algorithm",
            f"{h1},{h1}",
            E(
                "permerror",
                "mi.duplicate-hash-algorithm",
                "PERMERROR Message-Instance m=1 has a duplicate hash algorithm",
                v="fail",
            ),
        ),
        ("empty", "", mi1_syntax),
    ):
        add(
            f"mi-h-{name}",
            f"Message-Instance m=1 h= {name.replace('-', ' ')}, re-signed",
            resign(set_tag(msg, MI, 1, "h", value)),
            expect,
            paths=WEB if name == "unknown-algorithm-only" else (),
        )
    add(
        "mi-unknown-tag",
        "an unknown tag in Message-Instance (ignored), re-signed",
        resign(field_append(msg, MI, 2, b" zz=1;"), from_hop=2),
        PASS,
    )
    add(
        "mi-r-not-base64",
        "r= that is not base64, re-signed",
        resign(set_tag(msg, MI, 2, "r", "{not base64}"), from_hop=2),
        E("permerror", "mi.syntax", "PERMERROR Message-Instance m=2 syntax error", v="fail"),
    )
    return b.cases


def _fold_signature(msg: bytes, number: int) -> bytes:
    raw = chains.get_field(msg, SIG, number)
    value = chains.get_tag(msg, SIG, number, "s")
    sel, alg, sig = value.split(":")
    folded = f"{sel}:{alg}:{sig[:20]}\r\n\t{sig[20:50]}\r\n {sig[50:]}".encode()
    return chains.replace_field(msg, SIG, number, raw.replace(value.encode(), folded, 1))


def _flip_pad_bits(sig: str) -> str:
    """The same octets in base64 with non-zero pad bits (not canonical, S06 §2.14)."""
    data = base64.b64decode(sig)
    if len(data) % 3 == 0:
        raise ValueError("no pad bits to flip")
    text = base64.b64encode(data).decode()
    stem = text.rstrip("=")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet[alphabet.index(stem[-1]) | 1]
    return stem[:-1] + last + text[len(stem) :]
