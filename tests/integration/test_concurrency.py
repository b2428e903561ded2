"""Concurrent writers against a real DynamoDB endpoint (the embedded server over HTTP)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from chat_sessions import messages, preconditions, sessions, workflows
from chat_sessions.errors import VersionConflict
from chat_sessions.models import CreateSessionIn, MessageIn, MessageOut
from local.dynamodb import local_client, start_dynamodb
from local.template import create_table
from tests.helpers.api import TABLE, reset_caches

WRITERS = 200
# Contending writers retry inside the service for this long: generous, so that a loaded
# machine slows the test down instead of failing it.
RETRY_BUDGET_SECONDS = "600"


@pytest.fixture
def endpoint(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with start_dynamodb(port=0) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", server.url)
        monkeypatch.setenv("WRITE_RETRY_SECONDS", RETRY_BUDGET_SECONDS)
        # 200 writers queue at the one-request-at-a-time server: answers can take seconds.
        monkeypatch.setenv("DYNAMODB_READ_TIMEOUT_SECONDS", "20")
        create_table(local_client(server.url), TABLE)
        reset_caches()
        yield server.url
    reset_caches()


def test_200_simultaneous_appends_lose_and_duplicate_nothing(endpoint: str) -> None:
    # Given one session
    session = sessions.create_session("alice", CreateSessionIn(), None).value
    start = threading.Barrier(WRITERS)

    def append(i: int) -> MessageOut:
        body = MessageIn(role="user", content=f"message {i}")
        start.wait()
        message, created = messages.append_message("alice", session.id, body).value
        assert created
        return message

    # When 200 writers append at the same moment
    with ThreadPoolExecutor(WRITERS) as pool:
        answers = list(pool.map(append, range(WRITERS)))

    # Then every answer has its own seq, and the stored list is 1..200 without gaps
    assert sorted(a.seq for a in answers) == list(range(1, WRITERS + 1))
    stored = []
    cursor = None
    while True:
        page = messages.list_messages("alice", session.id, "asc", None, 100, cursor)
        stored += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    assert [m.seq for m in stored] == list(range(1, WRITERS + 1))
    assert sorted(m.content for m in stored) == sorted(f"message {i}" for i in range(WRITERS))
    assert {m.id: m.seq for m in stored} == {a.id: a.seq for a in answers}
    assert sessions.get_session("alice", session.id).message_count == WRITERS


def test_20_writers_with_the_same_if_match_one_wins_the_rest_get_412(endpoint: str) -> None:
    # Given a session at workflow version 1
    session = sessions.create_session("alice", CreateSessionIn(), None).value
    workflows.put_workflow("alice", session.id, {"v": 0}, None, None, None)
    start = threading.Barrier(20)

    def write(i: int) -> str:
        start.wait()
        try:
            # Each a change ({"v": 0} is version 1 already: writing it again is no write)
            workflows.put_workflow(
                "alice", session.id, {"v": i + 1}, None, None, preconditions.if_match('"1"')
            )
        except VersionConflict as conflict:
            assert conflict.details == {"current_version": 2}
            return "412"
        return "200"

    # When 20 writers send If-Match: "1" at once
    with ThreadPoolExecutor(20) as pool:
        outcomes = Counter(pool.map(write, range(20)))

    # Then exactly one wins and the history is 1, 2 with no gap
    assert outcomes == Counter({"200": 1, "412": 19})
    history = workflows.list_versions("alice", session.id, 100, None).items
    assert [v.version for v in history] == [2, 1]
    assert sessions.get_session("alice", session.id).workflow_version == 2
