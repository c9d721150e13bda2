"""Canonicalisation edges: WSP, folding, bare CR and LF, empty bodies, trailing lines, 8-bit
(S06 §6, §13; SPEC-NOTES §3.2, §3.3, §3.5, §11 A11; analysis.message, analysis.dkim2.canonical).

Most cases sign a message and then change it as a relay might; the header hash ignores WSP
runs, folding, the case of names and the order of fields of different names; the body hash
ignores only empty lines at the end.  Some cases sign an odd message to begin with (8-bit,
NUL, bare CR, no final CRLF) to show signer and verifier agree on it.
"""

from __future__ import annotations

from tests.support import chains

from .model import Case, E
from .world import API, INTAKE, UPLOAD, WEB, Builder, one_hop, two_hops

PASS = E("pass", v="pass")
HEADER_1 = E(
    "fail",
    "hash.header-mismatch",
    "FAIL: Message Instance m=1 header hash sha256 mismatch",
    v="fail",
)
BODY_1 = E(
    "fail", "hash.body-mismatch", "FAIL: Message Instance m=1 body hash sha256 mismatch", v="fail"
)


def build() -> list[Case]:
    b = Builder("canon")
    c = one_hop()
    msg = c.message
    subject = b"Subject: Hello\r\n"

    def relay(name: str, title: str, raw: bytes, expect: object, **kw: object) -> None:
        """A change made in transit to the signed one-hop message."""
        if raw == msg:
            raise ValueError(f"{name}: the change changed nothing")
        b.add(name, title, raw, expect, of=c, **kw)  # type: ignore[arg-type]

    # -- header fields ------------------------------------------------------------------------
    relay(
        "header-wsp-runs",
        "blanks and tabs around and inside a signed value (WSP runs are one space)",
        msg.replace(subject, b"Subject: \t Hello \t \r\n"),
        PASS,
        paths=WEB,
    )
    relay(
        "header-refolded",
        "a signed field folded before its value",
        msg.replace(subject, b"Subject:\r\n Hello\r\n"),
        PASS,
    )
    relay(
        "header-fold-inside-word",
        "a fold inside a word (unfolding leaves a blank where there was none)",
        msg.replace(subject, b"Subject: Hel\r\n lo\r\n"),
        HEADER_1,
    )
    relay(
        "header-name-case",
        "a signed field's name in capitals",
        msg.replace(subject, b"SUBJECT: Hello\r\n"),
        PASS,
    )
    relay(
        "header-blank-before-colon",
        "a blank between a signed field's name and its colon",
        msg.replace(subject, b"Subject : Hello\r\n"),
        PASS,
    )
    relay(
        "header-tab-after-colon",
        "a tab instead of a blank after the colon",
        msg.replace(subject, b"Subject:\tHello\r\n"),
        PASS,
    )
    relay(
        "header-order-of-names",
        "To moved above From (fields of different names are hashed by name)",
        _swap(msg, b"From: ", b"To: "),
        PASS,
        paths=API,
    )
    relay(
        "header-value-case",
        "the case of a signed value changed",
        msg.replace(subject, b"Subject: HELLO\r\n"),
        HEADER_1,
    )
    relay(
        "header-signed-field-added",
        "a Cc field added after signing (every field but trace and authentication is signed)",
        msg.replace(subject, subject + b"Cc: carol@example.org\r\n"),
        HEADER_1,
    )
    relay(
        "header-unsigned-fields-added",
        "Received, Return-Path, Authentication-Results and X- fields added (unsigned)",
        b"Received: from a by b; Thu, 15 Jan 2027 10:00:00 +0000\r\n"
        b"Return-Path: <bounce@elsewhere.example>\r\n"
        b"Authentication-Results: mx.example.net; dkim2=pass\r\n"
        b"X-Spam-Score: 0.1\r\n" + msg,
        PASS,
        paths=INTAKE,
    )
    relay(
        "header-encoded-word-rewritten",
        "an 8-bit Subject re-encoded as an RFC 2047 encoded word in transit",
        _rewrite(
            one_hop(chains.message([("From", "a@example.com"), ("Subject", "Grüße")])).message,
            "Subject: Grüße\r\n".encode(),
            b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n",
        ),
        HEADER_1,
    )
    relay(
        "header-continuation-first",
        "a continuation line above the first field",
        b" orphan continuation\r\n" + msg,
        E(
            "pass",
            v="pass",
            says=(("message.malformed-header-line", "1 line(s) without a valid 'name:' form"),),
        ),
    )
    relay(
        "header-line-without-colon",
        "a header line without a colon added above the fields",
        b"This is not a field\r\n" + msg,
        E(
            "pass",
            v="pass",
            says=(("message.malformed-header-line", "1 line(s) without a valid 'name:' form"),),
        ),
        paths=UPLOAD,
    )

    # -- bodies ---------------------------------------------------------------------------------
    relay(
        "body-trailing-empty-lines",
        "empty lines added at the end of the body (outside the body hash)",
        msg + b"\r\n\r\n\r\n",
        PASS,
    )
    relay(
        "body-trailing-wsp",
        "a blank added at the end of a body line (the body hash keeps every octet)",
        msg.replace(b"Line two.\r\n", b"Line two. \r\n"),
        BODY_1,
        paths=API,
    )
    relay(
        "body-trailing-wsp-line",
        "a line of blanks added at the end (not an empty line)",
        msg + b" \t\r\n",
        BODY_1,
    )
    relay(
        "body-final-crlf-removed",
        "the body's final CRLF removed (the body hash adds one)",
        msg[:-2],
        PASS,
    )
    relay(
        "lf-line-ends",
        "the whole message saved with LF line ends (converted, and said so)",
        msg.replace(b"\r\n", b"\n"),
        E("pass", v="pass", notes="message.lf-line-ends"),
        paths=frozenset({"upload", "api"}),
    )
    relay(
        "mixed-line-ends",
        "one body line ending in a bare LF",
        msg.replace(b"Line two.\r\n", b"Line two.\n"),
        E("pass", v="pass", notes="message.mixed-line-ends"),
    )
    relay(
        "bare-cr-in-body",
        "a bare CR inside a body line after signing",
        msg.replace(b"Line two.\r\n", b"Line\rtwo.\r\n"),
        E("fail", *BODY_1.failure, v="fail", notes="message.bare-cr"),
        paths=UPLOAD,
    )
    relay(
        "bare-cr-at-end",
        "a bare CR as the message's last octet",
        msg + b"\r",
        E("fail", *BODY_1.failure, v="fail", notes="message.trailing-bare-cr"),
    )
    relay(
        "cr-cr-lf",
        "a line ending in CR CR LF",
        msg.replace(b"Line two.\r\n", b"Line two.\r\r\n"),
        E("fail", *BODY_1.failure, v="fail", notes="message.bare-cr"),
    )
    relay(
        "mbox-from-line",
        "an mbox 'From ' line before the message (removed, and said so)",
        b"From alice@example.com Thu Jan 15 10:00:00 2027\r\n" + msg,
        E("pass", v="pass", notes="message.mbox-from-line"),
        paths=API,
    )
    relay(
        "mbox-from-escaped",
        "a body line 'From me' escaped to '>From me' by an mbox writer",
        _rewrite(
            one_hop(chains.message(body="Hi\r\nFrom me\r\n")).message,
            b"\r\nFrom me\r\n",
            b"\r\n>From me\r\n",
        ),
        BODY_1,
    )
    relay(
        "dot-stuffing-left",
        "a body line '.x' left dot-stuffed as '..x' by a broken relay",
        _rewrite(
            one_hop(chains.message(body="Hi\r\n.x\r\n")).message, b"\r\n.x\r\n", b"\r\n..x\r\n"
        ),
        BODY_1,
    )

    # -- odd messages signed as they are --------------------------------------------------------
    def signed(name: str, title: str, start: bytes, expect: object, **kw: object) -> None:
        s = one_hop(start)
        b.add(name, title, s.message, expect, of=s, **kw)  # type: ignore[arg-type]

    signed("empty-body", "a message with an empty body", chains.message(body=b""), PASS, paths=WEB)
    signed(
        "body-of-empty-lines",
        "a body of 1,000 empty lines (all outside the body hash)",
        chains.message(body=b"\r\n" * 1000),
        PASS,
    )
    signed(
        "body-without-final-crlf",
        "a body whose last line has no CRLF",
        chains.message(body=b"no line end"),
        PASS,
    )
    signed(
        "body-utf8",
        "an 8-bit UTF-8 body",
        chains.message(body="Grüße, ¿qué tal? 你好 🙂\r\n".encode()),
        PASS,
        paths=INTAKE,
    )
    signed(
        "body-latin1",
        "an 8-bit body that is not UTF-8 (Latin-1)",
        chains.message(body=b"caf\xe9 na\xefve\r\n"),
        PASS,
        paths=API,
    )
    signed(
        "body-nul",
        "NUL octets in the body",
        chains.message(body=b"a\x00b\r\n\x00\r\n"),
        PASS,
    )
    signed(
        "body-bare-cr-signed",
        "a bare CR the signer signed (hashed as an ordinary octet, and said so)",
        chains.message(body=b"one\rtwo\r\n"),
        E("pass", v="pass", notes="message.bare-cr"),
    )
    signed(
        "header-utf8",
        "an 8-bit UTF-8 Subject and From display name",
        chains.message(
            [("From", "Jürgen <j@example.com>"), ("Subject", "Überweisung ✓")], body="x\r\n"
        ),
        PASS,
        paths=INTAKE,
    )
    signed(
        "header-latin1",
        "a Latin-1 octet in a signed header value",
        chains.message([("From", "a@example.com"), ("Subject", "caf\xe9")]).replace(
            "café".encode(), b"caf\xe9"
        ),
        PASS,
    )
    signed(
        "long-lines",
        "body lines of 5,000 octets (past SMTP's 998)",
        chains.message(body=("x" * 5000 + "\r\n") * 3),
        PASS,
    )
    signed(
        "header-many-blanks",
        "a signed value of 10,000 blanks between two words",
        chains.message([("From", "a@example.com"), ("Subject", "a" + " " * 10_000 + "b")]),
        PASS,
    )
    l2 = two_hops(modify=chains.compose(chains.append_body("footer"), _trailing_lines))
    b.add(
        "recipe-after-trailing-lines",
        "a list that appended a footer and empty lines: the recipe restores the body",
        l2.message,
        PASS,
        of=l2,
    )
    return b.cases


def _trailing_lines(msg: bytes) -> bytes:
    return msg + b"\r\n\r\n"


def _swap(msg: bytes, first: bytes, second: bytes) -> bytes:
    fields, body = chains.split(msg)
    i = next(k for k, f in enumerate(fields) if f.startswith(first))
    j = next(k for k, f in enumerate(fields) if f.startswith(second))
    fields[i], fields[j] = fields[j], fields[i]
    return chains.join(fields, body)


def _rewrite(msg: bytes, old: bytes, new: bytes) -> bytes:
    if old not in msg:
        raise ValueError(f"{old!r} not in the message")
    return msg.replace(old, new, 1)
