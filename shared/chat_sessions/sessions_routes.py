"""The routes of SessionsFunction: POST/GET /sessions, GET/PATCH/DELETE /sessions/{id},
POST /sessions/{id}/end, and GET /openapi.json."""

from __future__ import annotations

from chat_sessions import contract, openapi, sessions
from chat_sessions.api_glue import (
    build_app,
    caller,
    idempotency_key,
    json_response,
    list_limit,
    parse_body,
    query,
    session_route,
)
from chat_sessions.models import CreateSessionIn, PatchSessionIn
from chat_sessions.resolver import Response

app = build_app()


@app.post("/sessions")
def create_session() -> Response[str]:
    owner = caller(app)
    key = idempotency_key(app)
    body = parse_body(app, CreateSessionIn)
    session = sessions.create_session(owner, body, key)
    return json_response(201, session, {"Location": f"/sessions/{session.id}"})


@app.get("/sessions")
def list_sessions() -> Response[str]:
    owner = caller(app)
    page = sessions.list_sessions(
        owner,
        query(app, contract.STATUS.name),
        list_limit(app),
        query(app, contract.CURSOR.name),
    )
    return json_response(200, page)


@app.get("/sessions/<session_id>")
def get_session(session_id: str) -> Response[str]:
    route = session_route(app, session_id)
    return json_response(200, sessions.get_session(route.owner, route.session_id))


@app.patch("/sessions/<session_id>")
def patch_session(session_id: str) -> Response[str]:
    route = session_route(app, session_id)
    body = parse_body(app, PatchSessionIn, route.check_exists)
    return json_response(200, sessions.patch_session(route.owner, route.session_id, body))


@app.post("/sessions/<session_id>/end")
def end_session(session_id: str) -> Response[str]:
    route = session_route(app, session_id)
    return json_response(200, sessions.end_session(route.owner, route.session_id))


@app.delete("/sessions/<session_id>")
def delete_session(session_id: str) -> Response[str]:
    route = session_route(app, session_id)
    sessions.delete_session(route.owner, route.session_id)
    return Response(204, None, "")


@app.get("/openapi.json")
def openapi_document() -> Response[str]:
    return Response(200, "application/json", openapi.document_text())
