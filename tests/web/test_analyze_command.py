"""``manage.py analyze FILE`` runs the message now and prints the verdict; ``--store`` also
keeps it as an analysis. (Without --store it opens no database: test_analyze_fresh_checkout.py
runs it in a clean environment.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from dkim2web.reports import services
from dkim2web.reports.models import Analysis

REPORT = {"schema_version": 2, "result": "fail", "summary": "Not trusted: DMARC fails."}


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> list[Analysis]:
    calls: list[Analysis] = []

    def engine(
        analysis: Analysis, *, lookup: Any = None, now: float | None = None
    ) -> services.EngineOutcome:
        calls.append(analysis)
        return services.EngineOutcome("fail", REPORT, "9.9", "test-00")

    monkeypatch.setattr(services, "_run_engine", engine)
    return calls


ENVELOPE = ("--mail-from", "a@x.example", "--rcpt-to", "b@y.example", "--rcpt-to", "c@y.example")


def test_it_prints_the_verdict_and_stores_nothing(
    tmp_path: Path, fake_engine: list[Analysis], capsys: pytest.CaptureFixture[str]
) -> None:
    # No django_db mark: any query would fail the test.
    message = tmp_path / "m.eml"
    message.write_bytes(b"Subject: x\r\n\r\nbody\r\n")
    call_command("analyze", str(message), *ENVELOPE)
    out, err = capsys.readouterr()
    assert out == "fail: Not trusted: DMARC fails.\n"
    assert err == "not stored (9.9, test-00, revision auto); --store keeps it as an analysis\n"
    (analysis,) = fake_engine
    assert analysis.pk is not None and analysis._state.adding  # an instance never saved
    assert analysis.raw_bytes == b"Subject: x\r\n\r\nbody\r\n"
    assert analysis.mail_from == "a@x.example"
    assert analysis.rcpt_to == ["b@y.example", "c@y.example"]
    assert analysis.envelope_source == Analysis.EnvelopeSource.USER


@pytest.mark.django_db
def test_store_keeps_it_as_an_analysis(
    tmp_path: Path, fake_engine: list[Analysis], capsys: pytest.CaptureFixture[str]
) -> None:
    message = tmp_path / "m.eml"
    message.write_bytes(b"Subject: x\r\n\r\nbody\r\n")
    call_command("analyze", str(message), *ENVELOPE, "--store")
    out, err = capsys.readouterr()
    assert out == "fail: Not trusted: DMARC fails.\n"
    analysis = Analysis.objects.get()
    assert err == f"analysis {analysis.pk} (9.9, test-00, revision auto)\n"
    assert (analysis.filename, analysis.header_subject) == ("m.eml", "x")
    assert analysis.mail_from == "a@x.example"
    assert analysis.rcpt_to == ["b@y.example", "c@y.example"]
    assert analysis.envelope_source == Analysis.EnvelopeSource.USER
    assert analysis.runs.get().result == "fail"


@pytest.mark.django_db(transaction=True)
def test_store_on_a_database_without_the_table_says_to_migrate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import connection

    message = tmp_path / "m.eml"
    message.write_bytes(b"Subject: x\r\n\r\n")
    monkeypatch.setattr(connection.introspection, "table_names", lambda *a, **k: [])
    with pytest.raises(CommandError) as raised:
        call_command("analyze", str(message), "--store")
    assert str(raised.value) == (
        "--store keeps the analysis in the database, which has no table for it yet: run "
        "`python manage.py migrate` first, or leave --store out"
    )
    assert not Analysis.objects.exists()


@pytest.mark.parametrize("store", [[], ["--store"]])
@pytest.mark.django_db
def test_json_prints_the_report(
    tmp_path: Path,
    fake_engine: list[Analysis],
    capsys: pytest.CaptureFixture[str],
    store: list[str],
) -> None:
    message = tmp_path / "m.eml"
    message.write_bytes(b"Subject: x\r\n\r\n")
    call_command("analyze", str(message), "--json", *store)
    assert json.loads(capsys.readouterr().out) == REPORT
    assert Analysis.objects.count() == len(store)


def test_an_engine_failure_is_a_command_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def engine(analysis: Analysis, **kwargs: Any) -> services.EngineOutcome:
        raise ValueError("broken")

    monkeypatch.setattr(services, "_run_engine", engine)
    (tmp_path / "m.eml").write_bytes(b"Subject: x\r\n\r\n")
    with pytest.raises(CommandError) as raised:
        call_command("analyze", str(tmp_path / "m.eml"))
    assert str(raised.value) == "the analysis failed: ValueError: broken"


def test_a_missing_file_is_a_command_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot read"):
        call_command("analyze", str(tmp_path / "nope.eml"))


@pytest.mark.django_db
def test_the_envelope_options_play_the_smtp_session_and_authres_prints_every_method(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real engine, offline: --dns-json answers every question, --client-ip/--helo/
    --mail-from are the session SPF judges, --authres prints the field (RFC 8601)."""
    from tests.support.mailauth import NOW, dkim1_sign, message, publish, rsa_key

    key = rsa_key("cli")
    signed = dkim1_sign(message(), key, domain="example.com", selector="dk1")
    zone = publish({}, "example.com", "dk1", key)
    zone["example.com"]["@"] = [["txt", "v=spf1 ip4:192.0.2.25 -all"]]
    zone["example.com"]["_dmarc"] = [["txt", "v=DMARC1; p=reject"]]
    (tmp_path / "m.eml").write_bytes(signed)
    (tmp_path / "dns.json").write_text(json.dumps(zone))
    call_command(
        "analyze",
        str(tmp_path / "m.eml"),
        "--dns-json",
        str(tmp_path / "dns.json"),
        "--client-ip",
        "192.0.2.25",
        "--helo",
        "mail.example.com",
        "--mail-from",
        "<bounce@example.com>",
        "--rcpt-to",
        "<bob@example.net>",
        "--now",
        str(NOW),
        "--authres",
        "--authserv-id",
        "mx.example.net",
        "--store",
    )
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "Authentication-Results: mx.example.net;",
        "  spf=pass smtp.mailfrom=bounce@example.com;",
        "  dkim=pass header.d=example.com header.i=@example.com",
        f"   header.s=dk1 header.b={_b_prefix(signed)};",
        "  arc=none;",
        "  dmarc=pass (p=reject) header.from=example.com;",
        "  dkim2=none",
    ]
    analysis = Analysis.objects.get()
    assert (analysis.client_ip, analysis.helo, analysis.envelope_source) == (
        "192.0.2.25",
        "mail.example.com",
        Analysis.EnvelopeSource.USER,
    )
    spf = analysis.runs.get().document["spf"]
    assert (spf["source"], spf["ip"], spf["result"]) == ("given", "192.0.2.25", "pass")


def _b_prefix(raw: bytes) -> str:
    value = raw.split(b"\r\n\r\n", 1)[0].decode()
    b = "".join(value.split("b=")[-1].split(";")[0].split())
    # RFC 2045 tspecials (RFC 8601 §2.2) need quoting; "+" is a token character.
    return b[:8] if all(c not in "/=" for c in b[:8]) else f'"{b[:8]}"'


def test_without_a_client_ip_spf_reads_the_message_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "m.eml").write_bytes(b"From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n")
    (tmp_path / "dns.json").write_text("{}")
    call_command("analyze", str(tmp_path / "m.eml"), "--dns-json", str(tmp_path / "dns.json"))
    assert capsys.readouterr().out.strip() == (
        "none: No authentication at all: the message carries no DKIM1, DKIM2 or ARC signature, "
        "and neither SPF nor DMARC could vouch for example.com; if it is genuine, the mail "
        "administrator of example.com should set up DKIM, SPF and DMARC."
    )


def test_an_unreadable_zone_is_a_command_error(tmp_path: Path) -> None:
    (tmp_path / "m.eml").write_bytes(b"From: a@example.com\r\n\r\nbody\r\n")
    (tmp_path / "dns.json").write_text("[not a zone")
    with pytest.raises(CommandError, match=r"cannot use .*dns.json as a zone"):
        call_command("analyze", str(tmp_path / "m.eml"), "--dns-json", str(tmp_path / "dns.json"))
