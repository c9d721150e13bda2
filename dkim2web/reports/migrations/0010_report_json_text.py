"""Stored reports kept as the JSON text the engine wrote: PostgreSQL ``json``, not ``jsonb``
(issue #13; dkim2web/reports/fields.py says why).

On PostgreSQL the column's type changes, which rewrites the table under the migration's lock
(each stored report is printed back to text once): plan for it on a large table. A change of
type resets a column's compression, so LZ4 (0008) is set again after it, either way. On
SQLite nothing changes (text either way).
"""

from __future__ import annotations

import importlib

from django.db import migrations

import dkim2web.reports.fields

#: 0008's setting of LZ4 on the stored messages and reports, run again (it is idempotent).
lz4 = importlib.import_module("dkim2web.reports.migrations.0008_lz4_compression").lz4


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
