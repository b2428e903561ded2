"""The operation table of the OpenAPI document: one Operation per route of the first
release's routes (sessions, messages, workflow), their parameters read from contract and
their bodies from models. The lifecycle routes are in openapi_lifecycle.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from chat_sessions import contract, models
from chat_sessions.openapi_schemas import (
    ERROR_TEXT,
    JSON_PATCH_OP,
    VALUE_REF,
)

REUSED = (
    "; or idempotency_key_reused: a client message id already in the session with another "
    "role, content or metadata"
)
PATH_SCHEMAS = {"session_id": contract.SESSION_ID_SCHEMA, "version": contract.VERSION_SCHEMA}


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
        headers=(contract.IDEMPOTENCY_KEY,),
        response_headers=("Location",),
        links=CREATED_LINKS,
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
    ),
    Operation(
        "get",
        "/sessions/{session_id}",
        "getSession",
        "One session with its current workflow",
        200,
        models.SessionOut,
        (401, 404, 503),
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
    ),
    Operation(
        "delete",
        "/sessions/{session_id}",
        "deleteSession",
        "Delete the session with all its messages and versions",
        204,
        None,
        (401, 404, 503),
    ),
    Operation(
        "post",
        "/sessions/{session_id}/end",
        "endSession",
        "Close an active session: read-only, deleted after the grace period",
        200,
        models.SessionOut,
        (401, 404, 409, 503),
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
        extra_responses={200: "A replay of a message id already in the session: the first answer."},
        error_text={422: ERROR_TEXT[422] + REUSED + "."},
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
        headers=(contract.IF_MATCH,),
        response_headers=("ETag",),
        links=VERSION_LINKS,
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
        headers=(contract.IF_MATCH,),
        response_headers=("ETag",),
        body_media={
            contract.MERGE_PATCH: {
                "type": "object",
                "additionalProperties": VALUE_REF,
                "description": "RFC 7396: a null value removes a member.",
            },
            contract.JSON_PATCH: {"type": "array", "items": JSON_PATCH_OP},
        },
        links=VERSION_LINKS,
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
        headers=(contract.IF_MATCH,),
        response_headers=("ETag",),
        links=VERSION_LINKS,
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
        headers=(contract.IF_MATCH,),
        error_text={
            422: ERROR_TEXT[422] + "; If-Match and expected_version both given and different; or "
            "idempotency_key_reused: a message id already in the session."
        },
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
    ),
)
