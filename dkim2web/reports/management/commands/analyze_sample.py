"""``python manage.py analyze_sample [NAME ...]``: sign gallery samples now and verify them.

Without ``--enqueue`` each sample is verified here, synchronously, and its verdict printed
(offline: the samples' keys come from the demo zone). With ``--enqueue`` the samples are
only submitted, through Celery like an upload, and their analysis ids are printed.
"""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from dkim2web.reports import services
from dkim2web.samples.gallery import SAMPLES, get_sample


class Command(BaseCommand):
    help = "Sign gallery samples now and verify them (or queue them with --enqueue)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "names", nargs="*", metavar="NAME", help="samples to run (default: all of them)"
        )
        parser.add_argument("--list", action="store_true", help="list the samples and stop")
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="submit through the task queue and print 'NAME ID' instead of verifying here",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for sample in SAMPLES:
                self.stdout.write(f"{sample.slug}\t{sample.title}")
            return
        names: list[str] = options["names"] or [s.slug for s in SAMPLES]
        try:
            samples = [get_sample(name) for name in names]
        except KeyError as exc:
            known = ", ".join(s.slug for s in SAMPLES)
            raise CommandError(f"no sample {exc.args[0]!r} (known: {known})") from None
        for sample in samples:
            built = sample.sign_now()
            analysis = services.analysis_submit(
                raw=built.raw,
                filename=built.filename,
                mail_from=built.mail_from,
                rcpt_to=built.rcpt_to,
                enqueue=options["enqueue"],
            )
            if options["enqueue"]:
                self.stdout.write(f"{sample.slug} {analysis.pk}")
                continue
            run = services.analysis_run(analysis_id=analysis.pk)
            if run is None:
                analysis.refresh_from_db()
                raise CommandError(f"{sample.slug}: analysis {analysis.pk} {analysis.error}")
            self.stdout.write(f"{sample.slug}: {run.summary}")
