"""Rate limits (issue #11, finding 4): sign-ups, uploads, API calls, bad API tokens and share
links, counted per account, API token or client address in Django's cache; past a limit the
site answers templates/429.html and the API its JSON error, both 429 with Retry-After.

Before: 10 sign-ups, 30 anonymous uploads and 40 bad API tokens in a row were all served.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from redis.exceptions import ConnectionError as RedisConnectionError

from analysis.resolvers import StaticResolver
from dkim2web.accounts import services as account_services
from dkim2web.reports import services as report_services
from dkim2web.reports.models import Analysis
from dkim2web.sharing import services as sharing_services
from tests.web.throttling_support import (
    THROTTLING_SETTINGS,
    StoppedClock,
    empty_cache,
    use_production_limits,
)

pytestmark = pytest.mark.django_db

STRONG = "wide-Quartz-ledger-42"
MESSAGE = "From: carol@example.com\r\nTo: dave@example.net\r\nSubject: hi\r\n\r\nHello.\r\n"


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    empty_cache()
    yield
    empty_cache()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> StoppedClock:
    return StoppedClock(monkeypatch)


@pytest.fixture
def no_limits(settings: Any) -> Any:
    """Every limit off; a test turns on the one it is about."""
    for name in THROTTLING_SETTINGS:
        if name.startswith("DKIM2WEB_RATE_"):
            setattr(settings, name, "")
    return settings


def text(response: Any) -> str:
    """The page's words, without tags."""
    return " ".join(re.sub(r"<[^>]*>", "", response.content.decode()).split())


def sign_up(name: str, *, address: str = "127.0.0.1") -> Any:
    return Client(REMOTE_ADDR=address).post(
        reverse("accounts:signup"), {"username": name, "password1": STRONG, "password2": STRONG}
    )


def upload(client: Client, n: int = 0, *, path: str = "") -> Any:
    return client.post(path or reverse("reports:new"), {"raw_text": MESSAGE + f"{n}\r\n"})


def api_client(user: Any, *, address: str = "127.0.0.1", name: str = "t") -> Client:
    _, key = account_services.api_token_create(user=user, name=name)
    return Client(REMOTE_ADDR=address, HTTP_AUTHORIZATION=f"Bearer {key}")


def minutes_left(retry_after: str) -> str:
    """The wait as the page words it for these tests' windows of at most an hour: seconds
    in a window's last minute, an hour in its first, else minutes (rounded up). The window
    depends on the clock, so any of the three can come up."""
    seconds = int(retry_after)
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    if minutes == 60:
        return "1 hour"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def assert_retry_after_is_true(clock: StoppedClock, retry_after: str, again: Any) -> None:
    """One second before Retry-After the request is still refused; at it, it is served."""
    clock.advance(int(retry_after) - 1)
    assert again().status_code == 429
    clock.advance(1)
    assert again().status_code != 429


# --- sign-up --------------------------------------------------------------------------------


def test_ten_sign_ups_in_a_row_from_one_address_the_sixth_is_refused(
    settings: Any, monkeypatch: pytest.MonkeyPatch, clock: StoppedClock
) -> None:
    use_production_limits(settings, monkeypatch)  # 5 per hour
    answers = [sign_up(f"user{n}") for n in range(1, 11)]
    assert [a.status_code for a in answers] == [302] * 5 + [429] * 5
    refused = answers[5]
    retry_after = refused["Retry-After"]
    assert 1 <= int(retry_after) <= 3600
    assert (
        f"Too many sign-ups from your address: at most 5 per hour. Try again in "
        f"{minutes_left(retry_after)}. No account was created."
    ) in text(refused)
    assert "<title>Too many requests · dkim2web</title>" in refused.content.decode()
    assert sorted(get_user_model().objects.values_list("username", flat=True)) == [
        f"user{n}" for n in range(1, 6)
    ]
    assert sign_up("elsewhere", address="198.51.100.4").status_code == 302
    assert_retry_after_is_true(clock, retry_after, lambda: sign_up("later"))


def test_the_sign_up_page_itself_is_not_counted(no_limits: Any) -> None:
    no_limits.DKIM2WEB_RATE_SIGNUP = "1/h"
    for _ in range(3):
        assert Client().get(reverse("accounts:signup")).status_code == 200
    assert sign_up("first").status_code == 302


# --- uploads --------------------------------------------------------------------------------


def test_thirty_anonymous_uploads_in_a_row_the_twenty_first_is_refused(
    settings: Any, monkeypatch: pytest.MonkeyPatch, clock: StoppedClock
) -> None:
    use_production_limits(settings, monkeypatch)  # 20 per hour without an account
    client = Client()
    answers = [upload(client, n) for n in range(30)]
    assert [a.status_code for a in answers] == [302] * 20 + [429] * 10
    assert Analysis.objects.count() == 20
    refused = answers[20]
    assert (
        "Too many uploads without an account from your address: at most 20 per hour. Try "
        f"again in {minutes_left(refused['Retry-After'])}. Nothing was stored. An account has "
        "its own, larger allowance: log in or sign up."
    ) in text(refused)
    assert_retry_after_is_true(clock, refused["Retry-After"], lambda: upload(client, 99))


def test_an_account_has_its_own_upload_count(
    no_limits: Any, alice: Any, bob: Any, alice_client: Client, clock: StoppedClock
) -> None:
    no_limits.DKIM2WEB_RATE_UPLOAD_ACCOUNT = "2/h"
    no_limits.DKIM2WEB_RATE_UPLOAD_ANONYMOUS = "1/h"
    assert [upload(alice_client, n).status_code for n in range(3)] == [302, 302, 429]
    refused = upload(alice_client, 9)
    assert (
        "Too many uploads for your account: at most 2 per hour. Try again in "
        f"{minutes_left(refused['Retry-After'])}. Nothing was stored."
    ) in text(refused)

    bob_client = Client()
    bob_client.force_login(bob)
    assert upload(bob_client).status_code == 302  # same address, another account
    anonymous = Client()
    assert [upload(anonymous, n).status_code for n in range(2)] == [302, 429]
    assert Analysis.objects.filter(owner=alice).count() == 2


def test_the_home_page_and_the_upload_page_share_one_count(no_limits: Any) -> None:
    no_limits.DKIM2WEB_RATE_UPLOAD_ANONYMOUS = "2/h"
    client = Client()
    assert upload(client, 1, path="/").status_code == 302
    assert upload(client, 2).status_code == 302
    assert upload(client, 3, path="/").status_code == 429
    assert client.get("/").status_code == 200  # showing the form is not an upload


def test_re_runs_re_analyses_and_samples_count_with_uploads(
    no_limits: Any, alice: Any, alice_client: Client, clock: StoppedClock
) -> None:
    """Each queues an analysis as an upload does, so each is counted as one: before, a
    re-run button or a sample could be pressed without end."""
    no_limits.DKIM2WEB_RATE_UPLOAD_ACCOUNT = "4/h"
    no_limits.DKIM2WEB_SAMPLES_ENABLED = True
    assert upload(alice_client).status_code == 302
    analysis = Analysis.objects.get(owner=alice)
    rerun = reverse("reports:rerun", args=[analysis.pk])
    again = reverse("reports:envelope", args=[analysis.pk])
    sample = reverse("samples:run", args=["clean-list"])
    assert alice_client.post(rerun).status_code == 302
    envelope = {"mail_from": "<carol@example.com>", "rcpt_to": "<dave@example.net>"}
    assert alice_client.post(again, envelope).status_code == 302
    assert alice_client.post(sample).status_code == 302
    counted = Analysis.objects.count()
    refused = [alice_client.post(rerun), alice_client.post(again, envelope)]
    refused.append(alice_client.post(sample))
    assert [r.status_code for r in refused] == [429, 429, 429]
    assert Analysis.objects.count() == counted  # nothing more was queued
    assert (
        "Too many analyses (uploads, samples and re-runs count together) for your account: at "
        f"most 4 per hour. Try again in {minutes_left(refused[0]['Retry-After'])}. Nothing was "
        "queued."
    ) in text(refused[0])
    assert upload(alice_client, 5).status_code == 429  # and uploads share the count


def test_anonymous_re_runs_are_counted_per_address(no_limits: Any, clock: StoppedClock) -> None:
    no_limits.DKIM2WEB_RATE_UPLOAD_ANONYMOUS = "2/h"
    client = Client()
    assert upload(client).status_code == 302
    analysis = Analysis.objects.get()
    rerun = reverse("reports:rerun", args=[analysis.pk])
    assert [client.post(rerun).status_code for _ in range(2)] == [302, 429]
    assert "Nothing was queued. An account has its own, larger allowance" in text(
        client.post(rerun)
    )


# --- the API --------------------------------------------------------------------------------


def test_forty_bad_api_tokens_from_one_address_the_eleventh_is_refused(
    alice: Any, settings: Any, monkeypatch: pytest.MonkeyPatch, clock: StoppedClock
) -> None:
    use_production_limits(settings, monkeypatch)  # 10 per hour
    url = reverse("api:analyses")
    bad = Client(HTTP_AUTHORIZATION="Bearer not-a-token")
    answers = [bad.get(url) for _ in range(40)]
    assert [a.status_code for a in answers] == [401] * 10 + [429] * 30
    assert {a.json()["error"]["code"] for a in answers[:10]} == {"invalid_token"}
    refused = answers[10]
    retry_after = refused["Retry-After"]
    assert refused.json() == {
        "error": {
            "code": "too_many_invalid_tokens",
            "message": "Too many requests with an unknown, revoked or expired API token from "
            "your address: at most 10 per hour. Try again in "
            f"{minutes_left(retry_after)}. Until then every request with a token from your "
            "address is refused: check the token your client sends (the account page lists "
            "yours).",
        }
    }

    good = api_client(alice)
    assert good.get(url).status_code == 429  # a token from this address waits too
    assert Client().get(url).status_code == 401  # no token: nothing to look up
    assert api_client(alice, address="198.51.100.2").get(url).status_code == 200
    assert_retry_after_is_true(clock, retry_after, lambda: good.get(url))


def test_api_calls_are_counted_per_token(no_limits: Any, alice: Any, clock: StoppedClock) -> None:
    no_limits.DKIM2WEB_RATE_API_TOKEN = "3/m"
    url = reverse("api:analyses")
    first = api_client(alice, name="first")
    assert [first.get(url).status_code for _ in range(4)] == [200, 200, 200, 429]
    refused = first.get(url)
    retry_after = refused["Retry-After"]
    assert 1 <= int(retry_after) <= 60
    assert refused.json() == {
        "error": {
            "code": "rate_limited",
            "message": "Too many API requests with this API token: at most 3 per minute. "
            f"Try again in {retry_after} second{'s' if retry_after != '1' else ''}.",
        }
    }
    assert api_client(alice, name="second").get(url).status_code == 200
    assert_retry_after_is_true(clock, retry_after, lambda: first.get(url))


def test_api_calls_are_counted_per_address_whatever_the_token(
    no_limits: Any, alice: Any, bob: Any
) -> None:
    no_limits.DKIM2WEB_RATE_API_ADDRESS = "3/m"
    url = reverse("api:analyses")
    alices, bobs = api_client(alice), api_client(bob)
    answers = [alices.get(url), bobs.get(url), Client().get(reverse("api:schema")), bobs.get(url)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3].json()["error"]["code"] == "rate_limited"
    assert (
        answers[3]
        .json()["error"]["message"]
        .startswith("Too many API requests from your address: at most 3 per minute.")
    )
    assert api_client(bob, address="198.51.100.3").get(url).status_code == 200


def test_a_refused_api_submission_stores_nothing(no_limits: Any, alice: Any) -> None:
    no_limits.DKIM2WEB_RATE_API_TOKEN = "1/h"
    client = api_client(alice)
    url = reverse("api:analyses")
    post = lambda: client.post(url, data=MESSAGE.encode(), content_type="message/rfc822")  # noqa: E731
    assert [post().status_code, post().status_code] == [201, 429]
    assert Analysis.objects.count() == 1


# --- share links ----------------------------------------------------------------------------


def test_shared_pages_and_downloads_are_counted_per_address(
    no_limits: Any, alice: Any, clock: StoppedClock
) -> None:
    no_limits.DKIM2WEB_RATE_SHARE_LINKS = "3/h"
    analysis = report_services.analysis_submit(raw=MESSAGE.encode(), owner=alice, enqueue=False)
    report_services.analysis_run(analysis_id=analysis.pk, lookup=StaticResolver({}))
    _, token = sharing_services.share_link_create(analysis=analysis, created_by=alice, days=7)
    visitor = Client()
    answers = [
        visitor.get(reverse("sharing:view", args=[token])),
        visitor.get(reverse("sharing:raw", args=[token])),
        visitor.get(reverse("sharing:report", args=[token])),
        visitor.get(reverse("sharing:view", args=[token])),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[3]
    assert (refused["Referrer-Policy"], refused["X-Robots-Tag"]) == (
        "no-referrer",
        "noindex, nofollow",
    )
    assert (
        "Too many shared-analysis requests from your address: at most 3 per hour. Try again "
        f"in {minutes_left(refused['Retry-After'])}."
    ) in text(refused)
    guessed = visitor.get(reverse("sharing:view", args=["x" * 32]))
    assert guessed.status_code == 429  # counted before the token is looked up
    assert Client(REMOTE_ADDR="198.51.100.5").get(answers[0].request["PATH_INFO"]).status_code == (
        200
    )


# --- the client's address -------------------------------------------------------------------


def test_x_forwarded_for_is_not_believed_unless_the_proxy_is_trusted(no_limits: Any) -> None:
    no_limits.DKIM2WEB_RATE_UPLOAD_ANONYMOUS = "1/h"
    first = Client(HTTP_X_FORWARDED_FOR="198.51.100.1")
    second = Client(HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert [upload(first).status_code, upload(second).status_code] == [302, 429]


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_count(no_limits: Any) -> None:
    no_limits.DKIM2WEB_RATE_UPLOAD_ANONYMOUS = "1/h"
    no_limits.DKIM2WEB_TRUSTED_PROXIES = ["10.0.0.0/8"]

    def via_proxy(forwarded: str) -> Client:
        return Client(REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR=forwarded)

    assert upload(via_proxy("198.51.100.1")).status_code == 302
    assert upload(via_proxy("198.51.100.2")).status_code == 302
    # What the client wrote itself, left of what the proxy added, changes nothing.
    assert upload(via_proxy("203.0.113.9, 198.51.100.1")).status_code == 429


# --- the cache, and normal use --------------------------------------------------------------


def test_a_cache_that_does_not_answer_refuses_nobody(
    no_limits: Any, alice: Any, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    no_limits.DKIM2WEB_RATE_UPLOAD_ANONYMOUS = "1/h"
    no_limits.DKIM2WEB_RATE_API_TOKEN = "1/h"
    no_limits.DKIM2WEB_RATE_API_INVALID_TOKENS = "1/h"

    def down(*args: Any, **kwargs: Any) -> Any:
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    for method in ("get", "add", "incr"):
        monkeypatch.setattr(cache, method, down)
    client, api = Client(), api_client(alice)
    with caplog.at_level(logging.WARNING, logger="dkim2web.throttling"):
        assert [upload(client, n).status_code for n in range(3)] == [302] * 3
        assert [api.get(reverse("api:analyses")).status_code for _ in range(3)] == [200] * 3
    assert (
        "throttling: the cache did not answer; upload-anonymous not counted: Error 111 "
        "connecting to 127.0.0.1:6379. Connection refused."
    ) in caplog.messages


def test_a_day_of_normal_use_under_the_production_limits_is_never_refused(
    settings: Any, monkeypatch: pytest.MonkeyPatch, alice: Any
) -> None:
    use_production_limits(settings, monkeypatch)
    visitor = Client()
    statuses = [upload(visitor, n).status_code for n in range(5)]
    statuses.append(sign_up("carol").status_code)
    carol = Client()
    statuses.append(
        carol.post(reverse("accounts:login"), {"username": "carol", "password": "typo"}).status_code
    )
    statuses.append(
        carol.post(reverse("accounts:login"), {"username": "carol", "password": STRONG}).status_code
    )
    statuses += [upload(carol, n).status_code for n in range(30)]
    api = api_client(alice)
    statuses += [api.get(reverse("api:analyses")).status_code for _ in range(100)]
    analysis = Analysis.objects.filter(owner__username="carol").first()
    assert analysis is not None
    _, token = sharing_services.share_link_create(
        analysis=analysis, created_by=analysis.owner, days=7
    )
    statuses += [Client().get(reverse("sharing:view", args=[token])).status_code for _ in range(20)]
    assert 429 not in statuses
    assert statuses.count(200) == 1 + 100 + 20  # the typo, the API calls, the shared page
