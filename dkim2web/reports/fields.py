"""The stored report's column: JSON kept as the text the engine wrote (PostgreSQL ``json``).

Django's JSONField is ``jsonb`` on PostgreSQL: the server parses every report into its binary
form when it is stored and prints it back to text whenever it is read. A report is written
once and read whole (the page, the API, the downloads); the one read inside the database is
the API list's subject (``->>``, which ``json`` has too). ``jsonb``'s parsing cost the server
0.17 ms of CPU per 21 KB report stored (issue #13: 0.445 against 0.275 ms an INSERT,
alternated); ``json`` checks the text's syntax and keeps it as written.

Elsewhere (SQLite) it is Django's JSONField unchanged: text either way.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from psycopg.types.json import Json, Jsonb


class ReportJSONField(models.JSONField):  # type: ignore[type-arg]
    """A JSONField whose PostgreSQL column is ``json``: stored and returned as written.

    Reading needs the driver to hand the text over unparsed, as Django arranges for
    ``jsonb``: :class:`dkim2web.postgresql.base.DatabaseWrapper` registers psycopg's text
    loader for ``json`` on its connections. A value some other backend's driver parsed
    already is returned as it is.
    """

    def db_type(self, connection: Any) -> str | None:
        if connection.vendor == "postgresql":
            return "json"
        return super().db_type(connection)

    def cast_db_type(self, connection: Any) -> str | None:
        return self.db_type(connection)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        adapted = super().get_db_prep_value(value, connection, prepared)
        if isinstance(adapted, Jsonb):
            # Sent as json: a jsonb parameter would be parsed into jsonb first and then cast
            # (an assignment cast), the work this column exists to avoid.
            return Json(adapted.obj, dumps=adapted.dumps)
        return adapted

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is not None and not isinstance(value, str):
            return value  # parsed by the driver already
        return super().from_db_value(value, expression, connection)
