"""Reads for accounts (HackSoft selectors: keyword-only, typed, no side effects)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from .models import ApiToken

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


def api_token_list_for_user(*, user: AbstractBaseUser) -> QuerySet[ApiToken]:
    """Every token of the user, newest first, revoked and expired ones included."""
    return ApiToken.objects.filter(user=user)


def api_token_get_for_user(*, token_id: int, user: AbstractBaseUser) -> ApiToken:
    """One of the user's tokens; raises ApiToken.DoesNotExist for anyone else's."""
    return api_token_list_for_user(user=user).get(pk=token_id)
