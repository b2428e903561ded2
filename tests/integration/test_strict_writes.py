"""The service's writes on the strict embedded DynamoDB: transaction conflicts, lost replies
and TTL, which the lenient stack never produced (each test names the defect it guards)."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from chat_sessions import clock, idempotency, messages, records, sessions
from chat_sessions.cleanup import run_cleanup
from chat_sessions.errors import SessionNotActive, Unavailable
from chat_sessions.models import CreateSessionIn, MessageIn, PatchSessionIn
from local.dynamodb import local_client
from tests.helpers.api import TABLE
from tests.helpers.dynamodb import Start, table_items


def test_plain_writes_racing_appends_are_retried_not_failed(strict_server: Start) -> None:
    # Defect: PATCH, end and GET's expiry write are PutItems on the session item, which every
    # append's transaction holds; DynamoDB fails them with TransactionConflictException.
    strict_server({"LOCAL_DDB_TX_MS": "40"})
    session = sessions.create_session("alice", CreateSessionIn(), None).value
    start = threading.Barrier(30)

    def work(i: int) -> str:
        start.wait()
        if i % 3 == 0:
            sessions.patch_session("alice", session.id, PatchSessionIn(metadata={f"k{i}": i}))
            return "patched"
        messages.append_message("alice", session.id, MessageIn(role="user", content=f"m{i}"))
        return "appended"

    # When 20 appends and 10 metadata patches race
    with ThreadPoolExecutor(30) as pool:
        outcomes = list(pool.map(work, range(30)))

    # Then every one succeeded and every change is there
    assert outcomes.count("appended") == 20
    stored = sessions.get_session("alice", session.id)
    assert stored.message_count == 20
    assert stored.metadata == {f"k{i}": i for i in range(0, 30, 3)}


def test_end_racing_appends_ends_once_and_appends_land_before_it(strict_server: Start) -> None:
    strict_server({"LOCAL_DDB_TX_MS": "40"})
    session = sessions.create_session("alice", CreateSessionIn(), None).value
    start = threading.Barrier(16)

    def work(i: int) -> str:
        start.wait()
        if i == 8:
            sessions.end_session("alice", session.id)
            return "ended"
        try:
            messages.append_message("alice", session.id, MessageIn(role="user", content=f"m{i}"))
        except SessionNotActive:
            return "refused"
        return "appended"

    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(work, range(16)))

    assert outcomes.count("ended") == 1
    stored = sessions.get_session("alice", session.id)
    assert stored.status == "ended"
    assert stored.message_count == outcomes.count("appended")


def test_lost_replies_never_write_twice(strict_server: Start) -> None:
    # Defect: a write applied whose reply was lost is retried by botocore; the retry's
    # condition fails on the session it already changed, and the service wrote again
    # (an end answered 409 session_not_active; an append got a second seq).
    url = strict_server({"LOCAL_DDB_FAULTS": "lost_reply=0.3", "LOCAL_DDB_SEED": "3"})
    answered: dict[str, list[str]] = {}
    ended = 0
    for n in range(12):
        try:
            session = sessions.create_session("alice", CreateSessionIn(), None).value
        except Unavailable:
            continue
        contents = answered.setdefault(session.id, [])
        for i in range(6):
            try:
                messages.append_message("alice", session.id, MessageIn(role="user", content=f"{i}"))
                contents.append(f"{i}")
            except Unavailable:
                pass  # every attempt's reply was lost: stored once or not at all
        if n % 2 == 0:
            try:
                sessions.end_session("alice", session.id)
                ended += 1
            except Unavailable:
                pass

    assert ended > 0
    by_session: dict[str, list[tuple[int, str]]] = {}
    heads: dict[str, dict[str, Any]] = {}
    for item in table_items(url):
        sid, sk = item["pk"]["S"], item["sk"]["S"]
        if sk == records.SESSION_SK:
            heads[sid] = item
        elif sk.startswith(records.MSG_PREFIX):
            by_session.setdefault(sid, []).append((int(item["seq"]["N"]), item["content"]["S"]))
    for sid, contents in answered.items():
        stored = sorted(by_session.get(sid, []))
        # Never twice, gap-free, and every answered append is there.
        assert [seq for seq, _ in stored] == list(range(1, len(stored) + 1))
        assert len({c for _, c in stored}) == len(stored)
        assert set(contents) <= {c for _, c in stored}
        assert int(heads[sid]["message_count"]["N"]) == len(stored)


def test_the_cleanup_survives_a_transaction_holding_a_due_session(
    strict_server: Start,
) -> None:
    # Defect: the cleanup's conditional UpdateItem met a held session item, raised
    # TransactionConflictException, and the whole run aborted.
    url = strict_server({"LOCAL_DDB_TX_MS": "3000"})
    created = clock.now()
    due = [sessions.create_session("alice", CreateSessionIn(), None).value for _ in range(3)]
    later = created + timedelta(hours=2)  # past the 30 min idle timeout of each
    client = local_client(url)

    # Given a transaction holding the first session's item while the cleanup runs
    def hold() -> None:
        client.transact_write_items(
            TransactItems=[
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": due[0].id}, "sk": {"S": records.SESSION_SK}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                }
            ]
        )

    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(0.5)  # the transaction is applied at once and then held for 3 s
    try:
        with clock.frozen(lambda: later):
            first = run_cleanup(lambda: 300_000)
    finally:
        holder.join()

    # Then the run finishes with the others, and the next run expires the held one
    assert first["expired"] == 2
    with clock.frozen(lambda: later):
        assert run_cleanup(lambda: 300_000)["expired"] == 1
        assert {sessions.get_session("alice", s.id).status for s in due} == {"expired"}


def test_no_item_outlives_its_session_item_by_ttl(strict_server: Start) -> None:
    # TTL deletes items in any order: an item whose ttl is later than its session item's
    # would be an orphan once TTL removed the session item first.
    url = strict_server({})
    from chat_sessions import workflows

    key = idempotency.request_key(str(uuid.uuid4()), "createSession", {})
    body = CreateSessionIn(initial_description="first")
    session = sessions.create_session("alice", body, key).value
    messages.append_message("alice", session.id, MessageIn(role="user", content="x", id=None))
    client_id = str(uuid.uuid4())
    messages.append_message("alice", session.id, MessageIn(role="user", content="y", id=client_id))
    workflows.put_workflow("alice", session.id, {"a": 1}, None, None, None)
    sessions.patch_session("alice", session.id, PatchSessionIn(title="later"))
    workflows.put_workflow("alice", session.id, {"a": 2}, None, None, None)

    items = [i for i in table_items(url) if i["pk"]["S"] == session.id]
    head = next(i for i in items if i["sk"]["S"] == records.SESSION_SK)
    assert len(items) >= 8
    assert all(int(i["ttl"]["N"]) <= int(head["ttl"]["N"]) for i in items)


def test_ttl_deleting_in_any_order_leaves_no_orphan(
    strict_server: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given sessions whose whole lifetime and grace are over (ttl in the past)
    monkeypatch.setenv("SESSION_MAX_LIFETIME_HOURS", "0.001")
    monkeypatch.setenv("SESSION_GRACE_HOURS", "0")
    url = strict_server({"LOCAL_DDB_TTL_SWEEP_S": "0.3", "LOCAL_DDB_SEED": "9"})
    for _ in range(4):
        session = sessions.create_session(
            "alice", CreateSessionIn(initial_description="hi"), None
        ).value
        for i in range(5):
            try:
                messages.append_message("alice", session.id, MessageIn(role="user", content=f"{i}"))
            except SessionNotActive:
                break  # its 3.6 s lifetime is over (a slow machine)

    # When TTL sweeps them, item by item in random order, then every item is gone, and at
    # no moment was an item left whose ttl had not passed while its session item was gone
    deadline = time.monotonic() + 120
    while True:
        items = table_items(url)
        now = time.time()
        heads = {i["pk"]["S"] for i in items if i["sk"]["S"] == records.SESSION_SK}
        orphans = [i for i in items if i["pk"]["S"] not in heads and int(i["ttl"]["N"]) > now]
        assert orphans == []
        if not items:
            break
        assert time.monotonic() < deadline, f"{len(items)} items left"
        time.sleep(0.1)
