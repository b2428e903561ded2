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

from chat_sessions import jsonutil, models
from chat_sessions.api_glue import IDEMPOTENCY_KEY_PATTERN, QUERY_INT_MAX

DOCUMENT = Path(__file__).with_name("openapi.json")
REF = "#/components/schemas/{model}"

ERROR_TEXT = {
    400: (
        "bad_request: invalid JSON or UTF-8 (a lone surrogate included), a query value not "
        "allowed, a cursor the service did not issue for this list, or a malformed header."
    ),
    401: (
        "unauthorized: no authenticated caller (from API Gateway's authorizer: a missing or "
        "bad token, body {message})."
    ),
    404: (
        "not_found: no such session or version, a malformed path parameter, or not the "
        "caller's (from API Gateway: a path or method no route takes, body {message})."
    ),
    409: "session_not_active, limit_exceeded or patch_failed.",
    412: (
        "version_conflict: If-Match / expected_version does not match the current workflow "
        "version; details.current_version says what it is."
    ),
    413: (
        "payload_too_large: a message, metadata map or workflow over its limit (from API "
        "Gateway: a request over 10 MB, body {message})."
    ),
    415: "unsupported_media_type: a body type the route does not take.",
    422: (
        "validation_error: a JSON body that breaks the schema (details lists the fields), "
        "nesting deeper than 32, NaN, Infinity, or a number DynamoDB cannot store."
    ),
    500: (
        "internal_error: an unexpected failure, always a defect; details.request_id names it "
        "in the logs; no Retry-After."
    ),
    503: (
        "unavailable: the service is busy or its time ran out; retry after Retry-After "
        "seconds (from API Gateway: no answer within 30 s, body {message}, no Retry-After)."
    ),
}
# Statuses API Gateway itself may answer with {"message"} on an authenticated route.
GATEWAY_STATUSES = (401, 404, 413, 503)
REUSED = (
    "; or idempotency_key_reused: a client message id already in the session with another "
    "role, content or metadata"
)


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
    body_required: bool = True
    body_description: str | None = None
    error_text: dict[int, str] = field(default_factory=dict)
    links: dict[str, dict[str, Any]] = field(default_factory=dict)


VALUE_REF = {"$ref": REF.format(model="JsonValue")}
# RFC 6901: "" (the whole document) or /-separated tokens, ~ only as ~0 or ~1.
POINTER = {"type": "string", "pattern": "^(/([^/~]|~[01])*)*$"}
INNER_POINTER = {"type": "string", "pattern": "^(/([^/~]|~[01])*)+$"}


def _patch_op(names: list[str], members: dict[str, Any]) -> dict[str, Any]:
    # Other members are ignored (RFC 6902), but read as JSON like the rest of the body.
    return {
        "type": "object",
        "required": ["op", *members],
        "properties": {"op": {"enum": names}, **members},
        "additionalProperties": VALUE_REF,
    }


# One RFC 6902 operation. The workflow stays a JSON object: `add`/`replace` of the whole
# document ("") take an object, `remove` of the whole document is 409 patch_failed, and a
# `move`/`copy` to "" of something that is not an object is 422.
JSON_PATCH_OP = {
    "oneOf": [
        {
            **_patch_op(["add", "replace", "test"], {"path": POINTER, "value": VALUE_REF}),
            "if": {"properties": {"path": {"const": ""}, "op": {"enum": ["add", "replace"]}}},
            "then": {"properties": {"value": {"type": "object"}}},
        },
        _patch_op(["remove"], {"path": INNER_POINTER}),
        _patch_op(["move", "copy"], {"path": POINTER, "from": POINTER}),
    ]
}
VERSION = {"type": "integer", "minimum": 1, "maximum": models.VERSION_MAX}
PATH_SCHEMAS = {
    "session_id": {"type": "string", "format": "uuid", "pattern": models.UUID_PATTERN},
    "version": VERSION,
}
# preconditions.if_match: `*`, or a comma-separated list of "<version>" / W/"<version>" (empty
# elements ignored), with HTTP's optional whitespace (space, tab) around each.
_TAG = '(?:W/)?"[0-9]{1,12}"'
IF_MATCH_PATTERN = f"^[ \\t]*(?:\\*|(?:,[ \\t]*)*{_TAG}(?:[ \\t]*,(?:[ \\t]*{_TAG})?)*)[ \\t]*$"
IF_MATCH = (
    "If-Match",
    {"type": "string", "pattern": IF_MATCH_PATTERN},
    '"<version>", W/"<version>", a comma-separated list of them, or *: store only if the '
    "current version matches (else 412); any other value (empty included): 400.",
)
IDEMPOTENCY_KEY = (
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 128, "pattern": IDEMPOTENCY_KEY_PATTERN},
    "1..128 visible ASCII characters (! to ~), else 400. Retries with the same key return "
    "the session it created.",
)
LIMIT = ("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}, "Page size.")
CURSOR = (
    "cursor",
    {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "minLength": 1, "maxLength": 2048},
    "An opaque token issued by the service: the next_cursor of the previous page of the same "
    "list, for the same caller, as it was sent. It is authenticated: any other value, one "
    "altered in any way or issued for another list or caller, is 400.",
)


def _query_int(name: str, low: int, text: str) -> tuple[str, dict[str, Any], str]:
    return (name, {"type": "integer", "minimum": low, "maximum": QUERY_INT_MAX}, text)


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
        body_required=False,
        body_description="Optional: no body (or an empty one) is {}.",
        headers=(IDEMPOTENCY_KEY,),
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
        query=(
            (
                "order",
                {"type": "string", "enum": ["asc", "desc"], "default": "asc"},
                "Sort order by seq.",
            ),
            _query_int("after_seq", 0, "Only messages with a greater seq."),
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
        headers=(IF_MATCH,),
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
        query=(("note", {"type": "string", "maxLength": 1000}, "Why the change was made."),),
        headers=(IF_MATCH,),
        response_headers=("ETag",),
        body_media={
            "application/merge-patch+json": {
                "type": "object",
                "additionalProperties": VALUE_REF,
                "description": "RFC 7396: a null value removes a member.",
            },
            "application/json-patch+json": {"type": "array", "items": JSON_PATCH_OP},
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
        query=(
            _query_int("from", 1, "The version to start from."),
            _query_int("to", 1, "The version to arrive at."),
        ),
        error_text={
            409: "limit_exceeded: the diff would not fit a response; fetch the two versions."
        },
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
        headers=(IF_MATCH,),
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


INTERNAL_ERROR = {
    "allOf": [{"$ref": REF.format(model="ErrorOut")}],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"const": "internal_error"},
                "details": {
                    "type": "object",
                    "required": ["request_id"],
                    "properties": {"request_id": {"type": ["string", "null"]}},
                },
            },
        }
    },
}


def _error_response(status: int, text: str | None = None, gateway: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {"$ref": REF.format(model="ErrorOut")}
    if status == 500:
        schema = INTERNAL_ERROR
    elif gateway and status in GATEWAY_STATUSES:
        schema = {"oneOf": [schema, {"$ref": REF.format(model="GatewayErrorOut")}]}
    response: dict[str, Any] = {
        "description": text or ERROR_TEXT[status],
        "content": {"application/json": {"schema": schema}},
    }
    if status == 503:
        response["headers"] = {
            "Retry-After": {
                "schema": {"type": "integer", "minimum": 1},
                "description": "Seconds to wait; sent by the service, not by API Gateway.",
            }
        }
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
    if op.links:
        success["links"] = op.links
    for status in (*op.errors, 500):
        responses[str(status)] = _error_response(status, op.error_text.get(status), op.auth)
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
            "required": op.body_required,
            "content": {
                "application/json": {"schema": {"$ref": REF.format(model=op.body.__name__)}}
            },
        }
        if op.body_description:
            result["requestBody"]["description"] = op.body_description
    result["security"] = [{"bearerAuth": []}] if op.auth else []
    return result


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


# Numbers DynamoDB can store (jsonutil): zero, or a magnitude from 1E-130 to under 1E+126, with
# at most 38 significant digits (not expressible in JSON Schema: said in the description).
JSON_NUMBER = {
    "type": "number",
    "description": (
        f"A number DynamoDB can store: 0, or a magnitude from 1E-130 to under 1E+126, with at "
        f"most {jsonutil.MAX_DIGITS} significant digits; anything else (NaN and Infinity "
        "included) is 422 validation_error."
    ),
    "anyOf": [
        {"const": 0},
        {"minimum": 1e-130, "exclusiveMaximum": 1e126},
        {"exclusiveMinimum": -1e126, "maximum": -1e-130},
    ],
}
JSON_VALUE = {
    "description": (
        f"Any JSON value, nested at most {jsonutil.MAX_DEPTH} levels in its body, its numbers "
        "as JsonNumber says."
    ),
    "anyOf": [
        {"type": "null"},
        {"type": "boolean"},
        {"type": "string"},
        {"$ref": REF.format(model="JsonNumber")},
        {"type": "array", "items": VALUE_REF},
        {"type": "object", "additionalProperties": VALUE_REF},
    ],
}


def _with_value_refs(node: Any) -> Any:
    """models.JsonObject's marker replaced by a reference to JsonValue."""
    if isinstance(node, dict):
        if node == {models.JSON_VALUE_MARKER: True}:
            return dict(VALUE_REF)
        return {key: _with_value_refs(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_with_value_refs(value) for value in node]
    return node


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
                "(a path or method no route takes 404, a missing or bad token 401, a body "
                "over 10 MB 413, throttling 429, no answer within 30 s 503) have "
                '{"message"}. A request that is not answered 2xx writes nothing. Sizes are '
                "UTF-8 bytes: a message's content as text, metadata and workflows as compact "
                "JSON."
            ),
        },
        "servers": [{"url": "http://127.0.0.1:3000", "description": "make run"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": {
                **_with_value_refs(schemas["$defs"]),
                "JsonNumber": JSON_NUMBER,
                "JsonValue": JSON_VALUE,
            },
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
