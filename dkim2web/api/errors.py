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
    # 400: not an e-mail message: the first line is not a header field (a text file, an HTML
    # page), or the bytes are plainly another format (an Outlook .msg, a PDF, an archive)
    NO_HEADER_FIELDS = "no_header_fields"
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


#: What each code means, with its HTTP status: the schema carries them (the code's
#: ``x-enum-descriptions``) and the API page (/api/docs) shows them.
ERROR_MEANINGS: dict[ErrorCode, str] = {
    ErrorCode.NOT_AUTHENTICATED: "401: no API token was sent.",
    ErrorCode.INVALID_TOKEN: "401: the token is unknown, revoked or expired.",
    ErrorCode.NOT_FOUND: "404: no such analysis for this token (another user's analysis, and "
    "an id that is not a UUID, are answered alike), or no such API path.",
    ErrorCode.PAGE_NOT_FOUND: "404: the page asked for is past the last one.",
    ErrorCode.METHOD_NOT_ALLOWED: "405: the method is not one this path takes (the Allow "
    "header lists those).",
    ErrorCode.INVALID_PAGE: "400: page is not a positive integer.",
    ErrorCode.EMPTY_MESSAGE: "400: the message is zero bytes long.",
    ErrorCode.NO_HEADER_FIELDS: "400: not an e-mail message: its first line is not a header "
    "field and it has no From: field (a text file, a pasted paragraph, an HTML page), or it "
    "is plainly another format (an Outlook .msg, a PDF, an archive). The message says what "
    "was found and how to get a message's source.",
    ErrorCode.MISSING_MESSAGE: '400: a multipart body without a "message" file part.',
    ErrorCode.MESSAGE_NOT_A_FILE: '400: "message" was sent as a text field, which loses the '
    "exact bytes; send it as a file part.",
    ErrorCode.TOO_MANY_MESSAGES: '400: more than one "message" file part; send one message '
    "per request.",
    ErrorCode.INVALID_MULTIPART: "400: the multipart body cannot be parsed.",
    ErrorCode.INVALID_ENVELOPE: "400: mail_from or rcpt_to is unusable (more than 100 "
    "recipients, or an address that is not a single line of at most 998 characters).",
    ErrorCode.INVALID_REVISION: "400: revision is not one of the DKIM2 draft revisions.",
    ErrorCode.INVALID_FILENAME: "400: filename has a control or bidirectional formatting "
    "character.",
    ErrorCode.MESSAGE_TOO_LARGE: "413: the message is larger than DKIM2WEB_MAX_MESSAGE_BYTES.",
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: "415: the body is not message/rfc822, "
    "application/octet-stream or multipart/form-data.",
    ErrorCode.RATE_LIMITED: "429: too many requests from this token or client address; "
    "Retry-After says when to try again.",
    ErrorCode.TOO_MANY_INVALID_TOKENS: "429: this client address sent too many unknown, "
    "revoked or expired tokens; Retry-After says when to try again.",
}


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
