"""Writes for accounts: API tokens (HackSoft services: keyword-only, typed)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db.models import Q
from django.utils import timezone

from .models import ApiToken
from .tokens import display_prefix, hash_secret, new_secret

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

TOKEN_BYTES = 32  # secrets.token_urlsafe(32): 43 characters, 256 bits
# Writing last_used_at on every request would turn each API read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def api_token_create(
    *, user: AbstractBaseUser, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """A new token for ``user``. Returns the row and the token, which is not stored anywhere:
    the caller shows it once."""
    key = new_secret(TOKEN_BYTES)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip()[:100] or "API token",
        key_hash=hash_secret(key),
        prefix=display_prefix(key),
        expires_at=expires_at,
    )
    return token, key


def api_token_revoke(*, token: ApiToken) -> bool:
    """Revoke a token; False if it was already revoked (the first revocation time stays)."""
    now = timezone.now()
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    token.refresh_from_db(fields=["revoked_at"])
    return bool(revoked)


def api_token_authenticate(*, key: str) -> ApiToken | None:
    """The usable token whose hash matches ``key``, with its user; None for anything else.

    The lookup is by hash, so no comparison ever runs on the secret itself (the timing of
    an index lookup on SHA-256 digests tells an attacker nothing about the token).
    """
    if not key or len(key) > 200:
        return None
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=hash_secret(key), revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
