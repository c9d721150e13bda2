"""The intake's store on a real PostgreSQL: its statement built once per shape (issue #13).

* ``reports.insert_new`` builds the text of its statement (one INSERT per model in
  data-modifying WITHs, 53 quoted names for a delivery, its analysis and their link) once
  per shape of its rows, the row count of each model, and keeps it: a second delivery of the
  same shape quotes no name and sends the very same text, only its parameters differ.
  Building it was some 20-40 µs of each delivery's CPU in the intake.
* What each delivery stores is still exactly what was given: two deliveries of one shape
  with different optional fields (client port, HELO, null sender, LMTP) read back as given;
  a delivery of another shape (a forward with two attached originals) gets a statement of
  its own, and the keys the database makes are read back in the order of its rows.
* Each delivery is still one statement (a WITH writing the three tables), nothing else.
* The stored message's column is LZ4-compressed (reports 0008): a 50 KB message the intake
  stores is written with LZ4, not pglz (a third of pglz's server CPU), and reads back as
  sent.

The Django tests run on SQLite, which saves the rows one by one; this runs the PostgreSQL
path through the project's manage.py on a throwaway database.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.postgres import manage_on

pytestmark = pytest.mark.postgres

SCRIPT = r"""
import hashlib, json, re
from datetime import UTC, datetime
from django.contrib.auth import get_user_model
from django.db import connections
from django.test.utils import CaptureQueriesContext
from dkim2web.intake import services as intake
from dkim2web.intake.models import Delivery, IntakePart
from dkim2web.intake.testing import attach, chain_to, message
from dkim2web.reports import services
from dkim2web.reports.models import Analysis

connection = connections["default"]
quoted = []  # every name quoted by this connection's operations
quote_name = connection.ops.quote_name
connection.ops.quote_name = lambda name: quoted.append(name) or quote_name(name)
TABLE = re.compile(r'INSERT INTO "(\w+)"')
user = get_user_model().objects.create_user("alice", password="alice-pw-1")
address = intake.intake_address_get_or_create(user=user)
to_alice = intake.Recipient(rcpt=address.address, address_id=address.pk, owner_id=user.pk)
services._INSERT_STATEMENTS.clear()  # built afresh here, whatever ran before in the process


def store(raw, envelope):
    quoted.clear()
    with CaptureQueriesContext(connection) as queries:
        [stored] = intake.delivery_store(
            raw=raw, envelope=envelope, recipients=[to_alice], enqueue=False
        )
    sent = [q["sql"] for q in queries.captured_queries]
    return stored, {
        "statements": [[s.split(None, 1)[0], *TABLE.findall(s)] for s in sent],
        "quoted": len(quoted),
        "sql": sent[0],
    }


def delivery_row(stored, raw):
    d = Delivery.objects.get(pk=stored.delivery.pk)
    return [
        d.owner_id == user.pk, d.address_id == address.pk, d.received_at.isoformat(),
        d.protocol, d.mail_from, d.rcpt_to, d.other_recipients, d.client_ip, d.client_port,
        d.helo, d.size == len(raw), d.sha256 == hashlib.sha256(raw).hexdigest(), d.reply_state,
    ]


def analysis_row(analysis):
    a = Analysis.objects.get(pk=analysis.pk)
    return [
        a.raw_bytes == analysis.raw_message, a.mail_from, a.rcpt_to, a.envelope_source,
        a.client_ip, a.helo, a.header_subject, a.filename, a.status,
    ]


out = {"address": address.address}
first_raw = chain_to(address.address, subject="First")
first, out["first"] = store(
    first_raw,
    intake.SmtpEnvelope(
        mail_from="bob@forwarder.example", client_ip="192.0.2.7", client_port=2525,
        helo="mx.forwarder.example", received_at=datetime(2024, 5, 1, 9, 30, tzinfo=UTC),
    ),
)
second_raw = message(
    sender="carol@origin.example", to=address.address, subject="Second", body="Hi.\r\n"
)
second, out["second"] = store(
    second_raw,
    intake.SmtpEnvelope(
        mail_from="<>", protocol="lmtp", received_at=datetime(2024, 5, 2, 10, 0, tzinfo=UTC)
    ),
)
out["same_text"] = out["first"].pop("sql") == out["second"].pop("sql")
out["first_rows"] = {
    "delivery": delivery_row(first, first_raw), "analysis": analysis_row(first.analyses[0]),
    "raw": Analysis.objects.get(pk=first.analyses[0].pk).raw_bytes == first_raw,
}
out["second_rows"] = {
    "delivery": delivery_row(second, second_raw), "analysis": analysis_row(second.analyses[0]),
    "raw": Analysis.objects.get(pk=second.analyses[0].pk).raw_bytes == second_raw,
}

originals = [chain_to(address.address, subject=s) for s in ("One", "Two")]
wrapper = attach(originals, to=address.address)
envelope = intake.SmtpEnvelope(mail_from="bob@forwarder.example", client_ip="192.0.2.8")
forwards = []
for _ in range(2):
    stored, seen = store(wrapper, envelope)
    seen.pop("sql")
    top, *inner = stored.analyses
    parts = {p.analysis_id: p for p in IntakePart.objects.filter(delivery=stored.delivery)}
    seen["kinds"] = [parts[a.pk].kind for a in stored.analyses]
    seen["parents"] = [parts[a.pk].parent_id == top.pk for a in inner]
    seen["originals"] = [Analysis.objects.get(pk=a.pk).raw_bytes for a in inner] == originals
    # The keys the database made, read back into the links in the order of their rows.
    made = [p.pk for p in IntakePart.objects.filter(delivery=stored.delivery).order_by("pk")]
    seen["keys"] = sorted(parts[a.pk].pk for a in stored.analyses) == made
    forwards.append(seen)
out["forwards"] = forwards
out["shapes"] = sorted(
    [vendor, [[model.__name__, count, returned] for model, count, returned in shape]]
    for vendor, shape in services._INSERT_STATEMENTS
)

# LZ4 on the stored message's column, and a 50 KB message stored with it.
big = message(
    sender="dave@origin.example", to=address.address, subject="Big",
    body="".join(f"line {n} of a fifty kilobyte message\r\n" for n in range(1400)),
)
[stored] = intake.delivery_store(
    raw=big, envelope=intake.SmtpEnvelope(mail_from="dave@origin.example"),
    recipients=[to_alice], enqueue=False,
)
with connection.cursor() as cursor:
    cursor.execute(
        "SELECT attcompression FROM pg_attribute"
        " WHERE attrelid = 'reports_analysis'::regclass AND attname = 'raw_message'"
    )
    out["attcompression"] = cursor.fetchone()[0]
    cursor.execute(
        "SELECT pg_column_compression(raw_message), pg_column_size(raw_message)"
        " FROM reports_analysis WHERE id = %s",
        [stored.analyses[0].pk],
    )
    method, size = cursor.fetchone()
out["big"] = {
    "size": len(big) > 50_000,
    "method": method,
    "compressed": size < len(big) // 4,
    "raw": Analysis.objects.get(pk=stored.analyses[0].pk).raw_bytes == big,
}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def out() -> Iterator[dict[str, Any]]:
    """What the script saw, run once for the module on a database of its own."""
    from tests.conftest import require_postgres
    from tests.support.postgres import throwaway_database

    with throwaway_database(require_postgres()) as url:
        manage_on(url, "migrate", "--noinput")
        env = {"DKIM2WEB_INTAKE_REPLY": "1"}
        printed = manage_on(url, "shell", "--no-imports", "-c", SCRIPT, env=env)
        yield json.loads(printed.splitlines()[-1])


STORE = ["WITH", "intake_delivery", "reports_analysis", "intake_intakepart"]


def test_the_first_delivery_of_a_shape_builds_the_statement_and_the_next_reuses_it(
    out: dict[str, Any],
) -> None:
    # 18 columns of the delivery, 23 of the analysis and 9 of the link (its key made by the
    # database, and returned: one name more), and the three tables.
    assert out["first"] == {"statements": [STORE], "quoted": 53}
    assert out["second"] == {"statements": [STORE], "quoted": 0}
    assert out["same_text"] is True


def test_two_deliveries_of_one_shape_store_what_each_was_given(out: dict[str, Any]) -> None:
    to = [f"<{out['address']}>"]
    assert out["first_rows"] == {
        "delivery": [
            True, True, "2024-05-01T09:30:00+00:00", "smtp", "<bob@forwarder.example>", to, 0,
            "192.0.2.7", 2525, "mx.forwarder.example", True, True, "pending",
        ],
        "analysis": [
            True, "<bob@forwarder.example>", to, "smtp", "192.0.2.7", "mx.forwarder.example",
            "[ops-talk] First", "mail-ops-talk-First.eml", "queued",
        ],
        "raw": True,
    }  # fmt: skip
    assert out["second_rows"] == {
        "delivery": [
            True, True, "2024-05-02T10:00:00+00:00", "lmtp", "<>", to, 0, "", None, "", True,
            True, "pending",
        ],
        "analysis": [True, "<>", to, "smtp", "", "", "Second", "mail-Second.eml", "queued"],
        "raw": True,
    }  # fmt: skip


def test_a_delivery_of_another_shape_gets_its_own_statement_once(out: dict[str, Any]) -> None:
    first, second = out["forwards"]
    # A delivery, three analyses and three links: the same 53 names, now three rows each.
    assert first["statements"] == [STORE] and first["quoted"] == 53
    assert second["statements"] == [STORE] and second["quoted"] == 0
    for seen in out["forwards"]:
        assert seen["kinds"] == ["wrapper", "attached", "attached"]
        assert seen["parents"] == [True, True]
        assert seen["originals"] is True
        assert seen["keys"] is True
    assert out["shapes"] == [
        ["postgresql", [["Delivery", 1, False], ["Analysis", 1, False], ["IntakePart", 1, True]]],
        ["postgresql", [["Delivery", 1, False], ["Analysis", 3, False], ["IntakePart", 3, True]]],
    ]


def test_the_stored_message_is_compressed_with_lz4(out: dict[str, Any]) -> None:
    assert out["attcompression"] == "l"
    assert out["big"] == {"size": True, "method": "lz4", "compressed": True, "raw": True}
