"""The DKIM2 draft revision of an analysis: the one its next run uses, the one each run used.

Model, services, the migration's reading of earlier runs, the upgrade of runs stored before
revisions were recorded, and ``manage.py analyze --revision``.  The message whose verdict
depends on it is revision_chains.auto_submitted_chain: -06 passes it, -09 fails it.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from analysis.dkim2 import REVISION_CHOICES
from analysis.message_report import ENGINE_VERSION
from dkim2web.reports import services
from dkim2web.reports.documents import upgrade_document
from dkim2web.reports.models import Analysis, AnalysisRun, Revision
from tests.web.revision_chains import ENVELOPE, analysed, auto_submitted_chain, run_now

pytestmark = pytest.mark.django_db

S06 = "draft-ietf-dkim-dkim2-spec-06"
S09 = "draft-ietf-dkim-dkim2-spec-09"


def test_the_models_revisions_are_the_engines_choices() -> None:
    assert Revision.values == list(REVISION_CHOICES) == ["auto", "06", "07", "08", "09"]


def test_an_analysis_is_judged_by_auto_unless_told_otherwise() -> None:
    analysis = services.analysis_submit(raw=b"Subject: x\r\n\r\n", enqueue=False)
    assert Analysis.objects.get(pk=analysis.pk).revision == "auto"


@pytest.mark.parametrize(("given", "stored"), [("06", "06"), ("09", "09"), (" AUTO ", "auto")])
def test_submit_stores_the_revision_given(given: str, stored: str) -> None:
    analysis = services.analysis_submit(raw=b"Subject: x\r\n\r\n", revision=given, enqueue=False)
    assert Analysis.objects.get(pk=analysis.pk).revision == stored


@pytest.mark.parametrize("given", ["10", "-06", "6", "", "draft-ietf-dkim-dkim2-spec-06"])
def test_submit_refuses_a_revision_that_is_not_one_and_stores_nothing(given: str) -> None:
    with pytest.raises(ValueError, match="is not a DKIM2 draft revision dkim2web knows; use one"):
        services.analysis_submit(raw=b"Subject: x\r\n\r\n", revision=given, enqueue=False)
    assert not Analysis.objects.exists()


def test_each_run_stores_the_revision_it_judged_by_and_the_draft_of_its_rules() -> None:
    chain = auto_submitted_chain()
    analysis = analysed(chain)
    auto = analysis.runs.get()
    assert (auto.revision, auto.draft, auto.result) == ("auto", S09, "fail")
    chain_report = auto.document["dkim2"]
    assert (chain_report["revision"], chain_report["revision_mode"]) == ("09", "auto")
    assert [o["revision"] for o in chain_report["revisions"]] == ["06", "07", "08", "09"]

    fixed = analysed(chain, revision="06").runs.get()
    assert (fixed.revision, fixed.draft, fixed.result) == ("06", S06, "pass")
    chain_report = fixed.document["dkim2"]
    assert (chain_report["revision"], chain_report["revision_mode"]) == ("06", "fixed")
    assert [o["revision"] for o in chain_report["revisions"]] == ["06"]


def test_a_rerun_under_another_revision_keeps_the_earlier_run() -> None:
    chain = auto_submitted_chain()
    analysis = analysed(chain)
    first = analysis.runs.get()

    assert services.analysis_rerun(analysis=analysis, revision="06")
    assert (analysis.revision, analysis.status) == ("06", "queued")  # the instance follows
    assert Analysis.objects.get(pk=analysis.pk).revision == "06"
    second = run_now(analysis, chain)

    runs = list(AnalysisRun.objects.filter(analysis=analysis).order_by("created_at", "pk"))
    assert [(r.pk, r.revision, r.result) for r in runs] == [
        (first.pk, "auto", "fail"),
        (second.pk, "06", "pass"),
    ]
    # Without a revision, a re-run keeps the analysis's own.
    assert services.analysis_rerun(analysis=analysis)
    assert run_now(analysis, chain).revision == "06"


def test_a_rerun_refused_while_queued_leaves_the_revision_alone() -> None:
    analysis = services.analysis_submit(raw=b"Subject: x\r\n\r\n", enqueue=False)
    assert not services.analysis_rerun(analysis=analysis, revision="06")
    assert Analysis.objects.get(pk=analysis.pk).revision == "auto"
    assert analysis.revision == "auto"


def test_a_rerun_under_a_revision_that_is_not_one_is_refused_before_anything_changes() -> None:
    chain = auto_submitted_chain()
    analysis = analysed(chain)
    with pytest.raises(ValueError, match="'05' is not a DKIM2 draft revision dkim2web knows"):
        services.analysis_rerun(analysis=analysis, revision="05")
    stored = Analysis.objects.get(pk=analysis.pk)
    assert (stored.revision, stored.status) == ("auto", "done")


def test_the_engine_is_asked_for_the_analysiss_revision(monkeypatch: pytest.MonkeyPatch) -> None:
    import analysis.message_report as message_report

    asked: list[object] = []
    real = message_report.analyze_message

    def spy(raw: bytes, **kwargs: Any) -> Any:
        asked.append(kwargs.get("revision"))
        return real(raw, **kwargs)

    monkeypatch.setattr(message_report, "analyze_message", spy)
    chain = auto_submitted_chain()
    analysed(chain, revision="07")
    assert asked == ["07"]


# -- runs stored before revisions were recorded ---------------------------------------------


def old_report(result: str = "pass") -> dict[str, Any]:
    """A schema 2 report as the engine stored it before it judged by revision."""
    return {
        "schema_version": 2,
        "result": result,
        "summary": "x",
        "verdict": {"result": result, "headline": "x", "points": [], "mechanisms": []},
        "dkim2": {
            "result": result,
            "hops": [
                {"i": 1, "d": "example.com", "selectors": [{"selector": "ed1", "result": "pass"}]}
            ],
            "instances": [{"m": 1, "checks": [{"algorithm": "sha256", "part": "header"}]}],
        },
    }


@pytest.mark.parametrize(
    ("result", "level"),
    [("pass", "fully-verified"), ("fail", "not-verified"), ("permerror", "not-verified")],
)
def test_a_run_stored_before_revisions_reads_as_judged_by_06(result: str, level: str) -> None:
    stored = old_report(result)
    document = upgrade_document(stored)
    chain = document["dkim2"]
    assert {k: chain[k] for k in ("revision", "revision_mode", "revision_inferred", "level")} == {
        "revision": "06",
        "revision_mode": "fixed",
        "revision_inferred": True,
        "level": level,
    }
    assert [chain[k] for k in ("revisions", "fingerprints", "splits", "from_checks")] == [[]] * 4
    assert chain["hops"][0]["selectors"][0]["group"] == 0
    assert chain["instances"][0]["checks"][0]["group"] == 0
    assert document["verdict"]["dkim2_revision"] == "06"
    assert stored == old_report(result)  # the stored JSON is read, never rewritten


def test_a_run_without_dkim2_gets_no_judging_revision() -> None:
    stored = {**old_report("none"), "dkim2": {"result": "none", "hops": []}}
    document = upgrade_document(stored)
    assert document["dkim2"]["level"] == "none"
    assert document["verdict"]["dkim2_revision"] is None


def test_a_schema_1_run_is_upgraded_all_the_way() -> None:
    document = upgrade_document({"schema_version": 1, "result": "fail", "hops": []})
    assert (document["upgraded_from"], document["dkim2"]["revision"]) == (1, "06")
    assert document["dkim2"]["level"] == "not-verified"
    assert document["verdict"]["dkim2_revision"] == "06"


def test_a_run_that_listed_every_instances_fields_in_full_reads_as_runs_of_a_table() -> None:
    report = old_report()
    fields = [["From", "a@example.com"], ["Subject", "x"]]
    signature = ["DKIM2-Signature", "i=1; ..."]
    report["dkim2"]["instances"] = [
        {"m": 1, "checks": [], "header_fields": fields, "header_fields_omitted": 3},
        {"m": 2, "checks": [], "header_fields": [signature, "not a pair", ["x"], *fields]},
        {"m": 3, "checks": []},  # an instance whose body was not known, say: left alone
    ]
    stored = json.loads(json.dumps(report))
    chain = upgrade_document(report)["dkim2"]
    assert chain["header_field_table"] == [fields[0], fields[1], signature]
    assert [i.get("header_field_runs") for i in chain["instances"]] == [
        [[0, 2]],
        [[2, 1], [0, 2]],
        None,
    ]
    assert chain["instances"][0]["header_fields_omitted"] == 3
    assert all("header_fields" not in i for i in chain["instances"])
    assert report == stored  # the stored JSON is read, never rewritten


def test_a_current_run_is_served_as_stored() -> None:
    analysis = analysed(auto_submitted_chain())
    run = analysis.runs.get()
    assert upgrade_document(run.report) is run.report


def test_the_migration_reads_each_earlier_runs_revision_from_its_report() -> None:
    from importlib import import_module

    migration = import_module("dkim2web.reports.migrations.0004_dkim2_revision")
    analysis = services.analysis_submit(raw=b"Subject: x\r\n\r\n", enqueue=False)

    def run(report: dict[str, Any]) -> AnalysisRun:
        return AnalysisRun.objects.create(
            analysis=analysis, result="pass", report=report, engine_version="0", draft="d"
        )

    auto = run({"schema_version": 2, "dkim2": {"revision": "09", "revision_mode": "auto"}})
    fixed = run({"schema_version": 2, "dkim2": {"revision": "07", "revision_mode": "fixed"}})
    before = run({"schema_version": 2, "dkim2": {"result": "pass"}})
    schema1 = run({"schema_version": 1, "result": "pass"})
    AnalysisRun.objects.update(revision="06")  # as AddField left them
    migration.runs_from_their_reports(apps, SimpleNamespace(connection=connection))
    assert [AnalysisRun.objects.get(pk=r.pk).revision for r in (auto, fixed, before, schema1)] == [
        "auto",
        "07",
        "06",
        "06",
    ]


# -- manage.py analyze --revision -------------------------------------------------------------


def write_chain(tmp_path: Path) -> list[str]:
    chain = auto_submitted_chain()
    (tmp_path / "m.eml").write_bytes(chain.message)
    (tmp_path / "dns.json").write_text(json.dumps(chain.zone))
    return [
        str(tmp_path / "m.eml"),
        "--dns-json",
        str(tmp_path / "dns.json"),
        "--now",
        str(chain.now),
        "--mail-from",
        ENVELOPE["mail_from"],
        "--rcpt-to",
        ENVELOPE["rcpt_to"][0],
    ]


@pytest.mark.parametrize(
    ("options", "revision", "verdict", "draft"),
    [([], "auto", "fail", S09), (["--revision", "06"], "06", "pass", S06)],
)
def test_analyze_judges_by_the_revision_given(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    revision: str,
    verdict: str,
    draft: str,
) -> None:
    call_command("analyze", *write_chain(tmp_path), *options, "--store")
    out, err = capsys.readouterr()
    assert out.split(":", 1)[0] == verdict
    analysis = Analysis.objects.get()
    assert err.strip() == f"analysis {analysis.pk} ({ENGINE_VERSION}, {draft}, revision {revision})"
    assert (analysis.revision, analysis.runs.get().revision) == (revision, revision)


def test_analyze_refuses_a_revision_that_is_not_one(tmp_path: Path) -> None:
    with pytest.raises(
        CommandError,
        match=r"argument --revision: invalid choice: '10' \(choose from '?auto'?, '?06'?",
    ):
        call_command("analyze", *write_chain(tmp_path), "--revision", "10")
    assert not Analysis.objects.exists()


# -- the intake's answer to the sender ----------------------------------------------------------


@pytest.mark.parametrize(
    ("revision", "lines"),
    [
        (
            "auto",
            [
                "DKIM2: FAIL — Fail: Message Instance m=1 header hash sha256 mismatch (1 hop)",
                "  Judged by -09 rules (auto). The rules of -07, -08 and -09 are second-hand: "
                "their draft text is not public, so dkim2web follows what implementations of "
                "them report, and each rule names its source.",
            ],
        ),
        (
            "06",
            [
                "DKIM2: PASS — Pass: 1 hop verified",
                "  Judged by -06 rules (chosen for this run). The -06 rules are the public text "
                "of draft-ietf-dkim-dkim2-spec-06.",
            ],
        ),
    ],
)
def test_the_answer_to_the_sender_names_the_revision(revision: str, lines: list[str]) -> None:
    from dkim2web.intake.services import _dkim2_line

    run = analysed(auto_submitted_chain(), revision=revision).runs.get()
    assert _dkim2_line(run) == lines
