"""The mailbox per client (issue #11, findings 5 and 8): real SMTP sessions on loopback.

One client address can no longer hold every connection; a NOOP (or RSET, HELP, VRFY,
EHLO) now and then does not keep a session past the idle timeout; a session that has had
its share of refused recipients is closed instead of costing a lookup per RCPT; STARTTLS
is offered when, and only when, a certificate is configured. The limits come from the
settings, as in production (short ones here).
"""

from __future__ import annotations

import contextlib
import datetime
import importlib.util
import ipaddress
import smtplib
import socket
import ssl
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError

from dkim2web import settings as live_settings
from dkim2web.intake import server as intake_server
from dkim2web.intake import services
from dkim2web.intake.models import Delivery
from dkim2web.intake.server import client_key
from dkim2web.intake.testing import message, running_intake

pytestmark = pytest.mark.django_db(transaction=True)

SENDER = "alice@origin.example"
GREETING = b"220 intake.localhost dkim2web intake\r\n"
UNKNOWN = "a-{:032x}@intake.localhost"


@pytest.fixture
def address(alice: Any) -> str:
    return services.intake_address_get_or_create(user=alice).address


@pytest.fixture
def intake_settings(settings: Any) -> Any:
    """The production limits (50 at once, 5 per client, 20 refused recipients), an idle
    timeout of 2 s, no message rate limit, no STARTTLS."""
    settings.DKIM2WEB_INTAKE_MAX_CONNECTIONS = 50
    settings.DKIM2WEB_INTAKE_MAX_CONNECTIONS_PER_CLIENT = 5
    settings.DKIM2WEB_INTAKE_MAX_REJECTED_RECIPIENTS = 20
    settings.DKIM2WEB_INTAKE_RATE_PER_MINUTE = 0
    settings.DKIM2WEB_INTAKE_TIMEOUT_SECONDS = 2
    settings.DKIM2WEB_INTAKE_TLS_CERT_FILE = ""
    settings.DKIM2WEB_INTAKE_TLS_KEY_FILE = ""
    settings.DKIM2WEB_INTAKE_REQUIRE_STARTTLS = False
    return settings


def _msg(subject: str = "hello") -> bytes:
    return message(sender=SENDER, to="me@intake.localhost", subject=subject, body="Hello.\r\n")


def _connect(server: Any, source: str = "127.0.0.1") -> tuple[socket.socket, Any]:
    sock = socket.create_connection(
        ("127.0.0.1", server.port), timeout=10, source_address=(source, 0)
    )
    return sock, sock.makefile("rb")


def _command(sock: socket.socket, reader: Any, line: bytes) -> list[bytes]:
    """Send one command; its reply lines (several for EHLO)."""
    sock.sendall(line + b"\r\n")
    lines = [reader.readline()]
    while lines[-1][3:4] == b"-":
        lines.append(reader.readline())
    return lines


def _wait_closed(server: Any) -> None:
    deadline = time.monotonic() + 10
    while server.handler.connections and time.monotonic() < deadline:
        time.sleep(0.02)


# -- finding 5: connections per client address ------------------------------------------------


def test_fifty_idle_connections_from_one_address_leave_the_mailbox_open_to_others(
    intake_settings: Any, address: str
) -> None:
    # Before: the cap of 50 was global, so one address holding 50 idle connections made
    # every other client read 421 until the idle timeout.
    with running_intake(inline_analysis=True) as server:
        hog = [_connect(server) for _ in range(50)]
        greetings = [reader.readline() for _, reader in hog]
        assert greetings[:5] == [GREETING] * 5
        assert (
            greetings[5:]
            == [
                b"421 4.7.0 intake.localhost Too many connections from 127.0.0.1: at most 5 at "
                b"once from one address; close one, or try again later\r\n"
            ]
            * 45
        )
        assert [reader.readline() for _, reader in hog[5:]] == [b""] * 45  # closed
        assert server.handler.connections == 5

        other = smtplib.SMTP("127.0.0.1", server.port, timeout=10, source_address=("127.0.0.2", 0))
        with other:
            assert other.ehlo("other.example")[0] == 250
            assert other.sendmail(SENDER, [address], _msg()) == {}
        assert Delivery.objects.get().client_ip == "127.0.0.2"

        # A connection given back is a connection the hog may open again.
        _, first_reader = hog[0]
        assert _command(hog[0][0], first_reader, b"QUIT") == [b"221 Bye\r\n"]
        deadline = time.monotonic() + 10
        while server.handler.per_client.get("127.0.0.1") != 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        again, again_reader = _connect(server)
        assert again_reader.readline() == GREETING
        for sock, reader in [*hog, (again, again_reader)]:
            reader.close()
            sock.close()


def test_the_global_cap_still_holds_across_addresses(intake_settings: Any) -> None:
    intake_settings.DKIM2WEB_INTAKE_MAX_CONNECTIONS = 6
    with running_intake(inline_analysis=True) as server:
        held = [_connect(server) for _ in range(5)] + [_connect(server, "127.0.0.2")]
        assert [reader.readline() for _, reader in held] == [GREETING] * 6
        sock, reader = _connect(server, "127.0.0.3")
        assert reader.readline() == (
            b"421 4.7.0 intake.localhost Too many connections at once; try again later\r\n"
        )
        for s, r in [*held, (sock, reader)]:
            r.close()
            s.close()
        _wait_closed(server)


@pytest.mark.parametrize(
    ("peer", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2::5", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::5", "2001:db8:1:3::/64"),
        ("fe80::1%eth0", "fe80::/64"),
    ],
)
def test_an_ipv6_client_counts_by_its_slash_64(peer: str, key: str) -> None:
    assert client_key(peer) == key


# -- finding 5: an idle timeout that NOOP does not restart --------------------------------------


def test_a_noop_every_few_tenths_of_a_second_no_longer_keeps_a_session_past_the_idle_timeout(
    intake_settings: Any,
) -> None:
    # Before: every command aiosmtpd knew restarted the timer, so a NOOP now and then held
    # the connection for ever. Now only progress does; the timeout is 2 s here.
    keepalives = [b"NOOP", b"RSET", b"HELP", b"VRFY postmaster", b"EHLO client.example"]
    with running_intake(inline_analysis=True) as server:
        sock, reader = _connect(server)
        connected = time.monotonic()
        assert reader.readline() == GREETING
        assert _command(sock, reader, b"EHLO client.example")[-1] == b"250 HELP\r\n"
        received: list[bytes] = []
        n = 0
        while time.monotonic() - connected < 8.0:  # four times the timeout
            with contextlib.suppress(OSError):  # closed while the command was on its way
                sock.sendall(keepalives[n % len(keepalives)] + b"\r\n")
            n += 1
            line = reader.readline()
            while line[3:4] == b"-":
                line = reader.readline()
            received.append(line)
            if not line or line.startswith(b"421"):
                break
            time.sleep(0.3)
        closed_after = time.monotonic() - connected
        assert received[-1] == (
            b"421 4.4.2 intake.localhost No mail command or message data for 2 seconds "
            b"(NOOP, RSET, HELP, VRFY and EHLO do not count); closing the connection. "
            b"Connect again when there is mail to send\r\n"
        ), received
        assert reader.readline() == b""
        assert 1.8 < closed_after < 4.0
        assert n >= 5  # every kind of keep-alive was tried
        reader.close()
        sock.close()
        _wait_closed(server)


def test_each_step_of_a_transaction_restarts_the_idle_timeout(
    intake_settings: Any, address: str
) -> None:
    # MAIL, RCPT and DATA each 1.2 s apart (the timeout is 2 s): 3.6 s in all, stored.
    raw = _msg("stepwise")
    with running_intake(inline_analysis=True) as server:
        sock, reader = _connect(server)
        started = time.monotonic()
        assert reader.readline() == GREETING
        _command(sock, reader, b"EHLO client.example")
        for line, reply in (
            (f"MAIL FROM:<{SENDER}>".encode(), b"250 2.1.0 OK\r\n"),
            (f"RCPT TO:<{address}>".encode(), b"250 2.1.5 OK\r\n"),
            (b"DATA", b"354 End data with <CR><LF>.<CR><LF>\r\n"),
        ):
            time.sleep(1.2)
            assert _command(sock, reader, line) == [reply]
        sock.sendall(raw + b".\r\n")
        assert reader.readline().startswith(b"250 2.0.0 OK: stored as ")
        assert time.monotonic() - started > 3.6
        assert _command(sock, reader, b"QUIT") == [b"221 Bye\r\n"]
        reader.close()
        sock.close()
        _wait_closed(server)
    assert Delivery.objects.count() == 1


# -- finding 8: refused recipients per session ------------------------------------------------


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every mailbox lookup the intake makes (each one a database query)."""
    seen: list[str] = []
    real = intake_server._resolve

    def counting(local_part: str) -> Any:
        seen.append(local_part)
        return real(local_part)

    monkeypatch.setattr(intake_server, "_resolve", counting)
    return seen


def test_two_hundred_unknown_recipients_end_in_421_after_twenty_and_twenty_lookups(
    intake_settings: Any, address: str, lookups: list[str]
) -> None:
    # Before: all 200 were answered 550, each after a database lookup, and the session
    # went on.
    replies = []
    with running_intake(inline_analysis=True) as server:
        conn = smtplib.SMTP("127.0.0.1", server.port, timeout=10)
        conn.ehlo("client.example")
        assert conn.mail(SENDER) == (250, b"2.1.0 OK")
        with pytest.raises(smtplib.SMTPServerDisconnected):
            for n in range(200):
                replies.append(conn.rcpt(UNKNOWN.format(n)))
        conn.close()
        _wait_closed(server)
    assert replies[:20] == [
        (
            550,
            f"5.1.1 <{UNKNOWN.format(n)}>: no such mailbox here (an unknown or rotated "
            "intake address)".encode(),
        )
        for n in range(20)
    ]
    assert replies[20:] == [
        (
            421,
            b"4.7.0 intake.localhost Too many refused recipients: 20 in this session; closing "
            b"the connection. Mail is accepted only for a-<token>@intake.localhost addresses "
            b"that exist: check the addresses",
        )
    ]
    assert len(lookups) == 20
    assert not Delivery.objects.exists()


def test_relaying_refusals_count_too_and_a_good_recipient_before_the_cap_is_delivered(
    intake_settings: Any, address: str, lookups: list[str]
) -> None:
    intake_settings.DKIM2WEB_INTAKE_MAX_REJECTED_RECIPIENTS = 3
    with running_intake(inline_analysis=True) as server:
        conn = smtplib.SMTP("127.0.0.1", server.port, timeout=10)
        conn.ehlo("client.example")
        conn.mail(SENDER)
        assert conn.rcpt("bob@forwarder.example")[0] == 550
        assert conn.rcpt(UNKNOWN.format(1))[0] == 550
        assert conn.rcpt(address)[0] == 250
        assert conn.rcpt("carol@elsewhere.example")[0] == 550
        code, _ = conn.data(_msg("two refusals later"))
        assert code == 250
        conn.mail(SENDER)
        assert conn.rcpt(address)[0] == 421  # three refused in this session: no fourth try
        conn.close()
        _wait_closed(server)
    assert Delivery.objects.count() == 1
    assert len(lookups) == 2  # the relaying refusals cost no lookup


# -- STARTTLS ---------------------------------------------------------------------------------


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and, signed by it, a certificate for intake.localhost and 127.0.0.1:
    (CA file, certificate file, key file)."""
    now = datetime.datetime.now(datetime.UTC)

    def build(subject: str, key: Any, issuer: x509.Name, signer: Any, ca: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        )
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
            )
        else:
            builder = (
                builder.add_extension(
                    x509.SubjectAlternativeName(
                        [
                            x509.DNSName("intake.localhost"),
                            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                        ]
                    ),
                    critical=False,
                )
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
                .add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), False
                )
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dkim2web test CA")])
    ca_cert = build("dkim2web test CA", ca_key, ca_name, ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = build("intake.localhost", key, ca_name, ca_key, ca=False)
    ca_file, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_file, cert_file, key_file


@pytest.fixture
def tls_settings(intake_settings: Any, certificate: tuple[Path, Path, Path]) -> Any:
    _, cert_file, key_file = certificate
    intake_settings.DKIM2WEB_INTAKE_TLS_CERT_FILE = str(cert_file)
    intake_settings.DKIM2WEB_INTAKE_TLS_KEY_FILE = str(key_file)
    return intake_settings


@pytest.fixture
def client_context(certificate: tuple[Path, Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


def test_without_a_certificate_starttls_is_neither_advertised_nor_available(
    intake_settings: Any,
) -> None:
    with (
        running_intake(inline_analysis=True) as server,
        smtplib.SMTP("127.0.0.1", server.port, timeout=10) as conn,
    ):
        conn.ehlo("client.example")
        assert not conn.has_extn("starttls")
        assert conn.docmd("STARTTLS") == (
            454,
            b"4.7.0 TLS not available: this intake has no certificate configured; go on "
            b"without STARTTLS",
        )


def test_with_a_certificate_starttls_is_advertised_and_mail_goes_over_tls(
    tls_settings: Any, client_context: ssl.SSLContext, address: str
) -> None:
    raw = _msg("over TLS")
    with (
        running_intake(inline_analysis=True) as server,
        smtplib.SMTP("127.0.0.1", server.port, timeout=10) as conn,
    ):
        conn.ehlo("client.example")
        assert conn.has_extn("starttls")
        assert conn.starttls(context=client_context) == (220, b"Ready to start TLS")
        assert isinstance(conn.sock, ssl.SSLSocket)
        assert conn.sock.version() in {"TLSv1.2", "TLSv1.3"}
        conn.ehlo("client.example")
        assert not conn.has_extn("starttls")  # once is enough
        assert conn.sendmail(SENDER, [address], raw) == {}
    assert Delivery.objects.get().size == len(raw)


def test_a_client_that_does_not_trust_the_certificate_cannot_start_tls(
    tls_settings: Any,
) -> None:
    with (
        running_intake(inline_analysis=True) as server,
        smtplib.SMTP("127.0.0.1", server.port, timeout=10) as conn,
    ):
        conn.ehlo("client.example")
        with pytest.raises(ssl.SSLCertVerificationError):
            conn.starttls(context=ssl.create_default_context())  # not our test CA
        _wait_closed(server)


def test_starttls_can_be_required(
    tls_settings: Any, client_context: ssl.SSLContext, address: str
) -> None:
    tls_settings.DKIM2WEB_INTAKE_REQUIRE_STARTTLS = True
    with (
        running_intake(inline_analysis=True) as server,
        smtplib.SMTP("127.0.0.1", server.port, timeout=10) as conn,
    ):
        conn.ehlo("client.example")
        assert conn.mail(SENDER) == (530, b"Must issue a STARTTLS command first")
        conn.starttls(context=client_context)
        conn.ehlo("client.example")
        assert conn.sendmail(SENDER, [address], _msg("required")) == {}
    assert Delivery.objects.count() == 1


def test_run_intake_refuses_to_start_with_a_certificate_it_cannot_read(
    intake_settings: Any, tmp_path: Path
) -> None:
    intake_settings.DKIM2WEB_INTAKE_TLS_CERT_FILE = str(tmp_path / "missing.pem")
    intake_settings.DKIM2WEB_INTAKE_TLS_KEY_FILE = str(tmp_path / "missing.key")
    with pytest.raises(CommandError) as refused:
        call_command("run_intake", "--host", "127.0.0.1", "--port", "0")
    text = str(refused.value)
    assert text.startswith(
        f"the intake's TLS certificate '{tmp_path / 'missing.pem'}' and key "
        f"'{tmp_path / 'missing.key'}' could not be loaded ("
    )
    assert text.endswith(
        "); fix DKIM2WEB_INTAKE_TLS_CERT_FILE and DKIM2WEB_INTAKE_TLS_KEY_FILE (PEM files "
        "readable by this process), or unset both"
    )


def test_requiring_starttls_without_a_certificate_or_over_lmtp_is_refused(
    tls_settings: Any,
) -> None:
    from dkim2web.intake.server import IntakeServer

    with pytest.raises(ImproperlyConfigured, match="applies to SMTP only"):
        IntakeServer(host="127.0.0.1", port=0, lmtp=True, require_starttls=True)
    tls_settings.DKIM2WEB_INTAKE_TLS_CERT_FILE = tls_settings.DKIM2WEB_INTAKE_TLS_KEY_FILE = ""
    with pytest.raises(ImproperlyConfigured, match="no certificate is configured"):
        IntakeServer(host="127.0.0.1", port=0, require_starttls=True)


# -- the settings ------------------------------------------------------------------------------


def _load_settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> ModuleType:
    for name in (
        "DKIM2WEB_INTAKE_TLS_CERT_FILE",
        "DKIM2WEB_INTAKE_TLS_KEY_FILE",
        "DKIM2WEB_INTAKE_MAX_CONNECTIONS_PER_CLIENT",
        "DKIM2WEB_INTAKE_MAX_REJECTED_RECIPIENTS",
        "DKIM2WEB_INTAKE_REQUIRE_STARTTLS",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("settings_under_test", live_settings.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_per_client_settings_default_to_five_connections_and_twenty_refusals_no_tls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loaded = _load_settings(monkeypatch)
    assert loaded.DKIM2WEB_INTAKE_MAX_CONNECTIONS_PER_CLIENT == 5
    assert loaded.DKIM2WEB_INTAKE_MAX_CONNECTIONS == 50
    assert loaded.DKIM2WEB_INTAKE_MAX_REJECTED_RECIPIENTS == 20
    assert loaded.DKIM2WEB_INTAKE_TLS_CERT_FILE == loaded.DKIM2WEB_INTAKE_TLS_KEY_FILE == ""
    assert loaded.DKIM2WEB_INTAKE_REQUIRE_STARTTLS is False


def test_a_certificate_without_its_key_or_a_negative_cap_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ImproperlyConfigured, match="set both"):
        _load_settings(monkeypatch, DKIM2WEB_INTAKE_TLS_CERT_FILE="/etc/ssl/intake.pem")
    with pytest.raises(ImproperlyConfigured, match="must not be negative"):
        _load_settings(monkeypatch, DKIM2WEB_INTAKE_MAX_REJECTED_RECIPIENTS="-1")
