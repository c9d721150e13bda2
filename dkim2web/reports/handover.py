"""Analyses made while logged out become the account's when the visitor logs in or signs up.

An anonymous visitor's analyses are reachable only through their browser session
(``selectors.analysis_ids_in_session``). Django keeps the session's data across log-in (it
only changes the key), so at that moment the ids are handed to the account: afterwards the
analyses are in "My analyses" and survive the session.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .models import Analysis
from .selectors import ANON_SESSION_KEY, analysis_ids_in_session


def analyses_hand_over(*, session: Any, user: Any) -> int:
    """Give the session's ownerless analyses to ``user``; returns how many moved."""
    ids = analysis_ids_in_session(session=session)
    if not ids:
        return 0
    moved = Analysis.objects.filter(pk__in=ids, owner__isnull=True).update(owner=user)
    session.pop(ANON_SESSION_KEY, None)
    return moved


@receiver(user_logged_in, dispatch_uid="dkim2web.reports.handover")
def _on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        analyses_hand_over(session=request.session, user=user)
