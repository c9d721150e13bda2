"""Signed messages and the edits made to them after signing, for the change search tests
(tests/analysis/test_change_search.py).

A case signs one of the start messages below -- with DKIM2 (:mod:`tests.support.chains`,
one hop) or with DKIM1 (:func:`tests.support.mailauth.dkim1_sign`, dkimpy's signer) --
then applies one edit to the signed bytes, as an intermediary or a copy would, without
re-signing: the hash of the edited part no longer matches, and no recipe says why.
:func:`dkim2_search` and :func:`dkim1_search` verify the edited message and return the
search the engine attached to the failing instance or signature.
"""

from __future__ import annotations

import base64
import binascii
import textwrap
from collections.abc import Callable, Sequence

from analysis import dkim1
from analysis.change_search import ChangeSearch, SearchBudget
from analysis.dkim2 import ChainReport
from analysis.message import parse_message
from tests.support.chains import Hop, build_chain, join, split
from tests.support.mailauth import NOW, dkim1_sign, rsa_key

CRLF = b"\r\n"

Edit = Callable[[bytes], bytes]

# -- start messages -------------------------------------------------------------------------------

HEADERS = (
    "From: Alice <alice@example.com>\r\n"
    "To: Bob <bob@example.net>\r\n"
    "Subject: Lunch on Friday\r\n"
    "Date: Thu, 15 Jan 2027 10:00:00 +0000\r\n"
    "Message-ID: <lunch@example.com>\r\n"
    "MIME-Version: 1.0\r\n"
)

TEXT_BODY = (
    "Hi Bob,\r\n"
    "\r\n"
    "Shall we meet at noon on Friday? The café on the corner has a table for two,\r\n"
    "and they still serve the soup you liked.\r\n"
    ".NET meetup notes are attached to the invitation.\r\n"
    "\r\n"
    "-- \r\n"
    "Alice\r\n"
)

#: A text/plain message in 8bit.
TEXT = (
    HEADERS
    + "Content-Type: text/plain; charset=utf-8\r\n"
    + "Content-Transfer-Encoding: 8bit\r\n\r\n"
    + TEXT_BODY
).encode()

PARAGRAPH = (
    "The relays get new certificates on Saturday at two in the morning, and each of them "
    "restarts once; expect a few seconds of refused connections while they do, and retry "
    "anything that fails in that window rather than opening a ticket about it."
)

#: A text/plain message with one long paragraph (for wrapping).
LONG = (
    HEADERS
    + "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    + "Hi all,\r\n\r\n"
    + PARAGRAPH
    + "\r\n\r\nAlice\r\n"
).encode()

#: A text/plain message with a line of 2,500 octets (for a relay's 998-octet limit).
WIDE = (
    HEADERS
    + "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    + "Data follows.\r\n"
    + "".join(f"{k:05d}," for k in range(416))
    + "9999\r\nEnd.\r\n"
).encode()

#: A text/plain message whose Subject is folded.
LONG_SUBJECT = (
    HEADERS.replace(
        "Subject: Lunch on Friday\r\n",
        "Subject: Lunch on Friday, and the agenda for the planning meeting\r\n"
        " that follows it in the small room\r\n",
    )
    + "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    + TEXT_BODY
).encode()

#: multipart/alternative: a text part and an HTML part.
ALTERNATIVE = (
    HEADERS
    + 'Content-Type: multipart/alternative; boundary="alt-7"\r\n\r\n'
    + "--alt-7\r\n"
    + "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    + "See you at noon.\r\nAlice\r\n"
    + "\r\n--alt-7\r\n"
    + "Content-Type: text/html; charset=utf-8\r\n\r\n"
    + "<html>\r\n<body>\r\n<p>See you at noon.</p>\r\n<p>Alice</p>\r\n</body>\r\n</html>\r\n"
    + "\r\n--alt-7--\r\n"
).encode()

#: multipart/mixed: a text part in 8bit and a base64 attachment.
MIXED = (
    HEADERS
    + 'Content-Type: multipart/mixed; boundary="mix-3"\r\n\r\n'
    + "This is a multi-part message in MIME format.\r\n"
    + "--mix-3\r\n"
    + "Content-Type: text/plain; charset=utf-8\r\n"
    + "Content-Transfer-Encoding: 8bit\r\n\r\n"
    + "The agenda is attached. Café at noon.\r\nAlice\r\n"
    + "\r\n--mix-3\r\n"
    + "Content-Type: application/pdf; name=agenda.pdf\r\n"
    + "Content-Transfer-Encoding: base64\r\n\r\n"
    + "JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSPj4Kc3RyZWFtCg==\r\n"
    + "\r\n--mix-3--\r\n"
).encode()


# -- edits (bytes in, bytes out; the header block split by hand) ----------------------------------


def on_body(change: Callable[[bytes], bytes]) -> Edit:
    def edit(msg: bytes) -> bytes:
        fields, body = split(msg)
        return join(fields, change(body))

    return edit


def on_fields(change: Callable[[list[bytes]], list[bytes]]) -> Edit:
    def edit(msg: bytes) -> bytes:
        fields, body = split(msg)
        return join(change(fields), body)

    return edit


def both(*edits: Edit) -> Edit:
    def edit(msg: bytes) -> bytes:
        for e in edits:
            msg = e(msg)
        return msg

    return edit


def _name(raw: bytes) -> bytes:
    return raw.split(b":", 1)[0].strip().lower()


def set_field(name: str, value: str) -> Edit:
    """Replace the first ``name`` field's value (``value`` raw, folds included)."""

    def change(fields: list[bytes]) -> list[bytes]:
        k = next(i for i, f in enumerate(fields) if _name(f) == name.lower().encode())
        written = fields[k].split(b":", 1)[0]
        fields[k] = written + b": " + value.encode() + CRLF
        return fields

    return on_fields(change)


def add_field(name: str, value: str) -> Edit:
    """Add a field below the DKIM fields (where a list adds its own)."""

    def change(fields: list[bytes]) -> list[bytes]:
        at = 0
        skip = (b"dkim2-signature", b"message-instance", b"dkim-signature")
        while at < len(fields) and _name(fields[at]) in skip:
            at += 1
        fields.insert(at, f"{name}: {value}".encode() + CRLF)
        return fields

    return on_fields(change)


def remove_field(name: str) -> Edit:
    return on_fields(lambda fs: [f for f in fs if _name(f) != name.lower().encode()])


def replace_text(old: str, new: str) -> Edit:
    return on_body(lambda body: body.replace(old.encode(), new.encode(), 1))


def append_lines(*lines: str) -> Edit:
    return on_body(lambda body: body + "".join(x + "\r\n" for x in lines).encode())


def prepend_lines(*lines: str) -> Edit:
    return on_body(lambda body: "".join(x + "\r\n" for x in lines).encode() + body)


def wrap_at(width: int) -> Edit:
    """Every line longer than ``width`` wrapped greedily at spaces (a copy from a reader)."""

    def change(body: bytes) -> bytes:
        out = []
        for line in body.decode().split("\r\n"):
            out.extend(
                textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False) or [line]
            )
        return "\r\n".join(out).encode()

    return on_body(change)


def break_at(width: int) -> Edit:
    """Every line longer than ``width`` octets cut at exactly ``width`` (a relay's limit)."""

    def change(body: bytes) -> bytes:
        out = []
        for line in body.split(CRLF):
            while len(line) > width:
                out.append(line[:width])
                line = line[width:]
            out.append(line)
        return CRLF.join(out)

    return on_body(change)


def to_quoted_printable(msg: bytes) -> bytes:
    """A single-part 8bit message re-encoded as quoted-printable (RFC 6152 downgrade)."""
    msg = set_field("Content-Transfer-Encoding", "quoted-printable")(msg)
    return on_body(lambda body: binascii.b2a_qp(body, istext=True))(msg)


def part_to_base64(msg: bytes) -> bytes:
    """MIXED's text part re-encoded as base64."""
    fields, body = split(msg)
    head = b"Content-Transfer-Encoding: 8bit\r\n\r\n"
    start = body.index(head) + len(head)
    end = body.index(b"\r\n--mix-3", start)
    encoded = base64.encodebytes(body[start:end]).replace(b"\n", CRLF).removesuffix(CRLF)
    body = (
        body[: start - len(head)]
        + b"Content-Transfer-Encoding: base64\r\n\r\n"
        + encoded
        + body[end:]
    )
    return join(fields, body)


def add_footer_part(msg: bytes) -> bytes:
    """A text/plain footer part added before MIXED's close delimiter."""
    part = b"--mix-3\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nLunch list footer\r\n\r\n"
    return msg.replace(b"--mix-3--", part + b"--mix-3--")


def wrap_in_multipart(msg: bytes) -> bytes:
    """The single-part TEXT moved into a multipart/mixed with a footer part (as Mailman
    does): Content-Type and Content-Transfer-Encoding move into the first part."""
    fields, body = split(msg)
    moved = [f for f in fields if _name(f) in (b"content-type", b"content-transfer-encoding")]
    kept = [f for f in fields if f not in moved]
    kept.append(b'Content-Type: multipart/mixed; boundary="wrap-1"\r\n')
    new_body = (
        b"--wrap-1\r\n"
        + b"".join(moved)
        + CRLF
        + body
        + b"\r\n--wrap-1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        + b"Lunch list footer\r\n"
        + b"\r\n--wrap-1--\r\n"
    )
    return join(kept, new_body)


def html_footer(msg: bytes) -> bytes:
    """A footer paragraph inserted before ``</body>`` in ALTERNATIVE's HTML part."""
    return msg.replace(b"</body>", b"<p>Sent through the lunch list</p>\r\n</body>")


def text_part_footer(msg: bytes) -> bytes:
    """A footer line appended to ALTERNATIVE's text part."""
    return msg.replace(
        b"Alice\r\n\r\n--alt-7\r\nContent-Type: text/html",
        b"Alice\r\n-- lunch list\r\n\r\n--alt-7\r\nContent-Type: text/html",
    )


def text_part_banner(msg: bytes) -> bytes:
    """A warning line added at the start of ALTERNATIVE's text part."""
    return msg.replace(
        b"charset=utf-8\r\n\r\nSee you at noon.\r\nAlice",
        b"charset=utf-8\r\n\r\n[External sender] Be careful with links.\r\n"
        b"See you at noon.\r\nAlice",
    )


def lose_fold(msg: bytes) -> bytes:
    """The Subject's folded line without its leading space (a copy that trims lines)."""
    return msg.replace(b"\r\n that follows it", b"\r\nthat follows it")


def lose_last_line_feed(msg: bytes) -> bytes:
    return msg.removesuffix(b"\n")


# -- signing and searching ------------------------------------------------------------------------

HOP = Hop("example.com", "<alice@example.com>", ["<bob@example.net>"], revision="09")


def dkim2_report(start: bytes, edit: Edit, hops: Sequence[Hop] = (HOP,)) -> ChainReport:
    chain = build_chain(start, hops)
    return chain.analyze(edit(chain.message))


def dkim2_search(start: bytes, edit: Edit, part: str, hops: Sequence[Hop] = (HOP,)) -> ChangeSearch:
    """The search attached to the newest instance's failing ``part`` ("body", "header")."""
    report = dkim2_report(start, edit, hops)
    newest = max(report.instances, key=lambda x: x.instance)
    return next(s for s in newest.change_searches if s.part == part)


def dkim1_signed(
    start: bytes, canonicalization: str = "relaxed/simple", length: bool = False
) -> bytes:
    return dkim1_sign(
        start,
        rsa_key(),
        domain="example.com",
        selector="sel",
        canonicalization=canonicalization,
        length=length,
    )


def dkim1_search(
    start: bytes,
    edit: Edit,
    *,
    canonicalization: str = "relaxed/simple",
    length: bool = False,
    budget: SearchBudget | None = None,
) -> dkim1.Dkim1Signature:
    """The DKIM1 signature of the edited message (no key needed: the body hash is checked
    without one), with its ``change_search``."""
    raw = edit(dkim1_signed(start, canonicalization, length))
    report = dkim1.verify(dkim1.prepare(parse_message(raw)), {}, now=NOW, change_budget=budget)
    return report.signatures[0]
