"""The OpenAPI 3 document of the whole API (every function's routes).

Generated at development time from the models and the operation table below into
openapi.json beside this module (`make openapi`); the layer serves that file, and a test
regenerates it and fails when it differs or when a route of template.yaml is missing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chat_sessions import models

DOCUMENT = Path(__file__).with_name("openapi.json")
REF = "#/components/schemas/{model}"

ERROR_TEXT = {
    400: "Bad request: invalid JSON or UTF-8, a query value not allowed, or a bad cursor.",
    401: "No authenticated caller.",
    404: "No such session or version, a malformed path parameter, or not the caller's.",
    409: "The session is not active, a limit is reached, or a patch failed.",
    412: "If-Match / expected_version does not match the current workflow version.",
    413: "A message, metadata map or workflow over its limit.",
    415: "A body type the route does not take.",
    422: "A JSON body that breaks the schema.",
    503: "DynamoDB throttled past the retries; retry after Retry-After seconds.",
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
    query: tuple[tuple[str, dict[str, Any], str], ...] = ()
    headers: tuple[tuple[str, dict[str, Any], str], ...] = ()
    response_headers: tuple[str, ...] = ()
    auth: bool = True
    extra_responses: dict[int, str] = field(default_factory=dict)
    body_media: dict[str, dict[str, Any]] | None = None
    required_query: tuple[str, ...] = ()


JSON_PATCH_OP = {
    "type": "object",
    "required": ["op", "path"],
    "properties": {
        "op": {"enum": ["add", "remove", "replace", "move", "copy", "test"]},
        "path": {"type": "string"},
        "from": {"type": "string"},
        "value": {},
    },
}
PATH_SCHEMAS = {
    "session_id": {"type": "string", "format": "uuid"},
    "version": {"type": "integer", "minimum": 1},
}
IF_MATCH = (
    "If-Match",
    {"type": "string"},
    '"<version>", W/"<version>" or *: store only if the current version matches (else 412).',
)
LIMIT = ("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}, "Page size.")
CURSOR = (
    "cursor",
    {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
    "next_cursor of the previous page.",
)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "post",
        "/sessions",
        "createSession",
        "Create a session",
        201,
        models.SessionOut,
        (400, 401, 413, 415, 422, 503),
        body=models.CreateSessionIn,
        headers=(
            (
                "Idempotency-Key",
                {"type": "string", "minLength": 1, "maxLength": 128},
                "Retries with the same key return the session it created.",
            ),
        ),
        response_headers=("Location",),
    ),
    Operation(
        "get",
        "/sessions",
        "listSessions",
        "The caller's sessions, most recently updated first",
        200,
        models.SessionPage,
        (400, 401, 503),
        query=(
            (
                "status",
                {"type": "string", "enum": ["active", "expired", "ended"]},
                "Only sessions with this status.",
            ),
            LIMIT,
            CURSOR,
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
    ),
    Operation(
        "get",
        "/sessions/{session_id}/messages",
        "listMessages",
        "Messages in seq order",
        200,
        models.MessagePage,
        (400, 401, 404, 503),
        query=(
            (
                "order",
                {"type": "string", "enum": ["asc", "desc"], "default": "asc"},
                "Sort order by seq.",
            ),
            ("after_seq", {"type": "integer", "minimum": 0}, "Only messages with a greater seq."),
            LIMIT,
            CURSOR,
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
        headers=(IF_MATCH,),
        response_headers=("ETag",),
    ),
    Operation(
        "patch",
        "/sessions/{session_id}/workflow",
        "patchWorkflow",
        "Change part of the workflow: RFC 7396 merge patch or RFC 6902 JSON patch",
        200,
        models.WorkflowVersionOut,
        (400, 401, 404, 409, 412, 413, 415, 422, 503),
        query=(("note", {"type": "string", "maxLength": 1000}, "Why the change was made."),),
        headers=(IF_MATCH,),
        response_headers=("ETag",),
        body_media={
            "application/merge-patch+json": {"type": "object"},
            "application/json-patch+json": {"type": "array", "items": JSON_PATCH_OP},
        },
    ),
    Operation(
        "get",
        "/sessions/{session_id}/workflow/versions",
        "listVersions",
        "Workflow history, newest first, without the workflows",
        200,
        models.VersionPage,
        (400, 401, 404, 503),
        query=(LIMIT, CURSOR),
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
    ),
    Operation(
        "get",
        "/sessions/{session_id}/workflow/diff",
        "diffVersions",
        "RFC 6902 operations and change lines turning version `from` into version `to`",
        200,
        models.DiffOut,
        (400, 401, 404, 503),
        query=(
            ("from", {"type": "integer", "minimum": 1}, "The version to start from."),
            ("to", {"type": "integer", "minimum": 1}, "The version to arrive at."),
        ),
        required_query=("from", "to"),
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
        headers=(IF_MATCH,),
        response_headers=("ETag",),
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


def _error_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": ERROR_TEXT[status],
        "content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorOut")}}},
    }
    if status == 401:
        response["content"]["application/json"]["schema"] = {
            "oneOf": [
                {"$ref": REF.format(model="ErrorOut")},
                {"$ref": REF.format(model="GatewayErrorOut")},
            ]
        }
    if status == 503:
        response["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
    return response


def _operation(op: Operation) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": PATH_SCHEMAS[name],
        }
        for name in _path_params(op.path)
    ]
    parameters += [
        {
            "name": n,
            "in": "query",
            "required": n in op.required_query,
            "schema": s,
            "description": d,
        }
        for n, s, d in op.query
    ]
    parameters += [
        {"name": n, "in": "header", "required": False, "schema": s, "description": d}
        for n, s, d in op.headers
    ]
    success: dict[str, Any] = {"description": op.summary}
    if op.response is not None:
        success["content"] = {
            "application/json": {"schema": {"$ref": REF.format(model=op.response.__name__)}}
        }
    elif op.operation_id == "getOpenApi":
        success["content"] = {"application/json": {"schema": {"type": "object"}}}
    if op.response_headers:
        success["headers"] = {h: {"schema": {"type": "string"}} for h in op.response_headers}
    responses: dict[str, Any] = {str(op.success): success}
    for status, text in op.extra_responses.items():
        responses[str(status)] = {**success, "description": text}
    for status in op.errors:
        responses[str(status)] = _error_response(status)
    if op.auth:
        responses.setdefault("401", _error_response(401))
        responses["429"] = {
            "description": "Throttled by API Gateway.",
            "content": {
                "application/json": {"schema": {"$ref": REF.format(model="GatewayErrorOut")}}
            },
        }
    result: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "responses": responses,
    }
    if parameters:
        result["parameters"] = parameters
    if op.body_media is not None:
        result["requestBody"] = {
            "required": True,
            "content": {media: {"schema": schema} for media, schema in op.body_media.items()},
        }
    if op.body is not None:
        result["requestBody"] = {
            "required": op.operation_id not in ("createSession",),
            "content": {
                "application/json": {"schema": {"$ref": REF.format(model=op.body.__name__)}}
            },
        }
    result["security"] = [{"bearerAuth": []}] if op.auth else []
    return result


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def build_document() -> dict[str, Any]:
    used: set[type[BaseModel]] = {models.ErrorOut, models.GatewayErrorOut}
    for op in OPERATIONS:
        used.update(m for m in (op.body, op.response) if m is not None)
    ordered = sorted(used, key=lambda m: m.__name__)
    _, schemas = models_json_schema(
        [
            (m, "validation" if issubclass(m, models.RequestBody) else "serialization")
            for m in ordered
        ],
        ref_template=REF,
    )
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Chat session service",
            "version": "1.0.0",
            "description": (
                "Conversations, the current workflow and every earlier version of it, for an "
                "AI workflow generator. Errors made by the functions have the body "
                '{"error": {"code", "message", "details"?}}; errors made by API Gateway '
                '(unknown route 404, bad token 401, throttling 429) have {"message"}. '
                "Sizes are UTF-8 bytes: a message's content as text, metadata and workflows "
                "as compact JSON."
            ),
        },
        "servers": [{"url": "http://127.0.0.1:3000", "description": "make run"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": schemas["$defs"],
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


def render() -> str:
    return json.dumps(build_document(), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


@cache
def document_text() -> str:
    """The generated document, as served by GET /openapi.json."""
    return DOCUMENT.read_text(encoding="utf-8")


if __name__ == "__main__":
    print(render(), end="")
