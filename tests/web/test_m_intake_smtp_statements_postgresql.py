"""The mailbox's statements per message over real SMTP on a real PostgreSQL (issue #13).

A message delivered to the intake costs PostgreSQL two statements, both on the intake's
database threads and none on its event loop: the lookup of the recipient at RCPT TO, and
the one statement that stores the delivery, its analysis and their link at the end of
DATA (no BEGIN and COMMIT around it); the analysis is published once it is committed. A
refused recipient costs its lookup alone; data that is no message (550 5.6.0) costs nothing
more than its recipient's lookup. The checks that cost no statement (the DATA check, the
addresses of MAIL and RCPT) were made cheaper without adding one.

The answer task of a delivery from an address whose answers today were taken meanwhile (a
burst from one address) costs five statements, and no answer is written for it.

The Django tests run on SQLite, which takes another path; this runs the intake in a process
of its own on a throwaway database through the project's manage.py, its SMTP server on
loopback, with the broker's publish recorded instead of sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.postgres import manage_on

pytestmark = pytest.mark.postgres

SCRIPT = r"""
import json, re, smtplib, threading
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.backends.signals import connection_created
from dkim2web.intake import services as intake
from dkim2web.intake.models import Delivery
from dkim2web.intake.testing import chain_to, running_intake
from dkim2web.reports import services as reports

TABLE = re.compile(r'(?:INSERT INTO|UPDATE|FROM|JOIN) "(\w+)"')
statements = []  # [thread, first word, tables...] of every statement


def count(execute, sql, params, many, context):
    thread = threading.current_thread().name.rsplit("_", 1)[0]
    statements.append([thread, sql.split(None, 1)[0], *TABLE.findall(sql)])
    return execute(sql, params, many, context)


connection_created.connect(
    lambda sender, connection, **kwargs: connection.execute_wrappers.append(count), weak=False
)
# As with a broker: the store publishes each analysis once committed (recorded here).
settings.CELERY_TASK_ALWAYS_EAGER = False
queued = []
reports.analysis_enqueue = lambda *, analysis_id, size=None, connection=None: queued.append(
    str(analysis_id)
)

user = get_user_model().objects.create_user("alice", password="alice-pw-1")
address = intake.intake_address_get_or_create(user=user).address
unknown = "a-" + "0" * 32 + "@intake.localhost"
raw = chain_to(address)
out = {}
with running_intake() as server:
    statements.clear()
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as client:
        client.ehlo("mx.forwarder.example")
        out["stored"] = [client.sendmail("bob@forwarder.example", [address], raw) for _ in range(5)]
        out["after_five"] = len(statements)
        client.mail("bob@forwarder.example")
        out["unknown"] = client.rcpt(unknown)[0]
        client.rset()
        out["after_unknown"] = len(statements)
        try:
            client.sendmail("bob@forwarder.example", [address], b"no header fields here\r\n")
        except smtplib.SMTPDataError as exc:
            out["not_a_message"] = exc.smtp_code
out["statements"] = list(statements)
out["queued"] = len(queued)
out["deliveries"] = Delivery.objects.count()

# The answer task for a delivery from an address whose day's answers were taken meanwhile.
from datetime import UTC
from django.utils import timezone
from dkim2web.intake import tasks as intake_tasks
from dkim2web.intake.models import IntakePart, ReplyLog

answers = []
intake_tasks.reply_to_sender.delay = lambda delivery_id: answers.append(delivery_id)
delivery = Delivery.objects.order_by("received_at").first()
top = IntakePart.objects.get(delivery=delivery, parent__isnull=True)
reports.analysis_run(analysis_id=top.analysis_id)  # the worker: its hook queues the task
day = timezone.now().astimezone(UTC).date()
for slot in (1, 2, 3):
    ReplyLog.objects.create(recipient="bob@forwarder.example", day=day, slot=slot)
statements.clear()
out["task"] = intake.delivery_reply(delivery_id=answers[0])
out["task_statements"] = [s[1:] for s in statements]
delivery.refresh_from_db()
out["task_detail"] = delivery.reply_detail
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def out() -> Iterator[dict[str, Any]]:
    """What the script saw, run once for the module on a database of its own."""
    from tests.conftest import require_postgres
    from tests.support.postgres import throwaway_database

    with throwaway_database(require_postgres()) as url:
        manage_on(url, "migrate", "--noinput")
        printed = manage_on(
            url,
            "shell",
            "--no-imports",
            "-c",
            SCRIPT,
            env={
                "DKIM2WEB_INTAKE_RATE_PER_MINUTE": "0",
                "DKIM2WEB_INTAKE_REPLY": "1",
                "DKIM2WEB_INTAKE_REPLIES_PER_DAY": "3",
                # The chains' demo signers' keys, from memory (as the stack benchmarks).
                "DKIM2_KEY_LOOKUP": "dkim2web.samples.keys.DemoDnsLookup",
            },
        )
        yield json.loads(printed.splitlines()[-1])


LOOKUP = ["intake-db", "SELECT", "intake_intakeaddress", "auth_user"]
STORE = ["intake-db", "WITH", "intake_delivery", "reports_analysis", "intake_intakepart"]


def test_a_message_costs_its_lookup_and_one_statement(out: dict[str, Any]) -> None:
    assert out["stored"] == [{}] * 5  # every recipient accepted, every message 250
    assert out["statements"][: out["after_five"]] == [LOOKUP, STORE] * 5
    assert out["queued"] == out["deliveries"] == 5


def test_a_refused_recipient_costs_its_lookup_alone(out: dict[str, Any]) -> None:
    assert out["unknown"] == 550
    assert out["statements"][out["after_five"] : out["after_unknown"]] == [LOOKUP]


def test_data_that_is_no_message_stores_nothing(out: dict[str, Any]) -> None:
    assert out["not_a_message"] == 550
    assert out["statements"][out["after_unknown"] :] == [LOOKUP]


def test_no_statement_runs_on_the_event_loop_or_outside_the_stores_own(
    out: dict[str, Any],
) -> None:
    assert {s[0] for s in out["statements"]} == {"intake-db"}
    assert not {"BEGIN", "COMMIT", "SAVEPOINT"} & {s[1] for s in out["statements"]}


def test_an_answer_past_the_days_count_costs_five_statements_and_is_not_written(
    out: dict[str, Any],
) -> None:
    # The delivered message's part with its analysis and delivery, the claim, the run,
    # today's answers (whether this Message-ID was answered, how many today), the
    # settlement. Before: the delivery and the part apart, the answer written (its
    # originals looked up), and today's answers in two statements: eight.
    assert out["task"] == "skipped"
    assert out["task_statements"] == [
        ["SELECT", "intake_intakepart", "intake_delivery", "reports_analysis"],
        ["UPDATE", "intake_delivery"],
        ["SELECT", "reports_analysisrun"],
        ["SELECT", "intake_replylog", "intake_replylog"],
        ["UPDATE", "intake_delivery"],
    ]
    assert out["task_detail"] == (
        "the newest DKIM2 signature (i=3, d=forwarder.example) passed for "
        "<bob@forwarder.example>, but <bob@forwarder.example> has had 3 answers today (UTC), "
        "the most DKIM2WEB_INTAKE_REPLIES_PER_DAY allows; this delivery's report is on the "
        "intake page of the address's owner, and answers to this address resume tomorrow"
    )
