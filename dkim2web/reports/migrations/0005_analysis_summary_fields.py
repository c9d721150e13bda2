"""The From and Subject of each analysed message, for the list of analyses.

New analyses get them at submission (services.analysis_submit). Existing ones are filled in
here from their stored bytes, in batches, each row reading only the start of its message
(analysis.limits.SUBMISSION_HEAD_BYTES, cut inside the database), so the migration's memory
is bounded whatever the messages' sizes.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models

#: Analyses read and written per batch (each reads at most 1 MB of its message).
BATCH = 20


def summaries_from_stored_messages(apps: Any, schema_editor: Any) -> None:
    # The engine is imported here, not at module level, so loading the migrations never does.
    from django.db.models.functions import Substr

    from analysis import limits
    from analysis.submission import summary_fields

    analysis_model = apps.get_model("reports", "Analysis")
    rows = analysis_model.objects.using(schema_editor.connection.alias)
    # Every id first (small), then the heads batch by batch: no cursor stays open over the
    # table while it is written.
    ids = list(rows.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        heads = rows.filter(pk__in=batch).annotate(
            head=Substr(
                "raw_message",
                1,
                limits.SUBMISSION_HEAD_BYTES,
                output_field=models.BinaryField(),
            )
        )
        changed = []
        for pk, head in heads.values_list("pk", "head"):
            fields = summary_fields(bytes(head or b""))
            if fields.from_text or fields.subject:
                changed.append(
                    analysis_model(
                        pk=pk, header_from=fields.from_text, header_subject=fields.subject
                    )
                )
        if changed:
            rows.bulk_update(changed, ["header_from", "header_subject"])


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0004_dkim2_revision"),
    ]

    operations = [
        migrations.AddField(
            model_name="analysis",
            name="header_from",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name="analysis",
            name="header_subject",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.RunPython(summaries_from_stored_messages, migrations.RunPython.noop),
    ]
