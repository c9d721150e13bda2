"""Django's PostgreSQL backend, except how a kept connection is checked before its first use
(and that a statement run as prepared is logged by its text: DATABASE_PREPARE_THRESHOLD;
and that json values are read as text, for reports.fields.ReportJSONField).

With CONN_HEALTH_CHECKS, Django asks the server ``SELECT 1`` before the first query of every
request and every task, so that a connection kept by CONN_MAX_AGE which the server has
since closed (it restarted, or an operator ended the session) is replaced instead of failing
a request. That round trip cost a web request and the server more than the rest of the
check is worth: a server that ends a session tells the client so (an error message and the
end of the connection), which makes the idle connection's socket readable. So the socket
is looked at first, without waiting: nothing to read means the server has said nothing
since the last query and the connection is kept as it is. Anything else (something to
read, an open transaction, a connection libpq already knows is bad) gets Django's own check.

A server that vanishes without a word (a cable cut) is not noticed this way; ``SELECT 1``
would wait for the network to time out on such a connection too.
"""

from __future__ import annotations

import functools
import select
from typing import Any

import psycopg
from django.db.backends.postgresql import base, operations
from psycopg.adapt import AdaptersMap
from psycopg.pq import ConnStatus, TransactionStatus
from psycopg.types.string import TextLoader


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor: Any, sql: Any, params: Any) -> Any:
        # psycopg keeps no query text for a statement it ran as prepared (settings:
        # DATABASE_PREPARE_THRESHOLD), so Django's query log (connection.queries, the tests'
        # CaptureQueriesContext) would record None: record the statement as written instead.
        executed = super().last_executed_query(cursor, sql, params)
        return sql if executed is None else executed


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        if "context" in params:
            params["context"] = _with_json_as_text(params["context"])
        return params

    def close_if_health_check_failed(self) -> None:
        if (
            not self.pool
            and self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done  # type: ignore[has-type]
            and _silent_since_last_query(self.connection)
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()


@functools.lru_cache
def _with_json_as_text(template: AdaptersMap) -> AdaptersMap:
    """Django's adapters, with ``json`` values read as their text, as Django has ``jsonb``
    read: the stored report's column is ``json`` (reports.fields.ReportJSONField), whose
    field decodes the text itself. One map per template (Django keeps one per time zone)."""
    adapters = AdaptersMap(template)
    adapters.register_loader("json", TextLoader)
    return adapters


def _silent_since_last_query(connection: psycopg.Connection[object]) -> bool:
    """Idle, with nothing on the socket to read: no message and no end of connection."""
    pgconn = connection.pgconn
    if pgconn.status != ConnStatus.OK or pgconn.transaction_status != TransactionStatus.IDLE:
        return False
    try:
        poller = select.poll()
        poller.register(pgconn.socket, select.POLLIN | select.POLLPRI)
        return not poller.poll(0)
    except (OSError, ValueError, psycopg.Error, AttributeError):
        return False  # no socket to look at (or no poll here): ask the server instead
