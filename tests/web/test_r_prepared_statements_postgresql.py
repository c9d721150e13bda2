"""The hot paths' statements are prepared by PostgreSQL after DATABASE_PREPARE_THRESHOLD runs
on a connection (issue #13): the upload's INSERT, its API token look-up, the worker's claim and
its store stop being parsed and planned for every analysis. Django alone leaves psycopg's
prepare_threshold off.

Run through manage.py against a throwaway database, as production runs (settings read from
the environment); the server's own list of a session's prepared statements
(pg_prepared_statements) is what is checked.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.support.postgres import manage_on
from tests.web.test_prod_settings import load

SCRIPT = """
import json
from django.db import connection
from django.test.utils import CaptureQueriesContext
from dkim2web.reports import services
from dkim2web.reports.models import Analysis

REPORT = {"schema_version": 2, "summary": "ok"}
services._run_engine = lambda analysis, *, lookup=None, now=None: services.EngineOutcome(
    "pass", REPORT, "9.9", "draft-00", json.dumps(REPORT)
)
print(connection.settings_dict["OPTIONS"]["prepare_threshold"])
for n in range(6):
    a = services.analysis_submit(raw=b"From: a@example.org\\r\\n\\r\\nbody\\r\\n", enqueue=False)
    with CaptureQueriesContext(connection) as queries:
        assert services.analysis_run(analysis_id=a.pk) is not None
# Django's query log still names a statement run as prepared (psycopg keeps no text of it).
print(sorted(q["sql"].split(" ", 1)[0] for q in queries.captured_queries))
# An API request's token look-up, as every upload through the API makes it.
from django.contrib.auth import get_user_model
from dkim2web.accounts.services import api_token_authenticate, api_token_create
user = get_user_model().objects.create_user("prepared", password="prepared-pw-1")
_, key = api_token_create(user=user, name="t")
for n in range(6):
    assert api_token_authenticate(key=key).user_id == user.pk
with connection.cursor() as cursor:
    cursor.execute(
        "SELECT statement FROM pg_prepared_statements WHERE NOT from_sql ORDER BY statement"
    )
    prepared = [row[0] for row in cursor.fetchall()]
print(len(prepared))
print(sorted(s.split(" ", 1)[0] for s in prepared))
assert Analysis.objects.filter(status="done").count() == 6
"""


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        # The INSERT of an upload, the claim (UPDATE ... RETURNING), the store (WITH ...
        # UPDATE ... INSERT) and the API token's look-up, each run six times: prepared from
        # their fifth run.
        ("", ["5", "['UPDATE', 'WITH']", "4", "['INSERT', 'SELECT', 'UPDATE', 'WITH']"]),
        ("off", ["None", "['UPDATE', 'WITH']", "0", "[]"]),
    ],
)
def test_the_hot_statements_are_prepared_after_their_threshold(
    throwaway_database: str, setting: str, expected: list[str]
) -> None:
    env = {"DATABASE_PREPARE_THRESHOLD": setting} if setting else {}
    manage_on(throwaway_database, "migrate", "--noinput")
    printed = manage_on(throwaway_database, "shell", "--no-imports", "-c", SCRIPT, env=env)
    assert printed.strip().splitlines() == expected


def test_the_threshold_comes_from_the_environment_or_the_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def options(**env: str) -> object:
        s = load(monkeypatch, testing=True, **env)
        return s.DATABASES["default"]["OPTIONS"]["prepare_threshold"]

    url = "postgres://u@127.0.0.1/d"
    assert options(DATABASE_URL=url) == 5
    assert options(DATABASE_URL=url, DATABASE_PREPARE_THRESHOLD="2") == 2
    assert options(DATABASE_URL=url, DATABASE_PREPARE_THRESHOLD="off") is None
    assert options(DATABASE_URL=url, DATABASE_PREPARE_THRESHOLD=" None ") is None
    assert options(DATABASE_URL=f"{url}?prepare_threshold=3") == 3
    assert options(DATABASE_URL=f"{url}?prepare_threshold=off") is None
    with pytest.raises(ImproperlyConfigured, match="DATABASE_PREPARE_THRESHOLD must be"):
        options(DATABASE_URL=url, DATABASE_PREPARE_THRESHOLD="soon")
    # SQLite has no such option: nothing is added.
    sqlite = load(monkeypatch, testing=True, DATABASE_URL="sqlite:///tmp/x.sqlite3")
    assert "prepare_threshold" not in sqlite.DATABASES["default"].get("OPTIONS", {})
