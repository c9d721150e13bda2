"""The verdict's headline: one sentence in plain words first (what happened, who must act),
then "What to do" for the person reading, then the evidence (finding codes and failure
strings) and the spec references; notes that change nothing never reach either line."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from analysis.headline import is_plain
from analysis.resolvers import StaticResolver
from dkim2web.reports import services
from dkim2web.reports.models import Analysis
from dkim2web.samples.gallery import SAMPLES, get_sample

pytestmark = pytest.mark.django_db

TRUSTED_ORIGIN = (
    "Trusted: a DKIM2 signature by origin.example vouches for origin.example, so DMARC passes; "
    "origin.example should keep signing with DKIM1 too, for receivers that do not count DKIM2 "
    "yet."
)
BODY_FIX = (
    "What to do: The operator of the system that changed the body after it was signed: record "
    "the change, with a recipe that undoes it, in a new signed version of the message. Signers "
    "should sign as the last step before sending, in the form the message has on the wire."
)
DMARC_FAIL = "dmarc.fail DMARC fail: no aligned identifier passed"
DMARC_SPEC = "RFC 9989 §5.3.5, §5.3.6"

#: Per sample: the headline, "What to do", the evidence line and the spec line (None: absent).
EXPECTED: dict[str, tuple[str, str | None, str | None, str | None]] = {
    "clean-list": (TRUSTED_ORIGIN, None, None, None),
    "list-without-recipe": (
        "Not trusted: the body was changed after lists.example signed it (a footer appended at "
        "the end of the body or of a MIME part) without recording the change, so receivers are "
        "asked to reject it; lists.example, or a mail system after it, must record its changes.",
        BODY_FIX,
        "Evidence: hash.body-mismatch FAIL: Message Instance m=1 body hash sha256 mismatch "
        f"(hop 1); {DMARC_FAIL}",
        f"Spec: S06 §6.1, §11.7; {DMARC_SPEC}",
    ),
    "replayed": (
        "Not trusted: it was delivered to a recipient that forwarder.example, the last signer, "
        "never sent it to, so receivers are asked to reject it; a forwarder that changed the "
        "recipients must sign again after doing so, otherwise treat the message as replayed.",
        "What to do: The operator of the forwarder that changed the recipients: sign after "
        "expanding aliases, listing the new recipients. The receiver should verify at its "
        "border server, before its own alias expansion. If no hop explains the recipient, "
        "treat the message as replayed.",
        "Evidence: custody.rcpt-to-mismatch FAIL: DKIM2-Signature i=3 RCPT TO "
        f"<carol@inbox.example> did not match (hop 3); {DMARC_FAIL}",
        f"Spec: S06 §11.4; {DMARC_SPEC}",
    ),
    "tampered": (
        "Not trusted: the body was changed after billing.example signed it, so receivers are "
        "asked to treat it as spam; a mail system on the way must record its changes, or the "
        "message was tampered with.",
        BODY_FIX,
        "Evidence: hash.body-mismatch FAIL: Message Instance m=1 body hash sha256 mismatch "
        f"(hop 1); {DMARC_FAIL}",
        f"Spec: S06 §6.1, §11.7; {DMARC_SPEC}",
    ),
    "expired": (
        "Not trusted: the signature news.example added is more than 14 days old; nobody needs "
        "to act if this is simply an old copy.",
        "What to do: If this is an archived copy, nobody needs to change anything: re-run the "
        "analysis as of the time the message arrived to see how it was judged then. If it had "
        "already expired when it arrived, the signing domain's operator must keep its clock "
        "right, and the operator that delayed it must not deliver old mail without checking it "
        "again.",
        f"Evidence: sig.expired FAIL: DKIM2-Signature i=1 signature expired (hop 1); {DMARC_FAIL}",
        f"Spec: S06 §8.4, §11.3; {DMARC_SPEC}",
    ),
    "broken-custody": (
        "Not trusted: relay.example passed it on although origin.example never sent it to "
        "relay.example, so receivers are asked to reject it; relay.example's mail operator "
        "must fix how it hands messages on.",
        "What to do: The operator of the later hop: when sending from another domain than the "
        "one the message arrived for, first sign it as the arrival domain, naming the sending "
        "domain as the next signer; or send with a sender address in the arrival domain.",
        "Evidence: custody.chain-link FAIL: DKIM2-Signature i=2 custody MAIL FROM "
        f"<bounces@relay.example> does not follow from i=1 (hop 2); {DMARC_FAIL}",
        "Spec: SPEC-09-NOTES 1.13 (CustodyMailFromMismatch, CustodyDomainMismatch), as "
        "implemented by Stalwart mail-auth 0.14 (1 source; draft text not public); "
        f"{DMARC_SPEC}",
    ),
    "real-mail": (TRUSTED_ORIGIN, None, None, None),
    "groups-mldsa44": (TRUSTED_ORIGIN, None, None, None),
    "mixed-revisions": (
        "Not trusted: billing.example signed it by the rules of an older DKIM2 draft, which "
        "fail under the rules used here, so receivers are asked to treat it as spam; "
        "billing.example must upgrade its DKIM2 software.",
        "What to do: The DKIM2 software of the hop that made this version of the message "
        "follows the rules of another draft revision: its operator must upgrade it to the "
        "revision receivers follow. To see how each revision judges the message, re-run the "
        "analysis under that revision.",
        "Evidence: draft.header-hash-revision Message Instance m=1 header hash matches the "
        "rules of draft-ietf-dkim-dkim2-spec-07; hash.header-mismatch FAIL: Message Instance "
        f"m=1 header hash sha256 mismatch (hop 1); {DMARC_FAIL}",
        "Spec: S06 §4; SPEC-NOTES §3.1; SPEC-09-NOTES 1.8; S06 §6.2, §11.7; -09 unsigned "
        "fields: SPEC-09-NOTES 1.8 (-08 §4.1), as implemented by mailauth 8.0.5, "
        f"croessner/dkim2 v0.1.49 (2 sources; draft text not public); {DMARC_SPEC}",
    ),
}

# What the line-end note advises (analysis/explanations/dkim2.py, message.lf-line-ends).
LF_NOTE_FIX = "Nothing needs fixing: the conversion restores the wire form"


def text_of(body: str, tag: str, css: str) -> str | None:
    """The text of the first ``<tag class="css">`` of the page, tags dropped; None: absent."""
    found = re.search(rf'<{tag}[^>]*class="{css}"[^>]*>(.*?)</{tag}>', body, re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))) if found else None


def verdict_section(body: str) -> str:
    start = body.index('<section class="verdict verdict-')
    return body[start : body.index("</section>", start)]


def lines(body: str) -> tuple[str | None, ...]:
    return tuple(
        text_of(body, tag, css)
        for tag, css in (
            ("h1", "verdict-summary"),
            ("p", "verdict-action"),
            ("p", "verdict-evidence"),
            ("p", "verdict-spec"),
        )
    )


def run_sample(client: Client, slug: str, capture: Any) -> str:
    with capture(execute=True):  # the run is queued after the commit, and runs in-process
        response = client.post(reverse("samples:run", args=[slug]))
    assert response.status_code == 302
    return client.get(response["Location"]).content.decode()


def test_every_sample_is_covered() -> None:
    assert list(EXPECTED) == [s.slug for s in SAMPLES]


@pytest.mark.parametrize("slug", list(EXPECTED))
def test_each_sample_leads_with_one_plain_sentence_then_the_evidence(
    client: Client, slug: str, django_capture_on_commit_callbacks: Any
) -> None:
    body = run_sample(client, slug, django_capture_on_commit_callbacks)
    assert lines(body) == EXPECTED[slug]
    headline, action, _, _ = EXPECTED[slug]
    # No spec language in the sentence or the advice: no tags, no sections, no commands.
    assert is_plain(headline)
    assert action is None or is_plain(action)
    # The sentence comes first; the evidence and the spec after it.
    section = verdict_section(body)
    if action is not None:
        assert section.index("verdict-summary") < section.index("verdict-action")
        assert section.index("verdict-action") < section.index("verdict-evidence")
        assert section.index("verdict-evidence") < section.index("verdict-spec")


def _stored(raw: bytes, owner: Any, lookup: Any = None, **envelope: Any) -> Analysis:
    analysis = services.analysis_submit(raw=raw, owner=owner, enqueue=False, **envelope)
    services.analysis_run(analysis_id=analysis.pk, lookup=lookup)
    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.DONE, analysis.error
    return analysis


def test_a_message_saved_with_lf_line_ends_keeps_its_verdict_and_advice(
    alice: Any, alice_client: Client
) -> None:
    built = get_sample("tampered").sign_now()
    saved = built.raw.replace(b"\r\n", b"\n")
    analysis = _stored(saved, alice, mail_from=built.mail_from, rcpt_to=built.rcpt_to)
    body = alice_client.get(reverse("reports:detail", args=[analysis.pk])).content.decode()
    assert lines(body) == EXPECTED["tampered"]
    assert LF_NOTE_FIX not in verdict_section(body)
    # The note is still on the page, among the findings about the message as a whole.
    assert "Line ends were converted from LF to CRLF" in body


def test_mail_sent_with_curl_gets_the_real_advice_not_the_line_end_note(
    alice: Any, alice_client: Client
) -> None:
    raw = (
        b"From: someone@example.org\nTo: you@example.net\nSubject: sent with curl\n"
        b"Message-ID: <curl-1@example.org>\n\nhello\n"
    )
    analysis = _stored(raw, alice, lookup=StaticResolver({}))  # offline: no record at all
    body = alice_client.get(reverse("reports:detail", args=[analysis.pk])).content.decode()
    assert lines(body) == (
        "No authentication at all: the message carries no DKIM1, DKIM2 or ARC signature, and "
        "neither SPF nor DMARC could vouch for example.org; if it is genuine, the mail "
        "administrator of example.org should set up DKIM, SPF and DMARC.",
        "What to do: The operator of the sending domain: sign outgoing mail with DKIM (and "
        "DKIM2), publish an SPF record and a DMARC policy.",
        "Evidence: verdict.no-authentication The message carries no authentication",
        "Spec: RFC 9989 §4",
    )
    assert LF_NOTE_FIX not in verdict_section(body)
    assert text_of(body, "p", "verdict-why") == (
        "Why: The message carries no authentication (details). Responsible: the originating system."
    )


def test_a_change_that_copying_makes_blames_the_copy_not_a_hop(
    alice: Any, alice_client: Client
) -> None:
    built = get_sample("clean-list").sign_now()
    head, _, body = built.raw.partition(b"\r\n\r\n")
    first, rest = body.split(b"\r\n", 1)
    copied = head + b"\r\n\r\n" + first + b"  \r\n" + rest  # a copy added trailing spaces
    analysis = _stored(copied, alice, mail_from=built.mail_from, rcpt_to=built.rcpt_to)
    page = alice_client.get(reverse("reports:detail", args=[analysis.pk])).content.decode()
    assert lines(page) == (
        "Not trusted: your copy changed the body (whitespace at line ends changed), so it no "
        "longer matches what forwarder.example signed; upload the original file.",
        "What to do: Upload the original file: save the message from the mailbox exactly as it "
        'was delivered ("Show original", "Download message" or "Save as .eml" in most mail '
        "programs) rather than copying its text, and analyse that. What your copy changed is "
        "shown under What each hop changed.",
        # The newest instance that fails first: the change came after its last signer.
        "Evidence: hash.body-mismatch FAIL: Message Instance m=2 body hash sha256 mismatch "
        "(hop 2); hash.body-mismatch FAIL: Message Instance m=1 body hash sha256 mismatch "
        f"(hop 1); {DMARC_FAIL}",
        f"Spec: S06 §6.1, §11.7; {DMARC_SPEC}",
    )
