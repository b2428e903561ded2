"""The operation table of the conversation lifecycle routes: fork, rewind, summary,
context, export, import, and the erasure of a caller's sessions."""

from __future__ import annotations

from chat_sessions import contract
from chat_sessions.lifecycle_models import (
    ContextOut,
    DeleteAllOut,
    ExportOut,
    ForkIn,
    ImportIn,
    RewindIn,
    SummaryIn,
    SummaryOut,
)
from chat_sessions.models import SessionOut
from chat_sessions.openapi_operations import CREATED_LINKS, Operation
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
    Operation(
        "post",
        "/sessions/{session_id}/fork",
        "forkSession",
        "A new active session of the caller from this one (active, expired or ended): messages "
        "1..at_seq and the workflow of at_version as its version 1; a read of the source",
        201,
        SessionOut,
        (400, 401, 404, 409, 413, 415, 422, 503),
        body=ForkIn,
        body_required=False,
        body_description="Optional: no body (or an empty one) copies every message and the "
        "current workflow, with the source's title and metadata.",
        headers=(contract.IDEMPOTENCY_KEY,),
        response_headers=("Location",),
        links=CREATED_LINKS,
        error_text={
            409: "limit_exceeded: messages 1..at_seq take more than 5 MB (the UTF-8 bytes of "
            "their contents and of their metadata maps' compact JSON); fork at an earlier "
            "at_seq.",
            413: "payload_too_large: the metadata map over its limit (from API Gateway: a "
            "request over 10 MB, body {message}).",
            422: ERROR_TEXT[422] + "; at_seq past message_count or at_version past "
            "workflow_version; or idempotency_key_reused: the Idempotency-Key was used for "
            "another request on this session.",
        },
    ),
    Operation(
        "get",
        "/sessions/{session_id}/export",
        "exportSession",
        "The whole session as one document: the session, every message, every version with "
        "its workflow, the summary",
        200,
        ExportOut,
        (401, 404, 409, 503),
        error_text={
            409: "limit_exceeded: the document would not fit one response (6 MB, escaped as "
            "Lambda carries it); fetch the session, its messages, its versions and its summary "
            "from their own routes instead."
        },
    ),
    Operation(
        "post",
        "/sessions/import",
        "importSession",
        "A new active session of the caller from an export document: the same messages, "
        "versions and summary; a fresh id, status and expiry; imported_from set",
        201,
        SessionOut,
        (400, 401, 409, 413, 415, 422, 503),
        body=ImportIn,
        body_description="An export document (GET /sessions/{session_id}/export), at most "
        "2 500 000 bytes; the session's fields other than id, title and metadata are ignored.",
        headers=(contract.IDEMPOTENCY_KEY,),
        response_headers=("Location",),
        links=CREATED_LINKS,
        error_text={
            409: "limit_exceeded: more messages or versions than a session holds.",
            413: "payload_too_large: the document over 2 500 000 bytes, or a message, summary, "
            "metadata map or workflow in it over its limit (from API Gateway: a request over "
            "10 MB, body {message}).",
            422: ERROR_TEXT[422] + "; seqs or versions not running 1..n in order, a message id "
            "used twice, reverted_from not naming an earlier version, change lines over 65536 "
            "bytes, summary.covers_seq past the messages; or idempotency_key_reused: the "
            "Idempotency-Key was used for another request (POST /sessions included).",
        },
    ),
)
