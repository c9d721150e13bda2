"""The autouse network guard in conftest.py lets tests reach loopback only.

Every probe here is one that sends nothing even if the guard were broken: a UDP connect
only sets a default destination, and a numeric-only getaddrinfo asks no resolver.
"""

from __future__ import annotations

import socket

import pytest


def test_a_udp_connect_to_an_outside_address_is_refused(network_guard: list[str]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        with pytest.raises(RuntimeError, match="only loopback is allowed"):
            sock.connect(("192.0.2.1", 53))
        with pytest.raises(RuntimeError, match="only loopback is allowed"):
            sock.connect_ex(("192.0.2.1", 53))
    assert len(network_guard) == 2
    network_guard.clear()


def test_a_name_lookup_of_an_outside_address_is_refused(network_guard: list[str]) -> None:
    with pytest.raises(RuntimeError, match="name lookup"):
        socket.getaddrinfo("192.0.2.1", 53, flags=socket.AI_NUMERICHOST)
    assert network_guard
    network_guard.clear()


def test_loopback_tcp_connections_are_allowed() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            peer, _ = server.accept()
            with peer:
                client.sendall(b"ping")
                assert peer.recv(4) == b"ping"


def test_localhost_resolves_and_unix_sockets_work() -> None:
    assert socket.getaddrinfo("localhost", 80)
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"x")
        assert right.recv(1) == b"x"
