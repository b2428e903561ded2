"""The operation table of the conversation lifecycle routes: fork, rewind, summary,
context, export, import, and the erasure of a caller's sessions."""

from __future__ import annotations

from chat_sessions import contract
from chat_sessions.lifecycle_models import DeleteAllOut
from chat_sessions.openapi_operations import Operation

LIFECYCLE_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "delete",
        "/sessions",
        "deleteAllSessions",
        "Delete every session of the caller, whatever its status (the right to be forgotten)",
        200,
        DeleteAllOut,
        (400, 401, 503),
        query=(contract.CONFIRM,),
        required_query=(contract.CONFIRM.name,),
        error_text={400: "bad_request: confirm=all is missing."},
    ),
)
