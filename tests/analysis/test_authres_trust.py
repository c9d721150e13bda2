"""Who wrote each Authentication-Results field, and how far it can be trusted (RFC 8601 §5,
§7): the final receiver's own fields are trusted, other receivers' fields are upstream
testimony, and fields added by the sender or claiming a receiver that did not write them
are untrusted.  The final receiver's trusted claims show ARC and local-policy overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.authres import ReceiverClaims, read_receivers
from analysis.findings import Step
from analysis.message import parse_message
from analysis.received import read_received


def claims_of(raw: bytes) -> ReceiverClaims:
    msg = parse_message(raw)
    return read_receivers(msg, read_received(msg))


def message(*fields: str) -> bytes:
    return ("".join(f + "\r\n" for f in fields) + "Subject: x\r\n\r\nbody\r\n").encode()


def trust(claims: ReceiverClaims) -> list[tuple[int, str, int | None, str]]:
    return [(f.position, f.authserv_id, f.attributed_hop, f.trust) for f in claims.fields]


def codes(claims: ReceiverClaims) -> list[str]:
    return [f.code for f in claims.findings]


# -- a real message ---------------------------------------------------------------------------


def test_brong_final(shared_dir: Path) -> None:
    claims = claims_of((shared_dir / "interop/brong/brong-final.eml").read_bytes())
    assert claims.receiver_authserv_id == "mx6.messagingengine.com"
    assert trust(claims) == [
        (21, "mx6.messagingengine.com", 10, "upstream"),  # the ARC-Authentication-Results
        (23, "mx6.messagingengine.com", 10, "trusted"),
        (24, "mx6.messagingengine.com", 10, "trusted"),
        (25, "mx6.messagingengine.com", 10, "trusted"),
        (26, "mx6.messagingengine.com", 10, "trusted"),
        (52, "ietfa.amsl.com", 5, "upstream"),
    ]
    aar, final, *_, ietf = claims.fields
    assert aar.trust_reason == (
        "An ARC sealer's testimony (i=1): how far it can be trusted follows from validating "
        "the ARC chain (RFC 8617 §5.2), not from where it sits."
    )
    assert final.trust_reason == (
        "The final receiver's own field (mx6.messagingengine.com), written at hop 10 (by "
        "mx6.messagingengine.com), inside the part of the header the final receiver wrote."
    )
    assert ietf.trust_reason == (
        "Testimony of ietfa.amsl.com, written at hop 5 (by localhost) before the message "
        "reached the final receiver: trust it only as far as you trust that system "
        "(RFC 8601 §7.1)."
    )
    assert list(claims.claims) == [
        "x-csa",
        "x-me-sender",
        "x-ptr",
        "bimi",
        "arc",
        "dkim",
        "dmarc",
        "iprev",
        "spf",
    ]
    assert [(m.result, m.properties["header.d"]) for m in claims.claims_for("DKIM")] == [
        ("fail", "ietf.org"),
        ("fail", "fastmailteam.com"),
        ("fail", "messagingengine.com"),
        ("pass", "ietf.org"),
    ]
    assert [m.result for m in claims.claims_for("dmarc")] == ["pass"]
    assert claims.claims_for("dkim2") == []
    assert claims.arc_override is None
    assert codes(claims) == ["receivers.upstream"]
    assert claims.findings[0].detail == (
        "1 Authentication-Results field(s) of earlier receivers (ietfa.amsl.com); 1 "
        "ARC-Authentication-Results field(s) (i=1 by mx6.messagingengine.com), whose trust "
        "follows the ARC chain"
    )
    assert claims.summary == (
        "Receivers: mx6.messagingengine.com, the final receiver, reports dkim=fail, dkim=pass, "
        "spf=pass, dmarc=pass, arc=none (and 5 other method(s)); 1 field(s) are earlier "
        "receivers' testimony; 1 ARC-Authentication-Results field(s) are worth what the ARC "
        "chain is worth."
    )
    out = claims.to_json()
    assert set(out) == {
        "fields",
        "receiver_authserv_id",
        "claims",
        "arc_override",
        "findings",
        "summary",
    }
    json.dumps(out)


# -- providers' placements ----------------------------------------------------------------------

GMAIL_BORDER = (
    "Received: from mail.example.com (mail.example.com. [192.0.2.10])\r\n"
    "        by mx.google.com with ESMTPS id a1si123456plg.345\r\n"
    "        for <alice@gmail.com>\r\n"
    "        (version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256);\r\n"
    "        Mon, 04 Mar 2024 06:00:01 -0800 (PST)"
)
GMAIL_TOP = (
    "Received: by 2002:a05:6a10:8c0e:b0:5a3:c4f7:2a5d with SMTP id k14csp123456pxb;\r\n"
    "        Mon, 4 Mar 2024 06:00:02 -0800 (PST)"
)
SENDER_HOP = (
    "Received: from [198.51.100.7] (helo=laptop) by mail.example.com with esmtpsa (TLS1.3) "
    "tls TLS_AES_256_GCM_SHA384 (Exim 4.96) id 1rhABC-000123-4x; Mon, 04 Mar 2024 14:00:00 "
    "+0000"
)


def gmail(dmarc: str = "dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=example.com") -> bytes:
    return message(
        GMAIL_TOP,
        "ARC-Authentication-Results: i=1; mx.google.com;\r\n"
        "       dkim=pass header.i=@example.com header.s=s1 header.b=AbCdEf12;\r\n"
        f"       {dmarc}",
        "Return-Path: <bounce@mail.example.com>",
        GMAIL_BORDER,
        "Received-SPF: pass (google.com: domain of bounce@mail.example.com designates "
        "192.0.2.10 as permitted sender) client-ip=192.0.2.10;",
        "Authentication-Results: mx.google.com;\r\n"
        "       dkim=pass header.i=@example.com header.s=s1 header.b=AbCdEf12;\r\n"
        "       spf=pass (google.com: domain of bounce@mail.example.com designates 192.0.2.10 "
        "as permitted sender) smtp.mailfrom=bounce@mail.example.com;\r\n"
        f"       {dmarc}",
        SENDER_HOP,
    )


def test_gmail_writes_its_field_just_below_its_own_received() -> None:
    claims = claims_of(gmail())
    assert claims.receiver_authserv_id == "mx.google.com"
    assert trust(claims) == [
        (1, "mx.google.com", 2, "upstream"),
        (5, "mx.google.com", 2, "trusted"),
    ]
    assert [(m.method, m.result) for ms in claims.claims.values() for m in ms] == [
        ("dkim", "pass"),
        ("spf", "pass"),
        ("dmarc", "pass"),
    ]
    assert claims.summary == (
        "Receivers: mx.google.com, the final receiver, reports dkim=pass, spf=pass, dmarc=pass; "
        "1 ARC-Authentication-Results field(s) are worth what the ARC chain is worth."
    )


MICROSOFT_365 = message(
    "Received: from SA0PR12MB4432.namprd12.prod.outlook.com (2603:10b6:806:98::12) by\r\n"
    " MN2PR12MB3999.namprd12.prod.outlook.com with HTTPS; Mon, 4 Mar 2024 14:00:04 +0000",
    "ARC-Authentication-Results: i=1; mx.microsoft.com 1; spf=pass\r\n"
    " smtp.mailfrom=example.com; dmarc=pass action=none header.from=example.com;\r\n"
    " dkim=pass header.d=example.com; arc=none",
    "Received: from BN9PR03CA0583.namprd03.prod.outlook.com (2603:10b6:408:10d::18) by\r\n"
    " SA0PR12MB4432.namprd12.prod.outlook.com (2603:10b6:806:98::12) with Microsoft SMTP\r\n"
    " Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id\r\n"
    " 15.20.7362.22; Mon, 4 Mar 2024 14:00:03 +0000",
    "Authentication-Results: spf=pass (sender IP is 203.0.113.5)\r\n"
    " smtp.mailfrom=example.com; dkim=pass (signature was verified)\r\n"
    " header.d=example.com;dmarc=pass action=none header.from=example.com;compauth=pass\r\n"
    " reason=100",
    "Received: from mail.example.com (203.0.113.5) by\r\n"
    " BN8NAM11FT098.mail.protection.outlook.com (10.13.177.196) with Microsoft SMTP\r\n"
    " Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id\r\n"
    " 15.20.7362.22 via Frontend Transport; Mon, 4 Mar 2024 14:00:01 +0000",
    "Authentication-Results: spf=fail (sender IP is 198.51.100.99) smtp.mailfrom=example.com;"
    " dmarc=fail action=quarantine header.from=example.com",
    "Received: from x.example.com (198.51.100.99) by mail.example.com with ESMTP; "
    "Mon, 4 Mar 2024 14:00:00 +0000",
)


def test_microsoft_365_fields_without_authserv_id() -> None:
    claims = claims_of(MICROSOFT_365)
    assert claims.receiver_authserv_id == ""
    assert trust(claims) == [
        (1, "mx.microsoft.com", 3, "upstream"),
        (3, "", 2, "trusted"),
        (5, "", 1, "upstream"),
    ]
    # A field below the border that names no authserv-id claims nobody's name: upstream.
    assert claims.fields[2].trust_reason == (
        "A field that names no authserv-id, written at hop 1 (by mail.example.com): an earlier "
        "system's testimony, worth what that system is worth to you."
    )
    assert [m.result for m in claims.claims_for("compauth")] == ["pass"]
    assert claims.summary.startswith(
        "Receivers: the final receiver (no authserv-id), the final receiver, reports "
        "dkim=pass, spf=pass, dmarc=pass (and 1 other method(s))"
    )
    assert "receivers.lenient-parse" in codes(claims)


def test_rfc8601_appendix_b6_multi_tiered() -> None:
    claims = claims_of(
        message(
            "Authentication-Results: example.com;\r\n"
            '    dkim=pass reason="good signature"\r\n'
            "      header.i=@mail-router.example.net;\r\n"
            '    dkim=fail reason="bad signature"\r\n'
            "      header.i=@newyork.example.com",
            "Received: from mail-router.example.net\r\n"
            "          (mail-router.example.net [192.0.2.250])\r\n"
            "      by chicago.example.com (8.11.6/8.11.6)\r\n"
            "          for <recipient@chicago.example.com>\r\n"
            "          with ESMTP id i7PK0sH7021929;\r\n"
            "      Fri, Feb 15 2002 17:19:22 -0800",
            "DKIM-Signature: v=1; a=rsa-sha256; s=furble; d=mail-router.example.net; t=1188964198;"
            " c=relaxed/simple; h=From:Date:To:Message-Id:Subject:Authentication-Results; "
            "bh=ftA9J6GtX8OpwUECzHnCkRzKw1uk6FNiLfJl5Nmv49E=; "
            "b=oINEO8hgn/gnunsg ... 9n9ODSNFSDij3=",
            "Authentication-Results: example.net;\r\n"
            "    dkim=pass (good signature) header.i=@newyork.example.com",
            "Received: from smtp.newyork.example.com\r\n"
            "          (smtp.newyork.example.com [192.0.2.220])\r\n"
            "      by mail-router.example.net (8.11.6/8.11.6)\r\n"
            "          with ESMTP id g1G0r1kA003489;\r\n"
            "      Fri, Feb 15 2002 17:19:07 -0800",
        )
    )
    assert claims.receiver_authserv_id == "example.com"
    assert trust(claims) == [(0, "example.com", 2, "trusted"), (3, "example.net", 1, "upstream")]
    assert [(m.result, m.reason) for m in claims.claims_for("dkim")] == [
        ("pass", "good signature"),
        ("fail", "bad signature"),
    ]


# -- untrusted fields ----------------------------------------------------------------------------


def test_a_field_below_the_oldest_received_was_added_by_the_sender() -> None:
    claims = claims_of(
        message(
            "Received: from mail.example.com (mail.example.com [192.0.2.1]) by mx.example.org "
            "with ESMTPS; Mon, 4 Mar 2024 14:00:00 +0000",
            "Authentication-Results: mx.example.org; dkim=pass header.d=bank.example; "
            "dmarc=pass header.from=bank.example",
            "From: <security@bank.example>",
        )
    )
    assert trust(claims) == [(1, "mx.example.org", None, "untrusted")]
    assert claims.fields[0].trust_reason == (
        "It lies below the oldest Received field (field 2 from the top): it was written before "
        "any receiver had the message, so the sender added it."
    )
    assert claims.receiver_authserv_id is None
    assert claims.claims == {}
    assert codes(claims) == ["receivers.sender-added", "receivers.none-from-receiver"]
    assert claims.findings[0].detail == (
        "Authentication-Results field 2 from the top (mx.example.org): It lies below the oldest "
        "Received field (field 2 from the top): it was written before any receiver had the "
        "message, so the sender added it."
    )
    assert claims.summary == (
        "Receivers: the final receiver added no Authentication-Results of its own; 1 field(s) "
        "are not trusted (added by the sender or copied from elsewhere); the final receiver "
        "should remove fields that claim its name when mail arrives (RFC 8601 §5)."
    )


FORGED_PATH = message(
    "Received: from mx1.example.org ([10.0.0.5]) by store.example.org with LMTP; "
    "Mon, 4 Mar 2024 14:00:03 +0000",
    "Authentication-Results: mx1.example.org; dkim=fail header.d=bank.example; "
    "spf=softfail smtp.mailfrom=bank.example; dmarc=fail header.from=bank.example",
    "Received: from relay.example.net (relay.example.net [198.51.100.20]) by mx1.example.org "
    "with ESMTPS; Mon, 4 Mar 2024 14:00:02 +0000",
    "Authentication-Results: relay.example.net; spf=pass smtp.mailfrom=attacker.example",
    "Received: from attacker.example (attacker.example [203.0.113.66]) by relay.example.net "
    "with ESMTP; Mon, 4 Mar 2024 14:00:01 +0000",
    "Authentication-Results: mx1.example.org; dkim=pass header.d=bank.example; "
    "dmarc=pass header.from=bank.example",
    "Received: from [192.0.2.99] by attacker.example with ESMTPSA; Mon, 4 Mar 2024 14:00:00 +0000",
)


def test_a_field_claiming_the_final_receiver_below_an_external_hop_is_untrusted() -> None:
    claims = claims_of(FORGED_PATH)
    assert claims.receiver_authserv_id == "mx1.example.org"
    assert trust(claims) == [
        (1, "mx1.example.org", 3, "trusted"),
        (3, "relay.example.net", 2, "upstream"),
        (5, "mx1.example.org", 3, "untrusted"),
    ]
    assert claims.fields[2].trust_reason == (
        "It claims the final receiver's authserv-id mx1.example.org but lies below the Received "
        "field of hop 2 (by relay.example.net), which was written before the message reached "
        "the final receiver at hop 3: it was already in the message when it arrived (forged or "
        "copied), and the receiver should have removed it (RFC 8601 §5)."
    )
    # only the trusted field counts
    assert [(m.method, m.result) for ms in claims.claims.values() for m in ms] == [
        ("dkim", "fail"),
        ("spf", "softfail"),
        ("dmarc", "fail"),
    ]
    assert codes(claims) == ["receivers.forged-or-copied", "receivers.upstream"]
    assert claims.findings[1].detail == (
        "1 Authentication-Results field(s) of earlier receivers (relay.example.net)"
    )


def test_a_field_naming_an_earlier_receiver_placed_before_it_got_the_message() -> None:
    claims = claims_of(
        message(
            "Received: from relay.example.net (relay.example.net [198.51.100.20]) by "
            "mx1.example.org with ESMTPS; Mon, 4 Mar 2024 14:00:03 +0000",
            "Received: from hop2.example (hop2.example [203.0.113.2]) by relay.example.net with "
            "ESMTP; Mon, 4 Mar 2024 14:00:02 +0000",
            "Received: from hop1.example (hop1.example [203.0.113.1]) by hop2.example with "
            "ESMTP; Mon, 4 Mar 2024 14:00:01 +0000",
            "Authentication-Results: relay.example.net; dkim=pass header.d=bank.example",
            "Received: from [192.0.2.99] by hop1.example with ESMTPSA; "
            "Mon, 4 Mar 2024 14:00:00 +0000",
        )
    )
    assert trust(claims) == [(3, "relay.example.net", 3, "untrusted")]
    assert claims.fields[0].trust_reason == (
        "It claims to come from relay.example.net, which received the message only at hop 3, "
        "but it lies below the Received field of hop 2 (by hop2.example), written before that: "
        "it was already in the message (forged or copied)."
    )
    assert codes(claims) == ["receivers.forged-or-copied", "receivers.none-from-receiver"]


def test_without_received_fields_nothing_is_trusted() -> None:
    claims = claims_of(
        message("Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=a.example")
    )
    assert trust(claims) == [(0, "mx.example.org", None, "untrusted")]
    assert claims.fields[0].trust_reason == (
        "The message has no Received field, so nothing shows which receiver wrote this field "
        "(field 1 from the top)."
    )
    assert codes(claims) == ["receivers.no-received"]
    assert claims.findings[0].detail == (
        "1 Authentication-Results field(s) and no Received field, so nothing shows which "
        "receiver wrote them"
    )


def test_when_the_final_receiver_wrote_none_upstream_fields_stay_upstream() -> None:
    claims = claims_of(
        message(
            "Received: from list.example.net (list.example.net [198.51.100.20]) by "
            "mx.example.org with ESMTPS; Mon, 4 Mar 2024 14:00:02 +0000",
            "Received: from localhost ([127.0.0.1]) by list.example.net with ESMTP; "
            "Mon, 4 Mar 2024 14:00:01 +0000",
            "Authentication-Results: list.example.net; dkim=pass header.d=author.example",
            "Received: from mail.author.example (mail.author.example [203.0.113.7]) by "
            "list.example.net with ESMTPS; Mon, 4 Mar 2024 14:00:00 +0000",
        )
    )
    assert claims.receiver_authserv_id is None
    assert trust(claims) == [(2, "list.example.net", 2, "upstream")]
    assert codes(claims) == ["receivers.upstream", "receivers.none-from-receiver"]
    assert claims.findings[1].detail == (
        "every Authentication-Results field lies below the part of the header the final "
        "receiver wrote"
    )


def test_a_field_naming_no_received_host_is_attributed_by_position() -> None:
    claims = claims_of(
        message(
            "Received: from mx.example.org ([10.0.0.5]) by store.example.org with LMTP; "
            "Mon, 4 Mar 2024 14:00:03 +0000",
            "X-Spam: no",
            "X-Other: yes",
            "Authentication-Results: filter.example.org; spf=pass smtp.mailfrom=a.example",
            "Received: from a.example (a.example [192.0.2.1]) by mx.example.org with ESMTP; "
            "Mon, 4 Mar 2024 14:00:00 +0000",
        )
    )
    assert trust(claims) == [(3, "filter.example.org", 1, "trusted")]


# -- ARC and local-policy overrides ---------------------------------------------------------------


def test_gmail_dmarc_fail_with_arc_pass_is_an_arc_override() -> None:
    claims = claims_of(
        gmail(
            "arc=pass (i=1 spf=pass spfdomain=example.org dkim=pass dkdomain=example.org);\r\n"
            "       dmarc=fail (p=REJECT sp=REJECT dis=NONE) header.from=example.org"
        )
    )
    assert claims.arc_override == (
        "The final receiver mx.google.com reports dmarc=fail together with arc=pass; dis=NONE "
        "under p=REJECT: it delivered the message although DMARC failed, because an ARC chain "
        "it trusts vouched for the message (RFC 8617 §7.2.1)."
    )
    assert codes(claims) == ["receivers.upstream", "receivers.arc-override"]
    assert claims.findings[1].severity.value == "info"
    assert claims.findings[1].detail == claims.arc_override
    assert claims.summary.endswith("; it accepted the message although DMARC failed.")


def test_microsoft_compauth_reason_130_is_an_arc_override() -> None:
    claims = claims_of(
        message(
            "Authentication-Results: spf=fail (sender IP is 198.51.100.40) "
            "smtp.mailfrom=example.org; dkim=fail (body hash did not verify) "
            "header.d=example.org;dmarc=fail action=none header.from=example.org;"
            "compauth=pass reason=130",
            "Received: from list.example (198.51.100.40) by "
            "BN8NAM11FT098.mail.protection.outlook.com (10.13.177.196) with Microsoft SMTP "
            "Server id 15.20.7362.22 via Frontend Transport; Mon, 4 Mar 2024 14:00:01 +0000",
        )
    )
    assert claims.arc_override == (
        "The final receiver (no authserv-id) reports compauth=pass reason=130 (Microsoft: ARC "
        "overrode the DMARC failure): it delivered the message although DMARC failed, because "
        "an ARC chain it trusts vouched for the message (RFC 8617 §7.2.1)."
    )


@pytest.mark.parametrize(
    ("dmarc", "expected"),
    [
        (
            "dmarc=fail (p=QUARANTINE sp=QUARANTINE dis=NONE arc=pass) header.from=example.org",
            "The final receiver mx.google.com reports the dmarc=fail result itself says "
            "arc=pass; dis=NONE under p=QUARANTINE: it delivered the message although DMARC "
            "failed, because an ARC chain it trusts vouched for the message (RFC 8617 §7.2.1).",
        ),
        (
            "dmarc=fail (p=REJECT sp=REJECT dis=NONE) header.from=example.org",
            "The final receiver mx.google.com reports dis=NONE under p=REJECT: it delivered the "
            "message although DMARC failed, because its local policy overrode the DMARC policy "
            "(RFC 9989).",
        ),
        (
            "dmarc=fail (local_policy) policy.dmarc=reject header.from=example.org",
            "The final receiver mx.google.com reports the dmarc result names an override "
            "(local_policy): it delivered the message although DMARC failed, because its local "
            "policy overrode the DMARC policy (RFC 9989).",
        ),
        ("dmarc=fail (p=REJECT sp=REJECT dis=REJECT) header.from=example.org", None),
        ("dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.org", None),
    ],
)
def test_override_markers(dmarc: str, expected: str | None) -> None:
    assert claims_of(gmail(dmarc)).arc_override == expected


def test_yahoo_arc_overridden_status() -> None:
    claims = claims_of(
        message(
            "Received: from 10.197.36.75\r\n by atlas202.free.mail.bf1.yahoo.com pod-id NONE "
            "with HTTPS; Sun, 2 Nov 2025 19:30:56 +0000",
            "Authentication-Results: atlas202.free.mail.bf1.yahoo.com;\r\n"
            " dkim=fail header.i=@example.org header.s=s1 arc_overridden_status=OVERRIDDEN;\r\n"
            " dmarc=fail(p=REJECT) header.from=example.org arc_overridden_status=OVERRIDDEN;",
            "Received: from 198.51.100.40 (EHLO list.example)\r\n by 10.197.36.75 with SMTP;\r\n"
            " Sun, 02 Nov 2025 19:30:56 +0000",
        )
    )
    assert claims.arc_override == (
        "The final receiver atlas202.free.mail.bf1.yahoo.com reports "
        "arc_overridden_status=OVERRIDDEN: it delivered the message although DMARC failed, "
        "because an ARC chain it trusts vouched for the message (RFC 8617 §7.2.1)."
    )


def test_an_untrusted_field_cannot_claim_an_override() -> None:
    claims = claims_of(
        message(
            "Received: from mail.example.com (mail.example.com [192.0.2.1]) by mx.example.org "
            "with ESMTPS; Mon, 4 Mar 2024 14:00:00 +0000",
            "Authentication-Results: mx.example.org; dmarc=fail header.from=bank.example; arc=pass",
        )
    )
    assert claims.arc_override is None
    assert "receivers.arc-override" not in codes(claims)


# -- nothing at all --------------------------------------------------------------------------------


def test_no_authentication_results_at_all() -> None:
    claims = claims_of(
        message(
            "Received: from a.example (a.example [192.0.2.1]) by mx.example.org; "
            "Mon, 4 Mar 2024 14:00:00 +0000"
        )
    )
    assert (claims.fields, claims.receiver_authserv_id, claims.claims) == ([], None, {})
    assert codes(claims) == ["receivers.no-authres"]
    assert claims.findings[0].severity.value == "info"
    assert claims.summary == (
        "Receivers: the message carries no Authentication-Results field, so no receiver's "
        "verdict is recorded in it."
    )


def test_an_aar_without_instance_gives_a_finding() -> None:
    claims = claims_of(
        message(
            "ARC-Authentication-Results: mx.example.org; dkim=pass header.d=a.example",
            "Received: from a.example (a.example [192.0.2.1]) by mx.example.org; "
            "Mon, 4 Mar 2024 14:00:00 +0000",
        )
    )
    assert trust(claims) == [(0, "mx.example.org", 1, "upstream")]
    assert codes(claims)[0] == "receivers.aar-without-instance"
    f = claims.findings[0]
    assert (f.step, f.state.value, f.severity.value) == (Step.RECEIVERS, "none", "warning")
    assert f.detail == (
        "ARC-Authentication-Results field 1 from the top (mx.example.org): it does not start "
        "with the instance tag i=N; (RFC 8617 §4.1.1)."
    )
    assert f.data == {"position": 0, "authserv_id": "mx.example.org"}


def test_a_final_receiver_saying_none_has_no_claims() -> None:
    claims = claims_of(
        message(
            "Authentication-Results: mx.example.org; none",
            "Received: from a.example (a.example [192.0.2.1]) by mx.example.org; "
            "Mon, 4 Mar 2024 14:00:00 +0000",
        )
    )
    assert (claims.receiver_authserv_id, claims.claims) == ("mx.example.org", {})
    assert trust(claims) == [(0, "mx.example.org", 1, "trusted")]
    assert claims.fields[0].none_result is True
    assert codes(claims) == []
    assert claims.summary == (
        "Receivers: mx.example.org, the final receiver, records no result (none)."
    )


def test_the_senders_outbound_field_above_its_own_received_is_not_the_final_receivers() -> None:
    claims = claims_of(
        message(
            "Received: from out.sender.example (out.sender.example [192.0.2.8]) by "
            "mx.example.org with ESMTPS; Mon, 4 Mar 2024 14:00:01 +0000",
            "Authentication-Results: out.sender.example; auth=pass smtp.auth=alice",
            "Received: from laptop ([198.51.100.7]) by out.sender.example with ESMTPSA; "
            "Mon, 4 Mar 2024 14:00:00 +0000",
        )
    )
    assert claims.receiver_authserv_id is None
    assert trust(claims) == [(1, "out.sender.example", 1, "upstream")]
