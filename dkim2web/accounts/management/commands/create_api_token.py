"""``manage.py create_api_token USER [--name NAME] [--days N]``: print a new API token.

Only the token goes to stdout, so ``TOKEN=$(manage.py create_api_token alice)`` works.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from dkim2web.accounts.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for USER and print it (it is shown only this once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user", help="the username of the token's owner")
        parser.add_argument("--name", default="command line", help="what the token is for")
        parser.add_argument(
            "--days", type=int, default=None, help="expire after this many days (default: never)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: options["user"]})
        except User.DoesNotExist:
            raise CommandError(f"no user {options['user']!r}") from None
        days = options["days"]
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        _, key = api_token_create(user=user, name=options["name"], expires_at=expires_at)
        self.stdout.write(key)
