"""Writes for share links (HackSoft services: keyword-only, typed)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.utils import timezone

from dkim2web.accounts.tokens import display_prefix, hash_secret, new_secret

from .models import ShareLink

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from dkim2web.reports.models import Analysis

TOKEN_BYTES = 24  # secrets.token_urlsafe(24): 32 characters, 192 bits
EXPIRY_DAYS_CHOICES = (1, 7, 30)
MAX_DAYS = 365


def share_link_create(
    *, analysis: Analysis, created_by: AbstractBaseUser | None, days: int
) -> tuple[ShareLink, str]:
    """A new share link for ``analysis`` valid for ``days`` days.

    Returns the row and the token, which is not stored anywhere: the caller shows it once.
    """
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"a share link lasts 1 to {MAX_DAYS} days, not {days}")
    token = new_secret(TOKEN_BYTES)
    link = ShareLink.objects.create(
        analysis=analysis,
        token_hash=hash_secret(token),
        prefix=display_prefix(token),
        created_by=created_by,
        expires_at=timezone.now() + timedelta(days=days),
    )
    return link, token


def share_link_revoke(*, link: ShareLink) -> bool:
    """Revoke a link; False if it was already revoked (the first revocation time stays)."""
    revoked = ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    link.refresh_from_db(fields=["revoked_at"])
    return bool(revoked)
