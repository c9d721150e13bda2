"""Token authentication: ``Authorization: Bearer <token>`` (or ``Token <token>``).

The API never looks at the session cookie, which is what makes its views safe to exempt
from CSRF: a browser cannot be tricked into sending a bearer token.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from dkim2web.accounts.models import ApiToken
from dkim2web.accounts.services import api_token_authenticate

from .errors import ErrorCode, error_response

SCHEMES = frozenset({"bearer", "token"})
REALM = 'Bearer realm="dkim2web"'


def token_from_header(value: str) -> str | None:
    """The credentials of an Authorization header with a scheme we accept, else None."""
    scheme, _, credentials = value.strip().partition(" ")
    if scheme.lower() not in SCHEMES:
        return None
    return credentials.strip() or None


def authenticate(request: HttpRequest) -> ApiToken | JsonResponse:
    """The request's usable token, or the 401 answer to send back."""
    key = token_from_header(request.headers.get("Authorization", ""))
    if key is None:
        return error_response(
            401,
            ErrorCode.NOT_AUTHENTICATED,
            "Send an API token: Authorization: Bearer <token>.",
            headers={"WWW-Authenticate": REALM},
        )
    token = api_token_authenticate(key=key)
    if token is None:
        return error_response(
            401,
            ErrorCode.INVALID_TOKEN,
            "The API token is unknown, revoked or expired.",
            headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'},
        )
    return token
