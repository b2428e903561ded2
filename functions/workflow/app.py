"""WorkflowFunction: /sessions/{session_id}/workflow..., and POST /sessions/{session_id}/turns."""

from __future__ import annotations

import gc
import re
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from chat_sessions import workflows
from chat_sessions.config import check_at_init
from chat_sessions.errors import BadRequest, NotFound, UnsupportedMediaType, ValidationFailed
from chat_sessions.http import (
    JSON,
    build_app,
    caller,
    header,
    json_response,
    json_value,
    list_limit,
    media_type,
    query,
    query_int,
    session_checked_first,
    session_id_param,
    validate,
)
from chat_sessions.models import RevertIn, TurnIn, WorkflowPutIn, WorkflowVersionOut
from chat_sessions.observability import logger, metrics
from chat_sessions.resolver import Response
from chat_sessions.service import ensure_visible
from chat_sessions.workflows import Precondition

# Init: a setting out of its bounds or a missing cursor key stops the function here.
check_at_init(needs_cursor_key=True)
app = build_app()
PATCH_TYPES = ("application/merge-patch+json", "application/json-patch+json")


def version_param(value: str) -> int:
    if not re.fullmatch(r"[1-9][0-9]{0,9}", value):
        raise NotFound("no such version")
    return int(value)


M = TypeVar("M", RevertIn, TurnIn, WorkflowPutIn)


def precondition() -> Precondition | None:
    return workflows.if_match(header(app, "if-match"))


def body_and_precondition(
    model: type[M], exists: Callable[[], None]
) -> tuple[M, Precondition | None]:
    """The body (415, 400, 422) and If-Match (400), in api.md's order, after the session's
    404: a malformed If-Match (400) outranks a body that breaks the schema (422)."""
    with session_checked_first(exists):
        try:
            body = validate(model, json_value(app))
        except ValidationFailed:
            precondition()
            raise
        return body, precondition()


def version_response(status: int, version: WorkflowVersionOut, full: bool = False) -> Response[str]:
    body = workflows.dump_version(version, with_workflow=full)
    return json_response(status, body, {"ETag": workflows.etag(version.version)})


@app.get("/sessions/<session_id>/workflow")
def get_workflow(session_id: str) -> Response[str]:
    owner = caller(app)
    current = workflows.get_workflow(owner, session_id_param(session_id))
    return json_response(200, current, {"ETag": workflows.etag(current.version)})


@app.put("/sessions/<session_id>/workflow")
def put_workflow(session_id: str) -> Response[str]:
    owner = caller(app)
    sid = session_id_param(session_id)
    body, condition = body_and_precondition(WorkflowPutIn, lambda: ensure_visible(owner, sid))
    version = workflows.put_workflow(
        owner, sid, body.workflow, body.note, body.message_id, condition
    )
    return version_response(200, version)


@app.patch("/sessions/<session_id>/workflow")
def patch_workflow(session_id: str) -> Response[str]:
    owner = caller(app)
    sid = session_id_param(session_id)
    with session_checked_first(lambda: ensure_visible(owner, sid)):
        media = media_type(app)
        if media not in PATCH_TYPES:
            raise UnsupportedMediaType(f"send the patch as {' or '.join(PATCH_TYPES)}")
        try:
            patch = json_value(app, PATCH_TYPES)
        except ValidationFailed:
            precondition()
            raise
        note = query(app, "note")
        if note is not None and len(note) > 1000:
            raise BadRequest("note is over 1000 characters")
        condition = precondition()
        workflows.check_patch(media, patch)
    version = workflows.patch_workflow(owner, sid, media, patch, note, condition)
    return version_response(200, version)


@app.get("/sessions/<session_id>/workflow/versions")
def list_versions(session_id: str) -> Response[str]:
    owner = caller(app)
    sid = session_id_param(session_id)
    with session_checked_first(lambda: ensure_visible(owner, sid)):
        limit = list_limit(app)
    page = workflows.list_versions(owner, sid, limit, query(app, "cursor"))
    return json_response(200, page.model_dump(exclude={"items": {"__all__": {"workflow"}}}))


@app.get("/sessions/<session_id>/workflow/versions/<version>")
def get_version(session_id: str, version: str) -> Response[str]:
    owner = caller(app)
    sid = session_id_param(session_id)
    found = workflows.get_version(owner, sid, version_param(version))
    return version_response(200, found, full=True)


@app.get("/sessions/<session_id>/workflow/diff")
def diff(session_id: str) -> Response[str]:
    owner = caller(app)
    sid = session_id_param(session_id)
    with session_checked_first(lambda: ensure_visible(owner, sid)):
        start = query_int(app, "from", None, 1, None)
        end = query_int(app, "to", None, 1, None)
        if start is None or end is None:
            raise BadRequest("from and to are required")
    # Built as text in one bounded walk (409 limit_exceeded when it cannot fit a response).
    return Response(200, JSON, workflows.diff(owner, sid, start, end))


@app.post("/sessions/<session_id>/workflow/revert")
def revert(session_id: str) -> Response[str]:
    owner = caller(app)
    sid = session_id_param(session_id)
    body, condition = body_and_precondition(RevertIn, lambda: ensure_visible(owner, sid))
    return version_response(200, workflows.revert(owner, sid, body.version, body.note, condition))


@app.post("/sessions/<session_id>/turns")
def take_turn(session_id: str) -> Response[str]:
    owner = caller(app)
    sid = session_id_param(session_id)
    body, condition = body_and_precondition(TurnIn, lambda: ensure_visible(owner, sid))
    with session_checked_first(lambda: ensure_visible(owner, sid)):
        condition = workflows.turn_precondition(body, condition)  # 422 when they differ
    turn = workflows.take_turn(owner, sid, body, condition)
    data: dict[str, Any] = {
        "messages": [m.model_dump() for m in turn.messages],
        "workflow_version": workflows.dump_version(turn.workflow_version, False)
        if turn.workflow_version
        else None,
    }
    headers = (
        {"ETag": workflows.etag(turn.workflow_version.version)} if turn.workflow_version else {}
    )
    return json_response(201, data, headers)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


# Init is done: what it made lives as long as the sandbox, so the garbage collector need not
# scan it again (it did, in a full collection during the first request: 15-20 ms of a cold
# start).
gc.freeze()
