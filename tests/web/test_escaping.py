"""Everything a sender or uploader controls is shown escaped: Subject, display names, other
header values, RFC 2047 encoded words (decoded, then escaped), filenames, HTML parts, DNS
records. No template marks anything safe."""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse

from analysis.dkim2.keys import public_record_for
from analysis.dkim2.sign import SigningKey, sign
from analysis.resolvers import StaticResolver
from dkim2web.reports import services
from dkim2web.reports.models import Analysis

REPO = Path(__file__).resolve().parents[2]
XSS = "<script>alert(1)</script>"
FILENAME = "<script>alert(1)</script>.eml"

HOSTILE = (
    # What receivers and relays wrote is attacker-controlled too: a forged
    # Authentication-Results field, a Received field and a DKIM1 signature with markup.
    "Authentication-Results: mx<script>alert(7)</script>.example.net;\r\n"
    ' spf=pass (<script>alert(8)</script>) smtp.mailfrom="<script>alert(9)</script>"\r\n'
    "Received: from <script>alert(10)</script> (x [192.0.2.1])\r\n"
    " by mx.example.net; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
    "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=<script>alert(11)</script>;\r\n"
    " h=from; bh=AAAA; b=BBBB\r\n"
    f'From: "{XSS}" <alice@example.com>\r\n'
    "To: bob@example.net\r\n"
    f"Subject: {XSS} =?utf-8?q?=3Cscript=3Ealert(2)=3C/script=3E?=\r\n"
    "X-Evil: <img src=x onerror=alert(3)>\r\n"
    # (a comment: a Return-Path that is not one well-formed address is not read, and SPF,
    # whose record below carries markup too, would then not be evaluated)
    "Return-Path: <a@example.com> (<script>alert(4)</script>)\r\n"
    "MIME-Version: 1.0\r\n"
    'Content-Type: multipart/alternative; boundary="b"\r\n'
    "\r\n"
    "--b\r\n"
    "Content-Type: text/html\r\n"
    "\r\n"
    "<html><body><script>alert(5)</script><b onclick=alert(6)>bold</b></body></html>\r\n"
    "--b--\r\n"
).encode()


@pytest.fixture
def hostile(alice: Any) -> Analysis:
    key = ed25519.Ed25519PrivateKey.generate()
    signed = sign(
        HOSTILE,
        domain="example.com",
        keys=[SigningKey("ed1", key)],
        timestamp=int(time.time()) - 60,
        mail_from="<alice@example.com>",
        rcpt_to=["<bob@example.net>"],
    ).message
    # A key record with markup in it: DNS answers are attacker-controlled too.
    zone = {
        "example.com": {
            "ed1._domainkey": [["txt", public_record_for(key)]],
            "@": [["txt", "v=spf1 include:<script>alert(12)</script> -all"]],
            "_dmarc": [["txt", "v=DMARC1; p=none; rua=mailto:<script>alert(13)</script>"]],
        }
    }
    stored = services.analysis_submit(raw=signed, filename=FILENAME, owner=alice, enqueue=False)
    services.analysis_run(analysis_id=stored.pk, lookup=StaticResolver(zone))
    stored.refresh_from_db()
    assert stored.status == Analysis.Status.DONE, stored.error
    return stored


class Tags(HTMLParser):
    """Every start tag a browser would build from the page, with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def assert_no_live_markup(body: str) -> None:
    parser = Tags()
    parser.feed(body)
    for tag, attrs in parser.tags:
        # Our own scripts are static files; any other script, image or handler is a leak.
        if tag == "script":
            assert (attrs.get("src") or "").startswith("/static/"), attrs
        assert tag not in ("img", "iframe", "object", "embed", "b"), (tag, attrs)
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)


@pytest.mark.django_db
def test_the_result_page_shows_every_hostile_value_escaped(
    hostile: Analysis, alice_client: Client
) -> None:
    response = alice_client.get(reverse("reports:detail", args=[hostile.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert_no_live_markup(body)
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    # The Subject, decoded (the encoded word becomes markup text) and as written.
    assert (f'<span class="decoded">{escaped} &lt;script&gt;alert(2)&lt;/script&gt;</span>') in body
    assert f"{escaped} =?utf-8?q?=3Cscript=3Ealert(2)=3C/script=3E?=</span>" in body
    # The From display name, the filename, another header value, the HTML part.
    assert f"<dd>&quot;{escaped}&quot; &lt;alice@example.com&gt;</dd>" in body
    assert f'<span class="filename">{escaped}.eml</span>' in body
    assert "<title>Trusted: &lt;script&gt;alert(1)&lt;/script&gt;.eml · dkim2web</title>" in body
    # Every section beside DKIM2 shows what it read from the message and from DNS escaped.
    for n in (7, 8, 9, 10, 11, 12, 13):
        assert f"&lt;script&gt;alert({n})&lt;/script&gt;" in body, n
    assert '<span class="raw-name">X-Evil</span>: &lt;img src=x onerror=alert(3)&gt;' in body
    assert (
        "&lt;html&gt;&lt;body&gt;&lt;script&gt;alert(5)&lt;/script&gt;"
        "&lt;b onclick=alert(6)&gt;bold&lt;/b&gt;&lt;/body&gt;&lt;/html&gt;"
    ) in body
    # The envelope hint from Return-Path, in the text and in the form's value attribute.
    assert "&lt;a@example.com&gt; (&lt;script&gt;alert(4)&lt;/script&gt;)" in body
    assert 'value="&lt;a@example.com&gt; (&lt;script&gt;alert(4)&lt;/script&gt;)"' in body


@pytest.mark.django_db
def test_the_list_shows_the_filename_escaped(hostile: Analysis, alice_client: Client) -> None:
    body = alice_client.get(reverse("reports:list")).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.eml</a>" in body
    assert_no_live_markup(body)


@pytest.mark.django_db
def test_the_delete_page_shows_the_filename_escaped(
    hostile: Analysis, alice_client: Client
) -> None:
    body = alice_client.get(reverse("reports:delete", args=[hostile.pk])).content.decode()
    assert '<span class="filename">&lt;script&gt;alert(1)&lt;/script&gt;.eml</span>' in body
    assert_no_live_markup(body)


@pytest.mark.django_db
def test_the_json_report_is_served_as_json_not_html(
    hostile: Analysis, alice_client: Client
) -> None:
    response = alice_client.get(reverse("reports:report_json", args=[hostile.pk]))
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
@override_settings(DKIM2WEB_MAX_MESSAGE_BYTES=10)
def test_an_error_about_a_hostile_filename_is_escaped(alice_client: Client) -> None:
    # Django keeps only what follows the last "/" of an uploaded name, so no "</script>".
    upload = SimpleUploadedFile("<img src=x onerror=alert(1)>.eml", b"Subject: x\r\n\r\nbody")
    response = alice_client.post(reverse("reports:new"), {"files": upload})
    body = response.content.decode()
    assert response.status_code == 413
    assert "<li>&lt;img src=x onerror=alert(1)&gt;.eml is 18 bytes;" in body
    assert_no_live_markup(body)


@pytest.mark.django_db
def test_pasted_markup_comes_back_escaped_in_the_form(client: Client) -> None:
    text = f"Return-Path: {XSS}\r\nSubject: {XSS}\r\n\r\n</textarea>{XSS}\r\n"
    response = client.post(reverse("reports:new"), {"raw_text": text, "action": "hints"})
    body = response.content.decode()
    assert "&lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in body
    assert_no_live_markup(body)


@pytest.mark.django_db
def test_a_hostile_error_text_on_a_failed_analysis_is_escaped(
    alice: Any, alice_client: Client
) -> None:
    stored = services.analysis_submit(raw=b"x", owner=alice, enqueue=False)
    Analysis.objects.filter(pk=stored.pk).update(status="failed", error=f"ValueError: {XSS}")
    body = alice_client.get(reverse("reports:detail", args=[stored.pk])).content.decode()
    assert "ValueError: &lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert_no_live_markup(body)


def test_no_template_marks_anything_safe() -> None:
    templates = list((REPO / "templates").rglob("*.html"))
    assert templates
    for path in templates:
        text = path.read_text()
        assert "|safe" not in text, path
        assert "autoescape off" not in text, path
        assert "mark_safe" not in text, path


def test_no_template_has_inline_script_or_style() -> None:
    for path in (REPO / "templates").rglob("*.html"):
        text = path.read_text()
        assert "style=" not in text, path
        assert "<style" not in text, path
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), path
        assert not re.search(r"\son[a-z]+=", text), path  # no event handler attributes
