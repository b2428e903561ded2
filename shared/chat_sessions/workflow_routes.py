"""The routes of WorkflowFunction: /sessions/{session_id}/workflow... and
POST /sessions/{session_id}/turns."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from chat_sessions import contract, workflows
from chat_sessions.api_glue import (
    JSON,
    SessionRoute,
    build_app,
    header,
    idempotency_key,
    json_response,
    json_value,
    list_limit,
    media_type,
    query,
    query_int,
    query_text,
    request_key,
    session_checked_first,
    session_route,
    validate,
)
from chat_sessions.errors import BadRequest, NotFound, UnsupportedMediaType, ValidationFailed
from chat_sessions.idempotency import Outcome, RequestKey
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


@dataclass(frozen=True)
class Write(Generic[M]):
    body: M
    precondition: Precondition | None
    key: RequestKey | None


def parse_write(model: type[M], route: SessionRoute, name: str) -> Write[M]:
    """The body (415, 400, 422), If-Match and Idempotency-Key (400), in api.md's order,
    after the session's 404: a malformed header (400) outranks a body that breaks the
    schema (422)."""
    with session_checked_first(route.check_exists):
        value = json_value(app)
        condition = precondition()
        key = request_key(app, name, if_match=header(app, contract.IF_MATCH.name))
        return Write(validate(model, value), condition, key)


def version_response(outcome: Outcome[WorkflowVersionOut]) -> Response[str]:
    """A version (without its workflow) and its ETag."""
    version = outcome.value
    return json_response(
        200,
        version_body(version, False),
        {"ETag": etag(version.version)},
        replayed=outcome.replayed,
    )


@app.get("/sessions/<session_id>/workflow")
def get_workflow(session_id: str) -> Response[str]:
    route = session_route(app, session_id)
    current = workflows.get_workflow(route.owner, route.session_id)
    return json_response(200, current, {"ETag": etag(current.version)})


@app.put("/sessions/<session_id>/workflow")
def put_workflow(session_id: str) -> Response[str]:
    route = session_route(app, session_id)
    write = parse_write(WorkflowPutIn, route, "putWorkflow")
    body = write.body
    return version_response(
        workflows.put_workflow(
            route.owner,
            route.session_id,
            body.workflow,
            body.note,
            body.message_id,
            write.precondition,
            write.key,
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
            idempotency_key(app)
            raise
        note = query_text(app, contract.NOTE)
        condition = precondition()
        # The note travels in the query: it is part of the request a key names.
        key = request_key(app, f"patchWorkflow?note={note}", media, header(app, "if-match"))
        workflows.check_patch(media, patch)
    return version_response(
        workflows.patch_workflow(route.owner, route.session_id, media, patch, note, condition, key)
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
    return json_response(200, version_body(found, True), {"ETag": etag(found.version)})


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
    write = parse_write(RevertIn, route, "revertWorkflow")
    return version_response(
        workflows.revert(
            route.owner,
            route.session_id,
            write.body.version,
            write.body.note,
            write.precondition,
            write.key,
        )
    )


@app.post("/sessions/<session_id>/turns")
def take_turn(session_id: str) -> Response[str]:
    route = session_route(app, session_id)
    write = parse_write(TurnIn, route, "takeTurn")
    with session_checked_first(route.check_exists):
        condition = turn_precondition(write.body, write.precondition)  # 422 when they differ
    outcome = workflows.take_turn(route.owner, route.session_id, write.body, condition, write.key)
    turn = outcome.value
    version = turn.workflow_version
    data: dict[str, Any] = {
        "messages": [m.model_dump() for m in turn.messages],
        "workflow_version": version_body(version, with_workflow=False) if version else None,
    }
    headers = {"ETag": etag(version.version)} if version else {}
    return json_response(201, data, headers, replayed=outcome.replayed)
