"""The OpenAPI 3 document of the whole API (every function's routes): made at build time,
served from a file.

`make openapi` (`python -m chat_sessions.openapi`) writes it into openapi.json beside this
module, from the contract (contract: parameters, headers, limits), the models (bodies and
responses, their schemas by pydantic) and the operation table (openapi_paths; shared schemas
in openapi_schemas). GET /openapi.json serves that file: a function imports only this module,
and the generator only when asked to build (its imports cost cold start, the file nothing).
A test regenerates the document and fails when it differs from the file or when a route of
template.yaml is missing.

Powertools can generate a document from its routes, but only from handlers whose parameters
are declared with its `openapi.params` (about 9 ms more at import) and validated by its
middleware (about 10 ms more, and its own 422 body, not api.md's envelope and error order):
this generator costs the functions nothing.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DOCUMENT = Path(__file__).with_name("openapi.json")


def build_document() -> dict[str, Any]:
    # Imported here: the functions serve the file and never build it.
    from chat_sessions.openapi_operations import TAGS
    from chat_sessions.openapi_paths import paths, used_models
    from chat_sessions.openapi_schemas import RESPONSE_HEADERS, components

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
            "contact": {"name": "The chat session service's maintainers"},
            # The repository grants no license: all rights reserved.
            "license": {"name": "Proprietary", "identifier": "LicenseRef-Proprietary"},
        },
        "servers": [{"url": "http://127.0.0.1:3000", "description": "make run"}],
        "security": [{"bearerAuth": []}],
        "tags": [{"name": name, "description": text} for name, text in TAGS.items()],
        "paths": paths(),
        "components": {
            "schemas": components(used_models()),
            "headers": RESPONSE_HEADERS,
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
