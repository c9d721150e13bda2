from __future__ import annotations

from django.test import Client


def test_the_home_page_renders_the_title_and_a_paragraph(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "<title>dkim2web</title>" in body
    assert "<h1>dkim2web</h1>" in body
    assert "<p>" in body
    assert [t.name for t in response.templates][:2] == ["home.html", "base.html"]
