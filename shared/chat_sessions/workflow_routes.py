"""The routes of WorkflowFunction: /sessions/{session_id}/workflow... and
POST /sessions/{session_id}/turns."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from chat_sessions import contract, workflows
from chat_sessions.api_glue import (
    JSON,
    SessionRoute,
    build_app,
    header,
    json_response,
    json_value,
    list_limit,
    media_type,
    query,
    query_int,
    query_text,
    session_checked_first,
    session_route,
    validate,
)
from chat_sessions.errors import BadRequest, NotFound, UnsupportedMediaType, ValidationFailed
from chat_sessions.models import RevertIn, TurnIn, WorkflowPutIn, WorkflowVersionOut
from chat_sessions.preconditions import Precondition, etag, if_match, turn_precondition
from chat_sessions.resolver import Response
from chat_sessions.views import version_body

app = build_app()
PATCH_TYPES = (contract.MERGE_PATCH, contract.JSON_PATCH)
M = TypeVar("M", RevertIn, TurnIn, WorkflowPutIn)
_VERSION = re.compile(contract.VERSION_PATH_PATTERN)


def version_param(value: str) -> int:
    if not _VERSION.fullmatch(value):
        raise NotFound("no such version")
    return int(value)


def precondition() -> Precondition | None:
    return if_match(header(app, contract.IF_MATCH.name))


def body_and_precondition(model: type[M], route: SessionRoute) -> tuple[M, Precondition | None]:
    """The body (415, 400, 422) and If-Match (400), in api.md's order, after the session's
    404: a malformed If-Match (400) outranks a body that breaks the schema (422)."""
    with session_checked_first(route.check_exists):
        try:
            body = validate(model, json_value(app))
        except ValidationFailed:
            precondition()
            raise
        return body, precondition()


def version_response(version: WorkflowVersionOut, full: bool = False) -> Response[str]:
    """A version (with its workflow when `full`) and its ETag."""
    return json_response(200, version_body(version, full), {"ETag": etag(version.version)})


@app.get("/sessions/<session_id>/workflow")
def get_workflow(session_id: str) -> Response[str]:
    route = session_route(app, session_id)
    current = workflows.get_workflow(route.owner, route.session_id)
    return json_response(200, current, {"ETag": etag(current.version)})


@app.put("/sessions/<session_id>/workflow")
def put_workflow(session_id: str) -> Response[str]:
    route = session_route(app, session_id)
    body, condition = body_and_precondition(WorkflowPutIn, route)
    return version_response(
        workflows.put_workflow(
            route.owner, route.session_id, body.workflow, body.note, body.message_id, condition
        )
    )


@app.patch("/sessions/<session_id>/workflow")
def patch_workflow(session_id: str) -> Response[str]:
    route = session_route(app, session_id)
    with session_checked_first(route.check_exists):
        media = media_type(app)
        if media not in PATCH_TYPES:
            raise UnsupportedMediaType(f"send the patch as {' or '.join(PATCH_TYPES)}")
        try:
            patch = json_value(app, PATCH_TYPES)
        except ValidationFailed:
            precondition()
            raise
        note = query_text(app, contract.NOTE)
        condition = precondition()
        workflows.check_patch(media, patch)
    return version_response(
        workflows.patch_workflow(route.owner, route.session_id, media, patch, note, condition)
    )


@app.get("/sessions/<session_id>/workflow/versions")
def list_versions(session_id: str) -> Response[str]:
    route = session_route(app, session_id)
    with session_checked_first(route.check_exists):
        limit = list_limit(app)
    page = workflows.list_versions(
        route.owner, route.session_id, limit, query(app, contract.CURSOR.name)
    )
    return json_response(200, page.model_dump(exclude={"items": {"__all__": {"workflow"}}}))


@app.get("/sessions/<session_id>/workflow/versions/<version>")
def get_version(session_id: str, version: str) -> Response[str]:
    route = session_route(app, session_id)
    found = workflows.get_version(route.owner, route.session_id, version_param(version))
    return version_response(found, full=True)


@app.get("/sessions/<session_id>/workflow/diff")
def diff(session_id: str) -> Response[str]:
    route = session_route(app, session_id)
    with session_checked_first(route.check_exists):
        start = query_int(app, contract.DIFF_FROM)
        end = query_int(app, contract.DIFF_TO)
        if start is None or end is None:
            raise BadRequest("from and to are required")
    # Built as text in one bounded walk (409 limit_exceeded when it cannot fit a response).
    return Response(200, JSON, workflows.diff(route.owner, route.session_id, start, end))


@app.post("/sessions/<session_id>/workflow/revert")
def revert(session_id: str) -> Response[str]:
    route = session_route(app, session_id)
    body, condition = body_and_precondition(RevertIn, route)
    return version_response(
        workflows.revert(route.owner, route.session_id, body.version, body.note, condition)
    )


@app.post("/sessions/<session_id>/turns")
def take_turn(session_id: str) -> Response[str]:
    route = session_route(app, session_id)
    body, condition = body_and_precondition(TurnIn, route)
    with session_checked_first(route.check_exists):
        condition = turn_precondition(body, condition)  # 422 when they differ
    turn = workflows.take_turn(route.owner, route.session_id, body, condition)
    version = turn.workflow_version
    data: dict[str, Any] = {
        "messages": [m.model_dump() for m in turn.messages],
        "workflow_version": version_body(version, with_workflow=False) if version else None,
    }
    return json_response(201, data, {"ETag": etag(version.version)} if version else {})
