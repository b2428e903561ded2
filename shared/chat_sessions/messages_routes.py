"""The routes of MessagesFunction: POST/GET /sessions/{session_id}/messages."""

from __future__ import annotations

from chat_sessions import contract, messages
from chat_sessions.api_glue import (
    build_app,
    json_response,
    list_limit,
    parse_write,
    query,
    query_choice,
    query_int,
    session_checked_first,
    session_route,
)
from chat_sessions.models import MessageIn
from chat_sessions.resolver import Response

app = build_app()


@app.post("/sessions/<session_id>/messages")
def append_message(session_id: str) -> Response[str]:
    route = session_route(app, session_id)
    body, key = parse_write(app, MessageIn, "appendMessage", route.check_exists)
    outcome = messages.append_message(route.owner, route.session_id, body, key)
    message, created = outcome.value
    return json_response(201 if created else 200, message, replayed=outcome.replayed)


@app.get("/sessions/<session_id>/messages")
def list_messages(session_id: str) -> Response[str]:
    route = session_route(app, session_id)
    with session_checked_first(route.check_exists):
        order = query_choice(app, contract.ORDER)
        assert order is not None  # it has a default
        after_seq = query_int(app, contract.AFTER_SEQ)
        limit = list_limit(app)
    page = messages.list_messages(
        route.owner, route.session_id, order, after_seq, limit, query(app, contract.CURSOR.name)
    )
    return json_response(200, page)
