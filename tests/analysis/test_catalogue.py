"""The explanation catalogue covers every finding code and renders it for a reader.

The codes are collected from the engine's source, not from a list kept by hand, so a new
``Finding`` without an entry fails here (STYLE.md: "a test proves every code has an entry").
"""

from __future__ import annotations

import ast
import json
import re
import string
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from analysis.catalogue import (
    CATALOGUE,
    ENTRIES,
    RESPONSIBLE,
    SEVERITY_HINTS,
    Explanation,
    codes,
    explain,
)
from analysis.dkim2 import Envelope, Options, analyze
from analysis.findings import Finding, Severity, State, Step, note
from analysis.resolvers import StaticResolver

ENGINE = Path(__file__).resolve().parents[2] / "analysis"

FAMILIES = (
    "mi|sig|key|hash|custody|envelope|message|limits|draft|recipe|request|replay|dsn"
    "|dkim1|arc|spf|dmarc|receivers|verdict"
)
CODE_LITERAL = re.compile(rf'"((?:{FAMILIES})\.[a-z0-9-]+)"')
CODE_SHAPE = re.compile(rf"(?:{FAMILIES})\.[a-z0-9]+(?:-[a-z0-9]+)*\Z")

#: Entries for codes the engine does not produce yet, each with the reason.
#: (replay.duplicate was the first; the engine now makes it in verify.duplicate_finding.)
NOT_YET_PRODUCED: dict[str, str] = {}

#: Functions whose first argument (or code=) is a finding code.
CODE_TAKERS = {"Finding", "note", "FieldProblem"}
VERDICT_STATES = {"FAIL", "PERMERROR", "TEMPERROR"}

PLACEHOLDERS = {"hop", "instance", "detail", "message"}
EXPLAIN_KEYS = {
    "code",
    "catalogued",
    "title",
    "checked",
    "found",
    "likely_causes",
    "fix",
    "responsible",
    "spec",
    "severity_hint",
    "standing",
}


def _engine_sources() -> dict[str, str]:
    return {
        str(p.relative_to(ENGINE)): p.read_text(encoding="utf-8")
        for p in sorted(ENGINE.rglob("*.py"))
        if p.name != "catalogue.py" and p.parent.name != "explanations"
    }


def _engine_codes() -> set[str]:
    found: set[str] = set()
    for text in _engine_sources().values():
        found.update(CODE_LITERAL.findall(text))
    return found


def _code_calls() -> list[tuple[str, int, str, ast.expr, ast.expr | None]]:
    """(file, line, callee, code argument, state argument) of every Finding/note/FieldProblem."""
    out = []
    for name, text in _engine_sources().items():
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.Call):
                continue
            callee = node.func.id if isinstance(node.func, ast.Name) else None
            if callee not in CODE_TAKERS:
                continue
            kw = {k.arg: k.value for k in node.keywords}
            code = node.args[0] if node.args else kw.get("code")
            state = node.args[1] if len(node.args) > 1 else kw.get("state")
            if code is not None:
                out.append((name, node.lineno, callee, code, state))
    return out


# -- coverage ---------------------------------------------------------------------------------


def test_the_scan_finds_the_engine_codes() -> None:
    found = _engine_codes()
    # A sanity floor: the scan itself must work (one code of each main family).
    for code in (
        "sig.incorrect",
        "hash.body-mismatch",
        "key.not-found",
        "custody.chain-link",
        "mi.invalid-json",
        "message.lf-line-ends",
        "draft.clayton-json",
    ):
        assert code in found
    assert len(found) >= 60


def test_every_code_the_engine_produces_has_an_entry() -> None:
    missing = sorted(_engine_codes() - set(CATALOGUE))
    assert not missing, f"codes without a catalogue entry: {missing}"


def test_every_literal_code_in_a_finding_call_has_an_entry() -> None:
    """Catches a code whose family the regex above does not know yet."""
    problems = []
    for name, line, callee, code, _ in _code_calls():
        if isinstance(code, ast.Constant) and isinstance(code.value, str):
            if code.value not in CATALOGUE:
                problems.append(f"{name}:{line} {callee}({code.value!r})")
            if not CODE_SHAPE.match(code.value):
                problems.append(f"{name}:{line} {code.value!r} is not family.name")
        elif isinstance(code, ast.JoinedStr):
            # f"{prefix}.syntax": the constant tail must end some catalogued code.
            tail = "".join(
                v.value
                for v in code.values
                if isinstance(v, ast.Constant) and isinstance(v.value, str)
            )
            if not any(c.endswith(tail) for c in CATALOGUE):
                problems.append(f"{name}:{line} {callee}(f'...{tail}') has no entry")
    assert not problems


def test_no_entry_is_orphaned() -> None:
    orphans = sorted(set(CATALOGUE) - _engine_codes() - set(NOT_YET_PRODUCED))
    assert not orphans, f"entries for codes the engine never produces: {orphans}"


def test_the_allow_list_is_not_stale() -> None:
    produced = sorted(set(NOT_YET_PRODUCED) & _engine_codes())
    assert not produced, f"now produced by the engine, drop from NOT_YET_PRODUCED: {produced}"
    assert set(NOT_YET_PRODUCED) <= set(CATALOGUE)


def test_verdict_changing_codes_are_hinted_as_errors() -> None:
    """A code the engine emits with FAIL/PERMERROR/TEMPERROR must not be hinted as a note,
    unless the same code is also emitted as a note (recipe.null-body, by option)."""
    as_note = {
        code.value
        for _, _, callee, code, _ in _code_calls()
        if callee == "note" and isinstance(code, ast.Constant)
    }
    wrong = []
    for name, line, callee, code, state in _code_calls():
        if callee != "Finding" or not isinstance(code, ast.Constant):
            continue
        if not isinstance(code.value, str):
            continue
        if not (isinstance(state, ast.Attribute) and state.attr in VERDICT_STATES):
            continue
        if code.value in as_note:
            continue
        entry = CATALOGUE.get(code.value)
        if entry is not None and entry.severity_hint != "error":
            wrong.append(f"{name}:{line} {code.value}")
    assert not wrong


def test_codes_and_catalogue_agree() -> None:
    assert codes() == frozenset(CATALOGUE)
    assert len(ENTRIES) == len(CATALOGUE), "an entry is listed twice"
    assert all(CATALOGUE[e.code] is e for e in ENTRIES)


# -- every entry is complete --------------------------------------------------------------------


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.code)
def test_entry_is_complete(entry: Explanation) -> None:
    assert CODE_SHAPE.match(entry.code)
    assert entry.title.strip() and len(entry.title) <= 90 and not entry.title.endswith(".")
    assert entry.checked.strip().endswith(".")
    assert entry.fix.strip().endswith(".")
    assert entry.likely_causes, "at least one likely cause"
    assert all(c.strip() and not c.endswith(".") for c in entry.likely_causes)
    assert len(set(entry.likely_causes)) == len(entry.likely_causes)
    assert entry.responsible in RESPONSIBLE
    assert entry.severity_hint in SEVERITY_HINTS
    assert re.match(r"(S0\d|DNS0\d|BCP0\d|RFC \d+|SPEC-NOTES|SPEC-09-NOTES)\b", entry.spec), (
        entry.spec
    )
    # A rule known only second-hand (-07..-09) says so.
    if entry.spec.startswith("SPEC-09-NOTES"):
        assert entry.standing.startswith("Provisional"), entry.code


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.code)
def test_template_uses_only_known_placeholders(entry: Explanation) -> None:
    names = {f for _, f, _, _ in string.Formatter().parse(entry.found_template) if f is not None}
    assert names <= PLACEHOLDERS, names - PLACEHOLDERS


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.code)
@pytest.mark.parametrize("hop,instance", [(None, None), (3, 2)])
def test_template_renders_with_and_without_numbers(
    entry: Explanation, hop: int | None, instance: int | None
) -> None:
    f = Finding(
        entry.code,
        State.FAIL,
        "MSG",
        Step.SYNTAX,
        hop=hop,
        instance=instance,
        detail="some detail.",
    )
    found = explain(f)["found"]
    assert found and found[0].isupper()
    assert "None" not in found and "{" not in found and "}" not in found
    assert ".." not in found
    if hop is not None and "{hop}" in entry.found_template:
        assert "hop i=3" in found.lower()
    if instance is not None and "{instance}" in entry.found_template:
        assert "instance m=2" in found.lower()


# -- rendering ------------------------------------------------------------------------------


def test_explain_signature_failure() -> None:
    f = Finding(
        "sig.incorrect",
        State.FAIL,
        "FAIL: DKIM2-Signature i=2 sel1 incorrect signature",
        Step.SIGNATURE,
        hop=2,
        detail=(
            "the signature does not verify over the Message-Instance and "
            "DKIM2-Signature fields it covers"
        ),
        spec="S06 §9.6, §11.6",
    )
    out = explain(f)
    assert set(out) == EXPLAIN_KEYS
    assert out["catalogued"] is True
    assert out["title"] == "The signature does not verify"
    assert out["found"] == (
        'The engine reported "FAIL: DKIM2-Signature i=2 sel1 incorrect signature": the '
        "signature does not verify over the Message-Instance and DKIM2-Signature fields it "
        "covers."
    )
    assert out["responsible"] == "signer"
    assert out["spec"] == "S06 §9.6, §11.6"
    assert out["likely_causes"][0].startswith("the DNS record was edited")
    json.dumps(out)  # stored in reports as JSON


def test_explain_body_mismatch_names_instance_and_hop() -> None:
    f = Finding(
        "hash.body-mismatch",
        State.FAIL,
        "FAIL: Message Instance m=2 body hash sha256 mismatch",
        Step.HASH,
        hop=3,
        instance=2,
        detail="computed AAAA, the field says BBBB",
    )
    assert explain(f)["found"] == (
        "The body hash of instance m=2, made at hop i=3, does not match: computed AAAA, the "
        "field says BBBB."
    )
    assert explain(f)["responsible"] == "intermediary"


def test_explain_key_not_found() -> None:
    f = Finding(
        "key.not-found",
        State.PERMERROR,
        "PERMERROR: DKIM2-Signature i=1 public key sel does not exist",
        Step.KEY,
        hop=1,
        detail="sel._domainkey.example.com: the name does not exist (NXDOMAIN)",
    )
    out = explain(f)
    assert out["found"] == (
        "No key was found for hop i=1: sel._domainkey.example.com: the name does not exist "
        "(NXDOMAIN)."
    )
    assert out["responsible"] == "dns"


def test_explain_without_a_hop_number() -> None:
    f = Finding(
        "sig.syntax",
        State.PERMERROR,
        "PERMERROR DKIM2-Signature i=? syntax error",
        Step.SYNTAX,
        hop=None,
        detail="tag d= appears more than once (each tag at most once)",
    )
    assert explain(f)["found"] == (
        "The DKIM2-Signature field of an unidentified hop cannot be parsed: tag d= appears more "
        "than once (each tag at most once)."
    )


def test_a_template_starting_with_a_placeholder_gets_a_capital() -> None:
    f = Finding(
        "custody.chain-link",
        State.PERMERROR,
        "m",
        Step.CHAIN,
        hop=2,
        detail="inter-hop custody: hop 2's MAIL FROM <a@b.example> is not at or below "
        "any RCPT TO domain of hop 1 (c.example)",
    )
    assert explain(f)["found"].startswith("Hop i=2 does not continue the previous hop's delivery")
    g = Finding("mi.not-signed", State.PERMERROR, "m", Step.SYNTAX, instance=None, detail="x")
    assert explain(g)["found"].startswith("An unnumbered instance was added")


def test_detail_full_stop_is_not_doubled_and_empty_detail_is_said() -> None:
    f = note(
        "message.lf-line-ends",
        "m",
        Step.MESSAGE,
        detail="3 LF line ends; DKIM2 hashes the message as sent over SMTP, with CRLF.",
    )
    assert explain(f)["found"].endswith("with CRLF.")
    g = note("limits.too-many-keys", "m", Step.KEY, detail="")
    assert explain(g)["found"] == "Some keys were not fetched: no further detail was recorded."


def test_unknown_code_gets_the_fallback() -> None:
    f = Finding(
        "dsn.not-aligned",
        State.PERMERROR,
        "PERMERROR DSN signer not aligned",
        Step.DRAFT,
        detail="d=bounce.example is not the rt= domain",
        spec="S06 §12.1.2",
        severity=Severity.ERROR,
    )
    out = explain(f)
    assert set(out) == EXPLAIN_KEYS
    assert out["catalogued"] is False
    assert out["code"] == "dsn.not-aligned"
    assert "does not describe" in out["title"]
    assert out["found"] == (
        'The engine reported "PERMERROR DSN signer not aligned": d=bounce.example is not the '
        "rt= domain."
    )
    assert "delivery status notification" in out["checked"]
    assert out["likely_causes"] and out["fix"]
    assert out["responsible"] == "analyser"
    assert out["spec"] == "S06 §12.1.2"
    assert out["severity_hint"] == "error"


@pytest.mark.parametrize(
    "thing",
    [
        Finding("", State.NONE, "", Step.DRAFT),
        Finding("nonsense", State.NONE, "", Step.DRAFT, hop=None, instance=None),
        SimpleNamespace(),
        SimpleNamespace(code=None, hop="x", instance=[], detail=None, message=None),
    ],
)
def test_explain_never_raises(thing: Any) -> None:
    out = explain(thing)
    assert set(out) == EXPLAIN_KEYS
    assert out["catalogued"] is False
    json.dumps(out)


# -- the real engine's findings -----------------------------------------------------------------


def _zone(shared: Path) -> StaticResolver:
    zones = [StaticResolver.from_json_file(p) for p in sorted(shared.rglob("dns.json"))]
    return StaticResolver.merge(*zones)


def test_every_finding_on_the_shared_samples_is_catalogued(shared_dir: Path) -> None:
    zone = _zone(shared_dir)
    seen: set[str] = set()
    uncatalogued: list[str] = []

    def check(report_findings: list[Finding], name: str) -> None:
        for f in report_findings:
            seen.add(f.code)
            out = explain(f)
            if not out["catalogued"]:
                uncatalogued.append(f"{name}: {f.code}")
            assert "None" not in out["found"] and "{" not in out["found"], (name, out["found"])

    cases = json.loads((shared_dir / "mail-auth-vectors" / "cases.json").read_text())
    for case in cases:
        raw = (shared_dir / "mail-auth-vectors" / "expected" / case["file"]).read_bytes()
        envelope = Envelope(case["mail_from"], list(case["rcpt_to"]))
        report = analyze(
            raw,
            lookup=zone,
            envelope=envelope,
            now=case["now"],
            options=Options(compat=not case["strict"]),
        )
        check(report.findings, case["name"])
    for path in sorted(shared_dir.rglob("*.eml")):
        report = analyze(path.read_bytes(), lookup=zone, now=0)
        check(report.findings, str(path.relative_to(shared_dir)))
    assert not uncatalogued
    assert len(seen) >= 5  # the samples do exercise the catalogue
