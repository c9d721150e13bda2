"""Reads of the intake (HackSoft selectors: keyword-only, typed, no side effects)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.db.models import F, QuerySet

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
