"""The API page (/api/docs): the OpenAPI document rendered on the server for people, with
every operation, parameter, body, response, error code and example; no script, so the CSP
holds; linked from every page's footer."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from dkim2web.api import docs as api_docs_module
from dkim2web.api.errors import ERROR_MEANINGS, ErrorCode
from dkim2web.api.schema import SCHEMA

DOCS = "/api/docs"


@pytest.fixture
def page(client: Client) -> str:
    response = client.get(DOCS)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    return response.content.decode()


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in SCHEMA["paths"].items():
        for method in ("get", "post", "delete"):
            if method in item:
                yield path, method, item[method]


def test_the_url_and_the_schema_link() -> None:
    assert reverse("api:docs") == DOCS


def test_every_operation_is_on_the_page_with_its_examples(page: str) -> None:
    found = list(operations())
    assert len(found) == 6
    for path, method, op in found:
        anchor = f'<section id="op-{op["operationId"]}" class="section api-operation">'
        assert anchor in page
        heading = f'<h2><span class="api-method">{method.upper()}</span> <code>{path}</code></h2>'
        assert heading in page
        assert f"<p>{html.escape(op['summary'])}." in page
        for sample in op["x-codeSamples"]:
            assert f'<pre class="mono"><code>{html.escape(sample["source"])}</code></pre>' in page
        for status in op["responses"]:
            assert f"<td><code>{status}</code></td>" in page


def test_the_submit_operation_in_full(page: str) -> None:
    start = page.index('<section id="op-createAnalysis"')
    section = page[start : page.index("</section>", start)]
    # A parameter: name, place, type linked to its object, description, values, default.
    assert (
        "<td><code>revision</code></td>\n    <td>query</td>\n"
        '    <td><a href="#schema-Revision">Revision</a></td>\n'
        "    <td>The DKIM2 draft revision whose rules judge the chain (a multipart body may "
        "send it as a field instead); anything else is invalid_revision. One of: "
        "<code>auto</code>, <code>06</code>, <code>07</code>, <code>08</code>, "
        "<code>09</code>. Default: <code>auto</code>.</td>"
    ) in section
    # The request body's types and the multipart parts.
    assert "<p><code>message/rfc822</code>: string (message/rfc822 bytes)</p>" in section
    assert "<p><code>multipart/form-data</code>: object, with these parts:</p>" in section
    assert '<td><code>message</code> <span class="muted small">required</span></td>' in section
    # The error answers and an example answer.
    assert "no_header_fields (not an e-mail message: its first line is not a header" in section
    assert "<h3>Example answer: 201</h3>" in section
    assert html.escape('"status": "queued"') in section
    assert (
        html.escape(
            'curl -H "Authorization: Bearer $TOKEN" -F message=@message.eml -F revision=auto '
            '"$DKIM2WEB/api/analyses"'
        )
        in section
    )


def test_the_schema_endpoint_needs_no_token(page: str) -> None:
    start = page.index('<section id="op-getSchema"')
    assert "<p>This document. No token is needed.</p>" in page[start:]


def test_every_error_code_with_its_status_and_meaning(page: str) -> None:
    assert set(ERROR_MEANINGS) == set(ErrorCode)
    for code in ErrorCode:
        status, _, meaning = ERROR_MEANINGS[code].partition(": ")
        assert status in {"400", "401", "404", "405", "413", "415", "429"}, code
        row = (
            f'<tr id="error-{code}"><td><code>{code}</code></td><td>{status}</td>'
            f"<td>{html.escape(meaning)}</td></tr>"
        )
        assert row in page
    assert (
        '<tr id="error-no_header_fields"><td><code>no_header_fields</code></td><td>400</td>'
        "<td>not an e-mail message: its first line is not a header field and it has no From: "
        "field (a text file, a pasted paragraph, an HTML page), or it is plainly another format"
    ) in page


def test_every_object_has_a_table_and_every_link_a_target(page: str) -> None:
    for name in SCHEMA["components"]["schemas"]:
        assert f'<section id="schema-{name}" class="api-object">\n    <h3>{name}</h3>' in page
    ids = set(re.findall(r' id="([^"]+)"', page))
    targets = set(re.findall(r'href="#([^"]+)"', page))
    assert targets and targets <= ids, targets - ids


def test_the_page_names_this_site_and_links_the_schema(page: str, client: Client) -> None:
    assert "is this site's address (<code>http://testserver</code>)" in page
    assert '<a href="/api/schema"><code>/api/schema</code></a>' in page
    assert "log in, then make one on your account page" in page


def test_a_logged_in_user_is_pointed_at_the_token_page(alice_client: Client) -> None:
    body = alice_client.get(DOCS).content.decode()
    assert f'make one on <a href="{reverse("accounts:profile")}">your account page</a>' in body


def test_no_inline_script_or_style_so_the_csp_holds(client: Client) -> None:
    response = client.get(DOCS)
    body = response.content.decode()
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "style-src 'self'" in response["Content-Security-Policy"]
    # Only the site's own static scripts (base.html's), none inline and none of the page's.
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", body, flags=re.S)
    assert all(re.search(r'src="/static/', attrs) and not inner for attrs, inner in scripts)
    assert body.count("<script") == len(scripts)
    assert " style=" not in body and "<style" not in body


def test_the_page_follows_the_schema(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing is written into the page by hand: an operation added to the document shows."""
    extra = {
        "get": {
            "operationId": "pingForTest",
            "summary": "A made-up operation",
            "responses": {"204": {"description": "Nothing."}},
        }
    }
    monkeypatch.setitem(SCHEMA["paths"], "/api/ping", extra)
    api_docs_module.api_docs.cache_clear()
    try:
        body = client.get(DOCS).content.decode()
    finally:
        api_docs_module.api_docs.cache_clear()
    assert '<h2><span class="api-method">GET</span> <code>/api/ping</code></h2>' in body
    assert "<p>A made-up operation.</p>" in body


def test_non_get_is_refused(client: Client) -> None:
    assert client.post(DOCS).status_code == 405


# -- the examples in the document are true to it -----------------------------------------------


def test_every_example_answer_validates_against_its_schema() -> None:
    registry = Registry().with_resource("urn:doc", DRAFT202012.create_resource(SCHEMA))
    checked = 0

    def check(where: str, media: dict[str, Any]) -> None:
        nonlocal checked
        if "example" not in media:
            return
        schema = {"$ref": "urn:doc" + media["schema"]["$ref"]}
        errors = list(Draft202012Validator(schema, registry=registry).iter_errors(media["example"]))
        assert not errors, f"{where}: {errors[0].message}"
        checked += 1

    for path, method, op in operations():
        for status, response in op["responses"].items():
            for media in response.get("content", {}).values():
                check(f"{method} {path} {status}", media)
    for name, response in SCHEMA["components"]["responses"].items():
        for media in response.get("content", {}).values():
            check(name, media)
    assert checked == 5


# -- linked from every page's footer ----------------------------------------------------------

FOOTER = (
    '<footer class="site-footer">dkim2web · DKIM2 message forensics · '
    '<a href="/api/docs">API</a></footer>'
)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    ["/", "/analyses/new/", "/analyses/", DOCS, "/accounts/login/", "/no-such-page/"],
)
def test_every_page_links_the_api_page_in_its_footer(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code in {200, 404}
    assert FOOTER in response.content.decode()
