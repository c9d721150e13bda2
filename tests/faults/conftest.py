"""Fixtures of the fault tests (the classes are in fault_cluster.py, next to this file)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_cluster import (
    Cluster,
    RedisServer,
    admin,
    base_env,
    database_url,
    manage,
)
from psycopg import sql


@pytest.fixture(scope="session")
def migrated_template() -> Iterator[str]:
    name = f"dkim2web_fault_tmpl_{secrets.token_hex(4)}"
    admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        manage(dict(base_env(), DATABASE_URL=database_url(name)), "migrate", "--noinput")
        yield name
    finally:
        admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def fault_database(migrated_template: str) -> Iterator[str]:
    """A migrated database of this test's own; its name."""
    name = f"dkim2web_fault_{secrets.token_hex(6)}"
    admin(
        sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(migrated_template)
        )
    )
    try:
        yield name
    finally:
        admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    workdir = tmp_path / "redis"
    workdir.mkdir()
    server = RedisServer(workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def cluster(fault_database: str, redis_server: RedisServer, tmp_path: Path) -> Iterator[Cluster]:
    env = base_env()
    env.update(
        DATABASE_URL=database_url(fault_database),
        CELERY_BROKER_URL=redis_server.url(0),
        DKIM2WEB_TEST_HOLD=str(tmp_path / "hold"),
    )
    running = Cluster(fault_database, redis_server, tmp_path, env)
    try:
        yield running
    finally:
        running.stop_all()
