"""`ChatSessionsSession` as the OpenAI Agents SDK drives it: `Runner.run` with a scripted model
(a tool call, reasoning, replies) reads and adds the session's items; the SDK's own rewind
(what its runner does before retrying a turn) pops the last turn's items off again."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from agents import Agent, ModelResponse, RunConfig, Runner, function_tool
from agents.items import TResponseInputItem, TResponseOutputItem, TResponseStreamEvent
from agents.memory import Session as AgentsSession
from agents.memory import SessionSettings
from agents.models.interface import Model
from agents.run_internal.session_persistence import rewind_session_items
from agents.usage import Usage
from chat_sessions_client import AsyncClient, Client
from chat_sessions_client.agents import ChatSessionsSession
from client_support import run
from openai.types.responses import (
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseReasoningItem,
)
from openai.types.responses.response_reasoning_item import Summary

from tests.helpers.server import LocalServer

NO_TRACING = RunConfig(tracing_disabled=True)


def reply(text: str, n: int) -> ResponseOutputMessage:
    return ResponseOutputMessage(
        id=f"msg_{n}",
        type="message",
        role="assistant",
        status="completed",
        content=[ResponseOutputText(type="output_text", text=text, annotations=[])],
    )


class ScriptedModel(Model):
    """Answers each call with the next scripted output, and keeps the input of each call."""

    def __init__(self, outputs: list[list[TResponseOutputItem]]) -> None:
        self.outputs = outputs
        self.inputs: list[list[TResponseInputItem]] = []

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        *args: Any,
        **kwargs: Any,
    ) -> ModelResponse:
        self.inputs.append(copy.deepcopy(input) if isinstance(input, list) else [])
        return ModelResponse(output=self.outputs.pop(0), usage=Usage(), response_id=None)

    async def stream_response(
        self, *args: Any, **kwargs: Any
    ) -> AsyncIterator[TResponseStreamEvent]:
        raise NotImplementedError("the tests do not stream")
        yield  # an async generator, as the interface has it


@dataclass(frozen=True)
class Turn:
    output: str
    saved: list[TResponseInputItem]  # what the runner added to the session in the run


class Recorded(ChatSessionsSession):
    """The session, with a record of what the runner adds to it."""

    def __init__(self, client: AsyncClient, session_id: str) -> None:
        super().__init__(client, session_id)
        self.added: list[TResponseInputItem] = []

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        self.added.extend(copy.deepcopy(items))
        await super().add_items(items)

    async def run(self, agent: Agent[Any], question: str) -> Turn:
        """One `Runner.run` of the agent with this session as its memory."""
        before = len(self.added)
        result = await Runner.run(agent, question, session=self, run_config=NO_TRACING)
        return Turn(str(result.final_output), self.added[before:])


@function_tool
def lookup_schema(table: str) -> str:
    """The columns of a table."""
    return f"{table}: id, amount, created_at"


def the_model() -> ScriptedModel:
    tool_call = ResponseFunctionToolCall(
        id="fc_1",
        call_id="call_1",
        type="function_call",
        name="lookup_schema",
        arguments=json.dumps({"table": "orders"}),
        status="completed",
    )
    reasoning = ResponseReasoningItem(
        id="rs_1",
        type="reasoning",
        summary=[Summary(type="summary_text", text="The load step needs the schema.")],
    )
    return ScriptedModel(
        [
            [reasoning, tool_call],
            [reply("Loading orders (id, amount, created_at) nightly.", 1)],
            [reply("Dedupe on id added.", 2)],
            [reply("Failure notification added.", 3)],
        ]
    )


def kinds(items: list[TResponseInputItem]) -> list[tuple[str | None, str | None]]:
    return [(item.get("type"), item.get("role")) for item in items]  # type: ignore[misc]


def test_a_run_keeps_its_items_and_the_sdks_rewind_pops_a_turn(
    stack: LocalServer, token: str
) -> None:
    async def scenario() -> None:
        async with AsyncClient(stack.url, token=token) as client:
            # Given an agent with a tool, and a session of the service for its memory
            created = await client.sessions.create(title="agents")
            session = Recorded(client, str(created.id))
            model = the_model()
            agent = Agent(name="designer", instructions="Design workflows.", model=model)
            agent.tools.append(lookup_schema)
            assert isinstance(session, AgentsSession)

            # When two turns are run, the second rewound as the runner rewinds a turn before
            # retrying it, and a third run
            first = await session.run(agent, "Load orders nightly")
            second = await session.run(agent, "Dedupe it")
            await rewind_session_items(session, second.saved)
            third = await session.run(agent, "Notify me on failure")

            # Then each run read the earlier turns through the session
            assert first.output.startswith("Loading orders")
            assert second.output == "Dedupe on id added."
            assert third.output == "Failure notification added."
            turn_one, turn_three = first.saved, third.saved
            assert kinds(model.inputs[2]) == [*kinds(turn_one), (None, "user")]
            assert model.inputs[3] == [*turn_one, turn_three[0]]

            # And the service holds exactly turns one and three, an item per message
            assert await session.get_items() == turn_one + turn_three
            stored = [m async for m in client.messages.list(created.id)]
            assert [json.loads(m.content) for m in stored] == turn_one + turn_three
            assert [m.role for m in stored] == [
                "user",
                "assistant",
                "assistant",
                "assistant",
                "assistant",
                "user",
                "assistant",
            ]
            assert kinds(turn_one) == [
                (None, "user"),
                ("reasoning", None),
                ("function_call", None),
                ("function_call_output", None),
                ("message", "assistant"),
            ]

    run(scenario())


def test_the_session_protocol_calls_one_by_one(client: Client) -> None:
    async def scenario() -> None:
        # Given a session of the blocking client (its calls run in a worker thread)
        created = client.sessions.create()
        session = ChatSessionsSession(client, created.id)
        items: list[TResponseInputItem] = [
            {"role": "user", "content": f"question {n}"} for n in range(12)
        ]

        # When items are added, read, popped and cleared
        await session.add_items(items)
        await session.add_items([])
        latest = await session.get_items(limit=3)
        popped = await session.pop_item()
        after_pop = await session.get_items()
        await session.clear_session()
        emptied = await session.get_items()
        popped_from_empty = await session.pop_item()

        # Then each did what the protocol says
        assert latest == items[-3:]
        assert popped == items[-1] and after_pop == items[:-1]
        assert emptied == [] and popped_from_empty is None
        assert client.sessions.get(created.id).message_count == 0

    run(scenario())


def test_session_settings_limit_and_messages_written_by_others(client: Client) -> None:
    created = client.sessions.create(initial_description="Plain text from elsewhere")
    session = ChatSessionsSession(client, created.id, session_settings=SessionSettings(limit=1))

    async def scenario() -> list[TResponseInputItem]:
        await session.add_items([{"role": "developer", "content": "Be terse."}])
        return await session.get_items() + await session.get_items(limit=5)

    got = run(scenario())
    assert got == [
        {"role": "developer", "content": "Be terse."},
        {"role": "user", "content": "Plain text from elsewhere"},
        {"role": "developer", "content": "Be terse."},
    ]
    assert [m.role for m in client.messages.list(created.id)] == ["user", "system"]


@pytest.mark.parametrize("limit", [0, -1])
def test_a_limit_of_none_or_less_gives_no_items(client: Client, limit: int) -> None:
    created = client.sessions.create(initial_description="hi")
    assert run(ChatSessionsSession(client, created.id).get_items(limit=limit)) == []
