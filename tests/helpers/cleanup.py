"""What the cleanup tests share: running the CleanupFunction handler at a given time, and
reading and writing the table directly."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from chat_sessions import clock, records, session_access
from chat_sessions.records import MessageRecord
from tests.helpers.api import TABLE, LambdaContext, load_event, load_function

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


def assert_no_orphans(session_ids: list[str]) -> None:
    """Either a session item is there, or nothing at all is under its key."""
    for session_id in session_ids:
        keys = keys_under(session_id)
        assert not keys or records.SESSION_SK in keys, (session_id, sorted(keys)[:3])
