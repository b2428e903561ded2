"""A LangChain chat history kept in a session of the service (`pip install
chat-sessions-client[langchain]`).

Plain human, AI and system text messages are stored as readable `user`, `assistant` and
`system` messages (their other fields, such as an AI message's id, in the message's
metadata); any other message (tool messages, AI messages with tool calls, non-text content)
is stored whole with LangChain's serialization (`message_to_dict`) as its content. Every
message comes back as it went in; messages others wrote come back as human, AI or system
messages by their role.

    history = ChatSessionHistory(client, session_id)
    chain = RunnableWithMessageHistory(prompt | model, lambda sid: ChatSessionHistory(client, sid))
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

try:
    from langchain_core.chat_history import BaseChatMessageHistory
    from langchain_core.messages import (
        AIMessage,
        BaseMessage,
        HumanMessage,
        SystemMessage,
        message_to_dict,
        messages_from_dict,
    )
except ImportError as missing:  # installed without the extra
    raise ImportError(
        "chat_sessions_client.langchain needs langchain-core: "
        "pip install 'chat-sessions-client[langchain]'"
    ) from missing

from chat_sessions_client.async_client import AsyncClient
from chat_sessions_client.client import Client
from chat_sessions_client.conversation import SyncConversation, async_conversation
from chat_sessions_client.models import Message, Role
from chat_sessions_client.operations import SessionId

METADATA_KEY = "langchain"
SERIALIZED = "message_to_dict"  # the content is the message's whole serialization
# A plain message's other fields stay in its metadata up to this size (the service takes
# 8 KB of metadata by default); past it the message is stored serialized.
EXTRAS_BUDGET_BYTES = 4096
_PLAIN_ROLES: dict[type[BaseMessage], Role] = {
    HumanMessage: "user",
    AIMessage: "assistant",
    SystemMessage: "system",
}
_BY_ROLE: dict[str, type[BaseMessage]] = {role: cls for cls, role in _PLAIN_ROLES.items()}
# Serialized messages: a human's as the user's, a system's as the system's, the rest (AI, tool,
# function) as the assistant side's.
_ROLE_OF_TYPE: dict[str, Role] = {"human": "user", "system": "system"}


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _is_plain_text(message: BaseMessage) -> bool:
    if type(message) not in _PLAIN_ROLES or not isinstance(message.content, str):
        return False
    if isinstance(message, AIMessage) and (message.tool_calls or message.invalid_tool_calls):
        return False
    return bool(message.content.strip())


def message_body(message: BaseMessage) -> dict[str, Any]:
    """The service message (role, content, metadata) that stores a LangChain message."""
    if _is_plain_text(message):
        role = _PLAIN_ROLES[type(message)]
        extras = message.model_dump(mode="json", exclude={"content"}, exclude_defaults=True)
        if not extras:
            return {"role": role, "content": message.content}
        if len(_compact(extras).encode()) <= EXTRAS_BUDGET_BYTES:
            stored = {"type": message.type, "data": extras}
            return {"role": role, "content": message.content, "metadata": {METADATA_KEY: stored}}
    return {
        "role": _ROLE_OF_TYPE.get(message.type, "assistant"),
        "content": _compact(message_to_dict(message)),
        "metadata": {METADATA_KEY: {"encoding": SERIALIZED}},
    }


def langchain_message(message: Message) -> BaseMessage:
    """The LangChain message a service message stores (by its role when it is not one the
    history wrote)."""
    stored = message.metadata.get(METADATA_KEY)
    if isinstance(stored, dict):
        try:
            if stored.get("encoding") == SERIALIZED:
                return messages_from_dict([json.loads(message.content)])[0]
            if isinstance(stored.get("type"), str) and isinstance(stored.get("data"), dict):
                data = {**stored["data"], "content": message.content}
                return messages_from_dict([{"type": stored["type"], "data": data}])[0]
        except (ValueError, KeyError, TypeError):
            pass  # not what this history wrote: read it as text, by its role
    return _BY_ROLE[message.role](content=message.content)


class ChatSessionHistory(BaseChatMessageHistory):
    """The messages of one session of the service as a LangChain chat history. With a
    `Client` every method works; with an `AsyncClient` only the async ones (`aget_messages`,
    `aadd_messages`, `aclear`, as `ainvoke` uses them)."""

    def __init__(self, client: Client | AsyncClient, session_id: SessionId) -> None:
        super().__init__()
        self.client = client
        self.session_id = session_id

    def _sync(self) -> SyncConversation:
        if not isinstance(self.client, Client):
            raise TypeError(
                "this history has an AsyncClient: use aget_messages, aadd_messages and aclear "
                "(ainvoke/astream with RunnableWithMessageHistory), or give it a Client"
            )
        return SyncConversation(self.client, self.session_id)

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        return [langchain_message(message) for message in self._sync().messages()]

    async def aget_messages(self) -> list[BaseMessage]:
        stored = await async_conversation(self.client, self.session_id).messages()
        return [langchain_message(message) for message in stored]

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Store the messages in turns of up to 10, each all or nothing."""
        self._sync().append([message_body(message) for message in messages])

    async def aadd_messages(self, messages: Sequence[BaseMessage]) -> None:
        bodies = [message_body(message) for message in messages]
        await async_conversation(self.client, self.session_id).append(bodies)

    def clear(self) -> None:
        """Remove every message (with rewinds; the session and its workflow stay)."""
        self._sync().rewind(0)

    async def aclear(self) -> None:
        await async_conversation(self.client, self.session_id).rewind(0)
