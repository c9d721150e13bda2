"""The API's error answers: ``{"error": {"code": ..., "message": ...}}`` with stable codes.

Clients branch on ``code``; ``message`` is for people and may change wording.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from django.http import JsonResponse

if TYPE_CHECKING:
    from dkim2web.throttling import Refusal


class ErrorCode(enum.StrEnum):
    NOT_AUTHENTICATED = "not_authenticated"  # 401: no token given
    INVALID_TOKEN = "invalid_token"  # 401: unknown, revoked or expired token
    NOT_FOUND = "not_found"  # 404: no such analysis for this token (or no such path)
    PAGE_NOT_FOUND = "page_not_found"  # 404: past the last page
    METHOD_NOT_ALLOWED = "method_not_allowed"  # 405
    INVALID_PAGE = "invalid_page"  # 400: ?page= is not a positive integer
    EMPTY_MESSAGE = "empty_message"  # 400: a body (or file) of zero bytes
    MISSING_MESSAGE = "missing_message"  # 400: multipart without a "message" file
    MESSAGE_NOT_A_FILE = "message_not_a_file"  # 400: "message" sent as a text field
    TOO_MANY_MESSAGES = "too_many_messages"  # 400: more than one "message" file
    INVALID_MULTIPART = "invalid_multipart"  # 400: the multipart body cannot be parsed
    INVALID_ENVELOPE = "invalid_envelope"  # 400: mail_from / rcpt_to unusable
    INVALID_REVISION = "invalid_revision"  # 400: revision is not a DKIM2 draft revision
    INVALID_FILENAME = "invalid_filename"  # 400: a control or bidi character in filename
    MESSAGE_TOO_LARGE = "message_too_large"  # 413
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"  # 415
    RATE_LIMITED = "rate_limited"  # 429: too many requests per token or address
    TOO_MANY_INVALID_TOKENS = "too_many_invalid_tokens"  # 429: bad tokens from this address


def error_response(
    status: int, code: ErrorCode, message: str, *, headers: dict[str, str] | None = None
) -> JsonResponse:
    response = JsonResponse({"error": {"code": str(code), "message": message}}, status=status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def not_found(message: str = "No such analysis.") -> JsonResponse:
    return error_response(404, ErrorCode.NOT_FOUND, message)


def too_many_requests(refusal: Refusal, code: ErrorCode = ErrorCode.RATE_LIMITED) -> JsonResponse:
    """429 with Retry-After (seconds), the limit and the wait in ``message``."""
    return error_response(429, code, refusal.message, headers=refusal.headers())
