"""A throwaway PostgreSQL database for the tests that need one of their own (a migration,
a process started on it, a race between two connections), and ``manage.py`` run on it."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
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


REPO = Path(__file__).resolve().parents[2]

#: This test run's own settings, left out of the process ``manage_on`` starts.
_NOT_INHERITED = ("CELERY_", "DJANGO_", "DKIM2", "DATABASE_", "CACHE_URL", "REDIS_URL")


def manage_on(
    database_url: str,
    *args: str,
    env: Mapping[str, str] | None = None,
    python_flags: Sequence[str] = (),
) -> str:
    """``manage.py args`` in a process of its own on ``database_url``, and what it printed:
    production settings with a test secret, HTTP, keys from the static zone, and ``env``
    over them. A failure fails the test with the command and the end of its stderr."""
    child = {k: v for k, v in os.environ.items() if not k.startswith(_NOT_INHERITED)}
    child.update(
        DATABASE_URL=database_url,
        DJANGO_SECRET_KEY="test-only-" + "x" * 50,
        DKIM2WEB_SECURE="0",
        DKIM2_KEY_LOOKUP="analysis.resolvers.StaticResolver",
    )
    child.update(env or {})
    result = subprocess.run(
        [sys.executable, *python_flags, "manage.py", *args],
        cwd=REPO,
        env=child,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"manage.py {args[0]} failed:\n{result.stderr[-3000:]}"
    return result.stdout
