"""Stored reports kept as the JSON text the engine wrote: PostgreSQL ``json``, not ``jsonb``
(issue #13; dkim2web/reports/fields.py says why).

On PostgreSQL the column's type changes, which rewrites the table under the migration's lock
(each stored report is printed back to text once): plan for it on a large table. A change of
type resets a column's compression, so LZ4 (0008) is set again after it, either way. On
SQLite nothing changes (text either way).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

import dkim2web.reports.fields


def lz4(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
        row = cursor.fetchone()
    if not row or not row[0]:
        return
    model = apps.get_model("reports", "AnalysisRun")
    quote = schema_editor.quote_name
    schema_editor.execute(
        f"ALTER TABLE {quote(model._meta.db_table)} ALTER COLUMN"
        f" {quote(model._meta.get_field('report').column)} SET COMPRESSION lz4"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0009_heap_only_updates"),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, lz4),  # back: after the type change
        migrations.AlterField(
            model_name="analysisrun",
            name="report",
            field=dkim2web.reports.fields.ReportJSONField(),
        ),
        migrations.RunPython(lz4, migrations.RunPython.noop),
    ]
