"""The scheduled cleanup on large sessions, many sessions and DynamoDB faults mid-deletion."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.exceptions import ClientError

from chat_sessions import clock, expiry, records
from chat_sessions.config import get_settings
from chat_sessions.statuses import SessionStatus
from local.seed import idle_session_items
from tests.helpers.api import TABLE, Api
from tests.helpers.cleanup import (
    T0,
    add_messages,
    assert_no_orphans,
    at,
    cleanup,
    client,
    count_requests,
    keys_under,
    put_items,
    stored_status,
)

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
