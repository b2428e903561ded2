"""The errors the client raises: one class per error code of the service, and one for the
answers API Gateway makes itself (`{"message": ...}` bodies)."""

from __future__ import annotations

import json
from typing import Any


class ChatSessionsError(Exception):
    """An error answer of the service (or of the gateway in front of it).

    `status` is the HTTP status, `code` the service's error code (None for the gateway's own
    answers), `message` what to fix, `details` the code's details (a list of field errors for
    `validation_error`, `{"current_version": N}` for `version_conflict`, ...)."""

    code: str | None = None

    def __init__(
        self, status: int, message: str, *, code: str | None = None, details: Any = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}" if code else f"{status}: {message}")
        self.status = status
        self.message = message
        self.details = details
        if code is not None:
            self.code = code


class BadRequest(ChatSessionsError):
    code = "bad_request"


class Unauthorized(ChatSessionsError):
    """No valid token: the function's `unauthorized`, or the gateway's own 401."""

    code = "unauthorized"


class NotFound(ChatSessionsError):
    code = "not_found"


class UnsupportedMediaType(ChatSessionsError):
    code = "unsupported_media_type"


class ValidationFailed(ChatSessionsError):
    """`details` is a list of `{"field": "a.b", "message": "..."}`."""

    code = "validation_error"


class PayloadTooLarge(ChatSessionsError):
    code = "payload_too_large"


class SessionNotActive(ChatSessionsError):
    code = "session_not_active"


class VersionConflict(ChatSessionsError):
    """`If-Match` / `expected_version` is stale; `current_version` is the workflow's version."""

    code = "version_conflict"

    @property
    def current_version(self) -> int | None:
        if isinstance(self.details, dict):
            value = self.details.get("current_version")
            if isinstance(value, int):
                return value
        return None


class LimitExceeded(ChatSessionsError):
    code = "limit_exceeded"


class PatchFailed(ChatSessionsError):
    code = "patch_failed"


class IdempotencyKeyReused(ChatSessionsError):
    code = "idempotency_key_reused"


class Unavailable(ChatSessionsError):
    """The service was busy past the client's retries; retrying later is safe."""

    code = "unavailable"


class InternalError(ChatSessionsError):
    """A defect of the service; `details["request_id"]` names it in the service's logs."""

    code = "internal_error"


class GatewayError(ChatSessionsError):
    """An answer API Gateway made itself: an unknown route (404), its throttling (429), a
    request too large for it (413), a function that failed (500) or did not answer in time
    (503). `code` is None; `message` is the gateway's."""


_BY_CODE: dict[str, type[ChatSessionsError]] = {
    cls.code: cls
    for cls in (
        BadRequest,
        Unauthorized,
        NotFound,
        UnsupportedMediaType,
        ValidationFailed,
        PayloadTooLarge,
        SessionNotActive,
        VersionConflict,
        LimitExceeded,
        PatchFailed,
        IdempotencyKeyReused,
        Unavailable,
        InternalError,
    )
    if cls.code is not None
}


def error_from_answer(
    status: int, body: bytes, www_authenticate: str | None = None
) -> ChatSessionsError:
    """The exception for an error answer: the service's envelope by its code, the gateway's
    `{"message": ...}` as GatewayError (Unauthorized for its 401, with the reason the gateway
    gives in `WWW-Authenticate` as `details["www_authenticate"]`)."""
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
        error = parsed["error"]
        code = str(error.get("code", ""))
        message = str(error.get("message", ""))
        cls = _BY_CODE.get(code, ChatSessionsError)
        return cls(status, message, code=code or None, details=error.get("details"))
    if isinstance(parsed, dict) and "message" in parsed:
        message = str(parsed["message"])
    else:
        message = body.decode("utf-8", errors="replace")[:500] or f"HTTP {status}"
    if status == 401:
        details = None if www_authenticate is None else {"www_authenticate": www_authenticate}
        return Unauthorized(status, message, details=details)
    return GatewayError(status, message)
