"""The result page of a finished analysis shows every section, with the exact values of a real
run of the engine over the shared worked example (two hops: example.com signs, the list
lists.example.org tags the Subject, adds List-Id and a footer, and signs again)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from analysis.resolvers import StaticResolver
from dkim2web.reports import services
from dkim2web.reports.models import Analysis

CLOCK = 1790000180.0  # one minute after hop 2 signed: every signature is fresh


def worked_example_zone(shared_dir: Path) -> dict[str, str]:
    zone = {}
    text = (shared_dir / "vectors/worked-example/dns-records.txt").read_text()
    for line in text.splitlines():
        name, record = re.fullmatch(r'(\S+?)\.? IN TXT "(.*)"', line).groups()
        zone[name] = record
    return zone


@pytest.fixture
def done(alice: Any, shared_dir: Path) -> Analysis:
    raw = (shared_dir / "vectors/worked-example/hop2-list-final.eml").read_bytes()
    stored = services.analysis_submit(
        raw=raw, filename="hop2-list-final.eml", owner=alice, enqueue=False
    )
    lookup = StaticResolver(worked_example_zone(shared_dir), clock=lambda: CLOCK)
    assert services.analysis_run(analysis_id=stored.pk, lookup=lookup, now=CLOCK) is not None
    stored.refresh_from_db()
    assert stored.status == Analysis.Status.DONE, stored.error
    return stored


@pytest.fixture
def page(done: Analysis, alice_client: Client) -> str:
    response = alice_client.get(reverse("reports:detail", args=[done.pk]))
    assert response.status_code == 200
    assert [t.name for t in response.templates][:2] == ["reports/result.html", "base.html"]
    return response.content.decode()


def squeeze(html: str) -> str:
    """The page with every run of whitespace made one space, for assertions over markup."""
    return re.sub(r"\s+", " ", html)


@pytest.mark.django_db
def test_the_first_line_is_the_verdict_in_words_coloured_by_result(page: str) -> None:
    verdict = page.index('<section class="verdict verdict-pass"')
    assert page.index("<main>") < verdict < page.index('<dl class="message-summary">')
    assert '<p class="verdict-label">Trusted</p>' in page
    assert (
        '<h1 id="verdict-summary" class="verdict-summary">Authenticated: a DKIM2 signature by '
        "example.com vouches for example.com; the DNS administrator of example.com should "
        "publish a DMARC policy, so receivers can refuse forgeries.</h1>"
    ) in page
    assert (
        '<ul class="verdict-points"><li>DKIM2: 2 hops verified; lists.example.org changed '
        "Subject, added List-Id and added 2 body lines (-09 rules).</li><li>example.com "
        "publishes no DMARC policy, so receivers enforce nothing and anyone can send in its name "
        "unchallenged.</li></ul>"
    ) in page
    assert "What to do:" not in page  # nothing to do when it passed


@pytest.mark.django_db
def test_the_message_summary_names_subject_sender_and_file(page: str) -> None:
    text = squeeze(page)
    assert "<dt>Subject</dt> <dd>[list] Hello list</dd>" in text
    assert "<dt>From</dt> <dd>Alice &lt;alice@example.com&gt;</dd>" in text
    assert "<dt>Message-ID</dt> <dd>&lt;hello-1@example.com&gt;</dd>" in text
    assert '<span class="filename">hop2-list-final.eml</span>, 1.4 KB' in text


@pytest.mark.django_db
def test_the_timeline_shows_each_hop_oldest_first(page: str) -> None:
    text = squeeze(page)
    hop1, hop2 = text.index('id="hop-1"'), text.index('id="hop-2"')
    assert hop1 < hop2
    first, second = text[hop1:hop2], text[hop2 : text.index('id="changes"')]

    assert (
        '<h3 class="hop-domain">example.com</h3> <a class="hop-link" href="#hop-1" '
        'aria-label="Link to hop 1">#</a> <span class="badge badge-pass">Pass</span>' in first
    )
    assert "Originator: signed the message and recorded it as instance m=1." in first
    assert (
        '<time>2026-09-21 14:13:20 UTC</time> <span class="muted">first signature</span>' in first
    )
    assert (
        '<span class="label">MAIL FROM</span> <code>&lt;alice@example.com&gt;</code> '
        '<span class="arrow" aria-label="to">→</span> <span class="label">RCPT TO</span> '
        "<code>&lt;list@lists.example.org&gt;</code>"
    ) in first
    assert (
        '<span class="badge badge-pass">Pass</span> selector <code>ed1</code>, '
        "ed25519-sha256, 256-bit key"
    ) in first

    assert '<h3 class="hop-domain">lists.example.org</h3>' in second
    assert "Changed the message: recorded the result as instance m=2" in second
    assert (
        '<time>2026-09-21 14:15:20 UTC</time> <span class="delay">+2 min after hop 1</span>'
        in second
    )
    assert "<code>&lt;list-bounces@lists.example.org&gt;</code>" in second
    assert "<code>&lt;bob@example.net&gt;</code>" in second
    assert "selector <code>rsa1</code>, rsa-sha256, 2048-bit key" in second
    assert "<li><code>exploded</code> — this hop sent the message to several recipients" in second


@pytest.mark.django_db
def test_custody_links_are_drawn_between_hops(page: str) -> None:
    text = squeeze(page)
    link = text.index('<div class="custody custody-ok">')
    assert text.index('id="hop-1"') < link < text.index('id="hop-2"')
    assert text.count('class="custody ') == 1  # one link between two hops
    assert (
        '<span class="custody-mark">Custody passed on</span> <span class="custody-text">'
        "hop i=1 (example.com) sent the message to &lt;list@lists.example.org&gt;; this "
        "hop&#x27;s MAIL FROM is at that domain.</span>"
    ) in text


@pytest.mark.django_db
def test_each_finding_has_its_catalogue_explanation_in_details(page: str) -> None:
    text = squeeze(page)
    hop2 = text[text.index('id="hop-2"') : text.index('id="changes"')]
    assert '<details class="finding finding-info">' in hop2
    assert "The SMTP envelope was not checked" in hop2
    for heading in ("What was checked", "What was found", "Who should fix what", "Rule"):
        assert f"<dt>{heading}</dt>" in hop2
    assert "code <code>envelope.not-checked</code> · hop i=2" in hop2


@pytest.mark.django_db
def test_the_changes_section_names_the_hop_and_shows_header_and_body_diffs(page: str) -> None:
    text = squeeze(page)
    changes = text[text.index('id="changes"') : text.index('id="dkim1"')]
    assert (
        '<h3>m=1 → m=2: changed by <a href="#hop-2">hop 2</a> (lists.example.org)</h3>'
    ) in changes
    assert "Not explained by the recipes" not in changes
    assert "<del>Hello   list</del>" in page  # the value's own blanks are kept
    assert (
        '<tr class="change-changed"> <td class="mono">Subject</td> <td>changed</td> '
        '<td class="mono wrap"><del>Hello list</del></td> '
        '<td class="mono wrap"><ins>[list] Hello list</ins></td> </tr>'
    ) in changes
    assert (
        '<tr class="change-added"> <td class="mono">List-Id</td> <td>added</td> '
        '<td class="mono wrap">—</td> '
        '<td class="mono wrap"><ins>Test list &lt;list.lists.example.org&gt;</ins></td> </tr>'
    ) in changes
    assert (
        '<pre class="udiff mono"><span class="l-file">--- before</span>'
        '<span class="l-file">+++ after</span><span class="l-hunk">@@ -1,3 +1,5 @@</span>'
        '<span class="l-context"> Hi all,</span><span class="l-context"> </span>'
        '<span class="l-context"> This is a test.</span><span class="l-add">+-- </span>'
        '<span class="l-add">+list footer</span></pre>'
    ) in changes


@pytest.mark.django_db
def test_the_dns_evidence_table_lists_every_answer_and_its_use(page: str, shared_dir: Path) -> None:
    text = squeeze(page)
    dns = text[text.index('id="dns"') : text.index('id="envelope"')]
    zone = worked_example_zone(shared_dir)
    for name in ("ed1._domainkey.example.com", "rsa1._domainkey.lists.example.org"):
        assert f"<div>{zone[name]}</div>" in dns
    rows = re.findall(
        r'<td class="mono wrap" data-label="Name">([^<]+)</td> <td data-label="Type">(\w+)</td>',
        dns,
    )
    assert rows == [
        ("ed1._domainkey.example.com", "TXT"),
        ("rsa1._domainkey.lists.example.org", "TXT"),
        # DMARC: the From domain's tree walk, then the Organizational Domain of the list's
        # d= (RFC 9989 §4.10.2), to say whether that hop aligns.
        ("_dmarc.example.com", "TXT"),
        ("_dmarc.com", "TXT"),
        ("_dmarc.lists.example.org", "TXT"),
        ("_dmarc.example.org", "TXT"),
        ("_dmarc.org", "TXT"),
    ]
    assert dns.count('<td class="small" data-label="Used for">dkim2 key</td>') == 2
    assert dns.count('<td class="small" data-label="Used for">dmarc</td>') == 5
    assert dns.count('<span class="badge badge-pass">found</span>') == 2
    assert dns.count('<span class="badge badge-permerror">nxdomain</span>') == 5
    assert dns.count('<span class="muted">static</span>') == 7


@pytest.mark.django_db
def test_the_envelope_section_says_not_checked_and_offers_a_rerun(
    page: str, done: Analysis
) -> None:
    text = squeeze(page)
    envelope = text[text.index('id="envelope"') : text.index('id="raw"')]
    assert "<strong>Not checked.</strong>" in envelope
    assert (
        "The newest signature says the message was sent with MAIL FROM "
        "<code>&lt;list-bounces@lists.example.org&gt;</code> to RCPT TO "
        "<code>&lt;bob@example.net&gt;</code>."
    ) in envelope
    assert f'action="{reverse("reports:envelope", args=[done.pk])}"' in envelope
    assert "Analyse again with this envelope" in envelope


@pytest.mark.django_db
def test_the_raw_message_is_shown_with_dkim2_fields_highlighted(page: str) -> None:
    # Focusable and named, so a keyboard can scroll it (WCAG 2.1.1).
    start = '<pre class="raw mono" tabindex="0" role="region" aria-label="The raw message">'
    raw = page[page.index(start) : page.index("</pre>", page.index(start))]
    assert raw.count('<span class="raw-field raw-dkim2">') == 4
    assert (
        '<span class="raw-field raw-dkim2"><span class="raw-name">DKIM2-Signature</span>: '
        "i=2; m=2; t=1790000120; d=lists.example.org;\n"
    ) in raw
    assert (
        '<span class="raw-field"><span class="raw-name">List-Id</span>: Test list '
        "&lt;list.lists.example.org&gt;\n</span>"
    ) in raw
    assert '<span class="raw-body">Hi all,\n\nThis is a test.\n-- \nlist footer\n</span>' in raw


@pytest.mark.django_db
def test_the_runs_section_shows_engine_and_draft_and_a_rerun_button(
    page: str, done: Analysis
) -> None:
    from analysis import dkim2 as engine
    from analysis.message_report import ENGINE_VERSION

    text = squeeze(page)
    runs = text[text.index('id="runs"') : text.index('id="downloads"')]
    assert f"This run: draft <code>{engine.DRAFT}</code>, engine {ENGINE_VERSION}" in runs
    assert "verified at 2026-09-21 14:16:20 UTC" in runs
    assert runs.count("<tr") == 2  # the header row and the one run
    assert '<span class="badge badge-pass">Pass</span>' in runs
    assert f'<form method="post" action="{reverse("reports:rerun", args=[done.pk])}">' in runs
    assert "Re-run analysis</button>" in runs


@pytest.mark.django_db
def test_the_downloads_section_links_every_file_and_shows_the_ar_field(
    page: str, done: Analysis
) -> None:
    text = squeeze(page)
    downloads = text[text.index('id="downloads"') :]
    for href in (
        reverse("reports:raw", args=[done.pk]),
        reverse("reports:instance", args=[done.pk, 1]),
        reverse("reports:instance", args=[done.pk, 2]),
        reverse("reports:report_json", args=[done.pk]),
        reverse("reports:authres", args=[done.pk]),
    ):
        assert f'href="{href}"' in downloads
    assert '<span class="muted">.eml, rebuilt from the recipes, made by hop 1</span>' in downloads
    assert (
        '<pre class="authres mono wrap" id="authres-text">Authentication-Results: testserver;\n'
        "  spf=none (no client address known);\n"
        "  dkim=none;\n"
        "  arc=none;\n"
        "  dmarc=none header.from=example.com;\n"
        "  dkim2=pass (-09 rules) (i=1 example.com pass,\n"
        "   i=2 lists.example.org pass) header.d=example.com</pre>"
    ) in page
    assert f'href="{reverse("reports:delete", args=[done.pk])}"' in text


@pytest.mark.django_db
def test_the_section_navigation_links_every_section(page: str) -> None:
    for anchor in (
        "glance",
        "timeline",
        "changes",
        "dkim1",
        "arc",
        "spf",
        "dmarc",
        "receivers",
        "received",
        "dns",
        "envelope",
        "raw",
        "runs",
        "downloads",
    ):
        assert f'<a href="#{anchor}">' in page
        assert f'<section id="{anchor}" class="section"' in page


@pytest.mark.django_db
def test_the_owner_is_offered_a_share_link(page: str, done: Analysis) -> None:
    assert f'<a href="{reverse("sharing:manage", args=[done.pk])}">Share…</a>' in page
