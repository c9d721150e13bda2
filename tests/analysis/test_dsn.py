"""Reading bounces (analysis.dsn; RFC 3464, RFC 6522, RFC 6533): the shapes real MTAs send,
the broken ones, and the bounds.

The bounces are written here, in the shapes Postfix, Exim, Gmail and Microsoft 365 send
(their structure and field order; the hosts and addresses are example ones).
"""

from __future__ import annotations

from analysis import dsn, limits
from analysis.message_report import analyze_message
from analysis.resolvers import StaticResolver

CRLF = b"\r\n"

ORIGINAL = (
    b"From: Alice <alice@example.org>\r\n"
    b"To: nobody@example.net\r\n"
    b"Subject: Lunch on Friday?\r\n"
    b"Date: Tue, 03 Dec 2024 10:15:00 +0100\r\n"
    b"Message-ID: <lunch.1@example.org>\r\n"
    b"\r\n"
    b"Shall we meet at noon?\r\n"
)


def multipart(head: bytes, boundary: bytes, parts: list[bytes], preamble: bytes = b"") -> bytes:
    body = preamble
    for part in parts:
        body += b"--" + boundary + CRLF + part + CRLF
    return head + CRLF + body + b"--" + boundary + b"--" + CRLF


def postfix(
    returned: bytes = ORIGINAL,
    *,
    status_block: bytes | None = None,
    boundary: bytes = b"4A1B2C3D.1733217302/mail.example.org",
) -> bytes:
    head = (
        b"Return-Path: <>\r\n"
        b"Date: Tue,  3 Dec 2024 10:15:02 +0100 (CET)\r\n"
        b"From: MAILER-DAEMON@mail.example.org (Mail Delivery System)\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\n"
        b"To: alice@example.org\r\n"
        b"Auto-Submitted: auto-replied\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status;\r\n"
        b'\tboundary="' + boundary + b'"\r\n'
        b"Content-Transfer-Encoding: 8bit\r\n"
        b"Message-Id: <20241203091502.5E1F3C0042@mail.example.org>\r\n"
    )
    notification = (
        b"Content-Description: Notification\r\n"
        b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        b"This is the mail system at host mail.example.org.\r\n\r\n"
        b"I'm sorry to have to inform you that your message could not\r\n"
        b"be delivered to one or more recipients.\r\n"
    )
    if status_block is None:
        status_block = (
            b"Final-Recipient: rfc822; nobody@example.net\r\n"
            b"Original-Recipient: rfc822;nobody@example.net\r\n"
            b"Action: failed\r\n"
            b"Status: 5.1.1\r\n"
            b"Remote-MTA: dns; mx.example.net\r\n"
            b"Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.net>: Recipient address\r\n"
            b"    rejected: User unknown in virtual mailbox table\r\n"
        )
    report = (
        b"Content-Description: Delivery report\r\n"
        b"Content-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mail.example.org\r\n"
        b"X-Postfix-Queue-ID: 4A1B2C3D\r\n"
        b"X-Postfix-Sender: rfc822; alice@example.org\r\n"
        b"Arrival-Date: Tue,  3 Dec 2024 10:15:01 +0100 (CET)\r\n\r\n" + status_block
    )
    undelivered = (
        b"Content-Description: Undelivered Message\r\n"
        b"Content-Type: message/rfc822\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + returned
    )
    return multipart(
        head,
        boundary,
        [notification, report, undelivered],
        b"This is a MIME-encapsulated message.\r\n\r\n",
    )


def exim() -> bytes:
    boundary = b"1733217302-eximdsn-1804289383"
    head = (
        b"From: Mail Delivery System <Mailer-Daemon@mx.example.com>\r\n"
        b"To: bob@example.com\r\n"
        b"Subject: Mail delivery failed: returning message to sender\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary="
        + boundary
        + b"\r\nMIME-Version: 1.0\r\nAuto-Submitted: auto-replied\r\n"
    )
    human = (
        b"Content-type: text/plain; charset=us-ascii\r\n\r\n"
        b"This message was created automatically by mail delivery software.\r\n\r\n"
        b"A message that you sent could not be delivered to one or more of its\r\n"
        b"recipients. This is a permanent error. The following address(es) failed:\r\n\r\n"
        b"  carol@example.net\r\n"
        b"    host mx.example.net [198.51.100.7]\r\n"
        b"    SMTP error from remote mail server after RCPT TO:<carol@example.net>:\r\n"
        b"    552 5.2.2 Mailbox full\r\n"
    )
    status = (
        b"Content-type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example.com\r\n\r\n"
        b"Action: failed\r\n"
        b"Final-Recipient: rfc822;carol@example.net\r\n"
        b"Status: 5.0.0\r\n"
        b"Remote-MTA: dns; mx.example.net\r\n"
        b"Diagnostic-Code: smtp; 552 5.2.2 Mailbox full\r\n"
    )
    headers = (
        b"Content-type: text/rfc822-headers\r\n\r\n"
        b"From: Bob <bob@example.com>\r\nTo: carol@example.net\r\nSubject: Photos\r\n"
    )
    return multipart(head, boundary, [human, status, headers])


def gmail() -> bytes:
    outer, related, alternative = b"000000000000a1b2c3", b"000000000000d4e5f6", b"0000000000aabbcc"
    head = (
        b"From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\r\n"
        b"To: alice@example.org\r\n"
        b"Auto-Submitted: auto-replied\r\n"
        b"Subject: Delivery Status Notification (Failure)\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; boundary="'
        + outer
        + b'"; report-type=delivery-status\r\n'
    )
    texts = multipart(
        b'Content-Type: multipart/alternative; boundary="' + alternative + b'"\r\n',
        alternative,
        [
            b'Content-Type: text/plain; charset="UTF-8"\r\n\r\n'
            b"** Message blocked **\r\n\r\n"
            b"Your message to dave@example.com has been blocked.\r\n",
            b'Content-Type: text/html; charset="UTF-8"\r\n\r\n<html><p>blocked</p></html>\r\n',
        ],
    )
    human = multipart(
        b'Content-Type: multipart/related; boundary="' + related + b'"\r\n',
        related,
        [texts, b'Content-Type: image/png; name="icon.png"\r\n\r\niVBORw0KGgo=\r\n'],
    )
    status = (
        b"Content-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; googlemail.com\r\n"
        b"Received-From-MTA: dns; alice@example.org\r\n"
        b"Arrival-Date: Tue, 03 Dec 2024 01:15:01 -0800 (PST)\r\n\r\n"
        b"Final-Recipient: rfc822; dave@example.com\r\n"
        b"Action: failed\r\n"
        b"Status: 5.7.26\r\n"
        b"Remote-MTA: dns; gmail-smtp-in.l.google.com. (142.250.0.27, the server for the\r\n"
        b" domain example.com.)\r\n"
        b"Diagnostic-Code: smtp; 550-5.7.26 Unauthenticated email from example.org is not\r\n"
        b" accepted due to domain's DMARC policy.\r\n"
        b"Last-Attempt-Date: Tue, 03 Dec 2024 01:15:02 -0800 (PST)\r\n"
    )
    returned = b"Content-Type: message/rfc822\r\n\r\n" + ORIGINAL
    return multipart(head, outer, [human, status, returned])


def microsoft() -> bytes:
    outer, alternative = b"_000_DSN_abc_", b"_001_DSN_abc_"
    head = (
        b"From: Microsoft Outlook <MAILER-DAEMON@example.onmicrosoft.com>\r\n"
        b"To: <alice@example.org>\r\n"
        b"Subject: Undeliverable: Lunch on Friday?\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status;\r\n"
        b'\tboundary="' + outer + b'"\r\n'
        b"MIME-Version: 1.0\r\n"
    )
    human = multipart(
        b"Content-Type: multipart/alternative; differences=Content-Type;\r\n"
        b'\tboundary="' + alternative + b'"\r\n',
        alternative,
        [
            b'Content-Type: text/plain; charset="us-ascii"\r\n'
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            b"Your message to erin@example.net couldn't be delivered.=0D=0A\r\n",
            b'Content-Type: text/html; charset="us-ascii"\r\n\r\n<html>x</html>\r\n',
        ],
    )
    status = (
        b"Content-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.outlook.com\r\n"
        b"Received-From-MTA: dns;AM0PR01MB5678.eurprd01.prod.outlook.com\r\n"
        b"Arrival-Date: Tue, 3 Dec 2024 09:15:01 +0000\r\n\r\n"
        b"Original-Recipient: rfc822;Erin.Example@example.net\r\n"
        b"Final-Recipient: rfc822;erin@example.net\r\n"
        b"Action: failed\r\n"
        b"Status: 5.7.509\r\n"
        b"Remote-MTA: dns;mx.example.net\r\n"
        b"Diagnostic-Code: smtp;550 5.7.509 Access denied, sending domain example.org does\r\n"
        b" not pass DMARC verification and has a DMARC policy of reject.\r\n"
        b"X-Display-Name: Erin\r\n"
    )
    returned = b"Content-Type: message/rfc822\r\n\r\n" + ORIGINAL
    return multipart(head, outer, [human, status, returned])


def recipient(d: dsn.Dsn, n: int = 0) -> dict:
    return d.recipients[n].to_json()


# -- the shapes MTAs send -------------------------------------------------------------------


def test_a_postfix_bounce_names_the_recipient_the_status_and_returns_the_message() -> None:
    d = dsn.read(postfix())
    assert d is not None
    assert d.summary == (
        "Not delivered to nobody@example.net: the mailbox does not exist (the part of the "
        "address before the @ is wrong) — 5.1.1 Bad destination mailbox address."
    )
    assert d.reporting_mta == "mail.example.org"
    assert d.per_message["arrival-date"] == "Tue, 3 Dec 2024 10:15:01 +0100 (CET)"
    r = recipient(d)
    assert (r["address"], r["action"], r["remote_mta"]) == (
        "nobody@example.net",
        "failed",
        "mx.example.net",
    )
    assert r["diagnostic_type"] == "smtp"
    assert r["diagnostic_code"] == (
        "550 5.1.1 <nobody@example.net>: Recipient address rejected: User unknown in "
        "virtual mailbox table"
    )
    assert r["diagnostic_status"] is None  # the reply's code is the Status
    assert r["status"]["who"] == "the sender: check the address and send again"
    assert r["who"] == "the sender: check the address and send again"
    assert r["problems"] == []
    assert d.human.startswith("This is the mail system at host mail.example.org.")
    # The returned message, byte for byte, and where it was.
    assert d.returned is not None and d.returned.raw == ORIGINAL
    assert d.returned.to_json() == {
        "kind": "message",
        "part": "3",
        "content_type": "message/rfc822",
        "encoding": "",
        "size": len(ORIGINAL),
        "sha256": d.returned.sha256,
        "subject": "Lunch on Friday?",
        "is_bounce": False,
    }
    assert d.notes == []


def test_an_exim_bounce_explains_the_remote_code_behind_its_generic_status() -> None:
    d = dsn.read(exim())
    assert d is not None
    r = recipient(d)
    assert r["status"]["code"] == "5.0.0"
    assert r["status"]["headline"] == (
        "Permanent failure: the server knew only whether it worked, not why"
    )
    assert r["diagnostic_status"]["code"] == "5.2.2"
    assert r["diagnostic_status"]["title"] == "Mailbox full"
    assert r["diagnostic_status"]["who"] == "the recipient, who must delete mail to make room"
    # The generic Status says nothing of who can act; the reply's code does.
    assert r["who"] == "the recipient, who must delete mail to make room"
    # Only the header block came back: nothing to analyse on its own.
    assert d.returned is not None and d.returned.kind == "headers"
    assert d.returned.content_type == "text/rfc822-headers"
    assert dsn.returned_messages(exim()) == []


def test_a_gmail_bounce_reads_its_human_part_from_nested_alternatives() -> None:
    d = dsn.read(gmail())
    assert d is not None
    assert d.human == (
        "** Message blocked **\r\n\r\nYour message to dave@example.com has been blocked."
    )
    r = recipient(d)
    assert r["status"]["title"] == "Multiple authentication checks failed"
    assert r["status"]["source"] == "RFC 7372 §4"
    assert r["remote_mta"] == (
        "gmail-smtp-in.l.google.com. (142.250.0.27, the server for the domain example.com.)"
    )
    assert r["last_attempt_date"] == "Tue, 03 Dec 2024 01:15:02 -0800 (PST)"
    assert d.summary == (
        "Not delivered to dave@example.com: more than one authentication check failed (for "
        "example SPF and DKIM, so DMARC too); the receiver does not say which — 5.7.26 "
        "Multiple authentication checks failed."
    )


def test_a_microsoft_bounce_with_a_private_detail_code_is_explained_by_class_and_subject() -> None:
    d = dsn.read(microsoft())
    assert d is not None
    r = recipient(d)
    assert r["original_recipient"] == "Erin.Example@example.net"
    assert r["status"] == {
        "code": "5.7.509",
        "valid": True,
        "class": "Permanent failure",
        "class_text": (
            "sending the same message again will fail the same way: something must change "
            "first (the address, the message, or the settings of a sending or receiving system)"
        ),
        "subject": "Security or policy",
        "subject_text": "filtering, authentication and encryption policies",
        "title": "",
        "text": "",
        "registered": False,
        "who": (
            "the sender or the recipient, depending on whose policy refused it: read the "
            "server's reply; the detail 509 is this server's own, so its reply says more"
        ),
        "source": "RFC 3463 §3",
        "problem": "",
        "headline": "Permanent failure: a problem with filtering, authentication and "
        "encryption policies",
    }
    assert r["extra"] == {"x-display-name": "Erin"}
    assert d.human == "Your message to erin@example.net couldn't be delivered."
    assert d.reporting_mta == "AM0PR01MB1234.eurprd01.prod.outlook.com"


def test_a_global_bounce_reads_utf8_addresses() -> None:
    raw = postfix(
        status_block=(
            "Final-Recipient: utf-8; jörg@bücher.example\r\n"
            "Action: delayed\r\nStatus: 4.4.1\r\n"
            "Will-Retry-Until: Fri, 6 Dec 2024 10:15:01 +0100\r\n"
        ).encode()
    ).replace(b"message/delivery-status", b"message/global-delivery-status")
    raw = raw.replace(b"report-type=delivery-status", b"report-type=global-delivery-status")
    d = dsn.read(raw)
    assert d is not None and d.report_type == "global-delivery-status"
    r = recipient(d)
    assert (r["address"], r["action"], r["will_retry_until"]) == (
        "jörg@bücher.example",
        "delayed",
        "Fri, 6 Dec 2024 10:15:01 +0100",
    )
    assert d.summary == (
        "Delayed for jörg@bücher.example: the receiving server did not answer the "
        "connection — 4.4.1 No answer from host."
    )


def test_several_recipients_are_summed_up_by_what_happened() -> None:
    block = (
        b"Final-Recipient: rfc822; a@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        b"Final-Recipient: rfc822; b@example.net\r\nAction: failed\r\nStatus: 5.2.1\r\n\r\n"
        b"Final-Recipient: rfc822; c@example.net\r\nAction: delivered\r\nStatus: 2.0.0\r\n"
    )
    d = dsn.read(postfix(status_block=block))
    assert d is not None
    assert d.summary == "Not delivered to 2 recipients, delivered to 1 recipient."


# -- not bounces ------------------------------------------------------------------------------


def test_other_reports_and_plain_messages_are_not_bounces() -> None:
    assert dsn.read(ORIGINAL) is None
    receipt = postfix().replace(
        b"report-type=delivery-status", b"report-type=disposition-notification"
    )
    assert dsn.read(receipt) is None
    assert dsn.read_if_report(postfix(), "text/plain") is None
    assert (
        dsn.read_if_report(postfix(), "Multipart/Report; report-type=delivery-status") is not None
    )


def test_a_report_without_report_type_is_a_bounce_when_it_has_a_status_part() -> None:
    raw = postfix().replace(b"report-type=delivery-status;", b"")
    d = dsn.read(raw)
    assert d is not None and d.report_type == "delivery-status"
    assert recipient(d)["status"]["code"] == "5.1.1"


# -- broken bounces ---------------------------------------------------------------------------


def test_a_recipient_without_status_says_so() -> None:
    d = dsn.read(
        postfix(status_block=b"Final-Recipient: rfc822; x@example.net\r\nAction: failed\r\n")
    )
    assert d is not None
    r = recipient(d)
    assert r["status"] is None
    assert r["problems"] == ["no Status field (RFC 3464 §2.3.4 requires it)"]
    assert d.summary == "Not delivered to x@example.net."


def test_codes_that_are_not_enhanced_status_codes_are_named_as_such() -> None:
    for written, problem in [
        ("550", "'550' is not an enhanced status code"),
        ("6.1.1", "'6.1.1' is not an enhanced status code"),
        ("5.1", "'5.1' is not an enhanced status code"),
        ("5.1.1234", "'5.1.1234' is not an enhanced status code"),
    ]:
        block = f"Final-Recipient: rfc822; x@example.net\r\nAction: failed\r\nStatus: {written}\r\n"
        d = dsn.read(postfix(status_block=block.encode()))
        assert d is not None
        r = recipient(d)
        assert r["status"]["valid"] is False
        assert r["problems"] == [
            f"{problem}: RFC 3463 §2 writes one as class.subject.detail, the class 2, 4 or 5"
        ]


def test_a_status_with_a_comment_or_leading_zeros_is_read_and_noted() -> None:
    block = (
        b"Final-Recipient: rfc822; x@example.net\r\nAction: failed\r\n"
        b"Status: 5.01.001 (no such user)\r\n"
    )
    d = dsn.read(postfix(status_block=block))
    r = recipient(d)
    assert r["status"]["code"] == "5.1.1"
    assert r["problems"] == [
        "Status '5.01.001 (no such user)' is written with leading zeros; read as 5.1.1"
    ]


def test_missing_fields_and_unknown_actions_are_problems_not_errors() -> None:
    d = dsn.read(postfix(status_block=b"Action: bounced\r\nStatus: 5.0.0\r\n"))
    r = recipient(d)
    assert r["problems"] == [
        "no Final-Recipient field (RFC 3464 §2.3.2 requires it)",
        "Action 'bounced' is not one of failed, delayed, delivered, relayed, expanded "
        "(RFC 3464 §2.3.3)",
    ]
    assert d.summary == (
        "A report without a known Action for an unnamed recipient: the server knew only "
        "whether it worked, not why — 5.0.0 Other undefined status."
    )


def test_a_bounce_without_a_status_part_or_returned_message_is_read_as_far_as_it_goes() -> None:
    head = (
        b"From: MAILER-DAEMON@x.example\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n"
    )
    raw = multipart(head, b"b", [b"Content-Type: text/plain\r\n\r\nIt failed.\r\n"])
    d = dsn.read(raw)
    assert d is not None
    assert [n.code for n in d.notes] == ["dsn.no-status-part", "dsn.nothing-returned"]
    assert d.summary == "A bounce that names no recipient: what happened cannot be told from it."
    assert d.human == "It failed."


def test_ten_thousand_recipients_are_counted_and_the_first_hundred_listed() -> None:
    block = b"\r\n".join(
        b"Final-Recipient: rfc822; user%d@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n" % i
        for i in range(10_000)
    )
    d = dsn.read(postfix(status_block=block))
    assert d is not None
    assert d.recipients_total == 10_000
    assert len(d.recipients) == limits.MAX_DSN_RECIPIENTS == 100
    assert d.recipients[-1].address == "user99@example.net"
    assert [n.text for n in d.notes] == [
        "the bounce names 10,000 recipients; the first 100 are listed (a report lists at most 100)"
    ]
    assert d.summary == "Not delivered to 100 recipients (9900 more recipients not listed)."


def test_the_recipient_limit_at_and_one_past_it() -> None:
    def bounce_of(n: int) -> dsn.Dsn:
        block = b"\r\n".join(
            b"Final-Recipient: rfc822; u%d@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n" % i
            for i in range(n)
        )
        d = dsn.read(postfix(status_block=block))
        assert d is not None
        return d

    at = bounce_of(limits.MAX_DSN_RECIPIENTS)
    assert (len(at.recipients), at.recipients_total, at.notes) == (100, 100, [])
    past = bounce_of(limits.MAX_DSN_RECIPIENTS + 1)
    assert (len(past.recipients), past.recipients_total) == (100, 101)
    assert [n.code for n in past.notes] == ["dsn.recipients-cut"]


def test_long_values_and_many_fields_are_cut_and_counted() -> None:
    long_reply = "550 " + "x" * 3000
    extra = "".join(f"X-Field-{i}: {i}\r\n" for i in range(60))
    block = (
        "Final-Recipient: rfc822; x@example.net\r\nAction: failed\r\nStatus: 5.0.0\r\n"
        f"Diagnostic-Code: smtp; {long_reply}\r\n{extra}"
    )
    d = dsn.read(postfix(status_block=block.encode()))
    r = d.recipients[0]
    assert r.get("diagnostic-code") == "smtp; 550 " + "x" * (limits.MAX_DSN_FIELD_CHARS - 10) + (
        "… (2,010 characters cut)"
    )
    assert len(r.fields) == limits.MAX_DSN_FIELDS_PER_BLOCK
    assert [n.text for n in d.notes] == ["recipient block 1 has 24 more fields than the 40 kept"]


def test_a_value_at_the_field_limit_and_a_block_at_the_field_count_are_kept_whole() -> None:
    reply = "550 " + "y" * (limits.MAX_DSN_FIELD_CHARS - len("smtp; 550 "))
    extra = "".join(f"X-Field-{i}: {i}\r\n" for i in range(limits.MAX_DSN_FIELDS_PER_BLOCK - 4))
    block = (
        "Final-Recipient: rfc822; x@example.net\r\nAction: failed\r\nStatus: 5.0.0\r\n"
        f"Diagnostic-Code: smtp; {reply}\r\n{extra}"
    )
    d = dsn.read(postfix(status_block=block.encode()))
    r = d.recipients[0]
    assert r.get("diagnostic-code") == f"smtp; {reply}"
    assert len(r.get("diagnostic-code")) == limits.MAX_DSN_FIELD_CHARS
    assert len(r.fields) == limits.MAX_DSN_FIELDS_PER_BLOCK
    assert d.notes == []


def test_the_human_part_is_kept_up_to_its_limit() -> None:
    words = "w" * (limits.MAX_DSN_HUMAN_CHARS + 500)
    raw = postfix().replace(b"This is the mail system at host mail.example.org.", words.encode())
    d = dsn.read(raw)
    assert d.human == words[: limits.MAX_DSN_HUMAN_CHARS]


def test_a_status_part_past_its_byte_budget_is_read_up_to_it() -> None:
    filler = b"X-Filler: " + b"y" * 990 + b"\r\n"
    block = b"Final-Recipient: rfc822; x@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
    block += filler * (limits.MAX_DSN_STATUS_BYTES // len(filler) + 10)
    d = dsn.read(postfix(status_block=block))
    assert d is not None
    assert d.notes[0].code == "dsn.status-cut"
    assert recipient(d)["status"]["code"] == "5.1.1"


def nested(levels: int) -> bytes:
    """A bounce of a bounce of ... of ORIGINAL, ``levels`` deep."""
    raw = ORIGINAL
    for level in range(levels):
        raw = postfix(returned=raw, boundary=b"level-%d/mail.example.org" % level)
    return raw


def test_a_bounce_inside_a_bounce_is_returned_and_followed_at_most_the_nesting_limit() -> None:
    two = nested(2)
    d = dsn.read(two)
    assert d is not None and d.returned is not None
    assert d.returned.to_json()["is_bounce"] is True
    chain = dsn.returned_messages(two)
    assert [r.subject for r in chain] == ["Undelivered Mail Returned to Sender", "Lunch on Friday?"]
    assert chain[-1].raw == ORIGINAL
    deep = dsn.returned_messages(nested(50))
    assert len(deep) == limits.MAX_DSN_NESTING == 3
    assert [r.subject for r in deep] == ["Undelivered Mail Returned to Sender"] * 3
    assert len(dsn.returned_messages(nested(limits.MAX_DSN_NESTING))) == 3
    assert len(dsn.returned_messages(nested(limits.MAX_DSN_NESTING + 1))) == 3


def test_an_empty_returned_part_is_no_message_to_analyse() -> None:
    d = dsn.read(postfix(returned=b""))
    assert d is not None and d.returned is not None and d.returned.raw == b""
    assert dsn.returned_messages(postfix(returned=b"")) == []


def test_a_returned_message_in_base64_is_decoded_and_says_so() -> None:
    import base64

    raw = postfix().replace(
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + ORIGINAL,
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(ORIGINAL),
    )
    d = dsn.read(raw)
    assert d is not None and d.returned is not None
    assert (d.returned.raw, d.returned.encoding) == (ORIGINAL, "base64")


# -- in the whole-message report ----------------------------------------------------------------


def test_the_report_of_a_bounce_has_its_dsn_section_and_other_reports_have_none() -> None:
    report = analyze_message(postfix(), lookup=StaticResolver({}), now=0).to_json()
    assert report["dsn"]["summary"].startswith("Not delivered to nobody@example.net")
    assert report["dsn"]["recipients"][0]["status"]["code"] == "5.1.1"
    assert report["dsn"]["returned"]["subject"] == "Lunch on Friday?"
    plain = analyze_message(ORIGINAL, lookup=StaticResolver({}), now=0).to_json()
    assert plain["dsn"] is None
