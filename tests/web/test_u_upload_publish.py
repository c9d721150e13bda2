"""An API upload's cheaper paths (issue #13) give what the general ones gave.

* On PostgreSQL and the Redis broker, as in production: an upload costs the database two
  statements (the token with its owner's state, the INSERT), and its task message is the
  one Celery's ``apply_async`` makes for that analysis, on the small or the large queue by
  the message's size.
* The bounce check reads the engine only for a message whose header block names a
  multipart/report, and finds the same returned messages as the engine does for any
  spelling of that Content-Type.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
import redis

from analysis.dsn import returned_messages
from dkim2web.reports import services
from tests.support.postgres import manage_on
from tests.web.test_upload_bounce import BOUNCE, ORIGINAL

TYPE = b"Content-Type: multipart/report;"


def _head_and_body(raw: bytes) -> tuple[bytes, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return head, body


def _with_head(raw: bytes, old: bytes, new: bytes) -> bytes:
    head, body = _head_and_body(raw)
    assert old in head
    return head.replace(old, new, 1) + b"\r\n\r\n" + body


BOUNCE_VARIANTS = {
    "as sent": BOUNCE,
    "upper case": _with_head(BOUNCE, TYPE, b"Content-Type: MULTIPART/Report;"),
    "folded before the value": _with_head(BOUNCE, TYPE, b"Content-Type:\r\n multipart/report;"),
    "a text/plain message": ORIGINAL,
    "named in the body only": ORIGINAL + b"Content-Type: multipart/report\r\n",
    "named in another field": _with_head(
        BOUNCE, TYPE, b"X-Was: multipart/report\r\nContent-Type: multipart/mixed;"
    ),
    "a second Content-Type": _with_head(
        BOUNCE, TYPE, b"Content-Type: text/plain\r\nContent-Type: multipart/report;"
    ),
}
RETURNED_COUNT = {
    "as sent": 1,
    "upper case": 1,
    "folded before the value": 1,
    "a text/plain message": 0,
    "named in the body only": 0,
    "named in another field": 0,
    "a second Content-Type": 0,  # the email package reads the first
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(BOUNCE_VARIANTS))
def test_the_bounce_check_finds_what_the_engine_finds(name: str, alice: Any) -> None:
    raw = BOUNCE_VARIANTS[name]
    expected = [r.raw for r in returned_messages(raw)]
    assert len(expected) == RETURNED_COUNT[name]
    upload = services.analysis_submit(raw=raw, owner=alice, enqueue=False)
    created = services.analysis_submit_returned(analysis=upload, enqueue=False)
    assert [c.raw_bytes for c in created] == expected
    assert all(c.owner == alice for c in created)


@pytest.mark.django_db
def test_a_message_that_names_no_report_is_not_parsed_for_one(
    alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import analysis.dsn

    asked: list[bytes] = []
    real = analysis.dsn.returned_messages

    def counting(raw: bytes, **kwargs: Any) -> Any:
        asked.append(raw)
        return real(raw, **kwargs)

    monkeypatch.setattr(analysis.dsn, "returned_messages", counting)
    plain = services.analysis_submit(raw=ORIGINAL, owner=alice, enqueue=False)
    assert services.analysis_submit_returned(analysis=plain, enqueue=False) == []
    assert asked == []
    report = services.analysis_submit(raw=BOUNCE, owner=alice, enqueue=False)
    assert len(services.analysis_submit_returned(analysis=report, enqueue=False)) == 1
    assert asked == [BOUNCE]


SCRIPT = r"""
import json
import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from dkim2web.accounts.services import api_token_create
from dkim2web.reports.models import Analysis
from dkim2web.reports.tasks import run_analysis

out = {}
small_q, large_q = settings.CELERY_TASK_DEFAULT_QUEUE, settings.DKIM2WEB_LARGE_TASK_QUEUE
broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
alice = get_user_model().objects.create_user("alice", password="alice-pw-1")
_, key = api_token_create(user=alice, name="t")

api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
URL = "/api/analyses?mail_from=%3Cm%40example.org%3E&rcpt_to=%3Cr%40example.org%3E"
SMALL = b"From: a@example.org\r\nSubject: s\r\n\r\nbody\r\n"
LARGE = SMALL + b"x" * settings.DKIM2WEB_LARGE_MESSAGE_BYTES


def upload(raw):
    response = api.post(URL, data=raw, content_type="message/rfc822")
    assert response.status_code == 201, response.content
    return response.json()["id"]


first = upload(SMALL)
with CaptureQueriesContext(connections["default"]) as queries:
    second = upload(SMALL)
out["statements"] = [q["sql"].split(" ")[0] for q in queries.captured_queries]
out["tables"] = [q["sql"].split('"')[1] for q in queries.captured_queries]
large = [upload(LARGE), upload(LARGE)]
out["rows"] = sorted(
    (str(pk), status) for pk, status in Analysis.objects.values_list("pk", "status")
) == sorted((pk, "queued") for pk in [first, second, *large])

# The references: Celery's own path, called here as the upload would.
run_analysis.apply_async(args=[second], queue=small_q)
run_analysis.apply_async(args=[large[1]], queue=large_q)
out["messages"] = {}
for queue in (small_q, large_q):
    out["messages"][queue] = [json.loads(m) for m in reversed(broker.lrange(queue, 0, -1))]
    broker.delete(queue)
out["ids"] = {small_q: [first, second], large_q: large}
print(json.dumps(out))
"""


def _without_ids(envelope: dict[str, Any]) -> dict[str, Any]:
    copy = json.loads(json.dumps(envelope))
    for name in ("id", "root_id"):
        copy["headers"][name] = None
    for name in ("correlation_id", "delivery_tag"):
        copy["properties"][name] = None
    return copy


@pytest.mark.postgres
@pytest.mark.redis
def test_an_upload_costs_two_statements_and_queues_celerys_own_message(
    throwaway_database: str, require_redis: str
) -> None:
    small_q = f"dkim2web-test-{secrets.token_hex(6)}"
    large_q = f"{small_q}-large"
    env = {
        "CELERY_BROKER_URL": require_redis,
        "CACHE_URL": require_redis,
        "DKIM2WEB_TASK_QUEUE": small_q,
        "DKIM2WEB_LARGE_MESSAGE_BYTES": "1000",
        "DJANGO_ALLOWED_HOSTS": "testserver",
    }
    manage_on(throwaway_database, "migrate", "--noinput", env=env)
    try:
        printed = manage_on(throwaway_database, "shell", "--no-imports", "-c", SCRIPT, env=env)
    finally:
        client: Any = redis.Redis.from_url(require_redis)
        client.delete(small_q, large_q)
        client.close()
    out = json.loads(printed.splitlines()[-1])

    # The token with its owner's state, then the message: two statements, no transaction.
    assert out["statements"] == ["SELECT", "INSERT"]
    assert out["tables"] == ["accounts_apitoken", "reports_analysis"]
    assert out["rows"] is True

    for queue in (small_q, large_q):
        first, second, reference = out["messages"][queue]
        for envelope, analysis_id in zip((first, second), out["ids"][queue], strict=True):
            assert envelope["headers"]["argsrepr"] == repr([analysis_id])
            assert envelope["headers"]["task"] == "dkim2web.reports.tasks.run_analysis"
            assert envelope["headers"]["id"] == envelope["properties"]["correlation_id"]
            assert envelope["properties"]["delivery_info"] == {
                "exchange": "",
                "routing_key": queue,
            }
        assert _without_ids(second) == _without_ids(reference)
        assert second["headers"]["id"] != reference["headers"]["id"]
