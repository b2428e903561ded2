"""SessionsFunction: POST/GET /sessions, GET/PATCH/DELETE /sessions/{id}, POST .../end,
and GET /openapi.json."""

from __future__ import annotations

import gc
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from chat_sessions import openapi, sessions
from chat_sessions.config import check_at_init
from chat_sessions.http import (
    build_app,
    caller,
    idempotency_key,
    json_response,
    list_limit,
    parse_body,
    query,
    session_id_param,
)
from chat_sessions.models import CreateSessionIn, PatchSessionIn
from chat_sessions.observability import logger, metrics
from chat_sessions.resolver import Response
from chat_sessions.service import ensure_visible

# Init: a setting out of its bounds or a missing cursor key stops the function here.
check_at_init(needs_cursor_key=True)
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
        owner, query(app, "status"), list_limit(app), query(app, "cursor")
    )
    return json_response(200, page)


@app.get("/sessions/<session_id>")
def get_session(session_id: str) -> Response[str]:
    owner = caller(app)
    return json_response(200, sessions.get_session(owner, session_id_param(session_id)))


@app.patch("/sessions/<session_id>")
def patch_session(session_id: str) -> Response[str]:
    owner = caller(app)
    sid = session_id_param(session_id)
    body = parse_body(app, PatchSessionIn, lambda: ensure_visible(owner, sid))
    return json_response(200, sessions.patch_session(owner, sid, body))


@app.post("/sessions/<session_id>/end")
def end_session(session_id: str) -> Response[str]:
    owner = caller(app)
    return json_response(200, sessions.end_session(owner, session_id_param(session_id)))


@app.delete("/sessions/<session_id>")
def delete_session(session_id: str) -> Response[str]:
    owner = caller(app)
    sessions.delete_session(owner, session_id_param(session_id))
    return Response(204, None, "")


@app.get("/openapi.json")
def openapi_document() -> Response[str]:
    return Response(200, "application/json", openapi.document_text())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


# Init is done: what it made lives as long as the sandbox, so the garbage collector need not
# scan it again (it did, in a full collection during the first request: 15-20 ms of a cold
# start).
gc.freeze()
