"""The "Delivery time" section of the result page: the total in plain words, each hop's delay
with the long one highlighted, the server-drawn chart, the clocks that cannot be right, and
each signature on the hop that added it; a run stored before the section existed renders
without it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from analysis.delivery_time import delivery_time
from analysis.message import parse_message
from analysis.received import read_received
from analysis.resolvers import StaticResolver
from dkim2web.reports import services
from dkim2web.reports.delivery_time_views import CHART_MAX_ROWS, delivery_time_view
from dkim2web.reports.models import Analysis, AnalysisRun
from tests.support.delivery_traces import THROUGH_THE_LIST, long_trace, message

CLOCK = 1772532000 + 3600  # an hour after the message arrived


def analysed(owner: Any, raw: bytes) -> Analysis:
    stored = services.analysis_submit(raw=raw, filename="trace.eml", owner=owner, enqueue=False)
    run = services.analysis_run(analysis_id=stored.pk, lookup=StaticResolver({}), now=CLOCK)
    assert run is not None
    stored.refresh_from_db()
    assert stored.status == Analysis.Status.DONE, stored.error
    return stored


def section(client: Client, analysis: Analysis) -> str:
    response = client.get(reverse("reports:detail", args=[analysis.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    start = html.find('<section id="delivery-time"')
    if start < 0:
        return ""
    return re.sub(r"\s+", " ", html[start : html.index("</section>", start) + 10])


def page(client: Client, analysis: Analysis) -> str:
    response = client.get(reverse("reports:detail", args=[analysis.pk]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_the_total_and_each_delay_in_plain_words(alice: Any, alice_client: Client) -> None:
    html = section(alice_client, analysed(alice, THROUGH_THE_LIST))
    assert (
        '<p class="dt-summary">Delivered 4 min 29 s after it was written (from the Date field '
        "to the last Received field); the longest wait was 4 min 12 s, before hop 4 "
        "(mx.inbox.example.net).</p>"
    ) in html
    assert (
        '<div><dt>Total</dt><dd>4 min 29 s <span class="muted">from the Date field</span></dd>'
        '</div> <div><dt>Between servers</dt><dd>4 min 27 s <span class="muted">first to last '
        "Received field</span></dd></div> <div><dt>Written</dt><dd>2026-03-03 09:57:45 UTC</dd>"
        "</div> <div><dt>Last stamp</dt><dd>2026-03-03 10:02:14 UTC</dd></div>"
    ) in html
    times = re.findall(r'<p class="dt-hop-time">(.*?)</p>', html)
    assert times == [
        "2026-03-03 09:57:45 UTC",
        '2026-03-03 09:57:47 UTC · <span class="dt-delay">+2 s</span>',
        '2026-03-03 09:57:48 UTC · <span class="dt-delay">+1 s</span>',
        '2026-03-03 09:58:01 UTC · <span class="dt-delay">+13 s</span>',
        '2026-03-03 10:02:13 UTC · <span class="dt-delay">+4 min 12 s</span> '
        '<span class="badge badge-fail">long delay</span>',
        '2026-03-03 10:02:14 UTC · <span class="dt-delay">+1 s</span>',
    ]
    assert re.findall(r'<li class="(dt-hop[^"]*)" id="dt-hop-(\d+)">', html) == [
        ("dt-hop", "0"),
        ("dt-hop", "1"),
        ("dt-hop", "2"),
        ("dt-hop", "3"),
        ("dt-hop dt-long", "4"),
        ("dt-hop", "5"),
    ]


@pytest.mark.django_db
def test_each_signature_sits_on_the_hop_that_added_it(alice: Any, alice_client: Client) -> None:
    html = section(alice_client, analysed(alice, THROUGH_THE_LIST))
    hops = re.findall(
        r'<li class="dt-hop[^"]*" id="dt-hop-(\d+)">(.*?)</li> (?=<li class="dt-hop|</ol>)', html
    )
    signed = {
        int(n): re.findall(r'<a href="#([a-z0-9-]+)">([^<]+)</a></span> <code>d=([^<]+)</code> '
                           r'<span class="badge badge-(pass|guess)">', body)
        for n, body in hops
    }  # fmt: skip
    assert signed == {
        0: [],
        1: [
            ("dkim1-2", "DKIM1 signature 2", "origin.example", "pass"),
            ("hop-1", "DKIM2 i=1", "origin.example", "pass"),
        ],
        2: [("arc-1", "ARC i=1", "lists.example.org", "pass")],
        3: [
            ("dkim1-1", "DKIM1 signature 1", "lists.example.org", "pass"),
            ("hop-2", "DKIM2 i=2", "lists.example.org", "pass"),
        ],
        4: [("arc-2", "ARC i=2", "microsoft.com", "guess")],
        5: [],
    }
    assert (
        '<span class="badge badge-guess">by position only: a guess</span><span '
        'class="dt-placement-why">Its field lies between the Received fields of hop 4 and hop 5; '
        "no host there belongs to microsoft.com, so which system signed is a guess.</span>"
    ) in html


@pytest.mark.django_db
def test_the_chart_is_drawn_on_the_server(alice: Any, alice_client: Client) -> None:
    html = section(alice_client, analysed(alice, THROUGH_THE_LIST))
    assert "<script" not in html and "style=" not in html  # the CSP forbids both
    bars = re.findall(
        r'<g class="dt-row" data-hop="(\d+)"> <title>[^<]*</title> <text class="dt-label" '
        r'x="0" y="\d+">([^<]*)</text> <rect class="dt-track"[^>]*></rect> '
        r'<rect class="([a-z-]+)" x="([0-9.]+%)" y="\d+" width="([0-9.]+%)"',
        html,
    )
    assert bars == [
        ("0", "Written · Date field · start", "dt-start", "0.00%", "0.60%"),
        ("1", "Hop 1 · mail-sor-f41.origin.example · +2 s", "dt-bar", "0.00%", "0.74%"),
        ("2", "Hop 2 · mail.lists.example.org · +1 s", "dt-bar", "0.74%", "0.60%"),
        ("3", "Hop 3 · mail.lists.example.org · +13 s", "dt-bar", "1.12%", "4.83%"),
        ("4", "Hop 4 · mx.inbox.example.net · +4 min 12 s", "dt-bar-long", "5.95%", "93.68%"),
        ("5", "Hop 5 · bn9pr01mb0002.namprd01.prod… · +1 s", "dt-bar", "99.40%",
         "0.60%"),
    ]  # fmt: skip
    assert '<text class="dt-axis dt-axis-end" x="100%" y="218">+4 min 29 s</text>' in html
    assert '<svg class="dt-svg" width="100%" height="222" role="img"' in html


@pytest.mark.django_db
def test_clocks_that_cannot_be_right_are_named(alice: Any, alice_client: Client) -> None:
    raw = message(
        "Received: from mx.example.org ([10.0.0.4]) by store.example.org with LMTP;"
        " Tue, 3 Mar 2026 10:03:00 +0000",
        "Received: from relay.example.net (relay.example.net [198.51.100.3]) by mx.example.org"
        " with ESMTP; Tue, 3 Mar 2026 09:58:06 +0000",
        "Received: from mx1.sender.example (mx1.sender.example [192.0.2.1]) by"
        " relay.example.net with ESMTP; Tue, 3 Mar 2026 10:00:20 +0000",
        "Received: from [192.0.2.100] by mx1.sender.example with ESMTPSA;"
        " Tue, 3 Mar 2026 10:00:00 +0000",
        "Date: Tue, 3 Mar 2026 10:05:00 +0000",
    )
    html = section(alice_client, analysed(alice, raw))
    assert (
        '<div class="notice notice-warning dt-flags"> <p><strong>Clock problems.</strong> Some '
        "stamps cannot be right, so the times around them are not to be trusted:</p> <ul><li>The "
        "Date field is 5 min later than the first Received stamp (hop 1): the sender&#x27;s clock "
        "is ahead, so the delivery time is counted from the first Received field.</li><li>Hop 3 "
        "(mx.example.org) is stamped 2 min 14 s before hop 2, which received the message "
        "earlier: one of their clocks is wrong.</li></ul> </div>"
    ) in html
    assert (
        '2026-03-03 09:58:06 UTC · <span class="dt-delay">2 min 14 s earlier than the stamp '
        'before it (clocks disagree)</span> <span class="badge badge-temperror">clock '
        "problem</span>"
    ) in html
    assert '<rect class="dt-bar-back" x="0.00%"' in html  # drawn backwards, from hop 3 to 2
    # Four bars (the Date is left out), the scale from 1 min 54 s before the start.
    assert len(re.findall('<g class="dt-row"', html)) == 4
    assert '<text class="dt-axis" x="0" y="150">\N{MINUS SIGN}1 min 54 s</text>' in html


@pytest.mark.django_db
def test_message_text_in_the_section_is_escaped(alice: Any, alice_client: Client) -> None:
    raw = message(
        "Received: from a.example (a.example [192.0.2.1]) by <b>evil</b> with ESMTP;"
        " Tue, 3 Mar 2026 10:00:09 +0000",
        "Received: by a.example with SMTP; Tue, 3 Mar 2026 10:00:00 +0000",
    )
    html = section(alice_client, analysed(alice, raw))
    assert "<b>evil</b>" not in html
    assert "Hop 2 · &lt;b&gt;evil&lt;/b&gt; · +9 s</text>" in html
    assert "<title>Hop 2 (&lt;b&gt;evil&lt;/b&gt;): +9 s</title>" in html


@pytest.mark.django_db
def test_a_run_stored_before_the_section_renders_without_it(
    alice: Any, alice_client: Client
) -> None:
    done = analysed(alice, THROUGH_THE_LIST)
    run = AnalysisRun.objects.get(analysis=done)
    report = dict(run.report)
    del report["delivery_time"]
    AnalysisRun.objects.filter(pk=run.pk).update(report=report)
    html = page(alice_client, done)
    assert 'id="delivery-time"' not in html and 'href="#delivery-time"' not in html
    assert '<section id="received" class="section"' in html
    # The section is linked from the section list when it is there.
    assert '<a href="#delivery-time">Delivery time</a>' in page(
        alice_client, analysed(alice, THROUGH_THE_LIST)
    )


def view_of(raw: bytes) -> Any:
    msg = parse_message(raw)
    return delivery_time_view(delivery_time(msg, read_received(msg)).to_json())


def test_a_long_trace_draws_its_longest_delays_only() -> None:
    view = view_of(long_trace(50))  # the Date and 50 hops: 51 stamps
    assert CHART_MAX_ROWS == 40
    assert (len(view.bars), view.chart_omitted, len(view.rows)) == (40, 11, 51)
    drawn = [bar.index for bar in view.bars]
    # The start, then hop order; left out: the shortest (1 s) hops but the first of them.
    assert drawn == sorted(drawn) and drawn[0] == 0
    assert sorted(set(range(51)) - set(drawn)) == [8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48]
    assert [bar.css for bar in view.bars if bar.index == 7] == ["dt-bar-long"]
    assert view.chart_height == 40 * 34 + 18


def test_a_signature_added_before_any_stamp_without_a_date_gets_a_sent_row() -> None:
    view = view_of(
        message(
            "Received: from mail.example.com (mail.example.com [192.0.2.5]) by mx.example.net"
            " with ESMTPS; Tue, 3 Mar 2026 10:00:00 +0000",
            "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=A=; b=AA==",
        )
    )
    first = view.rows[0]
    assert (first.index, first.title, first.host, first.when) == (
        0,
        "Sent",
        "the sending system",
        "",
    )
    assert [(p.label, p.anchor, p.confirmed, p.why) for p in first.placements] == [
        (
            "DKIM1 signature 1",
            "dkim1-1",
            True,
            "Its field lies below every Received field, so the sending system added it before "
            "any server stamped the message, and example.com is the organisation of a host "
            "there.",
        )
    ]
    assert view.bars == []  # one stamp: nothing to chart
