"""MessagesFunction: POST/GET /sessions/{session_id}/messages."""

from __future__ import annotations

import gc
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from chat_sessions import messages
from chat_sessions.config import check_at_init
from chat_sessions.errors import BadRequest
from chat_sessions.http import (
    build_app,
    caller,
    json_response,
    list_limit,
    parse_body,
    query,
    query_int,
    session_checked_first,
    session_id_param,
)
from chat_sessions.models import MessageIn
from chat_sessions.observability import logger, metrics
from chat_sessions.resolver import Response
from chat_sessions.service import ensure_visible

# Init: a setting out of its bounds or a missing cursor key stops the function here.
check_at_init(needs_cursor_key=True)
app = build_app()


@app.post("/sessions/<session_id>/messages")
def append_message(session_id: str) -> Response[str]:
    owner = caller(app)
    sid = session_id_param(session_id)
    body = parse_body(app, MessageIn, lambda: ensure_visible(owner, sid))
    message, created = messages.append_message(owner, sid, body)
    return json_response(201 if created else 200, message)


@app.get("/sessions/<session_id>/messages")
def list_messages(session_id: str) -> Response[str]:
    owner = caller(app)
    sid = session_id_param(session_id)
    with session_checked_first(lambda: ensure_visible(owner, sid)):
        order = query(app, "order")
        order = "asc" if order is None else order
        if order not in ("asc", "desc"):
            raise BadRequest("order must be asc or desc")
        after_seq = query_int(app, "after_seq", None, 0, None)
        limit = list_limit(app)
    page = messages.list_messages(owner, sid, order, after_seq, limit, query(app, "cursor"))
    return json_response(200, page)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


# Init is done: what it made lives as long as the sandbox, so the garbage collector need not
# scan it again (it did, in a full collection during the first request: 15-20 ms of a cold
# start).
gc.freeze()
