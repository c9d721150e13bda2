"""Token authentication: ``Authorization: Bearer <token>`` (or ``Token <token>``).

The API never looks at the session cookie, which is what makes its views safe to exempt
from CSRF: a browser cannot be tricked into sending a bearer token.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from dkim2web import throttling
from dkim2web.accounts.models import ApiToken
from dkim2web.accounts.services import api_token_authenticate

from .errors import ErrorCode, error_response, too_many_requests

SCHEMES = frozenset({"bearer", "token"})
REALM = 'Bearer realm="dkim2web"'


def token_from_header(value: str) -> str | None:
    """The credentials of an Authorization header with a scheme we accept, else None."""
    scheme, _, credentials = value.strip().partition(" ")
    if scheme.lower() not in SCHEMES:
        return None
    return credentials.strip() or None


def authenticate(request: HttpRequest) -> ApiToken | JsonResponse:
    """The request's usable token, or the answer to send back: 401, or 429 when this
    address has sent too many unknown, revoked or expired tokens."""
    # META rather than request.headers, which would copy every header of the request
    # into a mapping of its own for this one.
    key = token_from_header(request.META.get("HTTP_AUTHORIZATION", ""))
    if key is None:
        return error_response(
            401,
            ErrorCode.NOT_AUTHENTICATED,
            "Send an API token: Authorization: Bearer <token>.",
            headers={"WWW-Authenticate": REALM},
        )
    # An address that sent too many bad tokens is refused before the lookup, whatever it
    # sends now; each bad token counts (DKIM2WEB_RATE_API_INVALID_TOKENS).
    refusal = throttling.API_INVALID_TOKENS.check(request)
    if refusal is not None:
        return too_many_requests(refusal, ErrorCode.TOO_MANY_INVALID_TOKENS)
    token = api_token_authenticate(key=key)
    if token is None:
        throttling.API_INVALID_TOKENS.hit(request)
        return error_response(
            401,
            ErrorCode.INVALID_TOKEN,
            "The API token is unknown, revoked or expired.",
            headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'},
        )
    return token
