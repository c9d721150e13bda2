"""Personal intake addresses: the page, copy buttons, rotating, and the management command."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from dkim2web.intake import services
from dkim2web.intake.models import IntakeAddress
from dkim2web.intake.selectors import intake_address_resolve

pytestmark = pytest.mark.django_db

ADDRESS = re.compile(r"a-[0-9a-f]{32}@intake\.localhost")


def test_the_page_needs_a_login(client: Client) -> None:
    response = client.get("/intake/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_page_shows_the_users_address_with_copy_buttons_and_no_inline_script(
    alice_client: Client, alice: Any
) -> None:
    response = alice_client.get("/intake/")
    assert response.status_code == 200
    html = response.content.decode()
    address = IntakeAddress.objects.get(user=alice)
    assert address.address in html
    assert ADDRESS.fullmatch(address.address)
    assert 'data-copy="intake-address"' in html  # static/dkim2web/page.js, on every page
    assert "/static/dkim2web/page.js" in html
    assert "<script>" not in html and " onclick=" not in html and "style=" not in html
    assert "script-src 'self'" in response["Content-Security-Policy"]
    # The same address on every visit.
    assert address.address in alice_client.get("/intake/").content.decode()
    assert IntakeAddress.objects.filter(user=alice).count() == 1


def test_each_user_sees_only_their_own_address(alice_client: Client, alice: Any, bob: Any) -> None:
    bobs = services.intake_address_get_or_create(user=bob)
    html = alice_client.get("/intake/").content.decode()
    assert bobs.address not in html


def test_rotating_revokes_the_old_address_and_makes_a_new_one(
    alice_client: Client, alice: Any
) -> None:
    old = services.intake_address_get_or_create(user=alice)
    response = alice_client.post("/intake/rotate/")
    assert response.status_code == 302 and response["Location"] == "/intake/"
    new = IntakeAddress.objects.get(user=alice, revoked_at__isnull=True)
    assert new.token != old.token
    assert intake_address_resolve(local_part=old.local_part) is None
    assert intake_address_resolve(local_part=new.local_part) == new
    html = alice_client.get("/intake/").content.decode()
    assert new.address in html and "Earlier addresses" in html and old.address in html


def test_rotating_takes_a_post(alice_client: Client) -> None:
    assert alice_client.get("/intake/rotate/").status_code == 405


def test_rotating_needs_a_login(client: Client) -> None:
    assert client.post("/intake/rotate/").status_code == 302


def test_tokens_are_unguessable_and_lower_case(alice: Any) -> None:
    tokens = {services.intake_address_rotate(user=alice).token for _ in range(20)}
    assert len(tokens) == 20
    assert all(re.fullmatch(r"[0-9a-f]{32}", t) for t in tokens)


@pytest.mark.parametrize(
    "local_part",
    ["a-", "a-xyz", "b-0123456789abcdef0123456789abcdef", "postmaster", "", "a-" + "0" * 100],
)
def test_malformed_local_parts_resolve_to_nothing(local_part: str) -> None:
    assert intake_address_resolve(local_part=local_part) is None


def test_an_inactive_users_address_resolves_to_nothing(alice: Any) -> None:
    address = services.intake_address_get_or_create(user=alice)
    alice.is_active = False
    alice.save()
    assert intake_address_resolve(local_part=address.local_part) is None


def test_the_command_prints_the_active_address_and_makes_one_if_needed(alice: Any) -> None:
    out = StringIO()
    call_command("intake_address", "alice", stdout=out)
    printed = out.getvalue().strip()
    assert ADDRESS.fullmatch(printed)
    again = StringIO()
    call_command("intake_address", "alice", stdout=again)
    assert again.getvalue().strip() == printed
    rotated = StringIO()
    call_command("intake_address", "alice", "--rotate", stdout=rotated)
    assert rotated.getvalue().strip() != printed
    assert IntakeAddress.objects.get(user=alice, revoked_at__isnull=True).address == (
        rotated.getvalue().strip()
    )


def test_the_command_refuses_an_unknown_user() -> None:
    with pytest.raises(CommandError, match="no user 'nobody'"):
        call_command("intake_address", "nobody")
