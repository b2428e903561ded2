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
from chat_sessions.openapi_operations import (
    CONTEXT,
    CREATED_LINKS,
    MESSAGES,
    SESSIONS,
    WRITE,
    Operation,
)
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
        tag=SESSIONS,
        description=(
            "Deletes every session of the caller, whatever its status (the right to be "
            "forgotten), page by page as its list shows them: each is gone at once, its items "
            "deleted within the request or by the next cleanup. more: true when the request's "
            "time ran out first: call again until more is false. A session created at that "
            "moment may survive (the list lags writes by up to a second)."
        ),
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
        headers=WRITE,
        error_text={
            409: "session_not_active: the session is expired or ended; or limit_exceeded: more "
            "than 40 messages would be removed (rewind in steps of at most 40).",
            422: ERROR_TEXT[422] + "; to_seq past message_count; or idempotency_key_reused: "
            "the Idempotency-Key was used for another request.",
        },
        tag=MESSAGES,
        description=(
            "Removes the messages after to_seq (at most 40 per request) and a stored summary that "
            "covers any of them, in one transaction; the next message gets seq to_seq + 1. "
            "Workflow versions are kept, their message_id unchanged (revert them separately)."
        ),
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
        headers=WRITE,
        error_text={
            409: "session_not_active: the session is expired or ended.",
            413: "payload_too_large: the content or the metadata map over its limit (from API "
            "Gateway: a request over 10 MB, body {message}).",
            422: ERROR_TEXT[422] + "; covers_seq past message_count; or idempotency_key_reused: "
            "the Idempotency-Key was used for another request.",
        },
        tag=CONTEXT,
        description=(
            "Stores the assistant's own summary of messages 1..covers_seq, replacing any earlier "
            "one, for keeping a long conversation inside a model's context window. A rewind past "
            "covers_seq removes it."
        ),
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
        tag=CONTEXT,
        description="The stored summary, with the seq it covers up to and when it was stored.",
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
        tag=CONTEXT,
        description=(
            "What an assistant needs for its next call, in one read: the session without its "
            "workflow, the summary, the current workflow and the latest messages after the "
            "summary's covers_seq (all when there is none), oldest first, as many as fit in "
            "max_bytes (the compact JSON of the messages array); omitted counts the ones left out."
        ),
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
        headers=WRITE,
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
        tag=SESSIONS,
        description=(
            "A new active session of the caller holding copies of messages 1..at_seq (same ids, "
            "seq, content and times) and, as its version 1 (source fork), the workflow of "
            "at_version; title and metadata default to the source's. The source may be active, "
            "expired or ended: a fork reads it and writes nothing to it."
        ),
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
        tag=SESSIONS,
        description=(
            "The whole session as one document (format chat-session/1): the session, every "
            "message by seq, every version with its workflow, the summary. POST /sessions/import "
            "takes it back as it is."
        ),
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
        headers=WRITE,
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
        tag=SESSIONS,
        description=(
            "A new active session of the caller from an export document: the same messages, "
            "versions (numbers, sources, notes, changes, message ids, times) and summary, title "
            "and metadata; a fresh id, status and expiry, and imported_from naming the exported "
            "session. Every limit applies."
        ),
    ),
)
