"""The dkim2 command: output, exit codes, batch use, history, sign, keygen."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.cli import main
from analysis.dkim2.keys import parse_key_record

T1 = 1790000000


@pytest.fixture(scope="module")
def we(shared_dir: Path) -> Path:
    return shared_dir / "vectors" / "worked-example"


@pytest.fixture(scope="module")
def zone_file(we: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    zone: dict[str, dict[str, list[list[str]]]] = {}
    for line in (we / "dns-records.txt").read_text().splitlines():
        m = re.match(r'(\S+)\._domainkey\.(\S+)\. IN TXT "(.*)"$', line)
        assert m
        zone.setdefault(m.group(2), {})[f"{m.group(1)}._domainkey"] = [["txt", m.group(3)]]
    path = tmp_path_factory.mktemp("zone") / "dns.json"
    path.write_text(json.dumps(zone))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_verify_json_one_object_per_file_in_order(
    capsys: pytest.CaptureFixture[str], we: Path, zone_file: Path
) -> None:
    files = [we / "hop2-list-final.eml", we / "hop1-originator.eml"]
    code, out, _ = run(
        capsys,
        "verify",
        *map(str, files),
        "--dns-json",
        str(zone_file),
        "--now",
        str(T1 + 200),
        "--json",
        "--mail-from",
        "list-bounces@lists.example.org",
        "--rcpt-to",
        "<bob@example.net>",
        "--revision",
        "06",
    )
    lines = out.splitlines()
    assert len(lines) == 2
    first, second = (json.loads(x) for x in lines)
    assert first["file"] == str(files[0]) and second["file"] == str(files[1])
    assert first["result"] == "pass"
    assert [h["result"] for h in first["hops"]] == ["pass", "pass"]
    assert [i["m"] for i in first["instances"]] == [1, 2]
    assert first["schema_version"] == 1 and first["draft"] == "draft-ietf-dkim-dkim2-spec-06"
    assert (first["revision"], first["revision_mode"]) == ("06", "fixed")
    # hop1 was signed for another envelope: the newest signature's mf= does not match
    assert second["result"] == "permerror"
    assert code == 2  # the highest per-file status


@pytest.mark.parametrize(
    ("now", "envelope", "exit_code"),
    [
        (
            T1 + 200,
            ["--mail-from", "<list-bounces@lists.example.org>", "--rcpt-to", "bob@example.net"],
            0,
        ),
        (T1 + 200, ["--mail-from", "<x@example.org>", "--rcpt-to", "bob@example.net"], 2),
        (T1 + 15 * 86400, [], 2),
        (0, [], 0),
    ],
)
def test_verify_exit_status_follows_the_verdict(
    capsys: pytest.CaptureFixture[str],
    we: Path,
    zone_file: Path,
    now: int,
    envelope: list[str],
    exit_code: int,
) -> None:
    code, out, _ = run(
        capsys,
        "verify",
        str(we / "hop2-list-final.eml"),
        "--dns-json",
        str(zone_file),
        "--now",
        str(now),
        *envelope,
        "--revision",
        "06",
    )
    assert code == exit_code
    assert out.startswith(f"== {we / 'hop2-list-final.eml'}\n")


def test_verify_exit_1_on_fail_and_4_on_none(
    capsys: pytest.CaptureFixture[str], we: Path, zone_file: Path, tmp_path: Path
) -> None:
    tampered = tmp_path / "t.eml"
    tampered.write_bytes((we / "hop2-list-final.eml").read_bytes().replace(b"footer", b"fooTer"))
    code, out, _ = run(capsys, "verify", str(tampered), "--dns-json", str(zone_file), "--now", "0")
    assert code == 1
    assert "FAIL: Message Instance m=2 body hash sha256 mismatch" in out
    plain = tmp_path / "plain.eml"
    plain.write_bytes(b"From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n")
    code, out, _ = run(capsys, "verify", str(plain), "--dns-json", str(zone_file), "-q")
    assert code == 4
    assert out == f"{plain}: None: the message carries no DKIM2 signature\n"


def test_verify_text_report_explains_failures(
    capsys: pytest.CaptureFixture[str], we: Path, zone_file: Path
) -> None:
    code, out, _ = run(
        capsys,
        "verify",
        str(we / "hop2-list-final.eml"),
        "--dns-json",
        str(zone_file),
        "--now",
        str(T1 + 200),
        "--mail-from",
        "<list-bounces@lists.example.org>",
        "--rcpt-to",
        "<carol@example.net>",
        "--revision",
        "06",
    )
    assert code == 2
    assert "PERMERROR: DKIM2-Signature i=2 RCPT TO <carol@example.net> did not match" in out
    assert "   Rules: -06 (draft-ietf-dkim-dkim2-spec-06; chosen with --revision)\n" in out
    assert "      fix: " in out
    assert "-- hop i=2 m=2 d=lists.example.org: PERMERROR" in out


def test_verify_auto_judges_by_09_and_names_every_revision(
    capsys: pytest.CaptureFixture[str], we: Path, zone_file: Path
) -> None:
    """The default: -09 rules judge (an envelope mismatch is FAIL from -08, Stalwart 0.15);
    the text names the rules and lists the verdict under each revision and what splits them."""
    code, out, _ = run(
        capsys,
        "verify",
        str(we / "hop2-list-final.eml"),
        "--dns-json",
        str(zone_file),
        "--now",
        str(T1 + 200),
        "--mail-from",
        "<list-bounces@lists.example.org>",
        "--rcpt-to",
        "<carol@example.net>",
    )
    assert code == 1
    assert "FAIL: DKIM2-Signature i=2 RCPT TO <carol@example.net> did not match" in out
    assert (
        "   Rules: -09 (draft-ietf-dkim-dkim2-spec-09; auto: the newest revision, the older "
        "ones compared below; second-hand rules (draft text not public))\n"
    ) in out
    assert "   -06: permerror  -07: permerror  -08: fail  -09: fail\n" in out
    assert (
        "   Under -07 rules the chain's verdict is permerror; under -08 rules it is fail: the "
        "rule that splits them is whether a custody, envelope, timestamp or From-Authentic "
        "failure is FAIL or PERMERROR.\n"
    ) in out


def test_verify_json_auto_carries_every_revision(
    capsys: pytest.CaptureFixture[str], we: Path, zone_file: Path
) -> None:
    code, out, _ = run(
        capsys,
        "verify",
        str(we / "hop2-list-final.eml"),
        "--dns-json",
        str(zone_file),
        "--now",
        str(T1 + 200),
        "--json",
        "--mail-from",
        "<list-bounces@lists.example.org>",
        "--rcpt-to",
        "<bob@example.net>",
    )
    data = json.loads(out)
    assert code == 0
    assert (data["result"], data["revision"], data["revision_mode"], data["level"]) == (
        "pass",
        "09",
        "auto",
        "fully-verified",
    )
    assert data["draft"] == "draft-ietf-dkim-dkim2-spec-09"
    assert [(r["revision"], r["result"]) for r in data["revisions"]] == [
        ("06", "pass"),
        ("07", "pass"),
        ("08", "pass"),
        ("09", "pass"),
    ]
    assert data["splits"] == []
    assert [f["sentence"] for f in data["fingerprints"]] == [
        "example.com (hop 1) verifies under every revision (-06 to -09).",
        "lists.example.org (hop 2) verifies under every revision (-06 to -09).",
    ]


def test_usage_errors_are_64_and_unreadable_input_66(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["verify"])
    assert exc.value.code == 64
    with pytest.raises(SystemExit) as exc:
        main(["verify", "x.eml", "--now", "soon"])
    assert exc.value.code == 64
    code, _, err = run(
        capsys, "verify", str(tmp_path / "missing.eml"), "--dns-json", str(tmp_path / "none.json")
    )
    assert code == 64 and "cannot use" in err
    (tmp_path / "z.json").write_text("{}")
    code, _, err = run(
        capsys, "verify", str(tmp_path / "missing.eml"), "--dns-json", str(tmp_path / "z.json")
    )
    assert code == 66 and "cannot read" in err


def test_history_writes_each_instance(
    capsys: pytest.CaptureFixture[str], we: Path, tmp_path: Path
) -> None:
    code, out, _ = run(capsys, "history", str(we / "hop2-list-final.eml"), "--out", str(tmp_path))
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m1.eml", "m2.eml"]
    m1 = (tmp_path / "m1.eml").read_bytes()
    hop1 = (we / "hop1-originator.eml").read_bytes()
    assert m1.endswith(b"\r\n\r\nHi all,\r\n\r\nThis is a test.\r\n")
    assert b"Subject: Hello   list\r\n" in m1 and b"List-Id" not in m1
    assert m1.split(b"\r\n\r\n", 1)[1] == hop1.split(b"\r\n\r\n", 1)[1]
    assert "m=1 -> m=2" in out and "changed: Subject: 'Hello   list' -> '[list] Hello list'" in out


def test_sign_then_verify_round_trip(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    key = tmp_path / "k.pem"
    code, out, _ = run(
        capsys,
        "keygen",
        "--type",
        "ed25519",
        "--selector",
        "s1",
        "--domain",
        "sender.example",
        "--out",
        str(key),
    )
    assert code == 0
    m = re.fullmatch(r's1\._domainkey\.sender\.example\. IN TXT "(.*)"\n', out)
    assert m
    assert parse_key_record(m.group(1)).key_type == "ed25519"
    zone = tmp_path / "dns.json"
    zone.write_text(json.dumps({"sender.example": {"s1._domainkey": [["txt", m.group(1)]]}}))
    msg = tmp_path / "m.eml"
    msg.write_bytes(b"From: a@sender.example\nTo: b@rcpt.example\nSubject: hi\n\nhello\n")
    signed = tmp_path / "signed.eml"
    code, _, err = run(
        capsys,
        "sign",
        str(msg),
        "-d",
        "sender.example",
        "-k",
        f"s1:{key}",
        "--mail-from",
        "a@sender.example",
        "--rcpt-to",
        "b@rcpt.example",
        "--timestamp",
        str(T1),
        "-o",
        str(signed),
    )
    assert code == 0 and "signed as originator, i=1 m=1" in err
    code, out, _ = run(
        capsys,
        "verify",
        str(signed),
        "--dns-json",
        str(zone),
        "--now",
        str(T1 + 5),
        "--mail-from",
        "<a@sender.example>",
        "--rcpt-to",
        "<b@rcpt.example>",
        "-q",
    )
    assert code == 0, out
    assert out.endswith(": Pass: 1 hop verified\n")


def _keygen(capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str, selector: str) -> str:
    """Make a key (written to <selector>.pem) and return its TXT record, strings joined."""
    code, out, _ = run(
        capsys,
        "keygen",
        "--type",
        kind,
        "--selector",
        selector,
        "--domain",
        "sender.example",
        "--out",
        str(tmp_path / f"{selector}.pem"),
    )
    assert code == 0
    return "".join(re.findall(r'"([^"]*)"', out))


def test_sign_with_groups_and_mldsa44_then_verify(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """-09 signing (the default): '|' between key groups and hash groups, ML-DSA-44 in its
    own group; an -06 signer refuses the groups."""
    records = {
        "ed": _keygen(capsys, tmp_path, "ed25519", "ed"),
        "rsa": _keygen(capsys, tmp_path, "rsa", "rsa"),
        "pq": _keygen(capsys, tmp_path, "mldsa44", "pq"),
    }
    zone = tmp_path / "dns.json"
    zone.write_text(
        json.dumps(
            {"sender.example": {f"{s}._domainkey": [["txt", r]] for s, r in records.items()}}
        )
    )
    msg = tmp_path / "m.eml"
    msg.write_bytes(b"From: a@sender.example\nTo: b@rcpt.example\nSubject: hi\n\nhello\n")
    signed = tmp_path / "signed.eml"
    keys = f"ed:{tmp_path / 'ed.pem'},rsa:{tmp_path / 'rsa.pem'}|pq:{tmp_path / 'pq.pem'}"
    args = [
        "sign",
        str(msg),
        "-d",
        "sender.example",
        "-k",
        keys,
        "--hash",
        "sha256|sha512",
        "--mail-from",
        "a@sender.example",
        "--rcpt-to",
        "b@rcpt.example",
        "--timestamp",
        str(T1),
        "-o",
        str(signed),
    ]
    code, _, err = run(capsys, *args)
    assert code == 0 and "signed as originator, i=1 m=1 (-09 rules)" in err, err
    text = signed.read_bytes()
    assert re.search(rb"s=ed:ed25519-sha256:[^;]*,\s*rsa:rsa-sha256:[^;]*\|pq:mldsa44:", text)
    assert re.search(rb"h=sha256:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+\|sha512:", text)
    code, out, _ = run(
        capsys,
        "verify",
        str(signed),
        "--dns-json",
        str(zone),
        "--now",
        str(T1 + 5),
        "--mail-from",
        "<a@sender.example>",
        "--rcpt-to",
        "<b@rcpt.example>",
        "--json",
    )
    data = json.loads(out)
    assert (code, data["result"], data["revision"]) == (0, "pass", "09")
    assert [(s["selector"], s["group"], s["result"]) for s in data["hops"][0]["selectors"]] == [
        ("ed", 1, "pass"),
        ("rsa", 1, "pass"),
        ("pq", 2, "pass"),
    ]
    assert [(r["revision"], r["result"]) for r in data["revisions"]] == [
        ("06", "permerror"),
        ("07", "permerror"),
        ("08", "pass"),
        ("09", "pass"),
    ]
    code, _, err = run(capsys, *args, "--revision", "06")
    assert code == 64
    assert err == (
        "dkim2: cannot sign: signature and hash groups ('|') exist from -08; -06 has one group\n"
    )


def test_console_script_entry_point_runs_as_a_process(we: Path, zone_file: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis.cli",
            "verify",
            str(we / "hop1-originator.eml"),
            "--dns-json",
            str(zone_file),
            "--now",
            "0",
            "--json",
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["result"] == "pass"
