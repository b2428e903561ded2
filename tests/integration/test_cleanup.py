"""The scheduled cleanup through the real CleanupFunction handler, against moto."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.exceptions import ClientError
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

from chat_sessions import clock, expiry, records, session_access
from chat_sessions.config import get_settings
from chat_sessions.records import MessageRecord
from chat_sessions.statuses import SessionStatus
from local.ddb_transactions import install_patches
from local.seed import idle_session_items
from tests.helpers.api import TABLE, Api, LambdaContext, load_event, load_function

T0 = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
_FUNCTION: list[ModuleType] = []


@dataclass
class CleanupContext(LambdaContext):
    remaining_ms: Callable[[], int] = lambda: 300_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms()


def cleanup(remaining_ms: Callable[[], int] = lambda: 300_000) -> dict[str, int]:
    """One scheduled run of the real handler on the sample EventBridge event."""
    if not _FUNCTION:
        _FUNCTION.append(load_function("cleanup"))
    result: dict[str, int] = _FUNCTION[0].lambda_handler(
        load_event("cleanup_scheduled"), CleanupContext(remaining_ms=remaining_ms)
    )
    return result


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    with clock.frozen(lambda: moment):
        yield


def client() -> Any:
    return session_access.get_table().client


def keys_under(session_id: str) -> set[str]:
    """Sort keys of every item under the session's key, read consistently."""
    found: set[str] = set()
    kwargs: dict[str, Any] = {
        "TableName": TABLE,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": session_id}},
        "ConsistentRead": True,
    }
    while True:
        answer = client().query(**kwargs)
        found.update(i["sk"]["S"] for i in answer["Items"])
        if "LastEvaluatedKey" not in answer:
            return found
        kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def stored_status(session_id: str) -> str | None:
    record = session_access.get_store().get_session(session_id)
    return None if record is None else record.status


def put_items(items: list[dict[str, Any]]) -> None:
    """Write items directly (test set-up), 25 per BatchWriteItem."""
    for offset in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": i}} for i in items[offset : offset + 25]]
        assert not client().batch_write_item(RequestItems={TABLE: batch})["UnprocessedItems"]


def add_messages(session_id: str, count: int, first_seq: int = 1) -> None:
    """Messages and their id guards written directly (faster than `count` appends), and the
    session's message_count moved on to match, as an append would."""
    session = session_access.get_store().get_session(session_id)
    assert session is not None
    ttl = session.ttl
    stamp = clock.to_text(clock.now())
    items: list[dict[str, Any]] = []
    for seq in range(first_seq, first_seq + count):
        message = MessageRecord(session_id, str(uuid.uuid4()), seq, "user", "hi", stamp, ttl)
        items += [message.to_item(), message.guard_item()]
    put_items(items)
    client().update_item(
        TableName=TABLE,
        Key={"pk": {"S": session_id}, "sk": {"S": records.SESSION_SK}},
        UpdateExpression="SET message_count = :n",
        ExpressionAttributeValues={":n": {"N": str(first_seq + count - 1)}},
    )


def count_requests() -> Counter[str]:
    calls: Counter[str] = Counter()

    def record(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    client().meta.events.register("before-call.dynamodb", record)
    return calls


@pytest.fixture
def quick_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto 5.2 sorts the whole table with DynamoType comparisons on every Query and
    deep-copies it for every TransactWriteItems, so 1 000 sessions would take minutes. Same
    results, faster: the local server's item-level transactions, and a sort on the raw keys
    (the same order for this table's string keys)."""

    def all_items(self: Table) -> list[Any]:
        items = [item for bucket in self.items.values() for item in bucket.values()]
        return sorted(items, key=lambda item: (item.hash_key.value, item.range_key.value))

    # Restored after the test: install_patches() replaces the method for the process.
    monkeypatch.setattr(
        DynamoDBBackend, "transact_write_items", DynamoDBBackend.transact_write_items
    )
    install_patches()
    monkeypatch.setattr(Table, "all_items", all_items)


def assert_no_orphans(session_ids: list[str]) -> None:
    """Either a session item is there, or nothing at all is under its key."""
    for session_id in session_ids:
        keys = keys_under(session_id)
        assert not keys or records.SESSION_SK in keys, (session_id, sorted(keys)[:3])


# --- expiry and grace -----------------------------------------------------------------


def test_a_written_session_stays_active_and_an_idle_one_is_expired(api: Api) -> None:
    # Given two sessions created at T0, one of them written to 20 minutes later
    with at(T0):
        used, idle = api.create()["id"], api.create()["id"]
    with at(T0 + timedelta(minutes=20)):
        assert api.append(used).status == 201
    # When the cleanup runs at T0 + 30 min, when only the idle one's timeout has passed
    with at(T0 + timedelta(minutes=30)):
        result = cleanup()
        again = cleanup()
        # Then only the idle session is stored as expired, and a second run finds nothing
        assert result == {"expired": 1, "deleted": 0}
        assert again == {"expired": 0, "deleted": 0}
        assert (stored_status(used), stored_status(idle)) == ("active", "expired")
        assert api.call("sessions_get", session_id=idle).body["status"] == "expired"
    stored = session_access.get_store().get_session(idle)
    assert stored is not None and stored.deadline == stored.delete_after


def test_the_maximum_lifetime_expires_a_busy_session(api: Api, settings: Any) -> None:
    # Given a lifetime of one hour and a session written to every 20 minutes
    settings(SESSION_MAX_LIFETIME_HOURS="1")
    with at(T0):
        session = api.create()["id"]
    for minutes in (20, 40, 50):
        with at(T0 + timedelta(minutes=minutes)):
            assert api.append(session).status == 201
    # When the cleanup runs just before and at the end of its lifetime
    with at(T0 + timedelta(minutes=60) - timedelta(milliseconds=1)):
        before = cleanup()
    with at(T0 + timedelta(minutes=60)):
        at_cap = cleanup()
    # Then it is expired at the cap although its last write was 10 minutes earlier
    assert before == {"expired": 0, "deleted": 0}
    assert at_cap == {"expired": 1, "deleted": 0}
    assert stored_status(session) == "expired"


def test_an_expired_session_stays_readable_for_the_grace_period_then_goes(
    api: Api, settings: Any
) -> None:
    # Given a grace period of one hour and a session with messages, expired by the cleanup
    settings(SESSION_GRACE_HOURS="1")
    with at(T0):
        session = api.create(initial_description="first")["id"]
        assert api.append(session, "second").status == 201
    with at(T0 + timedelta(minutes=31)):
        assert cleanup() == {"expired": 1, "deleted": 0}
    # When the cleanup runs just before the grace period ends
    with at(T0 + timedelta(minutes=90) - timedelta(milliseconds=1)):
        during = cleanup()
        # Then nothing is deleted and the session still reads as expired
        assert during == {"expired": 0, "deleted": 0}
        assert api.call("sessions_get", session_id=session).body["status"] == "expired"
    # When it runs at the end of the grace period, and once more right after
    with at(T0 + timedelta(minutes=90)):
        after, again = cleanup(), cleanup()
        # Then the session and all its items are gone, and the second run finds nothing
        assert after == {"expired": 0, "deleted": 1}
        assert again == {"expired": 0, "deleted": 0}
        assert api.call("sessions_get", session_id=session).status == 404
    assert keys_under(session) == set()


def test_an_active_session_whose_grace_period_also_passed_is_deleted_in_one_run(
    api: Api, settings: Any
) -> None:
    # Given a grace of one hour and a session nobody expired (the cleanup did not run)
    settings(SESSION_GRACE_HOURS="1")
    with at(T0):
        session = api.create(initial_description="first")["id"]
    # When the cleanup runs after its expiry and its grace period
    with at(T0 + timedelta(hours=2)):
        result = cleanup()
    # Then it is deleted at once, with no expiry write first
    assert result == {"expired": 0, "deleted": 1}
    assert keys_under(session) == set()


def test_a_session_written_between_the_query_and_the_mark_is_not_expired(api: Api) -> None:
    # Given a session due at T0 + 30 min, and a writer that read it just before then and
    # whose append lands after the cleanup's query, right before its conditional update
    with at(T0):
        session = api.create(initial_description="first")["id"]
    appended: list[int] = []

    def append_first(**_: Any) -> None:
        if not appended:
            with at(T0 + timedelta(minutes=29)):
                appended.append(api.append(session, "just in time").status)

    client().meta.events.register("before-call.dynamodb.UpdateItem", append_first)
    # When the cleanup runs at T0 + 30 min
    with at(T0 + timedelta(minutes=30)):
        result = cleanup()
        # Then the append went through and the session is still active
        assert appended == [201]
        assert result == {"expired": 0, "deleted": 0}
        assert stored_status(session) == "active"
        body = api.call("sessions_get", session_id=session).body
        assert (body["status"], body["message_count"]) == ("active", 2)


def test_a_session_written_between_the_index_query_and_its_deletion_keeps_its_items(
    api: Api, settings: Any
) -> None:
    # Given no grace period, so an idle session is due for deletion at its expiry, and a
    # writer that read it just before then and whose append lands between the index query
    # and the query of the session's keys
    settings(SESSION_GRACE_HOURS="0")
    with at(T0):
        session = api.create(initial_description="first")["id"]
    appended: list[int] = []

    def append_first(params: dict[str, Any], **_: Any) -> None:
        if not appended and b"IndexName" not in params["body"]:
            with at(T0 + timedelta(minutes=29)):
                appended.append(api.append(session, "just in time").status)

    client().meta.events.register("before-call.dynamodb.Query", append_first)
    # When the cleanup runs at the session's former expiry
    with at(T0 + timedelta(minutes=30)):
        result = cleanup()
    # Then it re-reads the session before deleting and leaves every item alone
    assert appended == [201]
    assert result == {"expired": 0, "deleted": 0}
    assert stored_status(session) == "active"
    assert len(keys_under(session)) == 5


def test_a_run_with_less_time_left_than_its_margin_leaves_everything_to_the_next(
    api: Api,
) -> None:
    # Given an idle session due for expiry
    with at(T0):
        session = api.create()["id"]
    with at(T0 + timedelta(minutes=30)):
        # When a run starts with 9 s left, under the 10 s margin, and then one with enough
        short = cleanup(lambda: 9_000)
        status_after_short = stored_status(session)
        full = cleanup()
    # Then the first does nothing and the second does the work
    assert (short, status_after_short) == ({"expired": 0, "deleted": 0}, "active")
    assert full == {"expired": 1, "deleted": 0}


def test_an_ended_session_is_deleted_when_its_grace_period_ends(
    api: Api, settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a grace of two hours, an ended session and an active one
    settings(SESSION_GRACE_HOURS="2")
    with at(T0):
        ended = api.create(initial_description="first")["id"]
        assert api.call("sessions_end", session_id=ended).status == 200
    due = T0 + timedelta(hours=2)
    with at(due - timedelta(minutes=1)):
        active = api.create(initial_description="still going")["id"]
    # When the cleanup runs just before and at the end of the grace period
    with at(due - timedelta(milliseconds=1)):
        before = cleanup()
    with at(due):
        on_time, again = cleanup(), cleanup()
    # Then the ended session goes on time with all its items; the active one is untouched
    assert before == {"expired": 0, "deleted": 0}
    assert (on_time, again) == ({"expired": 0, "deleted": 1}, {"expired": 0, "deleted": 0})
    assert keys_under(ended) == set()
    assert stored_status(active) == "active"
    assert len(keys_under(active)) == 3
    # And every run publishes both counts as metrics
    emitted = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line
    ]
    counts = [
        (m["SessionsExpired"], m["SessionsDeleted"]) for m in emitted if "SessionsDeleted" in m
    ]
    assert counts == [([0.0], [0.0]), ([0.0], [1.0]), ([0.0], [0.0])]


def test_a_delete_interrupted_mid_way_is_finished_by_the_cleanup(api: Api) -> None:
    # Given a session whose DELETE failed after marking it deleted, its items still there
    with at(T0):
        session = api.create(initial_description="first")["id"]
        add_messages(session, 40, first_seq=2)

    def fail(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "InternalServerError"}}, "BatchWriteItem")

    client().meta.events.register("before-call.dynamodb.BatchWriteItem", fail)
    with at(T0 + timedelta(minutes=1)):
        assert api.call("sessions_delete", session_id=session).status == 503
    client().meta.events.unregister("before-call.dynamodb.BatchWriteItem", fail)
    assert stored_status(session) == SessionStatus.DELETED
    assert len(keys_under(session)) == 83
    # When the cleanup runs
    with at(T0 + timedelta(minutes=1)):
        result = cleanup()
    # Then it deletes everything that was left
    assert result == {"expired": 0, "deleted": 1}
    assert keys_under(session) == set()


# --- large sessions, faults, volume ---------------------------------------------------


def test_a_session_with_1000_messages_and_50_versions_is_deleted_completely(api: Api) -> None:
    # Given an ended session with 1 000 messages (and their id guards) and 50 versions
    with at(T0):
        session = api.create(initial_description="first")["id"]
        add_messages(session, 999, first_seq=2)
        ttl = expiry.ttl(T0, get_settings())
        versions = [
            {"pk": {"S": session}, "sk": {"S": records.version_sk(v)}, "ttl": {"N": str(ttl)}}
            for v in range(1, 51)
        ]
        current = {
            "pk": {"S": session},
            "sk": {"S": records.WORKFLOW_SK},
            "ttl": {"N": str(ttl)},
            "version": {"N": "50"},
            "workflow": records.pack_workflow({}),
            "updated_at": {"S": clock.to_text(T0)},
        }
        put_items([*versions, current])
        client().update_item(  # as storing 50 versions would have
            TableName=TABLE,
            Key={"pk": {"S": session}, "sk": {"S": records.SESSION_SK}},
            UpdateExpression="SET workflow_version = :v",
            ExpressionAttributeValues={":v": {"N": "50"}},
        )
        assert api.call("sessions_end", session_id=session).status == 200
    assert len(keys_under(session)) == 1 + 2000 + 50 + 1
    calls = count_requests()
    # When the cleanup runs after the grace period
    with at(T0 + timedelta(hours=24)):
        result = cleanup()
    # Then not one item is left under its key, deleted in full batches
    assert result == {"expired": 0, "deleted": 1}
    assert keys_under(session) == set()
    assert calls["BatchWriteItem"] == -(-2051 // 25)
    assert calls["TransactWriteItems"] == 1
    assert calls["Scan"] == 0


class UnprocessedHalf:
    """A BatchWriteItem hook: on every other call, applies the first half of the request for
    real and answers the rest as UnprocessedItems, as DynamoDB does under pressure."""

    def __init__(self) -> None:
        self.real = boto3.client("dynamodb", region_name="us-east-1")
        self.calls = 0

    def __call__(self, params: dict[str, Any], **_: Any) -> Any:
        self.calls += 1
        if self.calls % 2:
            return None
        requests = json.loads(params["body"])["RequestItems"][TABLE]
        half = len(requests) // 2 or 1
        self.real.batch_write_item(RequestItems={TABLE: requests[:half]})
        unprocessed = {TABLE: requests[half:]} if requests[half:] else {}
        return AWSResponse("https://dynamodb", 200, HTTPHeaders(), None), {
            "UnprocessedItems": unprocessed
        }


def test_faults_in_the_middle_of_a_deletion_leave_no_orphans_and_the_next_run_finishes(
    api: Api,
) -> None:
    # Given three ended sessions past their grace, with 60 messages each (121 items with
    # the guards and the session item), and an active session in the same table throughout
    with at(T0):
        due = [api.create(initial_description="first")["id"] for _ in range(3)]
        for session in due:
            add_messages(session, 59, first_seq=2)
            assert api.call("sessions_end", session_id=session).status == 200
    now = T0 + timedelta(hours=24, minutes=1)
    with at(now - timedelta(minutes=1)):
        keeper = api.create(initial_description="keep me")["id"]
        add_messages(keeper, 30, first_seq=2)
    keeper_keys = keys_under(keeper)

    def keeper_intact() -> None:
        assert keys_under(keeper) == keeper_keys
        assert stored_status(keeper) == "active"

    # When the third BatchWriteItem of a run fails
    calls: list[int] = []

    def fail_third(**_: Any) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise ClientError({"Error": {"Code": "InternalServerError"}}, "BatchWriteItem")

    events = client().meta.events
    events.register("before-call.dynamodb.BatchWriteItem", fail_third)
    with at(now):
        stopped = cleanup()
    events.unregister("before-call.dynamodb.BatchWriteItem", fail_third)
    # Then the run stops (a 503 inside: the next run resumes) with items deleted but every
    # session item in place
    assert stopped == {"expired": 0, "deleted": 0}
    left = sum(len(keys_under(s)) for s in due)
    assert left == 3 * 121 - 2 * 25
    assert_no_orphans(due)
    keeper_intact()

    # When the next run gets UnprocessedItems from every other BatchWriteItem and runs out
    # of time after its fourth
    hook = UnprocessedHalf()
    events.register("before-call.dynamodb.BatchWriteItem", hook)
    with at(now):
        second = cleanup(lambda: 300_000 if hook.calls < 4 else 5_000)
    events.unregister("before-call.dynamodb.BatchWriteItem", hook)
    # Then it retried the unprocessed items, stopped, and still left no orphan
    assert hook.calls >= 4
    assert sum(len(keys_under(s)) for s in due) < left
    assert_no_orphans(due)
    keeper_intact()

    # When a run without faults follows
    with at(now):
        third = cleanup()
        fourth = cleanup()
    # Then every due session is gone, each counted once, and the active one is untouched
    assert second["deleted"] + third["deleted"] == 3
    assert fourth == {"expired": 0, "deleted": 0}
    assert all(keys_under(s) == set() for s in due)
    keeper_intact()


def test_1000_due_sessions_are_deleted_in_one_run_in_shared_batches(
    api: Api, quick_moto: None
) -> None:
    # Given 1 000 sessions past their grace period (ended, expired, deleted, or still
    # stored as active), each with a message and its id guard, and 10 active sessions
    settings_ = get_settings()
    due: list[str] = []
    items: list[dict[str, Any]] = []
    for index in range(1000):
        status = (
            SessionStatus.ENDED,
            SessionStatus.EXPIRED,
            SessionStatus.DELETED,
            SessionStatus.ACTIVE,
        )[index % 4]
        session_id, session_items = idle_session_items("alice", status, T0, settings_, 1)
        due.append(session_id)
        items += session_items
    put_items(items)
    now = T0 + settings_.timeout + settings_.grace
    with at(now - timedelta(minutes=1)):
        active = [api.create(initial_description="live")["id"] for _ in range(10)]
    calls = count_requests()
    # When the cleanup runs once
    with at(now):
        result = cleanup()
    # Then all 1 000 are gone, the active ones stay, and the writes come in shared batches
    counted = Counter(calls)
    assert result == {"expired": 0, "deleted": 1000}
    writes = sum(
        counted[op] for op in ("BatchWriteItem", "UpdateItem", "DeleteItem", "TransactWriteItems")
    )
    assert counted["Scan"] == 0
    assert writes <= 3000 / 20 + counted["Query"]
    # Full batches across sessions, and one transaction per 100 session items
    assert (counted["BatchWriteItem"], counted["TransactWriteItems"]) == (2000 / 25, 10), counted
    assert writes <= 3000 / 30
    # Every item left is an active session's (its own, or its create's key record)
    assert {i.get("session_id", i["pk"])["S"] for i in api.items()} == set(active)
    with at(now):
        assert cleanup() == {"expired": 0, "deleted": 0}
