"""Project-wide test fixtures.

* No test reaches the network: an autouse fixture lets sockets talk to loopback and Unix
  sockets only, and fails the test if anything tried another address, even when the code
  under test swallowed the error.
* Tests that need a local service are marked (``postgres``, ``redis``, ``chromium``) or ask
  for the ``require_*`` fixture (``require_compose_client``: a Compose client). Without the
  service they are skipped with a loud reason; with ``DKIM2WEB_REQUIRE_SERVICES=1`` (as in
  CI) they fail instead.
* ``shared_dir`` is the read-only folder of vectors and samples, and it must exist.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parent.parent

POSTGRES_URL = os.environ.get(
    "DKIM2WEB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("DKIM2WEB_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REQUIRE_SERVICES_ENV = "DKIM2WEB_REQUIRE_SERVICES"


# --- (a) no network but loopback -----------------------------------------------------------


class NetworkBlockedError(RuntimeError):
    """A test tried to reach an address other than loopback."""


def _is_local_host(host: object) -> bool:
    if not isinstance(host, str):
        return False
    if host.lower() in {"localhost", "localhost.", "ip6-localhost"}:
        return True
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False  # any other name would need a DNS lookup
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _is_local_address(family: int, address: Any) -> bool:
    if family == getattr(socket, "AF_UNIX", object()):
        return True
    if isinstance(address, tuple) and address:
        return _is_local_host(address[0])
    return False


@pytest.fixture(autouse=True)
def network_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Active in every test; yields the list of refused attempts (the guard's own tests
    empty it so that their deliberate attempts do not fail them)."""
    attempts: list[str] = []

    def refuse(what: str) -> NetworkBlockedError:
        attempts.append(what)
        return NetworkBlockedError(f"test tried to reach {what}; only loopback is allowed")

    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_sendto = socket.socket.sendto
    real_create_connection = socket.create_connection
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        if not _is_local_address(self.family, address):
            raise refuse(f"connect {address!r}")
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not _is_local_address(self.family, address):
            raise refuse(f"connect_ex {address!r}")
        return real_connect_ex(self, address)

    def sendto(self: socket.socket, data: Any, *args: Any) -> int:
        # sendto(data, address) or sendto(data, flags, address): UDP DNS goes this way.
        if args and not _is_local_address(self.family, args[-1]):
            raise refuse(f"sendto {args[-1]!r}")
        return real_sendto(self, data, *args)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        if not _is_local_host(address[0]):
            raise refuse(f"create_connection {address!r}")
        return real_create_connection(address, *args, **kwargs)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        # Resolving a name asks the system's resolver, which is outside traffic too.
        if host is not None and not _is_local_host(
            host.decode() if isinstance(host, bytes) else host
        ):
            raise refuse(f"name lookup {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket.socket, "sendto", sendto)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts
    if attempts:
        pytest.fail("test tried to use the network: " + "; ".join(attempts), pytrace=False)


# --- (b) local services: skip loudly, or fail when they are required -------------------------


def services_required() -> bool:
    return os.environ.get(REQUIRE_SERVICES_ENV, "").strip() in {"1", "true", "yes"}


def _missing(what: str) -> NoReturn:
    if services_required():
        pytest.fail(
            f"REQUIRED SERVICE MISSING: {what} ({REQUIRE_SERVICES_ENV}=1 makes this a failure)",
            pytrace=False,
        )
    pytest.skip(f"SKIPPED: {what} -- set {REQUIRE_SERVICES_ENV}=1 to make this a failure")


def _postgres_problem() -> str | None:
    import psycopg

    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


def _redis_problem() -> str | None:
    parts = urlsplit(REDIS_URL)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or 6379), timeout=3
        ) as sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
    except OSError as exc:
        return str(exc)
    return None if reply.startswith(b"+PONG") else f"unexpected reply {reply!r}"


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def require_postgres() -> str:
    """The URL of a reachable PostgreSQL server (database ``postgres``)."""
    problem = _postgres_problem()
    if problem is not None:
        host = urlsplit(POSTGRES_URL).netloc.rpartition("@")[2]
        _missing(f"PostgreSQL not reachable at {host} ({problem})")
    return POSTGRES_URL


def require_redis() -> str:
    """The URL of a reachable Redis server (a database tests may flush)."""
    problem = _redis_problem()
    if problem is not None:
        _missing(f"Redis not reachable at {urlsplit(REDIS_URL).netloc} ({problem})")
    return REDIS_URL


def compose_client() -> list[str] | None:
    """The command that validates a Compose file: ``docker compose`` or ``docker-compose``."""
    import subprocess

    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, text=True, timeout=30
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def require_compose_client() -> list[str]:
    """A Compose client (no engine needed: only ``config`` is run); .ci/run installs one."""
    client = compose_client()
    if client is None:
        _missing(
            "neither `docker compose` nor `docker-compose` is installed, so docker-compose.yml "
            "cannot be validated against the Compose schema (apt-get install docker-compose)"
        )
    return client


def require_chromium() -> str:
    """The path of a headless-capable Chromium."""
    path = chromium_path()
    if path is None:
        _missing("Chromium not found on PATH (apt-get install chromium)")
    return path


_MARKER_CHECKS: dict[str, Callable[[], str]] = {
    "postgres": require_postgres,
    "redis": require_redis,
    "chromium": require_chromium,
}


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker, check in _MARKER_CHECKS.items():
        if item.get_closest_marker(marker) is not None:
            check()


@pytest.fixture(name="require_postgres")
def require_postgres_fixture() -> str:
    return require_postgres()


@pytest.fixture
def throwaway_database(require_postgres: str) -> Iterator[str]:
    """The URL of an empty PostgreSQL database of the test's own, dropped after it."""
    from tests.support.postgres import throwaway_database as database

    with database(require_postgres) as url:
        yield url


@pytest.fixture(name="require_redis")
def require_redis_fixture() -> str:
    return require_redis()


@pytest.fixture(name="require_compose_client")
def require_compose_client_fixture() -> list[str]:
    return require_compose_client()


@pytest.fixture(name="require_chromium")
def require_chromium_fixture() -> str:
    return require_chromium()


# --- (c) the shared vectors -----------------------------------------------------------------


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``<shared>/dkim2``: vectors and interop samples. Missing is a failure, never a skip."""
    base = os.environ.get("DKIM2_SHARED_DIR") or os.environ.get("DKIM2WEB_SHARED_DIR")
    path = Path(base) if base else REPO.parent / "shared"
    path = path / "dkim2"
    if not path.is_dir():
        pytest.fail(
            f"SHARED DATA MISSING: {path} does not exist. Tests need the shared vectors; "
            "set DKIM2_SHARED_DIR to the folder that holds dkim2/.",
            pytrace=False,
        )
    return path


# --- (d) other projects' test data (tests/fixtures.txt, unpacked by `make fixtures`) --------

FIXTURES_DIR = Path(os.environ.get("DKIM2WEB_FIXTURES_DIR") or REPO / ".venv" / "fixtures")


def require_fixture(*parts: str) -> Path:
    """A file or folder of an unpacked fixture distribution, e.g.
    ``require_fixture("pyspf-2.0.14", "test", "rfc7208-tests.yml")``. ``make test`` fetches
    them first; a bare ``pytest`` without them skips loudly (fails on CI)."""
    path = FIXTURES_DIR.joinpath(*parts)
    if not path.exists():
        _missing(f"fixture {path} is missing (run `make fixtures`: see tests/fixtures.txt)")
    return path


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The folder of unpacked fixture distributions (see :func:`require_fixture`)."""
    return FIXTURES_DIR
