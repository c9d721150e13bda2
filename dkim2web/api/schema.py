"""The OpenAPI 3.1 description of the API, written by hand and served at GET /api/schema.

tests/web/test_api_schema.py checks the document itself and validates the real answers of
every endpoint against it, so a change to views.py or present.py that is not made here too
fails the tests. The API's own objects are closed (``additionalProperties: false``); the
engine's report lists the keys it always has and may gain keys within a ``schema_version``.
"""

from __future__ import annotations

from typing import Any

from .errors import ErrorCode


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema["type"]
    return {**schema, "type": [kind, "null"]}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_STRING = {"type": "string"}
_INT = {"type": "integer"}
_DATE_TIME = {"type": "string", "format": "date-time"}
_URI = {"type": "string", "format": "uri"}
_STRINGS = {"type": "array", "items": _STRING}
_RESULT_STATES = ["pass", "fail", "permerror", "temperror", "none"]

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
                    "code": {"type": "string", "enum": [str(c) for c in ErrorCode]},
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
        "enum": [*_RESULT_STATES, None],
        "description": "The verdict of the latest finished run; null before the first run ends.",
    },
    "AnalysisCreated": _closed(
        {
            "id": {"type": "string", "format": "uuid"},
            "status": _ref("Status"),
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
            "result": {"type": "string", "enum": _RESULT_STATES},
            "engine_version": _STRING,
            "draft": _STRING,
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
                "description": "The latest run's report, exactly as `dkim2 verify --json` "
                "prints it; null unless status is done.",
            },
            "runs": {
                "type": "array",
                "items": _ref("RunSummary"),
                "description": "The other runs (earlier ones, or all while a re-run is "
                "pending), newest first.",
            },
        }
    ),
    # --- the engine's report (analysis/dkim2/report.py, schema_version 1) ---------------------
    "Report": _open(
        {
            "schema_version": {"type": "integer", "const": 1},
            "result": {"type": "string", "enum": _RESULT_STATES},
            "summary": _STRING,
            "draft": _STRING,
            "engine_version": _STRING,
            "message": _ref("MessageSummary"),
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
            "diffs": {"type": "array", "items": _ref("InstanceDiff")},
            "findings": {"type": "array", "items": _ref("Finding")},
            "dns": {"type": "array", "items": _ref("KeyAnswer")},
            "replay": _open({"key": _nullable(_STRING), "exploded": {"type": "boolean"}}),
        },
        description="The engine's versioned report, as printed by `dkim2 verify --json`.",
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
                    }
                ),
            },
            "recipe": {"type": ["object", "null"]},
            "header_fields": {
                "type": "array",
                "items": {"type": "array", "prefixItems": [_STRING, _STRING], "minItems": 2},
            },
            "body_known": {"type": "boolean"},
            "body_size": {"type": ["integer", "null"]},
            "body_sha256": _nullable(_STRING),
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
        "description": "A name to show for the message (a multipart file part has its own).",
        "schema": _STRING,
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
        'are `{"error": {"code", "message"}}`; branch on `code`.',
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
                "responses": {
                    "200": _json("One page of analyses.", _ref("AnalysisPage")),
                    "400": _error("page is not a positive integer (invalid_page)."),
                    "401": _UNAUTHORIZED,
                    "404": _error("page is past the last page (page_not_found)."),
                },
            },
            "post": {
                "operationId": "createAnalysis",
                "summary": "Submit a message; it is verified in the background",
                "parameters": _ENVELOPE_PARAMETERS,
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
                                },
                            },
                            "encoding": {"message": {"contentType": "message/rfc822"}},
                        },
                    },
                },
                "responses": {
                    "201": {
                        **_json("Stored and queued.", _ref("AnalysisCreated")),
                        "headers": {"Location": {"description": "The url field.", "schema": _URI}},
                    },
                    "400": _error(
                        "empty_message, missing_message, message_not_a_file, "
                        "too_many_messages, invalid_multipart or invalid_envelope."
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
                "responses": {
                    "200": _json("The analysis.", _ref("AnalysisDetail")),
                    "401": _UNAUTHORIZED,
                    "404": _NOT_FOUND,
                },
            },
            "delete": {
                "operationId": "deleteAnalysis",
                "summary": "Delete the analysis, its raw message and everything derived",
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
                **_error(
                    "No token (not_authenticated), or an unknown, revoked or expired "
                    "one (invalid_token)."
                ),
                "headers": {
                    "WWW-Authenticate": {
                        "description": 'Bearer realm="dkim2web", with error="invalid_token" '
                        "for a bad token.",
                        "schema": _STRING,
                    }
                },
            },
            "NotFound": _error("No such analysis for this token (not_found)."),
        },
        "schemas": _SCHEMAS,
    },
}
