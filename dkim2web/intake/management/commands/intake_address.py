"""``manage.py intake_address USER [--rotate]``: print the user's intake address."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from dkim2web.intake import services


class Command(BaseCommand):
    help = "Print USER's active intake address, making one if they have none."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--rotate",
            action="store_true",
            help="revoke the active address (mail to it is refused) and print a new one",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: options["username"]})
        except User.DoesNotExist:
            raise CommandError(f"no user {options['username']!r}") from None
        if options["rotate"]:
            address = services.intake_address_rotate(user=user)
        else:
            address = services.intake_address_get_or_create(user=user)
        self.stdout.write(address.address)
