"""The served OpenAPI document: current, valid, and covering every route of the template."""

from __future__ import annotations

import json

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
