"""An uploaded bounce: its recipients and status in words, and the returned message analysed on
its own, owned like the upload and linked from the bounce's page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from analysis.resolvers import StaticResolver
from dkim2web.accounts import services as accounts
from dkim2web.intake import services as intake
from dkim2web.intake.testing import bounce, message
from dkim2web.reports import services
from dkim2web.reports.models import Analysis, AnalysisRun
from dkim2web.reports.selectors import ANON_SESSION_KEY

pytestmark = pytest.mark.django_db

ORIGINAL = message(
    sender="Alice <alice@origin.example>",
    to="bob@forwarder.example",
    subject="Quarterly figures",
    body="The figures are on the portal.\r\n",
    when=1_733_217_000,
    msgid="figures.1@origin.example",
)
BOUNCE = bounce(ORIGINAL, signer=None, to="<alice@origin.example>", when=1_733_217_300)

SUMMARY = (
    "Not delivered to bob@forwarder.example: the mailbox does not exist (the part of the "
    "address before the @ is wrong) — 5.1.1 Bad destination mailbox address."
)


def squeeze(html: str) -> str:
    return re.sub(r"\s+", " ", html)


def run(analysis: Analysis) -> None:
    assert services.analysis_run(analysis_id=analysis.pk, lookup=StaticResolver({}), now=0)
    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.DONE, analysis.error


def upload(client: Client, data: bytes, name: str = "bounce.eml") -> Any:
    return client.post(
        reverse("reports:new"),
        {"files": SimpleUploadedFile(name, data, content_type="message/rfc822")},
    )


def test_an_uploaded_bounce_shows_its_recipient_and_links_the_returned_message(
    alice: Any, alice_client: Client
) -> None:
    response = upload(alice_client, BOUNCE)
    the_bounce = Analysis.objects.get(filename="bounce.eml")
    returned = Analysis.objects.get(filename="returned-Quarterly-figures.eml")
    assert response["Location"] == reverse("reports:detail", args=[the_bounce.pk])
    assert returned.raw_bytes == ORIGINAL and returned.owner == alice
    assert (returned.mail_from, returned.rcpt_to) == ("", [])
    run(the_bounce)
    run(returned)

    page = squeeze(alice_client.get(response["Location"]).content.decode())
    section = page[
        page.index('<section id="bounce"') : page.index(
            "</section>", page.index('<section id="bounce"')
        )
    ]
    assert f'<p class="lead dsn-summary">{SUMMARY}</p>' in section
    assert "<dt>Reported by</dt><dd><code>mx.forwarder.example</code></dd>" in section
    assert (
        '<h3 class="hop-domain">bob@forwarder.example</h3> '
        '<span class="badge badge-fail">Not delivered</span>'
    ) in section
    assert (
        "<dt>Status</dt> <dd><code>5.1.1</code> Bad destination mailbox address<br>Permanent "
        "failure: the mailbox does not exist (the part of the address before the @ is "
        "wrong).</dd>"
    ) in section
    assert "<dt>Who can act</dt><dd>The sender: check the address and send again.</dd>" in section
    assert (
        '<dt>The server\'s reply</dt> <dd><code class="wrap">550 5.1.1 no such user</code></dd>'
    ) in section
    link = reverse("reports:detail", args=[returned.pk])
    assert (
        f'<p class="dsn-returned">Analysed on its own: <a href="{link}">'
        "returned-Quarterly-figures.eml</a> "
        '<span class="badge badge-none">None</span></p>'
    ) in section
    assert '<a href="#bounce">Bounce</a>' in page
    # Above the verdict, which is about the bounce message's own authentication.
    lead = (
        f'<p class="notice dsn-lead"><strong>This message is a bounce:</strong> {SUMMARY} '
        '<a href="#bounce">Who did not get it, and why</a>. The message it returned is '
        f'analysed on its own: <a href="{link}">returned-Quarterly-figures.eml</a>. The '
        "verdict below is about the bounce itself: whether its sender is authenticated.</p>"
    )
    assert lead in page
    assert page.index(lead) < page.index('<section class="verdict')


def test_an_anonymous_upload_remembers_both_in_the_session_and_nobody_else_sees_them(
    client: Client, alice_client: Client
) -> None:
    response = upload(client, BOUNCE)
    the_bounce = Analysis.objects.get(filename="bounce.eml")
    returned = Analysis.objects.get(filename="returned-Quarterly-figures.eml")
    assert (the_bounce.owner, returned.owner) == (None, None)
    assert client.session[ANON_SESSION_KEY] == [str(the_bounce.pk), str(returned.pk)]
    run(the_bounce)
    page = client.get(response["Location"]).content.decode()
    assert reverse("reports:detail", args=[returned.pk]) in page
    # Another visitor gets a 404 for either, and the bounce's page is not theirs to see.
    for analysis in (the_bounce, returned):
        assert alice_client.get(reverse("reports:detail", args=[analysis.pk])).status_code == 404


def test_the_bounce_page_never_links_someone_elses_copy_of_the_same_message(
    alice: Any, bob: Any, alice_client: Client
) -> None:
    services.analysis_submit(raw=ORIGINAL, filename="bobs.eml", owner=bob, enqueue=False)
    the_bounce = services.analysis_submit(
        raw=BOUNCE, filename="bounce.eml", owner=alice, enqueue=False
    )
    run(the_bounce)
    page = squeeze(
        alice_client.get(reverse("reports:detail", args=[the_bounce.pk])).content.decode()
    )
    assert "bobs.eml" not in page
    # Instead: a control that analyses it for alice.
    action = reverse("reports:returned", args=[the_bounce.pk])
    assert f'<form method="post" action="{action}" class="dsn-returned">' in page
    assert (
        f"The bounce returned the message “Quarterly figures” ({len(ORIGINAL)} bytes), and it "
        "has no analysis of its own here. "
        '<button type="submit">Analyse the returned message</button>'
    ) in page
    response = alice_client.post(action)
    made = Analysis.objects.get(owner=alice, filename="returned-Quarterly-figures.eml")
    assert response["Location"] == reverse("reports:detail", args=[made.pk])
    assert made.raw_bytes == ORIGINAL
    again = alice_client.get(reverse("reports:detail", args=[the_bounce.pk])).content.decode()
    assert reverse("reports:detail", args=[made.pk]) in again


def test_text_from_the_bounce_is_escaped(alice: Any, alice_client: Client) -> None:
    hostile = BOUNCE.replace(
        b"Diagnostic-Code: smtp; 550 5.1.1 no such user",
        b"Diagnostic-Code: smtp; 550 5.1.1 <script>alert(1)</script>",
    ).replace(
        b"Final-Recipient: rfc822; bob@forwarder.example",
        b'Final-Recipient: rfc822; "><img src=x>@x.example',
    )
    analysis = services.analysis_submit(raw=hostile, owner=alice, enqueue=False)
    run(analysis)
    page = alice_client.get(reverse("reports:detail", args=[analysis.pk])).content.decode()
    assert "<script>alert(1)" not in page and "<img src=x>" not in page
    assert "550 5.1.1 &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&quot;&gt;&lt;img src=x&gt;@x.example" in page


def test_a_report_stored_before_bounces_were_read_renders_without_the_section(
    alice: Any, alice_client: Client
) -> None:
    analysis = services.analysis_submit(raw=BOUNCE, owner=alice, enqueue=False)
    run(analysis)
    stored = AnalysisRun.objects.get(analysis=analysis)
    report = dict(stored.report)
    report.pop("dsn")
    AnalysisRun.objects.filter(pk=stored.pk).update(report=report)
    response = alice_client.get(reverse("reports:detail", args=[analysis.pk]))
    assert response.status_code == 200
    assert 'id="bounce"' not in response.content.decode()


def test_a_plain_upload_makes_one_analysis_and_no_section(alice: Any, alice_client: Client) -> None:
    upload(alice_client, ORIGINAL, "plain.eml")
    [analysis] = Analysis.objects.all()
    run(analysis)
    assert (
        'id="bounce"'
        not in alice_client.get(reverse("reports:detail", args=[analysis.pk])).content.decode()
    )


def test_the_api_stores_a_bounces_returned_message_too(alice: Any) -> None:
    _, key = accounts.api_token_create(user=alice, name="t")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = api.post(reverse("api:analyses"), data=BOUNCE, content_type="message/rfc822")
    assert response.status_code == 201
    returned = Analysis.objects.exclude(pk=response.json()["id"]).get()
    assert (returned.raw_bytes, returned.owner, returned.filename) == (
        ORIGINAL,
        alice,
        "returned-Quarterly-figures.eml",
    )


@pytest.mark.django_db(transaction=True)
def test_the_mailbox_bounce_page_shows_the_section_and_links_its_returned_part(
    alice: Any, alice_client: Client
) -> None:
    address = intake.intake_address_get_or_create(user=alice)
    [stored] = intake.delivery_store(
        raw=BOUNCE,
        envelope=intake.SmtpEnvelope(
            mail_from="<>", client_ip="127.0.0.1", received_at=timezone.now()
        ),
        recipients=[intake.Recipient(address.address, address.pk, alice.pk)],
        enqueue=False,
    )
    the_bounce, returned = stored.analyses
    run(the_bounce)
    page = squeeze(
        alice_client.get(reverse("reports:detail", args=[the_bounce.pk])).content.decode()
    )
    assert f'<p class="lead dsn-summary">{SUMMARY}</p>' in page
    assert (
        f'Analysed on its own: <a href="{reverse("reports:detail", args=[returned.pk])}">' in page
    )
    # The intake panel keeps its backscatter verdict, without repeating the recipients.
    assert "Bounce check" in page
    assert "The bounce reports" not in page
