"""The served OpenAPI document: current, valid, and covering every route of the template."""

from __future__ import annotations

import json
from typing import Any

from openapi_spec_validator import validate

from chat_sessions import openapi
from local.template import routes


def test_the_committed_document_is_what_the_generator_makes_now() -> None:
    assert openapi.DOCUMENT.read_text(encoding="utf-8") == openapi.render(), "run `make openapi`"


def test_the_document_is_valid_openapi() -> None:
    validate(json.loads(openapi.render()))


def test_every_route_of_the_template_is_documented_and_nothing_else() -> None:
    document = openapi.build_document()
    documented = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    assert documented == {(r.method, r.path) for r in routes()}


def test_every_authenticated_operation_declares_bearer_auth_and_error_envelopes() -> None:
    document = openapi.build_document()
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path == "/openapi.json":
                assert operation["security"] == []
                continue
            assert operation["security"] == [{"bearerAuth": []}], (method, path)
            assert "401" in operation["responses"]


def test_path_parameters_are_typed() -> None:
    document = openapi.build_document()
    operation = document["paths"]["/sessions/{session_id}/workflow/versions/{version}"]["get"]
    schemas = {p["name"]: p["schema"] for p in operation["parameters"]}
    assert schemas == {
        "session_id": {
            "type": "string",
            "format": "uuid",
            "pattern": "^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$",
        },
        "version": {"type": "integer", "minimum": 1, "maximum": 9_999_999_999},
    }


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(m.upper(), p): op for p, ops in document["paths"].items() for m, op in ops.items()}


# api.md, "Idempotency": every write route takes an Idempotency-Key.
WRITE_ROUTES = {
    ("POST", "/sessions"),
    ("POST", "/sessions/import"),
    ("PATCH", "/sessions/{session_id}"),
    ("POST", "/sessions/{session_id}/end"),
    ("POST", "/sessions/{session_id}/fork"),
    ("POST", "/sessions/{session_id}/rewind"),
    ("POST", "/sessions/{session_id}/messages"),
    ("POST", "/sessions/{session_id}/turns"),
    ("POST", "/sessions/{session_id}/workflow/revert"),
    ("PUT", "/sessions/{session_id}/workflow"),
    ("PATCH", "/sessions/{session_id}/workflow"),
    ("PUT", "/sessions/{session_id}/summary"),
}
# api.md, "Versions and preconditions".
PRECONDITIONED = {
    ("PUT", "/sessions/{session_id}/workflow"),
    ("PATCH", "/sessions/{session_id}/workflow"),
    ("POST", "/sessions/{session_id}/workflow/revert"),
    ("POST", "/sessions/{session_id}/turns"),
}
WITH_ETAG = PRECONDITIONED | {
    ("GET", "/sessions/{session_id}/workflow"),
    ("GET", "/sessions/{session_id}/workflow/versions/{version}"),
}


def _headers(operation: dict[str, Any], where: str) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == where}


def _success_headers(operation: dict[str, Any]) -> set[str]:
    found = [set(r.get("headers", {})) for s, r in operation["responses"].items() if s < "300"]
    assert found and all(names == found[0] for names in found)
    return found[0]


def test_write_routes_take_an_idempotency_key_and_say_when_they_replay() -> None:
    operations = _operations(openapi.build_document())
    for route, operation in operations.items():
        keyed = route in WRITE_ROUTES
        assert ("Idempotency-Key" in _headers(operation, "header")) == keyed, route
        assert ("Idempotent-Replayed" in _success_headers(operation)) == keyed, route
        if keyed:
            assert "idempotency_key_reused" in operation["responses"]["422"]["description"]
            assert "400" in operation["responses"]


def test_if_match_and_etag_where_a_version_is_compared_returned_or_stored() -> None:
    operations = _operations(openapi.build_document())
    for route, operation in operations.items():
        assert ("If-Match" in _headers(operation, "header")) == (route in PRECONDITIONED), route
        assert ("ETag" in _success_headers(operation)) == (route in WITH_ETAG), route


def test_every_operation_has_a_described_tag_and_a_description() -> None:
    document = openapi.build_document()
    tags = {t["name"] for t in document["tags"]}
    used: set[str] = set()
    for route, operation in _operations(document).items():
        assert len(operation["tags"]) == 1 and operation["tags"][0] in tags, route
        assert operation["description"].strip(), route
        used.update(operation["tags"])
    assert used == tags


def _response_schemas(document: dict[str, Any]) -> set[str]:
    """The components a success response holds, and those they hold."""
    schemas = document["components"]["schemas"]
    found: set[str] = set()
    todo = [
        content["schema"]
        for operation in _operations(document).values()
        for status, response in operation["responses"].items()
        if status < "300"
        for content in response.get("content", {}).values()
    ]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.split("/")[-1] not in found:
                found.add(ref.split("/")[-1])
                todo.append(schemas[ref.split("/")[-1]])
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return found


def _types(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]


def test_ids_and_times_in_responses_have_their_format() -> None:
    document = openapi.build_document()
    schemas = document["components"]["schemas"]
    checked = 0
    for name in _response_schemas(document):
        for field, schema in schemas[name].get("properties", {}).items():
            if field in ("id", "session_id", "message_id"):
                assert [s.get("format") for s in _types(schema)] == ["uuid"], (name, field)
                checked += 1
            elif field.endswith("_at") or field == "timestamp":
                assert [s.get("format") for s in _types(schema)] == ["date-time"], (name, field)
                checked += 1
    assert checked >= 15


def test_workflows_metadata_and_patches_are_named_schemas() -> None:
    document = openapi.build_document()
    schemas = document["components"]["schemas"]
    text = json.dumps(document)
    for name in ("Workflow", "Metadata", "WorkflowMergePatch", "JsonPatch", "JsonPatchOperation"):
        assert name in schemas and f'"#/components/schemas/{name}"' in text, name
    # Nowhere else an object of JSON values: each is one of the named ones.
    inline = {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/JsonValue"}}
    for name, schema in schemas.items():
        for field, value in schema.get("properties", {}).items():
            for option in _types(value):
                assert {k: option.get(k) for k in inline} != inline, (name, field)
    patch = document["paths"]["/sessions/{session_id}/workflow"]["patch"]["requestBody"]
    assert patch["content"] == {
        "application/merge-patch+json": {
            "schema": {"$ref": "#/components/schemas/WorkflowMergePatch"}
        },
        "application/json-patch+json": {"schema": {"$ref": "#/components/schemas/JsonPatch"}},
    }


def test_the_document_names_its_license_and_contact() -> None:
    info = openapi.build_document()["info"]
    assert info["license"]["name"] and info["contact"]["name"]
