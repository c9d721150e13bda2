"""Sign-up, the account page and API token management. Log in and out are Django's views.

Sign-ups are counted per client address (DKIM2WEB_RATE_SIGNUP); log-in failures by django-axes
(dkim2web/throttling.py).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from dkim2web import throttling
from dkim2web.sharing.selectors import share_link_list_for_owner

from . import selectors, services
from .forms import ApiTokenForm
from .models import ApiToken


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    if request.user.is_authenticated:
        return redirect("accounts:profile")
    if request.method == "POST":
        refusal = throttling.SIGNUP.hit(request)
        if refusal is not None:
            return throttling.too_many_requests(request, refusal, back_url=request.path)
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        # Named: with axes' backend in front, Django cannot tell which one to record.
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))
    return render(request, "accounts/signup.html", {"form": form, "next": next_url})


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    return _render_profile(request, ApiTokenForm())


@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return _render_profile(request, form, status=400)
    token, key = services.api_token_create(
        user=request.user, name=form.cleaned_data["name"], expires_at=form.expires_at()
    )
    # Answered here rather than redirected: the token is shown this once and is stored
    # nowhere, not even in the session.
    response = _render_profile(request, ApiTokenForm(), new_token=token, new_key=key)
    add_never_cache_headers(response)
    return response


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = selectors.api_token_get_for_user(token_id=token_id, user=request.user)
    except ApiToken.DoesNotExist:
        raise Http404("No such token.") from None
    if services.api_token_revoke(token=token):
        messages.success(request, f"Token “{token.name}” revoked: it no longer works.")
    return redirect("accounts:profile")


def _render_profile(
    request: HttpRequest,
    form: ApiTokenForm,
    *,
    new_token: ApiToken | None = None,
    new_key: str | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "tokens": selectors.api_token_list_for_user(user=request.user),
        "token_form": form,
        "new_token": new_token,
        "new_key": new_key,
        "share_links": share_link_list_for_owner(user=request.user, active_only=True),
    }
    return render(request, "accounts/profile.html", context, status=status)
