"""The routes of TransfersFunction: POST /sessions/{session_id}/fork,
GET /sessions/{session_id}/export and POST /sessions/import.

Their own function: they copy whole sessions (more memory and time than a turn), with a
policy that reads and puts but never deletes, and their imports stay out of the other
functions' cold starts."""

from __future__ import annotations

from chat_sessions import transfers
from chat_sessions.api_glue import (
    JSON,
    build_app,
    caller,
    idempotency_key,
    json_response,
    media_type,
    parse_write,
    session_route,
)
from chat_sessions.import_rules import MAX_DOCUMENT_BYTES, document_too_large
from chat_sessions.lifecycle_models import ForkIn, ImportIn
from chat_sessions.resolver import Response

app = build_app()


@app.post("/sessions/<session_id>/fork")
def fork_session(session_id: str) -> Response[str]:
    route = session_route(app, session_id)
    body, key = parse_write(app, ForkIn, "forkSession", route.check_exists)
    outcome = transfers.fork(route.owner, route.session_id, body, key)
    session = outcome.value
    location = {"Location": f"/sessions/{session.id}"}
    return json_response(201, session, location, replayed=outcome.replayed)


@app.get("/sessions/<session_id>/export")
def export_session(session_id: str) -> Response[str]:
    route = session_route(app, session_id)
    # Built as text within Lambda's response limit (409 limit_exceeded when it cannot fit).
    return Response(200, JSON, transfers.export(route.owner, route.session_id))


@app.post("/sessions/import")
def import_session() -> Response[str]:
    owner = caller(app)
    if media_type(app) == JSON:
        idempotency_key(app)  # a malformed header (400) outranks the document's size (413)
        if document_bytes() > MAX_DOCUMENT_BYTES:
            raise document_too_large()
    body, key = parse_write(app, ImportIn, "importSession")
    outcome = transfers.import_document(owner, body, key)
    session = outcome.value
    location = {"Location": f"/sessions/{session.id}"}
    return json_response(201, session, location, replayed=outcome.replayed)


def document_bytes() -> int:
    """The request body's size in bytes, measured before it is decoded or parsed."""
    event = app.current_event
    body = event.body or ""
    if event.is_base64_encoded:
        return len(body.rstrip("=")) * 3 // 4
    return len(body.encode("utf-8", "surrogatepass"))
