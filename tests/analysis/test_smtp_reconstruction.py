"""The SMTP envelope read back from the final receiver's own Received fields: the border
hop where the message came in from the outside, its client address and HELO, the
Return-Path and the recipient."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.message import parse_message
from analysis.received import SmtpContext, find_border, read_received, reconstruct_smtp


def reconstruct(raw: bytes) -> SmtpContext:
    msg = parse_message(raw)
    return reconstruct_smtp(msg, read_received(msg))


def message(*fields: str) -> bytes:
    return ("".join(f + "\r\n" for f in fields) + "Subject: x\r\n\r\nbody\r\n").encode()


# -- real messages --------------------------------------------------------------------------


def test_brong_final_gives_the_values_in_its_trace(shared_dir: Path) -> None:
    """brong-final.eml: IETF list mail delivered to Fastmail.  Its ninth Received field
    (from the oldest) reads "from mail.ietf.org (mail.ietf.org [50.223.129.194]) ... by
    mx6.messagingengine.com (Postfix) with ESMTPS id 63B05116009E for
    <brong@fastmailteam.com>"; the four above it come from 127.0.0.1, 10.202.2.205 and
    10.202.2.43 (LMTP); the topmost Return-Path is <forwardingalgorithm@ietf.org>."""
    raw = (shared_dir / "interop/brong/brong-final.eml").read_bytes()
    ctx = reconstruct(raw)
    assert ctx.source == "reconstructed"
    assert ctx.client_ip == "50.223.129.194"
    assert ctx.helo == "mail.ietf.org"
    assert ctx.client_rdns == "mail.ietf.org"
    assert ctx.mail_from == "forwardingalgorithm@ietf.org"
    assert ctx.rcpt_to == ["brong@fastmailteam.com"]
    assert ctx.receiver == "mx6.messagingengine.com"
    assert ctx.hop_index == 9
    assert ctx.internal_hops == [13, 12, 11, 10]
    assert ctx.detail == (
        "client 50.223.129.194 and HELO mail.ietf.org from the Received field added by "
        "mx6.messagingengine.com (hop 9); MAIL FROM from the Return-Path; RCPT TO from that "
        "Received field's for clause"
    )
    assert ctx.summary == (
        "SMTP envelope (reconstructed): client 50.223.129.194 (HELO mail.ietf.org), MAIL FROM "
        "<forwardingalgorithm@ietf.org>, RCPT TO <brong@fastmailteam.com>, as recorded by "
        "mx6.messagingengine.com."
    )
    assert [f.code for f in ctx.findings] == ["receivers.envelope-reconstructed"]
    assert ctx.findings[0].severity.value == "info"
    assert ctx.findings[0].detail == ctx.detail
    json.dumps(ctx.to_json())


def test_brong_final_border_hop_is_the_one_read(shared_dir: Path) -> None:
    msg = parse_message((shared_dir / "interop/brong/brong-final.eml").read_bytes())
    hops = read_received(msg)
    border, internal, reasons = find_border(hops)
    assert internal == [13, 12, 11, 10]
    assert border is not None
    assert border.raw.startswith("Received: from mail.ietf.org (mail.ietf.org [50.223.129.194])")
    assert reasons == [
        "hop 13 is a local delivery (LMTPA)",
        "hop 12 came from the non-public address 10.202.2.205",
        "hop 11 came from the non-public address 127.0.0.1",
        "hop 10 came from the non-public address 127.0.0.1",
    ]


def test_the_list_copy_skips_the_content_filter_hop(shared_dir: Path) -> None:
    """brong-mm.eml is the copy as ietfa.amsl.com had it: amavisd-new re-injected it "by
    localhost", naming the original client; the border is the Postfix hop before it."""
    ctx = reconstruct((shared_dir / "interop/brong/brong-mm.eml").read_bytes())
    assert (ctx.client_ip, ctx.helo, ctx.receiver, ctx.hop_index) == (
        "103.168.172.155",
        "fhigh4-smtp.messagingengine.com",
        "ietfa.amsl.com",
        4,
    )
    assert ctx.internal_hops == [8, 7, 6, 5]
    assert ctx.mail_from is None
    assert ctx.rcpt_to == ["jmap@ietf.org"]
    assert ctx.detail == (
        "client 103.168.172.155 and HELO fhigh4-smtp.messagingengine.com from the Received "
        "field added by ietfa.amsl.com (hop 4); no Return-Path, so MAIL FROM is unknown; "
        "RCPT TO from that Received field's for clause"
    )


def test_yahoo_names_the_helo_in_a_comment(shared_dir: Path) -> None:
    ctx = reconstruct((shared_dir / "interop/rnc1/mail-20251102-193051.txt").read_bytes())
    assert (ctx.client_ip, ctx.helo, ctx.receiver, ctx.hop_index) == (
        "217.155.43.13",
        "me.highwayman.com",
        "10.197.36.75",
        2,
    )
    assert ctx.mail_from == "richard@highwayman.com"
    assert ctx.rcpt_to == ["r65536@yahoo.com"]
    assert ctx.detail.endswith("RCPT TO from the topmost X-Apparently-To")


# -- provider shapes -----------------------------------------------------------------------------

GMAIL = message(
    "Delivered-To: alice@gmail.com",
    "Received: by 2002:a05:6a10:8c0e:b0:5a3:c4f7:2a5d with SMTP id k14csp123456pxb;\r\n"
    "        Mon, 4 Mar 2024 06:00:02 -0800 (PST)",
    "Return-Path: <bounce@mail.example.com>",
    "Received: from mail.example.com (mail.example.com. [192.0.2.10])\r\n"
    "        by mx.google.com with ESMTPS id a1si123456plg.345.2024.03.04.06.00.01\r\n"
    "        for <alice@gmail.com>\r\n"
    "        (version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256);\r\n"
    "        Mon, 04 Mar 2024 06:00:01 -0800 (PST)",
    "Received: from [198.51.100.7] (helo=laptop) by mail.example.com with esmtpsa (TLS1.3)"
    " tls TLS_AES_256_GCM_SHA384 (Exim 4.96) (envelope-from <alice@example.com>) id "
    "1rhABC-000123-4x for alice@gmail.com; Mon, 04 Mar 2024 14:00:00 +0000",
)

MICROSOFT_365 = message(
    "Received: from SA0PR12MB4432.namprd12.prod.outlook.com (2603:10b6:806:98::12) by\r\n"
    " MN2PR12MB3999.namprd12.prod.outlook.com with HTTPS; Mon, 4 Mar 2024 14:00:04\r\n"
    " +0000",
    "Received: from BN9PR03CA0583.namprd03.prod.outlook.com (2603:10b6:408:10d::18) by\r\n"
    " SA0PR12MB4432.namprd12.prod.outlook.com (2603:10b6:806:98::12) with Microsoft SMTP\r\n"
    " Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id\r\n"
    " 15.20.7362.22; Mon, 4 Mar 2024 14:00:03 +0000",
    "Received: from BN8NAM11FT098.eop-nam11.prod.protection.outlook.com\r\n"
    " (2603:10b6:408:10d:cafe::f1) by BN9PR03CA0583.outlook.office365.com\r\n"
    " (2603:10b6:408:10d::18) with Microsoft SMTP Server (version=TLS1_2,\r\n"
    " cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.7362.22 via Frontend\r\n"
    " Transport; Mon, 4 Mar 2024 14:00:02 +0000",
    "Authentication-Results: spf=pass (sender IP is 203.0.113.5)\r\n"
    " smtp.mailfrom=example.com; dkim=pass (signature was verified)\r\n"
    " header.d=example.com;dmarc=pass action=none header.from=example.com;compauth=pass\r\n"
    " reason=100",
    "Received-SPF: Pass (protection.outlook.com: domain of example.com designates\r\n"
    " 203.0.113.5 as permitted sender) receiver=protection.outlook.com;\r\n"
    " client-ip=203.0.113.5; helo=mail.example.com; pr=C",
    "Received: from mail.example.com (203.0.113.5) by\r\n"
    " BN8NAM11FT098.mail.protection.outlook.com (10.13.177.196) with Microsoft SMTP\r\n"
    " Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id\r\n"
    " 15.20.7362.22 via Frontend Transport; Mon, 4 Mar 2024 14:00:01 +0000",
    "Return-Path: bounce@example.com",
)


def test_gmail_border_is_mx_google_com() -> None:
    ctx = reconstruct(GMAIL)
    assert (ctx.client_ip, ctx.helo, ctx.client_rdns, ctx.receiver, ctx.hop_index) == (
        "192.0.2.10",
        "mail.example.com",
        "mail.example.com",
        "mx.google.com",
        2,
    )
    assert ctx.internal_hops == [3]
    assert ctx.mail_from == "bounce@mail.example.com"
    assert ctx.rcpt_to == ["alice@gmail.com"]


def test_microsoft_365_internal_ipv6_relays_are_skipped() -> None:
    """Exchange Online relays between its own hosts over public IPv6 (2603:10b6::/32): a
    client in the receiving host's own network and organisation is internal."""
    ctx = reconstruct(MICROSOFT_365)
    assert (ctx.client_ip, ctx.helo, ctx.receiver, ctx.hop_index) == (
        "203.0.113.5",
        "mail.example.com",
        "bn8nam11ft098.mail.protection.outlook.com",
        1,
    )
    assert ctx.internal_hops == [4, 3, 2]
    # The Return-Path lies below the border here: said so, not hidden.
    assert ctx.mail_from == "bounce@example.com"
    assert ctx.detail == (
        "client 203.0.113.5 and HELO mail.example.com from the Received field added by "
        "bn8nam11ft098.mail.protection.outlook.com (hop 1); MAIL FROM from a Return-Path that "
        "lies below that Received field (written by an earlier system); no recipient recorded"
    )


def test_internal_reasons_for_microsoft_365() -> None:
    msg = parse_message(MICROSOFT_365)
    _, _, reasons = find_border(read_received(msg))
    assert reasons == [
        "hop 4 is not an SMTP transaction (with HTTPS)",
        "hop 3 came from 2603:10b6:408:10d::18, in the receiving host's own network and "
        "organisation (outlook.com)",
        "hop 2 came from 2603:10b6:408:10d:cafe::f1, in the receiving host's own network and "
        "organisation (outlook.com)",
    ]


# -- the heuristic, rule by rule ---------------------------------------------------------------


def test_no_received_field_gives_source_none() -> None:
    ctx = reconstruct(message("From: a@example.com"))
    assert (ctx.source, ctx.client_ip, ctx.helo, ctx.mail_from, ctx.rcpt_to) == (
        "none",
        None,
        None,
        None,
        [],
    )
    assert ctx.detail == "the message has no Received field, so nothing records how it arrived"
    assert [f.code for f in ctx.findings] == ["receivers.no-border-hop"]
    assert ctx.findings[0].severity.value == "warning"
    assert ctx.summary == (
        "SMTP envelope: unknown — the message has no Received field, so nothing records how it "
        "arrived; give the envelope (client address, HELO, MAIL FROM, RCPT TO) by hand to check "
        "SPF and the chain of custody."
    )


def test_only_internal_hops_give_source_none_with_every_reason() -> None:
    ctx = reconstruct(
        message(
            "Received: from a.internal ([100.64.1.2]) by b.internal; "
            "Mon, 4 Mar 2024 14:00:03 +0000",
            "Received: from c.internal ([fd00::5]) by a.internal; Mon, 4 Mar 2024 14:00:02 +0000",
            "Received: from d.internal ([169.254.0.9]) by c.internal; "
            "Mon, 4 Mar 2024 14:00:01 +0000",
            "Received: by d.internal (Postfix, from userid 1000); Mon, 4 Mar 2024 14:00:00 +0000",
        )
    )
    assert ctx.source == "none"
    assert ctx.internal_hops == [4, 3, 2, 1]
    assert ctx.detail == (
        "no Received field shows the message arriving from a public address (hop 4 came from "
        "the non-public address 100.64.1.2; hop 3 came from the non-public address fd00::5; "
        "hop 2 came from the non-public address 169.254.0.9; hop 1 names no client address)"
    )


def test_documentation_addresses_are_public() -> None:
    ctx = reconstruct(
        message(
            "Received: from client.example (client.example [198.51.100.25]) by mx.example.org "
            "(Postfix) with ESMTP id X; Mon, 4 Mar 2024 14:00:00 +0000",
        )
    )
    assert (ctx.source, ctx.client_ip, ctx.hop_index) == ("reconstructed", "198.51.100.25", 1)


def test_a_neighbour_in_the_same_network_but_another_organisation_is_outside() -> None:
    ctx = reconstruct(
        message(
            "Received: from mail.sender.example (mail.sender.example [192.0.2.10]) by "
            "mx.receiver.example ([192.0.2.20]) with ESMTP; Mon, 4 Mar 2024 14:00:00 +0000",
        )
    )
    assert (ctx.client_ip, ctx.hop_index) == ("192.0.2.10", 1)


def test_a_helo_in_the_receivers_organisation_does_not_make_a_hop_internal() -> None:
    """The HELO is the client's claim: a forger naming itself after the receiver, from an
    address outside the receiver's network, is still the border."""
    ctx = reconstruct(
        message(
            "Received: from relay.outlook.com (203.0.113.66) by "
            "BN8NAM11FT098.mail.protection.outlook.com (10.13.177.196) with Microsoft SMTP "
            "Server id 15.20.7362.22 via Frontend Transport; Mon, 4 Mar 2024 14:00:01 +0000",
            "Received: from x (2603:10b6:1::1) by relay.outlook.com (2603:10b6:1::2) with "
            "ESMTP; Mon, 4 Mar 2024 14:00:00 +0000",
        )
    )
    assert (ctx.client_ip, ctx.helo, ctx.hop_index) == ("203.0.113.66", "relay.outlook.com", 2)


def test_a_null_reverse_path_is_an_empty_mail_from() -> None:
    ctx = reconstruct(
        message(
            "Return-Path: <>",
            "Received: from mx.bounce.example (mx.bounce.example [192.0.2.5]) by mx.example.org "
            "with ESMTP id Y for <postmaster@example.org>; Mon, 4 Mar 2024 14:00:00 +0000",
        )
    )
    assert ctx.mail_from == ""
    assert ctx.summary == (
        "SMTP envelope (reconstructed): client 192.0.2.5 (HELO mx.bounce.example), MAIL FROM <>, "
        "RCPT TO <postmaster@example.org>, as recorded by mx.example.org."
    )


BORDER = (
    "Received: from mx.sender.example (mx.sender.example [192.0.2.5]) by mx.example.org "
    "with ESMTP id Y for <postmaster@example.org>; Mon, 4 Mar 2024 14:00:00 +0000"
)


@pytest.mark.parametrize(
    "value",
    [
        # CVE-2023-27043: Python 3.11's parseaddr, and the lenient reader before issue #11,
        # took bob's (or alice's) address out of these; SPF would then have judged it.
        "alice@example.org)<bob@example.org>",
        "x <bob@evil.example> <alice@example.org>",
        "<alice@example.org> <bob@evil.example>",
        "alice@example.org, bob@evil.example",
        "<alice@example.org",
    ],
)
def test_a_return_path_that_is_not_one_address_gives_no_mail_from(value: str) -> None:
    ctx = reconstruct(message(f"Return-Path: {value}", BORDER))
    assert ctx.mail_from is None
    assert "the Return-Path is not one well-formed address, so MAIL FROM is unknown" in ctx.detail


def test_a_return_path_with_a_comment_is_read() -> None:
    ctx = reconstruct(message("Return-Path: (bounces) <list-bounces@list.example>", BORDER))
    assert ctx.mail_from == "list-bounces@list.example"


def test_a_delivered_to_that_is_not_one_address_is_not_taken() -> None:
    ctx = reconstruct(
        message(
            "Delivered-To: alice@example.org)<bob@example.org>",
            "X-Apparently-To: carol@example.org",
            BORDER.replace(" for <postmaster@example.org>", ""),
        )
    )
    assert ctx.rcpt_to == ["carol@example.org"]


def test_the_recipient_comes_from_fields_above_the_border_only() -> None:
    ctx = reconstruct(
        message(
            "Delivered-To: bob@example.org",
            "Received: from mx.example.org ([10.0.0.2]) by store.example.org with LMTP; "
            "Mon, 4 Mar 2024 14:00:02 +0000",
            "Received: from out.list.example (out.list.example [192.0.2.30]) by "
            "mx.example.org with ESMTPS id Z; Mon, 4 Mar 2024 14:00:01 +0000",
            "X-Original-To: list@list.example",
            "Received: from mail.author.example (mail.author.example [198.51.100.3]) by "
            "out.list.example with ESMTPS; Mon, 4 Mar 2024 14:00:00 +0000",
        )
    )
    assert ctx.hop_index == 2
    assert ctx.rcpt_to == ["bob@example.org"]
    assert ctx.detail.endswith(
        "no Return-Path, so MAIL FROM is unknown; RCPT TO from the topmost Delivered-To"
    )


def test_x_original_to_is_preferred_to_delivered_to() -> None:
    ctx = reconstruct(
        message(
            "Delivered-To: bob.smith@example.org",
            "X-Original-To: bob@example.org",
            "Received: from out.list.example (out.list.example [192.0.2.30]) by "
            "mx.example.org with ESMTPS id Z; Mon, 4 Mar 2024 14:00:01 +0000",
        )
    )
    assert ctx.rcpt_to == ["bob@example.org"]
    assert ctx.detail.endswith("RCPT TO from the topmost X-Original-To")


@pytest.mark.parametrize(
    ("received", "reason"),
    [
        (
            "from a (a [192.0.2.1]) by b with LMTP; Mon, 4 Mar 2024 14:00:00 +0000",
            "hop 1 is a local delivery (LMTP)",
        ),
        (
            "from alice by box.example with local (Exim 4.96); Mon, 4 Mar 2024 14:00:00 +0000",
            "hop 1 is a local delivery (local)",
        ),
        (
            "from [198.51.100.9] by webmail.example with HTTP; Mon, 4 Mar 2024 14:00:00 +0000",
            "hop 1 is not an SMTP transaction (with HTTP)",
        ),
        (
            "from a ([192.0.2.1]) by localhost (mx.example [127.0.0.1]) with ESMTP; "
            "Mon, 4 Mar 2024 14:00:00 +0000",
            "hop 1 was received by a local content filter (localhost)",
        ),
        (
            "from a ([10.1.2.3]) by b; Mon, 4 Mar 2024 14:00:00 +0000",
            "hop 1 came from the non-public address 10.1.2.3",
        ),
        ("by b; Mon, 4 Mar 2024 14:00:00 +0000", "hop 1 names no client address"),
    ],
)
def test_each_internal_rule(received: str, reason: str) -> None:
    msg = parse_message(message("Received: " + received))
    border, internal, reasons = find_border(read_received(msg))
    assert (border, internal, reasons) == (None, [1], [reason])


def test_to_json_is_complete() -> None:
    ctx = reconstruct(GMAIL)
    out = ctx.to_json()
    assert set(out) == {
        "client_ip",
        "helo",
        "mail_from",
        "rcpt_to",
        "source",
        "detail",
        "receiver",
        "hop_index",
        "client_rdns",
        "internal_hops",
        "findings",
        "summary",
    }
    assert out["findings"][0]["code"] == "receivers.envelope-reconstructed"
    json.dumps(out)


def test_a_given_envelope_can_be_recorded_as_such() -> None:
    ctx = SmtpContext(
        client_ip="192.0.2.1",
        helo="mail.example.com",
        mail_from="a@example.com",
        rcpt_to=["b@example.org"],
        source="given",
        detail="typed by the user",
    )
    assert ctx.to_json()["source"] == "given"
    assert ctx.findings == [] and ctx.receiver is None
