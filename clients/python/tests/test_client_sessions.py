"""`client.sessions` against the local stack: every method, with typed results."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from chat_sessions_client import (
    Client,
    Context,
    NotFound,
    Session,
    SessionSummary,
    Summary,
)

from tests.helpers.server import LocalServer


def test_create_get_and_update_return_typed_sessions(client: Client) -> None:
    # Given a session created with a first message
    created = client.sessions.create(
        title="Nightly ETL", initial_description="Load the CSV", metadata={"source": "web"}
    )

    # When it is read back by its id as a string, and updated
    fetched = client.sessions.get(str(created.id))
    updated = client.sessions.update(created.id, title=None, metadata={"source": None, "k": 1})

    # Then the results are typed as api.md describes
    assert isinstance(created, Session) and isinstance(created.id, uuid.UUID)
    assert isinstance(created.created_at, datetime) and created.created_at.tzinfo is not None
    assert (created.title, created.status, created.message_count) == ("Nightly ETL", "active", 1)
    assert created.metadata == {"source": "web"}
    assert created.current_workflow is None and created.workflow_version == 0
    assert created.forked_from is None and created.imported_from is None
    assert fetched.id == created.id and fetched.title == "Nightly ETL"
    assert updated.title is None and updated.metadata == {"k": 1}


def test_update_leaves_out_what_is_not_given(client: Client) -> None:
    session = client.sessions.create(title="kept")
    updated = client.sessions.update(session.id, metadata={"a": 1})
    assert updated.title == "kept" and updated.metadata == {"a": 1}


def test_list_follows_every_page_and_filters_by_status(client: Client) -> None:
    # Given five sessions of which two are ended
    ids = [client.sessions.create(title=f"s{i}").id for i in range(5)]
    for session_id in ids[:2]:
        client.sessions.end(session_id)

    # When they are listed two per page
    every = list(client.sessions.list(page_size=2))
    ended = list(client.sessions.list(status="ended", page_size=2))
    active = list(client.sessions.list("active"))

    # Then every page was followed, most recently updated first
    assert all(isinstance(s, SessionSummary) and not isinstance(s, Session) for s in every)
    assert sorted(s.id for s in every) == sorted(ids)
    assert [s.updated_at for s in every] == sorted((s.updated_at for s in every), reverse=True)
    assert sorted(s.id for s in ended) == sorted(ids[:2])
    assert sorted(s.id for s in active) == sorted(ids[2:])


def test_end_closes_and_delete_removes(client: Client) -> None:
    session = client.sessions.create()

    ended = client.sessions.end(session.id)
    client.sessions.delete(session.id)

    assert ended.status == "ended"
    with pytest.raises(NotFound):
        client.sessions.get(session.id)


def test_delete_all_removes_every_session_of_the_caller_only(
    client: Client, stack: LocalServer
) -> None:
    # Given three sessions of this caller and one of another
    for _ in range(3):
        client.sessions.create()
    with Client(stack.url, token=stack.token) as other:
        theirs = other.sessions.create()

        # When this caller deletes all of its sessions
        deleted = client.sessions.delete_all()

        # Then its three are gone, the other caller's stays
        assert deleted == 3
        assert list(client.sessions.list()) == []
        assert other.sessions.get(theirs.id).id == theirs.id
        other.sessions.delete(theirs.id)


def test_fork_copies_messages_up_to_at_seq_and_the_workflow(client: Client) -> None:
    # Given a session with three messages and two workflow versions
    source = client.sessions.create(title="source", initial_description="one")
    client.messages.append(source.id, role="assistant", content="two")
    client.messages.append(source.id, role="user", content="three")
    client.workflow.put(source.id, {"name": "v1"})
    client.workflow.put(source.id, {"name": "v2"})

    # When it is forked at message 2 and version 1
    fork = client.sessions.fork(source.id, at_seq=2, at_version=1, title="fork", metadata={"f": 1})
    plain = client.sessions.fork(str(source.id))

    # Then the fork holds those, and says where it came from
    assert fork.id != source.id and fork.status == "active" and fork.title == "fork"
    assert fork.forked_from is not None
    assert (fork.forked_from.session_id, fork.forked_from.seq, fork.forked_from.version) == (
        source.id,
        2,
        1,
    )
    assert [m.content for m in client.messages.list(fork.id)] == ["one", "two"]
    assert fork.current_workflow == {"name": "v1"} and fork.workflow_version == 1
    assert plain.message_count == 3 and plain.current_workflow == {"name": "v2"}


def test_rewind_removes_the_messages_after_to_seq(client: Client) -> None:
    session = client.sessions.create(initial_description="one")
    for content in ("two", "three", "four"):
        client.messages.append(session.id, role="user", content=content)

    rewound = client.sessions.rewind(session.id, to_seq=2)
    after = client.messages.append(session.id, role="assistant", content="again")

    assert isinstance(rewound, Session) and rewound.message_count == 2
    assert after.seq == 3
    assert [m.content for m in client.messages.list(session.id)] == ["one", "two", "again"]


def test_export_then_import_makes_an_equal_new_session(client: Client) -> None:
    # Given a session with messages, two versions and a summary
    source = client.sessions.create(
        title="exported", initial_description="hello", metadata={"m": 1}
    )
    client.messages.append(source.id, role="assistant", content="hi")
    client.workflow.put(source.id, {"name": "a"}, note="first")
    client.workflow.merge_patch(source.id, {"steps": {"load": {}}})
    client.sessions.put_summary(source.id, content="a greeting", covers_seq=2)

    # When it is exported and the document imported
    document = client.sessions.export(source.id)
    imported = client.sessions.import_document(document)

    # Then the document is a dict of the documented format, and the import a new session
    assert document["format"] == "chat-session/1"
    assert [m["content"] for m in document["messages"]] == ["hello", "hi"]
    assert [v["version"] for v in document["versions"]] == [1, 2]
    assert imported.id != source.id and imported.status == "active"
    assert imported.imported_from is not None and imported.imported_from.session_id == source.id
    assert (imported.title, imported.metadata) == ("exported", {"m": 1})
    assert imported.current_workflow == {"name": "a", "steps": {"load": {}}}
    assert [m.content for m in client.messages.list(imported.id)] == ["hello", "hi"]
    assert client.sessions.get_summary(imported.id).content == "a greeting"


def test_summary_is_stored_and_read(client: Client) -> None:
    session = client.sessions.create(initial_description="one")
    client.messages.append(session.id, role="assistant", content="two")

    stored = client.sessions.put_summary(
        session.id, content="both", covers_seq=2, metadata={"v": 1}
    )
    read = client.sessions.get_summary(session.id)

    assert isinstance(stored, Summary) and stored.covers_seq == 2
    assert read == stored and read.metadata == {"v": 1}


def test_get_summary_of_a_session_without_one_is_not_found(client: Client) -> None:
    session = client.sessions.create()
    with pytest.raises(NotFound):
        client.sessions.get_summary(session.id)


def test_context_gives_the_messages_after_the_summary(client: Client) -> None:
    # Given four messages, a summary of the first two and a workflow
    session = client.sessions.create(initial_description="one")
    for content in ("two", "three", "four"):
        client.messages.append(session.id, role="user", content=content)
    client.sessions.put_summary(session.id, content="one and two", covers_seq=2)
    client.workflow.put(session.id, {"name": "w"})

    # When the context is read, whole and within a small size
    context = client.sessions.context(session.id)
    small = client.sessions.context(session.id, max_bytes=1000)

    # Then it holds the messages after the summary, the summary and the workflow
    assert isinstance(context, Context)
    assert [m.content for m in context.messages] == ["three", "four"]
    assert context.summary is not None and context.summary.covers_seq == 2
    assert context.workflow is not None and context.workflow.workflow == {"name": "w"}
    assert context.session.id == session.id and context.omitted == 0
    assert small.omitted == 0 and len(small.messages) == 2
