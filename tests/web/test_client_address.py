"""The client's address as throttling counts it: the peer, unless the peer is a trusted proxy;
X-Forwarded-For read from the right past the trusted proxies; an IPv6 client by its /64."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from dkim2web.throttling import client_address
from tests.web.throttling_support import load_settings


def address(remote: str | None, forwarded: str | None = None) -> str:
    meta: dict[str, Any] = {}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    request = RequestFactory().get("/", **meta)
    if remote is None:
        del request.META["REMOTE_ADDR"]
    else:
        request.META["REMOTE_ADDR"] = remote
    return client_address(request)


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("198.51.100.7", None, "198.51.100.7"),
        ("198.51.100.7", "203.0.113.1", "198.51.100.7"),  # no proxy is trusted: ignored
        ("2001:db8:1:2:aaaa::1", None, "2001:db8:1:2::"),
        ("2001:db8:1:2:bbbb::9", None, "2001:db8:1:2::"),  # the same /64
        ("::ffff:198.51.100.7", None, "198.51.100.7"),
        (None, None, "unknown"),  # a Unix socket with nothing in front
        ("", None, "unknown"),
    ],
)
def test_without_trusted_proxies_the_peer_is_the_client(
    settings: Any, remote: str | None, forwarded: str | None, expected: str
) -> None:
    settings.DKIM2WEB_TRUSTED_PROXIES = []
    assert address(remote, forwarded) == expected


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("10.0.0.5", "198.51.100.7", "198.51.100.7"),
        ("10.0.0.5", "203.0.113.1, 198.51.100.7", "198.51.100.7"),  # the left is the client's
        ("10.0.0.5", "198.51.100.7, 10.0.0.9", "198.51.100.7"),  # two trusted proxies
        ("10.0.0.5", "198.51.100.7,10.0.0.9 , 10.0.0.8", "198.51.100.7"),
        ("10.0.0.5", "[2001:db8::1]", "2001:db8::"),
        ("10.0.0.5", "10.0.0.9", "10.0.0.9"),  # every hop trusted: the leftmost
        ("10.0.0.5", None, "10.0.0.5"),
        ("10.0.0.5", "not-an-address", "10.0.0.5"),  # garbage: the last address vouched for
        ("10.0.0.5", "198.51.100.7, garbage", "10.0.0.5"),
        ("192.0.2.1", "198.51.100.7", "192.0.2.1"),  # the peer is no trusted proxy
    ],
)
def test_behind_a_trusted_proxy_x_forwarded_for_is_read_from_the_right(
    settings: Any, remote: str, forwarded: str | None, expected: str
) -> None:
    settings.DKIM2WEB_TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert address(remote, forwarded) == expected


def test_trusted_proxies_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(monkeypatch).DKIM2WEB_TRUSTED_PROXIES == []
    given = load_settings(monkeypatch, DKIM2WEB_TRUSTED_PROXIES="172.18.0.1, 10.0.0.0/8,::1")
    assert given.DKIM2WEB_TRUSTED_PROXIES == ["172.18.0.1", "10.0.0.0/8", "::1"]
    with pytest.raises(ImproperlyConfigured, match=r"DKIM2WEB_TRUSTED_PROXIES: 'proxy\.local'"):
        load_settings(monkeypatch, DKIM2WEB_TRUSTED_PROXIES="proxy.local")
