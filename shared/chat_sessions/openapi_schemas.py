"""The OpenAPI document's shared schemas: error responses, JSON values and numbers as the
service takes them, RFC 6902 patch operations, and the models' component schemas."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chat_sessions import contract, jsonutil, models

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

VALUE_REF = {"$ref": REF.format(model="JsonValue")}
POINTER = {"type": "string", "pattern": contract.JSON_POINTER_PATTERN}
INNER_POINTER = {"type": "string", "pattern": contract.INNER_POINTER_PATTERN}


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


def error_response(status: int, text: str | None = None, gateway: bool = True) -> dict[str, Any]:
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


def components(used: set[type[BaseModel]]) -> dict[str, Any]:
    """components/schemas: the models (request bodies as validated, responses as written),
    JsonNumber and JsonValue."""
    ordered = sorted(used, key=lambda m: m.__name__)
    _, schemas = models_json_schema(
        [
            (m, "validation" if issubclass(m, models.RequestBody) else "serialization")
            for m in ordered
        ],
        ref_template=REF,
    )
    return {
        **_with_value_refs(schemas["$defs"]),
        "JsonNumber": JSON_NUMBER,
        "JsonValue": JSON_VALUE,
    }
