"""The intake's store with its statement kept per shape (issue #13), on SQLite.

* ``reports.insert_new`` keeps the text of its PostgreSQL statement per database vendor and
  shape of its rows (the row count of each model, and whether the database makes their
  keys): the text names every column of each model once and has a row of placeholders per
  row. At most ``_INSERT_SHAPES`` shapes are kept; past that a statement is built for each
  call, the same text.
* On SQLite the rows are saved one by one, as before: two deliveries with different
  optional fields each store what they were given, each in its savepoint and three INSERTs.

The PostgreSQL statement itself, sent and reused, is tested on a real server in
test_q_intake_store_statement_postgresql.py.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dkim2web.intake import services as intake
from dkim2web.intake.models import Delivery, IntakePart
from dkim2web.intake.testing import chain_to, message
from dkim2web.reports import services
from dkim2web.reports.models import Analysis

PART_COLUMNS = (
    '"analysis_id", "delivery_id", "parent_id", "kind", "mime_part", "transfer_encoding",'
    ' "notes", "dsn"'
)
PART_ROW = "(%s, %s, %s, %s, %s, %s, %s, %s)"


def test_a_statement_names_each_column_once_and_has_a_row_of_placeholders_per_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(services, "_INSERT_STATEMENTS", {})
    shape = ((IntakePart, 2, True),)
    sql, written = services._insert_statement(connection, shape)
    assert sql == (
        f'INSERT INTO "intake_intakepart" ({PART_COLUMNS}) VALUES {PART_ROW}, {PART_ROW}'
        ' RETURNING 0, "id"'
    )
    assert [[f.column for f in fields] for fields in written] == [
        [
            *["analysis_id", "delivery_id", "parent_id", "kind", "mime_part"],
            *["transfer_encoding", "notes", "dsn"],
        ]
    ]
    kept = services._INSERT_STATEMENTS
    assert kept == {("sqlite", shape): (sql, written)}
    # A key given by the caller is written like any column, and nothing is returned.
    given, _ = services._insert_statement(connection, ((IntakePart, 1, False),))
    assert (
        given == f'INSERT INTO "intake_intakepart" ("id", {PART_COLUMNS}) VALUES ({"%s, " * 8}%s)'
    )


def test_rows_of_several_models_are_one_with_statement_reading_back_the_made_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(services, "_INSERT_STATEMENTS", {})
    sql, written = services._insert_statement(
        connection, ((Analysis, 1, False), (IntakePart, 1, True))
    )
    assert sql.startswith('WITH i0 AS (INSERT INTO "reports_analysis" ("id", "owner_id", ')
    assert sql.endswith(
        f'), i1 AS (INSERT INTO "intake_intakepart" ({PART_COLUMNS}) VALUES {PART_ROW}'
        ' RETURNING 1, "id") SELECT * FROM i1'
    )
    assert [len(fields) for fields in written] == [23, 8]
    sql, _ = services._insert_statement(connection, ((Analysis, 1, False), (Delivery, 1, False)))
    assert sql.endswith(") SELECT NULL, NULL WHERE FALSE")  # no key made: nothing to read


def test_past_the_kept_shapes_a_statement_is_built_and_not_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    full = {("other", (n,)): ("", []) for n in range(services._INSERT_SHAPES)}
    monkeypatch.setattr(services, "_INSERT_STATEMENTS", dict(full))
    shape = ((IntakePart, 2, True),)
    sql, _ = services._insert_statement(connection, shape)
    assert sql.startswith(f'INSERT INTO "intake_intakepart" ({PART_COLUMNS}) VALUES {PART_ROW},')
    kept = services._INSERT_STATEMENTS
    assert kept == full


STORE = [["SAVEPOINT"], ["INSERT", "intake_delivery"], ["INSERT", "reports_analysis"]]
STORE += [["INSERT", "intake_intakepart"], ["RELEASE"]]


def _store(raw: bytes, envelope: intake.SmtpEnvelope, to: intake.Recipient) -> Any:
    with CaptureQueriesContext(connection) as queries:
        [stored] = intake.delivery_store(raw=raw, envelope=envelope, recipients=[to])
    words = []
    for q in queries.captured_queries:
        first, *rest = q["sql"].split()
        words.append([first, rest[1].strip('"')] if first == "INSERT" else [first])
    return stored, words


@pytest.mark.django_db
def test_two_deliveries_with_different_optional_fields_store_what_each_was_given(
    alice: Any, settings: Any
) -> None:
    settings.DKIM2WEB_INTAKE_REPLY = True
    address = intake.intake_address_get_or_create(user=alice)
    to = intake.Recipient(rcpt=address.address, address_id=address.pk, owner_id=alice.pk)
    first_raw = chain_to(address.address, subject="First")
    first, statements = _store(
        first_raw,
        intake.SmtpEnvelope(
            mail_from="bob@forwarder.example",
            client_ip="192.0.2.7",
            client_port=2525,
            helo="mx.forwarder.example",
            received_at=datetime(2024, 5, 1, 9, 30, tzinfo=UTC),
        ),
        to,
    )
    assert statements == STORE
    second_raw = message(
        sender="carol@origin.example", to=address.address, subject="Second", body="Hi.\r\n"
    )
    second, statements = _store(
        second_raw,
        intake.SmtpEnvelope(
            mail_from="<>", protocol="lmtp", received_at=datetime(2024, 5, 2, 10, 0, tzinfo=UTC)
        ),
        to,
    )
    assert statements == STORE

    def row(stored: Any, raw: bytes) -> list[Any]:
        d = Delivery.objects.get(pk=stored.delivery.pk)
        a = Analysis.objects.get(pk=stored.analyses[0].pk)
        part = IntakePart.objects.get(analysis=a)
        return [
            d.owner_id, d.address_id, d.received_at, d.protocol, d.mail_from, d.rcpt_to,
            d.client_ip, d.client_port, d.helo, d.size, d.sha256, d.reply_state,
            a.raw_bytes == raw, a.mail_from, a.rcpt_to, a.envelope_source, a.client_ip,
            a.helo, a.header_subject, a.filename, a.status,
            part.delivery_id == d.pk, part.parent_id, part.kind,
        ]  # fmt: skip

    rcpt = [f"<{address.address}>"]
    assert row(first, first_raw) == [
        alice.pk, address.pk, datetime(2024, 5, 1, 9, 30, tzinfo=UTC), "smtp",
        "<bob@forwarder.example>", rcpt, "192.0.2.7", 2525, "mx.forwarder.example",
        len(first_raw), hashlib.sha256(first_raw).hexdigest(), "pending",
        True, "<bob@forwarder.example>", rcpt, "smtp", "192.0.2.7", "mx.forwarder.example",
        "[ops-talk] First", "mail-ops-talk-First.eml", "queued",
        True, None, "direct",
    ]  # fmt: skip
    assert row(second, second_raw) == [
        alice.pk, address.pk, datetime(2024, 5, 2, 10, 0, tzinfo=UTC), "lmtp", "<>", rcpt,
        "", None, "", len(second_raw), hashlib.sha256(second_raw).hexdigest(), "pending",
        True, "<>", rcpt, "smtp", "", "", "Second", "mail-Second.eml", "queued",
        True, None, "direct",
    ]  # fmt: skip
