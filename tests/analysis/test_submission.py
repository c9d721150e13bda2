"""analysis.submission: is there a header at all, and the From and Subject for lists."""

from __future__ import annotations

import pytest

from analysis import limits
from analysis.submission import MissingHeader, SummaryFields, missing_header, summary_fields


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"From: a@example.org\r\n\r\nbody", None),
        (b"Received: from x\r\n\tby y\r\nFrom: a\r\n\r\n", None),
        (b"Subject: only a header", None),
        (b"X-Empty:\r\n\r\n", None),
        (b"Name :value\r\n\r\n", None),  # blanks before the colon: RFC 5322 obsolete syntax
        (b"\xef\xbb\xbfSubject: x\r\n\r\n", None),  # the byte order mark is dropped first
        (b"From a@b Sat Nov 28 10:00:00 2026\nSubject: x\n\nbody\n", None),  # mbox line
        (b"not a field\r\nFrom: a@example.org\r\n\r\n", None),  # damaged, but it has a From
        (b"Agenda: one\r\n1. two\r\n\r\n", None),  # a first line that is a field
        (b"Hi Bob,\r\n\r\nsee you", MissingHeader("not-a-field", "Hi Bob,")),
        (b"Hello", MissingHeader("not-a-field", "Hello")),
        (b"Dear Bob: hi\r\n", MissingHeader("not-a-field", "Dear Bob: hi")),  # a blank
        (b"\r\nFrom: a@example.org\r\n\r\n", MissingHeader("empty-line", "")),
        (b"\n\n\n", MissingHeader("empty-line", "")),
        (b"  From: a\r\n\r\n", MissingHeader("continuation", "  From: a")),
        (b"\tx: y\r\n", MissingHeader("continuation", " x: y")),  # a tab shown as a space
        (b"<!DOCTYPE html>\n<p>x</p>", MissingHeader("html", "<!DOCTYPE html>")),
        (b"<HTML lang=en>\r\n", MissingHeader("html", "<HTML lang=en>")),
        (b"%PDF-1.7\n%\xe2\xe3\n", MissingHeader("not-a-field", "%PDF-1.7")),
        (b"caf\xc3\xa9: x\r\n", MissingHeader("not-a-field", "café: x")),  # not US-ASCII
        (b"a\x00b\r\n", MissingHeader("not-a-field", "a\ufffdb")),
        (b"From a@b Sat\r\n\r\nbody\r\n", MissingHeader("empty-line", "")),  # mbox line only
    ],
)
def test_missing_header(raw: bytes, expected: MissingHeader | None) -> None:
    assert missing_header(raw) == expected


def test_the_first_line_is_quoted_up_to_60_characters() -> None:
    at_limit = missing_header(b"x" * 59 + b" \r\n")
    past = missing_header(b"x" * 60 + b" \r\n")
    assert at_limit is not None and at_limit.first_line == "x" * 59 + " "
    assert past is not None and past.first_line == "x" * 60 + "…"


def test_more_lines_than_the_engine_parses_are_judged_by_the_first_line() -> None:
    # Past limits.MAX_HEADER_FIELDS the engine parses no field (the analysis reports the
    # limit): a message starting with a field is left to it, a long log file is refused.
    lines = limits.MAX_HEADER_FIELDS + 1
    assert missing_header(b"X-Field: y\r\n" * lines + b"\r\nbody") is None
    assert missing_header(b"log line\r\n" * lines) == MissingHeader("not-a-field", "log line")
    assert missing_header(b"log line\r\n" * (lines - 1)) == MissingHeader("not-a-field", "log line")


def test_a_head_over_the_size_limit_is_judged_by_the_first_line() -> None:
    # One line longer than SUBMISSION_HEAD_BYTES (no line end in the head read).
    assert missing_header(b"y" * (limits.SUBMISSION_HEAD_BYTES + 10)) == MissingHeader(
        "not-a-field", "y" * 60 + "…"
    )
    assert missing_header(b"X: " + b"y" * (limits.SUBMISSION_HEAD_BYTES + 10)) is None


def test_only_the_head_is_read() -> None:
    # A header field starting past SUBMISSION_HEAD_BYTES is never seen.
    late_from = b"\r\n" + b"x" * limits.SUBMISSION_HEAD_BYTES + b"\r\nFrom: a\r\n"
    assert missing_header(b"text" + late_from) is not None


def test_the_explanation_says_what_was_checked_found_and_to_do() -> None:
    found = missing_header(b"Hi Bob,\r\n\r\nsee you")
    assert found is not None
    assert found.explanation == (
        "An e-mail message starts with header fields, one per line, each a name, a colon and "
        "a value (From: …, Subject: …, Received: …), then an empty line, then the body; every "
        'message has a From: field. Its first line, "Hi Bob,", is not a header field, and no '
        "From: field comes before the first empty line. Upload the message's source instead: "
        'in Gmail, "Show original" in the message\'s ⋮ menu, then "Download original"; in '
        'Outlook on the web, the … menu, View, "View message source"; in Thunderbird, File, '
        'Save As, File (an .eml file); in Apple Mail, View, Message, "Raw Source".'
    )


# -- summary fields ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "from_text", "subject"),
    [
        (b"From: a@example.org\r\nSubject: Hello\r\n\r\n", "a@example.org", "Hello"),
        (b"Subject: no from\r\n\r\n", "", "no from"),
        (b"X: y\r\n\r\n", "", ""),
        (b"Hi Bob,\r\n\r\n", "", ""),
        (
            b"From: =?utf-8?q?Alice_M=C3=BCller?= <a@x.example>\r\n"
            b"Subject: =?utf-8?b?Q2Fmw6k=?= ok\r\n\r\n",
            "Alice Müller <a@x.example>",
            "Café ok",
        ),
        (b"Subject: folded\r\n  over\r\n\tthree lines\r\n\r\n", "", "folded over three lines"),
        (b"Subject: caf\xc3\xa9 in UTF-8\r\n\r\n", "", "café in UTF-8"),  # RFC 6532
        (b"Subject: caf\xe9\r\n\r\n", "", "caf\ufffd"),  # not UTF-8: replaced
        (b"Subject: =?x-unknown?q?abc?=\r\n\r\n", "", "=?x-unknown?q?abc?="),  # left as written
        (b"Subject: =?utf-8?q?=FF?=\r\n\r\n", "", "=?utf-8?q?=FF?="),  # undecodable: as written
        (b"Subject: =?utf-8?q?a=E2=80=AEb=00c?=\r\n\r\n", "", "abc"),  # bidi override, NUL
        (b"Subject: a\xe2\x80\xaeb\x07c\r\n\r\n", "", "abc"),  # the same in UTF-8
        (b"Subject: first\r\nSubject: second\r\n\r\n", "", "first"),
        (b"\xef\xbb\xbfSubject: after a BOM\r\n\r\n", "", "after a BOM"),
        (b"Subject:\r\n\r\n", "", ""),
    ],
)
def test_summary_fields(raw: bytes, from_text: str, subject: str) -> None:
    assert summary_fields(raw) == SummaryFields(from_text, subject)


def test_a_long_subject_is_cut_at_the_limit() -> None:
    limit = limits.MAX_SUMMARY_FIELD_CHARS
    at = summary_fields(b"Subject: " + b"s" * limit + b"\r\n\r\n").subject
    past = summary_fields(b"Subject: " + b"s" * (limit + 1) + b"\r\n\r\n").subject
    assert at == "s" * limit
    assert past == "s" * (limit - 1) + "…" and len(past) == limit


def test_a_huge_encoded_subject_is_cut_before_decoding() -> None:
    # 100,000 encoded words: only MAX_SUMMARY_FIELD_SOURCE_CHARS characters reach the decoder.
    word = b"=?utf-8?q?x?= "
    raw = b"Subject: " + word * 100_000 + b"\r\n\r\n"
    subject = summary_fields(raw).subject
    assert len(subject) == limits.MAX_SUMMARY_FIELD_CHARS and subject.endswith("…")
    assert set(subject[:-1]) == {"x"}


def test_the_source_limit_is_a_cut_at_the_limit_and_one_past() -> None:
    n = limits.MAX_SUMMARY_FIELD_SOURCE_CHARS
    # A 'y' just inside the source limit survives (after blanks collapse); one past it does not.
    inside = b"Subject: " + b" " * (n - 2) + b"y\r\n\r\n"  # the value is " " * (n-1) + "y"
    outside = b"Subject: " + b" " * (n - 1) + b"y\r\n\r\n"
    assert summary_fields(inside).subject == "y"
    assert summary_fields(outside).subject == ""
