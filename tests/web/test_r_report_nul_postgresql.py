"""On PostgreSQL, a message with a NUL in a header is analysed, stored and listed: its report
writes U+0000 as U+2400 ("␀"). Before, jsonb refused the report (SQLSTATE 22P05) and the
analysis failed with "the database refused it". Run through manage.py on a throwaway
database, as production runs."""

from __future__ import annotations

import pytest

from tests.support.postgres import manage_on

pytestmark = pytest.mark.postgres

SCRIPT = """
from django.contrib.auth import get_user_model
from dkim2web.api.selectors import analysis_list_with_latest_run
from dkim2web.reports import services
from dkim2web.reports.models import Analysis, AnalysisRun

owner = get_user_model().objects.create_user("nul-owner", password="nul-owner-pw-1")
# example.org is outside the demo zone, which answers a temporary error: the verdict.
raw = b"From: Alice <alice@example.org>\\r\\nSubject: before\\x00after\\r\\n\\r\\nbody\\r\\n"
a = services.analysis_submit(raw=raw, owner=owner, enqueue=False)
run = services.analysis_run(analysis_id=a.pk)
row = Analysis.objects.get(pk=a.pk)
assert (row.status, row.error) == ("done", ""), (row.status, row.error)
assert AnalysisRun.objects.get(pk=run.pk).report["message"]["subject"] == "before\\u2400after"
[listed] = analysis_list_with_latest_run(user=owner)
print(listed.latest_result, ascii(listed.latest_subject), row.raw_bytes == raw)
"""


def test_a_nul_in_a_header_is_analysed_stored_and_listed(throwaway_database: str) -> None:
    manage_on(throwaway_database, "migrate", "--noinput")
    printed = manage_on(
        throwaway_database,
        "shell",
        "--no-imports",
        "-c",
        SCRIPT,
        env={"DKIM2_KEY_LOOKUP": "dkim2web.samples.keys.DemoDnsLookup"},
    )
    assert printed.strip() == "temperror 'before\\u2400after' True"
