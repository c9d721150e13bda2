"""The API page (/api/docs): the OpenAPI document, SCHEMA, rendered for people on the server.

Nothing here knows the API by heart: every operation, parameter, body, response, error code,
example and object is read from the document, so the page cannot drift from /api/schema.
No script is needed (and the CSP allows none inline): the page is plain HTML and the site's
stylesheet.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .schema import SCHEMA

_METHODS = ("get", "post", "put", "patch", "delete")
_REF_PREFIX = "#/components/schemas/"


@dataclass(frozen=True)
class Segment:
    """A piece of description text; ``code`` for what the document writes in `backticks`."""

    text: str
    code: bool


def segments(text: str) -> list[Segment]:
    """``text`` split at backticks (the document's only markup), for the template."""
    parts = text.split("`")
    return [Segment(part, index % 2 == 1) for index, part in enumerate(parts) if part]


@dataclass(frozen=True)
class Kind:
    """A schema in a few words, and the component it names, if one."""

    words: str
    ref: str = ""  # a component's name: the page links to its table


def kind_of(schema: Any) -> Kind:
    """``string (uuid)``, ``array of string``, ``Status``, ``integer or null``, ``one of …``."""
    if not isinstance(schema, Mapping):
        return Kind("any value")
    ref = schema.get("$ref", "")
    if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
        return Kind(ref.removeprefix(_REF_PREFIX), ref.removeprefix(_REF_PREFIX))
    if "oneOf" in schema:
        kinds = [kind_of(s) for s in schema["oneOf"]]
        named = next((k.ref for k in kinds if k.ref), "")
        return Kind(" or ".join(k.words for k in kinds), named)
    if "const" in schema:
        return Kind(json.dumps(schema["const"]))
    kind = schema.get("type", "any value")
    words = " or ".join(kind) if isinstance(kind, list) else str(kind)
    if schema.get("format"):
        words += f" ({schema['format']})"
    if schema.get("contentMediaType"):
        words += f" ({schema['contentMediaType']} bytes)"
    items = schema.get("items")
    if kind == "array" and items is not None:
        inner = kind_of(items)
        return Kind(f"array of {inner.words}", inner.ref)
    return Kind(words)


def _choices(schema: Any) -> list[str]:
    values = schema.get("enum") if isinstance(schema, Mapping) else None
    return [json.dumps(v) if not isinstance(v, str) else v for v in values or []]


@dataclass
class Field:
    name: str
    kind: Kind
    where: str = ""  # a parameter's place: query, path
    required: bool = False
    description: list[Segment] = field(default_factory=list)
    choices: list[str] = field(default_factory=list)
    default: str = ""


@dataclass
class Body:
    media_type: str
    kind: Kind
    fields: list[Field] = field(default_factory=list)  # a multipart form's parts


@dataclass
class Response:
    status: str
    description: list[Segment]
    kinds: list[tuple[str, Kind]]  # (media type, schema)
    headers: list[Field]
    example: str  # pretty JSON, or ""


@dataclass
class Operation:
    method: str
    path: str
    anchor: str
    summary: str
    description: list[Segment]
    authenticated: bool
    parameters: list[Field]
    bodies: list[Body]
    responses: list[Response]
    examples: list[str]


@dataclass
class Component:
    name: str
    description: list[Segment]
    fields: list[Field]
    choices: list[str]  # a string component's values (Status, Revision)
    open: bool  # may gain properties (the engine's report)


@dataclass
class ErrorCodeRow:
    code: str
    status: str
    meaning: str


@dataclass
class ApiDocs:
    title: str
    version: str
    description: list[Segment]
    auth: list[Segment]
    operations: list[Operation]
    errors: list[ErrorCodeRow]
    components: list[Component]


def _resolve(node: Any) -> Any:
    """A ``#/components/...`` reference followed (once: the document's refs are flat)."""
    if isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
        target: Any = SCHEMA
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return target
    return node


def _field(name: str, schema: Any, *, required: bool, where: str = "", about: str = "") -> Field:
    schema = schema if isinstance(schema, Mapping) else {}
    target = _resolve(schema) if "$ref" in schema else schema
    description = about or str(schema.get("description") or target.get("description") or "")
    default = schema.get("default", target.get("default"))
    return Field(
        name=name,
        kind=kind_of(schema),
        where=where,
        required=required,
        description=segments(description),
        choices=_choices(target),
        default="" if default is None else str(default),
    )


def _parameters(raw: list[Any]) -> list[Field]:
    fields = []
    for item in raw:
        p = _resolve(item)
        fields.append(
            _field(
                str(p["name"]),
                p.get("schema", {}),
                required=bool(p.get("required")),
                where=str(p.get("in", "")),
                about=str(p.get("description") or ""),
            )
        )
    return fields


def _bodies(request_body: Any) -> list[Body]:
    if not isinstance(request_body, Mapping):
        return []
    bodies = []
    for media_type, media in request_body.get("content", {}).items():
        schema = media.get("schema", {})
        parts = []
        if schema.get("type") == "object":
            required = set(schema.get("required", []))
            parts = [
                _field(name, sub, required=name in required)
                for name, sub in schema.get("properties", {}).items()
            ]
        bodies.append(Body(media_type, kind_of(schema), parts))
    return bodies


def _responses(raw: Mapping[str, Any]) -> list[Response]:
    found = []
    for status, item in raw.items():
        response = _resolve(item)
        content = response.get("content", {})
        examples = [m["example"] for m in content.values() if "example" in m]
        found.append(
            Response(
                status=str(status),
                description=segments(str(response.get("description", ""))),
                kinds=[(t, kind_of(m.get("schema"))) for t, m in content.items()],
                headers=[
                    _field(
                        name, h.get("schema", {}), required=False, about=h.get("description", "")
                    )
                    for name, h in response.get("headers", {}).items()
                ],
                example=json.dumps(examples[0], indent=2, ensure_ascii=False) if examples else "",
            )
        )
    return found


def _operations() -> list[Operation]:
    default_security = bool(SCHEMA.get("security"))
    operations = []
    for path, item in SCHEMA["paths"].items():
        shared = list(item.get("parameters", []))
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            security = op.get("security")
            operations.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    anchor=f"op-{op['operationId']}",
                    summary=str(op.get("summary", "")),
                    description=segments(str(op.get("description", ""))),
                    authenticated=default_security if security is None else bool(security),
                    parameters=_parameters(shared + list(op.get("parameters", []))),
                    bodies=_bodies(op.get("requestBody")),
                    responses=_responses(op.get("responses", {})),
                    examples=[str(s["source"]) for s in op.get("x-codeSamples", [])],
                )
            )
    return operations


def _errors() -> list[ErrorCodeRow]:
    code = SCHEMA["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]
    rows = []
    for value, meaning in zip(code["enum"], code.get("x-enum-descriptions", []), strict=True):
        status, _, words = str(meaning).partition(": ")
        rows.append(ErrorCodeRow(str(value), status, words))
    return rows


def _components() -> list[Component]:
    found = []
    for name, schema in SCHEMA["components"]["schemas"].items():
        required = set(schema.get("required", []))
        found.append(
            Component(
                name=name,
                description=segments(str(schema.get("description", ""))),
                fields=[
                    _field(prop, sub, required=prop in required)
                    for prop, sub in schema.get("properties", {}).items()
                ],
                choices=_choices(schema),
                open=schema.get("type") == "object"
                and schema.get("additionalProperties") is not False,
            )
        )
    return found


@functools.cache
def api_docs() -> ApiDocs:
    """Everything the API page shows, read from SCHEMA."""
    info = SCHEMA["info"]
    schemes = SCHEMA["components"].get("securitySchemes", {})
    auth = " ".join(str(s.get("description", "")) for s in schemes.values())
    return ApiDocs(
        title=str(info["title"]),
        version=str(info["version"]),
        description=segments(str(info.get("description", ""))),
        auth=segments(auth),
        operations=_operations(),
        errors=_errors(),
        components=_components(),
    )
