"""CVE-2023-27043 and CVE-2024-6923: the published strings, fed to every place that reads an
address deciding a verdict or a reply, and to every header the web side writes.

CVE-2023-27043 (CPython gh-102988): Python 3.11's ``email.utils.parseaddr`` and
``getaddresses`` read ``alice@example.org)<bob@example.org>`` as one address, or as the wrong
one.  The strings are the issue's (``alice@example.org<c><bob@example.org>`` for the
characters ``( ) < @ [ ] , : ;``) and those of the fix's tests (``<bob@example.com>``, also
``> . "``).  Readers: the engine's envelope addresses (``mf=``/``rt=`` in signatures, the
MAIL FROM of the CLI, the form, the API and SMTP), DMARC's Author Domain and -09's
From-Authentic (the From field), and the intake's ``sender_auth`` (whom to answer).  The
issue asks for strict parsing wherever an address decides: a From field that is not one
well-formed mailbox gives DMARC ``permerror`` with no Author Domain.

CVE-2024-6923 (CPython gh-121650): the ``email`` package generates a header line break from
an encoded word (``=?UTF-8?Q?embedded_newline=0A?=``, the issue's reproducer).  The intake's
answer copies Subject and Message-ID from a delivered message: each must come out as one
clean header line (tests/corpus/test_corpus_cve.py sends a real answer).
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.support import chains
from tests.support.chains import SIG, b64, resign, set_tag

from .model import Case, E
from .world import API, FINAL_RCPT, INTAKE, UPLOAD, WEB, Builder, chain, one_hop

#: (name, character) of the CVE-2023-27043 strings.
JOINTS: tuple[tuple[str, str], ...] = (
    ("open-paren", "("),
    ("close-paren", ")"),
    ("less-than", "<"),
    ("greater-than", ">"),
    ("open-bracket", "["),
    ("close-bracket", "]"),
    ("at", "@"),
    ("comma", ","),
    ("colon", ":"),
    ("semicolon", ";"),
    ("dot", "."),
    ("quote", '"'),
)
#: The joints of gh-102988 itself (the others are from the fix's tests).
ISSUE_JOINTS = frozenset("()<@[],:;")


def exploit(joint: str, bob: str = "bob@example.com") -> str:
    return f"alice@example.org{joint}<{bob}>"


#: The published strings: the issue's with bob@example.org, the fix's with bob@example.com.
STRINGS: tuple[tuple[str, str], ...] = tuple(
    (f"{name}-org", exploit(joint, "bob@example.org"))
    for name, joint in JOINTS
    if joint in ISSUE_JOINTS
) + tuple((f"{name}-com", exploit(joint)) for name, joint in JOINTS)

#: A From field that is not one well-formed mailbox list: DMARC permerror, no Author Domain
#: (analysis.dmarc, dmarc.from-malformed; each refusal's words are in
#: tests/analysis/test_addresses.py).  Before issue #11 a lenient reader took alice's or
#: bob's address out of most of these strings.
STRICT = E("none", v="permerror", dmarc=("permerror", None))
SIG_SYNTAX = E("permerror", "sig.syntax", "PERMERROR DKIM2-Signature i=1 syntax error", v="fail")


def build() -> list[Case]:
    b = Builder("cve")

    # -- CVE-2023-27043 in the From field: DMARC's Author Domain ---------------------------------
    for name, text in STRINGS:
        joint = name.rsplit("-", 1)[0]
        raw = chains.message([("From", text), ("To", "bob@example.net"), ("Subject", "27043")])
        expect = STRICT
        if joint == "comma":  # a valid list of two mailboxes
            same = name.endswith("-org")
            expect = E("none", v="none", dmarc=("none", "example.org")) if same else STRICT
        b.add(
            f"27043-from-{name}",
            f"From: {text} (unsigned)",
            raw,
            expect,
            mail_from=None,
            paths=WEB if name in ("close-paren-com", "open-paren-org") else (),
        )

    # -- -09 From-Authentic: example.org signs (by -06 rules) a From that names bob too ----------
    for name, joint in (("open-paren", "("), ("close-paren", ")"), ("comma", ",")):
        text = exploit(joint)
        signer = chain(
            chains.message([("From", text), ("To", "bob@example.net"), ("Subject", "27043")]),
            [chains.Hop("example.org", "<alice@example.org>", [FINAL_RCPT], revision="06")],
        )
        if joint == ",":
            expect = E(
                "fail",
                "sig.from-not-authentic",
                "FAIL: From header field is not Authentic for d=example.org",
                v="permerror",
                dmarc=("permerror", None),
            )
        else:
            expect = E(
                "pass",
                v="permerror",
                notes="sig.from-authentic-not-evaluated",
                dmarc=("permerror", None),
            )
        b.add(
            f"27043-from-authentic-{name}",
            f"From: {text}, signed by example.org by -06 rules, judged by -09",
            signer.message,
            expect,
            of=signer,
            paths=UPLOAD if joint == "(" else (),
        )

    # -- CVE-2023-27043 in signed envelope addresses (mf=, rt=) -------------------------------
    c = one_hop()
    for name, joint in (("close-paren", ")"), ("open-paren", "("), ("comma", ","), ("at", "@")):
        text = exploit(joint)
        b.add(
            f"27043-mf-{name}",
            f"mf= <{text}>, re-signed",
            resign(set_tag(c.message, SIG, 1, "mf", b64(f"<{text}>"))),
            SIG_SYNTAX.because("mf= domain 'example.com>' is not a domain name (label 'com>')"),
            of=c,
        )
        b.add(
            f"27043-rt-{name}",
            f"rt= <{text}>, re-signed",
            resign(set_tag(c.message, SIG, 1, "rt", b64(f"<{text}>"))),
            SIG_SYNTAX.because("rt= entry domain 'example.com>' is not a domain name"),
            of=c,
        )

    # -- CVE-2023-27043 as the MAIL FROM of the delivery -----------------------------------------
    for name, joint in (("close-paren", ")"), ("open-paren", "(")):
        text = exploit(joint, "alice@example.com")
        b.add(
            f"27043-mail-from-{name}",
            f"a valid chain delivered with MAIL FROM <{text}>",
            c.message,
            E(
                "fail",
                "custody.mail-from-mismatch",
                f"FAIL: DKIM2-Signature i=1 MAIL FROM <{text}> did not match",
                v="fail",
            ),
            of=c,
            mail_from=f"<{text}>",
            paths=API,
        )

    # -- CVE-2024-6923: encoded line breaks in fields the answer copies ---------------------------
    for name, subject in SUBJECTS:
        signed = one_hop(
            chains.message(
                [*chains.DEFAULT_HEADERS[:2], ("Subject", subject), *chains.DEFAULT_HEADERS[3:]]
            )
        )
        b.add(
            f"6923-subject-{name}",
            f"Subject: {subject} (signed; the engine reads it as text)",
            signed.message,
            E("pass", v="pass"),
            of=signed,
            paths=INTAKE if name == "embedded-newline" else (),
        )
    b.add(
        "6923-reproducer",
        "gh-121650's reproducer message, as published (unsigned)",
        REPRODUCER,
        E("none", v="none", dmarc=("none", "them.example.com")),
        mail_from=None,
        paths=WEB,
    )
    return b.cases


#: (name, Subject) for CVE-2024-6923: the issue's encoded word, and the same trick aimed at
#: a second header and at a right-to-left override.
SUBJECTS: tuple[tuple[str, str], ...] = (
    ("embedded-newline", "Here's an =?UTF-8?Q?embedded_newline=0A?="),
    ("crlf-bcc", "=?UTF-8?Q?hi=0D=0ABcc:_victim@inbox.example?="),
    ("base64-crlf", "=?UTF-8?B?aGkNCkJjYzogdmljdGltQGluYm94LmV4YW1wbGU=?="),
    ("nul-and-rtl", "=?UTF-8?Q?a=00b=E2=80=AEtxt.exe?="),
)

#: gh-121650's reproducer, with CRLF line ends.
REPRODUCER = (
    b"To: incoming+tag@me.example.com\r\n"
    b"From: External Sender <sender@them.example.com>\r\n"
    b"Subject: Here's an =?UTF-8?Q?embedded_newline=0A?=\r\n"
    b"Content-Type: text/html; charset=UTF-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"MIME-Version: 1.0\r\n"
    b"\r\n"
    b"<html>\r\n<head><title>An embeded newline</title></head>\r\n<body>\r\n"
    b"  <p>I sent you an embedded newline in the subject. How do you like that?!</p>\r\n"
    b"</body>\r\n</html>\r\n"
)


# -- the address readers, called directly ------------------------------------------------------


@dataclass(frozen=True)
class AddressCase:
    """One published string given to one reader, and what the reader must answer: the
    address it accepts, or the exact sentence of its refusal."""

    id: str
    reader: str  # "envelope" (analysis.dkim2.grammar), "mailbox", "reverse-path", "decide"
    text: str
    accepted: str | None  # the address read; None: refused with ``refusal``
    refusal: str = ""


def address_cases() -> list[AddressCase]:
    out: list[AddressCase] = []
    for name, text in STRINGS:
        domain = text.rsplit("@", 1)[1].rstrip(">")
        out.append(
            AddressCase(
                f"27043-envelope-{name}",
                "envelope",
                text,
                None,
                f"address domain '{domain}>' is not a domain name "
                f"(label '{domain.split('.')[-1]}>')",
            )
        )
        out.append(
            AddressCase(
                f"27043-mailbox-{name}",
                "mailbox",
                text,
                None,
                f"the display name of {text!r} holds characters outside a phrase or quoted "
                "string (a comment, a second address or a group)",
            )
        )
        out.append(
            AddressCase(
                f"27043-reverse-path-{name}",
                "reverse-path",
                f"<{text}>",
                None,
                f"the local part of {text!r} is not a plain dot-atom (RFC 5321 §4.1.2)",
            )
        )
        out.append(
            AddressCase(
                f"27043-decide-{name}",
                "decide",
                f"<{text}>",
                None,
                "the MAIL FROM is not one plain address: the local part of "
                f"{text!r} is not a plain dot-atom (RFC 5321 §4.1.2)",
            )
        )
    return out
