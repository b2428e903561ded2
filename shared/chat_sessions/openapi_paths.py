"""The OpenAPI document's paths: how each Operation (openapi_operations.py,
openapi_lifecycle.py) becomes an operation object."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from chat_sessions import contract, models
from chat_sessions.openapi_lifecycle import LIFECYCLE_OPERATIONS
from chat_sessions.openapi_operations import CORE_OPERATIONS, PATH_SCHEMAS, Operation
from chat_sessions.openapi_schemas import (
    ERROR_TEXT,
    KEY_REUSED,
    REF,
    error_response,
    header_refs,
)

OPERATIONS: tuple[Operation, ...] = CORE_OPERATIONS + LIFECYCLE_OPERATIONS


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
    parameters += [_parameter(p, "query", p.name in op.required_query) for p in op.query]
    parameters += [_parameter(p, "header", False) for p in op.headers]
    success: dict[str, Any] = {"description": op.summary}
    if op.response is not None:
        success["content"] = {
            "application/json": {"schema": {"$ref": REF.format(model=op.response.__name__)}}
        }
    elif op.operation_id == "getOpenApi":
        success["content"] = {"application/json": {"schema": {"type": "object"}}}
    keyed = contract.IDEMPOTENCY_KEY in op.headers
    headers = (*op.response_headers, contract.REPLAYED_HEADER) if keyed else op.response_headers
    if headers:
        success["headers"] = header_refs(headers)
    responses: dict[str, Any] = {str(op.success): success}
    for status, text in op.extra_responses.items():
        responses[str(status)] = {**success, "description": text}
    if op.links:
        success["links"] = op.links
    error_text = dict(op.error_text)
    if keyed:
        error_text.setdefault(422, ERROR_TEXT[422] + KEY_REUSED + ".")
    for status in (*op.errors, 500):
        responses[str(status)] = error_response(status, error_text.get(status), op.auth)
    if op.auth:
        responses.setdefault("401", error_response(401))
    responses["429"] = {
        "description": "Throttled by API Gateway.",
        "content": {"application/json": {"schema": {"$ref": REF.format(model="GatewayErrorOut")}}},
    }
    result: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "description": op.description,
        "tags": [op.tag],
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


def _parameter(param: contract.Param, where: str, required: bool) -> dict[str, Any]:
    return {
        "name": param.name,
        "in": where,
        "required": required,
        "schema": param.schema(),
        "description": param.description,
    }


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def paths() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        found.setdefault(op.path, {})[op.method] = _operation(op)
    return found


def used_models() -> set[type[BaseModel]]:
    """The models the operations name, and the error bodies."""
    used: set[type[BaseModel]] = {models.ErrorOut, models.GatewayErrorOut}
    for op in OPERATIONS:
        used.update(m for m in (op.body, op.response) if m is not None)
    return used
