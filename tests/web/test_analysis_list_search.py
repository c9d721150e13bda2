"""The list of analyses: From, Subject, verdict and date columns, a search box over From,
Subject and file name, a verdict filter, paginated with the search kept; for accounts and
for an anonymous visitor's session alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import import_module
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from analysis import limits
from dkim2web.reports import services
from dkim2web.reports.models import Analysis, AnalysisRun
from dkim2web.reports.selectors import ANON_SESSION_KEY

pytestmark = pytest.mark.django_db

HEADER_ROW = (
    "<thead><tr><th>Message</th><th>From</th><th>Subject</th><th>Verdict</th><th>Status</th>"
    "<th>Size</th><th>Uploaded (UTC)</th></tr></thead>"
)


def make(
    owner: Any,
    filename: str,
    *,
    subject: bytes | None = None,
    sender: bytes | None = None,
    minutes_ago: int = 0,
    verdicts: tuple[str, ...] = (),
) -> Analysis:
    head = b""
    if sender is not None:
        head += b"From: " + sender + b"\r\n"
    if subject is not None:
        head += b"Subject: " + subject + b"\r\n"
    analysis = services.analysis_submit(
        raw=(head or b"X-Nothing: here\r\n") + b"\r\nbody\r\n",
        filename=filename,
        owner=owner,
        enqueue=False,
    )
    created = timezone.now() - timedelta(minutes=minutes_ago)
    Analysis.objects.filter(pk=analysis.pk).update(created_at=created, status="done")
    for n, verdict in enumerate(verdicts):  # the last one is the latest run
        AnalysisRun.objects.create(
            analysis=analysis,
            result=verdict,
            report={"result": verdict},
            engine_version="0",
            draft="d",
            created_at=created + timedelta(seconds=n + 1),
        )
    return analysis


def listing(client: Client, **query: str) -> tuple[Any, str]:
    response = client.get(reverse("reports:list"), query)
    assert response.status_code == 200
    return response, response.content.decode()


def names(response: Any) -> list[str]:
    return [a.filename for a in response.context["analyses"]]


def test_the_columns_show_from_subject_verdict_and_date(alice: Any, alice_client: Client) -> None:
    analysis = make(
        alice,
        "a.eml",
        sender=b"=?utf-8?q?Alice_M=C3=BCller?= <alice@example.org>",
        subject=b"=?utf-8?b?Q2Fmw6k=?= <b>menu</b>",
        verdicts=("pass",),
    )
    Analysis.objects.filter(pk=analysis.pk).update(
        created_at=datetime(2026, 11, 28, 17, 34, tzinfo=UTC)
    )
    make(alice, "bare.eml", minutes_ago=5)
    _, body = listing(alice_client)
    assert HEADER_ROW in body
    row = body[body.index(reverse("reports:detail", args=[analysis.pk])) :].split("</tr>")[0]
    assert '<td class="list-from">Alice Müller &lt;alice@example.org&gt;</td>' in row
    assert '<td class="list-subject">Café &lt;b&gt;menu&lt;/b&gt;</td>' in row
    assert '<span class="badge badge-pass">Pass</span>' in row
    assert "<td>2026-11-28 17:34</td>" in row
    bare = body[body.index("bare.eml") :].split("</tr>")[0]
    assert '<td class="list-from"><span class="muted">—</span></td>' in bare
    assert '<td class="list-subject"><span class="muted">(no subject)</span></td>' in bare


def test_the_list_reads_no_message(alice: Any, alice_client: Client) -> None:
    make(alice, "a.eml", subject=b"hello")
    response, _ = listing(alice_client)
    (shown,) = response.context["analyses"]
    assert "raw_message" in shown.get_deferred_fields()


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("invoice", ["subject.eml"]),  # Subject
        ("INVOICE", ["subject.eml"]),  # any case
        ("billing@", ["from.eml"]),  # From
        ("quarterly", ["quarterly-report.eml"]),  # file name
        ("Müller", ["from.eml"]),  # decoded RFC 2047
        ("100%", ["percent.eml"]),  # % is a character, not a wildcard
        ("a_b", ["underscore.eml"]),  # and so is _
        ("  invoice  ", ["subject.eml"]),  # blanks around are dropped
        ("nothing like it", []),
    ],
)
def test_the_search_looks_in_from_subject_and_file_name(
    alice: Any, alice_client: Client, q: str, expected: list[str]
) -> None:
    make(alice, "subject.eml", subject=b"Your Invoice", minutes_ago=1)
    make(alice, "from.eml", sender=b"=?utf-8?q?M=C3=BCller?= <billing@example.org>", minutes_ago=2)
    make(alice, "quarterly-report.eml", subject=b"numbers", minutes_ago=3)
    make(alice, "percent.eml", subject=b"100% sure", minutes_ago=4)
    make(alice, "underscore.eml", subject=b"a_b", minutes_ago=5)
    make(alice, "other.eml", subject=b"100 x aXb", minutes_ago=6)
    response, body = listing(alice_client, q=q)
    assert names(response) == expected
    if expected:
        count = len(expected)
        words = "analysis matches" if count == 1 else "analyses match"
        assert f'<p class="help">{count} {words} this search.</p>' in body
    else:
        assert "<p>No analysis matches this search.</p>" in body
    assert '<a href="/analyses/">Show every analysis</a>' in body


def test_the_verdict_filter_uses_the_latest_run(alice: Any, alice_client: Client) -> None:
    make(alice, "failed-then-passed.eml", verdicts=("fail", "pass"), minutes_ago=1)
    make(alice, "failed.eml", verdicts=("fail",), minutes_ago=2)
    make(alice, "neutral.eml", verdicts=("neutral",), minutes_ago=3)
    make(alice, "not-run.eml", minutes_ago=4)
    assert names(listing(alice_client, verdict="fail")[0]) == ["failed.eml"]
    assert names(listing(alice_client, verdict="pass")[0]) == ["failed-then-passed.eml"]
    assert names(listing(alice_client, verdict="neutral")[0]) == ["neutral.eml"]
    assert names(listing(alice_client, verdict="none")[0]) == []
    assert len(names(listing(alice_client, verdict="")[0])) == 4


def test_the_filter_offers_every_verdict(alice: Any, alice_client: Client) -> None:
    make(alice, "a.eml")
    _, body = listing(alice_client, verdict="fail")
    assert (
        '<select name="verdict" id="id_verdict">\n'
        '  <option value="">Any verdict</option>\n\n'
        '  <option value="pass">Pass (trusted)</option>\n\n'
        '  <option value="fail" selected>Fail (not trusted)</option>\n\n'
        '  <option value="neutral">Neutral (authenticated, not as the From domain)</option>\n\n'
        '  <option value="permerror">Permanent error</option>\n\n'
        '  <option value="temperror">Temporary error</option>\n\n'
        '  <option value="none">None (no authentication)</option>\n\n'
        "</select>"
    ) in body
    assert '<label for="id_q">Search From, Subject or file name</label>' in body
    assert '<input type="search" name="q" autocomplete="off" maxlength="200" id="id_q">' in body


def test_search_and_filter_together(alice: Any, alice_client: Client) -> None:
    make(alice, "a.eml", subject=b"report", verdicts=("fail",), minutes_ago=1)
    make(alice, "b.eml", subject=b"report", verdicts=("pass",), minutes_ago=2)
    make(alice, "c.eml", subject=b"other", verdicts=("fail",), minutes_ago=3)
    assert names(listing(alice_client, q="report", verdict="fail")[0]) == ["a.eml"]


def test_a_bad_search_is_said_and_not_applied(alice: Any, alice_client: Client) -> None:
    make(alice, "a.eml", subject=b"x")
    response, body = listing(alice_client, verdict="<script>")
    assert names(response) == ["a.eml"]
    assert '<p class="field-error">That is not a verdict; the filter was not applied.</p>' in body
    assert "<script>" not in body.split("<main>")[1]
    response, body = listing(alice_client, q="q" * 201)
    assert names(response) == ["a.eml"]
    assert (
        '<p class="field-error">The search text is longer than 200 characters; it was not '
        "applied.</p>"
    ) in body
    assert names(listing(alice_client, q="x" * 200)[0]) == []  # 200 is searched


def test_pages_keep_the_search(alice: Any, alice_client: Client) -> None:
    for k in range(30):
        make(alice, f"m{k:02}.eml", subject=b"report & more", verdicts=("fail",), minutes_ago=k)
    make(alice, "other.eml", subject=b"unrelated", verdicts=("fail",))
    first, body = listing(alice_client, q="report & more", verdict="fail")
    assert len(names(first)) == 25
    assert '<p class="help">30 analyses match this search.</p>' in body
    assert '<a href="?q=report+%26+more&amp;verdict=fail&amp;page=2">Older →</a>' in body
    second, body = listing(alice_client, q="report & more", verdict="fail", page="2")
    assert names(second) == [f"m{k:02}.eml" for k in range(25, 30)]
    assert '<a href="?q=report+%26+more&amp;verdict=fail&amp;page=1">← Newer</a>' in body


def test_an_anonymous_visitor_searches_only_this_sessions_analyses(alice: Any) -> None:
    mine = make(None, "mine.eml", subject=b"report")
    make(None, "someone-elses.eml", subject=b"report")
    make(alice, "alices.eml", subject=b"report")
    visitor = Client()
    session = visitor.session
    session[ANON_SESSION_KEY] = [str(mine.pk)]
    session.save()
    response, body = listing(visitor, q="report")
    assert names(response) == ["mine.eml"]
    assert "someone-elses.eml" not in body and "alices.eml" not in body


def test_another_users_analyses_are_never_found(alice: Any, bob: Any, alice_client: Client) -> None:
    make(bob, "bobs.eml", subject=b"report", verdicts=("fail",))
    response, body = listing(alice_client, q="report", verdict="fail")
    assert names(response) == []
    assert "bobs.eml" not in body


def test_with_no_analyses_there_is_no_search_box(alice_client: Client) -> None:
    _, body = listing(alice_client)
    assert "<p>No analyses yet.</p>" in body
    assert 'role="search"' not in body


# -- stored at submission, and filled in for analyses stored before --------------------------


def test_the_columns_are_as_long_as_the_engine_cuts() -> None:
    for name in ("header_from", "header_subject"):
        assert Analysis._meta.get_field(name).max_length == limits.MAX_SUMMARY_FIELD_CHARS


def test_submission_stores_the_summary(alice: Any) -> None:
    analysis = make(alice, "a.eml", sender=b"a@example.org", subject=b"s" * 300)
    analysis.refresh_from_db()
    assert analysis.header_from == "a@example.org"
    assert analysis.header_subject == "s" * 199 + "…"


def test_the_migration_fills_in_analyses_stored_before(alice: Any) -> None:
    migration = import_module("dkim2web.reports.migrations.0005_analysis_summary_fields")
    stored = [
        make(
            alice, f"m{k}.eml", sender=f"u{k}@example.org".encode(), subject=b"=?utf-8?q?s=C3=A9?="
        )
        for k in range(migration.BATCH + 3)  # more than one batch
    ]
    bare = make(alice, "bare.eml")
    Analysis.objects.update(header_from="", header_subject="")  # as AddField left them
    migration.summaries_from_stored_messages(apps, SimpleNamespace(connection=connection))
    for k, analysis in enumerate(stored):
        analysis.refresh_from_db()
        assert (analysis.header_from, analysis.header_subject) == (f"u{k}@example.org", "sé")
    bare.refresh_from_db()
    assert (bare.header_from, bare.header_subject) == ("", "")


def test_the_migration_reads_only_the_head_of_each_message(
    alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The database cuts each message to SUBMISSION_HEAD_BYTES before it is loaded.
    from analysis import submission

    migration = import_module("dkim2web.reports.migrations.0005_analysis_summary_fields")
    size = limits.SUBMISSION_HEAD_BYTES
    services.analysis_submit(raw=b"Subject: big\r\n\r\n" + b"b" * size, owner=alice, enqueue=False)
    services.analysis_submit(raw=b"Subject: small\r\n\r\n", owner=alice, enqueue=False)
    seen: list[int] = []
    real = submission.summary_fields

    def recording(raw: bytes) -> submission.SummaryFields:
        seen.append(len(raw))
        return real(raw)

    monkeypatch.setattr(submission, "summary_fields", recording)
    migration.summaries_from_stored_messages(apps, SimpleNamespace(connection=connection))
    assert sorted(seen) == [len(b"Subject: small\r\n\r\n"), size]


@pytest.mark.postgres
def test_the_migration_fills_in_on_postgresql(require_postgres: str) -> None:
    """The head is cut inside PostgreSQL too (substring of a bytea), and stored bytes that
    are not UTF-8 are read as the analysis reads them."""
    import os
    import secrets
    import subprocess
    import sys
    from pathlib import Path
    from urllib.parse import urlsplit, urlunsplit

    import psycopg
    from psycopg import sql

    repo = Path(__file__).resolve().parents[2]
    name = f"dkim2web_test_{secrets.token_hex(6)}"
    with psycopg.connect(require_postgres, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = urlunsplit(urlsplit(require_postgres)._replace(path=f"/{name}"))
    env = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}
    env.update(DATABASE_URL=url, DJANGO_SECRET_KEY="test-only", DJANGO_DEBUG="0")

    def manage(*args: str) -> None:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr

    raw = b"From: =?utf-8?q?Z=C3=B6e?= <z@example.org>\r\nSubject: caf\xe9\r\n\r\n" + b"b" * 3000
    try:
        manage("migrate", "--noinput", "reports", "0004")
        with psycopg.connect(url) as conn:
            conn.execute(
                "INSERT INTO reports_analysis (id, created_at, raw_message, sha256, filename,"
                " size, mail_from, rcpt_to, envelope_source, status, attempts, error,"
                " queued_at, client_ip, helo, revision) VALUES (gen_random_uuid(), now(), %s,"
                " '', 'old.eml', %s, '', '[]', 'none', 'done', 0, '', now(), '', '', 'auto')",
                (raw, len(raw)),
            )
        manage("migrate", "--noinput")
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT header_from, header_subject FROM reports_analysis"
            ).fetchone()
        assert row == ("Zöe <z@example.org>", "caf\ufffd")
    finally:
        with psycopg.connect(require_postgres, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
