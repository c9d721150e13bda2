"""``manage.py run_intake`` as an operator runs it: a process that listens, stores, analyses,
and stops cleanly on SIGTERM (what ``make run`` sends it on Ctrl-C)."""

from __future__ import annotations

import os
import re
import signal
import smtplib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


@pytest.mark.slow
def test_run_intake_serves_smtp_and_stops_on_sigterm(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DATABASE_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{db}",
        DJANGO_DEBUG="1",
        PYTHONUNBUFFERED="1",
        DKIM2WEB_INTAKE_REPLY_POLL_SECONDS="1",
    )
    _manage(env, "migrate", "--noinput")
    _manage(env, "createsuperuser", "--noinput", "--username", "op", "--email", "op@x.example")
    address = _manage(env, "intake_address", "op").strip()

    proc = subprocess.Popen(
        [sys.executable, "manage.py", "run_intake", "--host", "127.0.0.1", "--port", "0"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        match = re.search(r"SMTP on 127\.0\.0\.1:(\d+)", banner)
        assert match, banner
        raw = b"From: someone@origin.example\r\nSubject: via the command\r\n\r\nhello\r\n"
        with smtplib.SMTP("127.0.0.1", int(match.group(1)), timeout=30) as conn:
            assert conn.sendmail("someone@origin.example", [address], raw) == {}
            conn.mail("x@origin.example")
            conn.rset()
            assert conn.rcpt("nobody@elsewhere.example")[0] == 503  # no MAIL after RSET
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, output
    assert "intake stopped" in output

    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT status, envelope_source, raw_message FROM reports_analysis"
        ).fetchall()
        delivery = conn.execute("SELECT mail_from, client_ip FROM intake_delivery").fetchone()
    assert rows == [("done", "smtp", raw)]
    assert delivery == ("<someone@origin.example>", "127.0.0.1")
