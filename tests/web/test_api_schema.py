"""The OpenAPI 3.1 document at /api/schema: well formed, and true to every real answer.

The document is checked against a closed description of the OpenAPI 3.1 objects it uses
(field names and required fields from the specification, so a typo such as "reponses" or a
missing "description" fails), every embedded schema against JSON Schema 2020-12, and every
$ref for a target. Then each endpoint is driven through every status its operation
declares, and each answer is validated against the declared schema and headers.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from analysis.dkim2.keys import public_record_for
from analysis.dkim2.sign import SigningKey, sign
from analysis.resolvers import StaticResolver
from dkim2web.accounts import services as account_services
from dkim2web.api.schema import SCHEMA
from dkim2web.reports import services
from dkim2web.reports.models import Analysis, AnalysisRun

DOC_URI = "urn:dkim2web:openapi"
REGISTRY = Registry().with_resource(DOC_URI, DRAFT202012.create_resource(SCHEMA))

FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    # RFC 3339 needs a time zone; Django's encoder writes "Z" for UTC.
    return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None


@FORMATS.checks("uri", raises=ValueError)
def _uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


@FORMATS.checks("uuid", raises=ValueError)
def _uuid(value: object) -> bool:
    return not isinstance(value, str) or str(uuid.UUID(value)) == value


# --- (1) the document itself --------------------------------------------------------------

_EXT = {"^x-": {}}


def _obj(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "patternProperties": _EXT,
        "additionalProperties": False,
    }


def _ref_or(name: str) -> dict[str, Any]:
    return {"oneOf": [{"$ref": "#/$defs/Reference"}, {"$ref": f"#/$defs/{name}"}]}


_ANY_SCHEMA = {"type": ["object", "boolean"]}
_MAP = {"type": "object"}
_PARAMETER_FIELDS = {
    "description": {"type": "string"},
    "required": {"type": "boolean"},
    "deprecated": {"type": "boolean"},
    "style": {"type": "string"},
    "explode": {"type": "boolean"},
    "allowReserved": {"type": "boolean"},
    "schema": _ANY_SCHEMA,
    "example": {},
    "examples": _MAP,
    "content": {"type": "object", "additionalProperties": {"$ref": "#/$defs/MediaType"}},
}
_OPERATION_NAMES = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# The OpenAPI 3.1.0 objects this API uses, closed to the fields the specification defines.
OPENAPI_31 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    **_obj(
        {
            "openapi": {"type": "string", "pattern": r"^3\.1\.\d+$"},
            "info": {"$ref": "#/$defs/Info"},
            "jsonSchemaDialect": {"type": "string"},
            "servers": {"type": "array", "items": {"$ref": "#/$defs/Server"}},
            "paths": {
                "type": "object",
                "patternProperties": {"^/": {"$ref": "#/$defs/PathItem"}},
                "additionalProperties": False,
            },
            "webhooks": _MAP,
            "components": {"$ref": "#/$defs/Components"},
            "security": {"type": "array", "items": {"$ref": "#/$defs/SecurityRequirement"}},
            "tags": {"type": "array"},
            "externalDocs": _MAP,
        },
        ("openapi", "info"),
    ),
    "anyOf": [{"required": ["paths"]}, {"required": ["components"]}, {"required": ["webhooks"]}],
    "$defs": {
        "Info": _obj(
            {
                "title": {"type": "string"},
                "summary": {"type": "string"},
                "description": {"type": "string"},
                "termsOfService": {"type": "string"},
                "contact": _MAP,
                "license": _MAP,
                "version": {"type": "string"},
            },
            ("title", "version"),
        ),
        "Server": _obj(
            {"url": {"type": "string"}, "description": {"type": "string"}, "variables": _MAP},
            ("url",),
        ),
        "PathItem": _obj(
            {
                "$ref": {"type": "string"},
                "summary": {"type": "string"},
                "description": {"type": "string"},
                **{name: {"$ref": "#/$defs/Operation"} for name in _OPERATION_NAMES},
                "servers": {"type": "array", "items": {"$ref": "#/$defs/Server"}},
                "parameters": {"type": "array", "items": _ref_or("Parameter")},
            }
        ),
        "Operation": _obj(
            {
                "tags": {"type": "array", "items": {"type": "string"}},
                "summary": {"type": "string"},
                "description": {"type": "string"},
                "externalDocs": _MAP,
                "operationId": {"type": "string"},
                "parameters": {"type": "array", "items": _ref_or("Parameter")},
                "requestBody": _ref_or("RequestBody"),
                "responses": {"$ref": "#/$defs/Responses"},
                "callbacks": _MAP,
                "deprecated": {"type": "boolean"},
                "security": {"type": "array", "items": {"$ref": "#/$defs/SecurityRequirement"}},
                "servers": {"type": "array", "items": {"$ref": "#/$defs/Server"}},
            },
            ("operationId", "responses"),  # optional in OpenAPI; required of ourselves
        ),
        "Parameter": {
            **_obj(
                {
                    "name": {"type": "string"},
                    "in": {"enum": ["query", "header", "path", "cookie"]},
                    "allowEmptyValue": {"type": "boolean"},
                    **_PARAMETER_FIELDS,
                },
                ("name", "in"),
            ),
            "if": {"properties": {"in": {"const": "path"}}},
            "then": {"properties": {"required": {"const": True}}, "required": ["required"]},
        },
        "Header": _obj(_PARAMETER_FIELDS),
        "RequestBody": _obj(
            {
                "description": {"type": "string"},
                "content": {
                    "type": "object",
                    "additionalProperties": {"$ref": "#/$defs/MediaType"},
                },
                "required": {"type": "boolean"},
            },
            ("content",),
        ),
        "MediaType": _obj(
            {
                "schema": _ANY_SCHEMA,
                "example": {},
                "examples": _MAP,
                "encoding": {
                    "type": "object",
                    "additionalProperties": _obj(
                        {
                            "contentType": {"type": "string"},
                            "headers": _MAP,
                            "style": {"type": "string"},
                            "explode": {"type": "boolean"},
                            "allowReserved": {"type": "boolean"},
                        }
                    ),
                },
            }
        ),
        "Responses": {
            "type": "object",
            "minProperties": 1,
            "properties": {"default": _ref_or("Response")},
            "patternProperties": {"^[1-5](?:[0-9]{2}|XX)$": _ref_or("Response"), **_EXT},
            "additionalProperties": False,
        },
        "Response": _obj(
            {
                "description": {"type": "string"},
                "headers": {"type": "object", "additionalProperties": _ref_or("Header")},
                "content": {
                    "type": "object",
                    "additionalProperties": {"$ref": "#/$defs/MediaType"},
                },
                "links": _MAP,
            },
            ("description",),
        ),
        "Reference": {
            "type": "object",
            "properties": {
                "$ref": {"type": "string"},
                "summary": {"type": "string"},
                "description": {"type": "string"},
            },
            "required": ["$ref"],
            "additionalProperties": False,
        },
        "Components": _obj(
            {
                "schemas": {"type": "object", "additionalProperties": _ANY_SCHEMA},
                "responses": {"type": "object", "additionalProperties": _ref_or("Response")},
                "parameters": {"type": "object", "additionalProperties": _ref_or("Parameter")},
                "examples": _MAP,
                "requestBodies": _MAP,
                "headers": {"type": "object", "additionalProperties": _ref_or("Header")},
                "securitySchemes": {
                    "type": "object",
                    "additionalProperties": {"$ref": "#/$defs/SecurityScheme"},
                },
                "links": _MAP,
                "callbacks": _MAP,
                "pathItems": _MAP,
            }
        ),
        "SecurityScheme": {
            **_obj(
                {
                    "type": {"enum": ["apiKey", "http", "mutualTLS", "oauth2", "openIdConnect"]},
                    "description": {"type": "string"},
                    "name": {"type": "string"},
                    "in": {"enum": ["query", "header", "cookie"]},
                    "scheme": {"type": "string"},
                    "bearerFormat": {"type": "string"},
                    "flows": _MAP,
                    "openIdConnectUrl": {"type": "string"},
                },
                ("type",),
            ),
            "if": {"properties": {"type": {"const": "http"}}},
            "then": {"required": ["scheme"]},
        },
        "SecurityRequirement": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
}


def _walk(node: Any, pointer: str = "") -> Any:
    yield pointer, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{pointer}/{key.replace('~', '~0').replace('/', '~1')}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{pointer}/{index}")


def _embedded_schemas() -> list[tuple[str, Any]]:
    """Every JSON Schema in the document: components.schemas and each `schema` field."""
    found = [(f"/components/schemas/{n}", s) for n, s in SCHEMA["components"]["schemas"].items()]
    for pointer, node in _walk(SCHEMA["paths"]):
        if isinstance(node, dict) and "schema" in node:
            found.append((f"/paths{pointer}/schema", node["schema"]))
    for pointer, node in _walk(SCHEMA["components"]["responses"]):
        if isinstance(node, dict) and "schema" in node:
            found.append((f"/components/responses{pointer}/schema", node["schema"]))
    return found


def test_the_document_has_the_shape_of_openapi_3_1() -> None:
    Draft202012Validator.check_schema(OPENAPI_31)
    errors = sorted(Draft202012Validator(OPENAPI_31).iter_errors(SCHEMA), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_the_meta_check_catches_a_typo() -> None:
    # The closed description above is what makes the previous test worth something.
    broken = {**SCHEMA, "paths": {"/x": {"get": {"operationId": "x", "reponses": {}}}}}
    assert list(Draft202012Validator(OPENAPI_31).iter_errors(broken))


def test_every_embedded_schema_is_valid_json_schema_2020_12() -> None:
    schemas = _embedded_schemas()
    assert len(schemas) > 20
    for pointer, schema in schemas:
        try:
            Draft202012Validator.check_schema(schema)
        except Exception as exc:  # pragma: no cover - the message is the point
            pytest.fail(f"{pointer}: {exc}")


def test_every_ref_points_at_something() -> None:
    resolver = REGISTRY.resolver(DOC_URI)
    refs = [node["$ref"] for _, node in _walk(SCHEMA) if isinstance(node, dict) and "$ref" in node]
    assert refs
    for ref in refs:
        assert ref.startswith("#/"), ref
        assert resolver.lookup(DOC_URI + ref).contents is not None, ref


def test_operation_ids_are_unique_and_path_parameters_declared() -> None:
    ids = []
    for path, item in SCHEMA["paths"].items():
        declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        templated = {part[1:-1] for part in path.split("/") if part.startswith("{")}
        for method in _OPERATION_NAMES:
            if method in item:
                ids.append(item[method]["operationId"])
                own = {p["name"] for p in item[method].get("parameters", []) if p["in"] == "path"}
                assert templated == declared | own, (path, method)
    assert len(ids) == len(set(ids))


def test_the_paths_are_the_apps_urls() -> None:
    some_id = uuid.uuid4()
    expected = {
        "/api/analyses": reverse("api:analyses"),
        "/api/analyses/{id}": reverse("api:analysis", args=[some_id]),
        "/api/raw/{id}": reverse("api:raw", args=[some_id]),
        "/api/schema": reverse("api:schema"),
    }
    assert set(SCHEMA["paths"]) == set(expected)
    for template, url in expected.items():
        assert template.replace("{id}", str(some_id)) == url


@pytest.mark.django_db
def test_the_served_document_is_this_one() -> None:
    response = Client().get(reverse("api:schema"))
    assert response.status_code == 200
    assert response.json() == SCHEMA


# --- (2) real answers against the document ------------------------------------------------


def _pointer(*parts: str) -> str:
    return "".join("/" + quote(p.replace("~", "~0").replace("/", "~1"), safe="~{}") for p in parts)


class Checker:
    """Validates answers of one operation and remembers which declared statuses it saw."""

    def __init__(self, path: str, method: str) -> None:
        self.path, self.method = path, method
        self.operation = SCHEMA["paths"][path][method]
        self.seen: set[str] = set()

    def __call__(self, response: Any) -> Any:
        status = str(response.status_code)
        where = f"{self.method.upper()} {self.path} -> {status}"
        assert status in self.operation["responses"], f"{where}: status not declared"
        spec = self.operation["responses"][status]
        base = _pointer("paths", self.path, self.method, "responses", status)
        if "$ref" in spec:
            base = spec["$ref"][1:]
            spec = REGISTRY.resolver(DOC_URI).lookup(DOC_URI + spec["$ref"]).contents
        for header in spec.get("headers", {}):
            assert header in response, f"{where}: header {header} missing"
        content = spec.get("content")
        if not content:
            assert response.content == b"", where
        else:
            media = response["Content-Type"].split(";")[0].strip()
            assert media in content, f"{where}: {media} not declared"
            if media == "application/json":
                ref = {"$ref": f"{DOC_URI}#{base}{_pointer('content', media, 'schema')}"}
                validator = Draft202012Validator(ref, registry=REGISTRY, format_checker=FORMATS)
                errors = sorted(validator.iter_errors(json.loads(response.content)), key=str)
                assert not errors, (
                    where
                    + "\n"
                    + "\n".join(f"  {list(e.absolute_path)}: {e.message}" for e in errors)
                )
        self.seen.add(status)
        return response

    def assert_all_declared_seen(self) -> None:
        assert self.seen == set(self.operation["responses"]), (self.path, self.method)


MESSAGE = (
    b"From: carol@example.com\r\nTo: dave@example.net\r\nSubject: schema check\r\n"
    b"Message-ID: <s@example.com>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nHello.\r\n"
)


def signed_message() -> tuple[bytes, dict[str, Any]]:
    """A one-hop DKIM2 message and a zone that holds its key."""
    key = ed25519.Ed25519PrivateKey.generate()
    signed = sign(
        MESSAGE,
        domain="example.com",
        keys=[SigningKey("ed1", key)],
        timestamp=int(time.time()),
        mail_from="<carol@example.com>",
        rcpt_to=["<dave@example.net>"],
    )
    return signed.message, {"example.com": {"ed1._domainkey": [["txt", public_record_for(key)]]}}


@pytest.fixture
def api(alice: Any) -> Client:
    _, key = account_services.api_token_create(user=alice, name="t")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def done(owner: Any, raw: bytes, zone: dict[str, Any], **kwargs: Any) -> Analysis:
    analysis = services.analysis_submit(raw=raw, owner=owner, enqueue=False, **kwargs)
    services.analysis_run(analysis_id=analysis.pk, lookup=StaticResolver(zone))
    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.DONE, analysis.error
    return analysis


@pytest.mark.django_db
def test_the_answers_of_post_analyses(api: Client, settings: Any) -> None:
    check = Checker("/api/analyses", "post")
    url = reverse("api:analyses")
    check(api.post(url + "?mail_from=a%40x.example", data=MESSAGE, content_type="message/rfc822"))
    check(api.post(url, {"message": SimpleUploadedFile("m.eml", MESSAGE), "rcpt_to": ["b@y"]}))
    check(api.post(url, {"mail_from": "a@x.example"}))
    check(Client().post(url, data=MESSAGE, content_type="message/rfc822"))
    check(api.post(url, data=MESSAGE, content_type="text/plain"))
    settings.DKIM2WEB_MAX_MESSAGE_BYTES = 10
    check(api.post(url, data=MESSAGE, content_type="message/rfc822"))
    check.assert_all_declared_seen()


@pytest.mark.django_db
def test_the_answers_of_get_analyses(api: Client, alice: Any, settings: Any) -> None:
    settings.DKIM2WEB_API_PAGE_SIZE = 2
    raw, zone = signed_message()
    done(alice, raw, zone)
    done(alice, MESSAGE, {})
    services.analysis_submit(raw=MESSAGE, owner=alice, enqueue=False)
    check = Checker("/api/analyses", "get")
    url = reverse("api:analyses")
    body = check(api.get(url)).json()
    assert {item["status"] for item in body["results"]} <= {"done", "queued"}
    check(api.get(url, {"page": 2}))
    check(api.get(url, {"page": "zero"}))
    check(api.get(url, {"page": 3}))
    check(Client().get(url))
    check.assert_all_declared_seen()


@pytest.mark.django_db
def test_the_answers_of_get_analysis(api: Client, alice: Any, bob: Any) -> None:
    check = Checker("/api/analyses/{id}", "get")

    def get(analysis_id: object, client: Client = api) -> Any:
        return check(client.get(reverse("api:analysis", args=[analysis_id])))

    queued = services.analysis_submit(
        raw=MESSAGE, owner=alice, enqueue=False, mail_from="c@x", rcpt_to=["d@y"]
    )
    assert get(queued.pk).json()["status"] == "queued"

    raw, zone = signed_message()
    passing = done(alice, raw, zone, mail_from="carol@example.com", rcpt_to=["dave@example.net"])
    report = get(passing.pk).json()["report"]
    assert (report["schema_version"], report["result"]) == (2, "pass")
    assert report["dkim2"]["hops"] and report["dkim2"]["instances"] and report["dns"]
    assert {"dkim1", "arc", "spf", "dmarc", "receivers"} <= set(report)

    keyless = done(alice, raw, {})  # the key is missing: a finding with data, a DNS error
    report = get(keyless.pk).json()["report"]
    assert report["result"] != "pass"
    chain = report["dkim2"]
    assert chain["findings"] or any(hop["findings"] for hop in chain["hops"])

    services.analysis_rerun(analysis=keyless)
    services.analysis_run(analysis_id=keyless.pk, lookup=StaticResolver(zone))
    assert len(get(keyless.pk).json()["runs"]) == 1

    # A run stored before every mechanism was checked (schema 1): served upgraded.
    old = services.analysis_submit(raw=MESSAGE, owner=alice, enqueue=False)
    Analysis.objects.filter(pk=old.pk).update(status="done")
    AnalysisRun.objects.create(
        analysis=old,
        result="pass",
        report={**keyless_chain_v1(chain), "result": "pass", "summary": "Pass: 1 hop verified"},
        engine_version="0.1.0",
        draft="draft-ietf-dkim-dkim2-spec-06",
    )
    upgraded = get(old.pk).json()["report"]
    assert (upgraded["schema_version"], upgraded["upgraded_from"]) == (2, 1)
    assert upgraded["dkim1"] is None and upgraded["verdict"]["headline"] == "Pass: 1 hop verified"

    failed = services.analysis_submit(raw=MESSAGE, owner=alice, enqueue=False)
    Analysis.objects.filter(pk=failed.pk).update(status="failed", error="RuntimeError: boom")
    assert get(failed.pk).json()["error"] == "RuntimeError: boom"

    get(passing.pk, Client())
    get("not-a-uuid")
    get(passing.pk, Client(HTTP_AUTHORIZATION="Bearer " + _token(bob)))
    check.assert_all_declared_seen()


def keyless_chain_v1(chain: dict[str, Any]) -> dict[str, Any]:
    """A DKIM2 chain section as a schema 1 report stored it (the chain with its message)."""
    return {**chain, "schema_version": 1, "message": {"subject": "old", "size": 1}}


@pytest.mark.django_db
def test_the_answers_of_delete_analysis(api: Client, alice: Any) -> None:
    check = Checker("/api/analyses/{id}", "delete")
    analysis = done(alice, MESSAGE, {})
    url = reverse("api:analysis", args=[analysis.pk])
    check(Client().delete(url))
    check(api.delete(url))
    check(api.delete(url))
    check.assert_all_declared_seen()


@pytest.mark.django_db
def test_the_answers_of_get_raw(api: Client, alice: Any) -> None:
    check = Checker("/api/raw/{id}", "get")
    analysis = services.analysis_submit(raw=MESSAGE, owner=alice, enqueue=False)
    url = reverse("api:raw", args=[analysis.pk])
    assert check(api.get(url)).content == MESSAGE
    check(Client().get(url))
    check(api.get(reverse("api:raw", args=[uuid.uuid4()])))
    check.assert_all_declared_seen()


@pytest.mark.django_db
def test_the_answers_of_get_schema() -> None:
    check = Checker("/api/schema", "get")
    check(Client().get(reverse("api:schema")))
    check.assert_all_declared_seen()


def _token(user: Any) -> str:
    return account_services.api_token_create(user=user, name="t")[1]


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"count": 0, "page": 1, "pages": 1, "results": []}, "page_size"),
        (
            {"count": 0, "page": 1, "pages": 1, "page_size": 2, "results": [], "extra": 1},
            "extra",
        ),
        (
            {
                "count": 0,
                "page": 1,
                "pages": 1,
                "page_size": 2,
                "results": [],
                "next": "/api/analyses?page=2",
                "previous": None,
            },
            "uri",
        ),
    ],
)
def test_a_wrong_answer_would_be_caught(body: dict[str, Any], complaint: str) -> None:
    # The checker itself: a missing field, an undeclared one, a relative URL all fail it.
    from django.http import JsonResponse

    with pytest.raises(AssertionError, match=complaint):
        Checker("/api/analyses", "get")(JsonResponse(body))
