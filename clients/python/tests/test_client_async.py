"""`AsyncClient` against the local stack: every method once, lists as async iterators."""

from __future__ import annotations

import uuid

import pytest
from chat_sessions_client import AsyncClient, NotFound, Session, SessionSummary
from client_support import run

from tests.helpers.server import LocalServer


def test_async_sessions(stack: LocalServer, token: str) -> None:
    async def scenario() -> None:
        async with AsyncClient(stack.url, token=lambda: token) as client:
            # Given two sessions, one of them ended
            first = await client.sessions.create(title="one", initial_description="hi")
            second = await client.sessions.create(title="two", metadata={"k": 1})
            ended = await client.sessions.end(second.id)

            # When they are read, updated, listed, deleted
            fetched = await client.sessions.get(str(first.id))
            updated = await client.sessions.update(first.id, title="uno", metadata={"n": 2})
            listed = [s async for s in client.sessions.list(page_size=1)]
            active = [s.id async for s in client.sessions.list(status="active")]
            await client.sessions.delete(first.id)

            # Then each result is typed and as stored
            assert isinstance(fetched, Session) and fetched.message_count == 1
            assert ended.status == "ended"
            assert (updated.title, updated.metadata) == ("uno", {"n": 2})
            assert all(isinstance(s, SessionSummary) for s in listed)
            assert {s.id for s in listed} == {first.id, second.id}
            assert active == [first.id]
            with pytest.raises(NotFound):
                await client.sessions.get(first.id)

    run(scenario())


def test_async_messages_turns_and_workflow(stack: LocalServer, token: str) -> None:
    async def scenario() -> None:
        async with AsyncClient(stack.url, token=token) as client:
            session = await client.sessions.create()
            message_id = uuid.uuid4()

            appended = await client.messages.append(
                session.id, role="user", content="Make an ETL", metadata={"a": 1}, id=message_id
            )
            turn = await client.turns.create(
                session.id,
                messages=[{"role": "assistant", "content": "Made."}],
                workflow={"name": "etl"},
                note="first",
                expected_version=0,
            )
            put = await client.workflow.put(
                session.id, {"name": "etl", "n": 1}, message_id=message_id, if_match=1
            )
            merged = await client.workflow.merge_patch(session.id, {"n": 2}, note="m")
            patched = await client.workflow.json_patch(
                session.id, [{"op": "replace", "path": "/n", "value": 3}], if_match="*"
            )
            reverted = await client.workflow.revert(session.id, 2, note="back", if_match=4)
            current = await client.workflow.get(session.id)
            history = [v.version async for v in client.workflow.versions(session.id, page_size=2)]
            second = await client.workflow.version(session.id, 2)
            diff = await client.workflow.diff(session.id, 1, 4)
            contents = [m.content async for m in client.messages.list(session.id, "desc")]
            after = [m.seq async for m in client.messages.list(session.id, after_seq=1)]

            assert appended.id == message_id and appended.metadata == {"a": 1}
            assert turn.workflow_version is not None and turn.workflow_version.version == 1
            assert (put.version, merged.version, patched.version) == (2, 3, 4)
            assert (reverted.version, reverted.reverted_from) == (5, 2)
            assert current.workflow == {"name": "etl", "n": 1} and current.version == 5
            assert history == [5, 4, 3, 2, 1]
            assert second.workflow == {"name": "etl", "n": 1}
            assert diff.patch == [{"op": "add", "path": "/n", "value": 3}]
            assert contents == ["Made.", "Make an ETL"] and after == [2]

    run(scenario())


def test_async_fork_rewind_summary_context_export_import_and_delete_all(
    stack: LocalServer, token: str
) -> None:
    async def scenario() -> None:
        async with AsyncClient(stack.url, token=token) as client:
            session = await client.sessions.create(title="src", initial_description="one")
            for content in ("two", "three"):
                await client.messages.append(session.id, role="assistant", content=content)
            await client.workflow.put(session.id, {"name": "w"})

            fork = await client.sessions.fork(session.id, at_seq=1, title="fork")
            rewound = await client.sessions.rewind(session.id, to_seq=2)
            summary = await client.sessions.put_summary(session.id, content="s", covers_seq=1)
            read = await client.sessions.get_summary(session.id)
            context = await client.sessions.context(session.id, max_bytes=1000)
            document = await client.sessions.export(session.id)
            imported = await client.sessions.import_document(document)

            assert fork.message_count == 1 and fork.forked_from is not None
            assert rewound.message_count == 2
            assert read == summary
            assert [m.content for m in context.messages] == ["two"]
            assert document["format"] == "chat-session/1"
            assert imported.imported_from is not None
            assert imported.imported_from.session_id == session.id
            assert await client.sessions.delete_all() == 3
            assert [s async for s in client.sessions.list()] == []

    run(scenario())
