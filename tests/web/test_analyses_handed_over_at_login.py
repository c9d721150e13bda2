"""What a visitor analysed while logged out becomes theirs when they log in."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from dkim2web.reports import services
from dkim2web.reports.models import Analysis

PLAIN = b"From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n"


@pytest.mark.django_db
def test_logging_in_hands_the_sessions_analyses_to_the_account(alice: Any, bob: Any) -> None:
    client = Client()
    response = client.post(reverse("reports:new"), {"raw_text": PLAIN.decode()})
    assert response.status_code == 302
    mine = Analysis.objects.get()
    assert mine.owner is None
    someone_elses = services.analysis_submit(raw=PLAIN, owner=bob, enqueue=False)
    session = client.session
    session["anon_analyses"] = [*session["anon_analyses"], str(someone_elses.pk)]
    session.save()

    response = client.post(
        reverse("accounts:login"), {"username": "alice", "password": "alice-pw-1"}
    )
    assert response.status_code == 302
    mine.refresh_from_db()
    someone_elses.refresh_from_db()
    assert mine.owner == alice
    assert someone_elses.owner == bob  # only ownerless analyses move
    assert "anon_analyses" not in client.session
    listing = client.get(reverse("reports:list")).content.decode()
    assert str(mine.pk) in listing


@pytest.mark.django_db
def test_logging_in_with_nothing_in_the_session_changes_nothing(alice: Any) -> None:
    client = Client()
    response = client.post(
        reverse("accounts:login"), {"username": "alice", "password": "alice-pw-1"}
    )
    assert response.status_code == 302
    assert Analysis.objects.count() == 0
