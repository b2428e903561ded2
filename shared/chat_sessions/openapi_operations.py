"""The operation table of the OpenAPI document: one Operation per route of the first
release's routes (sessions, messages, workflow), their parameters read from contract and
their bodies from models. The lifecycle routes are in openapi_lifecycle.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from chat_sessions import contract, models
from chat_sessions.openapi_schemas import ERROR_TEXT, KEY_REUSED, REF

REUSED = (
    "; or idempotency_key_reused: a client message id already in the session with another "
    "role, content or metadata"
)
PATH_SCHEMAS = {"session_id": contract.SESSION_ID_SCHEMA, "version": contract.VERSION_SCHEMA}
WRITE = (contract.IDEMPOTENCY_KEY,)
PRECONDITIONED_WRITE = (contract.IDEMPOTENCY_KEY, contract.IF_MATCH)

# One tag per resource: generated clients group their operations by it.
SESSIONS, MESSAGES, WORKFLOW, CONTEXT, DOCUMENT = (
    "Sessions",
    "Messages",
    "Workflow",
    "Summary and context",
    "Document",
)
TAGS = {
    SESSIONS: "Sessions: create, read, change, end, delete, fork, export and import.",
    MESSAGES: "The conversation: messages, turns (messages with a workflow change), rewind.",
    WORKFLOW: "The current workflow, its versions, diffs and reverts.",
    CONTEXT: "The assistant's summary of the conversation, and what its next call needs.",
    DOCUMENT: "This OpenAPI document.",
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    success: int
    response: type[BaseModel] | None
    errors: tuple[int, ...]
    body: type[BaseModel] | None = None
    query: tuple[contract.Param, ...] = ()
    headers: tuple[contract.TextParam, ...] = ()
    response_headers: tuple[str, ...] = ()
    auth: bool = True
    extra_responses: dict[int, str] = field(default_factory=dict)
    body_media: dict[str, dict[str, Any]] | None = None
    required_query: tuple[str, ...] = ()
    body_required: bool = True
    body_description: str | None = None
    error_text: dict[int, str] = field(default_factory=dict)
    links: dict[str, dict[str, Any]] = field(default_factory=dict)
    tag: str = ""  # one of TAGS
    description: str = ""


def _link(operation_id: str, **parameters: str) -> dict[str, Any]:
    return {"operationId": operation_id, "parameters": parameters}


SESSION_FROM_BODY = "$response.body#/id"
SESSION_FROM_PATH = "$request.path.session_id"
# What a new session is good for at once (its workflow only once a version is stored).
CREATED_LINKS = {
    op: _link(op, session_id=SESSION_FROM_BODY)
    for op in (
        "getSession",
        "patchSession",
        "endSession",
        "deleteSession",
        "appendMessage",
        "listMessages",
        "putWorkflow",
        "patchWorkflow",
        "listVersions",
        "takeTurn",
    )
}
# A stored version: the current workflow, the version itself, and a diff of it with itself.
VERSION_LINKS = {
    "getWorkflow": _link("getWorkflow", session_id=SESSION_FROM_PATH),
    "getVersion": _link(
        "getVersion", session_id=SESSION_FROM_PATH, version="$response.body#/version"
    ),
    "diffVersions": _link(
        "diffVersions",
        session_id=SESSION_FROM_PATH,
        **{"from": "$response.body#/version", "to": "$response.body#/version"},
    ),
}

CORE_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "post",
        "/sessions",
        "createSession",
        "Create a session",
        201,
        models.SessionOut,
        (400, 401, 413, 415, 422, 503),
        body=models.CreateSessionIn,
        body_required=False,
        body_description="Optional: no body (or an empty one) is {}.",
        headers=WRITE,
        response_headers=("Location",),
        links=CREATED_LINKS,
        tag=SESSIONS,
        description=(
            "A new active session of the caller; a non-empty initial_description becomes "
            "message 1 (role user). It expires SESSION_TIMEOUT_MINUTES after its last write or "
            "SESSION_MAX_LIFETIME_HOURS after its creation, whichever comes first, and is "
            "deleted SESSION_GRACE_HOURS later. A retry with the same Idempotency-Key answers "
            "201 with the session as it is now and creates nothing."
        ),
    ),
    Operation(
        "get",
        "/sessions",
        "listSessions",
        "The caller's sessions, most recently updated first",
        200,
        models.SessionPage,
        (400, 401, 503),
        query=(contract.STATUS, contract.LIMIT, contract.CURSOR),
        tag=SESSIONS,
        description=(
            "The caller's sessions without their workflows, most recently updated first; "
            "status filters. A page may hold fewer than limit items, even none: only "
            "next_cursor null means the end."
        ),
    ),
    Operation(
        "get",
        "/sessions/{session_id}",
        "getSession",
        "One session with its current workflow",
        200,
        models.SessionOut,
        (401, 404, 503),
        tag=SESSIONS,
        description=(
            "The session with its current workflow (null before the first version). An active "
            "session past expires_at is answered, and stored, as expired."
        ),
    ),
    Operation(
        "patch",
        "/sessions/{session_id}",
        "patchSession",
        "Change the title and/or merge into metadata (null removes a key)",
        200,
        models.SessionOut,
        (400, 401, 404, 409, 413, 415, 422, 503),
        body=models.PatchSessionIn,
        body_required=False,
        body_description=(
            "Optional: no body (or an empty one) is {}, nothing to change: 200 with the "
            "session, not a write (no expiry moved, also on an expired or ended session)."
        ),
        headers=WRITE,
        tag=SESSIONS,
        description=(
            "Replaces the title and merges metadata into the session's (a null value removes "
            "a key). A change is an accepted write: it moves updated_at and expires_at, and "
            "needs an active session (else 409 session_not_active)."
        ),
    ),
    Operation(
        "delete",
        "/sessions/{session_id}",
        "deleteSession",
        "Delete the session with all its messages and versions",
        204,
        None,
        (401, 404, 503),
        tag=SESSIONS,
        description=(
            "Deletes the session now, whatever its status, with its messages, versions, "
            "summary and Idempotency-Key records. Idempotent as it is (no Idempotency-Key): "
            "once it is gone, the session is 404."
        ),
    ),
    Operation(
        "post",
        "/sessions/{session_id}/end",
        "endSession",
        "Close an active session: read-only, deleted after the grace period",
        200,
        models.SessionOut,
        (400, 401, 404, 409, 422, 503),
        headers=WRITE,
        error_text={
            400: "bad_request: a malformed Idempotency-Key header.",
            409: "session_not_active: the session is already ended or expired.",
            422: "idempotency_key_reused: the Idempotency-Key was already used for another "
            "request.",
        },
        tag=SESSIONS,
        description=(
            "Closes an active session: status ended, read-only from now on, expires_at the time "
            "it ended, deleted SESSION_GRACE_HOURS later. A session already ended or expired "
            "is 409 session_not_active."
        ),
    ),
    Operation(
        "post",
        "/sessions/{session_id}/messages",
        "appendMessage",
        "Append a message",
        201,
        models.MessageOut,
        (400, 401, 404, 409, 413, 415, 422, 503),
        body=models.MessageIn,
        headers=WRITE,
        extra_responses={200: "A replay of a message id already in the session: the first answer."},
        error_text={422: ERROR_TEXT[422] + REUSED + KEY_REUSED + "."},
        tag=MESSAGES,
        description=(
            "Appends a message to an active session; seq counts from 1 without gaps. A "
            "client-chosen id makes the append safe to retry: the same id with the same role, "
            "content and metadata answers 200 with the first answer and stores nothing (also "
            "on an ended or expired session)."
        ),
    ),
    Operation(
        "get",
        "/sessions/{session_id}/messages",
        "listMessages",
        "Messages in seq order",
        200,
        models.MessagePage,
        (400, 401, 404, 503),
        query=(contract.ORDER, contract.AFTER_SEQ, contract.LIMIT, contract.CURSOR),
        tag=MESSAGES,
        description=(
            "The session's messages by seq, ascending by default; after_seq starts after a "
            "seq already read. Only next_cursor null means the end."
        ),
    ),
    Operation(
        "get",
        "/sessions/{session_id}/workflow",
        "getWorkflow",
        "The current workflow (404 before the first version)",
        200,
        models.WorkflowOut,
        (401, 404, 503),
        response_headers=("ETag",),
        error_text={
            404: "not_found: no such session, not the caller's, or the session has no workflow "
            "yet (workflow_version 0: no version stored); a stored version links here."
        },
        tag=WORKFLOW,
        description=(
            "The current workflow, its version (also the ETag, for If-Match) and when it was "
            "stored."
        ),
    ),
    Operation(
        "put",
        "/sessions/{session_id}/workflow",
        "putWorkflow",
        "Store a new version",
        200,
        models.WorkflowVersionOut,
        (400, 401, 404, 409, 412, 413, 415, 422, 503),
        body=models.WorkflowPutIn,
        headers=PRECONDITIONED_WRITE,
        response_headers=("ETag",),
        links=VERSION_LINKS,
        tag=WORKFLOW,
        description=(
            "Stores the whole workflow as a new version, with the change lines from the "
            "previous one. If-Match makes it conditional (412 when the current version is "
            "another). A workflow equal to the current one stores nothing: 200 with the current "
            "version."
        ),
    ),
    Operation(
        "patch",
        "/sessions/{session_id}/workflow",
        "patchWorkflow",
        "Change part of the workflow: RFC 7396 merge patch or RFC 6902 JSON patch",
        200,
        models.WorkflowVersionOut,
        (400, 401, 404, 409, 412, 413, 415, 422, 503),
        query=(contract.NOTE,),
        headers=PRECONDITIONED_WRITE,
        response_headers=("ETag",),
        body_media={
            contract.MERGE_PATCH: {"$ref": REF.format(model="WorkflowMergePatch")},
            contract.JSON_PATCH: {"$ref": REF.format(model="JsonPatch")},
        },
        links=VERSION_LINKS,
        tag=WORKFLOW,
        description=(
            "Stores a new version made by a patch of the current workflow ({} before the first "
            "version): an RFC 7396 merge patch (Content-Type application/merge-patch+json) or "
            "an RFC 6902 JSON patch (application/json-patch+json). If-Match makes it "
            "conditional; a result equal to the current workflow stores nothing: 200 with the "
            "current version."
        ),
    ),
    Operation(
        "get",
        "/sessions/{session_id}/workflow/versions",
        "listVersions",
        "Workflow history, newest first, without the workflows",
        200,
        models.VersionPage,
        (400, 401, 404, 503),
        query=(contract.LIMIT, contract.CURSOR),
        tag=WORKFLOW,
        description=(
            "Every stored version, newest first, with its source, note, message_id and change "
            "lines but without its workflow (GET one version for that)."
        ),
    ),
    Operation(
        "get",
        "/sessions/{session_id}/workflow/versions/{version}",
        "getVersion",
        "One version with its workflow",
        200,
        models.WorkflowVersionOut,
        (401, 404, 503),
        response_headers=("ETag",),
        links={
            "revertWorkflow": {
                "operationId": "revertWorkflow",
                "parameters": {"session_id": SESSION_FROM_PATH},
                "requestBody": {"version": "$response.body#/version"},
            }
        },
        tag=WORKFLOW,
        description="One stored version with its workflow; the ETag names the version.",
    ),
    Operation(
        "get",
        "/sessions/{session_id}/workflow/diff",
        "diffVersions",
        "RFC 6902 operations and change lines turning version `from` into version `to`",
        200,
        models.DiffOut,
        (400, 401, 404, 409, 503),
        query=(contract.DIFF_FROM, contract.DIFF_TO),
        error_text={
            409: "limit_exceeded: the diff would not fit a response; fetch the two versions."
        },
        required_query=(contract.DIFF_FROM.name, contract.DIFF_TO.name),
        tag=WORKFLOW,
        description=(
            "The RFC 6902 operations that turn the workflow of version from into that of "
            "version to, and the change lines between them."
        ),
    ),
    Operation(
        "post",
        "/sessions/{session_id}/workflow/revert",
        "revertWorkflow",
        "A new version whose workflow equals an earlier one",
        200,
        models.WorkflowVersionOut,
        (400, 401, 404, 409, 412, 415, 422, 503),
        body=models.RevertIn,
        headers=PRECONDITIONED_WRITE,
        response_headers=("ETag",),
        links=VERSION_LINKS,
        tag=WORKFLOW,
        description=(
            "Stores a new version whose workflow equals that of an earlier version (source "
            "revert, reverted_from that version; the first change line says so). If-Match "
            "makes it conditional; a workflow equal to the current one stores nothing: 200 with "
            "the current version."
        ),
    ),
    Operation(
        "post",
        "/sessions/{session_id}/turns",
        "takeTurn",
        "One conversation turn, all or nothing: messages and optionally a new version",
        201,
        models.TurnOut,
        (400, 401, 404, 409, 412, 413, 415, 422, 503),
        body=models.TurnIn,
        headers=PRECONDITIONED_WRITE,
        response_headers=("ETag",),
        error_text={
            422: ERROR_TEXT[422] + "; If-Match and expected_version both given and different; "
            "idempotency_key_reused: a message id already in the session" + KEY_REUSED + "."
        },
        tag=MESSAGES,
        description=(
            "Stores 1 to 10 messages and, optionally, a new workflow version (a whole workflow "
            "or a merge patch, not both), in one transaction or not at all; the version's "
            "message_id is the last message's. If-Match or expected_version (0: no workflow "
            "yet) makes it conditional. A workflow change that leaves the workflow as it is "
            "stores the messages only: workflow_version null and no ETag."
        ),
    ),
    Operation(
        "get",
        "/openapi.json",
        "getOpenApi",
        "This document",
        200,
        None,
        (),
        auth=False,
        tag=DOCUMENT,
        description="This OpenAPI document: every route, body, response and error. No token.",
    ),
)
