"""The operation table of the conversation lifecycle routes: fork, rewind, summary,
context, export, import, and the erasure of a caller's sessions."""

from __future__ import annotations

from chat_sessions import contract
from chat_sessions.lifecycle_models import (
    ContextOut,
    DeleteAllOut,
    RewindIn,
    SummaryIn,
    SummaryOut,
)
from chat_sessions.models import SessionOut
from chat_sessions.openapi_operations import Operation
from chat_sessions.openapi_schemas import ERROR_TEXT

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
    Operation(
        "post",
        "/sessions/{session_id}/rewind",
        "rewindSession",
        "Undo the end of the conversation: remove the messages after to_seq (at most 40)",
        200,
        SessionOut,
        (400, 401, 404, 409, 415, 422, 503),
        body=RewindIn,
        headers=(contract.IDEMPOTENCY_KEY,),
        error_text={
            409: "session_not_active: the session is expired or ended; or limit_exceeded: more "
            "than 40 messages would be removed (rewind in steps of at most 40).",
            422: ERROR_TEXT[422] + "; to_seq past message_count; or idempotency_key_reused: "
            "the Idempotency-Key was used for another request.",
        },
    ),
    Operation(
        "put",
        "/sessions/{session_id}/summary",
        "putSummary",
        "Store the assistant's summary of messages 1..covers_seq, replacing any earlier one",
        200,
        SummaryOut,
        (400, 401, 404, 409, 413, 415, 422, 503),
        body=SummaryIn,
        headers=(contract.IDEMPOTENCY_KEY,),
        error_text={
            409: "session_not_active: the session is expired or ended.",
            413: "payload_too_large: the content or the metadata map over its limit (from API "
            "Gateway: a request over 10 MB, body {message}).",
            422: ERROR_TEXT[422] + "; covers_seq past message_count; or idempotency_key_reused: "
            "the Idempotency-Key was used for another request.",
        },
    ),
    Operation(
        "get",
        "/sessions/{session_id}/summary",
        "getSummary",
        "The stored summary (404 when there is none)",
        200,
        SummaryOut,
        (401, 404, 503),
        error_text={
            404: "not_found: no such session, not the caller's, or no summary stored (none yet, "
            "or a rewind removed it)."
        },
    ),
    Operation(
        "get",
        "/sessions/{session_id}/context",
        "getContext",
        "What an assistant needs for its next call: the session, its summary, its workflow and "
        "the latest messages after the summary that fit in max_bytes",
        200,
        ContextOut,
        (400, 401, 404, 503),
        query=(contract.MAX_BYTES,),
    ),
)
