"""The API and the DKIM2 draft revision: submit chooses it (validated like the envelope),
the analysis, the list and every run echo it, and the reports of every revision validate
against /api/schema."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from jsonschema import Draft202012Validator

from dkim2web.accounts import services as account_services
from dkim2web.reports import services
from dkim2web.reports.models import Analysis, AnalysisRun
from tests.web.revision_chains import analysed, auto_submitted_chain, grouped_chain, run_now
from tests.web.test_api_schema import DOC_URI, REGISTRY, Checker

pytestmark = pytest.mark.django_db

MESSAGE = b"From: carol@example.com\r\nSubject: revision\r\n\r\nbody\r\n"
REFUSED = {
    "error": {
        "code": "invalid_revision",
        "message": "revision must be one of auto, 06, 07, 08, 09 (auto: judged by the newest "
        "draft revision's rules, the older ones compared).",
    }
}


@pytest.fixture
def api(alice: Any) -> Client:
    _, key = account_services.api_token_create(user=alice, name="t")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def test_a_raw_submission_takes_the_revision_from_the_query(api: Client) -> None:
    response = api.post(
        reverse("api:analyses") + "?revision=06", data=MESSAGE, content_type="message/rfc822"
    )
    assert response.status_code == 201
    assert response.json()["revision"] == "06"
    assert Analysis.objects.get(pk=response.json()["id"]).revision == "06"


def test_a_multipart_submission_takes_the_revision_as_a_field(api: Client) -> None:
    response = api.post(
        reverse("api:analyses") + "?revision=07",  # the field wins over the query
        {"message": SimpleUploadedFile("m.eml", MESSAGE), "revision": "08"},
    )
    assert response.status_code == 201
    assert Analysis.objects.get(pk=response.json()["id"]).revision == "08"


def test_without_a_revision_the_analysis_is_judged_by_auto(api: Client) -> None:
    response = api.post(reverse("api:analyses"), data=MESSAGE, content_type="message/rfc822")
    assert response.json()["revision"] == "auto"


@pytest.mark.parametrize("sent", ["10", "-06", "6", "", "auto,06", "<b>x</b>"])
def test_a_revision_that_is_not_one_is_400_invalid_revision(api: Client, sent: str) -> None:
    check = Checker("/api/analyses", "post")
    response = check(
        api.post(
            reverse("api:analyses"),
            {"message": SimpleUploadedFile("m.eml", MESSAGE), "revision": sent},
        )
    )
    assert response.status_code == 400
    assert response.json() == REFUSED
    assert not Analysis.objects.exists()


def test_the_analysis_the_list_and_each_run_echo_the_revision(api: Client, alice: Any) -> None:
    chain = auto_submitted_chain()
    analysis = analysed(chain, owner=alice)
    assert services.analysis_rerun(analysis=analysis, revision="06")
    run_now(analysis, chain)

    detail = Checker("/api/analyses/{id}", "get")(
        api.get(reverse("api:analysis", args=[analysis.pk]))
    ).json()
    assert detail["revision"] == "06"
    assert (detail["run"]["revision"], detail["result"]) == ("06", "pass")
    assert [(r["revision"], r["result"]) for r in detail["runs"]] == [("auto", "fail")]
    assert detail["report"]["dkim2"]["revision"] == "06"

    listed = Checker("/api/analyses", "get")(api.get(reverse("api:analyses"))).json()
    assert [(item["id"], item["revision"]) for item in listed["results"]] == [
        (str(analysis.pk), "06")
    ]


@pytest.mark.parametrize("revision", ["auto", "06", "07", "08", "09"])
def test_every_revisions_report_validates_against_the_schema(
    api: Client, alice: Any, revision: str
) -> None:
    """Auto (with the revisions, the splits and the fingerprints of chains they disagree
    on), each revision alone, and | groups."""
    # From-Authentic is a -07 rule, and -06/-07 cannot read the grouped chain's s=.
    from_checked = {"auto", "07", "08", "09"}
    for chain, checks_from in (
        (auto_submitted_chain(), revision in from_checked),
        (grouped_chain(), revision in from_checked - {"07"}),
    ):
        analysis = analysed(chain, owner=alice, revision=revision)
        body = Checker("/api/analyses/{id}", "get")(
            api.get(reverse("api:analysis", args=[analysis.pk]))
        ).json()
        dkim2 = body["report"]["dkim2"]
        auto = revision == "auto"
        assert (dkim2["revision_mode"], body["run"]["revision"]) == (
            "auto" if auto else "fixed",
            revision,
        )
        assert len(dkim2["revisions"]) == (4 if auto else 1)
        assert bool(dkim2["splits"]) is bool(dkim2["fingerprints"]) is auto
        assert bool(dkim2["from_checks"]) is checks_from


def report_errors(report: dict[str, Any]) -> list[str]:
    """Why ``report`` does not validate as /api/schema's Report (nested reasons included)."""
    validator = Draft202012Validator(
        {"$ref": f"{DOC_URI}#/components/schemas/Report"}, registry=REGISTRY
    )
    out: list[str] = []
    pending = list(validator.iter_errors(report))
    while pending:
        error = pending.pop()
        out.append(error.message)
        pending.extend(error.context or [])
    return out


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda r: r["dkim2"].update(revision="10"), "'10' is not one of"),
        (lambda r: r["dkim2"].update(revision_mode="sometimes"), "'sometimes' is not one of"),
        (lambda r: r["dkim2"].pop("level"), "'level' is a required property"),
        (lambda r: r["dkim2"]["revisions"][0].update(level="great"), "'great' is not one of"),
        (lambda r: r["dkim2"]["splits"][0].pop("sentence"), "'sentence' is a required"),
        (lambda r: r["dkim2"]["fingerprints"][0].update(hop="1"), "'1' is not of type"),
        (lambda r: r["dkim2"]["from_checks"][0].update(outcome="yes"), "'yes' is not one of"),
        (lambda r: r["dkim2"]["hops"][0]["selectors"][0].update(group=-1), "less than the min"),
        (lambda r: r["dkim2"]["instances"][0]["checks"][0].pop("group"), "'group' is a requ"),
        (lambda r: r["verdict"].update(dkim2_revision="auto"), "'auto' is not one of"),
    ],
)
def test_the_schema_catches_a_wrong_or_missing_revision_field(
    alice: Any, change: Any, complaint: str
) -> None:
    report = analysed(auto_submitted_chain(), owner=alice).runs.get().document
    assert report_errors(report) == []
    change(report)
    assert [e for e in report_errors(report) if complaint in e], report_errors(report)


def test_a_run_stored_before_revisions_validates_upgraded(api: Client, alice: Any) -> None:
    analysis = analysed(auto_submitted_chain(), owner=alice)
    run = analysis.runs.get()
    old = {**run.report, "dkim2": dict(run.report["dkim2"])}
    for key in ("revision", "revision_mode", "level", "revisions", "fingerprints", "splits"):
        del old["dkim2"][key]
    del old["dkim2"]["from_checks"]
    del old["verdict"]["dkim2_revision"]
    old["dkim2"]["hops"] = [
        {
            **hop,
            "selectors": [{k: v for k, v in s.items() if k != "group"} for s in hop["selectors"]],
        }
        for hop in old["dkim2"]["hops"]
    ]
    AnalysisRun.objects.filter(pk=run.pk).update(report=old, revision="06")
    body = Checker("/api/analyses/{id}", "get")(
        api.get(reverse("api:analysis", args=[analysis.pk]))
    ).json()
    dkim2 = body["report"]["dkim2"]
    assert (dkim2["revision"], dkim2["revision_mode"], dkim2["revision_inferred"]) == (
        "06",
        "fixed",
        True,
    )
    assert body["run"]["revision"] == "06"
    assert dkim2["hops"][0]["selectors"][0]["group"] == 0
