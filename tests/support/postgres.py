"""A throwaway PostgreSQL database for the tests that need one of their own (a migration,
a process started on it, a race between two connections)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql


@contextmanager
def throwaway_database(server_url: str) -> Iterator[str]:
    """Create an empty database on the server of ``server_url`` and yield its URL; it is
    dropped afterwards (``WITH (FORCE)``: connections a test left open go with it)."""
    name = f"dkim2web_test_{secrets.token_hex(6)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
