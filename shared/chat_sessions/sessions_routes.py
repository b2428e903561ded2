"""The routes of SessionsFunction: POST/GET/DELETE /sessions, GET/PATCH/DELETE
/sessions/{id}, POST /sessions/{id}/end, and GET /openapi.json."""

from __future__ import annotations

from chat_sessions import contract, openapi, sessions
from chat_sessions.api_glue import (
    build_app,
    caller,
    json_response,
    list_limit,
    parse_write,
    query,
    request_key,
    session_checked_first,
    session_route,
)
from chat_sessions.errors import BadRequest
from chat_sessions.models import CreateSessionIn, PatchSessionIn
from chat_sessions.resolver import Response

app = build_app()


@app.post("/sessions")
def create_session() -> Response[str]:
    owner = caller(app)
    body, key = parse_write(app, CreateSessionIn, "createSession")
    outcome = sessions.create_session(owner, body, key)
    session = outcome.value
    return json_response(
        201, session, {"Location": f"/sessions/{session.id}"}, replayed=outcome.replayed
    )


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


@app.delete("/sessions")
def delete_all_sessions() -> Response[str]:
    owner = caller(app)
    if query(app, contract.CONFIRM.name) != "all":
        raise BadRequest("to delete every session of the caller, send ?confirm=all")
    return json_response(200, sessions.delete_all_sessions(owner))


@app.get("/sessions/<session_id>")
def get_session(session_id: str) -> Response[str]:
    route = session_route(app, session_id)
    return json_response(200, sessions.get_session(route.owner, route.session_id))


@app.patch("/sessions/<session_id>")
def patch_session(session_id: str) -> Response[str]:
    route = session_route(app, session_id)
    body, key = parse_write(app, PatchSessionIn, "patchSession", route.check_exists)
    outcome = sessions.patch_session(route.owner, route.session_id, body, key)
    return json_response(200, outcome.value, replayed=outcome.replayed)


@app.post("/sessions/<session_id>/end")
def end_session(session_id: str) -> Response[str]:
    route = session_route(app, session_id)
    with session_checked_first(route.check_exists):
        key = request_key(app, "endSession")
    outcome = sessions.end_session(route.owner, route.session_id, key)
    return json_response(200, outcome.value, replayed=outcome.replayed)


@app.delete("/sessions/<session_id>")
def delete_session(session_id: str) -> Response[str]:
    route = session_route(app, session_id)
    sessions.delete_session(route.owner, route.session_id)
    return Response(204, None, "")


@app.get("/openapi.json")
def openapi_document() -> Response[str]:
    return Response(200, "application/json", openapi.document_text())
