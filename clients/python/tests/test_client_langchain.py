"""`ChatSessionHistory` as LangChain uses it: a conversation through RunnableWithMessageHistory
with langchain-core's fake chat model, stored as readable messages in the service."""

from __future__ import annotations

import uuid

import pytest
from chat_sessions_client import AsyncClient, Client, NotFound
from chat_sessions_client.langchain import ChatSessionHistory
from client_support import run
from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.prompt_values import PromptValue
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import RunnableLambda
from langchain_core.runnables.history import RunnableWithMessageHistory

from tests.helpers.server import LocalServer

# LangChain deprecates RunnableWithMessageHistory (since 1.3.3) in favour of LangGraph's
# persistence; it still is how a BaseChatMessageHistory is used, so it is what is tested.
pytestmark = pytest.mark.filterwarnings("ignore:RunnableWithMessageHistory is deprecated")

QUESTIONS = ["Load orders.csv nightly", "Add a dedupe step", "Notify me on failure"]
ANSWERS = ["A load step it is.", "Dedupe added after load.", "Notification added."]


def conversation(
    client: Client | AsyncClient, seen: list[list[BaseMessage]]
) -> RunnableWithMessageHistory:
    """A chain with a system prompt, the history and the question; `seen` gets what the
    model was shown on each call."""
    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", "You design data workflows."),
            MessagesPlaceholder("history"),
            ("human", "{question}"),
        ]
    )

    def show(prompt_value: PromptValue) -> PromptValue:
        seen.append(prompt_value.to_messages())
        return prompt_value

    chain = prompt | RunnableLambda(show) | FakeListChatModel(responses=ANSWERS)

    def history(session_id: str) -> BaseChatMessageHistory:
        return ChatSessionHistory(client, session_id)

    return RunnableWithMessageHistory(
        chain,
        history,
        input_messages_key="question",
        history_messages_key="history",
    )


def test_three_turns_through_runnable_with_message_history(client: Client) -> None:
    # Given a session and a chain whose history it keeps
    session = client.sessions.create(title="langchain")
    seen: list[list[BaseMessage]] = []
    chain = conversation(client, seen)
    config = {"configurable": {"session_id": str(session.id)}}

    # When three questions are asked in turn
    replies = [chain.invoke({"question": q}, config=config) for q in QUESTIONS]  # type: ignore[arg-type]

    # Then the service holds exactly the six messages, readable, in order
    stored = list(client.messages.list(session.id))
    assert [(m.role, m.content) for m in stored] == [
        ("user", QUESTIONS[0]),
        ("assistant", ANSWERS[0]),
        ("user", QUESTIONS[1]),
        ("assistant", ANSWERS[1]),
        ("user", QUESTIONS[2]),
        ("assistant", ANSWERS[2]),
    ]
    # And the model was shown the history each time, the system prompt not stored in it
    assert [len(messages) for messages in seen] == [2, 4, 6]
    assert [m.content for m in seen[2][1:5]] == [QUESTIONS[0], ANSWERS[0], QUESTIONS[1], ANSWERS[1]]
    # And the history gives back the messages as they went in, the AI messages' ids included
    history = ChatSessionHistory(client, session.id).messages
    assert history[1::2] == replies
    assert history[0::2] == [HumanMessage(q) for q in QUESTIONS]


def test_messages_that_are_not_plain_text_come_back_unchanged(client: Client) -> None:
    # Given a tool-calling exchange and messages of other shapes
    session = client.sessions.create()
    messages: list[BaseMessage] = [
        SystemMessage("Be brief."),
        HumanMessage(
            content=[
                {"type": "text", "text": "What is in this file?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            ],
            name="ana",
        ),
        AIMessage(
            content="",
            tool_calls=[{"name": "read_csv", "args": {"path": "orders.csv"}, "id": "call_1"}],
            usage_metadata={"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
        ),
        ToolMessage(content="id,amount\n1,20", tool_call_id="call_1", name="read_csv"),
        AIMessage(content="Orders with an amount.", response_metadata={"model": "fake"}),
    ]

    # When they are stored and read back
    history = ChatSessionHistory(client, session.id)
    history.add_messages(messages)

    # Then each comes back equal, and the plain ones are readable in the service
    assert history.messages == messages
    stored = list(client.messages.list(session.id))
    assert [m.role for m in stored] == ["system", "user", "assistant", "assistant", "assistant"]
    assert stored[0].content == "Be brief." and stored[4].content == "Orders with an amount."


def test_messages_written_by_others_are_read_by_their_role(client: Client) -> None:
    session = client.sessions.create(initial_description="Hello")
    client.messages.append(session.id, role="assistant", content="Hi")
    client.messages.append(session.id, role="system", content="Rules")
    assert ChatSessionHistory(client, session.id).messages == [
        HumanMessage("Hello"),
        AIMessage("Hi"),
        SystemMessage("Rules"),
    ]


def test_clear_removes_every_message(client: Client) -> None:
    # Given a history longer than one rewind removes
    session = client.sessions.create()
    history = ChatSessionHistory(client, session.id)
    history.add_messages([HumanMessage(f"m{n}") for n in range(45)])

    # When it is cleared, then it is empty, and the next message is message 1
    history.clear()
    assert history.messages == []
    history.add_messages([HumanMessage("again")])
    assert [m.seq for m in client.messages.list(session.id)] == [1]


def test_an_async_conversation_with_an_async_client(stack: LocalServer, token: str) -> None:
    async def scenario() -> list[tuple[str, str]]:
        async with AsyncClient(stack.url, token=token) as client:
            session = await client.sessions.create()
            chain = conversation(client, [])
            config = {"configurable": {"session_id": str(session.id)}}
            for question in QUESTIONS[:2]:
                await chain.ainvoke({"question": question}, config=config)  # type: ignore[arg-type]
            history = ChatSessionHistory(client, session.id)
            assert len(await history.aget_messages()) == 4
            with pytest.raises(TypeError, match="AsyncClient"):
                _ = history.messages
            return [(m.role, m.content) async for m in client.messages.list(session.id)]

    assert run(scenario()) == [
        ("user", QUESTIONS[0]),
        ("assistant", ANSWERS[0]),
        ("user", QUESTIONS[1]),
        ("assistant", ANSWERS[1]),
    ]


def test_a_history_over_a_missing_session_reads_as_not_found(client: Client) -> None:
    with pytest.raises(NotFound):
        _ = ChatSessionHistory(client, uuid.uuid4()).messages
