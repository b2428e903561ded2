"""`client.workflow` against the local stack: versions, patches, preconditions, history."""

from __future__ import annotations

import pytest
from chat_sessions_client import Client, CurrentWorkflow, Diff, NotFound, WorkflowVersion


def test_put_then_get_the_current_workflow(client: Client) -> None:
    session = client.sessions.create()
    message = client.messages.append(session.id, role="user", content="Make an ETL")

    stored = client.workflow.put(
        session.id, {"name": "etl", "steps": {}}, note="first", message_id=message.id
    )
    current = client.workflow.get(session.id)

    assert isinstance(stored, WorkflowVersion) and stored.workflow is None
    assert (stored.version, stored.source, stored.note) == (1, "put", "first")
    assert stored.message_id == message.id and stored.changes == ["created workflow"]
    assert isinstance(current, CurrentWorkflow)
    assert (current.version, current.workflow) == (1, {"name": "etl", "steps": {}})


def test_get_before_the_first_version_is_not_found(client: Client) -> None:
    session = client.sessions.create()
    with pytest.raises(NotFound):
        client.workflow.get(session.id)


def test_merge_and_json_patches_with_if_match(client: Client) -> None:
    # Given a first version
    session = client.sessions.create()
    client.workflow.put(session.id, {"name": "etl", "steps": {"load": {"batch": 100}}})

    # When it is merge-patched on version 1, then JSON-patched on any version
    merged = client.workflow.merge_patch(
        session.id, {"steps": {"load": {"batch": 500}}}, note="bigger", if_match=1
    )
    patched = client.workflow.json_patch(
        session.id,
        [
            {"op": "test", "path": "/name", "value": "etl"},
            {"op": "add", "path": "/steps/notify", "value": {}},
        ],
        note="notify",
        if_match="*",
    )

    # Then each made a version with its change lines
    assert (merged.version, merged.source, merged.note) == (2, "merge_patch", "bigger")
    assert merged.changes == ["changed steps.load.batch: 100 -> 500"]
    assert (patched.version, patched.source) == (3, "json_patch")
    assert patched.changes == ["added steps.notify"]
    assert client.workflow.get(session.id).workflow == {
        "name": "etl",
        "steps": {"load": {"batch": 500}, "notify": {}},
    }


def test_a_patch_before_the_first_version_starts_from_nothing(client: Client) -> None:
    session = client.sessions.create()
    first = client.workflow.merge_patch(session.id, {"name": "new"}, if_match="*")
    assert first.version == 1 and client.workflow.get(session.id).workflow == {"name": "new"}


def test_versions_version_diff_and_revert(client: Client) -> None:
    # Given three versions
    session = client.sessions.create()
    for batch in (1, 2, 3):
        client.workflow.put(session.id, {"name": "etl", "batch": batch})

    # When the history is read, one version fetched, two compared and the first restored
    history = list(client.workflow.versions(session.id, page_size=2))
    second = client.workflow.version(session.id, 2)
    diff = client.workflow.diff(session.id, 1, 3)
    reverted = client.workflow.revert(session.id, 1, note="back", if_match=3)

    # Then each is typed and as api.md describes
    assert [v.version for v in history] == [3, 2, 1]
    assert all(v.workflow is None for v in history)
    assert second.workflow == {"name": "etl", "batch": 2}
    assert isinstance(diff, Diff) and (diff.from_, diff.to) == (1, 3)
    assert diff.patch == [{"op": "replace", "path": "/batch", "value": 3}]
    assert diff.changes == ["changed batch: 1 -> 3"]
    assert (reverted.version, reverted.source, reverted.reverted_from) == (4, "revert", 1)
    assert reverted.changes[0] == "reverted to version 1" and reverted.note == "back"
    assert client.workflow.get(session.id).workflow == {"name": "etl", "batch": 1}


def test_if_match_takes_only_a_version_number_or_any() -> None:
    with Client("http://127.0.0.1:9", token="unused") as offline:
        for wrong in (-1, "3", True, 1.5):
            with pytest.raises(ValueError, match="if_match"):
                offline.workflow.put("id", {}, if_match=wrong)  # type: ignore[arg-type]
