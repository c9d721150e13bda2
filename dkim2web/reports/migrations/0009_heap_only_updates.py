"""The worker's claim of an analysis updates its row without touching an index (issue #13).

PostgreSQL writes an update as heap-only (HOT: no new index entries) when no column that an
index reads changes and the row's page has room for the new version. The claim changes
status, started_at and attempts; status was indexed, so the claim and the store of each
analysis wrote an entry in all eight of the table's indexes. Now:

* status is not indexed (nothing looks analyses up by status alone but the admin's filter);
* the sweep's index holds the analyses not yet finished (``finished_at IS NULL``), by
  queued_at: it stays the size of the queue, and neither key nor condition changes in a
  claim; the store sets finished_at, and so writes the four other indexes;
* sha256 keeps its index but loses the varchar_pattern_ops twin Django adds to an indexed
  CharField on PostgreSQL for LIKE, which no query uses (status loses its twin too);
* queued and running analyses have no finished_at (the insert, the claim and a re-run clear
  it), as the sweep's index needs: any an earlier version left with one are cleared first;
* on PostgreSQL the table's pages are filled to FILLFACTOR percent, leaving room for the
  claim's new version of a row on the row's own page. Only pages written from now on.

The sha256 and sweep indexes are built under the migration's lock, which blocks writes to the
table meanwhile.
"""

from __future__ import annotations

from typing import Any

import django.utils.timezone
from django.db import migrations, models

#: Percent of each page that inserts fill, the rest left for updated versions of its rows.
FILLFACTOR = 85


def _clear_finished_at_of_unfinished(apps: Any, schema_editor: Any) -> None:
    # Such a row would be missing from the sweep's index, and so never swept.
    analysis = apps.get_model("reports", "Analysis")
    analysis.objects.using(schema_editor.connection.alias).filter(
        status__in=["queued", "running"], finished_at__isnull=False
    ).update(finished_at=None)


def _set_fillfactor(schema_editor: Any, setting: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name("reports_analysis")
    schema_editor.execute(f"ALTER TABLE {table} {setting}")


def leave_room(apps: Any, schema_editor: Any) -> None:
    _set_fillfactor(schema_editor, f"SET (fillfactor = {FILLFACTOR})")


def fill_pages(apps: Any, schema_editor: Any) -> None:
    _set_fillfactor(schema_editor, "RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0008_lz4_compression"),
    ]

    operations = [
        migrations.RunPython(_clear_finished_at_of_unfinished, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="analysis",
            name="queued_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name="analysis",
            name="sha256",
            field=models.CharField(max_length=64),
        ),
        migrations.AlterField(
            model_name="analysis",
            name="status",
            field=models.CharField(
                choices=[
                    ("queued", "Queued"),
                    ("running", "Running"),
                    ("done", "Done"),
                    ("failed", "Failed"),
                ],
                default="queued",
                max_length=8,
            ),
        ),
        migrations.AddIndex(
            model_name="analysis",
            index=models.Index(fields=["sha256"], name="analysis_sha256"),
        ),
        migrations.AddIndex(
            model_name="analysis",
            index=models.Index(
                condition=models.Q(finished_at__isnull=True),
                fields=["queued_at"],
                name="analysis_unfinished_queued_at",
            ),
        ),
        migrations.RunPython(leave_room, fill_pages),
    ]
