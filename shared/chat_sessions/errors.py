"""Domain exceptions. Each carries the HTTP status and error code of api.md; the layer's
exception handler (api_glue.py) is the one place that turns them into responses."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """The base of every error answered in api.md's envelope."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadRequest(ApiError):
    status, code = 400, "bad_request"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class NotFound(ApiError):
    status, code = 404, "not_found"


class SessionNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("session not found")


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported_media_type"


class ValidationFailed(ApiError):
    status, code = 422, "validation_error"

    def __init__(self, message: str, details: list[dict[str, str]]) -> None:
        super().__init__(message, details)


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class SessionNotActive(ApiError):
    status, code = 409, "session_not_active"

    def __init__(self, status: str) -> None:
        super().__init__(f"session is {status}: it is read-only")


class VersionConflict(ApiError):
    status, code = 412, "version_conflict"

    def __init__(self, current_version: int) -> None:
        super().__init__(
            f"the current workflow version is {current_version}",
            {"current_version": current_version},
        )


class LimitExceeded(ApiError):
    status, code = 409, "limit_exceeded"


class PatchFailed(ApiError):
    status, code = 409, "patch_failed"


class Unavailable(ApiError):
    status, code = 503, "unavailable"

    def __init__(self, message: str = "the service is busy; retry", retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class IdempotencyKeyReused(ApiError):
    status, code = 422, "idempotency_key_reused"
