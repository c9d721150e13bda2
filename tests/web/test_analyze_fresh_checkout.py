"""``python manage.py analyze FILE`` on a fresh checkout: no DJANGO_SECRET_KEY, no migrated
database. It needs neither; everything that serves still refuses to start without the key."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from analysis.message_report import ENGINE_VERSION
from dkim2web import settings as live_settings

REPO = Path(__file__).resolve().parents[2]
MESSAGE = b"From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n"
NO_KEY = (
    "django.core.exceptions.ImproperlyConfigured: DJANGO_SECRET_KEY must be set when "
    "DJANGO_DEBUG is off (make run turns DEBUG on)"
)


def manage(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """manage.py in a clean environment: no secret key, DEBUG off, and a database URL
    naming a SQLite file that does not exist."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'absent.sqlite3'}",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_analyze_runs_without_a_secret_key_or_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "m.eml").write_bytes(MESSAGE)
    (tmp_path / "dns.json").write_text(json.dumps({}))
    args = ["analyze", str(tmp_path / "m.eml"), "--dns-json", str(tmp_path / "dns.json")]
    done = manage(tmp_path, *args)
    # The verdict line is the engine's (the same as in this process, where a database and a
    # key exist); the status line says nothing was stored.
    call_command(*args)
    here = capsys.readouterr()
    assert here.out.startswith("none: No authentication at all: ")
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        here.out,
        f"not stored ({ENGINE_VERSION}, draft-ietf-dkim-dkim2-spec-09, revision auto); "
        "--store keeps it as an analysis\n",
    )
    assert not (tmp_path / "absent.sqlite3").exists()


def test_analyze_json_prints_the_whole_report(tmp_path: Path) -> None:
    (tmp_path / "m.eml").write_bytes(MESSAGE)
    (tmp_path / "dns.json").write_text("{}")
    done = manage(
        tmp_path,
        "analyze",
        str(tmp_path / "m.eml"),
        "--dns-json",
        str(tmp_path / "dns.json"),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["result"], report["message"]["subject"]) == ("none", "x")
    assert not (tmp_path / "absent.sqlite3").exists()


def test_analyze_store_without_a_migrated_database_says_to_migrate(tmp_path: Path) -> None:
    (tmp_path / "m.eml").write_bytes(MESSAGE)
    (tmp_path / "dns.json").write_text("{}")
    done = manage(
        tmp_path,
        "analyze",
        str(tmp_path / "m.eml"),
        "--dns-json",
        str(tmp_path / "dns.json"),
        "--store",
    )
    assert (done.returncode, done.stdout, done.stderr) == (
        1,
        "",
        "CommandError: --store keeps the analysis in the database, which has no table for it "
        "yet: run `python manage.py migrate` first, or leave --store out\n",
    )


def test_a_command_that_serves_still_needs_the_key(tmp_path: Path) -> None:
    done = manage(tmp_path, "check")
    assert done.returncode == 1
    assert done.stderr.rstrip().splitlines()[-1] == NO_KEY


# -- the rule in settings.py ----------------------------------------------------------------


def load_settings(monkeypatch: pytest.MonkeyPatch, argv: list[str], **env: str) -> ModuleType:
    """A fresh copy of the settings module as a process started with ``argv`` (and not
    under pytest) would read it."""
    for name in ("DJANGO_SECRET_KEY", "DJANGO_DEBUG", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delitem(sys.modules, "pytest", raising=False)
    monkeypatch.setattr(sys, "argv", argv)
    spec = importlib.util.spec_from_file_location("keyless_settings", live_settings.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("program", ["manage.py", "/srv/dkim2web/manage.py", "django-admin"])
def test_analyze_gets_a_random_key_of_its_own(
    monkeypatch: pytest.MonkeyPatch, program: str
) -> None:
    first = load_settings(monkeypatch, [program, "analyze", "m.eml"]).SECRET_KEY
    second = load_settings(monkeypatch, [program, "analyze", "m.eml"]).SECRET_KEY
    assert len(first) >= 50 and first != second
    assert "insecure" not in first


@pytest.mark.parametrize(
    "argv",
    [
        ["manage.py", "runserver"],
        ["manage.py", "run_intake"],
        ["manage.py", "migrate"],
        ["manage.py"],
        ["gunicorn", "analyze"],  # only manage.py or django-admin running the command
        ["celery", "-A", "dkim2web", "worker"],
    ],
)
def test_everything_else_still_refuses_to_start_without_a_key(
    monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY must be set"):
        load_settings(monkeypatch, argv)


def test_a_key_given_is_used_by_analyze_too(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = load_settings(monkeypatch, ["manage.py", "analyze", "m"], DJANGO_SECRET_KEY="s3")
    assert loaded.SECRET_KEY == "s3"
