"""``manage.py analyze FILE`` stores the message, runs it now and prints the verdict."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from dkim2web.reports import services
from dkim2web.reports.models import Analysis


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> list[Analysis]:
    calls: list[Analysis] = []

    def engine(analysis: Analysis, *, lookup: Any = None) -> services.EngineOutcome:
        calls.append(analysis)
        return services.EngineOutcome("fail", {"result": "fail"}, "9.9", "test-00")

    monkeypatch.setattr(services, "_run_engine", engine)
    return calls


@pytest.mark.django_db
def test_it_prints_the_verdict(
    tmp_path: Path, fake_engine: list[Analysis], capsys: pytest.CaptureFixture[str]
) -> None:
    message = tmp_path / "m.eml"
    message.write_bytes(b"Subject: x\r\n\r\nbody\r\n")
    call_command(
        "analyze",
        str(message),
        "--mail-from",
        "a@x.example",
        "--rcpt-to",
        "b@y.example",
        "--rcpt-to",
        "c@y.example",
    )
    assert capsys.readouterr().out.strip() == "fail"
    (analysis,) = fake_engine
    assert analysis.filename == "m.eml"
    assert analysis.mail_from == "a@x.example"
    assert analysis.rcpt_to == ["b@y.example", "c@y.example"]
    assert analysis.envelope_source == Analysis.EnvelopeSource.USER


@pytest.mark.django_db
def test_json_prints_the_report(
    tmp_path: Path, fake_engine: list[Analysis], capsys: pytest.CaptureFixture[str]
) -> None:
    message = tmp_path / "m.eml"
    message.write_bytes(b"Subject: x\r\n\r\n")
    call_command("analyze", str(message), "--json")
    assert json.loads(capsys.readouterr().out) == {"result": "fail"}


@pytest.mark.django_db
def test_a_missing_file_is_a_command_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot read"):
        call_command("analyze", str(tmp_path / "nope.eml"))
