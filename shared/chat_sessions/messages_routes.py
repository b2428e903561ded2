"""The routes of MessagesFunction, the conversation: POST/GET /sessions/{session_id}/messages,
POST .../rewind, PUT/GET .../summary and GET .../context."""

from __future__ import annotations

from chat_sessions import contract, conversation, messages
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
from chat_sessions.lifecycle_models import RewindIn, SummaryIn
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


@app.post("/sessions/<session_id>/rewind")
def rewind(session_id: str) -> Response[str]:
    route = session_route(app, session_id)
    body, key = parse_write(app, RewindIn, "rewindSession", route.check_exists)
    outcome = conversation.rewind(route.owner, route.session_id, body, key)
    return json_response(200, outcome.value, replayed=outcome.replayed)


@app.put("/sessions/<session_id>/summary")
def put_summary(session_id: str) -> Response[str]:
    route = session_route(app, session_id)
    body, key = parse_write(app, SummaryIn, "putSummary", route.check_exists)
    outcome = conversation.put_summary(route.owner, route.session_id, body, key)
    return json_response(200, outcome.value, replayed=outcome.replayed)


@app.get("/sessions/<session_id>/summary")
def get_summary(session_id: str) -> Response[str]:
    route = session_route(app, session_id)
    return json_response(200, conversation.get_summary(route.owner, route.session_id))


@app.get("/sessions/<session_id>/context")
def get_context(session_id: str) -> Response[str]:
    route = session_route(app, session_id)
    with session_checked_first(route.check_exists):
        max_bytes = query_int(app, contract.MAX_BYTES)
        assert max_bytes is not None  # it has a default
    return json_response(200, conversation.context(route.owner, route.session_id, max_bytes))
