"""The OpenAPI document's shared schemas: error responses, response headers, JSON values and
numbers as the service takes them, the named JSON objects (workflow, metadata, merge patch),
RFC 6902 patch operations, and the models' component schemas."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chat_sessions import contract, jsonutil, limits, models
from chat_sessions.config import Settings

REF = "#/components/schemas/{model}"
HEADER_REF = "#/components/headers/{name}"

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
KEY_REUSED = "; or idempotency_key_reused: the Idempotency-Key was already used for another request"
# Statuses API Gateway itself may answer with {"message"} on an authenticated route.
GATEWAY_STATUSES = (401, 404, 413, 503)

VALUE_REF = {"$ref": REF.format(model="JsonValue")}
POINTER = {"type": "string", "pattern": contract.JSON_POINTER_PATTERN}
INNER_POINTER = {"type": "string", "pattern": contract.INNER_POINTER_PATTERN}


def _patch_op(names: list[str], members: dict[str, Any]) -> dict[str, Any]:
    # Other members are ignored (RFC 6902), but read as JSON like the rest of the body.
    return {
        "type": "object",
        "required": ["op", *members],
        "properties": {"op": {"type": "string", "enum": names}, **members},
        "additionalProperties": VALUE_REF,
    }


# RFC 6902 operations, one named schema for each shape. The workflow stays a JSON object:
# `add`/`replace` of the whole document ("") take an object, `remove` of the whole document
# is 409 patch_failed, and a `move`/`copy` to "" of something that is not an object is 422.
JSON_PATCH_SCHEMAS: dict[str, Any] = {
    "JsonPatchAddReplaceTest": {
        **_patch_op(["add", "replace", "test"], {"path": POINTER, "value": VALUE_REF}),
        "description": "An RFC 6902 add, replace or test operation.",
        "if": {"properties": {"path": {"const": ""}, "op": {"enum": ["add", "replace"]}}},
        "then": {"properties": {"value": {"type": "object"}}},
    },
    "JsonPatchRemove": {
        **_patch_op(["remove"], {"path": INNER_POINTER}),
        "description": "An RFC 6902 remove operation (not of the whole document).",
    },
    "JsonPatchMoveCopy": {
        **_patch_op(["move", "copy"], {"path": POINTER, "from": POINTER}),
        "description": "An RFC 6902 move or copy operation.",
    },
    "JsonPatchOperation": {
        "description": "One RFC 6902 operation.",
        "oneOf": [
            {"$ref": REF.format(model=name)}
            for name in ("JsonPatchAddReplaceTest", "JsonPatchRemove", "JsonPatchMoveCopy")
        ],
    },
    "JsonPatch": {
        "type": "array",
        "items": {"$ref": REF.format(model="JsonPatchOperation")},
        "description": (
            "An RFC 6902 JSON patch (Content-Type: application/json-patch+json): operations "
            "applied in order, all or nothing; a failed test or a path that does not exist is "
            "409 patch_failed."
        ),
    },
}
# The body of a 500: the error envelope, with the request id that names it in the logs.
INTERNAL_ERROR_SCHEMAS: dict[str, Any] = {
    "InternalErrorOut": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"$ref": REF.format(model="InternalErrorDetail")}},
        "description": "The error body of a 500 (code internal_error).",
    },
    "InternalErrorDetail": {
        "type": "object",
        "required": ["code", "message", "details"],
        "properties": {
            "code": {"type": "string", "const": "internal_error"},
            "message": {"type": "string"},
            "details": {"$ref": REF.format(model="InternalErrorDetails")},
        },
    },
    "InternalErrorDetails": {
        "type": "object",
        "required": ["request_id"],
        "properties": {
            "request_id": {
                "type": ["string", "null"],
                "description": "Names the failure in the function's logs.",
            }
        },
    },
}
# Response headers, declared once (components/headers) and named by the responses.
RESPONSE_HEADERS: dict[str, Any] = {
    "ETag": {
        "description": (
            'The workflow version this answer returns or stored, as "<version>": send it '
            "back in If-Match. Absent from a turn that stored no version."
        ),
        "schema": {"type": "string", "pattern": '^"[1-9][0-9]*"$'},
    },
    "Location": {
        "description": "The new session: /sessions/{session_id}.",
        "schema": {"type": "string", "format": "uri-reference"},
    },
    contract.REPLAYED_HEADER: {
        "description": (
            "true when this is the first answer again, to a request with an Idempotency-Key "
            "already used for the same request: nothing was written. Absent otherwise."
        ),
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Retry-After": {
        "description": "Seconds to wait; sent by the service, not by API Gateway.",
        "schema": {"type": "integer", "minimum": 1},
    },
}


def header_refs(names: tuple[str, ...]) -> dict[str, Any]:
    return {name: {"$ref": HEADER_REF.format(name=name)} for name in names}


def error_response(status: int, text: str | None = None, gateway: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {"$ref": REF.format(model="ErrorOut")}
    if status == 500:
        schema = {"$ref": REF.format(model="InternalErrorOut")}
    elif gateway and status in GATEWAY_STATUSES:
        schema = {"oneOf": [schema, {"$ref": REF.format(model="GatewayErrorOut")}]}
    response: dict[str, Any] = {
        "description": text or ERROR_TEXT[status],
        "content": {"application/json": {"schema": schema}},
    }
    if status == 503:
        response["headers"] = header_refs(("Retry-After",))
    return response


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
# Every JSON value, numbers as JsonNumber says: written with keywords that each apply to one
# type only (not as a union of the six types), which client generators read as "any value".
JSON_VALUE = {
    "description": (
        f"Any JSON value, nested at most {jsonutil.MAX_DEPTH} levels in its body, its numbers "
        "as JsonNumber says."
    ),
    "if": {"type": "number"},
    "then": {"$ref": REF.format(model="JsonNumber")},
    "items": VALUE_REF,
    "additionalProperties": VALUE_REF,
}


def _json_object(description: str) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": VALUE_REF, "description": description}


def _default(setting: str) -> Any:
    return Settings.model_fields[setting].default


# The JSON objects the models name (models.JsonObject, Workflow, Metadata, WorkflowMergePatch).
JSON_OBJECTS = {
    "JsonObject": _json_object("Any JSON object."),
    "Workflow": _json_object(
        f"A workflow: any JSON object, at most MAX_WORKFLOW_BYTES "
        f"({_default('max_workflow_bytes')} by default) as compact JSON (else 413) and nested "
        f"at most {limits.MAX_WORKFLOW_LEVELS} levels (else 422)."
    ),
    "Metadata": _json_object(
        f"Any JSON object, at most MAX_METADATA_BYTES ({_default('max_metadata_bytes')} by "
        "default) as compact JSON (else 413)."
    ),
    "WorkflowMergePatch": _json_object(
        "An RFC 7396 merge patch of the workflow (Content-Type: application/merge-patch+json "
        "on PATCH .../workflow): its members replace the workflow's, objects merge, a null "
        "value removes a member."
    ),
}


def _with_component_refs(node: Any) -> Any:
    """models.COMPONENT_MARKER replaced by a reference to the component it names (beside the
    title or description pydantic gave the field)."""
    if isinstance(node, dict):
        if models.COMPONENT_MARKER in node:
            rest = {k: v for k, v in node.items() if k != models.COMPONENT_MARKER}
            return {"$ref": REF.format(model=node[models.COMPONENT_MARKER]), **rest}
        return {key: _with_component_refs(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_with_component_refs(value) for value in node]
    return node


def components(used: set[type[BaseModel]]) -> dict[str, Any]:
    """components/schemas: the models (request bodies as validated, responses as written),
    the JSON values, objects and patches they name, and the body of a 500."""
    ordered = sorted(used, key=lambda m: m.__name__)
    _, schemas = models_json_schema(
        [
            (m, "validation" if issubclass(m, models.RequestBody) else "serialization")
            for m in ordered
        ],
        ref_template=REF,
    )
    return {
        **_with_component_refs(schemas["$defs"]),
        **JSON_OBJECTS,
        **JSON_PATCH_SCHEMAS,
        **INTERNAL_ERROR_SCHEMAS,
        "JsonNumber": JSON_NUMBER,
        "JsonValue": JSON_VALUE,
    }
