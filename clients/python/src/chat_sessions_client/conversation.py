"""What the framework adapters do to a session's messages: read them all or the latest few,
add them in turns (each all or nothing), and cut the conversation back with rewinds.
`SyncConversation` over a `Client`; `AsyncConversation` over an `AsyncClient`, or over a
`Client` in a worker thread."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from itertools import islice
from typing import Any, Protocol

from chat_sessions_client.async_client import AsyncClient
from chat_sessions_client.client import Client
from chat_sessions_client.models import Message
from chat_sessions_client.operations import SessionId

TURN_MESSAGES = 10  # api.md: a turn takes 1..10 messages
REWIND_MESSAGES = 40  # api.md: one rewind removes at most 40 messages
PAGE = 100  # the largest page a list gives

Body = Mapping[str, Any]


def _turns(bodies: Sequence[Body]) -> list[list[dict[str, Any]]]:
    return [
        [dict(body) for body in bodies[start : start + TURN_MESSAGES]]
        for start in range(0, len(bodies), TURN_MESSAGES)
    ]


class SyncConversation:
    def __init__(self, client: Client, session_id: SessionId) -> None:
        self.client = client
        self.session_id = session_id

    def messages(self) -> list[Message]:
        return list(self.client.messages.list(self.session_id, page_size=PAGE))

    def latest(self, count: int) -> list[Message]:
        """The last `count` messages, oldest first."""
        newest = self.client.messages.list(self.session_id, "desc", page_size=min(count, PAGE))
        return list(islice(newest, count))[::-1]

    def append(self, bodies: Sequence[Body]) -> None:
        for turn in _turns(bodies):
            self.client.turns.create(self.session_id, messages=turn)

    def rewind(self, to_seq: int) -> None:
        """Remove the messages after `to_seq`, at most `REWIND_MESSAGES` per request."""
        count = self.client.sessions.get(self.session_id).message_count
        while count > to_seq:
            step_to = max(to_seq, count - REWIND_MESSAGES)
            count = self.client.sessions.rewind(self.session_id, to_seq=step_to).message_count


class AsyncConversation(Protocol):
    async def messages(self) -> list[Message]: ...

    async def latest(self, count: int) -> list[Message]: ...

    async def append(self, bodies: Sequence[Body]) -> None: ...

    async def rewind(self, to_seq: int) -> None: ...


class _NativeConversation:
    def __init__(self, client: AsyncClient, session_id: SessionId) -> None:
        self.client = client
        self.session_id = session_id

    async def messages(self) -> list[Message]:
        return [m async for m in self.client.messages.list(self.session_id, page_size=PAGE)]

    async def latest(self, count: int) -> list[Message]:
        found: list[Message] = []
        newest = self.client.messages.list(self.session_id, "desc", page_size=min(count, PAGE))
        async for message in newest:
            if len(found) == count:
                break
            found.append(message)
        return found[::-1]

    async def append(self, bodies: Sequence[Body]) -> None:
        for turn in _turns(bodies):
            await self.client.turns.create(self.session_id, messages=turn)

    async def rewind(self, to_seq: int) -> None:
        count = (await self.client.sessions.get(self.session_id)).message_count
        while count > to_seq:
            step_to = max(to_seq, count - REWIND_MESSAGES)
            count = (
                await self.client.sessions.rewind(self.session_id, to_seq=step_to)
            ).message_count


class _ThreadedConversation:
    """A blocking client's conversation, each call in a worker thread."""

    def __init__(self, conversation: SyncConversation) -> None:
        self._sync = conversation

    async def messages(self) -> list[Message]:
        return await asyncio.to_thread(self._sync.messages)

    async def latest(self, count: int) -> list[Message]:
        return await asyncio.to_thread(self._sync.latest, count)

    async def append(self, bodies: Sequence[Body]) -> None:
        await asyncio.to_thread(self._sync.append, bodies)

    async def rewind(self, to_seq: int) -> None:
        await asyncio.to_thread(self._sync.rewind, to_seq)


def async_conversation(client: Client | AsyncClient, session_id: SessionId) -> AsyncConversation:
    if isinstance(client, AsyncClient):
        return _NativeConversation(client, session_id)
    return _ThreadedConversation(SyncConversation(client, session_id))
