"""What comes before a message's first header field (analysis.message.parse_message): an
editor's UTF-8 byte order mark and an mbox ``From `` line are removed and said so; a
continuation line with nothing to continue is one malformed line."""

from __future__ import annotations

import pytest

from analysis.message import parse_message

MESSAGE = b"From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n"
BOM = b"\xef\xbb\xbf"
MBOX = b"From alice@example.com Sat Jan  3 01:05:34 1996\r\n"


def notes(raw: bytes) -> list[tuple[str, str]]:
    return [(f.code, f.detail) for f in parse_message(raw).findings]


@pytest.mark.parametrize(
    ("prelude", "codes"),
    [
        (b"", []),
        (BOM, ["message.byte-order-mark"]),
        (MBOX, ["message.mbox-from-line"]),
        (BOM + MBOX, ["message.byte-order-mark", "message.mbox-from-line"]),
    ],
)
def test_a_prelude_is_removed_and_said_so(prelude: bytes, codes: list[str]) -> None:
    parsed = parse_message(prelude + MESSAGE)
    assert [f.code for f in parsed.findings] == codes
    assert [f.name for f in parsed.fields] == ["From", "Subject"]
    assert parsed.normalised == MESSAGE
    assert parsed.size == len(prelude + MESSAGE)  # the size as received


def test_the_byte_order_mark_note_says_what_was_removed() -> None:
    [finding] = parse_message(BOM + MESSAGE).findings
    assert (finding.state, finding.severity, finding.message, finding.detail) == (
        "none",
        "info",
        "A UTF-8 byte order mark before the first header field was removed before verification",
        "The input starts with the octets EF BB BF, which an editor writes to mark a file as "
        "UTF-8; they are not part of the message and would hide the first field's name.",
    )


def test_a_byte_order_mark_with_lf_line_ends_is_removed_too() -> None:
    parsed = parse_message(BOM + MESSAGE.replace(b"\r\n", b"\n"))
    assert [f.code for f in parsed.findings] == ["message.lf-line-ends", "message.byte-order-mark"]
    assert parsed.normalised == MESSAGE


@pytest.mark.parametrize(
    "raw",
    [
        BOM + BOM + MESSAGE,  # only the first mark is an editor's
        b"X" + BOM + MESSAGE,
        MESSAGE.replace(b"body", BOM + b"body"),  # in the body it is data
    ],
)
def test_a_mark_anywhere_else_is_part_of_the_message(raw: bytes) -> None:
    parsed = parse_message(raw)
    assert parsed.normalised == (raw[3:] if raw.startswith(BOM) else raw)


@pytest.mark.parametrize(
    ("raw", "count"),
    [
        (b" orphan continuation\r\n" + MESSAGE, 1),
        (b" orphan\r\n\tand its continuation\r\n" + MESSAGE, 1),
        (b" orphan\r\nno colon here\r\n" + MESSAGE, 2),
        (b"no colon here\r\n" + MESSAGE, 1),
    ],
)
def test_each_malformed_header_line_is_counted_once(raw: bytes, count: int) -> None:
    [(code, detail)] = notes(raw)
    assert code == "message.malformed-header-line"
    assert detail.startswith(f"{count} line(s) without a valid 'name:' form")
