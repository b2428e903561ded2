"""Every operation of the HTTP API, once: the request it sends and how its answer is read.
`Client` and `AsyncClient` only send these; `ROUTES` maps each route to its client method."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, Generic, Literal, TypeVar
from urllib.parse import quote
from uuid import UUID

from pydantic import BaseModel

from chat_sessions_client.models import (
    Context,
    CurrentWorkflow,
    DeleteAllPage,
    Diff,
    Message,
    Role,
    Session,
    SessionStatus,
    SessionSummary,
    Summary,
    TurnResult,
    WorkflowVersion,
)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
SessionId = UUID | str
IfMatch = int | Literal["*"]
Order = Literal["asc", "desc"]
JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


class Unset(enum.Enum):
    """The value of an argument left out (where None means "set it to null")."""

    UNSET = enum.auto()


UNSET: Final = Unset.UNSET


@dataclass(frozen=True)
class Route:
    """A route of the API as `/openapi.json` names it, and the client method that calls it."""

    method: str
    path: str
    client_method: str


@dataclass(frozen=True)
class ApiRequest:
    """One request: JSON `body` (sent when `content_type` is set), query `params`, If-Match."""

    route: Route
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    content_type: str | None = None
    if_match: str | None = None

    @property
    def is_write(self) -> bool:
        """Writes carry an Idempotency-Key (DELETE routes are idempotent as they are)."""
        return self.route.method in ("POST", "PUT", "PATCH")

    @property
    def gone_when_repeated(self) -> bool:
        """A 404 to a repeat of this request means an earlier attempt already did it."""
        return self.route is SESSIONS_DELETE

    def with_cursor(self, cursor: str) -> ApiRequest:
        return replace(self, params={**self.params, "cursor": cursor})


@dataclass(frozen=True)
class Call(Generic[T]):
    """A request and the reading of its answer's JSON (None for a 204)."""

    request: ApiRequest
    read: Callable[[Any], T]


@dataclass(frozen=True)
class PagedCall(Generic[T]):
    """A list request, sent again with each page's `next_cursor` until it is null."""

    request: ApiRequest
    read_item: Callable[[Any], T]


OPENAPI = Route("GET", "/openapi.json", "openapi")
SESSIONS_CREATE = Route("POST", "/sessions", "sessions.create")
SESSIONS_LIST = Route("GET", "/sessions", "sessions.list")
SESSIONS_DELETE_ALL = Route("DELETE", "/sessions", "sessions.delete_all")
SESSIONS_IMPORT = Route("POST", "/sessions/import", "sessions.import_document")
SESSIONS_GET = Route("GET", "/sessions/{session_id}", "sessions.get")
SESSIONS_UPDATE = Route("PATCH", "/sessions/{session_id}", "sessions.update")
SESSIONS_DELETE = Route("DELETE", "/sessions/{session_id}", "sessions.delete")
SESSIONS_END = Route("POST", "/sessions/{session_id}/end", "sessions.end")
SESSIONS_FORK = Route("POST", "/sessions/{session_id}/fork", "sessions.fork")
SESSIONS_REWIND = Route("POST", "/sessions/{session_id}/rewind", "sessions.rewind")
SESSIONS_EXPORT = Route("GET", "/sessions/{session_id}/export", "sessions.export")
SESSIONS_CONTEXT = Route("GET", "/sessions/{session_id}/context", "sessions.context")
SUMMARY_PUT = Route("PUT", "/sessions/{session_id}/summary", "sessions.put_summary")
SUMMARY_GET = Route("GET", "/sessions/{session_id}/summary", "sessions.get_summary")
MESSAGES_APPEND = Route("POST", "/sessions/{session_id}/messages", "messages.append")
MESSAGES_LIST = Route("GET", "/sessions/{session_id}/messages", "messages.list")
WORKFLOW_GET = Route("GET", "/sessions/{session_id}/workflow", "workflow.get")
WORKFLOW_PUT = Route("PUT", "/sessions/{session_id}/workflow", "workflow.put")
WORKFLOW_PATCH = Route("PATCH", "/sessions/{session_id}/workflow", "workflow.merge_patch")
WORKFLOW_VERSIONS = Route("GET", "/sessions/{session_id}/workflow/versions", "workflow.versions")
WORKFLOW_VERSION = Route(
    "GET", "/sessions/{session_id}/workflow/versions/{version}", "workflow.version"
)
WORKFLOW_DIFF = Route("GET", "/sessions/{session_id}/workflow/diff", "workflow.diff")
WORKFLOW_REVERT = Route("POST", "/sessions/{session_id}/workflow/revert", "workflow.revert")
TURNS_CREATE = Route("POST", "/sessions/{session_id}/turns", "turns.create")

# Every route the client calls (PATCH .../workflow also as workflow.json_patch).
ROUTES: Final = (
    OPENAPI,
    SESSIONS_CREATE,
    SESSIONS_LIST,
    SESSIONS_DELETE_ALL,
    SESSIONS_IMPORT,
    SESSIONS_GET,
    SESSIONS_UPDATE,
    SESSIONS_DELETE,
    SESSIONS_END,
    SESSIONS_FORK,
    SESSIONS_REWIND,
    SESSIONS_EXPORT,
    SESSIONS_CONTEXT,
    SUMMARY_PUT,
    SUMMARY_GET,
    MESSAGES_APPEND,
    MESSAGES_LIST,
    WORKFLOW_GET,
    WORKFLOW_PUT,
    WORKFLOW_PATCH,
    WORKFLOW_VERSIONS,
    WORKFLOW_VERSION,
    WORKFLOW_DIFF,
    WORKFLOW_REVERT,
    TURNS_CREATE,
)


def _path(route: Route, session_id: SessionId, version: int | None = None) -> str:
    """The route's path; an id is sent as given (a malformed one is the service's 404)."""
    text = str(session_id)
    values: dict[str, str] = {"session_id": quote(text, safe="")}
    if version is not None:
        values["version"] = str(version)
    return route.path.format(**values)


def _if_match(value: IfMatch | None) -> str | None:
    """`If-Match` for a version number (`"3"`) or any version (`*`)."""
    if value is None:
        return None
    if value == "*":
        return "*"
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"if_match must be a version number or '*', not {value!r}")
    return f'"{value}"'


def _page_size(page_size: int | None) -> dict[str, str]:
    return {} if page_size is None else {"limit": str(page_size)}


def _given(**fields: Any) -> dict[str, Any]:
    """A body of the arguments that were given (None: left out)."""
    return {name: value for name, value in fields.items() if value is not None}


def _model(cls: type[M]) -> Callable[[Any], M]:
    return cls.model_validate


def _nothing(_: Any) -> None:
    return None


def _document(answer: Any) -> dict[str, Any]:
    if not isinstance(answer, dict):
        raise TypeError("the service answered something other than a JSON object")
    return answer


def _json_call(
    route: Route,
    path: str,
    body: Any,
    read: Callable[[Any], T],
    *,
    if_match: IfMatch | None = None,
    params: Mapping[str, str] | None = None,
    content_type: str = JSON,
) -> Call[T]:
    request = ApiRequest(route, path, params or {}, body, content_type, _if_match(if_match))
    return Call(request, read)


def _read_call(
    route: Route, path: str, read: Callable[[Any], T], params: Mapping[str, str] | None = None
) -> Call[T]:
    return Call(ApiRequest(route, path, params or {}), read)


# --- sessions ------------------------------------------------------------------------------


def openapi() -> Call[dict[str, Any]]:
    return _read_call(OPENAPI, OPENAPI.path, _document)


def create_session(
    title: str | None, initial_description: str | None, metadata: Mapping[str, Any] | None
) -> Call[Session]:
    body = _given(title=title, initial_description=initial_description, metadata=metadata)
    return _json_call(SESSIONS_CREATE, SESSIONS_CREATE.path, body, _model(Session))


def get_session(session_id: SessionId) -> Call[Session]:
    return _read_call(SESSIONS_GET, _path(SESSIONS_GET, session_id), _model(Session))


def update_session(
    session_id: SessionId, title: str | Unset | None, metadata: Mapping[str, Any] | None
) -> Call[Session]:
    body: dict[str, Any] = _given(metadata=metadata)
    if title is not UNSET:
        body["title"] = title
    path = _path(SESSIONS_UPDATE, session_id)
    return _json_call(SESSIONS_UPDATE, path, body, _model(Session))


def list_sessions(status: SessionStatus | None, page_size: int | None) -> PagedCall[SessionSummary]:
    params = {**_given(status=status), **_page_size(page_size)}
    request = ApiRequest(SESSIONS_LIST, SESSIONS_LIST.path, params)
    return PagedCall(request, SessionSummary.model_validate)


def end_session(session_id: SessionId) -> Call[Session]:
    request = ApiRequest(SESSIONS_END, _path(SESSIONS_END, session_id))
    return Call(request, _model(Session))


def delete_session(session_id: SessionId) -> Call[None]:
    return _read_call(SESSIONS_DELETE, _path(SESSIONS_DELETE, session_id), _nothing)


def delete_all_sessions() -> Call[DeleteAllPage]:
    route = SESSIONS_DELETE_ALL
    return _read_call(route, route.path, _model(DeleteAllPage), {"confirm": "all"})


def fork_session(
    session_id: SessionId,
    at_seq: int | None,
    at_version: int | None,
    title: str | None,
    metadata: Mapping[str, Any] | None,
) -> Call[Session]:
    body = _given(at_seq=at_seq, at_version=at_version, title=title, metadata=metadata)
    path = _path(SESSIONS_FORK, session_id)
    return _json_call(SESSIONS_FORK, path, body, _model(Session))


def rewind_session(session_id: SessionId, to_seq: int) -> Call[Session]:
    path = _path(SESSIONS_REWIND, session_id)
    return _json_call(SESSIONS_REWIND, path, {"to_seq": to_seq}, _model(Session))


def export_session(session_id: SessionId) -> Call[dict[str, Any]]:
    return _read_call(SESSIONS_EXPORT, _path(SESSIONS_EXPORT, session_id), _document)


def import_session(document: Mapping[str, Any]) -> Call[Session]:
    route = SESSIONS_IMPORT
    return _json_call(route, route.path, dict(document), _model(Session))


def session_context(session_id: SessionId, max_bytes: int | None) -> Call[Context]:
    params = _given(max_bytes=None if max_bytes is None else str(max_bytes))
    path = _path(SESSIONS_CONTEXT, session_id)
    return _read_call(SESSIONS_CONTEXT, path, _model(Context), params)


def put_summary(
    session_id: SessionId, content: str, covers_seq: int, metadata: Mapping[str, Any] | None
) -> Call[Summary]:
    body = _given(content=content, covers_seq=covers_seq, metadata=metadata)
    return _json_call(SUMMARY_PUT, _path(SUMMARY_PUT, session_id), body, _model(Summary))


def get_summary(session_id: SessionId) -> Call[Summary]:
    return _read_call(SUMMARY_GET, _path(SUMMARY_GET, session_id), _model(Summary))


# --- messages and turns --------------------------------------------------------------------


def append_message(
    session_id: SessionId,
    role: Role,
    content: str,
    metadata: Mapping[str, Any] | None,
    message_id: SessionId | None,
) -> Call[Message]:
    body = _given(
        role=role,
        content=content,
        metadata=metadata,
        id=None if message_id is None else str(message_id),
    )
    path = _path(MESSAGES_APPEND, session_id)
    return _json_call(MESSAGES_APPEND, path, body, _model(Message))


def list_messages(
    session_id: SessionId, order: Order, after_seq: int | None, page_size: int | None
) -> PagedCall[Message]:
    params = {"order": order, **_page_size(page_size)}
    if after_seq is not None:
        params["after_seq"] = str(after_seq)
    request = ApiRequest(MESSAGES_LIST, _path(MESSAGES_LIST, session_id), params)
    return PagedCall(request, Message.model_validate)


def create_turn(
    session_id: SessionId,
    messages: Sequence[Mapping[str, Any]],
    workflow: Mapping[str, Any] | None,
    workflow_patch: Mapping[str, Any] | None,
    note: str | None,
    expected_version: int | None,
) -> Call[TurnResult]:
    body = _given(
        messages=[dict(message) for message in messages],
        workflow=workflow,
        workflow_patch=workflow_patch,
        note=note,
        expected_version=expected_version,
    )
    path = _path(TURNS_CREATE, session_id)
    return _json_call(TURNS_CREATE, path, body, _model(TurnResult))


# --- workflow ------------------------------------------------------------------------------


def get_workflow(session_id: SessionId) -> Call[CurrentWorkflow]:
    return _read_call(WORKFLOW_GET, _path(WORKFLOW_GET, session_id), _model(CurrentWorkflow))


def put_workflow(
    session_id: SessionId,
    workflow: Mapping[str, Any],
    note: str | None,
    message_id: SessionId | None,
    if_match: IfMatch | None,
) -> Call[WorkflowVersion]:
    body = _given(
        workflow=dict(workflow),
        note=note,
        message_id=None if message_id is None else str(message_id),
    )
    path = _path(WORKFLOW_PUT, session_id)
    return _json_call(WORKFLOW_PUT, path, body, _model(WorkflowVersion), if_match=if_match)


def patch_workflow(
    session_id: SessionId,
    patch: Any,
    content_type: str,
    note: str | None,
    if_match: IfMatch | None,
) -> Call[WorkflowVersion]:
    return _json_call(
        WORKFLOW_PATCH,
        _path(WORKFLOW_PATCH, session_id),
        patch,
        _model(WorkflowVersion),
        if_match=if_match,
        params=_given(note=note),
        content_type=content_type,
    )


def list_versions(session_id: SessionId, page_size: int | None) -> PagedCall[WorkflowVersion]:
    path = _path(WORKFLOW_VERSIONS, session_id)
    request = ApiRequest(WORKFLOW_VERSIONS, path, _page_size(page_size))
    return PagedCall(request, WorkflowVersion.model_validate)


def get_version(session_id: SessionId, version: int) -> Call[WorkflowVersion]:
    path = _path(WORKFLOW_VERSION, session_id, version)
    return _read_call(WORKFLOW_VERSION, path, _model(WorkflowVersion))


def diff_versions(session_id: SessionId, from_version: int, to_version: int) -> Call[Diff]:
    params = {"from": str(from_version), "to": str(to_version)}
    return _read_call(WORKFLOW_DIFF, _path(WORKFLOW_DIFF, session_id), _model(Diff), params)


def revert_workflow(
    session_id: SessionId, version: int, note: str | None, if_match: IfMatch | None
) -> Call[WorkflowVersion]:
    body = _given(version=version, note=note)
    path = _path(WORKFLOW_REVERT, session_id)
    return _json_call(WORKFLOW_REVERT, path, body, _model(WorkflowVersion), if_match=if_match)
