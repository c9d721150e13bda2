"""``python manage.py analyze FILE``: store a message, verify it now, print the verdict."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from dkim2web.reports import services


class Command(BaseCommand):
    help = "Store a message, verify its DKIM2 chain synchronously and print the verdict."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file", type=Path, help="the message (.eml), read as raw bytes")
        parser.add_argument("--json", action="store_true", help="print the full JSON report")
        parser.add_argument("--mail-from", default="", help="envelope sender (MAIL FROM)")
        parser.add_argument(
            "--rcpt-to",
            action="append",
            default=[],
            metavar="ADDRESS",
            help="envelope recipient (RCPT TO); repeat for several",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc

        analysis = services.analysis_submit(
            raw=raw,
            filename=path.name,
            mail_from=options["mail_from"],
            rcpt_to=options["rcpt_to"],
            enqueue=False,  # run here, synchronously, rather than through Celery
        )
        run = services.analysis_run(analysis_id=analysis.pk)
        if run is None:
            analysis.refresh_from_db()
            raise CommandError(f"analysis {analysis.pk} {analysis.status}: {analysis.error}")

        if options["json"]:
            self.stdout.write(json.dumps(run.report, indent=2, sort_keys=True))
        else:
            self.stdout.write(run.result)
            self.stderr.write(f"analysis {analysis.pk} ({run.engine_version}, {run.draft})")
