"""Received fields as real MTAs write them: the client's HELO, reverse-DNS name and address,
the receiving host, the protocol, TLS and authentication, the date and the delay."""

from __future__ import annotations

import json
from typing import Any

import pytest

from analysis import limits
from analysis.message import HeaderField, parse_message
from analysis.received import (
    ReceivedHop,
    bounded_text,
    is_public_address,
    organisation,
    parse_address,
    read_hop,
    read_received,
)


def hop(value: str) -> ReceivedHop:
    return read_hop(HeaderField.build("Received", " " + value), 1, 0)


def message(*received: str, extra: str = "") -> bytes:
    fields = "".join(f"Received: {r}\r\n" for r in received)
    return (fields + extra + "Subject: x\r\n\r\nbody\r\n").encode("utf-8")


POSTFIX = (
    "from mail.example.com (mail.example.com [192.0.2.1])\r\n"
    "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\r\n"
    "\t key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256)\r\n"
    "\t(No client certificate requested)\r\n"
    "\tby mx.example.org (Postfix) with ESMTPS id 4Tq1Zx0abcz9sT\r\n"
    "\tfor <bob@example.org>; Mon,  4 Mar 2024 15:00:00 +0100 (CET)"
)
POSTFIX_SUBMISSION = (
    "from [192.168.1.20] (unknown [198.51.100.7])\r\n"
    "\t(Authenticated sender: alice@example.com)\r\n"
    "\tby smtp.example.com (Postfix) with ESMTPSA id 4TqABC\r\n"
    "\tfor <bob@example.org>; Mon,  4 Mar 2024 14:59:58 +0100 (CET)"
)
POSTFIX_IPV6 = (
    "from helo.example (unknown [IPv6:2001:db8::25]) by mx.example.org (Postfix) "
    "with ESMTP id 4TqDEF for <bob@example.org>; Mon, 4 Mar 2024 14:00:00 +0000"
)
EXIM = (
    "from mail.example.net ([192.0.2.44]:51234 helo=smtp.example.net)\r\n"
    "\tby mx.example.org with esmtps  (TLS1.3) tls TLS_AES_256_GCM_SHA384\r\n"
    "\t(Exim 4.96)\r\n\t(envelope-from <a@example.net>)\r\n"
    "\tid 1rhXYZ-000ABC-2b\r\n\tfor bob@example.org; Mon, 04 Mar 2024 14:00:00 +0000"
)
EXIM_NO_RDNS = (
    "from [2001:db8::44] (helo=smtp.example.net) by mx.example.org with esmtp "
    "(Exim 4.96) (envelope-from <a@example.net>) id 1rhXYZ-000ABD-3c; "
    "Mon, 04 Mar 2024 14:00:00 +0000"
)
EXIM_LOCAL = (
    "from alice by box.example.org with local (Exim 4.96) (envelope-from "
    "<alice@example.org>) id 1rhXYZ-000ABE-4d; Mon, 04 Mar 2024 14:00:00 +0000"
)
SENDMAIL = (
    "from mail.example.com (mail.example.com [192.0.2.1]) by mx.example.org "
    "(8.17.1/8.17.1) with ESMTPS id 424E00a1012345 (version=TLSv1.3 "
    "cipher=TLS_AES_256_GCM_SHA384 bits=256 verify=NOT) for <bob@example.org>; "
    "Mon, 4 Mar 2024 14:00:00 GMT"
)
SENDMAIL_FORGED = (
    "from helo.example (rdns.example [192.0.2.9] (may be forged)) by mx.example.org "
    "(8.17.1/8.17.1) with ESMTP id 424E00a1012346; Mon, 4 Mar 2024 14:00:00 GMT"
)
SENDMAIL_AUTH = (
    "from laptop.example (dsl.example.net [198.51.100.8]) (authenticated bits=0) "
    "by smtp.example.com (8.17.1/8.17.1) with ESMTPSA id 424E00a1012347 "
    "(version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256 verify=NO); "
    "Mon, 4 Mar 2024 14:00:00 GMT"
)
QMAIL = (
    "from unknown (HELO mail.example.com) (192.0.2.1) by mx.example.org with SMTP; "
    "4 Mar 2024 14:00:00 -0000"
)
QMAIL_REMOTEINFO = (
    "from unknown (HELO mail.example.com) (ident@192.0.2.2) by mx.example.org with SMTP; "
    "4 Mar 2024 14:00:01 -0000"
)
QMAIL_LOCAL = "(qmail 12345 invoked by uid 89); 4 Mar 2024 14:00:00 -0000"
EXCHANGE = (
    "from BN8PR12MB3587.namprd12.prod.outlook.com (2603:10b6:408:49::29) by\r\n"
    " SA1PR12MB8857.namprd12.prod.outlook.com (2603:10b6:806:38e::5) with\r\n"
    " Microsoft SMTP Server (version=TLS1_2,\r\n"
    " cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.7362.22; Mon, 4 Mar 2024\r\n"
    " 14:00:02 +0000"
)
EXCHANGE_FRONTEND = (
    "from mail.example.com (203.0.113.5) by\r\n"
    " BN8NAM11FT098.mail.protection.outlook.com (10.13.177.196) with Microsoft SMTP\r\n"
    " Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id\r\n"
    " 15.20.7362.22 via Frontend Transport; Mon, 4 Mar 2024 14:00:01 +0000"
)
GMAIL_INTERNAL = (
    "by 2002:a05:6a10:8c0e:b0:5a3:c4f7:2a5d with SMTP id k14csp123456pxb;\r\n"
    "        Mon, 4 Mar 2024 06:00:02 -0800 (PST)"
)
GMAIL_BORDER = (
    "from mail.example.com (mail.example.com. [192.0.2.10])\r\n"
    "        by mx.google.com with ESMTPS id a1-20020a170902c201si123456plg.345.2024.03.04\r\n"
    "        for <alice@gmail.com>\r\n"
    "        (version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256);\r\n"
    "        Mon, 04 Mar 2024 06:00:01 -0800 (PST)"
)
YAHOO = (
    "from 217.155.43.13 (EHLO me.highwayman.com)\r\n by 10.197.36.75 with SMTP;\r\n"
    " Sun, 02 Nov 2025 19:30:56 +0000"
)
SEMICOLONS = (
    "from richard@highwayman.com (127.0.0.1); by me.highwayman.com;\r\n"
    "\twith ESMTP; id 2025-11-02_19_30_33_0000000; for r65536@yahoo.com;\r\n"
    "\tSun, 2 Nov 2025 19:30:51 +0000"
)
FASTMAIL_LMTP = (
    "from compute3.internal (compute3.nyi.internal [10.202.2.43])\r\n"
    "\t by sloti43n03 (Cyrus 3.11.0-alpha0-679-g88f70abd1-fm-20240802.001-g88f70abd) "
    "with LMTPA;\r\n\t Wed, 07 Aug 2024 21:23:35 -0400"
)

# (value, helo, rdns, ip, by_host, protocol, tls, authenticated, for, timestamp)
CASES: list[Any] = [
    pytest.param(
        POSTFIX,
        "mail.example.com",
        "mail.example.com",
        "192.0.2.1",
        "mx.example.org",
        "ESMTPS",
        True,
        False,
        "bob@example.org",
        1709560800,
        id="postfix",
    ),
    pytest.param(
        POSTFIX_SUBMISSION,
        "[192.168.1.20]",
        None,
        "198.51.100.7",
        "smtp.example.com",
        "ESMTPSA",
        True,
        True,
        "bob@example.org",
        1709560798,
        id="postfix-authenticated-submission",
    ),
    pytest.param(
        POSTFIX_IPV6,
        "helo.example",
        None,
        "2001:db8::25",
        "mx.example.org",
        "ESMTP",
        False,
        False,
        "bob@example.org",
        1709560800,
        id="postfix-ipv6-literal",
    ),
    pytest.param(
        EXIM,
        "smtp.example.net",
        "mail.example.net",
        "192.0.2.44",
        "mx.example.org",
        "esmtps",
        True,
        False,
        "bob@example.org",
        1709560800,
        id="exim",
    ),
    pytest.param(
        EXIM_NO_RDNS,
        "smtp.example.net",
        None,
        "2001:db8::44",
        "mx.example.org",
        "esmtp",
        False,
        False,
        None,
        1709560800,
        id="exim-ipv6-without-rdns",
    ),
    pytest.param(
        EXIM_LOCAL,
        "alice",
        None,
        None,
        "box.example.org",
        "local",
        None,
        False,
        None,
        1709560800,
        id="exim-local",
    ),
    pytest.param(
        SENDMAIL,
        "mail.example.com",
        "mail.example.com",
        "192.0.2.1",
        "mx.example.org",
        "ESMTPS",
        True,
        False,
        "bob@example.org",
        1709560800,
        id="sendmail",
    ),
    pytest.param(
        SENDMAIL_FORGED,
        "helo.example",
        "rdns.example",
        "192.0.2.9",
        "mx.example.org",
        "ESMTP",
        False,
        False,
        None,
        1709560800,
        id="sendmail-may-be-forged",
    ),
    pytest.param(
        SENDMAIL_AUTH,
        "laptop.example",
        "dsl.example.net",
        "198.51.100.8",
        "smtp.example.com",
        "ESMTPSA",
        True,
        True,
        None,
        1709560800,
        id="sendmail-authenticated",
    ),
    pytest.param(
        QMAIL,
        "mail.example.com",
        None,
        "192.0.2.1",
        "mx.example.org",
        "SMTP",
        False,
        False,
        None,
        1709560800,
        id="qmail",
    ),
    pytest.param(
        QMAIL_REMOTEINFO,
        "mail.example.com",
        None,
        "192.0.2.2",
        "mx.example.org",
        "SMTP",
        False,
        False,
        None,
        1709560801,
        id="qmail-remoteinfo",
    ),
    pytest.param(
        QMAIL_LOCAL, None, None, None, None, None, None, False, None, 1709560800, id="qmail-local"
    ),
    pytest.param(
        EXCHANGE,
        "BN8PR12MB3587.namprd12.prod.outlook.com",
        None,
        "2603:10b6:408:49::29",
        "sa1pr12mb8857.namprd12.prod.outlook.com",
        "Microsoft SMTP Server",
        True,
        False,
        None,
        1709560802,
        id="exchange-internal",
    ),
    pytest.param(
        EXCHANGE_FRONTEND,
        "mail.example.com",
        None,
        "203.0.113.5",
        "bn8nam11ft098.mail.protection.outlook.com",
        "Microsoft SMTP Server",
        True,
        False,
        None,
        1709560801,
        id="exchange-frontend",
    ),
    pytest.param(
        GMAIL_INTERNAL,
        None,
        None,
        None,
        "2002:a05:6a10:8c0e:b0:5a3:c4f7:2a5d",
        "SMTP",
        False,
        False,
        None,
        1709560802,
        id="gmail-internal",
    ),
    pytest.param(
        GMAIL_BORDER,
        "mail.example.com",
        "mail.example.com",
        "192.0.2.10",
        "mx.google.com",
        "ESMTPS",
        True,
        False,
        "alice@gmail.com",
        1709560801,
        id="gmail-border",
    ),
    pytest.param(
        YAHOO,
        "me.highwayman.com",
        None,
        "217.155.43.13",
        "10.197.36.75",
        "SMTP",
        False,
        False,
        None,
        1762111856,
        id="yahoo-ehlo-comment",
    ),
    pytest.param(
        SEMICOLONS,
        "richard@highwayman.com",
        None,
        "127.0.0.1",
        "me.highwayman.com",
        "ESMTP",
        False,
        False,
        "r65536@yahoo.com",
        1762111851,
        id="semicolon-after-every-clause",
    ),
    pytest.param(
        FASTMAIL_LMTP,
        "compute3.internal",
        "compute3.nyi.internal",
        "10.202.2.43",
        "sloti43n03",
        "LMTPA",
        False,
        True,
        None,
        1723080215,
        id="cyrus-lmtp",
    ),
]


@pytest.mark.parametrize(
    ("value", "helo", "rdns", "ip", "by", "protocol", "tls", "auth", "rcpt", "timestamp"), CASES
)
def test_each_mta_style_is_read(
    value: str,
    helo: str | None,
    rdns: str | None,
    ip: str | None,
    by: str | None,
    protocol: str | None,
    tls: bool | None,
    auth: bool,
    rcpt: str | None,
    timestamp: int,
) -> None:
    h = hop(value)
    assert (h.from_helo, h.from_rdns, h.from_ip) == (helo, rdns, ip)
    assert (h.by_host, h.with_protocol, h.tls, h.authenticated) == (by, protocol, tls, auth)
    assert h.for_address == rcpt
    assert h.timestamp == timestamp
    assert h.problems == []


def test_the_clauses_of_an_exchange_hop_are_split() -> None:
    h = hop(EXCHANGE_FRONTEND)
    assert h.clauses == {
        "from": "mail.example.com (203.0.113.5)",
        "by": "BN8NAM11FT098.mail.protection.outlook.com (10.13.177.196)",
        "with": "Microsoft SMTP Server "
        "(version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384)",
        "id": "15.20.7362.22",
        "via": "Frontend Transport",
    }
    assert h.by_ip == "10.13.177.196"
    assert h.date_text == "Mon, 4 Mar 2024 14:00:01 +0000"


def test_a_by_comment_names_the_host_behind_localhost() -> None:
    h = hop(
        "from mail.ietf.org ([50.223.129.194]) by localhost (ietfa.amsl.com [127.0.0.1]) "
        "(amavisd-new, port 10024) with ESMTP id 6eYkUse_PpJL for <jmap@ietfa.amsl.com>; "
        "Wed,  7 Aug 2024 18:23:11 -0700 (PDT)"
    )
    assert (h.by_host, h.by_ip, h.by_names) == (
        "localhost",
        "127.0.0.1",
        ["localhost", "ietfa.amsl.com"],
    )
    assert h.from_ip == "50.223.129.194" and h.from_rdns is None


def test_a_helo_address_literal_yields_to_the_address_the_receiver_saw() -> None:
    h = hop(
        "from [192.0.2.200] (client.example [198.51.100.1]) by mx.example.org; "
        "Mon, 4 Mar 2024 14:00:00 +0000"
    )
    assert (h.from_helo, h.from_rdns, h.from_ip) == (
        "[192.0.2.200]",
        "client.example",
        "198.51.100.1",
    )


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("[192.0.2.1]", "192.0.2.1"),
        ("[IPv6:2001:db8::1]", "2001:db8::1"),
        ("IPv6:2001:DB8::1", "2001:db8::1"),
        ("2603:10b6:408:49::29", "2603:10b6:408:49::29"),
        ("[192.0.2.44]:51234", "192.0.2.44"),
        ("user@192.0.2.2", "192.0.2.2"),
        ("[fe80::1%eth0]", "fe80::1"),
        ("192.0.2.300", None),
        ("TLSv1.3", None),
        ("8.17.1/8.17.1", None),
        ("mail.example.com", None),
        ("", None),
    ],
)
def test_addresses_are_validated(text: str, address: str | None) -> None:
    assert parse_address(text) == address


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("50.223.129.194", True),
        ("192.0.2.1", True),  # documentation ranges count as public
        ("198.51.100.7", True),
        ("203.0.113.5", True),
        ("2001:db8::1", True),
        ("2603:10b6:408:49::29", True),
        ("10.202.2.43", False),
        ("172.16.0.1", False),
        ("192.168.1.20", False),
        ("127.0.0.1", False),
        ("::1", False),
        ("169.254.1.1", False),
        ("fe80::1", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("fd00::1", False),  # unique local
        ("::ffff:10.0.0.1", False),  # v4-mapped private
        ("0.0.0.0", False),
        ("not an address", False),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public_address(address) is public


@pytest.mark.parametrize(
    ("name", "org"),
    [
        ("mx6.messagingengine.com", "messagingengine.com"),
        ("mx.google.com.", "google.com"),
        ("mail.example.co.uk", "example.co.uk"),
        ("BN9PR03CA0583.outlook.office365.com", "outlook.com"),
        ("a.prod.outlook.com", "outlook.com"),
        ("sloti43n03", None),
        ("192.0.2.1", None),
        ("[192.0.2.1]", None),
        (None, None),
    ],
)
def test_organisation_is_the_registered_looking_parent(name: str | None, org: str | None) -> None:
    assert organisation(name) == org


# -- dates ------------------------------------------------------------------------------------


def test_a_missing_date_is_a_problem() -> None:
    h = hop("from a.example ([192.0.2.1]) by mx.example.org with ESMTP id X")
    assert h.timestamp is None and h.date_text == ""
    assert h.problems == ["it has no date after a semicolon"]


def test_an_unreadable_date_is_a_problem() -> None:
    h = hop("from a.example ([192.0.2.1]) by mx.example.org; yesterday at noon")
    assert h.timestamp is None and h.date_text == "yesterday at noon"
    assert h.problems == ['its date "yesterday at noon" cannot be read']


def test_an_impossible_date_is_a_problem() -> None:
    h = hop("from a.example by mx.example.org; Mon, 1 Jan 99999 00:00:00 +0000")
    assert h.timestamp is None
    assert h.problems == ['its date "Mon, 1 Jan 99999 00:00:00 +0000" cannot be read']


def test_a_date_without_zone_is_utc() -> None:
    assert hop("by mx.example.org; 1 Jan 2024 00:00:00 -0000").timestamp == 1704067200


def test_rfc8601_appendix_dates_with_month_first_are_read() -> None:
    h = hop(
        "from mail-router.example.com (mail-router.example.com [192.0.2.1]) by "
        "server.example.org (8.11.6/8.11.6) with ESMTP id g1G0r1kA003489; "
        "Fri, Feb 15 2002 17:19:07 -0800"
    )
    assert h.timestamp == 1013822347


# -- the path -----------------------------------------------------------------------------------


def test_hops_are_numbered_from_the_oldest_with_delays() -> None:
    raw = message(
        "from b.example ([192.0.2.2]) by c.example; Mon, 4 Mar 2024 14:00:30 +0000",
        "from a.example ([192.0.2.1]) by b.example; Mon, 4 Mar 2024 14:00:40 +0000",
        "by a.example; Mon, 4 Mar 2024 14:00:00 +0000",
    )
    hops = read_received(parse_message(raw))
    assert [(h.index, h.position, h.by_host) for h in hops] == [
        (1, 2, "a.example"),
        (2, 1, "b.example"),
        (3, 0, "c.example"),
    ]
    # hop 3's clock is 10 s behind hop 2's: a negative delay says the clocks disagree
    assert [h.delay_seconds for h in hops] == [None, 40, -10]
    assert hops.total == 3 and hops.findings == []


def test_the_delay_skips_a_hop_without_a_date() -> None:
    raw = message(
        "by c.example; Mon, 4 Mar 2024 14:01:00 +0000",
        "by b.example; garbage",
        "by a.example; Mon, 4 Mar 2024 14:00:00 +0000",
    )
    hops = read_received(parse_message(raw))
    assert [h.delay_seconds for h in hops] == [None, None, 60]


def test_unreadable_fields_give_one_finding() -> None:
    raw = message(
        "by c.example; Mon, 4 Mar 2024 14:01:00 +0000",
        "from b.example (unclosed [192.0.2.2] by c.example; Mon, 4 Mar 2024 14:00:30 +0000",
        "by a.example",
    )
    hops = read_received(parse_message(raw))
    assert [f.code for f in hops.findings] == ["receivers.received-unreadable"]
    f = hops.findings[0]
    assert f.severity.value == "warning" and f.state.value == "none"
    assert f.detail == (
        "hop 2 (field 2 from the top): a comment or quoted string is not closed; it has no "
        "date after a semicolon; hop 1 (field 3 from the top): it has no date after a semicolon"
    )
    assert f.data == {"hops": [2, 1]}


def test_control_characters_are_a_problem() -> None:
    h = read_hop(
        HeaderField("Received", b"Received: by a.example\x00; Mon, 4 Mar 2024 14:00:00 +0000\r\n"),
        1,
        0,
    )
    assert h.problems == ["it contains control characters"]


def test_received_fields_past_the_limit_are_cut_keeping_the_newest() -> None:
    total = limits.MAX_RECEIVED_FIELDS + 50
    raw = message(
        *(
            f"from h{i}.example ([192.0.2.1]) by h{i + 1}.example; Mon, 4 Mar 2024 14:00:00 +0000"
            for i in range(total, 0, -1)
        )
    )
    hops = read_received(parse_message(raw))
    assert len(hops) == limits.MAX_RECEIVED_FIELDS
    assert (hops[0].index, hops[-1].index) == (51, total)
    assert hops[-1].by_host == f"h{total + 1}.example"
    assert [f.code for f in hops.findings] == ["receivers.received-cut"]
    assert hops.findings[0].detail == (
        f"the message has {total} Received fields; the analyser reads the newest "
        f"{limits.MAX_RECEIVED_FIELDS}, so the oldest 50 (the start of the path) are not shown"
    )


def test_a_message_without_received_fields_has_an_empty_path() -> None:
    hops = read_received(parse_message(b"Subject: x\r\n\r\nbody\r\n"))
    assert list(hops) == [] and hops.findings == [] and hops.total == 0


def test_hostile_received_fields_stay_bounded() -> None:
    huge = "from " + "(" * 200_000 + " by x; Mon, 4 Mar 2024 14:00:00 +0000"
    raw = message(huge, "from " + "a " * 100_000 + "by b.example; Mon, 4 Mar 2024 14:00:00 +0000")
    hops = read_received(parse_message(raw))
    assert len(hops) == 2
    assert all(len(h.raw) <= limits.MAX_REPORT_TEXT_CHARS for h in hops)
    assert all(len(v) <= limits.MAX_REPORT_TEXT_CHARS for h in hops for v in h.clauses.values())
    # the open comment swallows " by x; Mon, ...": no by clause and no date are left
    assert hops[1].problems == [
        "a comment or quoted string is not closed",
        "it has no date after a semicolon",
    ]
    assert hops[1].by_host is None
    assert hops[0].raw.endswith("…")
    json.dumps(hops.to_json())


def test_to_json_carries_every_value() -> None:
    h = hop(POSTFIX)
    assert h.to_json() == {
        "index": 1,
        "position": 0,
        "raw": "Received: " + POSTFIX,
        "clauses": {
            "from": "mail.example.com (mail.example.com [192.0.2.1]) (using TLSv1.3 with cipher "
            "TLS_AES_256_GCM_SHA384 (256/256 bits)\t key-exchange X25519 server-signature "
            "RSA-PSS (2048 bits) server-digest SHA256) (No client certificate requested)",
            "by": "mx.example.org (Postfix)",
            "with": "ESMTPS",
            "id": "4Tq1Zx0abcz9sT",
            "for": "<bob@example.org>",
        },
        "from_helo": "mail.example.com",
        "from_rdns": "mail.example.com",
        "from_ip": "192.0.2.1",
        "by_host": "mx.example.org",
        "by_ip": None,
        "by_names": ["mx.example.org"],
        "with_protocol": "ESMTPS",
        "tls": True,
        "authenticated": False,
        "timestamp": 1709560800,
        "date_text": "Mon, 4 Mar 2024 15:00:00 +0100 (CET)",
        "delay_seconds": None,
        "for_address": "bob@example.org",
        "problems": [],
    }


def test_bounded_text_marks_the_cut() -> None:
    assert bounded_text("abcdef", 4) == "abc…"
    assert bounded_text("abcd", 4) == "abcd"
