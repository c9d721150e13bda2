"""Taking a forward apart: attached originals come out byte for byte, hostile MIME is bounded."""

from __future__ import annotations

import base64
import binascii
import random
import time

import pytest

from dkim2web.intake import mime
from dkim2web.intake.testing import attach, message

ORIGINAL_A = (
    b"From: Alice <alice@origin.example>\r\nTo: bob@forwarder.example\r\n"
    b"Subject: first\r\n  folded on purpose\r\nX-Odd:   spaces\t \r\n\r\n"
    b"Line one\r\n.leading dot\r\n\r\n\r\ntrailing blank lines\r\n\r\n"
)
ORIGINAL_B = (
    b"Received: from a by b\r\nFrom: carol@news.example\r\nSubject: second\r\n"
    b"Content-Type: text/plain; charset=latin-1\r\n\r\ncaf\xe9 au lait\r\n"
)


def _originals(raw: bytes) -> list[bytes]:
    return [mime.decode_body(e).data for e in mime.walk(raw).messages()]


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda: attach([ORIGINAL_A]), [ORIGINAL_A]),
        (lambda: attach([ORIGINAL_A, ORIGINAL_B]), [ORIGINAL_A, ORIGINAL_B]),
        (lambda: attach([ORIGINAL_A, ORIGINAL_B], nested=True), [ORIGINAL_A, ORIGINAL_B]),
        (lambda: attach([ORIGINAL_B], encodings=["base64"]), [ORIGINAL_B]),
        (lambda: attach([ORIGINAL_A], encodings=["quoted-printable"]), [ORIGINAL_A]),
        (lambda: attach([ORIGINAL_A], boundary="b"), [ORIGINAL_A]),
        (lambda: message(sender="a@origin.example", to="b@x.example", subject="s", body="x"), []),
    ],
    ids=["one", "two", "nested", "base64", "quoted-printable", "short-boundary", "none"],
)
def test_attached_originals_come_out_exactly(build, expected) -> None:
    assert _originals(build()) == expected


def test_the_transfer_encoding_undone_is_named() -> None:
    raw = attach([ORIGINAL_A, ORIGINAL_B], encodings=[None, "base64"])
    found = [mime.decode_body(e) for e in mime.walk(raw).messages()]
    assert [d.encoding for d in found] == ["", "base64"]
    assert [e.path for e in mime.walk(raw).messages()] == ["2", "3"]


def test_nested_originals_get_nested_part_numbers() -> None:
    raw = attach([ORIGINAL_A, ORIGINAL_B], nested=True)
    assert [e.path for e in mime.walk(raw).messages()] == ["2.1", "2.2"]


def _multipart(
    parts: list[bytes],
    *,
    boundary: bytes = b"XY",
    close: bool = True,
    ctype: bytes = b"multipart/mixed",
    newline: bytes = b"\r\n",
) -> bytes:
    head = b"Content-Type: " + ctype + b'; boundary="' + boundary + b'"' + newline + newline
    body = b"preamble" + newline
    for p in parts:
        body += b"--" + boundary + newline + p + newline
    if close:
        body += b"--" + boundary + b"--" + newline + b"epilogue --XY" + newline
    return head + body


def test_lf_only_line_ends_are_split_too() -> None:
    original = b"From: a@origin.example\nSubject: lf\n\nbody\n"
    raw = _multipart([b"Content-Type: message/rfc822\n\n" + original], newline=b"\n")
    assert _originals(raw) == [original]


def test_transport_padding_after_a_boundary_is_allowed() -> None:
    raw = _multipart([b"Content-Type: message/rfc822\r\n\r\nFrom: a@b.example\r\n\r\nx\r\n"])
    raw = raw.replace(b"--XY\r\n", b"--XY \t\r\n", 1)
    assert _originals(raw) == [b"From: a@b.example\r\n\r\nx\r\n"]


def test_a_longer_line_starting_with_the_boundary_is_not_a_delimiter() -> None:
    inner = b"From: a@b.example\r\n\r\n--XYZ is not a boundary\r\n--XY-- neither\r\n"
    raw = _multipart([b"Content-Type: message/rfc822\r\n\r\n" + inner])
    assert _originals(raw) == [inner]


def test_digest_parts_default_to_messages() -> None:
    one = b"From: a@b.example\r\nSubject: 1\r\n\r\none\r\n"
    two = b"From: c@d.example\r\nSubject: 2\r\n\r\ntwo\r\n"
    raw = _multipart([b"\r\n" + one, b"\r\n" + two], ctype=b"multipart/digest")
    assert _originals(raw) == [one, two]


def test_a_missing_closing_boundary_is_noted_and_the_last_part_runs_to_the_end() -> None:
    raw = _multipart(
        [b"Content-Type: message/rfc822\r\n\r\nFrom: a@b.example\r\n\r\nx"], close=False
    )
    walked = mime.walk(raw)
    assert [mime.decode_body(e).data for e in walked.messages()] == [
        b"From: a@b.example\r\n\r\nx\r\n"
    ]
    assert any("no closing boundary" in n for n in walked.notes)


def test_a_multipart_without_boundary_is_noted() -> None:
    raw = b"Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\nhi\r\n--x--\r\n"
    walked = mime.walk(raw)
    assert walked.messages() == []
    assert any("no boundary" in n for n in walked.notes)


def test_undecodable_base64_is_taken_as_it_is_and_said() -> None:
    raw = _multipart(
        [b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nabc"]
    )
    decoded = mime.decode_body(mime.walk(raw).messages()[0])
    assert decoded.data == b"abc" and decoded.encoding == "" and "base64" in decoded.problem


def test_unknown_transfer_encoding_is_kept_and_said() -> None:
    raw = _multipart(
        [
            b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: x-uue\r\n"
            b"\r\nFrom: a@b.example\r\n\r\nx\r\n"
        ]
    )
    decoded = mime.decode_body(mime.walk(raw).messages()[0])
    assert decoded.data == b"From: a@b.example\r\n\r\nx\r\n" and "x-uue" in decoded.problem


# -- hostile input: bounded, never raises ---------------------------------------------------------


def _nested(depth: int) -> bytes:
    raw = b"Content-Type: message/rfc822\r\n\r\nFrom: deep@x.example\r\n\r\ndeep\r\n"
    for n in range(depth):
        b = f"b{n}".encode()
        raw = (
            b'Content-Type: multipart/mixed; boundary="'
            + b
            + b'"\r\n\r\n--'
            + b
            + b"\r\n"
            + raw
            + b"\r\n--"
            + b
            + b"--\r\n"
        )
    return raw


def test_nesting_past_the_depth_limit_stops_there() -> None:
    started = time.monotonic()
    walked = mime.walk(_nested(5000))
    assert time.monotonic() - started < 10
    assert walked.truncated
    assert max(e.depth for e in walked.entities) == mime.MAX_DEPTH
    assert walked.messages() == []
    assert any("deeper than 10" in n for n in walked.notes)


def test_nesting_within_the_limit_is_followed() -> None:
    walked = mime.walk(_nested(mime.MAX_DEPTH - 1))
    assert not walked.truncated
    assert [mime.decode_body(e).data for e in walked.messages()] == [
        b"From: deep@x.example\r\n\r\ndeep\r\n"
    ]


def test_more_parts_than_the_limit_stop_at_the_limit() -> None:
    raw = _multipart([b"Content-Type: message/rfc822\r\n\r\nFrom: a@b.example\r\n\r\nx"] * 3000)
    walked = mime.walk(raw)
    assert walked.truncated
    assert len(walked.entities) == mime.MAX_PARTS
    assert any("more than 1000" in n for n in walked.notes)


@pytest.mark.slow
def test_huge_hostile_inputs_finish_quickly() -> None:
    size = 25 * 1024 * 1024
    cases = [
        b'Content-Type: multipart/mixed; boundary="a"\r\n\r\n' + b"--a\r\n" * (size // 5),
        b'Content-Type: multipart/mixed; boundary="a"\r\n\r\n' + b"--ab\r\n" * (size // 6),
        b"X-Long: " + b"x" * size,  # a header block that never ends
        b'Content-Type: multipart/mixed; boundary="a"\r\n\r\n--a\r\n' + b"\r\n" * (size // 2),
    ]
    for raw in cases:
        started = time.monotonic()
        walked = mime.walk(raw)
        assert time.monotonic() - started < 20, raw[:60]
        assert len(walked.entities) <= mime.MAX_PARTS


def test_random_bytes_never_raise() -> None:
    rng = random.Random(4)
    pieces = [
        b"--a",
        b"\r\n",
        b"\n",
        b"Content-Type: multipart/mixed; boundary=a",
        b":",
        b"Content-Type: message/rfc822",
        b"Content-Transfer-Encoding: base64",
        b"=",
        b"\x00",
        b"\xff",
        b'boundary="',
        b"--a--",
        b" ",
        b"From: x",
    ]
    for _ in range(300):
        raw = b"".join(rng.choice(pieces) for _ in range(rng.randrange(1, 200)))
        walked = mime.walk(raw)
        for entity in walked.messages():
            mime.decode_body(entity)


def test_base64_and_qp_helpers_agree_with_the_builder() -> None:
    # The builder and the decoder are both byte exact for CRLF text.
    assert base64.b64decode(base64.encodebytes(ORIGINAL_B)) == ORIGINAL_B
    assert binascii.a2b_qp(binascii.b2a_qp(ORIGINAL_A, istext=False)) == ORIGINAL_A


@pytest.mark.parametrize(
    ("raw", "limit", "expected"),
    [
        (b"A: 1\r\nB: 2\r\n\r\nbody\r\n", 100, b"A: 1\r\nB: 2\r\n"),
        (b"A: 1\nB: 2\n\nbody\n", 100, b"A: 1\nB: 2\n"),
        (b"\r\nbody starts at once\r\n", 100, b""),
        (b"A: 1\r\nB: 2\r\n", 100, b"A: 1\r\nB: 2\r\n"),  # headers only
        (b"A: 1\r\nB: 2\r\n\r\nbody\r\n", 8, b"A: 1\r\nB:"),  # no end within the limit
    ],
)
def test_the_header_block_ends_at_the_first_empty_line(
    raw: bytes, limit: int, expected: bytes
) -> None:
    assert mime.header_block(raw, limit=limit) == expected
