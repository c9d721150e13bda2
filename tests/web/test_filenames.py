"""Filenames (issue #11, finding 6): control characters (NUL, CR, LF, the rest of C0 and C1,
DEL), line separators and bidirectional formatting characters such as U+202E are refused,
with a sentence naming the character and its position: 400 ``invalid_filename`` from the API,
a form error from the upload page. Before: a NUL in the API's filename was a 500 on PostgreSQL
(psycopg cannot send it), and CR, LF and U+202E were stored.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from dkim2web.accounts import services as account_services
from dkim2web.reports.filenames import filename_problem
from dkim2web.reports.forms import UploadForm
from dkim2web.reports.models import Analysis
from tests.support.postgres import manage_on

MESSAGE = b"From: carol@example.com\r\nTo: dave@example.net\r\nSubject: hi\r\n\r\nHello.\r\n"
RULE = (
    "A filename must be printable text on one line, without control or bidirectional "
    "formatting characters: "
)


@pytest.mark.parametrize(
    ("name", "found"),
    [
        ("a\x00b.eml", '"a[U+0000]b.eml" has U+0000 (NUL, a control character) at character 2'),
        ("x\r\nSubject: y", '"x[U+000D][U+000A]Subject: y" has U+000D (CR, a control character) '
         "at character 2"),
        ("report\n.eml", '"report[U+000A].eml" has U+000A (LF, a control character) '
         "at character 7"),
        ("tab\t.eml", '"tab[U+0009].eml" has U+0009 (HT, a control character) at character 4'),
        ("del\x7f", '"del[U+007F]" has U+007F (DEL, a control character) at character 4'),
        ("c1\x85.eml", '"c1[U+0085].eml" has U+0085 (a C1 control character) at character 3'),
        ("invoice\u202egpj.eml", '"invoice[U+202E]gpj.eml" has U+202E (RIGHT-TO-LEFT '
         "OVERRIDE, a bidirectional formatting character) at character 8"),
        ("\u2066x\u2069.eml", '"[U+2066]x[U+2069].eml" has U+2066 (LEFT-TO-RIGHT ISOLATE, a '
         "bidirectional formatting character) at character 1"),
        ("a\u2028b", '"a[U+2028]b" has U+2028 (LINE SEPARATOR, a line break) at character 2'),
    ],
)  # fmt: skip
def test_a_refused_character_is_named_with_its_position(name: str, found: str) -> None:
    assert filename_problem(name) == (
        f"The filename {found}. {RULE}remove it and send the message again."
    )


@pytest.mark.parametrize(
    "name",
    ['Re: "quoted" — café.eml', "ü 😀 名前.eml", "a b\u200dc.eml", "'; DROP TABLE x;--.eml", ""],
)
def test_printable_names_are_accepted_as_they_are(name: str) -> None:
    assert filename_problem(name) is None


def test_a_long_name_is_shown_cut() -> None:
    problem = filename_problem("x" * 300 + "\x00")
    assert problem == (
        f'The filename "{"x" * 100}…" has U+0000 (NUL, a control character) at character 301. '
        f"{RULE}remove it and send the message again."
    )


# --- the API -----------------------------------------------------------------------------------


@pytest.fixture
def api(alice: Any) -> Client:
    _, key = account_services.api_token_create(user=alice, name="t")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "position", "character"),
    [
        ("a\x00b.eml", 2, "U+0000 (NUL, a control character)"),
        ("x\r\nSubject: y", 2, "U+000D (CR, a control character)"),
        ("evil\u202egpj.eml", 5, "U+202E (RIGHT-TO-LEFT OVERRIDE, a bidirectional formatting "
         "character)"),
    ],
)  # fmt: skip
def test_the_api_refuses_a_control_character_in_the_filename_parameter(
    api: Client, name: str, position: int, character: str
) -> None:
    url = reverse("api:analyses") + "?filename=" + quote(name)
    response = api.post(url, data=MESSAGE, content_type="message/rfc822")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_filename"
    assert f"has {character} at character {position}. {RULE}" in error["message"]
    assert Analysis.objects.count() == 0


@pytest.mark.django_db
def test_the_api_refuses_a_control_character_in_the_filename_field(api: Client) -> None:
    response = api.post(
        reverse("api:analyses"),
        {"message": SimpleUploadedFile("m.eml", MESSAGE), "filename": "report\r\n.eml"},
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid_filename",
            "message": 'The filename "report[U+000D][U+000A].eml" has U+000D (CR, a control '
            f"character) at character 7. {RULE}remove it and send the message again.",
        }
    }
    assert Analysis.objects.count() == 0


@pytest.mark.django_db
def test_the_api_keeps_a_printable_name_as_sent(api: Client) -> None:
    name = 'Re: "quoted" — café.eml'
    url = reverse("api:analyses") + "?filename=" + quote(name)
    response = api.post(url, data=MESSAGE, content_type="message/rfc822")
    assert response.status_code == 201
    assert Analysis.objects.get().filename == name


# --- the upload page ---------------------------------------------------------------------------


def test_the_upload_form_refuses_a_control_character_in_a_file_name() -> None:
    upload = SimpleUploadedFile("invoice\u202egpj.eml", MESSAGE, content_type="message/rfc822")
    form = UploadForm({}, {"files": [upload]})
    assert not form.is_valid()
    assert form.non_field_errors() == [
        'The file name "invoice[U+202E]gpj.eml" has U+202E (RIGHT-TO-LEFT OVERRIDE, a '
        f"bidirectional formatting character) at character 8. {RULE}rename the file and "
        "upload it again. Nothing was stored."
    ]


@pytest.mark.django_db
def test_over_http_django_drops_them_from_an_uploaded_file_name_first() -> None:
    # Django's multipart parser keeps only printable characters of a file part's name, so
    # the page stores the rest rather than refusing the file.
    upload = SimpleUploadedFile("in\x00voice\u202egpj\x85.eml", MESSAGE)
    response = Client().post(reverse("reports:new"), {"files": upload})
    assert response.status_code == 302
    assert Analysis.objects.get().filename == "invoicegpj.eml"


# --- on PostgreSQL, where a NUL was a 500 ------------------------------------------------------

ON_POSTGRES = """
import json
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from dkim2web.accounts.services import api_token_create
from dkim2web.reports.models import Analysis

user = get_user_model().objects.create_user("erin", password="erin-pw-1")
_, key = api_token_create(user=user, name="t")
api = Client(HTTP_AUTHORIZATION="Bearer " + key, raise_request_exception=False)
raw = b"From: carol@example.com\\r\\nSubject: hi\\r\\n\\r\\nHello.\\r\\n"
query = api.post(
    "/api/analyses?filename=a%00b.eml", data=raw, content_type="message/rfc822"
)
field = api.post(
    "/api/analyses", {"message": SimpleUploadedFile("m.eml", raw), "filename": "a\\x00b.eml"}
)
page = Client(raise_request_exception=False).post(
    "/analyses/new/", {"files": SimpleUploadedFile("a\\x00b.eml", raw)}
)
print(json.dumps({
    "query": [query.status_code, query.content.decode()[:400]],
    "field": [field.status_code, field.content.decode()[:400]],
    "page": page.status_code,
    "stored": sorted(Analysis.objects.values_list("filename", flat=True)),
}))
"""


def manage(database_url: str, *args: str) -> str:
    return manage_on(database_url, *args, env={"DJANGO_ALLOWED_HOSTS": "testserver"})


@pytest.mark.postgres
def test_on_postgresql_a_nul_in_the_api_filename_is_400_not_500(throwaway_database: str) -> None:
    manage(throwaway_database, "migrate", "--noinput")
    out = manage(throwaway_database, "shell", "--no-imports", "-c", ON_POSTGRES)
    answers = json.loads(out.strip().splitlines()[-1])
    nul = "has U+0000 (NUL, a control character) at character 2."
    assert answers["query"][0] == 400 and nul in answers["query"][1]
    assert answers["field"][0] == 400 and nul in answers["field"][1]
    assert '"invalid_filename"' in answers["query"][1] + answers["field"][1]
    assert answers["page"] == 302  # the page's file name arrives without the NUL
    assert answers["stored"] == ["ab.eml"]
