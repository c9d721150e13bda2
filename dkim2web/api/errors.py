"""The API's error answers: ``{"error": {"code": ..., "message": ...}}`` with stable codes.

Clients branch on ``code``; ``message`` is for people and may change wording.
"""

from __future__ import annotations

import enum

from django.http import JsonResponse


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
    MESSAGE_TOO_LARGE = "message_too_large"  # 413
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"  # 415


def error_response(
    status: int, code: ErrorCode, message: str, *, headers: dict[str, str] | None = None
) -> JsonResponse:
    response = JsonResponse({"error": {"code": str(code), "message": message}}, status=status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def not_found(message: str = "No such analysis.") -> JsonResponse:
    return error_response(404, ErrorCode.NOT_FOUND, message)
