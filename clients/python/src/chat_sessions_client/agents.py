"""An OpenAI Agents SDK session kept in a session of the service (`pip install
chat-sessions-client[agents]`).

Each item is one message whose content is the item's JSON, so every kind of item (messages,
tool calls and their outputs, reasoning) comes back unchanged; its role is the item's
(`developer` stored as `system`), or `assistant` for items without one. Messages others
wrote come back as `{"role", "content"}` input messages.

    session = ChatSessionsSession(client, session_id)
    result = await Runner.run(agent, "Load the CSV nightly", session=session)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

try:
    from agents.items import TResponseInputItem
    from agents.memory import SessionSettings
except ImportError as missing:  # installed without the extra
    raise ImportError(
        "chat_sessions_client.agents needs the OpenAI Agents SDK: "
        "pip install 'chat-sessions-client[agents]'"
    ) from missing

from chat_sessions_client.async_client import AsyncClient
from chat_sessions_client.client import Client
from chat_sessions_client.conversation import async_conversation
from chat_sessions_client.models import Message, Role
from chat_sessions_client.operations import SessionId

METADATA_KEY = "openai_agents"
ITEM = "item"  # the content is an item's JSON
_ROLES: dict[str, Role] = {
    "user": "user",
    "assistant": "assistant",
    "system": "system",
    "developer": "system",
}


def item_body(item: TResponseInputItem) -> dict[str, Any]:
    """The service message that stores an item."""
    fields = cast(Mapping[str, Any], item)
    role = _ROLES.get(str(fields.get("role", "")), "assistant")
    content = json.dumps(item, ensure_ascii=False, separators=(",", ":"))
    return {"role": role, "content": content, "metadata": {METADATA_KEY: ITEM}}


def session_item(message: Message) -> TResponseInputItem:
    """The item a service message stores (an input message when this session did not write
    it)."""
    if message.metadata.get(METADATA_KEY) == ITEM:
        try:
            stored = json.loads(message.content)
        except ValueError:
            stored = None
        if isinstance(stored, dict):
            return cast(TResponseInputItem, stored)
    return cast(TResponseInputItem, {"role": message.role, "content": message.content})


class ChatSessionsSession:
    """The conversation history of an agent run (`agents.memory.Session`) in one session of
    the service. Works with an `AsyncClient`, or with a `Client` (its calls then run in a
    worker thread). `pop_item` and `clear_session` remove messages with rewinds."""

    session_settings: SessionSettings | None

    def __init__(
        self,
        client: Client | AsyncClient,
        session_id: SessionId,
        *,
        session_settings: SessionSettings | None = None,
    ) -> None:
        self.client = client
        self.session_id = str(session_id)
        self.session_settings = session_settings
        self._conversation = async_conversation(client, session_id)

    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        """Every item in order, or the latest `limit` (else `session_settings.limit`)."""
        if limit is None and self.session_settings is not None:
            limit = self.session_settings.limit
        if limit is None:
            messages = await self._conversation.messages()
        elif limit > 0:
            messages = await self._conversation.latest(limit)
        else:
            messages = []
        return [session_item(message) for message in messages]

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        """Store the items in order, in turns of up to 10, each all or nothing."""
        await self._conversation.append([item_body(item) for item in items])

    async def pop_item(self) -> TResponseInputItem | None:
        """Remove the latest item and return it; None when there is none."""
        latest = await self._conversation.latest(1)
        if not latest:
            return None
        await self._conversation.rewind(latest[0].seq - 1)
        return session_item(latest[0])

    async def clear_session(self) -> None:
        await self._conversation.rewind(0)
