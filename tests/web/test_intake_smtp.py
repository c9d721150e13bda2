"""Real SMTP sessions against the intake on loopback: what is accepted, refused, and kept."""

from __future__ import annotations

import smtplib
import socket
import time
from typing import Any

import pytest
from django.db import OperationalError, transaction

from dkim2web.intake import server as intake_server
from dkim2web.intake import services
from dkim2web.intake.models import Delivery, IntakePart
from dkim2web.intake.server import Limits
from dkim2web.intake.testing import message, running_intake
from dkim2web.reports.models import Analysis

pytestmark = pytest.mark.django_db(transaction=True)

SENDER = "alice@origin.example"


def _limits(**changes: Any) -> Limits:
    base = dict(
        max_message_bytes=25 * 1024 * 1024,
        max_recipients=20,
        max_connections=50,
        rate_per_minute=0,
        timeout=30.0,
    )
    base.update(changes)
    return Limits(**base)


@pytest.fixture
def address(alice: Any) -> str:
    return services.intake_address_get_or_create(user=alice).address


@pytest.fixture
def intake() -> Any:
    with running_intake(inline_analysis=True, limits=_limits()) as server:
        yield server


def _msg(subject: str = "hello", body: str = "Hello.\r\n") -> bytes:
    return message(sender=SENDER, to="me@intake.localhost", subject=subject, body=body)


def _session(server: Any) -> smtplib.SMTP:
    conn = smtplib.SMTP("127.0.0.1", server.port, local_hostname="client.example", timeout=30)
    conn.ehlo("client.example")
    return conn


def _wait_closed(server: Any) -> None:
    deadline = time.monotonic() + 10
    while server.handler.connections and time.monotonic() < deadline:
        time.sleep(0.02)


def test_a_message_is_stored_exactly_with_its_envelope_and_analysed(
    intake: Any, address: str, alice: Any
) -> None:
    raw = _msg(body="Line one\r\n.a line that starts with a dot\r\n..two dots\r\n\r\n")
    with _session(intake) as conn:
        assert conn.sendmail(SENDER, [address], raw) == {}
    delivery = Delivery.objects.get()
    assert delivery.owner == alice
    assert delivery.mail_from == f"<{SENDER}>"
    assert delivery.rcpt_to == [f"<{address}>"]
    assert (delivery.client_ip, delivery.helo, delivery.protocol) == (
        "127.0.0.1",
        "client.example",
        "smtp",
    )
    assert delivery.size == len(raw)
    part = IntakePart.objects.get()
    analysis = part.analysis
    assert part.kind == "direct" and part.delivery == delivery
    assert analysis.raw_bytes == raw  # dot-unstuffed, nothing else
    assert analysis.owner == alice
    assert analysis.envelope_source == "smtp"
    assert (analysis.mail_from, analysis.rcpt_to) == (f"<{SENDER}>", [f"<{address}>"])
    assert analysis.status == "done"


def test_the_250_names_the_stored_delivery(intake: Any, address: str) -> None:
    with _session(intake) as conn:
        conn.mail(SENDER)
        conn.rcpt(address)
        code, text = conn.data(_msg())
    assert code == 250
    assert text.decode().endswith(str(Delivery.objects.get().pk))


def test_an_unknown_token_is_refused_at_rcpt(intake: Any, address: str) -> None:
    with _session(intake) as conn:
        conn.mail(SENDER)
        code, text = conn.rcpt("a-0123456789abcdef0123456789abcdef@intake.localhost")
        assert (code, text[:5]) == (550, b"5.1.1")
        code, text = conn.rcpt("postmaster@intake.localhost")
        assert code == 550
    assert not Delivery.objects.exists()


def test_a_rotated_address_is_refused_and_the_new_one_accepted(
    intake: Any, address: str, alice: Any
) -> None:
    new = services.intake_address_rotate(user=alice).address
    with _session(intake) as conn:
        conn.mail(SENDER)
        assert conn.rcpt(address)[0] == 550
        assert conn.rcpt(new)[0] == 250
        assert conn.rcpt(new.upper())[0] == 250  # local part and domain: any case


def test_mail_for_another_domain_is_not_relayed(intake: Any, address: str) -> None:
    with _session(intake) as conn:
        conn.mail(SENDER)
        code, text = conn.rcpt("bob@forwarder.example")
        assert code == 550 and text.startswith(b"5.7.1 Relaying denied")
        local = address.split("@")[0]
        assert conn.rcpt(f"{local}@intake.localhost.evil.example")[0] == 550


def test_too_many_recipients_get_452(address: str) -> None:
    with (
        running_intake(inline_analysis=True, limits=_limits(max_recipients=2)) as server,
        _session(server) as conn,
    ):
        conn.mail(SENDER)
        assert conn.rcpt(address)[0] == 250
        assert conn.rcpt(address)[0] == 250
        code, text = conn.rcpt(address)
        assert (code, text[:5]) == (452, b"4.5.3")


def test_a_declared_size_over_the_limit_is_refused_at_mail(address: str) -> None:
    with (
        running_intake(inline_analysis=True, limits=_limits(max_message_bytes=10_000)) as server,
        _session(server) as conn,
        pytest.raises(smtplib.SMTPSenderRefused) as refused,
    ):
        conn.sendmail(SENDER, [address], _msg(body="x" * 20_000))
    assert refused.value.smtp_code == 552
    assert not Delivery.objects.exists()


def test_data_over_the_limit_gets_552_and_nothing_is_stored(address: str) -> None:
    with (
        running_intake(inline_analysis=True, limits=_limits(max_message_bytes=10_000)) as server,
        _session(server) as conn,
    ):
        conn.mail(SENDER)  # no SIZE= declared: the limit is found during DATA
        conn.rcpt(address)
        code, text = conn.data(_msg(body="y" * 76 + "\r\n") * 300)
        assert (code, text[:5]) == (552, b"5.3.4")
        assert b"nothing was stored" in text
        # The session goes on: a message within the limit is accepted.
        small = _msg()
        assert conn.sendmail(SENDER, [address], small) == {}
    assert Delivery.objects.count() == 1
    assert Analysis.objects.get().raw_bytes == small


def test_a_client_that_keeps_sending_past_the_limit_is_cut_off(
    address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake_server, "DRAIN_BOUND", 20_000)
    with running_intake(inline_analysis=True, limits=_limits(max_message_bytes=10_000)) as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        reader = sock.makefile("rb")
        reader.readline()
        for command in (
            b"EHLO c.example",
            f"MAIL FROM:<{SENDER}>".encode(),
            f"RCPT TO:<{address}>".encode(),
            b"DATA",
        ):
            sock.sendall(command + b"\r\n")
            line = reader.readline()
            while line[3:4] == b"-":
                line = reader.readline()
        assert line.startswith(b"354")
        reply = b""
        try:
            for _ in range(100):
                sock.sendall(b"z" * 998 + b"\r\n")
            reply = reader.readline()
        except OSError:
            pass  # the server may close before the client has finished writing
        sock.close()
        assert reply == b"" or reply.startswith(b"552 5.3.4")
        _wait_closed(server)
    assert not Delivery.objects.exists() and not Analysis.objects.exists()


def test_a_client_that_drops_mid_data_leaves_nothing_behind(intake: Any, address: str) -> None:
    sock = socket.create_connection(("127.0.0.1", intake.port), timeout=10)
    reader = sock.makefile("rb")
    assert reader.readline().startswith(b"220")
    for command in (
        b"HELO c.example",
        f"MAIL FROM:<{SENDER}>".encode(),
        f"RCPT TO:<{address}>".encode(),
        b"DATA",
    ):
        sock.sendall(command + b"\r\n")
        reply = reader.readline()
    assert reply.startswith(b"354")
    sock.sendall(b"From: alice@origin.example\r\nSubject: half\r\n\r\nonly the first half")
    reader.close()
    sock.close()
    _wait_closed(intake)
    assert not Delivery.objects.exists() and not Analysis.objects.exists()
    # The server is unharmed.
    with _session(intake) as conn:
        assert conn.sendmail(SENDER, [address], _msg()) == {}


def test_a_failed_database_write_answers_451_and_keeps_nothing(address: str) -> None:
    def failing_store(**kwargs: Any) -> Any:
        with transaction.atomic():
            services.delivery_store(**kwargs)  # written, then rolled back
            raise OperationalError("disk I/O error")

    with (
        running_intake(inline_analysis=True, limits=_limits(), store=failing_store) as server,
        _session(server) as conn,
    ):
        conn.mail(SENDER)
        conn.rcpt(address)
        code, text = conn.data(_msg())
    assert (code, text[:5]) == (451, b"4.3.0")
    assert not Delivery.objects.exists() and not Analysis.objects.exists()


def test_the_per_client_message_rate_is_limited(address: str) -> None:
    with (
        running_intake(inline_analysis=True, limits=_limits(rate_per_minute=2)) as server,
        _session(server) as conn,
    ):
        for _ in range(2):
            assert conn.sendmail(SENDER, [address], _msg()) == {}
        code, text = conn.mail(SENDER)
        assert (code, text[:5]) == (451, b"4.7.1")
        assert b"at most 2 a minute" in text
    assert Delivery.objects.count() == 2


def test_connections_over_the_limit_get_421(address: str) -> None:
    with running_intake(inline_analysis=True, limits=_limits(max_connections=1)) as server:
        first = _session(server)
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            smtplib.SMTP("127.0.0.1", server.port, timeout=10)
        assert refused.value.smtp_code == 421
        assert b"Too many connections" in refused.value.smtp_error
        first.quit()
        _wait_closed(server)
        with _session(server) as conn:
            assert conn.noop()[0] == 250


def test_long_lines_and_8bit_bytes_are_kept_as_they_came(intake: Any, address: str) -> None:
    raw = _msg(body="x" * 70_000 + "\r\n") + "caf\xe9 \u2603\r\n".encode()
    with _session(intake) as conn:
        assert conn.sendmail(SENDER, [address], raw) == {}
    assert Analysis.objects.get().raw_bytes == raw


def test_recipients_of_two_accounts_get_a_delivery_each(
    intake: Any, address: str, bob: Any
) -> None:
    bobs = services.intake_address_get_or_create(user=bob).address
    with _session(intake) as conn:
        assert conn.sendmail("", [address, bobs], _msg()) == {}
    deliveries = {d.owner.username: d for d in Delivery.objects.all()}
    assert deliveries["alice"].rcpt_to == [f"<{address}>"]
    assert deliveries["bob"].rcpt_to == [f"<{bobs}>"]
    assert deliveries["alice"].other_recipients == deliveries["bob"].other_recipients == 1
    assert deliveries["alice"].mail_from == "<>"
    assert Analysis.objects.filter(owner=bob).count() == 1


def test_the_greeting_and_ehlo_name_the_intake_domain(intake: Any) -> None:
    with smtplib.SMTP("127.0.0.1", intake.port, timeout=10) as conn:
        code, text = conn.ehlo("client.example")
        assert code == 250 and text.startswith(b"intake.localhost")
        assert conn.has_extn("size") and conn.has_extn("8bitmime")
        assert not conn.has_extn("auth")  # no AUTH over plain text


def test_a_slow_but_steady_sender_outlasts_the_idle_timeout_and_a_stalled_one_is_dropped(
    address: str,
) -> None:
    # The idle timeout restarts as DATA lines arrive (at most once a second), so only
    # silence ends the session; what a stalled client sent is not kept.
    raw = _msg("steady", "".join(f"line {n}\r\n" for n in range(8)))
    with running_intake(inline_analysis=True, limits=_limits(timeout=2.0)) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            reader = sock.makefile("rb")
            assert reader.readline().startswith(b"220")
            for command in (b"EHLO client.example", f"MAIL FROM:<{SENDER}>".encode(),
                            f"RCPT TO:<{address}>".encode(), b"DATA"):  # fmt: skip
                sock.sendall(command + b"\r\n")
                while (line := reader.readline())[3:4] == b"-":
                    pass
                assert line[:1] in (b"2", b"3"), line
            started = time.monotonic()
            for chunk in raw.splitlines(keepends=True):
                sock.sendall(chunk)
                time.sleep(0.35)
            sock.sendall(b".\r\n")
            assert reader.readline().startswith(b"250 2.0.0 OK: stored as ")
            assert time.monotonic() - started > 3.0  # longer than the timeout, all in all

            sock.sendall(f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{address}>\r\nDATA\r\n".encode())
            for _ in range(3):
                reader.readline()
            sock.sendall(b"Subject: stalled\r\n\r\nhalf a message")
            stalled = time.monotonic()
            assert reader.readline() == (  # the connection is closed on it, saying why
                b"421 4.4.2 intake.localhost No mail command or message data for 2 seconds "
                b"(NOOP, RSET, HELP, VRFY and EHLO do not count); closing the connection. "
                b"Connect again when there is mail to send\r\n"
            )
            assert reader.readline() == b""
            assert 1.5 < time.monotonic() - stalled < 6.0  # after about 2 s of silence
        _wait_closed(server)
    assert [a.raw_bytes for a in Analysis.objects.all()] == [raw]


def test_stopping_tells_an_idle_session_421_and_closes_it(address: str) -> None:
    # Since Python 3.12 the server's wait_closed() waits for every open session: an idle
    # client (an MTA caching its connection) held a shutdown until its timeout.
    server_cm = running_intake(inline_analysis=True, limits=_limits(timeout=300.0))
    server = server_cm.__enter__()
    try:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        reader = sock.makefile("rb")
        assert reader.readline().startswith(b"220")
        sock.sendall(b"EHLO client.example\r\n")
        while (line := reader.readline())[3:4] == b"-":
            pass
        assert line.startswith(b"250 ")
    finally:
        server_cm.__exit__(None, None, None)  # stops the server, the session still open
    assert reader.readline() == b"421 4.3.2 Service shutting down; try again later\r\n"
    assert reader.readline() == b""  # and the connection is closed
    sock.close()
