"""``python manage.py analyze FILE``: store a message, analyse it now, print the verdict.

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
        "Store a message, verify every authentication it carries (DKIM2, DKIM1, ARC, SPF, "
        "DMARC) synchronously and print the verdict."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file", type=Path, help="the message (.eml), read as raw bytes")
        parser.add_argument("--json", action="store_true", help="print the full JSON report")
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

        if options["json"]:
            self.stdout.write(json.dumps(run.document, indent=2, sort_keys=True))
        elif options["authres"]:
            from analysis.authres_field import authentication_results

            self.stdout.write(
                authentication_results(
                    run.document, authserv_id=options["authserv_id"], newline="\n"
                )
            )
        else:
            self.stdout.write(f"{run.result}: {run.summary}")
        self.stderr.write(
            f"analysis {analysis.pk} ({run.engine_version}, {run.draft}, revision {run.revision})"
        )
