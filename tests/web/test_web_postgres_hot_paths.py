"""The upload and intake paths' hand-written queries and the cheaper connection check, on
PostgreSQL (the rest of the suite runs them on SQLite).

* An API token is found by one query with its owner's id; expired, revoked and unknown
  tokens and those of an inactive owner are not.
* The intake's RCPT lookup finds the active address's ids, and nothing for a rotated or
  unknown address or an inactive owner.
* A message is stored byte for byte with its parameters bound by the server, and that
  INSERT is logged like any other query; the intake's copy keeps the delivery's digest.
* A kept connection is not asked ``SELECT 1`` before each request while the server has said
  nothing, and one the server ended is noticed and replaced before a request uses it.
"""

from __future__ import annotations

import json

import pytest

from tests.support.postgres import manage_on

pytestmark = pytest.mark.postgres

SCRIPT = r"""
import hashlib, json, time
from datetime import timedelta
import psycopg
from django.contrib.auth import get_user_model
from django.core.signals import request_finished, request_started
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from dkim2web.accounts import services as accounts
from dkim2web.intake import services as intake
from dkim2web.intake.models import Delivery
from dkim2web.intake.selectors import intake_address_target
from dkim2web.reports import services as reports
from dkim2web.reports.models import Analysis

out = {}
User = get_user_model()
alice = User.objects.create_user("alice", password="alice-pw-1")
bob = User.objects.create_user("bob", password="bob-pw-1")
_, key = accounts.api_token_create(user=alice, name="t")
_, expired = accounts.api_token_create(
    user=alice, name="e", expires_at=timezone.now() - timedelta(seconds=1)
)
revoked, revoked_key = accounts.api_token_create(user=alice, name="r")
accounts.api_token_revoke(token=revoked)
_, bobs = accounts.api_token_create(user=bob, name="b")
bob_address = intake.intake_address_get_or_create(user=bob)
bob.is_active = False
bob.save()

accounts.api_token_authenticate(key=key)  # also records when it was used
with CaptureQueriesContext(connections["default"]) as queries:
    token = accounts.api_token_authenticate(key=key)
out["token"] = [token.user.pk == alice.pk, token.last_used_at is not None, len(queries)]
out["owner_name"] = token.user.username  # a field not loaded: read when used
out["refused"] = [
    accounts.api_token_authenticate(key=k) for k in (expired, revoked_key, bobs, key + "x")
]

first = intake.intake_address_get_or_create(user=alice)
out["target"] = intake_address_target(local_part=first.local_part.upper()) == (
    first.pk, alice.pk
)
second = intake.intake_address_rotate(user=alice)
out["targets"] = [
    intake_address_target(local_part=part) == (second.pk, alice.pk)
    if part == second.local_part
    else intake_address_target(local_part=part)
    for part in (first.local_part, second.local_part, bob_address.local_part, "a-xyz", "x")
]

raw = b"From: a@example.org\r\nSubject: every byte\r\n\r\n" + bytes(range(256)) * 300
with CaptureQueriesContext(connections["default"]) as queries:
    analysis = reports.analysis_submit(
        raw=raw, owner=alice, mail_from="<m@example.org>", rcpt_to=["<r@example.org>"],
        enqueue=False,
    )
stored = Analysis.objects.get(pk=analysis.pk)
out["stored"] = [
    stored.raw_bytes == raw,
    stored.sha256 == hashlib.sha256(raw).hexdigest(),
    stored.size == len(raw),
    stored.owner_id == alice.pk,
    stored.rcpt_to,
    stored.header_subject,
    stored.status,
    stored.created_at == analysis.created_at,
]
out["logged"] = [q["sql"].split(" (")[0] for q in queries.captured_queries]

recipient = intake.Recipient(rcpt=second.address, address_id=second.pk, owner_id=alice.pk)
envelope = intake.SmtpEnvelope(mail_from="<s@example.org>", client_ip="192.0.2.1")
[kept] = intake.delivery_store(raw=raw, envelope=envelope, recipients=[recipient], enqueue=False)
copy = kept.analyses[0]
out["intake"] = [
    Delivery.objects.get().sha256 == copy.sha256 == hashlib.sha256(raw).hexdigest(),
    Analysis.objects.get(pk=copy.pk).owner_id == alice.pk,
    Analysis.objects.get(pk=copy.pk).raw_bytes == raw,
]

connection = connections["default"]
asked = []
usable = type(connection).is_usable
type(connection).is_usable = lambda self: asked.append(1) or usable(self)


def request():
    request_started.send(sender=None)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    request_finished.send(sender=None)


for _ in range(3):
    request()
out["asked_while_idle"] = len(asked)
pid = connection.connection.info.backend_pid
settings = connection.settings_dict
with psycopg.connect(
    host=settings["HOST"], port=settings["PORT"] or None, user=settings["USER"],
    dbname="postgres", autocommit=True,
) as admin:
    admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
        time.sleep(0.05)
request()
out["after_the_server_ended_it"] = [len(asked), connection.connection.info.backend_pid != pid]
print(json.dumps(out))
"""


@pytest.fixture
def database(throwaway_database: str) -> str:
    return throwaway_database


def manage(database_url: str, *args: str) -> str:
    return manage_on(database_url, *args)


def test_the_hot_paths_on_postgresql(database: str) -> None:
    manage(database, "migrate", "--noinput")
    out = json.loads(manage(database, "shell", "--no-imports", "-c", SCRIPT).splitlines()[-1])
    # One query (the token and its owner's state) once its use is recorded for the minute.
    assert out["token"] == [True, True, 1]
    assert out["owner_name"] == "alice"
    assert out["refused"] == [None, None, None, None]
    assert out["target"] is True
    assert out["targets"] == [None, True, None, None, None]
    assert out["stored"] == [
        True,
        True,
        True,
        True,
        ["<r@example.org>"],
        "every byte",
        "queued",
        True,
    ]
    assert out["logged"] == ['INSERT INTO "reports_analysis"']
    assert out["intake"] == [True, True, True]
    assert out["asked_while_idle"] == 0
    assert out["after_the_server_ended_it"] == [1, True]
