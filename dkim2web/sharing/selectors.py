"""Reads for share links (HackSoft selectors: keyword-only, typed, no side effects)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils import timezone

from dkim2web.accounts.tokens import hash_secret

from .models import ShareLink

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    from dkim2web.reports.models import Analysis

# token_urlsafe(24) is 32 characters; anything far from that is not worth a query.
MAX_TOKEN_LENGTH = 64


def share_link_get_usable(*, token: str) -> ShareLink:
    """The live (not revoked, not expired) link for ``token``, with its analysis.

    Raises ShareLink.DoesNotExist for an unknown, revoked or expired token alike, so the
    shared page cannot tell anyone whether a link ever existed.
    """
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise ShareLink.DoesNotExist
    return (
        ShareLink.objects.select_related("analysis")
        .defer("analysis__raw_message")  # loaded only if the raw download asks for it
        .get(token_hash=hash_secret(token), revoked_at__isnull=True, expires_at__gt=timezone.now())
    )


def share_link_list_for_analysis(*, analysis: Analysis) -> QuerySet[ShareLink]:
    """Every link of an analysis, newest first, revoked and expired ones included."""
    return ShareLink.objects.filter(analysis=analysis)


def share_link_list_for_owner(
    *, user: AbstractBaseUser | AnonymousUser, active_only: bool = False
) -> QuerySet[ShareLink]:
    """The links of the user's analyses (whoever created them), newest first."""
    if not user.is_authenticated:
        return ShareLink.objects.none()
    links = (
        ShareLink.objects.filter(analysis__owner=user)
        .select_related("analysis")
        .defer("analysis__raw_message")
    )
    if active_only:
        links = links.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())
    return links


def share_link_get_for_owner(*, link_id: int, user: AbstractBaseUser | AnonymousUser) -> ShareLink:
    """One link of one of the user's analyses; raises ShareLink.DoesNotExist otherwise."""
    return share_link_list_for_owner(user=user).get(pk=link_id)
