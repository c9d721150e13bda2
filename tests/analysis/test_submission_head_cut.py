"""What is read of a submitted message is parsed up to its header block's blank line only
(issue #13): the same fields, and the same verdict on a head too large, as parsing the
whole prefix the submission reads."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from analysis import limits, submission
from analysis.message import ParsedMessage, parse_message

_PIECES = st.sampled_from(
    [
        b"From: a@b.example",
        b"Subject: =?utf-8?q?caf=C3=A9?=",
        b"X",
        b":",
        b" ",
        b"\t",
        b"\r",
        b"\n",
        b"\r\n",
        b"From ",
        b"\xef\xbb\xbf",
        b"To: c",
        b"\xff",
        b"body line",
    ]
)


def _reading(parsed: ParsedMessage) -> tuple[object, ...]:
    return ([(f.name, f.raw, f.valid) for f in parsed.fields], parsed.fatal)


@given(st.lists(_PIECES, max_size=40).map(b"".join))
def test_the_head_reads_as_the_whole_prefix_reads(raw: bytes) -> None:
    whole = parse_message(raw[: limits.SUBMISSION_HEAD_BYTES])
    assert _reading(submission._head(raw)) == _reading(whole)


def test_a_message_whose_body_is_large_is_read_to_its_blank_line() -> None:
    raw = b"From: Alice <a@b.example>\r\nSubject: hi\r\n\r\n" + b"x" * 500_000
    head = submission._head(raw)
    assert [f.lname for f in head.fields] == ["from", "subject"]
    assert len(head.body) == 0
    assert submission.summary_fields(raw) == submission.SummaryFields("Alice <a@b.example>", "hi")


def test_a_head_with_more_fields_than_the_engine_reads_is_still_judged_too_large() -> None:
    raw = b"From: a@b.example\r\n" + b"X: y\r\n" * limits.MAX_HEADER_FIELDS + b"\r\nbody"
    assert submission._head(raw).fatal
    assert _reading(submission._head(raw)) == _reading(parse_message(raw))
    assert submission.missing_header(raw) is None  # judged by its first line, as before
