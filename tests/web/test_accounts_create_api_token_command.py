"""``manage.py create_api_token USER [--name NAME] [--days N]`` prints a token and only that."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from dkim2web.accounts.models import ApiToken
from dkim2web.accounts.services import api_token_authenticate

pytestmark = pytest.mark.django_db


def run(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    call_command("create_api_token", *args)
    captured = capsys.readouterr()
    return captured.out, captured.err


def test_it_prints_one_working_token_and_nothing_else(
    alice: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    out, err = run("alice", capsys=capsys)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}\n", out)
    assert err == ""
    key = out.strip()
    token = ApiToken.objects.get(user=alice)
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert token.name == "command line"
    assert token.expires_at is None
    authenticated = api_token_authenticate(key=key)
    assert authenticated is not None
    assert authenticated.user == alice


def test_name_and_days(alice: Any, capsys: pytest.CaptureFixture[str]) -> None:
    run("alice", "--name", "nightly job", "--days", "7", capsys=capsys)
    token = ApiToken.objects.get(user=alice)
    assert token.name == "nightly job"
    assert token.expires_at is not None
    assert timedelta(days=6) < token.expires_at - timezone.now() <= timedelta(days=7)


def test_each_call_makes_a_new_token(alice: Any, capsys: pytest.CaptureFixture[str]) -> None:
    first, _ = run("alice", capsys=capsys)
    second, _ = run("alice", capsys=capsys)
    assert first != second
    assert ApiToken.objects.filter(user=alice).count() == 2


def test_an_unknown_user_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CommandError, match="no user 'nobody'"):
        call_command("create_api_token", "nobody")
    assert capsys.readouterr().out == ""
    assert not ApiToken.objects.exists()


def test_days_must_be_positive(alice: Any) -> None:
    with pytest.raises(CommandError, match="--days"):
        call_command("create_api_token", "alice", "--days", "0")
