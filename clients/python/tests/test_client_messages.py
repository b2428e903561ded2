"""`client.messages` and `client.turns` against the local stack."""

from __future__ import annotations

import uuid

from chat_sessions_client import Client, Message, TurnResult


def test_append_returns_the_stored_message(client: Client) -> None:
    session = client.sessions.create()

    message = client.messages.append(
        session.id, role="assistant", content="Loaded.", metadata={"tokens": 3}
    )

    assert isinstance(message, Message) and isinstance(message.id, uuid.UUID)
    assert (message.seq, message.role, message.content) == (1, "assistant", "Loaded.")
    assert message.metadata == {"tokens": 3} and message.timestamp.tzinfo is not None


def test_append_with_an_id_of_ones_own_stores_it_once(client: Client) -> None:
    # Given a message id chosen by the caller
    session = client.sessions.create()
    message_id = uuid.uuid4()

    # When the same message is appended twice with it (as a UUID, then as a string)
    first = client.messages.append(session.id, role="user", content="hi", id=message_id)
    again = client.messages.append(session.id, role="user", content="hi", id=str(message_id))

    # Then the second answer is the first, and one message is stored
    assert first.id == message_id and again == first
    assert [m.id for m in client.messages.list(session.id)] == [message_id]


def test_list_pages_orders_and_starts_after_a_seq(client: Client) -> None:
    # Given seven messages
    session = client.sessions.create()
    for n in range(1, 8):
        client.messages.append(session.id, role="user", content=f"m{n}")

    # When they are listed in pages of three, both ways, and after message 5
    ascending = [m.seq for m in client.messages.list(session.id, page_size=3)]
    descending = [m.seq for m in client.messages.list(session.id, order="desc", page_size=3)]
    after = [m.seq for m in client.messages.list(session.id, after_seq=5)]

    # Then every page was followed
    assert ascending == [1, 2, 3, 4, 5, 6, 7]
    assert descending == [7, 6, 5, 4, 3, 2, 1]
    assert after == [6, 7]


def test_a_turn_stores_its_messages_and_workflow_together(client: Client) -> None:
    # Given a session with a first workflow version
    session = client.sessions.create()
    client.workflow.put(session.id, {"name": "etl", "steps": {}})

    # When a turn brings two messages and a merge patch, expecting version 1
    turn = client.turns.create(
        session.id,
        messages=[
            {"role": "user", "content": "Add a load step"},
            {"role": "assistant", "content": "Added.", "metadata": {"model": "m"}},
        ],
        workflow_patch={"steps": {"load": {"batch": 100}}},
        note="load step",
        expected_version=1,
    )
    plain = client.turns.create(session.id, messages=[{"role": "user", "content": "Thanks"}])
    replaced = client.turns.create(
        session.id,
        messages=[{"role": "assistant", "content": "Rewritten."}],
        workflow={"name": "etl2"},
    )

    # Then the turn's version names its last message
    assert isinstance(turn, TurnResult)
    assert [m.seq for m in turn.messages] == [1, 2]
    assert turn.workflow_version is not None
    assert turn.workflow_version.version == 2 and turn.workflow_version.source == "turn"
    assert turn.workflow_version.message_id == turn.messages[-1].id
    assert turn.workflow_version.note == "load step"
    assert plain.workflow_version is None and plain.messages[0].seq == 3
    assert replaced.workflow_version is not None and replaced.workflow_version.version == 3
    assert client.workflow.get(session.id).workflow == {"name": "etl2"}
