"""The DKIM2 draft revision: the one an analysis's next run uses, and the one each run used.

Existing analyses get "auto" (what a re-run does by default).  Existing runs get the
revision their report names: a run stored since the engine judged by revision (its DKIM2
section has ``revision_mode``) gets "auto" or the revision it was fixed to; a run stored
before then followed -06 rules, the column's default (dkim2web/reports/documents.py reads
its report the same way).  The reports themselves are not rewritten, nor loaded: the
JSON key lookups run in the database.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models

REVISIONS = [
    ("auto", "auto"),
    ("06", "-06"),
    ("07", "-07"),
    ("08", "-08"),
    ("09", "-09"),
]


def runs_from_their_reports(apps: Any, schema_editor: Any) -> None:
    run = apps.get_model("reports", "AnalysisRun")
    runs = run.objects.using(schema_editor.connection.alias)
    runs.filter(report__dkim2__revision_mode="auto").update(revision="auto")
    for number, _ in REVISIONS[1:]:
        runs.filter(report__dkim2__revision_mode="fixed", report__dkim2__revision=number).update(
            revision=number
        )


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0003_every_mechanism"),
    ]

    operations = [
        migrations.AddField(
            model_name="analysis",
            name="revision",
            field=models.CharField(choices=REVISIONS, default="auto", max_length=8),
        ),
        migrations.AddField(
            model_name="analysisrun",
            name="revision",
            field=models.CharField(choices=REVISIONS, default="06", max_length=8),
        ),
        migrations.RunPython(runs_from_their_reports, migrations.RunPython.noop),
    ]
