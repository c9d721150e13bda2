"""``manage.py run_intake [--lmtp] [--host H] [--port P]``: the mailbox, until stopped."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from dkim2web.intake.server import IntakeServer

logger = logging.getLogger("dkim2web.intake.server")


class Command(BaseCommand):
    help = (
        "Serve the intake mailbox over SMTP (or LMTP with --lmtp, behind an MTA): mail for "
        "a-<token>@DKIM2WEB_INTAKE_DOMAIN is stored and analysed for the address's owner."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--lmtp", action="store_true", help="speak LMTP instead of SMTP")
        parser.add_argument("--host", default=None, help=f"default {settings.DKIM2WEB_INTAKE_HOST}")
        parser.add_argument(
            "--port", type=int, default=None, help=f"default {settings.DKIM2WEB_INTAKE_PORT}"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            server = IntakeServer(host=options["host"], port=options["port"], lmtp=options["lmtp"])
        except ImproperlyConfigured as exc:  # the TLS certificate, STARTTLS required
            raise CommandError(str(exc)) from exc
        try:
            asyncio.run(self._serve(server))
        finally:
            server.shutdown_threads()
        self._say("intake stopped")

    def _say(self, text: str) -> None:
        # With JSON logs (production) every line of output is a JSON record, so the
        # operator's lines go through logging too; otherwise they are printed plainly.
        if settings.DKIM2WEB_LOG_JSON:
            logger.info("%s", text)
        else:
            self.stdout.write(text)
            self.stdout.flush()

    async def _serve(self, server: IntakeServer) -> None:
        try:
            await server.start_serving()
        except OSError as exc:
            raise CommandError(f"cannot listen on {server.host}:{server.port}: {exc}") from exc
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, server.request_stop)
        protocol = "LMTP" if server.lmtp else "SMTP"
        mode = (
            "analyses run here, after 250"
            if server.background
            else "analyses published to the broker"
        )
        if server.tls_context is None:
            tls = "STARTTLS off"
        else:
            tls = "STARTTLS required" if server.require_starttls else "STARTTLS offered"
        self._say(
            f"intake: {protocol} on {server.host}:{server.port}, mail for "
            f"a-<token>@{server.domain} ({mode}; replies "
            f"{'on' if settings.DKIM2WEB_INTAKE_REPLY else 'off'}; {tls})"
        )
        await server.serve()
