"""The intake addresses page: the user's address to forward mail to, and rotating it."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from . import selectors, services


@login_required
def addresses(request: HttpRequest) -> HttpResponse:
    active = services.intake_address_get_or_create(user=request.user)
    revoked = [
        a for a in selectors.intake_addresses_for_user(user=request.user) if not a.is_active
    ][:20]
    return render(
        request,
        "intake/addresses.html",
        {
            "active": active,
            "revoked": revoked,
            "domain": settings.DKIM2WEB_INTAKE_DOMAIN,
            "smtp_host": settings.DKIM2WEB_INTAKE_HOST,
            "smtp_port": settings.DKIM2WEB_INTAKE_PORT,
            "max_bytes": settings.DKIM2WEB_MAX_MESSAGE_BYTES,
            "replies": settings.DKIM2WEB_INTAKE_REPLY,
        },
    )


@login_required
@require_POST
def rotate(request: HttpRequest) -> HttpResponse:
    new = services.intake_address_rotate(user=request.user)
    messages.success(
        request, f"Your new address is {new.address}. Mail to the old one is now refused."
    )
    return redirect("intake:addresses")
