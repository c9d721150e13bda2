"""A user's list of analyses read from one index, newest first (the pages and the API).

With only owner_id indexed, PostgreSQL either walked every user's analyses backwards by
created_at, discarding other owners' rows (66-93k of them on a 200k-row table), or fetched
all of the owner's rows and sorted them. The index (owner_id, created_at DESC, id DESC) gives
a page of the owner's list in its order; it also serves the owner's deletion (owner_id
leads), so the foreign key's own index goes: as many indexes as before, none written by the
worker's claim. Built before the old one is dropped, under the migration's lock.
"""

from __future__ import annotations

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0010_report_json_text"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="analysis",
            index=models.Index(
                fields=["owner", "-created_at", "-id"], name="analysis_owner_newest"
            ),
        ),
        migrations.AlterField(
            model_name="analysis",
            name="owner",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="analyses",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
