"""The throttling settings: read from the environment, checked when the settings load, the
same under make run as in production, generous under pytest (each throttling test sets the
limits it is about)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.web.throttling_support import load_settings

PRODUCTION = {
    "DKIM2WEB_TRUSTED_PROXIES": [],
    "DKIM2WEB_LOGIN_FAILURE_LIMIT": 10,
    "DKIM2WEB_LOGIN_LOCKOUT_SECONDS": 900,
    "DKIM2WEB_RATE_SIGNUP": "5/h",
    "DKIM2WEB_RATE_UPLOAD_ANONYMOUS": "20/h",
    "DKIM2WEB_RATE_UPLOAD_ACCOUNT": "120/h",
    "DKIM2WEB_RATE_API_ADDRESS": "600/m",
    "DKIM2WEB_RATE_API_TOKEN": "300/m",
    "DKIM2WEB_RATE_API_INVALID_TOKENS": "10/h",
    "DKIM2WEB_RATE_SHARE_LINKS": "300/h",
}


def values(settings: object) -> dict[str, object]:
    return {name: getattr(settings, name) for name in PRODUCTION}


def test_production_and_make_run_have_the_same_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    assert values(load_settings(monkeypatch)) == PRODUCTION
    assert values(load_settings(monkeypatch, DJANGO_DEBUG="1")) == PRODUCTION


def test_under_pytest_the_defaults_are_generous(monkeypatch: pytest.MonkeyPatch) -> None:
    tests = values(load_settings(monkeypatch, testing=True))
    assert tests["DKIM2WEB_LOGIN_FAILURE_LIMIT"] == 1000
    assert {v for k, v in tests.items() if k.startswith("DKIM2WEB_RATE_")} == {"1000000/d"}


def test_every_limit_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings(
        monkeypatch,
        DKIM2WEB_LOGIN_FAILURE_LIMIT="4",
        DKIM2WEB_LOGIN_LOCKOUT_SECONDS="60",
        DKIM2WEB_RATE_SIGNUP=" 3 / 15m ",
        DKIM2WEB_RATE_UPLOAD_ANONYMOUS="off",
        DKIM2WEB_RATE_API_TOKEN="2/S",
        DKIM2WEB_RATE_SHARE_LINKS="",
    )
    assert (s.DKIM2WEB_LOGIN_FAILURE_LIMIT, s.DKIM2WEB_LOGIN_LOCKOUT_SECONDS) == (4, 60)
    assert (s.DKIM2WEB_RATE_SIGNUP, s.DKIM2WEB_RATE_API_TOKEN) == ("3/15m", "2/s")
    assert (s.DKIM2WEB_RATE_UPLOAD_ANONYMOUS, s.DKIM2WEB_RATE_SHARE_LINKS) == ("", "")


@pytest.mark.parametrize("rate", ["20", "20/hour", "0/h", "20/0m", "-1/h", "x/h", "20/h/m"])
def test_a_rate_that_is_not_one_stops_the_settings(
    monkeypatch: pytest.MonkeyPatch, rate: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"DKIM2WEB_RATE_SIGNUP=.* is not a rate"):
        load_settings(monkeypatch, DKIM2WEB_RATE_SIGNUP=rate)


@pytest.mark.parametrize(
    "variable", ["DKIM2WEB_LOGIN_FAILURE_LIMIT", "DKIM2WEB_LOGIN_LOCKOUT_SECONDS"]
)
def test_the_login_lockout_needs_positive_numbers(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match="must be at least 1"):
        load_settings(monkeypatch, **{variable: "0"})


def test_axes_guards_every_log_in_and_answers_last(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings(monkeypatch)
    assert "axes" in s.INSTALLED_APPS
    assert s.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"
    assert s.AUTHENTICATION_BACKENDS == [
        "axes.backends.AxesStandaloneBackend",
        "django.contrib.auth.backends.ModelBackend",
    ]
    assert s.AXES_HANDLER == "dkim2web.throttling.LoginAttempts"
    assert s.AXES_LOCKOUT_PARAMETERS == ["username", "ip_address"]
    assert s.AXES_RESET_ON_SUCCESS is True
