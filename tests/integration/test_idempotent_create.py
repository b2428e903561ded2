"""POST /sessions with an Idempotency-Key, against the strict embedded DynamoDB server."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from chat_sessions import clock, idempotency, messages, records, sessions
from chat_sessions.cleanup import run_cleanup
from chat_sessions.models import CreateSessionIn, SessionOut
from tests.helpers.dynamodb import Start, table_items


def create(key: str, text: str) -> SessionOut:
    request = idempotency.request_key(key, "createSession", {"initial_description": text})
    body = CreateSessionIn(initial_description=text)
    return sessions.create_session("alice", body, request).value


def test_concurrent_creates_with_one_key_make_one_session(strict_server: Start) -> None:
    strict_server({})
    key = str(uuid.uuid4())
    start = threading.Barrier(20)

    def one(_: int) -> SessionOut:
        start.wait()
        return create(key, "first")

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(one, range(20)))

    assert len({(a.id, a.created_at) for a in answers}) == 1
    stored = messages.list_messages("alice", answers[0].id, "asc", None, 100, None).items
    assert [m.content for m in stored] == ["first"]


def test_a_key_whose_session_is_gone_creates_one_new_session_and_keeps_working(
    strict_server: Start,
) -> None:
    # Defect: the id was derived from the key, so creating again after the first session was
    # gone purged its leftovers while concurrent creates wrote the new one: the purge deleted
    # the new session item (19 of 20 answers 503, then 404 with message 1 orphaned), or two
    # creates handed out different created_at, and every later create with K answered 503.
    url = strict_server({})
    key = str(uuid.uuid4())
    old = create(key, "first")
    later = clock.now() + timedelta(days=3)  # past the first session's delete_after
    start = threading.Barrier(20)

    def one(_: int) -> SessionOut:
        start.wait()
        return create(key, "again")

    with clock.frozen(lambda: later):
        # When 20 creates with the key come at once after the first session is gone
        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(one, range(20)))

        # Then all get one new session, holding exactly its first message
        assert len({(a.id, a.created_at) for a in answers}) == 1
        new = answers[0]
        assert new.id != old.id
        assert new.message_count == 1
        stored = messages.list_messages("alice", new.id, "asc", None, 100, None).items
        assert [m.content for m in stored] == ["again"]

        # And the key keeps working, the cleanup removes the first session and nothing else,
        # and no item is left without its session
        assert create(key, "again").id == new.id
        assert run_cleanup(lambda: 300_000)["deleted"] == 1
        assert create(key, "again").id == new.id

    items = table_items(url)
    sessions_left = {i["pk"]["S"] for i in items if i["sk"]["S"] == records.SESSION_SK}
    assert sessions_left == {new.id}
    for item in items:
        owner_id = item["session_id"]["S"] if "session_id" in item else item["pk"]["S"]
        assert owner_id == new.id, item


def test_deleting_a_session_frees_its_key(strict_server: Start) -> None:
    url = strict_server({})
    key = str(uuid.uuid4())
    first = create(key, "first")
    sessions.delete_session("alice", first.id)

    second = create(key, "second")

    assert second.id != first.id
    assert {i["pk"]["S"] for i in table_items(url)} == {
        second.id,
        records.create_key_pk("alice", key),
    }
