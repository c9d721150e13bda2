"""``python manage.py analyze FILE``: analyse a message now and print the verdict.

Nothing is stored and no database is needed (nor a secret key: settings.py lets this
command run without one), so it works on a fresh checkout; ``--store`` keeps the message
and its run as an analysis, like an upload, in the (migrated) database.

The envelope options play the part the mailbox's real SMTP session plays: with
``--client-ip`` (and ``--helo``, ``--mail-from``) SPF evaluates that client; without it the
client is reconstructed from the message's own Received fields, as for an upload.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from dkim2web.reports import services
from dkim2web.reports.models import Revision


class Command(BaseCommand):
    help = (
        "Verify every authentication a message carries (DKIM2, DKIM1, ARC, SPF, DMARC) now "
        "and print the verdict; --store also keeps it as an analysis in the database."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file", type=Path, help="the message (.eml), read as raw bytes")
        parser.add_argument("--json", action="store_true", help="print the full JSON report")
        parser.add_argument(
            "--store",
            action="store_true",
            help="keep the message and its report as an analysis in the database (which must "
            "be migrated); without it nothing is stored and no database is used",
        )
        parser.add_argument(
            "--authres",
            action="store_true",
            help="print the Authentication-Results field for the message (RFC 8601)",
        )
        parser.add_argument(
            "--authserv-id",
            default="dkim2web",
            help="the authserv-id of the --authres field (default: dkim2web)",
        )
        parser.add_argument(
            "--dns-json",
            type=Path,
            metavar="ZONE",
            help="answer every DNS question from this dns.json zone instead of DNS",
        )
        parser.add_argument("--client-ip", default="", help="the SMTP client's IP address")
        parser.add_argument("--helo", default="", help="the HELO/EHLO name the client gave")
        parser.add_argument("--mail-from", default="", help="envelope sender (MAIL FROM)")
        parser.add_argument(
            "--rcpt-to",
            action="append",
            default=[],
            metavar="ADDRESS",
            help="envelope recipient (RCPT TO); repeat for several",
        )
        parser.add_argument(
            "--now",
            type=int,
            metavar="UNIX",
            help="verification clock, unix seconds (0: do not check timestamps)",
        )
        parser.add_argument(
            "--revision",
            choices=Revision.values,
            default=Revision.AUTO,
            help="the DKIM2 draft revision whose rules judge the chain (default auto: the "
            "newest, with the older ones compared; only -06 is public draft text, the later "
            "revisions' rules are second-hand)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        lookup = None
        if options["dns_json"] is not None:
            from analysis.resolvers import StaticResolver

            try:
                lookup = StaticResolver.from_json_file(options["dns_json"])
            except (OSError, ValueError) as exc:
                raise CommandError(f"cannot use {options['dns_json']} as a zone: {exc}") from exc

        if options["store"]:
            result, document, where = self._store_and_run(
                raw, path=path, lookup=lookup, options=options
            )
        else:
            result, document, where = self._run(raw, lookup=lookup, options=options)

        if options["json"]:
            self.stdout.write(json.dumps(document, indent=2, sort_keys=True))
        elif options["authres"]:
            from analysis.authres_field import authentication_results

            self.stdout.write(
                authentication_results(document, authserv_id=options["authserv_id"], newline="\n")
            )
        else:
            self.stdout.write(f"{result}: {document.get('summary', '')}")
        self.stderr.write(where)

    def _run(
        self, raw: bytes, *, lookup: Any, options: dict[str, Any]
    ) -> tuple[str, dict[str, Any], str]:
        """The verdict and the report, stored nowhere: no database is opened."""
        from dkim2web.reports.documents import upgrade_document

        try:
            outcome = services.analysis_evaluate(
                raw=raw,
                mail_from=options["mail_from"],
                rcpt_to=options["rcpt_to"],
                client_ip=options["client_ip"],
                helo=options["helo"],
                revision=options["revision"],
                lookup=lookup,
                now=options["now"],
            )
        except services.ReportNotStorable as exc:
            raise CommandError(str(exc)) from exc
        except Exception as exc:  # what a stored run records as its failure
            raise CommandError(f"the analysis failed: {type(exc).__name__}: {exc}") from exc
        where = (
            f"not stored ({outcome.engine_version}, {outcome.draft}, revision "
            f"{options['revision']}); --store keeps it as an analysis"
        )
        return outcome.result, upgrade_document(outcome.report), where

    def _store_and_run(
        self, raw: bytes, *, path: Path, lookup: Any, options: dict[str, Any]
    ) -> tuple[str, dict[str, Any], str]:
        from django.db import connection

        from dkim2web.reports.models import Analysis

        if Analysis._meta.db_table not in connection.introspection.table_names():
            raise CommandError(
                "--store keeps the analysis in the database, which has no table for it yet: "
                "run `python manage.py migrate` first, or leave --store out"
            )
        analysis = services.analysis_submit(
            raw=raw,
            filename=path.name,
            mail_from=options["mail_from"],
            rcpt_to=options["rcpt_to"],
            client_ip=options["client_ip"],
            helo=options["helo"],
            revision=options["revision"],
            enqueue=False,  # run here, synchronously, rather than through Celery
        )
        run = services.analysis_run(analysis_id=analysis.pk, lookup=lookup, now=options["now"])
        if run is None:
            analysis.refresh_from_db()
            raise CommandError(f"analysis {analysis.pk} {analysis.status}: {analysis.error}")
        where = (
            f"analysis {analysis.pk} ({run.engine_version}, {run.draft}, revision {run.revision})"
        )
        return run.result, run.document, where
