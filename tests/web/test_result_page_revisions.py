"""The result page names the DKIM2 draft revision that produced the verdict, compares the
others (auto runs), shows From-Authentic and | groups, and re-runs under another revision.

The message (revision_chains.auto_submitted_chain) is signed by -06 rules and carries
Auto-Submitted, which -08 signs again: -06 and -07 pass it, -08 and -09 fail it.
"""

from __future__ import annotations

import re
from html import escape
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from dkim2web.reports import services
from dkim2web.reports.models import Analysis, AnalysisRun
from tests.web.revision_chains import analysed, auto_submitted_chain, grouped_chain, run_now
from tests.web.test_escaping import assert_no_live_markup

pytestmark = pytest.mark.django_db

SECOND_HAND = (
    "The rules of -07, -08 and -09 are second-hand: their draft text is not public, so dkim2web "
    "follows what implementations of them report, and each rule names its source."
)
UNSIGNED_SOURCE = (
    "SPEC-09-NOTES 1.8 (-08 §4.1), as implemented by mailauth 8.0.5, croessner/dkim2 v0.1.49 "
    "(2 sources; draft text not public)"
)
# The start of the engine's fingerprint sentence for the hop (the rest words the receivers
# that fail it; the page shows the whole sentence the report holds).
FINGERPRINT_START = (
    "example.com (hop 1) signed by -06 or -07 rules (left Auto-Submitted unsigned); "
)


def squeeze(html: str) -> str:
    return re.sub(r"\s+", " ", html)


def page(client: Client, analysis: Analysis, **params: Any) -> str:
    response = client.get(reverse("reports:detail", args=[analysis.pk]), params)
    assert response.status_code == 200
    return squeeze(response.content.decode())


def section(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    return html[start : html.index("</section>", start)]


@pytest.fixture
def auto_analysis(alice: Any) -> Analysis:
    return analysed(auto_submitted_chain(), owner=alice)


@pytest.fixture
def auto_page(auto_analysis: Analysis, alice_client: Client) -> str:
    return page(alice_client, auto_analysis)


def test_the_verdict_says_which_revision_produced_it_and_that_later_rules_are_second_hand(
    auto_page: str,
) -> None:
    verdict = auto_page[auto_page.index('<section class="verdict') :]
    verdict = verdict[: verdict.index("</section>")]
    assert (
        '<p class="verdict-revision">DKIM2 judged by -09 rules (auto); <a href="#revisions">-06, '
        f"-07 and -08 compared</a>. {SECOND_HAND}</p>"
    ) in verdict
    glance = section(auto_page, "glance")
    assert (
        '<td data-label="In plain words">Fail: Message Instance m=1 header hash sha256 mismatch '
        "(1 hop) "
        '<span class="revision-note">Judged by -09 rules (auto).</span></td>'
    ) in glance
    assert (
        '<p class="revision-line">The chain was judged by -09 rules (auto). <a href="#revisions">'
        "Draft revisions</a> shows how -06, -07 and -08 judge it.</p>"
    ) in section(auto_page, "timeline")
    assert (
        "engine 0.3.0, verified at 2027-01-15 08:01:00 UTC. DKIM2 judged by -09 rules (auto)."
        in (section(auto_page, "runs"))
    )


def test_draft_revisions_tabulates_each_revisions_verdict_and_level(auto_page: str) -> None:
    assert '<a href="#revisions">Draft revisions</a>' in auto_page  # in the section menu
    revisions = section(auto_page, "revisions")
    assert f'<p class="notice">{SECOND_HAND}</p>' in revisions
    rows = re.findall(r"<tr( class=\"current\")?> (.*?) </tr>", revisions.split("<tbody>")[1])
    assert rows == [
        (
            "",
            '<th scope="row">-06 <span class="muted small">public draft text</span></th> '
            '<td data-label="Verdict"><span class="badge badge-pass">Pass</span></td> '
            '<td data-label="Verification level">verified</td> '
            '<td data-label="First problem"><span class="muted">—</span></td>',
        ),
        (
            "",
            '<th scope="row">-07 <span class="muted small">second-hand</span></th> '
            '<td data-label="Verdict"><span class="badge badge-pass">Pass</span></td> '
            '<td data-label="Verification level">Validly Signed</td> '
            '<td data-label="First problem"><span class="muted">—</span></td>',
        ),
        (
            "",
            '<th scope="row">-08 <span class="muted small">second-hand</span></th> '
            '<td data-label="Verdict"><span class="badge badge-fail">Fail</span></td> '
            '<td data-label="Verification level">neither Fully nor Provisionally Verified</td> '
            '<td data-label="First problem"><span class="mono small wrap">FAIL: Message Instance '
            "m=1 header hash sha256 mismatch</span></td>",
        ),
        (
            ' class="current"',
            '<th scope="row">-09 <span class="muted small">second-hand, gives the verdict</span>'
            '</th> <td data-label="Verdict"><span class="badge badge-fail">Fail</span></td> '
            '<td data-label="Verification level">neither Fully nor Provisionally Verified</td> '
            '<td data-label="First problem"><span class="mono small wrap">FAIL: Message Instance '
            "m=1 header hash sha256 mismatch</span></td>",
        ),
    ]


def test_draft_revisions_names_the_rule_that_splits_them_and_its_source(auto_page: str) -> None:
    revisions = section(auto_page, "revisions")
    assert (
        '<p class="split-sentence">Under -07 rules the chain&#x27;s verdict is pass; under -08 '
        "rules it is fail: the rule that splits them is which header fields the header hash "
        "leaves out.</p>"
    ) in revisions
    assert (
        "<li><strong>Which header fields the header hash leaves out</strong>. Source: "
        f'<span class="source">{UNSIGNED_SOURCE}</span></li>'
    ) in revisions


def test_each_hops_fingerprint_is_in_the_section_and_on_its_card(
    auto_analysis: Analysis, auto_page: str
) -> None:
    [fingerprint] = auto_analysis.runs.get().document["dkim2"]["fingerprints"]
    assert fingerprint["sentence"].startswith(FINGERPRINT_START)
    sentence = escape(fingerprint["sentence"])
    assert f'<li><a href="#hop-1">Hop 1</a>: {sentence}</li>' in section(auto_page, "revisions")
    card = auto_page[auto_page.index('id="hop-1"') :]
    card = card[: card.index("</article>")]
    assert (
        '<p class="hop-role">Originator: signed the message and recorded it as instance m=1.</p> '
        f'<p class="hop-fingerprint"><span class="label">Draft revision</span> {sentence}</p>'
    ) in card


def test_the_from_authentic_outcome_is_shown_with_its_second_hand_source(auto_page: str) -> None:
    timeline = section(auto_page, "timeline")
    assert (
        '<h3 id="from-authentic">Is the From domain Authentic for the hop that wrote it?</h3> '
        "<p>-09 rule: the domain of the From field must be the <code>d=</code> of the hop that "
        "put that From in the message (the originator, or a hop that changed From), or lie below "
        "it. Source: SPEC-09-NOTES 1.7 (headed -09; placed in -07 because Stalwart 0.14, a -07 "
        "implementation, already requires every From to be Authentic for a pass and has "
        "FromNotAuthentic; mailauth 8.1.0 and Mail::DKIM2 0.30 report it for -09), as "
        "implemented by Stalwart mail-auth 0.14, mailauth 8.1.0, Mail::DKIM2 0.30 (3 sources; "
        "draft text not public).</p>"
    ) in timeline
    assert (
        '<tr> <td>m=1</td> <td><a href="#hop-1">hop 1</a>, <code>d=example.com</code></td> '
        '<td><code>example.com</code></td> <td><span class="badge badge-pass">Authentic</span>'
        "</td> </tr>"
    ) in timeline


def test_a_run_under_06_names_its_public_rules_and_compares_nothing(
    alice: Any, alice_client: Client
) -> None:
    html = page(alice_client, analysed(auto_submitted_chain(), owner=alice, revision="06"))
    assert (
        '<p class="verdict-revision">DKIM2 judged by -06 rules (chosen for this run). The -06 '
        "rules are the public text of draft-ietf-dkim-dkim2-spec-06.</p>"
    ) in html
    assert 'id="revisions"' not in html
    assert "Draft revisions" not in html
    assert 'id="from-authentic"' not in html  # -06 has no From-Authentic rule
    assert "hop-fingerprint" not in html
    assert '<option value="06" selected>-06 (public draft text)</option>' in html


def test_a_run_stored_before_revisions_says_it_followed_06_rules(
    alice: Any, alice_client: Client
) -> None:
    analysis = analysed(auto_submitted_chain(), owner=alice)
    run = analysis.runs.get()
    old = {**run.report, "dkim2": dict(run.report["dkim2"])}
    for key in ("revision", "revision_mode", "level", "revisions", "fingerprints", "splits"):
        del old["dkim2"][key]
    del old["dkim2"]["from_checks"]
    del old["verdict"]["dkim2_revision"]
    AnalysisRun.objects.filter(pk=run.pk).update(report=old, revision="06")
    html = page(alice_client, analysis)
    assert (
        '<p class="verdict-revision">DKIM2 judged by -06 rules (the only ones dkim2web knew when '
        "this run was made). The -06 rules are the public text of "
        "draft-ietf-dkim-dkim2-spec-06.</p>"
    ) in html
    assert 'id="revisions"' not in html
    assert '<td class="run-revision" data-label="Revision">-06</td>' in html


def test_signature_and_hash_groups_are_shown_on_the_hop(alice: Any, alice_client: Client) -> None:
    card = page(alice_client, analysed(grouped_chain(), owner=alice))
    card = card[card.index('id="hop-1"') :]
    card = card[: card.index("</article>")]
    assert (
        '<ul class="selectors"><li><span class="group">group 1</span> <span class="badge '
        'badge-pass">Pass</span> selector <code>ed1</code>, ed25519-sha256, 256-bit key</li>'
        '<li><span class="group">group 1</span> <span class="badge badge-pass">Pass</span> '
        'selector <code>rsa1</code>, rsa-sha256, 2048-bit key</li><li><span class="group">'
        'group 2</span> <span class="badge badge-pass">Pass</span> selector <code>pq1</code>, '
        "mldsa44, ML-DSA-44 key</li></ul>"
    ) in card
    assert (
        '<dt>Hashes of m=1</dt> <dd><p class="help">In <code>|</code> groups: every hash of a '
        "group must match, and one matching group is enough.</p>"
    ) in card
    assert re.findall(
        r'<span class="group">group (\d)</span> <span class="badge badge-pass">'
        r"Match</span> (\w+ \w+) hash matches",
        card,
    ) == [
        ("1", "sha256 header"),
        ("1", "sha256 body"),
        ("2", "sha512 header"),
        ("2", "sha512 body"),
    ]


def test_a_chain_without_groups_shows_no_group_labels(auto_page: str) -> None:
    assert '<span class="group">' not in auto_page
    assert "Hashes of m=" not in auto_page


# -- the re-run control -------------------------------------------------------------------------


def test_the_rerun_control_is_a_labelled_select_with_the_current_revision_chosen(
    auto_page: str,
) -> None:
    runs = section(auto_page, "runs")
    assert '<label for="rerun-revision">Draft revision</label>' in runs
    assert (
        '<select id="rerun-revision" name="revision" aria-describedby="rerun-revision-help">'
        '<option value="auto" selected>auto: -09 rules, -06 to -08 compared</option>'
        '<option value="06">-06 (public draft text)</option>'
        '<option value="07">-07 (second-hand rules)</option>'
        '<option value="08">-08 (second-hand rules)</option>'
        '<option value="09">-09 (second-hand rules)</option></select>'
    ) in runs
    assert '<button type="submit" class="secondary">Re-run under this revision</button>' in runs
    assert (
        '<thead><tr><th scope="col">Run</th><th scope="col">Result</th><th scope="col">Revision'
        '</th><th scope="col">How</th><th scope="col">Engine</th><th scope="col">Draft</th>'
        '<th scope="col"><span '
        'class="visually-hidden">Show</span></th></tr></thead>'
    ) in runs


def test_rerunning_under_06_over_http_adds_a_run_and_keeps_the_first(
    alice: Any,
    alice_client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    chain = auto_submitted_chain()
    analysis = analysed(chain, owner=alice)
    url = reverse("reports:rerun", args=[analysis.pk])
    with django_capture_on_commit_callbacks() as queued:
        response = alice_client.post(url, {"revision": "06"})
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:detail", args=[analysis.pk])
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Analysis queued again, DKIM2 judged by -06 rules; the earlier runs are kept."
    ]
    assert len(queued) == 1  # the task is published after the commit
    analysis.refresh_from_db()
    assert (analysis.status, analysis.revision) == ("queued", "06")
    run_now(analysis, chain)  # what the worker does

    html = page(alice_client, analysis)
    runs = section(html, "runs")
    assert re.findall(
        r'badge-(\w+)">\w+</span></td> <td class="run-revision" data-label="Revision">([^<]+)</td>',
        runs,
    ) == [
        ("pass", "-06"),
        ("fail", "auto"),
    ]
    assert '<option value="06" selected>' in runs
    assert "judged by -06 rules (chosen for this run)" in html
    # The first run is still there to show.
    first = analysis.runs.order_by("created_at", "pk").first()
    earlier = page(alice_client, analysis, run=first.pk)
    assert "judged by -09 rules (auto)" in earlier


def test_a_rerun_without_a_revision_keeps_the_analysiss_own(
    alice: Any, alice_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    analysis = analysed(auto_submitted_chain(), owner=alice, revision="07")
    with django_capture_on_commit_callbacks():
        response = alice_client.post(reverse("reports:rerun", args=[analysis.pk]))
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Analysis queued again, DKIM2 judged by -07 rules; the earlier runs are kept."
    ]
    analysis.refresh_from_db()
    assert (analysis.status, analysis.revision) == ("queued", "07")


@pytest.mark.parametrize("sent", ["10", "<script>alert(1)</script>", "x" * 5000])
def test_a_revision_that_is_not_one_is_refused_in_words_and_nothing_is_queued(
    alice: Any, alice_client: Client, sent: str, django_capture_on_commit_callbacks: Any
) -> None:
    analysis = analysed(auto_submitted_chain(), owner=alice)
    with django_capture_on_commit_callbacks() as queued:
        response = alice_client.post(
            reverse("reports:rerun", args=[analysis.pk]), {"revision": sent}, follow=True
        )
    assert queued == []
    assert response.redirect_chain == [
        (reverse("reports:detail", args=[analysis.pk]) + "#runs", 302)
    ]
    body = response.content.decode()
    assert (
        "That is not a DKIM2 draft revision dkim2web knows; choose one of auto, -06, -07, -08, -09."
    ) in body
    assert "alert(1)" not in body and "x" * 100 not in body  # what was sent is not repeated
    analysis.refresh_from_db()
    assert (analysis.status, analysis.revision, analysis.runs.count()) == ("done", "auto", 1)


def test_someone_elses_analysis_cannot_be_rerun(
    alice: Any, bob: Any, django_capture_on_commit_callbacks: Any
) -> None:
    analysis = analysed(auto_submitted_chain(), owner=alice)
    client = Client()
    client.force_login(bob)
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(reverse("reports:rerun", args=[analysis.pk]), {"revision": "06"})
    assert response.status_code == 404
    assert queued == []
    assert Analysis.objects.get(pk=analysis.pk).revision == "auto"


def test_a_shared_page_names_the_revision_but_offers_no_rerun(
    alice: Any, alice_client: Client
) -> None:
    from dkim2web.sharing import services as sharing

    analysis = analysed(auto_submitted_chain(), owner=alice)
    _, token = sharing.share_link_create(analysis=analysis, created_by=alice, days=1)
    html = squeeze(Client().get(reverse("sharing:view", args=[token])).content.decode())
    assert "DKIM2 judged by -09 rules (auto)" in html
    assert 'id="revisions"' in html
    assert "rerun-revision" not in html


# -- attacker text ------------------------------------------------------------------------------

XSS = "<script>alert(1)</script>"


def test_every_revision_text_is_escaped(alice: Any, alice_client: Client) -> None:
    analysis = analysed(auto_submitted_chain(), owner=alice)
    run = analysis.runs.get()
    report = run.report
    chain = report["dkim2"]
    chain["revisions"][0]["first_problem"] = f"FAIL: {XSS}"
    chain["revisions"][0]["result"] = "fail"
    chain["splits"][0]["sentence"] = f"split {XSS}"
    chain["splits"][0]["rule_titles"] = [f"title {XSS}"]
    chain["splits"][0]["sources"] = [f"source {XSS}"]
    chain["fingerprints"][0]["sentence"] = f"fingerprint {XSS}"
    chain["from_checks"][0].update(from_domains=[f"{XSS}.example"], why=f"why {XSS}")
    chain["from_checks"][0]["outcome"] = "not-authentic"
    AnalysisRun.objects.filter(pk=run.pk).update(report=report)

    body = alice_client.get(reverse("reports:detail", args=[analysis.pk])).content.decode()
    assert_no_live_markup(body)
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for text in (
        f'<span class="mono small wrap">FAIL: {escaped}</span>',
        f'<p class="split-sentence">split {escaped}</p>',
        f"<strong>Title {escaped}</strong>",
        f'<span class="source">source {escaped}</span>',
        f'<li><a href="#hop-1">Hop 1</a>: fingerprint {escaped}</li>',
        f'<span class="label">Draft revision</span> fingerprint {escaped}</p>',
        f"<code>{escaped}.example</code>",
        f'<span class="badge badge-fail">Not Authentic</span> <span class="from-why">why {escaped}',
    ):
        assert text in body, text


def test_the_list_names_the_revision_of_each_latest_run(alice: Any, alice_client: Client) -> None:
    chain = auto_submitted_chain()
    auto = analysed(chain, owner=alice)
    rerun = analysed(chain, owner=alice)
    assert services.analysis_rerun(analysis=rerun, revision="06")
    run_now(rerun, chain)
    body = squeeze(alice_client.get(reverse("reports:list")).content.decode())
    rows = {
        analysis.pk: body[body.index(reverse("reports:detail", args=[analysis.pk])) :].split(
            "</tr>"
        )[0]
        for analysis in (auto, rerun)
    }
    assert (
        '<span class="badge badge-fail">Fail</span> <span class="muted small">DKIM2 rules: auto'
        "</span>"
    ) in rows[auto.pk]
    assert (
        '<span class="badge badge-pass">Pass</span> <span class="muted small">DKIM2 rules: -06'
        "</span>"
    ) in rows[rerun.pk]
