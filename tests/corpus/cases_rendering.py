"""Rendering: markup, script, SVG, event handlers, javascript: URLs, meta refresh, base tags,
outside resources and right-to-left overrides, in every place the result page shows text
taken from the message (header values, bodies and parts, recipe literals in diffs, finding
details, key records in the DNS evidence, Authentication-Results and Received fields).

Every case goes through Chromium (tests/corpus/test_corpus_browser.py): the upload form, then
the result page, where no script may run (``window.__pwned`` stays undefined, no dialog, no
page error) and no request may leave the page (only the live server's origin is asked).
``BrowserCheck.shown`` is text the page must show as text.
"""

from __future__ import annotations

from tests.support import chains
from tests.support.chains import SIG, b64, set_tag, set_zone_entry

from .model import ApiRequest, BrowserCheck, Case, E, Refusal, UploadRequest
from .world import API, AUTHOR, BROWSER, INTAKE, UPLOAD, Builder, one_hop, two_hops

NONE = E("none", v="none")
BINARY_REFUSAL = Refusal(
    400,
    "",
    "message.eml: This is a binary file, not an e-mail message. An e-mail message is text: "
    "header fields such as From: and Date:, an empty line, then the body. Save the original "
    'message ("Show original", "View source" or "Save as .eml") and upload that. Nothing was '
    "stored.",
)
PASS = E("pass", v="pass")
EVIL = "http://evil.example"

SCRIPT = "<script>window.__pwned='{}'</script>"
IMG = '<img src="' + EVIL + '/{}.png" onerror="window.__pwned=\'{}\'">'


def _html_message(html: str, *, subject: str = "html part", extra: str = "") -> bytes:
    return (
        "From: Alice <alice@example.com>\r\nTo: bob@example.net\r\n"
        f"Subject: {subject}\r\nMIME-Version: 1.0\r\n{extra}"
        'Content-Type: multipart/alternative; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain\r\n\r\nplain part\r\n"
        "--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        f"{html}\r\n--b1--\r\n"
    ).encode()


def build() -> list[Case]:
    b = Builder("rendering")
    everywhere = BROWSER | UPLOAD

    def unsigned(name: str, title: str, raw: bytes, *shown: str, **kw: object) -> None:
        kw.setdefault("paths", everywhere)
        b.add(
            name,
            title,
            raw,
            kw.pop("expect", NONE),
            mail_from=None,  # type: ignore[arg-type]
            browser=BrowserCheck(shown),
            **kw,
        )  # type: ignore[arg-type]

    def signed(name: str, title: str, start: bytes, *shown: str, **kw: object) -> None:
        s = one_hop(start, revision=str(kw.pop("revision", "09")))
        kw.setdefault("paths", everywhere)
        b.add(
            name,
            title,
            s.message,
            kw.pop("expect", PASS),
            of=s,  # type: ignore[arg-type]
            browser=BrowserCheck(shown),
            **kw,
        )  # type: ignore[arg-type]

    # -- header values ------------------------------------------------------------------------
    subject = SCRIPT.format("subject")
    signed(
        "subject-script",
        "a <script> Subject, signed",
        chains.message([("From", "Alice <alice@example.com>"), ("Subject", subject)]),
        subject,
        paths=BROWSER | frozenset({"upload", "api", "intake"}),
    )
    name = "<script>window.__pwned='from'</script>"
    signed(
        "from-display-name-script",
        "a <script> From display name, signed",
        chains.message([("From", f'"{name}" <alice@example.com>'), ("Subject", "hi")]),
        name,
    )
    unsigned(
        "header-img-onerror",
        "an <img onerror> in an X- header",
        chains.message([("From", "a@example.com"), ("X-Note", IMG.format("x-note", "x-note"))]),
        IMG.format("x-note", "x-note"),
    )
    unsigned(
        "header-javascript-url",
        "javascript: URLs in List-Unsubscribe and List-Post",
        chains.message(
            [
                ("From", "a@example.com"),
                ("List-Unsubscribe", "<javascript:window.__pwned='unsub'>"),
                ("List-Post", "<javascript:alert(1)>"),
            ]
        ),
        "javascript:window.__pwned='unsub'",
    )
    unsigned(
        "header-pre-breakout",
        "</pre>, </textarea> and </script> in header values",
        chains.message(
            [
                ("From", "a@example.com"),
                ("Subject", "</textarea></pre></script><script>window.__pwned='breakout'</script>"),
            ]
        ),
        "</textarea></pre></script>",
    )
    unsigned(
        "encoded-word-script",
        "an encoded word that decodes to <script>",
        chains.message(
            [("From", "a@example.com"), ("Subject", "=?utf-8?b?" + b64(SCRIPT.format("ew")) + "?=")]
        ),
    )
    unsigned(
        "template-syntax",
        "Django template syntax in header values and the body",
        chains.message(
            [
                ("From", "{{ request.user }} <a@example.com>"),
                ("Subject", "{% debug %} {{ settings.SECRET_KEY }}"),
            ],
            body="{% csrf_token %} {{ 7|add:7 }}\r\n",
        ),
        "{% debug %} {{ settings.SECRET_KEY }}",
    )
    rtl = "Invoice \u202efdp.exe"
    signed(
        "subject-rtl-override",
        "a right-to-left override in Subject and From, signed",
        chains.message([("From", "Alice \u202eecila <alice@example.com>"), ("Subject", rtl)]),
        paths=BROWSER | frozenset({"upload", "api"}),
    )
    unsigned(
        "control-characters",
        "ESC (a terminal colour sequence) and BEL in header values",
        chains.message([("From", "a@example.com"), ("Subject", "\x1b[31mred\x1b[0m \x07 bell")]),
        paths=BROWSER | API | UPLOAD,
    )
    unsigned(
        "nul-in-header",
        "a NUL in a header value: the upload form refuses a binary file, the API takes it",
        chains.message([("From", "a@example.com"), ("Subject", "b\x00ell <b>bold</b>")]),
        paths=BROWSER | API | UPLOAD,
        upload=UploadRequest(refusal=BINARY_REFUSAL),
    )

    # -- bodies and parts ----------------------------------------------------------------------
    html = (
        '<html><head><base href="'
        + EVIL
        + '/"><meta http-equiv="refresh" content="0;url='
        + EVIL
        + '/"><link rel=stylesheet href="'
        + EVIL
        + '/x.css">'
        "<style>@import url(" + EVIL + "/y.css); body{background:url(" + EVIL + "/z.png)}</style>"
        "</head><body onload=\"window.__pwned='onload'\">"
        + SCRIPT.format("html")
        + "<iframe src=\"javascript:window.__pwned='iframe'\"></iframe>"
        "<a href=\"javascript:window.__pwned='link'\">click</a>"
        + IMG.format("pixel", "img")
        + '<object data="'
        + EVIL
        + '/o.swf"></object>'
        "<iframe srcdoc=\"<script>parent.__pwned='srcdoc'</script>\"></iframe></body></html>"
    )
    unsigned(
        "html-part",
        "an HTML part with script, handlers, base, meta refresh and outside resources",
        _html_message(html),
        SCRIPT.format("html"),
        paths=BROWSER | frozenset({"upload", "intake"}),
    )
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" onload="window.__pwned=\'svg\'">'
        '<script>window.__pwned="svg-script"</script>'
        '<image href="' + EVIL + '/s.png"/></svg>'
    )
    unsigned(
        "svg-part",
        "an image/svg+xml part with script and an outside image",
        (
            "From: a@example.com\r\nSubject: svg\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="b2"\r\n\r\n'
            "--b2\r\nContent-Type: image/svg+xml\r\n"
            'Content-Disposition: inline; filename="x.svg"\r\n\r\n' + svg + "\r\n--b2--\r\n"
        ).encode(),
        "window.__pwned",
    )
    unsigned(
        "body-event-handlers",
        "event handlers and a data: URL in a plain-text body",
        chains.message(
            [("From", "a@example.com"), ("Subject", "handlers")],
            body="<div onmouseover=\"window.__pwned='hover'\">x</div>\r\n"
            '<a href="data:text/html,<script>alert(1)</script>">d</a>\r\n'
            "<body onpageshow=\"window.__pwned='show'\">\r\n",
        ),
        "onmouseover",
    )
    unsigned(
        "base64-html-part",
        "a base64-encoded HTML part with script",
        _html_message("").replace(
            b"Content-Type: text/html; charset=utf-8\r\n\r\n\r\n",
            b"Content-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + b64(SCRIPT.format("b64")).encode()
            + b"\r\n",
        ),
    )

    # -- what the analysis derives: diffs, findings, evidence, receivers --------------------------
    changed = SCRIPT.format("diff")
    diff = two_hops(
        modify=chains.compose(
            chains.set_header("Subject", changed), chains.append_body(IMG.format("d", "diff-body"))
        )
    )
    b.add(
        "diff-with-markup",
        "a list that set a <script> Subject and appended an <img> line: the diff shows both",
        diff.message,
        PASS,
        of=diff,
        browser=BrowserCheck((changed,)),
        paths=everywhere | INTAKE,
    )
    one = one_hop()
    bad_d = set_tag(one.message, SIG, 1, "d", "<script>x</script>.example")
    b.add(
        "finding-detail-markup",
        "a d= of markup: the syntax error's detail quotes it",
        bad_d,
        E("permerror", "sig.syntax", "PERMERROR DKIM2-Signature i=1 syntax error", v="fail"),
        of=one,
        browser=BrowserCheck(("<script>x</script>",)),
        paths=everywhere,
    )
    bad_mf = set_tag(one.message, SIG, 1, "mf", b64("<a@b.example><script>x</script>"))
    b.add(
        "mf-markup",
        "mf= that decodes to markup",
        bad_mf,
        E("permerror", "sig.syntax", "PERMERROR DKIM2-Signature i=1 syntax error", v="fail"),
        of=one,
        paths=everywhere,
    )
    ed_p = chains.key_record("ed1").split("p=", 1)[1]
    zone = set_zone_entry(
        one.zone,
        AUTHOR,
        "ed1",
        [
            [
                "txt",
                f"v=DKIM1; k=ed25519; n=<script>window.__pwned='dns'</script>"
                f"<img/src={EVIL}/k.png>; p={ed_p}",
            ]
        ],
    )
    b.add(
        "key-record-markup",
        "a key record whose n= holds markup (shown in the DNS evidence)",
        one.message,
        PASS,
        of=one,
        zone=zone,
        browser=BrowserCheck(("<script>window.__pwned='dns'</script>",)),
        paths=everywhere,
    )
    authres = (
        'Authentication-Results: mx.example.net; dkim2=pass reason="'
        + SCRIPT.format("authres")
        + '" header.d=<b>example.com</b>\r\n'
        "Received: from <script>window.__pwned='received'</script> (evil [192.0.2.66]) by "
        "mx.example.net with ESMTP id <i>x</i>; Thu, 15 Jan 2027 10:00:00 +0000\r\n"
    ).encode()
    b.add(
        "receivers-markup",
        "Authentication-Results and Received fields holding markup",
        authres + one.message,
        PASS,
        of=one,
        paths=everywhere,
        browser=BrowserCheck(("window.__pwned='received'",)),
    )
    # Django's multipart parser drops the override from a file part's name; the API's
    # filename parameter is text and is refused (dkim2web/reports/filenames.py).
    rtl_file = UploadRequest(filename="invoice\u202efdp.eml", stored_filename="invoicefdp.eml")
    rtl_param = ApiRequest(
        filename="invoice\u202efdp.eml",
        refusal=Refusal(
            400,
            "invalid_filename",
            'The filename "invoice[U+202E]fdp.eml" has U+202E (RIGHT-TO-LEFT OVERRIDE, a '
            "bidirectional formatting character) at character 8. A filename must be printable "
            "text on one line, without control or bidirectional formatting characters: remove "
            "it and send the message again.",
        ),
    )
    b.add(
        "filename-rtl-override",
        "a file name with a right-to-left override",
        one.message,
        PASS,
        of=one,
        paths=everywhere | API,
        upload=rtl_file,
        api=rtl_param,
        browser=BrowserCheck(("invoicefdp.eml",)),
    )
    markup_file = UploadRequest(filename="<img src=x onerror=window.__pwned=1>.eml")
    b.add(
        "filename-markup",
        "an upload named with markup",
        one.message,
        PASS,
        of=one,
        paths=everywhere,
        upload=markup_file,
        browser=BrowserCheck(("<img src=x onerror=window.__pwned=1>.eml",)),
    )
    return b.cases
