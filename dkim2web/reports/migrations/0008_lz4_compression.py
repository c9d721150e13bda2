"""Stored messages and reports compressed with LZ4 on PostgreSQL (issue #13).

PostgreSQL compresses a large value (TOAST) with pglz unless a column says otherwise. LZ4
(PostgreSQL 14 and later, built with it as the postgres images and Debian's packages are)
stores a 21 KB report in half pglz's server CPU and a 50 KB message in a third, at about
the same size, and reads them back faster. Only what is written from now on is LZ4; values
already stored stay readable as they are. On SQLite, or on a PostgreSQL without LZ4, nothing
changes. A setting of the columns only: the tables are not rewritten.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

COLUMNS = (("Analysis", "raw_message"), ("AnalysisRun", "report"), ("HeldUpload", "raw_message"))


def _set_compression(apps: Any, schema_editor: Any, method: str) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        # No such setting before PostgreSQL 14; no 'lz4' among its values without LZ4.
        cursor.execute(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
        row = cursor.fetchone()
    if not row or not row[0]:
        return
    quote = schema_editor.quote_name
    for model_name, field_name in COLUMNS:
        model = apps.get_model("reports", model_name)
        column = model._meta.get_field(field_name).column
        schema_editor.execute(
            f"ALTER TABLE {quote(model._meta.db_table)} ALTER COLUMN {quote(column)}"
            f" SET COMPRESSION {method}"
        )


def lz4(apps: Any, schema_editor: Any) -> None:
    _set_compression(apps, schema_editor, "lz4")


def server_default(apps: Any, schema_editor: Any) -> None:
    _set_compression(apps, schema_editor, "default")


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0007_run_options"),
    ]

    operations = [
        migrations.RunPython(lz4, server_default),
    ]
