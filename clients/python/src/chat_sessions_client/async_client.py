"""`AsyncClient`: `Client`'s surface for asyncio; lists are async iterators."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
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
from chat_sessions_client.transport import AsyncToken, AsyncTransport


class AsyncSessions:
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def create(
        self,
        title: str | None = None,
        initial_description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Session:
        return await self._t.call(operations.create_session(title, initial_description, metadata))

    async def get(self, session_id: SessionId) -> Session:
        return await self._t.call(operations.get_session(session_id))

    async def update(
        self,
        session_id: SessionId,
        title: str | Unset | None = UNSET,
        metadata: Mapping[str, Any] | None = None,
    ) -> Session:
        """Change the title (None removes it) and/or merge `metadata` (a None value removes
        its key)."""
        return await self._t.call(operations.update_session(session_id, title, metadata))

    def list(
        self, status: SessionStatus | None = None, *, page_size: int | None = None
    ) -> AsyncIterator[SessionSummary]:
        """The caller's sessions, most recently updated first, over every page."""
        return self._t.iterate(operations.list_sessions(status, page_size))

    async def end(self, session_id: SessionId) -> Session:
        return await self._t.call(operations.end_session(session_id))

    async def delete(self, session_id: SessionId) -> None:
        await self._t.call(operations.delete_session(session_id))

    async def delete_all(self) -> int:
        """Delete every session of the caller; how many were deleted."""
        deleted = 0
        while True:
            page = await self._t.call(operations.delete_all_sessions())
            deleted += page.deleted
            if not page.more:
                return deleted

    async def fork(
        self,
        session_id: SessionId,
        at_seq: int | None = None,
        at_version: int | None = None,
        title: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Session:
        return await self._t.call(
            operations.fork_session(session_id, at_seq, at_version, title, metadata)
        )

    async def rewind(self, session_id: SessionId, to_seq: int) -> Session:
        """Remove the messages after `to_seq` (at most 40 in one call)."""
        return await self._t.call(operations.rewind_session(session_id, to_seq))

    async def export(self, session_id: SessionId) -> dict[str, Any]:
        """The whole session as one document (format `chat-session/1`)."""
        return await self._t.call(operations.export_session(session_id))

    async def import_document(self, document: Mapping[str, Any]) -> Session:
        """A new session of the caller from an export document."""
        return await self._t.call(operations.import_session(document))

    async def context(self, session_id: SessionId, max_bytes: int | None = None) -> Context:
        return await self._t.call(operations.session_context(session_id, max_bytes))

    async def put_summary(
        self,
        session_id: SessionId,
        content: str,
        covers_seq: int,
        metadata: Mapping[str, Any] | None = None,
    ) -> Summary:
        return await self._t.call(operations.put_summary(session_id, content, covers_seq, metadata))

    async def get_summary(self, session_id: SessionId) -> Summary:
        return await self._t.call(operations.get_summary(session_id))


class AsyncMessages:
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def append(
        self,
        session_id: SessionId,
        role: Role,
        content: str,
        metadata: Mapping[str, Any] | None = None,
        id: SessionId | None = None,
    ) -> Message:
        """Append one message; with a message `id` of your own, appending it again returns
        the stored message instead of storing it twice."""
        return await self._t.call(
            operations.append_message(session_id, role, content, metadata, id)
        )

    def list(
        self,
        session_id: SessionId,
        order: Order = "asc",
        after_seq: int | None = None,
        *,
        page_size: int | None = None,
    ) -> AsyncIterator[Message]:
        return self._t.iterate(operations.list_messages(session_id, order, after_seq, page_size))


class AsyncWorkflow:
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def get(self, session_id: SessionId) -> CurrentWorkflow:
        return await self._t.call(operations.get_workflow(session_id))

    async def put(
        self,
        session_id: SessionId,
        workflow: Mapping[str, Any],
        note: str | None = None,
        message_id: SessionId | None = None,
        if_match: IfMatch | None = None,
    ) -> WorkflowVersion:
        return await self._t.call(
            operations.put_workflow(session_id, workflow, note, message_id, if_match)
        )

    async def merge_patch(
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
        return await self._t.call(call)

    async def json_patch(
        self,
        session_id: SessionId,
        ops: Sequence[Mapping[str, Any]],
        note: str | None = None,
        if_match: IfMatch | None = None,
    ) -> WorkflowVersion:
        """Change part of the workflow with RFC 6902 operations, all or none."""
        patch = [dict(op) for op in ops]
        call = operations.patch_workflow(session_id, patch, operations.JSON_PATCH, note, if_match)
        return await self._t.call(call)

    def versions(
        self, session_id: SessionId, *, page_size: int | None = None
    ) -> AsyncIterator[WorkflowVersion]:
        """The workflow's history, newest first, without the workflows."""
        return self._t.iterate(operations.list_versions(session_id, page_size))

    async def version(self, session_id: SessionId, version: int) -> WorkflowVersion:
        """One version with its workflow."""
        return await self._t.call(operations.get_version(session_id, version))

    async def diff(self, session_id: SessionId, from_version: int, to_version: int) -> Diff:
        return await self._t.call(operations.diff_versions(session_id, from_version, to_version))

    async def revert(
        self,
        session_id: SessionId,
        version: int,
        note: str | None = None,
        if_match: IfMatch | None = None,
    ) -> WorkflowVersion:
        """A new version whose workflow equals `version`'s."""
        return await self._t.call(operations.revert_workflow(session_id, version, note, if_match))


class AsyncTurns:
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def create(
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
        return await self._t.call(call)


class AsyncClient:
    """The chat-session service for asyncio. `token` is a bearer token or a function that
    returns one, or an awaitable of one (called before each request).

    Use it as an async context manager, or await `close()`."""

    def __init__(
        self,
        base_url: str,
        token: AsyncToken,
        *,
        timeout: float | httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._transport = AsyncTransport(
            base_url,
            token,
            timeout=timeout,
            retry=RetryPolicy() if retry is None else retry,
            transport=transport,
        )
        self.sessions = AsyncSessions(self._transport)
        self.messages = AsyncMessages(self._transport)
        self.workflow = AsyncWorkflow(self._transport)
        self.turns = AsyncTurns(self._transport)

    async def openapi(self) -> dict[str, Any]:
        """The service's OpenAPI document."""
        return await self._transport.call(operations.openapi())

    async def close(self) -> None:
        await self._transport.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
