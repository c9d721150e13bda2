"""analyze_message: every mechanism of a message in one report, and one verdict for it.

Messages are built here the way mail really travels: an author's domain signs with DKIM1
and DKIM2, a mailing list changes the message (breaking DKIM1), records its change in
DKIM2 and seals ARC, and the final receiver writes its Received and
Authentication-Results fields. Keys, SPF and DMARC records come from a static zone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.dkim2.sign import sign
from analysis.message_report import SCHEMA_VERSION, analyze_message, upgrade_report
from analysis.received import SmtpContext
from analysis.resolvers import StaticResolver
from tests.support.chains import append_body, set_header, signing_key, zone_for
from tests.support.mailauth import SIGN_TIME, arc_seal, dkim1_sign, publish, rsa_key

NOW = SIGN_TIME + 3600
AUTHOR = "alice@example.com"
LIST = "list@lists.example.org"

# The list's outgoing server, the author's, and the final receiver.
LIST_IP = "198.51.100.20"
AUTHOR_IP = "192.0.2.10"


def _zone(**extra: dict[str, list[list[str]]]) -> dict[str, dict[str, list[list[str]]]]:
    """DKIM2 keys of both domains, the DKIM1 and ARC keys, SPF and DMARC records."""
    zone = zone_for(["example.com", "lists.example.org"])
    publish(zone, "example.com", "dk1", rsa_key("author"))
    publish(zone, "lists.example.org", "arc1", rsa_key("list"))
    zone["example.com"]["@"] = [["txt", f"v=spf1 ip4:{AUTHOR_IP} -all"]]
    zone["example.com"]["_dmarc"] = [["txt", "v=DMARC1; p=reject"]]
    zone["lists.example.org"]["@"] = [["txt", f"v=spf1 ip4:{LIST_IP} -all"]]
    for domain, names in extra.items():
        zone.setdefault(domain, {}).update(names)
    return zone


def _original(body: str = "Shall we meet at noon?\r\n") -> bytes:
    return (
        f"From: Alice <{AUTHOR}>\r\nTo: {LIST}\r\nSubject: Lunch\r\n"
        "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <lunch@example.com>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n" + body
    ).encode()


def _received(client: str, ip: str, by: str) -> bytes:
    return (
        f"Received: from {client} ({client} [{ip}])\r\n by {by} with ESMTPS id 7;"
        " Tue, 14 Nov 2023 22:20:00 +0000\r\n"
    ).encode()


def through_the_list(*, receiver_results: str | None) -> bytes:
    """The author signs (DKIM1 and DKIM2), the list tags the Subject and adds a footer,
    signs DKIM2 with a recipe and seals ARC; mx.inbox.example receives it from the list."""
    signed = dkim1_sign(_original(), rsa_key("author"), domain="example.com", selector="dk1")
    hop1 = sign(
        signed,
        domain="example.com",
        keys=[signing_key("ed1")],
        timestamp=SIGN_TIME,
        mail_from=f"<{AUTHOR}>",
        rcpt_to=[f"<{LIST}>"],
    ).message
    at_list = _received("mail.example.com", AUTHOR_IP, "mx.lists.example.org") + hop1
    changed = append_body("-- ", "lunch list")(set_header("Subject", "[lunch] Lunch")(at_list))
    hop2 = sign(
        changed,
        domain="lists.example.org",
        keys=[signing_key("ed1")],
        timestamp=SIGN_TIME + 60,
        mail_from="<bounces@lists.example.org>",
        rcpt_to=["<bob@inbox.example>"],
        previous=at_list,
    ).message
    sealed = arc_seal(
        hop2,
        rsa_key("list"),
        domain="lists.example.org",
        selector="arc1",
        srv_id="mx.lists.example.org",
        results="dkim=pass header.d=example.com; spf=pass smtp.mailfrom=example.com",
    )
    delivered = _received("mail.lists.example.org", LIST_IP, "mx.inbox.example") + sealed
    if receiver_results is not None:
        delivered = (
            f"Authentication-Results: mx.inbox.example; {receiver_results}\r\n".encode() + delivered
        )
    return b"Return-Path: <bounces@lists.example.org>\r\n" + delivered


RECEIVER_SAW = (
    "dkim=fail (body hash did not verify) header.d=example.com header.s=dk1;"
    " spf=pass smtp.mailfrom=bounces@lists.example.org;"
    " dmarc=fail (p=REJECT dis=NONE) header.from=example.com; arc=pass"
)


def test_a_list_breaks_dkim1_and_dkim2_with_arc_vouches_for_the_author() -> None:
    raw = through_the_list(receiver_results=RECEIVER_SAW)
    report = analyze_message(raw, lookup=StaticResolver(_zone()), now=NOW)
    assert report.dkim1 is not None and report.arc is not None
    assert report.spf is not None and report.dmarc is not None and report.receivers is not None

    assert [(s.domain, s.result, s.failed_step) for s in report.dkim1.signatures] == [
        ("example.com", "fail", "body-hash")
    ]
    assert [(h.hop, h.domain, h.result.value) for h in report.dkim2.hops] == [
        (1, "example.com", "pass"),
        (2, "lists.example.org", "pass"),
    ]
    assert (report.arc.result, [i.sealer for i in report.arc.instances]) == (
        "pass",
        ["lists.example.org"],
    )
    # SPF: the client the receiver recorded, read back from its own Received field.
    assert (report.smtp.source, report.smtp.client_ip, report.smtp.mail_from) == (
        "reconstructed",
        LIST_IP,
        "bounces@lists.example.org",
    )
    assert (report.spf.result, report.spf.domain) == ("pass", "lists.example.org")
    # DMARC: only the DKIM2 chain vouches for example.com; RFC 9989 alone fails it.
    assert (report.dmarc.result, report.dmarc.result_without_dkim2) == ("pass", "fail")
    assert report.dmarc.disposition is None and report.dmarc.disposition_without_dkim2 == "reject"

    verdict = report.verdict
    assert (verdict.result, verdict.trusted) == ("pass", True)
    assert verdict.headline == (
        "Trusted: a DKIM2 signature by example.com vouches for example.com, so DMARC passes; "
        "example.com should keep signing with DKIM1 too, for receivers that do not count DKIM2 "
        "yet."
    )
    assert verdict.evidence == []  # nothing failed that the headline rests on
    assert verdict.points[:3] == [
        "DKIM2: 2 hops verified; lists.example.org changed Subject and added 2 body lines "
        "(-09 rules).",
        "The final receiver mx.inbox.example reports dmarc=fail together with arc=pass; "
        "dis=NONE under p=REJECT: it delivered the message although DMARC failed, because an "
        "ARC chain it trusts vouched for the message (RFC 8617 §7.2.1).",
        "Only DKIM2 authenticates the From domain: receivers that follow RFC 9989 alone, "
        "which does not count DKIM2 yet, would fail DMARC.",
    ]
    # Beside each mechanism, what the receiver recorded.
    assert [(m.mechanism, m.result, m.claimed) for m in verdict.mechanisms] == [
        ("dkim2", "pass", None),
        ("dkim1", "fail", "fail"),
        ("arc", "pass", "pass"),
        ("spf", "pass", "pass"),
        ("dmarc", "pass", "fail"),
    ]
    assert [(d.mechanism, d.claimed, d.found, d.cause) for d in verdict.disagreements] == [
        (
            "dmarc",
            "fail",
            "pass",
            "The receiver follows RFC 9989 alone, which does not count DKIM2 yet; dkim2web "
            "counts the DKIM2 chain, which vouches for the From domain.",
        )
    ]
    # The receiver delivered it although its own DMARC check failed: ARC vouched.
    assert report.receivers.arc_override is not None


def test_the_whole_report_is_json_of_schema_2_with_every_section() -> None:
    raw = through_the_list(receiver_results=RECEIVER_SAW)
    data = analyze_message(raw, lookup=StaticResolver(_zone()), now=NOW).to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["schema_version"] == SCHEMA_VERSION == 2
    assert set(data) == {
        "schema_version",
        "engine_version",
        "result",
        "summary",
        "verdict",
        "message",
        "smtp",
        "verified_at",
        "dkim2",
        "dkim1",
        "arc",
        "spf",
        "dmarc",
        "receivers",
        "received",
        "dns",
        "delivery_time",
        "dsn",
    }
    purposes = {p for answer in data["dns"] for p in answer["purposes"]}
    assert purposes == {"dkim2 key", "dkim1 key", "arc key", "spf", "dmarc"}
    # A key two mechanisms need is asked for once.
    names = [(a["name"], a["type"]) for a in data["dns"]]
    assert len(names) == len(set(names))


def _delivered_plain(*, extra_top: bytes = b"", signed_by: str | None = None) -> bytes:
    raw = _original()
    if signed_by is not None:
        raw = dkim1_sign(raw, rsa_key("author"), domain=signed_by, selector="dk1")
    return (
        extra_top
        + b"Return-Path: <bounce@example.com>\r\n"
        + _received("mail.example.com", AUTHOR_IP, "mx.inbox.example")
        + raw
    )


def test_dmarc_passes_by_spf_alone() -> None:
    report = analyze_message(_delivered_plain(), lookup=StaticResolver(_zone()), now=NOW)
    assert (report.spf and report.spf.result, report.dmarc and report.dmarc.result) == (
        "pass",
        "pass",
    )
    assert report.verdict.result == "pass"
    assert report.verdict.headline == (
        "Trusted: SPF for example.com vouches for example.com, so DMARC passes; nobody needs to "
        "act."
    )


def test_dmarc_passes_by_dkim1_alone() -> None:
    raw = dkim1_sign(_original(), rsa_key("author"), domain="example.com", selector="dk1")
    report = analyze_message(raw, lookup=StaticResolver(_zone()), now=NOW)
    assert report.spf is not None and report.spf.result == "none"  # no Received: no client
    assert report.verdict.headline == (
        "Trusted: a DKIM1 signature by example.com vouches for example.com, so DMARC passes; "
        "nobody needs to act."
    )


def test_a_signature_of_another_domain_does_not_vouch_for_the_from_domain() -> None:
    zone = _zone()
    publish(zone, "esp.example", "dk1", rsa_key("author"))
    raw = dkim1_sign(_original(), rsa_key("author"), domain="esp.example", selector="dk1")
    report = analyze_message(raw, lookup=StaticResolver(zone), now=NOW)
    assert report.verdict.result == "fail"
    assert report.verdict.headline == (
        "Not trusted: it is signed only by esp.example, not by example.com, so receivers are "
        "asked to reject it; the mail administrator of example.com must have its mail signed "
        "with its own domain."
    )
    # The evidence under the headline: DMARC's own finding, code and failure string.
    assert [(f.code, f.message) for f in report.verdict.evidence] == [
        ("dmarc.fail", "DMARC fail: no aligned identifier passed")
    ]


def test_without_a_dmarc_policy_a_signature_of_another_domain_is_neutral() -> None:
    zone = _zone()
    del zone["example.com"]["_dmarc"]
    publish(zone, "esp.example", "dk1", rsa_key("author"))
    raw = dkim1_sign(_original(), rsa_key("author"), domain="esp.example", selector="dk1")
    report = analyze_message(raw, lookup=StaticResolver(zone), now=NOW)
    assert (report.verdict.result, report.verdict.trusted) == ("neutral", False)
    assert report.verdict.headline == (
        "Authenticated, but not as example.com: a DKIM1 signature by esp.example vouches only "
        "for other domains, and example.com publishes no DMARC policy; the mail administrator "
        "of example.com should have its mail signed with its own domain."
    )


def test_a_trusted_receiver_said_pass_and_the_key_is_gone_now() -> None:
    said = "dkim=pass header.d=example.com header.s=dk1; spf=pass smtp.mailfrom=example.com"
    raw = _delivered_plain(
        extra_top=f"Authentication-Results: mx.inbox.example; {said}\r\n".encode(),
        signed_by="example.com",
    )
    zone = _zone()
    del zone["example.com"]["dk1._domainkey"]  # rotated away since the message arrived
    report = analyze_message(raw, lookup=StaticResolver(zone), now=NOW)
    dkim1 = [d for d in report.verdict.disagreements if d.mechanism == "dkim1"]
    assert [(d.subject, d.claimed, d.found, d.cause) for d in dkim1] == [
        (
            "DKIM1 signature of example.com (s=dk1)",
            "pass",
            "permerror",
            "The key was removed or replaced since the message was received: senders rotate "
            "DKIM keys, so old messages stop verifying.",
        )
    ]
    # SPF still passes, so DMARC does, and the message is trusted all the same.
    assert report.verdict.result == "pass"


def test_a_trusted_receiver_said_pass_and_the_body_changed_since() -> None:
    said = "dkim=pass header.d=example.com header.s=dk1"
    raw = _delivered_plain(
        extra_top=f"Authentication-Results: mx.inbox.example; {said}\r\n".encode(),
        signed_by="example.com",
    ).replace(b"Shall we meet at noon?", b"Shall we meet at one?")
    report = analyze_message(raw, lookup=StaticResolver(_zone()), now=NOW)
    [d] = [d for d in report.verdict.disagreements if d.mechanism == "dkim1"]
    assert (d.claimed, d.found) == ("pass", "fail")
    assert d.cause.startswith("The body changed after the receiver checked it")


def test_an_authentication_results_field_the_sender_wrote_is_not_a_claim() -> None:
    forged = b"Authentication-Results: mx.inbox.example; dkim=pass header.d=example.com\r\n"
    # Below the oldest Received: it was in the message before anyone received it.
    raw = _delivered_plain().replace(b"From: Alice", forged + b"From: Alice", 1)
    report = analyze_message(raw, lookup=StaticResolver(_zone()), now=NOW)
    assert report.receivers is not None
    assert [f.trust for f in report.receivers.fields] == ["untrusted"]
    assert report.receivers.claims == {}
    assert all(m.claimed is None for m in report.verdict.mechanisms)
    # The forged claim is named beside what re-verification finds.
    [forged] = report.verdict.disagreements
    assert (forged.mechanism, forged.claimed, forged.found) == ("dkim1", "pass", "none")
    assert forged.subject == (
        "An Authentication-Results field that cannot be trusted (mx.inbox.example)"
    )
    assert forged.cause.startswith("It is forged or copied: ")


def test_a_dns_failure_for_the_dmarc_record_leaves_the_verdict_undecided() -> None:
    zone = _zone()
    zone["example.com"]["_dmarc"] = [["servfail", ""]]
    report = analyze_message(_delivered_plain(), lookup=StaticResolver(zone), now=NOW)
    assert (report.dmarc and report.dmarc.result, report.verdict.result) == (
        "temperror",
        "temperror",
    )
    assert report.verdict.headline.startswith(
        "Not decided: DMARC could not be evaluated for example.com (temporarily)"
    )


def test_a_message_with_no_authentication_at_all_is_none() -> None:
    report = analyze_message(_original(), lookup=StaticResolver({}), now=NOW)
    assert (report.verdict.result, report.verdict.trusted) == ("none", None)
    assert report.verdict.headline == (
        "No authentication at all: the message carries no DKIM1, DKIM2 or ARC signature, and "
        "neither SPF nor DMARC could vouch for example.com; if it is genuine, the mail "
        "administrator of example.com should set up DKIM, SPF and DMARC."
    )


def test_the_smtp_session_the_intake_saw_is_what_spf_judges() -> None:
    seen = SmtpContext(
        client_ip="203.0.113.66",
        helo="mail.elsewhere.example",
        mail_from="bounce@example.com",
        rcpt_to=["bob@inbox.example"],
        source="smtp",
        detail="client 203.0.113.66: seen by the dkim2web mail intake",
    )
    report = analyze_message(_delivered_plain(), lookup=StaticResolver(_zone()), smtp=seen, now=NOW)
    assert report.spf is not None
    assert (report.spf.source, report.spf.ip, report.spf.result) == ("smtp", "203.0.113.66", "fail")
    # The Received field says the author's own server sent it; the session says otherwise,
    # and the session is what was seen.
    assert report.verdict.result == "fail"


def test_an_input_that_is_not_a_message_is_a_permerror() -> None:
    report = analyze_message(b"\x00" * 10 + b"\r\n\r\n", lookup=StaticResolver({}), now=NOW)
    assert report.verdict.result == "permerror"
    assert report.verdict.headline == (
        "Not decided: DMARC could not be evaluated for the From domain (permanently): the "
        "message has no From field, so there is no single Author Domain to check; the sending "
        "system must write exactly one From field with one address."
    )
    big = b"Subject: x\r\n\r\n" + b"x" * (25 * 1024 * 1024 + 1)
    report = analyze_message(big, lookup=StaticResolver({}), now=NOW)
    assert (report.verdict.result, report.dkim1, report.spf) == ("permerror", None, None)
    assert report.verdict.headline.startswith(
        "Not analysed: the input could not be read as an e-mail message"
    )


def test_a_report_stored_before_every_mechanism_reads_as_schema_2() -> None:
    old = {
        "schema_version": 1,
        "result": "pass",
        "summary": "Pass: 1 hop verified",
        "message": {"subject": "s"},
        "hops": [{"i": 1}],
        "dns": [{"name": "s._domainkey.example.com", "status": "found"}],
    }
    new = upgrade_report(old)
    assert new["schema_version"] == 2 and new["upgraded_from"] == 1
    assert (new["result"], new["summary"]) == ("pass", "Pass: 1 hop verified")
    assert new["dkim2"]["hops"] == [{"i": 1}] and new["message"] == {"subject": "s"}
    assert all(new[k] is None for k in ("dkim1", "arc", "spf", "dmarc", "receivers"))
    assert new["dns"] == [
        {
            "name": "s._domainkey.example.com",
            "status": "found",
            "type": "TXT",
            "purposes": ["dkim2 key"],
        }
    ]
    assert new["verdict"]["points"][0].startswith("This run checked DKIM2 only")
    assert upgrade_report(new) is new


# -- a real message, offline ---------------------------------------------------------------


def test_a_real_list_message_delivered_to_fastmail_offline(shared_dir: Path) -> None:
    """brong-final.eml: IETF list mail, resent through DKIM2 test hops, delivered to
    Fastmail. Offline (no zone) every key is missing, so only what needs no DNS holds: the
    body hashes, the receiver's testimony, the reconstructed envelope."""
    raw = (shared_dir / "interop/brong/brong-final.eml").read_bytes()
    report = analyze_message(raw, lookup=StaticResolver({}), now=1723080300)
    assert report.dkim1 is not None and report.receivers is not None
    assert [(s.domain, s.result, s.body_hash_matches) for s in report.dkim1.signatures] == [
        ("ietf.org", "permerror", True),
        ("ietf.org", "permerror", False),
        ("fastmailteam.com", "permerror", False),
        ("messagingengine.com", "permerror", False),
    ]
    assert (report.smtp.client_ip, report.smtp.helo, report.smtp.receiver) == (
        "50.223.129.194",
        "mail.ietf.org",
        "mx6.messagingengine.com",
    )
    assert report.receivers.receiver_authserv_id == "mx6.messagingengine.com"
    claims = {m.mechanism: m.claimed for m in report.verdict.mechanisms}
    assert claims == {
        "dkim2": None,
        "dkim1": "pass",
        "arc": "none",
        "spf": "pass",
        "dmarc": "pass",
    }
    # The receiver's own seal (i=1) came after its arc=none check: no disagreement there.
    assert [d.mechanism for d in report.verdict.disagreements] == ["dkim1", "spf", "dmarc"]
    assert report.verdict.result == "fail"


@pytest.mark.parametrize("hops", [0, 1])
def test_dkim2_hops_lend_their_domain_only_when_the_chain_verifies(hops: int) -> None:
    raw = sign(
        _original(),
        domain="example.com",
        keys=[signing_key("ed1")],
        timestamp=SIGN_TIME,
        mail_from=f"<{AUTHOR}>",
        rcpt_to=[f"<{LIST}>"],
    ).message
    zone = _zone() if hops else {"example.com": {"_dmarc": [["txt", "v=DMARC1; p=reject"]]}}
    report = analyze_message(raw, lookup=StaticResolver(zone), now=NOW)
    assert report.dmarc is not None
    assert report.dmarc.result == ("pass" if hops else "fail")
