"""What the mailbox intake stopped paying for keeps its answers (issue #13).

* The DATA check accepts data whose first line starts with a well-formed field name and its
  colon without parsing the header block (``input_check.smtp_refusal``); for any data its
  answer is the header rule's (``analysis.submission.missing_header``).
* MAIL's and RCPT's plain ``<local@host>`` is read by one regular expression: the address
  and the rest are aiosmtpd's (the email package's parser's) for any argument.
* The file name of a delivered message takes its Subject from a plain header block without
  the email package: for any message it is ``analysis.dsn.subject_of``'s.
* A text without a colon is not lowered and searched for an inline forward's signs: every
  marker without a run of dashes ends with a colon, and every copied header line has one.
* The idle timeout: progress moves its end, and the timer is set again only when it goes
  off before that end. A session is still closed the timeout after its last progress; a
  message's MAIL, RCPT and DATA leave the timer in place.

Derandomised; the sessions run on loopback.
"""

from __future__ import annotations

import smtplib
import socket
import time
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.dsn import subject_of
from analysis.submission import missing_header
from dkim2web.intake import inline, plan, services
from dkim2web.intake import server as intake_server
from dkim2web.intake.models import Delivery
from dkim2web.intake.server import IntakeSMTP
from dkim2web.intake.testing import attach, chain_to, message, running_intake
from dkim2web.reports import input_check

PROPERTY = settings(
    max_examples=500,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

CHAIN = chain_to("a-0123456789abcdef0123456789abcdef@intake.localhost", now=1_700_000_000)


# -- the DATA check ---------------------------------------------------------------------------

DATA_PIECES = st.sampled_from(
    [
        b"From ",
        b"From: alice@origin.example\r\n",
        b"Subject: x\r\n",
        b"X-Name",
        b"a b",
        b":",
        b" ",
        b"\t",
        b"\r\n",
        b"\n",
        b"\r",
        b"\xef\xbb\xbf",
        b"<html>",
        b"\xff",
        b"\x00",
        b"\x7f",
        b"x" * 5000,
        b"\r\n\r\n",
        b"body",
        b"From alice Mon Jan  1 00:00:00 2024\r\n",
    ]
)


def _rule(raw: bytes) -> str | None:
    return input_check.SMTP_NO_HEADER if missing_header(raw) is not None else None


@PROPERTY
@given(st.lists(DATA_PIECES, max_size=8).map(b"".join))
def test_the_data_check_answers_as_the_header_rule(raw: bytes) -> None:
    assert input_check.smtp_refusal(raw) == _rule(raw)


@pytest.mark.parametrize(
    "raw",
    [
        CHAIN,
        b"X-Long-" + b"n" * 5000 + b": value\r\n\r\nbody\r\n",  # the name past the quick look
        b"From alice Mon Jan  1 00:00:00 2024\r\nFrom: a@b.example\r\n\r\nbody\r\n",
        b"From alice Mon Jan  1 00:00:00 2024\r\nno field\r\n\r\nbody\r\n",
        b"From :like a field\r\nno field\r\n\r\nbody\r\n",  # an mbox line all the same
        b"From :like a field\r\nSubject: x\r\n\r\nbody\r\n",
        b"\xef\xbb\xbfSubject: x\r\n\r\nbody\r\n",
        b"\r\nSubject: x\r\n",
        b" continued: x\r\n",
        b"Just a paragraph of text.\r\n",
        b"<!DOCTYPE html>\r\n<html>",
        b"Subject : spaced\r\n\r\nbody\r\n",
        b"log line\r\n" * 6000,
        b"",
    ],
)
def test_the_data_check_answers_as_the_header_rule_on_these(raw: bytes) -> None:
    assert input_check.smtp_refusal(raw) == _rule(raw)


def test_mail_that_starts_with_a_field_is_not_parsed_by_the_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def parse(raw: bytes) -> None:
        raise AssertionError("the header block was parsed")

    monkeypatch.setattr(input_check, "missing_header", parse)
    assert input_check.smtp_refusal(CHAIN) is None
    assert input_check.smtp_refusal(b"X-A:\r\n") is None


def test_data_that_starts_otherwise_is_judged_by_the_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    judged: list[bytes] = []
    monkeypatch.setattr(input_check, "missing_header", lambda raw: judged.append(raw))
    mbox = b"From alice Mon Jan  1 00:00:00 2024\r\n" + CHAIN
    for raw in (mbox, b"\xef\xbb\xbf" + CHAIN, b"\r\n" + CHAIN, b"text\r\n"):
        assert input_check.smtp_refusal(raw) is None  # the stand-in finds nothing missing
    assert judged == [mbox, b"\xef\xbb\xbf" + CHAIN, b"\r\n" + CHAIN, b"text\r\n"]


# -- MAIL and RCPT addresses ------------------------------------------------------------------

ATEXT = "abcXYZ019!#$%&'*+/=?^_`{|}~-."
HOST = "abZ09-."
SUFFIXES = ["", " ", "  SIZE=100", "\tBODY=8BITMIME", " (comment) X", "(c)", ">", " >", "\x0b X"]
ADDRESS_PIECES = [
    "<", ">", "@", ".", "bob", "forwarder", " ", "\t", "(c)", "(", ")", '"q l"', "=?", "?=",
    "=?utf-8?q?b=C3=B8b?=", "[192.0.2.1]", "ø", "-", "'", "{|}~", " SIZE=10", "\\", ",", ":",
    "@relay.example:", "x" * 70, "\r",
]  # fmt: skip


def _theirs(arg: str, limit: int) -> tuple[str | None, str | None] | str:
    smtp = SMTP.__new__(SMTP)
    smtp.local_part_limit = limit
    try:
        return SMTP._getaddr(smtp, arg)
    except Exception as exc:  # the email package's parser fails on a few ("<"): alike
        return type(exc).__name__


def _ours(arg: str, limit: int) -> tuple[str | None, str | None] | str:
    smtp = IntakeSMTP.__new__(IntakeSMTP)
    smtp.local_part_limit = limit
    try:
        return smtp._getaddr(arg)
    except Exception as exc:
        return type(exc).__name__


#: Local parts the email package's parser decodes as RFC 2047 encoded words.
ENCODED = ["=?utf-8?q?bob?=", "=?utf-8?q?b=C3=B8b?=", "=?us-ascii?q?bob?=.x", "=?x?b?Ym9i?="]


@PROPERTY
@given(
    local=st.one_of(st.text(ATEXT, min_size=1, max_size=10), st.sampled_from(ENCODED)),
    encoded=st.booleans(),
    host=st.text(HOST, min_size=1, max_size=10),
    suffix=st.lists(st.sampled_from(SUFFIXES), max_size=2).map("".join),
    limit=st.sampled_from([0, 3, 64]),
)
def test_plain_looking_paths_are_read_as_aiosmtpd_reads_them(
    local: str, encoded: bool, host: str, suffix: str, limit: int
) -> None:
    arg = f"<{'=?' if encoded else ''}{local}@{host}>{suffix}"
    assert _ours(arg, limit) == _theirs(arg, limit)


@PROPERTY
@given(
    arg=st.lists(st.sampled_from(ADDRESS_PIECES), max_size=10).map("".join),
    limit=st.sampled_from([0, 64]),
)
def test_any_argument_is_read_as_aiosmtpd_reads_it(arg: str, limit: int) -> None:
    assert _ours(arg, limit) == _theirs(arg, limit)


@pytest.mark.parametrize("local", ENCODED)
def test_an_encoded_word_is_decoded_as_the_parser_decodes_it(local: str) -> None:
    arg = f"<{local}@x.example> SIZE=10"
    assert _ours(arg, 0) == _theirs(arg, 0) != (f"{local}@x.example", "SIZE=10")


def test_a_plain_path_does_not_go_through_the_email_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def parse(value: str) -> None:
        raise AssertionError("the email package parsed it")

    monkeypatch.setattr(intake_server, "get_angle_addr", parse)
    assert _ours("<bob.smith+tag@forwarder.example> SIZE=1000", 64) == (
        "bob.smith+tag@forwarder.example",
        "SIZE=1000",
    )
    # A comment after it is the parser's to read.
    assert _ours("<bob@forwarder.example> (comment)", 64) == "AssertionError"


# -- the Subject in the file name -------------------------------------------------------------

HEAD_PIECES = st.sampled_from(
    [
        b"Subject:",
        b"subject:",
        b"SUBJECT:",
        b"Subject :",
        b"X-Subject:",
        b"From: a@b.example",
        b"From x",
        b" ",
        b"\t",
        b"\r\n",
        b"\n",
        b"\r",
        b"Load 5",
        b"=?utf-8?q?caf=C3=A9?=",
        b"=?bad?x?y?=",
        b"=?utf-8?b?Y2Fmw6k=?=",
        b":",
        b"\xc3\xa9",
        b"\xff",
        b"\x0b",
        b"\x1c",
        b"\r\n\r\n",
        b"\r\n ",
        b"\r\n\t",
        b"body",
    ]
)
FIELD = st.tuples(
    st.sampled_from([b"Subject", b"subject", b"SUBJECT", b"Subjects", b"To", b"DKIM2-Signature"]),
    st.sampled_from(
        [b"", b" ", b"  Load 5 ", b"\t=?utf-8?q?caf=C3=A9?= x", b" =?bad?q?x?=", b" x" * 150]
    ),
    st.lists(st.sampled_from([b" more", b"\tmore", b" ", b" =?utf-8?q?z?="]), max_size=2),
).map(lambda f: f[0] + b":" + f[1] + b"\r\n" + b"".join(c + b"\r\n" for c in f[2]))


@PROPERTY
@given(st.lists(HEAD_PIECES, max_size=12).map(b"".join))
def test_the_file_names_subject_is_subject_ofs(raw: bytes) -> None:
    assert plan.message_subject(raw) == subject_of(raw)
    assert plan.message_subject(b"X-Top: v\r\n" + raw) == subject_of(b"X-Top: v\r\n" + raw)


@PROPERTY
@given(
    st.lists(FIELD, max_size=6).map(b"".join),
    st.sampled_from([b"\r\n", b"", b"\r\nbody\r\n", b"\n"]),
)
def test_the_subject_of_plain_header_blocks_is_subject_ofs(head: bytes, end: bytes) -> None:
    assert plan.message_subject(head + end) == subject_of(head + end)


@pytest.mark.parametrize(
    "raw",
    [
        CHAIN,
        chain_to("me@intake.localhost", subject="=?utf-8?q?caf=C3=A9?= au lait"),
        attach([CHAIN], to="me@intake.localhost"),
        message(sender="a@b.example", to="c@d.example", subject="Ünïcode", body="x\r\n"),
        b"Subject: " + b"long " * 20000 + b"\r\n\r\nbody",  # no end within 64 KB
    ],
)
def test_the_subject_of_these_messages_is_subject_ofs(raw: bytes) -> None:
    assert plan.message_subject(raw) == subject_of(raw)


def test_a_plain_header_block_is_not_read_by_the_email_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = subject_of(CHAIN)
    monkeypatch.setattr(plan, "subject_of", lambda raw: "read by the email package")
    assert plan.Item(plan.DIRECT, CHAIN).subject == expected == "[ops-talk] Relay certificates"
    assert plan.message_subject(b"Subject: x\n\nbody") == "read by the email package"


# -- inline forwards --------------------------------------------------------------------------

COLONLESS = (
    st.lists(
        st.sampled_from(
            ["-", "--", " ", "\n", "\r\n", ">", "*", "Forwarded", "forwarded", " message ",
             "Message", "Begin", "Original", "From", "Sent", "Subject", "x", "İ", "K"]
        ),
        max_size=30,
    )
    .map("".join)
    .filter(lambda text: "---" not in text)
)  # fmt: skip


@PROPERTY
@given(COLONLESS)
def test_without_a_colon_or_dashes_no_line_can_be_a_sign_of_a_forward(text: str) -> None:
    # The precondition of the quick test: no marker and no copied header line matches a
    # line of such a text, so the text cannot be an inline forward.
    for line in (inline._clean(x) for x in text.splitlines()):
        assert not any(pattern.fullmatch(line) for pattern, _ in inline._MARKERS)
        assert inline._HEADER_LINE.match(line) is None
    assert inline.find_in_text(text) is None


@pytest.mark.parametrize(
    ("text", "client"),
    [
        ("Hi,\n\nBegin forwarded message:\n\nFrom: A <a@x.example>\nSubject: S\n", "Apple Mail"),
        ("---------- Forwarded message ---------\nFrom: a\n", "Gmail"),
        ("-------- Forwarded Message --------\n", "Thunderbird"),
        ("Hi\nFrom: A\nSent: Monday\nTo: B\nSubject: S\n", "a mail client"),
        ("Forwarded message below\nthe text\n", None),
        ("Begin forwarded message\n", None),
    ],
)
def test_forwards_are_found_as_before(text: str, client: str | None) -> None:
    found = inline.find_in_text(text)
    assert (found.client if found else None) == client


# -- the idle timeout ------------------------------------------------------------------------


@pytest.fixture
def two_seconds(settings: Any) -> None:
    settings.DKIM2WEB_INTAKE_TIMEOUT_SECONDS = 2
    settings.DKIM2WEB_INTAKE_RATE_PER_MINUTE = 0


def _line(sock: socket.socket, reader: Any, command: bytes) -> bytes:
    sock.sendall(command + b"\r\n")
    line = reader.readline()
    while line[3:4] == b"-":
        line = reader.readline()
    return bytes(line)


@pytest.mark.django_db(transaction=True)
def test_a_session_is_closed_the_timeout_after_its_last_progress(two_seconds: None) -> None:
    with running_intake(inline_analysis=True) as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        reader = sock.makefile("rb")
        connected = time.monotonic()
        reader.readline()
        _line(sock, reader, b"EHLO client.example")
        time.sleep(1.2)
        assert _line(sock, reader, b"MAIL FROM:<alice@origin.example>") == b"250 2.1.0 OK\r\n"
        progress = time.monotonic()
        # The timer set at the connection goes off at 2 s; the session lives on to 3.2 s.
        assert reader.readline().startswith(b"421 4.4.2 intake.localhost No mail command")
        closed = time.monotonic()
        assert closed - connected > 2.9
        assert 1.8 < closed - progress < 3.0
        assert reader.readline() == b""
        reader.close()
        sock.close()


@pytest.mark.django_db(transaction=True)
def test_a_message_leaves_the_idle_timer_in_place(settings: Any, alice: Any) -> None:
    settings.DKIM2WEB_INTAKE_RATE_PER_MINUTE = 0
    address = services.intake_address_get_or_create(user=alice).address
    with (
        running_intake() as server,
        smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client,
    ):
        # Stored, not analysed: without a broker each analysis would run on another thread
        # while the next message is stored, which SQLite's shared in-memory test database
        # refuses ("table is locked"). The timer is what is tested here.
        server.handler.enqueue = False
        server.handler.after_store = None
        client.ehlo("client.example")
        [session] = server.handler.sessions
        timer = session._timeout_handle
        for _ in range(3):
            client.sendmail("alice@origin.example", [address], chain_to(address))
        assert session._timeout_handle is timer and not timer.cancelled()
        assert timer.when() < session._idle_deadline  # where the timeout now ends
    assert Delivery.objects.count() == 3
