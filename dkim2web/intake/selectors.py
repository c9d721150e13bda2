"""Reads of the intake (HackSoft selectors: keyword-only, typed, no side effects)."""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Any

from django.db import connections, router
from django.db.models import F, QuerySet

from dkim2web.reports.services import bound_cursor

from .models import IntakeAddress, IntakePart

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    from dkim2web.reports.models import Analysis

# The local part of an intake address: "a-" and the token (matched case-insensitively).
_LOCAL_PART = re.compile(r"a-([0-9a-f]{16,64})\Z", re.IGNORECASE)


def intake_address_resolve(*, local_part: str) -> IntakeAddress | None:
    """The active address with this local part, or None (unknown or rotated)."""
    m = _LOCAL_PART.match(local_part.strip())
    if m is None:
        return None
    return (
        IntakeAddress.objects.select_related("user")
        .filter(token=m.group(1).lower(), revoked_at__isnull=True, user__is_active=True)
        .first()
    )


def intake_address_target(*, local_part: str) -> tuple[int, int] | None:
    """``(address id, owner id)`` of the address :func:`intake_address_resolve` finds, or None.

    The intake asks this at every RCPT TO; the query is written out once, because building
    it with the ORM each time cost more than the rest of the command, and on PostgreSQL its
    parameter is bound by the server, so that the connection prepares it once.
    """
    m = _LOCAL_PART.match(local_part.strip())
    if m is None:
        return None
    db = router.db_for_read(IntakeAddress)
    with bound_cursor(connections[db]) as cursor:
        cursor.execute(_target_sql(db), [m.group(1).lower()])
        row = cursor.fetchone()
    return None if row is None else (int(row[0]), int(row[1]))


@cache
def _target_sql(db: str) -> str:
    quote = connections[db].ops.quote_name
    address = IntakeAddress._meta
    user = address.get_field("user").related_model._meta  # type: ignore[union-attr]

    def column(meta: Any, name: str) -> str:
        return f"{quote(meta.db_table)}.{quote(meta.get_field(name).column)}"

    return (
        f"SELECT {column(address, 'id')}, {column(address, 'user')}"
        f" FROM {quote(address.db_table)} INNER JOIN {quote(user.db_table)}"
        f" ON {column(address, 'user')} = {column(user, user.pk.name)}"
        f" WHERE {column(address, 'token')} = %s AND {column(address, 'revoked_at')} IS NULL"
        f" AND {column(user, 'is_active')}"
    )


def intake_addresses_for_user(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[IntakeAddress]:
    """The user's addresses, the active one first, then the revoked ones, newest first."""
    if not user.is_authenticated:
        return IntakeAddress.objects.none()
    return IntakeAddress.objects.filter(user=user).order_by(
        F("revoked_at").desc(nulls_first=True), "-created_at"
    )


def intake_part_for_analysis(*, analysis: Analysis) -> IntakePart | None:
    return (
        IntakePart.objects.select_related("delivery", "parent")
        .filter(analysis_id=analysis.pk)
        .first()
    )


def intake_children(*, analysis: Analysis) -> QuerySet[IntakePart]:
    """The originals found inside ``analysis`` (attached or returned), in document order."""
    return (
        IntakePart.objects.select_related("analysis")
        .defer("analysis__raw_message")
        .filter(parent_id=analysis.pk)
        .order_by("pk")
    )
