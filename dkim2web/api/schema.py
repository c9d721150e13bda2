"""The OpenAPI 3.1 description of the API, written by hand and served at GET /api/schema.

tests/web/test_api_schema.py checks the document itself and validates the real answers of
every endpoint against it, so a change to views.py or present.py that is not made here too
fails the tests. The API's own objects are closed (``additionalProperties: false``); the
engine's report lists the keys it always has and may gain keys within a ``schema_version``.
"""

from __future__ import annotations

from typing import Any

from dkim2web.reports.models import Revision

from .errors import ERROR_MEANINGS, ErrorCode


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema["type"]
    return {**schema, "type": [kind, "null"]}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


def _json(description: str, schema: dict[str, Any], *, example: Any = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"description": description, "content": {"application/json": media}}


def _error_example(status_description: str, code: ErrorCode, message: str) -> dict[str, Any]:
    """An error response with an example answer."""
    response = _error(status_description)
    response["content"]["application/json"]["example"] = {
        "error": {"code": str(code), "message": message}
    }
    return response


def _curl(*lines: str) -> list[dict[str, str]]:
    """The operation's examples (``x-codeSamples``, as Redoc reads them): $DKIM2WEB is the
    site's address, $TOKEN an API token, $ID an analysis id."""
    return [{"lang": "shell", "label": "curl", "source": line} for line in lines]


_AUTH = 'curl -H "Authorization: Bearer $TOKEN"'
_EXAMPLE_ID = "5f0c2a9e-7d1b-4c36-9a8e-2b4d6f8a1c3e"
_EXAMPLE_CREATED = {
    "id": _EXAMPLE_ID,
    "status": "queued",
    "revision": "auto",
    "url": f"https://dkim2web.example/api/analyses/{_EXAMPLE_ID}",
    "html_url": f"https://dkim2web.example/analyses/{_EXAMPLE_ID}/",
}
_EXAMPLE_PAGE = {
    "count": 1,
    "page": 1,
    "pages": 1,
    "page_size": 20,
    "next": None,
    "previous": None,
    "results": [
        {
            "id": _EXAMPLE_ID,
            "status": "done",
            "result": "fail",
            "created_at": "2026-11-28T17:34:05Z",
            "subject": "[list] Relay certificates",
            "filename": "message.eml",
            "revision": "auto",
            "url": _EXAMPLE_CREATED["url"],
            "html_url": _EXAMPLE_CREATED["html_url"],
        }
    ],
}


_STRING = {"type": "string"}
_INT = {"type": "integer"}
_DATE_TIME = {"type": "string", "format": "date-time"}
_URI = {"type": "string", "format": "uri"}
_STRINGS = {"type": "array", "items": _STRING}
_RESULT_STATES = ["pass", "fail", "permerror", "temperror", "none"]
# The verdict of the whole message (analysis.verdict.RESULTS).
_VERDICT_RESULTS = ["pass", "fail", "neutral", "temperror", "permerror", "none"]
# RFC 8601 result words of the other mechanisms (dkim, spf, arc, dmarc).
_AUTH_RESULTS = [
    "pass",
    "fail",
    "softfail",
    "neutral",
    "policy",
    "none",
    "temperror",
    "permerror",
]

# The DKIM2 draft revisions (analysis.dkim2.revisions.ORDER) and the choice "auto".
_REVISION_NUMBERS = [v for v in Revision.values if v != Revision.AUTO]
_LEVELS = ["none", "fully-verified", "provisionally-verified", "not-verified"]

_UNAUTHORIZED = {"$ref": "#/components/responses/Unauthorized"}
_NOT_FOUND = {"$ref": "#/components/responses/NotFound"}
_ID_PARAMETER = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "The analysis id. Any id that is not one of the token owner's analyses "
    "(including one that is not a UUID) gives 404 not_found.",
    "schema": {"type": "string", "format": "uuid"},
}


def _closed(properties: dict[str, Any], *, description: str = "") -> dict[str, Any]:
    """An object with exactly these properties, all required."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


def _open(
    properties: dict[str, Any],
    *,
    optional: dict[str, Any] | None = None,
    description: str = "",
) -> dict[str, Any]:
    """An object that always has ``properties``, sometimes ``optional`` ones, and may gain
    others (the engine's output)."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {**properties, **(optional or {})},
        "required": list(properties),
    }
    if description:
        schema["description"] = description
    return schema


_SCHEMAS: dict[str, Any] = {
    "Error": _closed(
        {
            "error": _closed(
                {
                    "code": {
                        "type": "string",
                        "enum": [str(c) for c in ErrorCode],
                        # One meaning per code, in the enum's order (a common extension).
                        "x-enum-descriptions": [ERROR_MEANINGS[c] for c in ErrorCode],
                    },
                    "message": {"type": "string", "description": "For people; may change."},
                }
            )
        }
    ),
    "Status": {
        "type": "string",
        "enum": ["queued", "running", "done", "failed"],
        "description": "queued and running change on their own; done and failed are final "
        "until the analysis is re-run from the web page.",
    },
    "Result": {
        "type": ["string", "null"],
        "enum": [*_VERDICT_RESULTS, None],
        "description": "The verdict of the whole message in the latest finished run (every "
        "mechanism together: see Verdict); null before the first run ends.",
    },
    "Revision": {
        "type": "string",
        "enum": list(Revision.values),
        "description": "The DKIM2 draft revision whose rules judge the chain: auto (the "
        "default) judges by the newest revision and compares the older ones; a number "
        "judges by that revision alone. Only -06 is public draft text; the rules of the "
        "later revisions are second-hand (what implementations report), and the report "
        "names each rule's source.",
    },
    "AnalysisCreated": _closed(
        {
            "id": {"type": "string", "format": "uuid"},
            "status": _ref("Status"),
            "revision": {
                **_ref("Revision"),
                "description": "The revision the analysis's runs judge by.",
            },
            "url": {**_URI, "description": "This analysis in the API."},
            "html_url": {**_URI, "description": "The result page (needs a browser session)."},
        }
    ),
    "AnalysisListItem": _closed(
        {
            "id": {"type": "string", "format": "uuid"},
            "status": _ref("Status"),
            "result": _ref("Result"),
            "created_at": _DATE_TIME,
            "subject": _nullable(
                {"type": "string", "description": "From the latest run; null before it ends."}
            ),
            "filename": _STRING,
            "revision": _ref("Revision"),
            "url": _URI,
            "html_url": _URI,
        }
    ),
    "AnalysisPage": _closed(
        {
            "count": {**_INT, "minimum": 0},
            "page": {**_INT, "minimum": 1},
            "pages": {**_INT, "minimum": 1},
            "page_size": {**_INT, "minimum": 1},
            "next": _nullable(_URI),
            "previous": _nullable(_URI),
            "results": {"type": "array", "items": _ref("AnalysisListItem")},
        },
        description="The token owner's analyses, newest first.",
    ),
    "RunSummary": _closed(
        {
            "id": _INT,
            "created_at": _DATE_TIME,
            "result": {"type": "string", "enum": _VERDICT_RESULTS},
            "engine_version": _STRING,
            "draft": {**_STRING, "description": "The draft whose rules judged DKIM2."},
            "revision": {
                **_ref("Revision"),
                "description": "The revision this run used (runs stored before dkim2web "
                "judged by revision: 06).",
            },
        }
    ),
    "AnalysisDetail": _closed(
        {
            "id": {"type": "string", "format": "uuid"},
            "status": _ref("Status"),
            "result": _ref("Result"),
            "created_at": _DATE_TIME,
            "finished_at": _nullable(_DATE_TIME),
            "filename": _STRING,
            "size": {**_INT, "minimum": 1},
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "revision": {
                **_ref("Revision"),
                "description": "The revision the next run judges by (each run says which "
                "one it used).",
            },
            "envelope": _closed(
                {
                    "mail_from": _STRING,
                    "rcpt_to": _STRINGS,
                    "source": {
                        "type": "string",
                        "enum": ["none", "user", "smtp"],
                        "description": "none: verified without an envelope.",
                    },
                }
            ),
            "error": _nullable({"type": "string", "description": "Why it failed."}),
            "url": _URI,
            "html_url": _URI,
            "links": _closed(
                {
                    "html": {**_URI, "description": "The result page."},
                    "raw": {**_URI, "description": "The message exactly as received."},
                    "json": {**_URI, "description": "This document."},
                }
            ),
            "run": {
                "oneOf": [_ref("RunSummary"), {"type": "null"}],
                "description": "The run whose report is shown; null unless status is done.",
            },
            "report": {
                "oneOf": [_ref("Report"), {"type": "null"}],
                "description": "The latest run's whole-message report (schema 2); null "
                "unless status is done.",
            },
            "runs": {
                "type": "array",
                "items": _ref("RunSummary"),
                "description": "The other runs (earlier ones, or all while a re-run is "
                "pending), newest first.",
            },
        }
    ),
    # --- the engine's report (analysis/message_report.py, schema_version 2) -------------------
    "Report": _open(
        {
            "schema_version": {"type": "integer", "const": 2},
            "engine_version": _nullable(_STRING),
            "result": {"type": "string", "enum": _VERDICT_RESULTS},
            "summary": _STRING,
            "verdict": _ref("Verdict"),
            "message": {"type": "object"},
            "smtp": {"oneOf": [_ref("SmtpContext"), {"type": "null"}]},
            "verified_at": {"type": ["number", "null"]},
            "dkim2": _ref("Dkim2Chain"),
            "dkim1": {"oneOf": [_ref("Dkim1Report"), {"type": "null"}]},
            "arc": {"oneOf": [_ref("ArcReport"), {"type": "null"}]},
            "spf": {"oneOf": [_ref("SpfReport"), {"type": "null"}]},
            "dmarc": {"oneOf": [_ref("DmarcReport"), {"type": "null"}]},
            "receivers": {"oneOf": [_ref("ReceiverClaims"), {"type": "null"}]},
            "received": {"oneOf": [{"type": "object"}, {"type": "null"}]},
            "dns": {"type": "array", "items": _ref("DnsEvidence")},
        },
        description="The whole-message report (schema 2): the verdict, then one section per "
        "mechanism. A section is null when the run did not check it (runs stored before "
        "dkim2web checked DKIM1, ARC, SPF and DMARC are served upgraded, with those sections "
        "null and `upgraded_from` set).",
    ),
    "Verdict": _open(
        {
            "result": {"type": "string", "enum": _VERDICT_RESULTS},
            "trusted": {"type": ["boolean", "null"]},
            "headline": _STRING,
            "points": _STRINGS,
            "mechanisms": {
                "type": "array",
                "items": _open(
                    {
                        "mechanism": {
                            "type": "string",
                            "enum": ["dkim2", "dkim1", "arc", "spf", "dmarc"],
                        },
                        "label": _STRING,
                        "result": _STRING,
                        "summary": _STRING,
                        "claimed": _nullable(_STRING),
                        "claimed_by": _nullable(_STRING),
                        "agrees": {"type": ["boolean", "null"]},
                    }
                ),
            },
            "disagreements": {
                "type": "array",
                "items": _open(
                    {
                        "mechanism": _STRING,
                        "subject": _STRING,
                        "claimed": _STRING,
                        "found": _STRING,
                        "cause": _STRING,
                    }
                ),
            },
            "findings": {"type": "array", "items": _ref("Finding")},
            "dkim2_revision": {
                "type": ["string", "null"],
                "enum": [*_REVISION_NUMBERS, None],
                "description": "The revision whose rules judged DKIM2; null without DKIM2.",
            },
        },
        optional={
            "evidence": {
                "type": "array",
                "items": _ref("Finding"),
                "description": "The findings the headline rests on, most telling first (their "
                "codes, failure strings and spec references; the headline itself is plain "
                "words). Absent in reports stored before it was kept.",
            },
        },
        description="Would the message be trusted, and if not, who broke what; every "
        "mechanism's result beside what the final receiver recorded.",
    ),
    "Dkim2Chain": _open(
        {
            "result": {"type": "string", "enum": _RESULT_STATES},
            "summary": _STRING,
            "draft": _STRING,
            "engine_version": _STRING,
            "envelope": {
                "oneOf": [_open({"mail_from": _STRING, "rcpt_to": _STRINGS}), {"type": "null"}]
            },
            "envelope_checked": {"type": "boolean"},
            "envelope_hints": _open(
                {
                    "mail_from": _nullable(_STRING),
                    "rcpt_to": _STRINGS,
                    "newest_signature_mail_from": _nullable(_STRING),
                    "newest_signature_rcpt_to": _STRINGS,
                }
            ),
            "verified_at": {"type": ["number", "null"]},
            "options": {"type": "object"},
            "hops": {"type": "array", "items": _ref("Hop")},
            "instances": {"type": "array", "items": _ref("Instance")},
            "header_field_table": {
                "type": "array",
                "items": {"type": "array", "prefixItems": [_STRING, _STRING], "minItems": 2},
                "description": "The header fields the instances list, each distinct field "
                "once: [name, value] (the value cut to 2,000 characters). An instance lists "
                "runs of these rows (Instance.header_field_runs).",
            },
            "diffs": {"type": "array", "items": _ref("InstanceDiff")},
            "findings": {"type": "array", "items": _ref("Finding")},
            "dns": {"type": "array", "items": _ref("KeyAnswer")},
            "replay": _open({"key": _nullable(_STRING), "exploded": {"type": "boolean"}}),
            "revision": {
                "type": "string",
                "enum": _REVISION_NUMBERS,
                "description": "The revision whose rules gave `result`.",
            },
            "revision_mode": {
                "type": "string",
                "enum": ["auto", "fixed"],
                "description": "auto: the newest revision judged and the others were "
                "compared (`revisions`, `splits`, `fingerprints`); fixed: one revision alone.",
            },
            "level": {
                "type": "string",
                "enum": _LEVELS,
                "description": "How far the chain verified under `revision` (-07: Validly "
                "Signed; -08 on: Fully or Provisionally Verified; -06: pass).",
            },
            "revisions": {
                "type": "array",
                "items": _ref("RevisionOutcome"),
                "description": "The outcome under each revision walked, oldest first.",
            },
            "fingerprints": {"type": "array", "items": _ref("HopFingerprint")},
            "splits": {"type": "array", "items": _ref("RevisionSplit")},
            "from_checks": {"type": "array", "items": _ref("FromCheck")},
        },
        optional={
            "revision_inferred": {
                "type": "boolean",
                "const": True,
                "description": "Present on runs stored before dkim2web recorded the "
                "revision: they followed -06 rules, and compared nothing.",
            }
        },
        description="The DKIM2 chain, as `dkim2 verify --json` prints it (without its "
        "message summary, which the report holds once).",
    ),
    "RevisionOutcome": _open(
        {
            "revision": {"type": "string", "enum": _REVISION_NUMBERS},
            "draft": _STRING,
            "result": {"type": "string", "enum": _RESULT_STATES},
            "level": {"type": "string", "enum": _LEVELS},
            "hops": {
                "type": "object",
                "additionalProperties": {"type": "string", "enum": _RESULT_STATES},
                "description": "Each hop's result under this revision, by i=.",
            },
            "first_problem": _nullable(_STRING),
            "first_problem_code": _nullable(_STRING),
        },
        description="The chain's verdict under one revision's rules.",
    ),
    "HopFingerprint": _open(
        {
            "hop": _INT,
            "domain": _nullable(_STRING),
            "passes_under": {"type": "array", "items": {"enum": _REVISION_NUMBERS}},
            "signer_revisions": {"type": "array", "items": {"enum": _REVISION_NUMBERS}},
            "clues": _STRINGS,
            "sentence": _STRING,
        },
        description="Which revisions' rules one hop's signature and hashes satisfy.",
    ),
    "RevisionSplit": _open(
        {
            "older": {"type": "string", "enum": _REVISION_NUMBERS},
            "newer": {"type": "string", "enum": _REVISION_NUMBERS},
            "older_result": {"type": "string", "enum": _RESULT_STATES},
            "newer_result": {"type": "string", "enum": _RESULT_STATES},
            "rules": _STRINGS,
            "rule_titles": _STRINGS,
            "sources": {
                **_STRINGS,
                "description": "Where each rule comes from; a second-hand rule names the "
                "implementations that report it.",
            },
            "sentence": _STRING,
        },
        description="Two neighbouring revisions that disagree, and the rules that split them.",
    ),
    "FromCheck": _open(
        {
            "instance": _INT,
            "hop": {"type": ["integer", "null"]},
            "from_domains": _STRINGS,
            "d": _nullable(_STRING),
            "outcome": {
                "type": "string",
                "enum": ["authentic", "not-authentic", "needs-policy-record", "not-evaluated"],
            },
            "why": _STRING,
        },
        description="From-Authentic (-07 on, second-hand): one From introduction and how its "
        "domain compares with the d= of the hop that introduced it.",
    ),
    "Dkim1Report": _open(
        {
            "result": {"type": "string", "enum": _AUTH_RESULTS},
            "summary": _STRING,
            "signatures": {
                "type": "array",
                "items": _open(
                    {
                        "index": _INT,
                        "domain": _nullable(_STRING),
                        "selector": _nullable(_STRING),
                        "algorithm": _nullable(_STRING),
                        "result": {"type": "string", "enum": _AUTH_RESULTS},
                        "failed_step": _nullable(_STRING),
                        "body_hash_matches": {"type": ["boolean", "null"]},
                        "reason": _STRING,
                        "raw": _STRING,
                        "findings": {"type": "array", "items": _ref("Finding")},
                    }
                ),
            },
            "findings": {"type": "array", "items": _ref("Finding")},
        },
        description="Every DKIM-Signature field, verified (RFC 6376).",
    ),
    "ArcReport": _open(
        {
            "result": {"type": "string", "enum": ["none", "pass", "fail"]},
            "summary": _STRING,
            "broken_at": {"type": ["integer", "null"]},
            "oldest_pass": {"type": ["integer", "null"]},
            "instances": {
                "type": "array",
                "items": _open(
                    {
                        "i": _INT,
                        "sealer": _nullable(_STRING),
                        "seal_result": _nullable(_STRING),
                        "cv": _nullable(_STRING),
                        "ams_result": _nullable(_STRING),
                        "aar_authserv_id": _nullable(_STRING),
                    }
                ),
            },
            "findings": {"type": "array", "items": _ref("Finding")},
        },
        description="The ARC chain (RFC 8617 §5.2), oldest set first.",
    ),
    "SpfReport": _open(
        {
            "result": {"type": "string", "enum": _AUTH_RESULTS},
            "identity": {"type": "string", "enum": ["mailfrom", "helo"]},
            "domain": _STRING,
            "ip": _nullable(_STRING),
            "source": {"type": "string", "enum": ["smtp", "given", "reconstructed", "none"]},
            "summary": _STRING,
            "findings": {"type": "array", "items": _ref("Finding")},
        },
        description="SPF (RFC 7208) for the hop that took the message in from the outside.",
    ),
    "DmarcReport": _open(
        {
            "result": {"type": "string", "enum": _AUTH_RESULTS},
            "result_without_dkim2": {"type": "string", "enum": _AUTH_RESULTS},
            "author_domain": _nullable(_STRING),
            "policy_domain": _nullable(_STRING),
            "record": _STRING,
            "alignment": {"type": "array", "items": {"type": "object"}},
            "walk": {"type": "array", "items": {"type": "object"}},
            "summary": _STRING,
            "findings": {"type": "array", "items": _ref("Finding")},
        },
        description="DMARC (RFC 9989): `result` counts an aligned DKIM2 hop as DKIM does; "
        "`result_without_dkim2` is what a receiver following RFC 9989 alone computes.",
    ),
    "ReceiverClaims": _open(
        {
            "fields": {
                "type": "array",
                "items": _open(
                    {
                        "kind": {
                            "type": "string",
                            "enum": ["Authentication-Results", "ARC-Authentication-Results"],
                        },
                        "authserv_id": _STRING,
                        "trust": {"type": "string", "enum": ["trusted", "upstream", "untrusted"]},
                        "trust_reason": _STRING,
                        "methods": {"type": "array", "items": {"type": "object"}},
                        "raw": _STRING,
                    }
                ),
            },
            "receiver_authserv_id": _nullable(_STRING),
            "claims": {"type": "object"},
            "arc_override": _nullable(_STRING),
            "summary": _STRING,
            "findings": {"type": "array", "items": _ref("Finding")},
        },
        description="Every Authentication-Results and ARC-Authentication-Results field, and "
        "how far each can be trusted (RFC 8601 §5).",
    ),
    "SmtpContext": _open(
        {
            "client_ip": _nullable(_STRING),
            "helo": _nullable(_STRING),
            "mail_from": _nullable(_STRING),
            "rcpt_to": _STRINGS,
            "source": {"type": "string", "enum": ["smtp", "given", "reconstructed", "none"]},
            "detail": _STRING,
        },
        description="The SMTP transaction SPF judged, and where each value came from.",
    ),
    "DnsEvidence": _open(
        {
            "name": _STRING,
            "type": {"type": "string", "enum": ["TXT", "A", "AAAA", "MX", "PTR", "CNAME"]},
            "status": {
                "type": "string",
                "enum": [
                    "found",
                    "nxdomain",
                    "nodata",
                    "servfail",
                    "timeout",
                    "budget",
                    "invalid-name",
                    "error",
                ],
            },
            "records": _STRINGS,
            "detail": _STRING,
            "fetched_at": {"type": "number"},
            "ttl": {"type": ["integer", "null"]},
            "transport": _STRING,
            "purposes": _STRINGS,
        },
        description="One DNS answer the run used, with what it was used for.",
    ),
    "MessageSummary": _open(
        {
            "size": _INT,
            "sha256": _STRING,
            "subject": _STRING,
            "from": _STRING,
            "to": _STRING,
            "message_id": _STRING,
            "date": _STRING,
            "header_fields": _INT,
            "body_size": _INT,
        }
    ),
    "Hop": _open(
        {
            "i": _INT,
            "m": {"type": ["integer", "null"]},
            "parsed": {"type": "boolean"},
            "d": _nullable(_STRING),
            "t": {"type": ["integer", "null"]},
            "delay_seconds": {"type": ["integer", "null"]},
            "mail_from": _nullable(_STRING),
            "rcpt_to": _STRINGS,
            "nd": _nullable(_STRING),
            "nonce": _nullable(_STRING),
            "flags": _STRINGS,
            "selectors": {
                "type": "array",
                "items": _open(
                    {
                        "selector": _STRING,
                        "algorithm": _STRING,
                        "result": _STRING,
                        "key_bits": {"type": ["integer", "null"]},
                        "key_testing": {"type": "boolean"},
                        "group": {
                            **_INT,
                            "minimum": 0,
                            "description": "The |-separated group of s= (-08 on), from 1; "
                            "0: no groups.",
                        },
                    }
                ),
            },
            "introduced_instance": {"type": ["integer", "null"]},
            "custody_link": _STRING,
            "result": {"type": "string", "enum": _RESULT_STATES},
            "findings": {"type": "array", "items": _ref("Finding")},
            "raw": _STRING,
        },
        description="One DKIM2-Signature (hop i=), oldest first.",
    ),
    "Instance": _open(
        {
            "m": _INT,
            "introduced_by_hop": {"type": ["integer", "null"]},
            "reconstructed": {"type": "boolean"},
            "result": {"type": "string", "enum": _RESULT_STATES},
            "checks": {
                "type": "array",
                "items": _open(
                    {
                        "algorithm": _STRING,
                        "part": {"type": "string", "enum": ["header", "body"]},
                        "expected": _STRING,
                        "computed": _nullable(_STRING),
                        "match": {"type": ["boolean", "null"]},
                        "group": {
                            **_INT,
                            "minimum": 0,
                            "description": "The |-separated group of h= (-08 on), from 1; "
                            "0: no groups.",
                        },
                    }
                ),
            },
            "recipe": {"type": ["object", "null"]},
            "header_field_runs": {
                "type": "array",
                "items": {
                    "type": "array",
                    "prefixItems": [{**_INT, "minimum": 0}, {**_INT, "minimum": 1}],
                    "minItems": 2,
                },
                "description": "The instance's header fields, top to bottom, as runs "
                "[first, count] of rows of the chain's header_field_table.",
            },
            "body_known": {"type": "boolean"},
            "body_size": {"type": ["integer", "null"]},
            "body_sha256": _nullable(_STRING),
        },
        optional={
            "header_fields_omitted": {
                **_INT,
                "description": "Fields not listed: the report's budget for listing them was spent.",
            },
        },
        description="One reconstructed version of the message (m=).",
    ),
    "InstanceDiff": _open(
        {
            "before": _INT,
            "after": _INT,
            "hop": {"type": ["integer", "null"]},
            "hop_domain": _nullable(_STRING),
            "header_changes": {
                "type": "array",
                "items": _open(
                    {
                        "name": _STRING,
                        "kind": {"type": "string", "enum": ["added", "removed", "changed"]},
                        "old": _nullable(_STRING),
                        "new": _nullable(_STRING),
                    }
                ),
            },
            "body_changed": {"type": ["boolean", "null"]},
            "body_diff": _STRINGS,
            "body_diff_truncated": {"type": "boolean"},
            "explained": {"type": "boolean"},
        }
    ),
    "Finding": _open(
        {
            "code": _STRING,
            "state": {"type": "string", "enum": _RESULT_STATES},
            "severity": {"type": "string", "enum": ["error", "warning", "info"]},
            "message": _STRING,
            "step": {**_INT, "minimum": 1},
            "hop": {"type": ["integer", "null"]},
            "instance": {"type": ["integer", "null"]},
            "detail": _STRING,
            "spec": _STRING,
        },
        optional={"data": {"type": "object"}},
        description="One check that did not simply pass.",
    ),
    "KeyAnswer": _open(
        {
            "name": _STRING,
            "selector": _STRING,
            "domain": _STRING,
            "status": {
                "type": "string",
                "enum": [
                    "found",
                    "nxdomain",
                    "nodata",
                    "servfail",
                    "timeout",
                    "budget",
                    "invalid-name",
                    "error",
                ],
            },
            "records": _STRINGS,
            "detail": _STRING,
            "fetched_at": {"type": "number"},
            "elapsed_ms": {"type": "number"},
            "ttl": {"type": ["integer", "null"]},
            "transport": _STRING,
        },
        description="One DNS key lookup, as evidence.",
    ),
}

_ENVELOPE_PARAMETERS = [
    {
        "name": "mail_from",
        "in": "query",
        "required": False,
        "description": "MAIL FROM of the final delivery (for a raw body; a multipart body "
        "may send it as a field instead).",
        "schema": _STRING,
    },
    {
        "name": "rcpt_to",
        "in": "query",
        "required": False,
        "description": "RCPT TO of the final delivery; repeat for several (at most 100).",
        "schema": {"type": "array", "items": _STRING, "maxItems": 100},
        "style": "form",
        "explode": True,
    },
    {
        "name": "filename",
        "in": "query",
        "required": False,
        "description": "A name to show for the message (a multipart file part has its own); "
        "printable text: a control or bidirectional formatting character is invalid_filename.",
        "schema": _STRING,
    },
    {
        "name": "revision",
        "in": "query",
        "required": False,
        "description": "The DKIM2 draft revision whose rules judge the chain (a multipart "
        "body may send it as a field instead); anything else is invalid_revision.",
        "schema": {**_ref("Revision"), "default": Revision.AUTO},
    },
]

_MESSAGE_BYTES = {
    "type": "string",
    "contentMediaType": "message/rfc822",
    "description": "The message exactly as received; stored byte for byte.",
}

SCHEMA: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "dkim2web API",
        "version": "1",
        "description": "Submit messages for DKIM2 verification and read the reports. "
        "Authenticate with an API token (`manage.py create_api_token USER`, or the account "
        "page): `Authorization: Bearer <token>` (`Token <token>` is accepted too). Errors "
        'are `{"error": {"code", "message"}}`; branch on `code`. Any request may be answered '
        "429 with `Retry-After` (seconds): `rate_limited` past the requests allowed per token "
        "or per client address, `too_many_invalid_tokens` once an address has sent too many "
        "unknown, revoked or expired tokens (docs/operations.md, Throttling).",
    },
    "servers": [{"url": "/"}],
    "security": [{"bearerAuth": []}],
    "paths": {
        "/api/analyses": {
            "get": {
                "operationId": "listAnalyses",
                "summary": "The token owner's analyses, newest first",
                "parameters": [
                    {
                        "name": "page",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "default": 1},
                    }
                ],
                "x-codeSamples": _curl(f'{_AUTH} "$DKIM2WEB/api/analyses?page=1"'),
                "responses": {
                    "200": _json(
                        "One page of analyses.", _ref("AnalysisPage"), example=_EXAMPLE_PAGE
                    ),
                    "400": _error("page is not a positive integer (invalid_page)."),
                    "401": _UNAUTHORIZED,
                    "404": _error("page is past the last page (page_not_found)."),
                },
            },
            "post": {
                "operationId": "createAnalysis",
                "summary": "Submit a message; it is verified in the background",
                "parameters": _ENVELOPE_PARAMETERS,
                "x-codeSamples": _curl(
                    f'{_AUTH} -H "Content-Type: message/rfc822" --data-binary @message.eml '
                    '"$DKIM2WEB/api/analyses?mail_from=bounce@lists.example.org'
                    '&rcpt_to=you@example.net"',
                    f'{_AUTH} -F message=@message.eml -F revision=auto "$DKIM2WEB/api/analyses"',
                ),
                "requestBody": {
                    "required": True,
                    "content": {
                        "message/rfc822": {"schema": _MESSAGE_BYTES},
                        "application/octet-stream": {"schema": _MESSAGE_BYTES},
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["message"],
                                "properties": {
                                    "message": {
                                        **_MESSAGE_BYTES,
                                        "description": "A file part (a text field would "
                                        "lose the exact bytes: message_not_a_file).",
                                    },
                                    "mail_from": _STRING,
                                    "rcpt_to": {"type": "array", "items": _STRING},
                                    "filename": _STRING,
                                    "revision": _ref("Revision"),
                                },
                            },
                            "encoding": {"message": {"contentType": "message/rfc822"}},
                        },
                    },
                },
                "responses": {
                    "201": {
                        **_json(
                            "Stored and queued.", _ref("AnalysisCreated"), example=_EXAMPLE_CREATED
                        ),
                        "headers": {"Location": {"description": "The url field.", "schema": _URI}},
                    },
                    "400": _error_example(
                        "empty_message, no_header_fields (not an e-mail message: its first "
                        "line is not a header field and it has no From: field, e.g. a text "
                        "file, or it is another format, e.g. a PDF; the message says what was "
                        "found and how to get the message's source), missing_message, "
                        "message_not_a_file, too_many_messages, invalid_multipart, "
                        "invalid_envelope, invalid_filename or invalid_revision.",
                        ErrorCode.INVALID_REVISION,
                        f"revision must be one of {', '.join(Revision.values)} (auto: judged "
                        "by the newest draft revision's rules, the older ones compared).",
                    ),
                    "401": _UNAUTHORIZED,
                    "413": _error(
                        "The message is larger than DKIM2WEB_MAX_MESSAGE_BYTES (message_too_large)."
                    ),
                    "415": _error("Not one of the accepted types (unsupported_media_type)."),
                },
            },
        },
        "/api/analyses/{id}": {
            "parameters": [_ID_PARAMETER],
            "get": {
                "operationId": "getAnalysis",
                "summary": "The status of an analysis and, when done, its report",
                "x-codeSamples": _curl(f'{_AUTH} "$DKIM2WEB/api/analyses/$ID"'),
                "responses": {
                    "200": _json("The analysis.", _ref("AnalysisDetail")),
                    "401": _UNAUTHORIZED,
                    "404": _NOT_FOUND,
                },
            },
            "delete": {
                "operationId": "deleteAnalysis",
                "summary": "Delete the analysis, its raw message and everything derived",
                "x-codeSamples": _curl(f'{_AUTH} -X DELETE "$DKIM2WEB/api/analyses/$ID"'),
                "responses": {
                    "204": {"description": "Deleted."},
                    "401": _UNAUTHORIZED,
                    "404": _NOT_FOUND,
                },
            },
        },
        "/api/raw/{id}": {
            "parameters": [_ID_PARAMETER],
            "get": {
                "operationId": "getRawMessage",
                "summary": "The message exactly as it was submitted",
                "x-codeSamples": _curl(f'{_AUTH} -o message.eml "$DKIM2WEB/api/raw/$ID"'),
                "responses": {
                    "200": {
                        "description": "The raw bytes, as an attachment.",
                        "content": {"message/rfc822": {"schema": _MESSAGE_BYTES}},
                    },
                    "401": _UNAUTHORIZED,
                    "404": _NOT_FOUND,
                },
            },
        },
        "/api/schema": {
            "get": {
                "operationId": "getSchema",
                "summary": "This document",
                "security": [],
                "x-codeSamples": _curl('curl "$DKIM2WEB/api/schema"'),
                "responses": {
                    "200": _json("The OpenAPI 3.1 description.", {"type": "object"}),
                },
            },
        },
    },
    "components": {
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API token; `Token <token>` is accepted as well.",
            }
        },
        "responses": {
            "Unauthorized": {
                **_error_example(
                    "No token (not_authenticated), or an unknown, revoked or expired "
                    "one (invalid_token).",
                    ErrorCode.NOT_AUTHENTICATED,
                    "Send an API token: Authorization: Bearer <token>.",
                ),
                "headers": {
                    "WWW-Authenticate": {
                        "description": 'Bearer realm="dkim2web", with error="invalid_token" '
                        "for a bad token.",
                        "schema": _STRING,
                    }
                },
            },
            "NotFound": _error_example(
                "No such analysis for this token (not_found).",
                ErrorCode.NOT_FOUND,
                "No such analysis.",
            ),
        },
        "schemas": _SCHEMAS,
    },
}
