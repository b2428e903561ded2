"""`Client`: the blocking client, grouped as the API is (sessions, messages, workflow, turns).
Every method sends one operation of `operations` (lists: every page, lazily)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any

import httpx

from chat_sessions_client import operations
from chat_sessions_client.models import (
    Context,
    CurrentWorkflow,
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
from chat_sessions_client.operations import UNSET, IfMatch, Order, SessionId, Unset
from chat_sessions_client.retries import RetryPolicy
from chat_sessions_client.transport import SyncTransport, Token


class Sessions:
    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def create(
        self,
        title: str | None = None,
        initial_description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Session:
        return self._t.call(operations.create_session(title, initial_description, metadata))

    def get(self, session_id: SessionId) -> Session:
        return self._t.call(operations.get_session(session_id))

    def update(
        self,
        session_id: SessionId,
        title: str | Unset | None = UNSET,
        metadata: Mapping[str, Any] | None = None,
    ) -> Session:
        """Change the title (None removes it) and/or merge `metadata` (a None value removes
        its key)."""
        return self._t.call(operations.update_session(session_id, title, metadata))

    def list(
        self, status: SessionStatus | None = None, *, page_size: int | None = None
    ) -> Iterator[SessionSummary]:
        """The caller's sessions, most recently updated first, over every page."""
        return self._t.iterate(operations.list_sessions(status, page_size))

    def end(self, session_id: SessionId) -> Session:
        return self._t.call(operations.end_session(session_id))

    def delete(self, session_id: SessionId) -> None:
        self._t.call(operations.delete_session(session_id))

    def delete_all(self) -> int:
        """Delete every session of the caller; how many were deleted."""
        deleted = 0
        while True:
            page = self._t.call(operations.delete_all_sessions())
            deleted += page.deleted
            if not page.more:
                return deleted

    def fork(
        self,
        session_id: SessionId,
        at_seq: int | None = None,
        at_version: int | None = None,
        title: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Session:
        return self._t.call(
            operations.fork_session(session_id, at_seq, at_version, title, metadata)
        )

    def rewind(self, session_id: SessionId, to_seq: int) -> Session:
        """Remove the messages after `to_seq` (at most 40 in one call)."""
        return self._t.call(operations.rewind_session(session_id, to_seq))

    def export(self, session_id: SessionId) -> dict[str, Any]:
        """The whole session as one document (format `chat-session/1`)."""
        return self._t.call(operations.export_session(session_id))

    def import_document(self, document: Mapping[str, Any]) -> Session:
        """A new session of the caller from an export document."""
        return self._t.call(operations.import_session(document))

    def context(self, session_id: SessionId, max_bytes: int | None = None) -> Context:
        return self._t.call(operations.session_context(session_id, max_bytes))

    def put_summary(
        self,
        session_id: SessionId,
        content: str,
        covers_seq: int,
        metadata: Mapping[str, Any] | None = None,
    ) -> Summary:
        return self._t.call(operations.put_summary(session_id, content, covers_seq, metadata))

    def get_summary(self, session_id: SessionId) -> Summary:
        return self._t.call(operations.get_summary(session_id))


class Messages:
    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def append(
        self,
        session_id: SessionId,
        role: Role,
        content: str,
        metadata: Mapping[str, Any] | None = None,
        id: SessionId | None = None,
    ) -> Message:
        """Append one message; with a message `id` of your own, appending it again returns
        the stored message instead of storing it twice."""
        return self._t.call(operations.append_message(session_id, role, content, metadata, id))

    def list(
        self,
        session_id: SessionId,
        order: Order = "asc",
        after_seq: int | None = None,
        *,
        page_size: int | None = None,
    ) -> Iterator[Message]:
        return self._t.iterate(operations.list_messages(session_id, order, after_seq, page_size))


class Workflow:
    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def get(self, session_id: SessionId) -> CurrentWorkflow:
        return self._t.call(operations.get_workflow(session_id))

    def put(
        self,
        session_id: SessionId,
        workflow: Mapping[str, Any],
        note: str | None = None,
        message_id: SessionId | None = None,
        if_match: IfMatch | None = None,
    ) -> WorkflowVersion:
        return self._t.call(
            operations.put_workflow(session_id, workflow, note, message_id, if_match)
        )

    def merge_patch(
        self,
        session_id: SessionId,
        patch: Mapping[str, Any],
        note: str | None = None,
        if_match: IfMatch | None = None,
    ) -> WorkflowVersion:
        """Change part of the workflow with an RFC 7396 merge patch (None removes a key)."""
        call = operations.patch_workflow(
            session_id, dict(patch), operations.MERGE_PATCH, note, if_match
        )
        return self._t.call(call)

    def json_patch(
        self,
        session_id: SessionId,
        ops: Sequence[Mapping[str, Any]],
        note: str | None = None,
        if_match: IfMatch | None = None,
    ) -> WorkflowVersion:
        """Change part of the workflow with RFC 6902 operations, all or none."""
        patch = [dict(op) for op in ops]
        call = operations.patch_workflow(session_id, patch, operations.JSON_PATCH, note, if_match)
        return self._t.call(call)

    def versions(
        self, session_id: SessionId, *, page_size: int | None = None
    ) -> Iterator[WorkflowVersion]:
        """The workflow's history, newest first, without the workflows."""
        return self._t.iterate(operations.list_versions(session_id, page_size))

    def version(self, session_id: SessionId, version: int) -> WorkflowVersion:
        """One version with its workflow."""
        return self._t.call(operations.get_version(session_id, version))

    def diff(self, session_id: SessionId, from_version: int, to_version: int) -> Diff:
        return self._t.call(operations.diff_versions(session_id, from_version, to_version))

    def revert(
        self,
        session_id: SessionId,
        version: int,
        note: str | None = None,
        if_match: IfMatch | None = None,
    ) -> WorkflowVersion:
        """A new version whose workflow equals `version`'s."""
        return self._t.call(operations.revert_workflow(session_id, version, note, if_match))


class Turns:
    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def create(
        self,
        session_id: SessionId,
        messages: Sequence[Mapping[str, Any]],
        workflow: Mapping[str, Any] | None = None,
        workflow_patch: Mapping[str, Any] | None = None,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> TurnResult:
        """One conversation turn, all or nothing: 1..10 messages (`{"role", "content",
        "metadata"?, "id"?}`) and a new workflow or a merge patch of it."""
        call = operations.create_turn(
            session_id, messages, workflow, workflow_patch, note, expected_version
        )
        return self._t.call(call)


class Client:
    """The chat-session service, blocking. `token` is a bearer token or a function that
    returns one (called before each request, so it may refresh it).

    Use it as a context manager, or call `close()`."""

    def __init__(
        self,
        base_url: str,
        token: Token,
        *,
        timeout: float | httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._transport = SyncTransport(
            base_url,
            token,
            timeout=timeout,
            retry=RetryPolicy() if retry is None else retry,
            transport=transport,
        )
        self.sessions = Sessions(self._transport)
        self.messages = Messages(self._transport)
        self.workflow = Workflow(self._transport)
        self.turns = Turns(self._transport)

    def openapi(self) -> dict[str, Any]:
        """The service's OpenAPI document."""
        return self._transport.call(operations.openapi())

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
