"""Writes for accounts: API tokens (HackSoft services: keyword-only, typed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from django.db import connections, router
from django.utils import timezone

from dkim2web.reports.services import bound_cursor

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
    db = router.db_for_read(ApiToken)
    # Every API request asks this: the query is written out once (building it with the ORM
    # each time cost a tenth of an upload), and run on a plain cursor, each column read with
    # this database's converters as a query set would (a raw query set mapped its columns
    # to fields anew for every request: 0.08 ms, 40% of the lookup's CPU). The owner comes
    # with only its id and is_active loaded; any other field is read when first used, as
    # for a query set's only().
    statement = _token_statement(db)
    connection = connections[db]
    # Bound by the server (as the other statements of an upload are), so PostgreSQL
    # prepares it once per connection instead of parsing and planning it for every request
    # (settings: DATABASE_PREPARE_THRESHOLD).
    with bound_cursor(connection) as cursor:
        cursor.execute(statement.sql, [hash_secret(key)])
        row = cursor.fetchone()
    token = None
    if row is not None:
        values = list(row)
        for index, converters in statement.converters:
            for converter in converters:
                values[index] = converter(values[index], statement.columns[index], connection)
        token = ApiToken.from_db(db, statement.attnames, values)
    if token is None or not token.is_usable(now=now):
        return None
    user_model: Any = ApiToken._meta.get_field("user").related_model
    loaded = {user_model._meta.pk.attname: token.user_id, "is_active": True}
    names = [f.attname for f in user_model._meta.concrete_fields if f.attname in loaded]
    token.user = user_model.from_db(db, names, [loaded[name] for name in names])
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


@dataclass(frozen=True)
class _TokenStatement:
    sql: str
    attnames: list[str]  # ApiToken's concrete fields, in the SELECT's order
    columns: list[Any]  # each one's Col expression, as converters are handed it
    converters: list[tuple[int, list[Any]]]  # (column index, converters) where there are any


@cache
def _token_statement(db: str) -> _TokenStatement:
    """The token with the key hash given, if its owner is active: its columns by name."""
    connection = connections[db]
    quote = connection.ops.quote_name
    token = ApiToken._meta
    user = token.get_field("user").related_model._meta  # type: ignore[union-attr]

    def column(meta: Any, name: str) -> str:
        return f"{quote(meta.db_table)}.{quote(meta.get_field(name).column)}"

    fields = list(token.concrete_fields)
    sql = (
        f"SELECT {', '.join(f'{quote(token.db_table)}.{quote(f.column)}' for f in fields)}"
        f" FROM {quote(token.db_table)}"
        f" INNER JOIN {quote(user.db_table)}"
        f" ON {column(token, 'user')} = {column(user, user.pk.name)}"
        f" WHERE {column(token, 'key_hash')} = %s AND {column(user, 'is_active')}"
    )
    columns = [f.get_col(token.db_table) for f in fields]
    converters = [
        (index, found)
        for index, col in enumerate(columns)
        if (found := connection.ops.get_db_converters(col) + col.get_db_converters(connection))
    ]
    return _TokenStatement(sql, [f.attname for f in fields], columns, converters)
