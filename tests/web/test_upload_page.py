"""The upload form, on the home page and at reports:new."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.urls import reverse


@pytest.mark.parametrize("url", ["/", "/analyses/new/"])
def test_the_upload_form_offers_files_paste_and_envelope(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert (
        f'<form class="upload" method="post" action="{reverse("reports:new")}" '
        'enctype="multipart/form-data"'
    ) in body
    assert '<input type="file" name="files" accept=".eml,.txt,message/rfc822,text/plain"' in body
    assert (
        " multiple" in body[body.index('type="file"') : body.index(">", body.index('type="file"'))]
    )
    assert '<textarea name="raw_text"' in body
    assert '<input type="text" name="mail_from"' in body
    assert '<textarea name="rcpt_to"' in body
    assert (
        '<button type="submit" name="action" value="analyse" class="primary">Analyse</button>'
        in body
    )
    assert 'name="action" value="hints"' in body
    assert '<script src="/static/reports/upload.js" defer></script>' in body


def test_the_form_states_the_limits_and_that_pasting_is_not_exact(client: Client) -> None:
    body = client.get("/analyses/new/").content.decode()
    assert "up to 20 at once and 25.0 MB each" in body
    assert 'data-max-bytes="26214400" data-max-files="20"' in body
    assert "Pasting may change the message" in body
    assert "Uploading the .eml file is exact." in body


@override_settings(DKIM2WEB_MAX_MESSAGE_BYTES=1000, DKIM2WEB_MAX_FILES_PER_UPLOAD=3)
def test_the_limits_shown_follow_the_settings(client: Client) -> None:
    body = client.get("/analyses/new/").content.decode()
    assert "up to 3 at once and 1000 bytes each" in body


def test_the_home_page_is_the_upload_page(client: Client) -> None:
    response = client.get("/")
    assert [t.name for t in response.templates][:3] == [
        "home.html",
        "base.html",
        "reports/_upload_form.html",
    ]


def test_the_home_page_points_to_the_samples(client: Client) -> None:
    body = client.get("/").content.decode()
    assert f'<a href="{reverse("samples:gallery")}">Try a sample</a>' in body
