"""Log-in lockout (issue #11, finding 4): failed log-ins are counted per account name and per
client address (django-axes, in Django's cache); past the limit the log-in is closed for the
lockout, even to the right password, with a page that says why and a 429 with Retry-After;
a successful log-in clears the counts.

Before: 40 wrong passwords in a row, then the right one, were all answered at once and the
last one logged in.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.web.throttling_support import StoppedClock, empty_cache, use_production_limits

pytestmark = pytest.mark.django_db

WRONG_PASSWORD_ERROR = "Please enter a correct username and password."


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    empty_cache()
    yield
    empty_cache()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> StoppedClock:
    return StoppedClock(monkeypatch)


def log_in(username: str, password: str, *, address: str = "127.0.0.1") -> Any:
    client = Client(REMOTE_ADDR=address)
    response = client.post(reverse("accounts:login"), {"username": username, "password": password})
    response.logged_in = "_auth_user_id" in client.session
    return response


def text(response: Any) -> str:
    """The page's words, without tags."""
    return " ".join(re.sub(r"<[^>]*>", "", response.content.decode()).split())


def test_forty_wrong_passwords_then_the_right_one_the_tenth_closes_the_log_in(
    alice: Any, settings: Any, monkeypatch: pytest.MonkeyPatch, clock: StoppedClock
) -> None:
    use_production_limits(settings, monkeypatch)  # 10 failures, 15 minutes
    statuses = [log_in("alice", f"guess-{n}").status_code for n in range(1, 41)]
    assert statuses == [200] * 9 + [429] * 31

    right = log_in("alice", "alice-pw-1")
    assert (right.status_code, right["Retry-After"], right.logged_in) == (429, "900", False)
    assert "no-cache" in right["Cache-Control"]


def test_the_lockout_page_says_what_was_counted_and_what_to_do(
    alice: Any, settings: Any, clock: StoppedClock
) -> None:
    settings.DKIM2WEB_LOGIN_FAILURE_LIMIT = 3
    settings.DKIM2WEB_LOGIN_LOCKOUT_SECONDS = 900
    first, second = log_in("alice", "nope"), log_in("alice", "nope")
    assert (first.status_code, second.status_code) == (200, 200)
    assert WRONG_PASSWORD_ERROR in text(first)

    locked = log_in("alice", "nope")
    assert locked.status_code == 429
    assert "<title>Log-in closed for now · dkim2web</title>" in locked.content.decode()
    assert (
        "There were 3 failed log-ins in a row for the account “alice” and from your address, "
        "so log-in is closed for both for 15 minutes. Even the right password is refused "
        "until then, and every attempt in the meantime starts the 15 minutes again."
    ) in text(locked)
    assert (
        "Wait 15 minutes without trying, then log in with the right password: a successful "
        "log-in clears the count."
    ) in text(locked)


def test_failures_count_per_account_from_any_address(
    alice: Any, bob: Any, settings: Any, clock: StoppedClock
) -> None:
    settings.DKIM2WEB_LOGIN_FAILURE_LIMIT = 3
    answers = [log_in("alice", "nope", address=f"198.51.100.{n}") for n in (1, 2, 3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert "for the account “alice”, so log-in is closed for that account" in text(answers[2])

    fresh = log_in("alice", "alice-pw-1", address="203.0.113.50")
    assert (fresh.status_code, fresh.logged_in) == (429, False)
    other = log_in("bob", "bob-pw-1", address="203.0.113.51")
    assert (other.status_code, other.logged_in) == (302, True)


def test_failures_count_per_address_whatever_the_account(
    alice: Any, settings: Any, clock: StoppedClock
) -> None:
    settings.DKIM2WEB_LOGIN_FAILURE_LIMIT = 3
    answers = [log_in(name, "nope", address="198.51.100.7") for name in ("ann", "ben", "cy")]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert "from your address, so log-in is closed from your address" in text(answers[2])

    same_address = log_in("alice", "alice-pw-1", address="198.51.100.7")
    assert (same_address.status_code, same_address.logged_in) == (429, False)
    elsewhere = log_in("alice", "alice-pw-1", address="198.51.100.8")
    assert (elsewhere.status_code, elsewhere.logged_in) == (302, True)


def test_an_account_named_like_an_address_does_not_share_its_count(
    django_user_model: Any, settings: Any, clock: StoppedClock
) -> None:
    settings.DKIM2WEB_LOGIN_FAILURE_LIMIT = 2
    django_user_model.objects.create_user("198.51.100.9", password="its-own-pw-1")
    assert log_in("198.51.100.9", "nope", address="203.0.113.1").status_code == 200
    # One failure for the account and one from the address: neither count is at 2.
    answer = log_in("someone", "nope", address="198.51.100.9")
    assert answer.status_code == 200


def test_a_successful_log_in_clears_the_counts(
    alice: Any, settings: Any, clock: StoppedClock
) -> None:
    settings.DKIM2WEB_LOGIN_FAILURE_LIMIT = 3
    assert [log_in("alice", "nope").status_code for _ in range(2)] == [200, 200]
    assert log_in("alice", "alice-pw-1").logged_in is True
    assert [log_in("alice", "nope").status_code for _ in range(2)] == [200, 200]
    assert log_in("alice", "alice-pw-1").logged_in is True


def test_the_lockout_ends_after_its_time_and_each_attempt_during_it_restarts_it(
    alice: Any, settings: Any, clock: StoppedClock
) -> None:
    settings.DKIM2WEB_LOGIN_FAILURE_LIMIT = 2
    settings.DKIM2WEB_LOGIN_LOCKOUT_SECONDS = 600
    assert [log_in("alice", "nope").status_code for _ in range(2)] == [200, 429]

    clock.advance(599)
    early = log_in("alice", "alice-pw-1")
    assert (early.status_code, early["Retry-After"]) == (429, "600")  # and it starts again
    clock.advance(599)
    assert log_in("alice", "alice-pw-1").status_code == 429
    clock.advance(601)
    assert log_in("alice", "alice-pw-1").logged_in is True


def test_signing_up_logs_in_and_is_not_a_failure(settings: Any, clock: StoppedClock) -> None:
    settings.DKIM2WEB_LOGIN_FAILURE_LIMIT = 2
    client = Client()
    strong = "wide-Quartz-ledger-42"
    response = client.post(
        reverse("accounts:signup"),
        {"username": "carol", "password1": strong, "password2": strong},
    )
    assert response.status_code == 302 and "_auth_user_id" in client.session
    assert log_in("carol", "nope").status_code == 200
    assert log_in("carol", strong).logged_in is True


def test_a_cache_that_does_not_answer_locks_nobody_out(
    alice: Any, settings: Any, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    settings.DKIM2WEB_LOGIN_FAILURE_LIMIT = 3

    def down(*args: Any, **kwargs: Any) -> Any:
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    for method in ("get", "add", "incr", "touch", "delete"):
        monkeypatch.setattr(cache, method, down)
    with caplog.at_level(logging.WARNING, logger="dkim2web.throttling"):
        assert [log_in("alice", "nope").status_code for _ in range(5)] == [200] * 5
        assert log_in("alice", "alice-pw-1").logged_in is True
    assert (
        "throttling: the cache did not answer; log-in allowed: Error 111 connecting to "
        "127.0.0.1:6379. Connection refused."
    ) in caplog.messages
