"""Upload and HTTP edge cases: empty files, files that are not messages, wrong content types,
several files, huge and odd file names, odd encodings, broken envelopes and requests
(dkim2web/reports/forms.py, views.py; dkim2web/api/views.py; the intake's DATA).

The engine takes every case as bytes (what it would say if the bytes reached it); the web
paths refuse some before storing anything, each with its exact status and sentence.
"""

from __future__ import annotations

import base64
import gzip

from tests.support import chains

from .model import ApiRequest, Case, E, IntakeRequest, Refusal, UploadRequest
from .world import API, INTAKE, UPLOAD, Builder, one_hop

NONE = E("none", v="none")
#: Not a message at all: no DKIM2, and DMARC has no From field to judge.
NOT_A_MESSAGE = E("none", v="permerror")
PASS = E("pass", v="pass")
SAVE = '("Show original", "View source" or "Save as .eml") and upload that.'
#: The refusal of input with no header fields (dkim2web/reports/input_check.py), around
#: what was found.
NO_HEADER = (
    "This is not an e-mail message: it has no header fields. An e-mail message starts with "
    "header fields, one per line, each a name, a colon and a value (From: …, Subject: …, "
    "Received: …), then an empty line, then the body; every message has a From: field. "
)
SOURCE = (
    " Upload the message's source instead: in Gmail, \"Show original\" in the message's ⋮ "
    'menu, then "Download original"; in Outlook on the web, the … menu, View, "View message '
    'source"; in Thunderbird, File, Save As, File (an .eml file); in Apple Mail, View, '
    'Message, "Raw Source".'
)


def _refused(note: str) -> UploadRequest:
    return UploadRequest(refusal=Refusal(400, "", f"message.eml: {note} Nothing was stored."))


def _no_header(found: str) -> dict[str, object]:
    """Refused by the upload form and by the API, in the same words."""
    words = NO_HEADER + found + SOURCE
    return {
        "upload": _refused(words),
        "api": ApiRequest(refusal=Refusal(400, "no_header_fields", words)),
    }


def build() -> list[Case]:
    b = Builder("http")
    plain = chains.message()
    signed = one_hop()

    def add(name: str, title: str, raw: bytes, expect: object, **kw: object) -> None:
        kw.setdefault("mail_from", None)
        b.add(name, title, raw, expect, **kw)  # type: ignore[arg-type]

    # -- empty and not a message ----------------------------------------------------------------
    add(
        "empty",
        "an empty file",
        b"",
        E("none", v="permerror", notes="message.no-header"),
        paths=frozenset({"upload", "api"}),
        upload=UploadRequest(
            refusal=Refusal(400, "", "message.eml is empty: there is nothing to analyse.")
        ),
        api=ApiRequest(refusal=Refusal(400, "empty_message", "The message is empty.")),
    )
    add(
        "only-line-ends",
        "a file of 1,000 CRLFs (refused: no header fields)",
        b"\r\n" * 1000,
        E("none", v="permerror", notes="message.no-header"),
        paths=UPLOAD | API,
        **_no_header(
            "This input starts with an empty line, so it has no header fields at all (if the "
            "header fields come further down, remove the empty lines above them)."
        ),
    )
    for name, title, raw, refusal in (
        (
            "pdf",
            "a PDF document",
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
            "This is a PDF document, not an e-mail message. A printed or exported message has "
            "lost its header fields. Save the original message " + SAVE,
        ),
        (
            "zip",
            "a ZIP archive",
            b"PK\x03\x04" + bytes(40),
            "This is a ZIP archive, not an "
            "e-mail message. Unpack the archive and upload the .eml files inside it (several at "
            "once is fine).",
        ),
        (
            "gzip",
            "a gzip-compressed message",
            gzip.compress(plain, mtime=0),
            "This is a compressed (gzip) file, not an e-mail message. Decompress it and upload "
            "the .eml file inside it.",
        ),
        (
            "outlook-msg",
            "an Outlook .msg file",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64),
            "This is an Outlook .msg file, not an e-mail message. Outlook's .msg format is a "
            "binary container that does not keep the message as it travelled, so its signatures "
            'cannot be checked. Open the message in Outlook on the web (… menu, View, "View '
            'message source"), or in a client that saves .eml files, and upload that.',
        ),
        (
            "utf16",
            "a message saved as UTF-16 with a byte order mark",
            b"\xff\xfe" + plain.decode().encode("utf-16-le"),
            "This is a binary file, not an e-mail message. An e-mail message is text: header "
            "fields such as From: and Date:, an empty line, then the body. Save the original "
            "message " + SAVE,
        ),
    ):
        add(
            f"not-a-message-{name}",
            title,
            raw,
            NOT_A_MESSAGE,
            paths=UPLOAD | API,
            upload=_refused(refusal),
            # The API refuses it for want of header fields, in the same words.
            api=ApiRequest(refusal=Refusal(400, "no_header_fields", refusal)),
        )
    encoded = base64.encodebytes(plain).replace(b"\n", b"\r\n")
    encoded_start = encoded.split(b"\r\n")[0][:60].decode()
    no_from = ", and no From: field comes before the first empty line."
    for name, title, raw, found in (
        (
            "html-page",
            "a web-mail page saved as HTML",
            b"<!DOCTYPE html><html><body><p>Hello</p></body></html>\r\n",
            'Its first line, "<!DOCTYPE html><html><body><p>Hello</p></body></html>", is not a '
            "header field and no From: field comes before the first empty line: this looks "
            "like an HTML page (a web-mail page saved from the browser, or the HTML part of a "
            "message on its own).",
        ),
        (
            "body-only",
            "only the body of a message",
            b"Hello Bob,\r\n\r\nsee you.\r\n",
            'Its first line, "Hello Bob,", is not a header field' + no_from,
        ),
        (
            "base64-of-a-message",
            "a whole message encoded in base64",
            encoded,
            f'Its first line, "{encoded_start}…", is not a header field' + no_from,
        ),
    ):
        add(
            f"odd-{name}",
            title + " (refused: no header fields)",
            raw,
            NOT_A_MESSAGE,
            paths=UPLOAD | API,
            **_no_header(found),
        )
    add(
        "mbox-of-two",
        "an mbox file of two messages (the first is analysed, the second is its body)",
        b"From alice@example.com Thu Jan 15 10:00:00 2027\r\n"
        + plain
        + b"\r\nFrom bob@example.net Thu Jan 15 10:01:00 2027\r\n"
        + plain,
        E("none", v="none"),
        paths=UPLOAD | API,
    )
    add(
        "utf8-bom",
        "a signed message saved with a UTF-8 byte order mark",
        b"\xef\xbb\xbf" + signed.message,
        E("pass", v="pass", notes="message.byte-order-mark"),  # removed and said so
        of=signed,
        mail_from=True,
        paths=UPLOAD | API,
    )
    add(
        "pasted-source",
        "a signed message pasted into the form instead of uploaded",
        signed.message,
        PASS,
        of=signed,
        mail_from=True,
        paths=UPLOAD,
        upload=UploadRequest(paste=True),
    )

    # -- the API's requests ---------------------------------------------------------------------
    wrong_type = Refusal(
        415,
        "unsupported_media_type",
        "Send the message as message/rfc822 or application/octet-stream, or as the file part "
        '"message" of multipart/form-data.',
    )
    for name, content_type in (
        ("text-plain", "text/plain"),
        ("json", "application/json"),
        ("form-urlencoded", "application/x-www-form-urlencoded"),
    ):
        add(
            f"api-content-type-{name}",
            f"the message sent as {content_type}",
            plain,
            NONE,
            paths=API,
            api=ApiRequest(content_type=content_type, refusal=wrong_type),
        )
    add(
        "api-content-type-with-parameters",
        "Content-Type: Message/RFC822; charset=utf-8 (parameters and case are fine)",
        signed.message,
        PASS,
        of=signed,
        mail_from=True,
        paths=API,
        api=ApiRequest(content_type="Message/RFC822; charset=utf-8"),
    )
    add(
        "api-two-files",
        'two "message" files in one multipart request',
        plain,
        NONE,
        paths=API,
        api=ApiRequest(
            content_type="multipart/form-data",
            files=2,
            refusal=Refusal(400, "too_many_messages", "Send one message per request."),
        ),
    )
    add(
        "api-message-as-text-field",
        '"message" sent as a text field (its bytes would not be exact)',
        plain,
        NONE,
        paths=API,
        api=ApiRequest(
            content_type="multipart/form-data",
            as_text_field=True,
            refusal=Refusal(
                400,
                "message_not_a_file",
                'Send "message" as a file part (curl -F message=@file.eml).',
            ),
        ),
    )
    add(
        "api-multipart-without-message",
        "a multipart request with no message part",
        plain,
        NONE,
        paths=API,
        api=ApiRequest(
            content_type="multipart/form-data",
            files=0,
            params=(("mail_from", "a@example.org"),),
            refusal=Refusal(400, "missing_message", 'The multipart body has no "message" file.'),
        ),
    )
    add(
        "api-multipart-broken",
        "a multipart body whose boundary never appears (Django reads no part)",
        plain,
        NONE,
        paths=API,
        api=ApiRequest(
            content_type="multipart/form-data; boundary=nowhere",
            body=b"--elsewhere\r\nContent-Disposition: form-data; name=message; "
            b'filename="m.eml"\r\n\r\n' + plain + b"\r\n--elsewhere--\r\n",
            refusal=Refusal(400, "missing_message", 'The multipart body has no "message" file.'),
        ),
    )
    add(
        "api-invalid-revision",
        "revision=10",
        plain,
        NONE,
        paths=API,
        api=ApiRequest(
            params=(("revision", "10"),),
            refusal=Refusal(
                400,
                "invalid_revision",
                "revision must be one of auto, 06, 07, 08, 09 (auto: judged by the newest "
                "draft revision's rules, the older ones compared).",
            ),
        ),
    )
    envelope_refusal = Refusal(
        400,
        "invalid_envelope",
        "Envelope addresses are single lines of at most 998 characters.",
    )
    for name, title, params in (
        (
            "crlf",
            "a MAIL FROM with CR LF and a second command",
            (
                ("mail_from", "a@example.org\r\nRCPT TO:<victim@example.net>"),
                ("rcpt_to", "b@example.net"),
            ),
        ),
        (
            "nul",
            "an RCPT TO with a NUL",
            (("mail_from", "a@example.org"), ("rcpt_to", "b@exa\x00mple.net")),
        ),
        (
            "too-long",
            "a MAIL FROM of 1,000 characters",
            (("mail_from", "a" * 990 + "@x.example"), ("rcpt_to", "b@example.net")),
        ),
    ):
        add(
            f"api-envelope-{name}",
            title,
            plain,
            NONE,
            paths=API,
            api=ApiRequest(params=params, refusal=envelope_refusal),
        )
    add(
        "api-101-recipients",
        "101 rcpt_to values (RFC 5321 asks for 100 at least)",
        plain,
        NONE,
        paths=API,
        api=ApiRequest(
            params=(
                ("mail_from", "a@example.org"),
                *(("rcpt_to", f"r{k}@example.net") for k in range(101)),
            ),
            refusal=Refusal(400, "invalid_envelope", "At most 100 rcpt_to values."),
        ),
    )

    # -- file names ----------------------------------------------------------------------------
    long_name = "n" * 1000 + ".eml"
    add(
        "filename-1000-characters",
        "a file name of 1,004 characters (kept to 255, extension kept by the form)",
        plain,
        NONE,
        paths=UPLOAD | API,
        upload=UploadRequest(filename=long_name, stored_filename="n" * 251 + ".eml"),
        api=ApiRequest(filename=long_name, stored_filename="n" * 255),
    )
    add(
        "filename-with-path",
        "a file name with a path (the last part is kept)",
        plain,
        NONE,
        paths=UPLOAD | API,
        upload=UploadRequest(filename="../../etc/passwd.eml", stored_filename="passwd.eml"),
        api=ApiRequest(filename="..\\..\\windows\\evil.eml", stored_filename="evil.eml"),
    )
    add(
        "filename-nul",
        "a filename parameter with a NUL (a 500 on PostgreSQL before issue #11)",
        plain,
        NONE,
        paths=API,
        api=ApiRequest(
            filename="in\x00voice.eml",
            refusal=Refusal(
                400,
                "invalid_filename",
                'The filename "in[U+0000]voice.eml" has U+0000 (NUL, a control character) at '
                "character 3. A filename must be printable text on one line, without control "
                "or bidirectional formatting characters: remove it and send the message again.",
            ),
        ),
    )
    add(
        "filename-unicode",
        "a file name in Greek with an emoji (kept as sent)",
        plain,
        NONE,
        paths=UPLOAD | API,
        upload=UploadRequest(filename="μήνυμα 📧.eml"),
        api=ApiRequest(filename="μήνυμα 📧.eml", stored_filename="μήνυμα 📧.eml"),
    )

    # -- the upload form -----------------------------------------------------------------------
    add(
        "form-two-files",
        "two files in one upload: both stored and analysed",
        signed.message,
        PASS,
        of=signed,
        mail_from=True,
        paths=UPLOAD,
        upload=UploadRequest(files=2),
    )
    add(
        "form-mail-from-with-blanks",
        "a MAIL FROM with blanks in it",
        plain,
        NONE,
        paths=UPLOAD,
        upload=UploadRequest(
            mail_from="a@example.org b@example.org",
            rcpt_to="c@example.net",
            refusal=Refusal(
                400, "", "MAIL FROM is one address (use <> for a null sender); it has blanks in it."
            ),
        ),
    )
    add(
        "form-mail-from-without-rcpt-to",
        "a MAIL FROM without RCPT TO",
        plain,
        NONE,
        paths=UPLOAD,
        upload=UploadRequest(
            mail_from="a@example.org",
            rcpt_to="",
            refusal=Refusal(
                400,
                "",
                "Give both MAIL FROM and RCPT TO, or neither (write <> for a null MAIL FROM).",
            ),
        ),
    )

    # -- SMTP ---------------------------------------------------------------------------------
    add(
        "smtp-8bit-and-nul",
        "8-bit octets and a NUL in DATA",
        chains.message(body=b"caf\xe9 \x00 na\xefve\r\n"),
        NONE,
        paths=INTAKE | API,
    )
    add(
        "smtp-long-line",
        "a body line of 5,000 octets in DATA (SMTP's limit is 1,000 with the CRLF)",
        chains.message(body="x" * 5000 + "\r\n"),
        NONE,
        paths=INTAKE,
    )
    add(
        "smtp-lines-starting-with-dots",
        "body lines that start with '.', '..' and a lone '.' (dot-stuffing)",
        chains.message(body=".\r\n..\r\n.x\r\n"),
        NONE,
        paths=INTAKE,
    )
    add(
        "smtp-null-sender",
        "MAIL FROM:<> (a bounce)",
        plain,
        NONE,
        paths=INTAKE,
        intake=IntakeRequest(mail_from="<>"),
    )
    return b.cases
