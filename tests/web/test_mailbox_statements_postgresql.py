"""The mailbox's statements on a real PostgreSQL, counted (issue #13): what each delivery and
each finished analysis of a delivery costs the database must not grow again.

* Storing a delivery for one owner is one statement (its delivery, the analyses its message
  becomes and their links, in data-modifying WITHs) outside any transaction block: no BEGIN
  and COMMIT around it. Several owners over SMTP are one statement each in one transaction
  (all or none); over LMTP each owner's statement is its own transaction.
* The rows are what the ORM stored before: every field, the keys the database makes read
  back into their instances, the analyses queued once the rows are committed.
* When the analysis of a delivery finishes, the answer to its sender costs one statement if
  the envelope or the day's count rules it out (the UPDATE that settles it), and two when it
  may go (that UPDATE, then the lookup of the delivery to queue its task). Before, two
  statements built by the ORM in every case, and the store was BEGIN, three INSERTs, COMMIT.

The Django tests run on SQLite, which takes another path; this runs the PostgreSQL
statements in a throwaway database through the project's manage.py (as production does).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.postgres import manage_on

pytestmark = pytest.mark.postgres

SCRIPT = r"""
import json, re
from datetime import UTC
from django.contrib.auth import get_user_model
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from dkim2web.intake import services as intake, tasks as intake_tasks
from dkim2web.intake.models import Delivery, IntakePart, ReplyLog
from dkim2web.intake.testing import attach, chain_to
from dkim2web.reports import services
from dkim2web.reports.models import Analysis

out = {}
connection = connections["default"]
TABLE = re.compile(r'(?:INSERT INTO|UPDATE|FROM|JOIN) "(\w+)"')
blocks = []  # every transaction.atomic entered
enter = transaction.Atomic.__enter__
transaction.Atomic.__enter__ = lambda self: blocks.append(1) or enter(self)
queued = []  # analyses published after their commit
services.analysis_enqueue = lambda *, analysis_id, size=None, connection=None: queued.append(
    str(analysis_id)
)
answers = []  # answer tasks queued by the finished-analysis hook
intake_tasks.reply_to_sender.delay = lambda delivery_id: answers.append(delivery_id)


def counted(fn, **kwargs):
    blocks.clear()
    with CaptureQueriesContext(connection) as queries:
        result = fn(**kwargs)
    statements = [
        [q["sql"].split(" ", 1)[0], *TABLE.findall(q["sql"])] for q in queries.captured_queries
    ]
    return result, statements, len(blocks)


User = get_user_model()
alice = User.objects.create_user("alice", password="alice-pw-1")
bob = User.objects.create_user("bob", password="bob-pw-1")
to_alice, to_bob = (
    intake.Recipient(rcpt=a.address, address_id=a.pk, owner_id=a.user_id)
    for a in (intake.intake_address_get_or_create(user=u) for u in (alice, bob))
)
envelope = intake.SmtpEnvelope(
    mail_from="bob@forwarder.example", client_ip="192.0.2.7", client_port=2525,
    helo="mx.forwarder.example",
)

raw = chain_to(to_alice.rcpt)
[stored], statements, entered = counted(
    intake.delivery_store, raw=raw, envelope=envelope, recipients=[to_alice]
)
delivery = Delivery.objects.get(pk=stored.delivery.pk)
[analysis] = stored.analyses
row = Analysis.objects.get(pk=analysis.pk)
part = IntakePart.objects.get(analysis=analysis)
out["direct"] = {
    "statements": statements,
    "blocks": entered,
    "delivery": [
        delivery.owner_id == alice.pk, delivery.address_id == to_alice.address_id,
        delivery.mail_from, delivery.rcpt_to == [f"<{to_alice.rcpt}>"], delivery.client_ip,
        delivery.client_port,
        delivery.helo, delivery.size == len(raw), delivery.sha256 == row.sha256,
        delivery.reply_state, delivery.protocol, delivery.received_at == envelope.received_at,
    ],
    "analysis": [
        row.raw_bytes == raw, row.owner_id == alice.pk, row.mail_from,
        row.rcpt_to == delivery.rcpt_to,
        row.envelope_source, row.client_ip, row.helo, row.status, row.header_subject,
        row.filename, row.created_at == analysis.created_at,
    ],
    "part": [part.delivery_id == delivery.pk, part.parent_id, part.kind, part.mime_part],
    "instances": [stored.delivery._state.adding, analysis._state.adding, analysis._state.db],
    "queued": queued == [str(analysis.pk)],
}

queued.clear()
originals = [chain_to(to_alice.rcpt, subject=s) for s in ("One", "Two")]
wrapper = attach(originals, to=to_alice.rcpt)
[stored], statements, entered = counted(
    intake.delivery_store, raw=wrapper, envelope=envelope, recipients=[to_alice]
)
top, *inner = stored.analyses
parts = {p.analysis_id: p for p in IntakePart.objects.filter(delivery=stored.delivery)}
out["wrapper"] = {
    "statements": statements,
    "blocks": entered,
    "kinds": [parts[a.pk].kind for a in stored.analyses],
    "parents": [parts[a.pk].parent_id == top.pk for a in inner],
    "originals": [Analysis.objects.get(pk=a.pk).raw_bytes for a in inner] == originals,
    "envelopes": [Analysis.objects.get(pk=a.pk).envelope_source for a in stored.analyses],
    "queued": queued == [str(a.pk) for a in stored.analyses],
}

stored, statements, entered = counted(
    intake.delivery_store, raw=raw, envelope=envelope, recipients=[to_alice, to_bob]
)
out["two_owners_smtp"] = {
    "statements": [s[0] for s in statements], "blocks": entered,
    "owners": sorted(s.delivery.owner_id for s in stored) == sorted([alice.pk, bob.pk]),
    "others": [s.delivery.other_recipients for s in stored],
}
stored, statements, entered = counted(
    intake.delivery_store, raw=raw, envelope=envelope, recipients=[to_alice, to_bob],
    per_owner=True,
)
out["two_owners_lmtp"] = {
    "statements": [s[0] for s in statements], "blocks": entered,
    "stored": [type(s).__name__ for s in stored],
}


def inside_a_transaction():
    with transaction.atomic():
        return intake.delivery_store(raw=raw, envelope=envelope, recipients=[to_alice])


_, statements, entered = counted(inside_a_transaction)
out["inside_a_transaction"] = {"statements": [s[0] for s in statements], "blocks": entered}

# The keys the database makes are read back, in the order of the rows.
fresh = Delivery(owner_id=alice.pk, mail_from="<>", rcpt_to=[to_alice.rcpt])
made = [services.analysis_build(raw=raw, owner_id=alice.pk) for _ in range(3)]
links = [IntakePart(analysis=a, delivery=fresh, kind="direct") for a in made]
services.insert_new([fresh, *made, *links])
out["keys"] = [
    link.pk == IntakePart.objects.get(analysis_id=a.pk).pk for link, a in zip(links, made)
]

# The finished-analysis hook, with the engine stubbed.
services._run_engine = lambda analysis, *, lookup=None, now=None: services.EngineOutcome(
    "pass", {"schema_version": 2}, "9.9", "draft-00", json.dumps({"schema_version": 2})
)
day = timezone.now().astimezone(UTC).date()
for slot in (1, 2, 3):
    ReplyLog.objects.create(recipient="bob@forwarder.example", day=day, slot=slot)


def finish(mail_from):
    [stored] = intake.delivery_store(
        raw=raw, envelope=intake.SmtpEnvelope(mail_from=mail_from, client_ip="192.0.2.7"),
        recipients=[to_alice], enqueue=False,
    )
    answers.clear()
    run, statements, _ = counted(services.analysis_run, analysis_id=stored.analyses[0].pk)
    delivery = Delivery.objects.get(pk=stored.delivery.pk)
    return {
        "run": run is not None,
        "statements": statements,
        "state": delivery.reply_state,
        "detail": delivery.reply_detail,
        "queued": answers == [str(delivery.pk)],
    }


out["at_the_limit"] = finish("<bob@forwarder.example>")
out["null_sender"] = finish("<>")
out["answer_may_go"] = finish("<alice@origin.example>")
print(json.dumps(out))
"""


def manage(database_url: str, *args: str) -> str:
    return manage_on(database_url, *args, env={"DKIM2WEB_INTAKE_REPLIES_PER_DAY": "3"})


@pytest.fixture(scope="module")
def out() -> Iterator[dict[str, Any]]:
    """What the script saw, run once for the module on a database of its own."""
    from tests.conftest import require_postgres
    from tests.support.postgres import throwaway_database

    with throwaway_database(require_postgres()) as url:
        manage(url, "migrate", "--noinput")
        yield json.loads(manage(url, "shell", "--no-imports", "-c", SCRIPT).splitlines()[-1])


INSERTS = ["WITH", "intake_delivery", "reports_analysis", "intake_intakepart"]


def test_one_owners_delivery_is_one_statement_outside_any_transaction_block(
    out: dict[str, Any],
) -> None:
    direct = out["direct"]
    assert direct["statements"] == [INSERTS]
    assert direct["blocks"] == 0
    assert direct["queued"] is True


def test_the_rows_are_what_the_orm_stored(out: dict[str, Any]) -> None:
    direct = out["direct"]
    assert direct["delivery"] == [
        True,
        True,
        "<bob@forwarder.example>",
        True,
        "192.0.2.7",
        2525,
        "mx.forwarder.example",
        True,
        True,
        "pending",
        "smtp",
        True,
    ]
    assert direct["analysis"] == [
        True,
        True,
        "<bob@forwarder.example>",
        True,
        "smtp",
        "192.0.2.7",
        "mx.forwarder.example",
        "queued",
        "[ops-talk] Relay certificates",
        "mail-ops-talk-Relay-certificates.eml",
        True,
    ]
    assert direct["part"] == [True, None, "direct", ""]
    assert direct["instances"] == [False, False, "default"]


def test_a_forward_with_originals_is_one_statement_too(out: dict[str, Any]) -> None:
    wrapper = out["wrapper"]
    assert wrapper["statements"] == [INSERTS]
    assert wrapper["blocks"] == 0
    assert wrapper["kinds"] == ["wrapper", "attached", "attached"]
    assert wrapper["parents"] == [True, True]
    assert wrapper["originals"] is True
    assert wrapper["envelopes"] == ["smtp", "none", "none"]
    assert wrapper["queued"] is True


def test_several_owners_keep_their_transactions(out: dict[str, Any]) -> None:
    # SMTP answers one code for all: all owners' copies or none, in one transaction.
    assert out["two_owners_smtp"] == {
        "statements": ["BEGIN", "WITH", "WITH", "COMMIT"],
        "blocks": 1,
        "owners": True,
        "others": [1, 1],
    }
    # LMTP answers each recipient: each owner's statement is a transaction of its own.
    assert out["two_owners_lmtp"] == {
        "statements": ["WITH", "WITH"],
        "blocks": 0,
        "stored": ["Stored", "Stored"],
    }
    # Inside a caller's transaction the store still takes a savepoint of its own.
    assert out["inside_a_transaction"] == {
        "statements": ["BEGIN", "SAVEPOINT", "WITH", "RELEASE", "COMMIT"],
        "blocks": 2,
    }


def test_the_keys_the_database_makes_are_read_back_in_order(out: dict[str, Any]) -> None:
    assert out["keys"] == [True, True, True]


CLAIM = ["UPDATE", "reports_analysis"]
STORE = ["WITH", "reports_analysis", "reports_analysisrun"]
SETTLE = ["UPDATE", "intake_delivery", "intake_intakepart", "intake_replylog"]


def test_an_answer_ruled_out_by_the_days_count_costs_one_statement(out: dict[str, Any]) -> None:
    at_limit = out["at_the_limit"]
    assert at_limit["run"] is True
    assert at_limit["statements"] == [CLAIM, STORE, SETTLE]
    assert at_limit["state"] == "skipped" and at_limit["queued"] is False
    assert at_limit["detail"] == (
        "an answer could go only to the MAIL FROM <bob@forwarder.example>, but "
        "<bob@forwarder.example> has had 3 answers today (UTC), the most "
        "DKIM2WEB_INTAKE_REPLIES_PER_DAY allows; this delivery's report is on the intake page "
        "of the address's owner, and answers to this address resume tomorrow"
    )


def test_an_answer_ruled_out_by_the_envelope_costs_one_statement(out: dict[str, Any]) -> None:
    null = out["null_sender"]
    assert null["statements"] == [CLAIM, STORE, SETTLE[:3]]
    assert (null["state"], null["queued"]) == ("skipped", False)
    assert null["detail"].startswith("the message came from the null sender <>")


def test_an_answer_that_may_go_is_looked_up_once_and_queued(out: dict[str, Any]) -> None:
    may_go = out["answer_may_go"]
    assert may_go["statements"] == [
        CLAIM,
        STORE,
        SETTLE,
        ["SELECT", "intake_intakepart", "intake_delivery"],  # FROM the part JOIN the delivery
    ]
    assert (may_go["state"], may_go["queued"]) == ("pending", True)
