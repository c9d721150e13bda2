"""Messages kept between the two steps of "Guess the envelope" (models.HeldUpload).

Why keep them on the server: a browser never re-sends a chosen file, so the form shown again
with the guessed envelope would otherwise ask for the file again (or the upload would be
stored and analysed before the visitor has checked the guesses, under an envelope that may
be wrong). Kept here, nothing is lost and nothing is analysed until "Analyse".

Who may use them: only the visitor who uploaded them. Their ids are listed in that visitor's
session, and the form carries them signed (``django.core.signing``, so a form from another
tab or an hour ago is told apart); both must agree. They last ``HOLD_SECONDS``: analysing
takes them out, and every hold (and the periodic purge) deletes what has expired.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.core import signing
from django.utils import timezone

from .models import HeldUpload

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

#: How long a held upload may wait for "Analyse".
HOLD_SECONDS = 3600
#: The session key listing the ids of this visitor's held uploads (str), newest last.
SESSION_KEY = "held_uploads"
#: Ids a session remembers; the oldest are forgotten (and then unusable) first.
SESSION_MAX_IDS = 40
_SALT = "dkim2web.reports.held-upload"


class HeldExpired(Exception):
    """The held files named by a form are gone: expired, used, or not this visitor's."""


def held_uploads_keep(
    *,
    messages: Sequence[tuple[bytes, str]],
    owner: AbstractBaseUser | None,
    session: Any,
) -> str:
    """Keep ``messages`` (bytes, filename) for this visitor; the signed token for the form."""
    held_uploads_purge_expired()
    rows = [
        HeldUpload.objects.create(
            owner=owner, raw_message=bytes(raw), filename=filename[:255], size=len(raw)
        )
        for raw, filename in messages
    ]
    ids = [str(row.pk) for row in rows]
    known = [x for x in _session_ids(session) if x not in ids]
    session[SESSION_KEY] = (known + ids)[-SESSION_MAX_IDS:]
    return signing.dumps(ids, salt=_SALT, compress=True)


def held_uploads_for_token(*, token: str, session: Any) -> list[HeldUpload]:
    """The held uploads a form's token names, in their order; HeldExpired if any of them
    is not this session's, is older than HOLD_SECONDS or no longer exists."""
    try:
        ids = signing.loads(token, salt=_SALT, max_age=HOLD_SECONDS)
    except signing.BadSignature:  # SignatureExpired is one
        raise HeldExpired from None
    if not isinstance(ids, list) or not ids or not all(isinstance(x, str) for x in ids):
        raise HeldExpired
    if not set(ids) <= set(_session_ids(session)):
        raise HeldExpired
    cutoff = timezone.now() - timedelta(seconds=HOLD_SECONDS)
    found = {str(h.pk): h for h in HeldUpload.objects.filter(pk__in=ids, created_at__gte=cutoff)}
    if len(found) != len(ids):
        raise HeldExpired
    return [found[x] for x in ids]


def held_uploads_release(*, held: Sequence[HeldUpload], session: Any) -> None:
    """Delete held uploads once they are analysed, and forget them in the session."""
    ids = {str(h.pk) for h in held}
    HeldUpload.objects.filter(pk__in=ids).delete()
    session[SESSION_KEY] = [x for x in _session_ids(session) if x not in ids]


def held_uploads_purge_expired(*, now: Any = None) -> int:
    """Delete every held upload older than HOLD_SECONDS; how many were deleted."""
    cutoff = (now or timezone.now()) - timedelta(seconds=HOLD_SECONDS)
    deleted, _ = HeldUpload.objects.filter(created_at__lt=cutoff).only("pk").delete()
    return deleted


def _session_ids(session: Any) -> list[str]:
    ids = session.get(SESSION_KEY, [])
    return [str(x) for x in ids] if isinstance(ids, list) else []
