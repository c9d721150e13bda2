"""Throttling: who the client is, how often it may ask, and what it is told when refused.

* **The client's address** is ``REMOTE_ADDR``, unless that peer is one of
  ``DKIM2WEB_TRUSTED_PROXIES``: then ``X-Forwarded-For`` is read from the right, skipping
  the trusted proxies, and the first address no trusted proxy vouches for is the client's.
  Nothing a client writes itself is believed. An IPv6 client counts by its /64.
* **Log-in lockout** is django-axes (the ``AXES_*`` settings): failed log-ins are counted
  per account name and per client address in Django's cache; past
  ``DKIM2WEB_LOGIN_FAILURE_LIMIT`` the log-in is refused for
  ``DKIM2WEB_LOGIN_LOCKOUT_SECONDS`` (429, ``accounts/lockout.html``), and a successful
  log-in clears both counts. This module gives axes the address, the account key, the
  limits and the page.
* **Every other limit is a** :class:`Rule`: a count per account, API token or address in
  Django's cache (django-ratelimit's counter), at a rate from a setting (``"20/h"``). A
  request past it gets a :class:`Refusal`, which the site renders as ``429.html`` and the
  API as its JSON error, both 429 with ``Retry-After``.
* **A cache that does not answer refuses nobody**: the request is served and a warning is
  logged (the same rule as for the DNS answers kept there).
"""

from __future__ import annotations

import enum
import ipaddress
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from axes.handlers.cache import AxesCacheHandler
from axes.helpers import get_cache, get_client_cache_keys
from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django_ratelimit import ALL
from django_ratelimit.core import EXPIRATION_FUDGE, _get_window, _make_cache_key

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# What a cache that is down raises: Django's RedisCache lets redis-py's errors through.
try:
    from redis.exceptions import RedisError

    CACHE_ERRORS: tuple[type[BaseException], ...] = (OSError, RedisError)
except ImportError:  # pragma: no cover - redis comes with celery[redis]
    CACHE_ERRORS = (OSError,)

IPV6_PREFIX = 64  # one IPv6 client (a home, a server) is usually given a whole /64


# --- the client's address -----------------------------------------------------------------


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def trusted_proxies() -> tuple[IPNetwork, ...]:
    return _networks(tuple(settings.DKIM2WEB_TRUSTED_PROXIES))


def _parse(value: str) -> IPAddress | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    return any(address in network for network in networks)


def client_ip(request: HttpRequest) -> IPAddress | None:
    """The client's IP address: the peer, or what the trusted proxies in front say it was."""
    peer = _parse(str(request.META.get("REMOTE_ADDR") or ""))
    networks = trusted_proxies()
    if peer is None or not networks or not _trusted(peer, networks):
        return peer
    # Each proxy appends the address it was connected from: read from the right, and the
    # first address that is not a trusted proxy's is the client. Anything to its left was
    # written by the client itself.
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
    client = peer
    for entry in reversed(forwarded.split(",")):
        address = _parse(entry)
        if address is None:
            break  # a trusted proxy would not write this: keep the last address vouched for
        client = address
        if not _trusted(address, networks):
            break
    return client


def client_address(request: HttpRequest) -> str:
    """The client's address as throttling counts it: an IPv4 address, an IPv6 /64's first
    address, or "unknown" when the server gave none (a Unix socket without a proxy)."""
    address = client_ip(request)
    if address is None:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False).network_address)
    return str(address)


# --- rates and refusals ---------------------------------------------------------------------

RATE = re.compile(r"^(\d+)/(\d*)([smhd])$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
UNIT_WORDS = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"20/h"`` -> (20, 3600); ``"10/15m"`` -> (10, 900). Settings validated the form."""
    match = RATE.match(rate)
    if match is None:
        raise ValueError(f"{rate!r} is not a rate such as 20/h")
    count, multiple, unit = match.groups()
    return int(count), int(multiple or 1) * UNIT_SECONDS[unit]


def period_words(seconds: int) -> str:
    """``per hour``, ``per 15 minutes``."""
    for unit in (86400, 3600, 60, 1):
        if seconds % unit == 0:
            count = seconds // unit
            word = UNIT_WORDS[unit]
            return f"per {word}" if count == 1 else f"per {count} {word}s"
    raise AssertionError("unreachable")  # pragma: no cover - 1 divides everything


def wait_words(seconds: int) -> str:
    """``30 seconds``, ``1 minute``, ``41 minutes``, ``2 hours 5 minutes`` (rounded up)."""
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours, minutes = divmod(minutes, 60)
    text = f"{hours} hour{'s' if hours != 1 else ''}"
    return text + (f" {minutes} minute{'s' if minutes != 1 else ''}" if minutes else "")


class Scope(enum.Enum):
    """What one count is kept for."""

    ADDRESS = "from your address"
    ACCOUNT = "for your account"
    TOKEN = "with this API token"


@dataclass(frozen=True)
class Refusal:
    """A request past a limit: what was counted, the limit, and when to come back."""

    what: str
    scope: Scope
    limit: int
    period: int
    retry_after: int
    advice: str = ""

    @property
    def message(self) -> str:
        text = (
            f"Too many {self.what} {self.scope.value}: at most {self.limit} "
            f"{period_words(self.period)}. Try again in {wait_words(self.retry_after)}."
        )
        return f"{text} {self.advice}" if self.advice else text

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


Key = Callable[[str, HttpRequest], str]


def _address_key(group: str, request: HttpRequest) -> str:
    return f"address:{client_address(request)}"


def _account_key(group: str, request: HttpRequest) -> str:
    return f"account:{request.user.pk}"


@dataclass(frozen=True)
class Rule:
    """One limit: ``setting`` names the rate (empty: no limit), ``group`` its counters."""

    group: str
    setting: str
    what: str
    scope: Scope
    advice: str = ""

    def rate(self) -> str:
        return str(getattr(settings, self.setting) or "")

    def hit(self, request: HttpRequest, *, token: Any = None) -> Refusal | None:
        """Count this request; its refusal when that takes the count past the limit."""
        return self._usage(request, token=token, increment=True)

    def check(self, request: HttpRequest, *, token: Any = None) -> Refusal | None:
        """The refusal if the limit is already used up, without counting this request."""
        return self._usage(request, token=token, increment=False)

    def _key(self, token: Any) -> Key:
        if self.scope is Scope.ADDRESS:
            return _address_key
        if self.scope is Scope.ACCOUNT:
            return _account_key
        return lambda group, request: f"token:{token.pk}"

    def _usage(self, request: HttpRequest, *, token: Any, increment: bool) -> Refusal | None:
        rate = self.rate()
        if not rate or not getattr(settings, "RATELIMIT_ENABLE", True):
            return None
        limit, period = parse_rate(rate)
        # django-ratelimit's fixed window and cache key, as its get_usage() finds them, so
        # that both count together; but fewer round trips to the cache than get_usage()
        # makes (see _count).
        value = self._key(token)(self.group, request)
        window = _get_window(value, period)
        key = _make_cache_key(self.group, window, rate, value, ALL)
        try:
            count = _count(caches[settings.RATELIMIT_USE_CACHE], key, period, increment)
        except CACHE_ERRORS as exc:
            logger.warning(
                "throttling: the cache did not answer; %s not counted: %s", self.group, exc
            )
            return None
        if count is None:
            return None  # the cache lost the count: fail open
        if count < limit or (increment and count == limit):
            return None
        return Refusal(
            what=self.what,
            scope=self.scope,
            limit=limit,
            period=period,
            # The window's last second is ``window`` itself; the next one starts after it.
            retry_after=max(1, window - int(time.time()) + 1),
            advice=self.advice,
        )


def _count(cache: Any, key: str, period: int, increment: bool) -> int | None:
    """The count at ``key``, after adding this request when ``increment``.

    Reading is one read (get_usage() first writes a zero count, then reads). Counting is
    an increment of the count that is there, and only when there is none yet (the first
    request of its window) an add: two round trips to Redis where get_usage() makes three.
    """
    if not increment:
        return int(cache.get(key, 0))
    try:
        return int(cache.incr(key))
    except ValueError:  # no count yet in this window
        if cache.add(key, 1, period + EXPIRATION_FUDGE):
            return 1
    try:
        return int(cache.incr(key))  # another process added it meanwhile
    except ValueError:
        return None


SIGNUP = Rule(
    "signup", "DKIM2WEB_RATE_SIGNUP", "sign-ups", Scope.ADDRESS, "No account was created."
)
UPLOAD_ANONYMOUS = Rule(
    "upload-anonymous",
    "DKIM2WEB_RATE_UPLOAD_ANONYMOUS",
    "uploads without an account",
    Scope.ADDRESS,
    "Nothing was stored. An account has its own, larger allowance: log in or sign up.",
)
UPLOAD_ACCOUNT = Rule(
    "upload-account",
    "DKIM2WEB_RATE_UPLOAD_ACCOUNT",
    "uploads",
    Scope.ACCOUNT,
    "Nothing was stored.",
)
API_ADDRESS = Rule("api-address", "DKIM2WEB_RATE_API_ADDRESS", "API requests", Scope.ADDRESS)
API_TOKEN = Rule("api-token", "DKIM2WEB_RATE_API_TOKEN", "API requests", Scope.TOKEN)
API_INVALID_TOKENS = Rule(
    "api-invalid-token",
    "DKIM2WEB_RATE_API_INVALID_TOKENS",
    "requests with an unknown, revoked or expired API token",
    Scope.ADDRESS,
    "Until then every request with a token from your address is refused: check the token "
    "your client sends (the account page lists yours).",
)
SHARE_LINKS = Rule(
    "share-link", "DKIM2WEB_RATE_SHARE_LINKS", "shared-analysis requests", Scope.ADDRESS
)


#: Re-runs, re-analyses and samples queue an analysis as an upload does: they use the same
#: counters (same group and rate), with words that say so.
ANALYSES_ANONYMOUS = Rule(
    "upload-anonymous",
    "DKIM2WEB_RATE_UPLOAD_ANONYMOUS",
    "analyses without an account (uploads, samples and re-runs count together)",
    Scope.ADDRESS,
    "Nothing was queued. An account has its own, larger allowance: log in or sign up.",
)
ANALYSES_ACCOUNT = Rule(
    "upload-account",
    "DKIM2WEB_RATE_UPLOAD_ACCOUNT",
    "analyses (uploads, samples and re-runs count together)",
    Scope.ACCOUNT,
    "Nothing was queued.",
)


def upload_rule(request: HttpRequest) -> Rule:
    return UPLOAD_ACCOUNT if request.user.is_authenticated else UPLOAD_ANONYMOUS


def analysis_rule(request: HttpRequest) -> Rule:
    """The limit a re-run, a re-analysis or a sample counts against: the uploads'."""
    return ANALYSES_ACCOUNT if request.user.is_authenticated else ANALYSES_ANONYMOUS


def too_many_requests(
    request: HttpRequest, refusal: Refusal, *, back_url: str = ""
) -> HttpResponse:
    """The site's answer to a refused request: templates/429.html, 429, Retry-After."""
    context = {"refusal": refusal, "back_url": back_url}
    response = render(request, "429.html", context, status=429)
    for name, value in refusal.headers().items():
        response.headers[name] = value
    add_never_cache_headers(response)
    return response


# --- log-in lockout (django-axes) ---------------------------------------------------------


def login_failure_limit(request: HttpRequest, credentials: Any = None) -> int:
    """AXES_FAILURE_LIMIT: read when used, so a test (or an override) can change it."""
    return int(settings.DKIM2WEB_LOGIN_FAILURE_LIMIT)


def login_cool_off(request: HttpRequest | None = None) -> timedelta:
    """AXES_COOLOFF_TIME."""
    return timedelta(seconds=int(settings.DKIM2WEB_LOGIN_LOCKOUT_SECONDS))


def login_account(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str | None:
    """AXES_USERNAME_CALLABLE: the account name typed, marked as one.

    axes keys a count by the bare value, so without the mark failures for an account named
    ``192.0.2.7`` would lock out the client at that address, and the other way round.
    """
    source = credentials if credentials is not None else request.POST
    name = source.get("username")
    return f"account:{name}" if name else None


def axes_client_address(request: HttpRequest) -> str:
    """AXES_CLIENT_IP_CALLABLE."""
    return client_address(request)


class LoginAttempts(AxesCacheHandler):
    """axes' cache handler, except that a cache that does not answer locks nobody out."""

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        try:
            return int(super().get_failures(request, credentials))
        except CACHE_ERRORS as exc:
            logger.warning("throttling: the cache did not answer; log-in allowed: %s", exc)
            return 0

    def user_login_failed(self, *args: Any, **kwargs: Any) -> None:
        try:
            super().user_login_failed(*args, **kwargs)
        except CACHE_ERRORS as exc:
            logger.warning("throttling: the cache did not answer; failure not counted: %s", exc)

    def user_logged_in(self, *args: Any, **kwargs: Any) -> None:
        try:
            super().user_logged_in(*args, **kwargs)
        except CACHE_ERRORS as exc:
            logger.warning("throttling: the cache did not answer; failures not cleared: %s", exc)


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: accounts/lockout.html, 429, Retry-After."""
    limit = login_failure_limit(request, credentials)
    seconds = int(login_cool_off(request).total_seconds())
    account = login_account(request, credentials)
    # Which count reached the limit: the account's, the address's, or both.
    account_locked = address_locked = False
    try:
        cache = get_cache()
        keys = get_client_cache_keys(request, credentials)
        counts = [int(cache.get(key, 0)) for key in keys]
        account_locked = account is not None and counts[0] >= limit
        address_locked = counts[-1] >= limit
    except CACHE_ERRORS:
        pass
    if not (account_locked or address_locked):
        account_locked, address_locked = account is not None, True  # say both, not nothing
    context = {
        "limit": limit,
        "wait": wait_words(seconds),
        "account_name": account.removeprefix("account:") if account else "",
        "account_locked": account_locked,
        "address_locked": address_locked,
    }
    response = render(request, "accounts/lockout.html", context, status=429)
    response.headers["Retry-After"] = str(seconds)
    add_never_cache_headers(response)
    return response
