"""The embedded DynamoDB (local.dynamodb): transactions are all-or-nothing and item-scoped, and
concurrent requests cannot interleave, over HTTP with boto3 as the service's code talks to it.
(Its process: test_dynamodb_cli.py; its TransactWriteItems against moto's own:
test_transaction_patch.py.)
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from tests.helpers.transactions import four_actions, key

T = TypeVar("T")

THREADS = 16
INCREMENTS_PER_THREAD = 3
APPENDS_PER_THREAD = 4
SABOTEURS = 4
WRITERS = 8
PUTS_PER_WRITER = 15
# More attributes per write widen the gap between an unlocked server's check and its write.
EXTRA_ATTRIBUTES = 30
# A fuller table makes a whole-table rollback snapshot slow, so overlaps are likely.
OTHER_ITEMS = 1000
MAX_ATTEMPTS = 500  # per write under contention; a bound so a broken server fails, not hangs


EXTRA_SET = ", ".join(f"field{i} = :filler" for i in range(EXTRA_ATTRIBUTES))


def all_items(client: Any, table: str) -> dict[str, dict[str, Any]]:
    """Every item of the tests' partition, by sort key."""
    found: dict[str, dict[str, Any]] = {}
    pages = client.get_paginator("query").paginate(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "chat"}},
        ConsistentRead=True,
    )
    for page in pages:
        for item in page["Items"]:
            found[item["sk"]["S"]] = item
    return found


def item_count(client: Any, table: str) -> int:
    pages = client.get_paginator("scan").paginate(TableName=table, Select="COUNT")
    return sum(page["Count"] for page in pages)


def counter(client: Any, table: str, sk: str = "counter") -> int:
    item = client.get_item(TableName=table, Key=key(sk), ConsistentRead=True)["Item"]
    return int(item["n"]["N"])


def in_threads(count: int, work: Callable[[int], T]) -> list[T]:
    """Run work(0..count-1) on `count` threads at once; re-raises the first failure."""
    start = threading.Barrier(count)

    def synchronised(index: int) -> T:
        start.wait()
        return work(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(synchronised, range(count)))


def fill_other_partitions(client: Any, table: str, count: int = OTHER_ITEMS) -> None:
    for first in range(0, count, 25):
        client.batch_write_item(
            RequestItems={
                table: [
                    {"PutRequest": {"Item": {**key(f"{i:05d}", pk=f"other#{i % 50}")}}}
                    for i in range(first, min(first + 25, count))
                ]
            }
        )


def seed(client: Any, table: str) -> None:
    for sk, extra in [("A", {}), ("B", {"status": {"S": "open"}}), ("D", {})]:
        client.put_item(TableName=table, Item={**key(sk), "n": {"N": "1"}, **extra})


def test_failed_transaction_changes_nothing_and_reports_reasons_in_order(
    dynamodb: Any, table: str
) -> None:
    # Given items A, B (status open) and D
    seed(dynamodb, table)
    before = all_items(dynamodb, table)

    # When a transaction updates A, deletes D, creates C, but requires B to be closed
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException) as caught:
        dynamodb.transact_write_items(TransactItems=four_actions(table, status_of_b="closed"))

    # Then the client gets one reason per action, in order, with B's old image for the failure
    reasons = caught.value.response["CancellationReasons"]
    assert [reason["Code"] for reason in reasons] == [
        "None",
        "None",
        "None",
        "ConditionalCheckFailed",
    ]
    assert reasons[3]["Item"] == before["B"]
    # And every touched item is as it was, and C was never created
    after = all_items(dynamodb, table)
    assert after == before
    assert "C" not in after


def test_successful_transaction_applies_put_update_delete_and_condition_check(
    dynamodb: Any, table: str
) -> None:
    # Given items A, B (status open) and D
    seed(dynamodb, table)
    before = all_items(dynamodb, table)

    # When a transaction updates A, deletes D, creates C, and requires B to be open
    dynamodb.transact_write_items(TransactItems=four_actions(table, status_of_b="open"))

    # Then all of it happened, and the checked item is untouched
    after = all_items(dynamodb, table)
    assert sorted(after) == ["A", "B", "C"]
    assert after["A"]["n"] == {"N": "2"}
    assert after["C"] == {**key("C"), "n": {"N": "7"}}
    assert after["B"] == before["B"]


def test_concurrent_conditional_increments_lose_no_update(dynamodb: Any, table: str) -> None:
    # Given a counter at 0
    dynamodb.put_item(TableName=table, Item={**key("counter"), "n": {"N": "0"}})
    conflict = dynamodb.exceptions.ConditionalCheckFailedException

    def increment(thread: int) -> list[int]:
        """Optimistic increments; returns the value each successful write started from."""
        won_from: list[int] = []
        for _ in range(MAX_ATTEMPTS):
            if len(won_from) == INCREMENTS_PER_THREAD:
                return won_from
            seen = counter(dynamodb, table)
            try:
                dynamodb.update_item(
                    TableName=table,
                    Key=key("counter"),
                    UpdateExpression="SET n = :next, " + EXTRA_SET,
                    ConditionExpression="n = :seen",
                    ExpressionAttributeValues={
                        ":seen": {"N": str(seen)},
                        ":next": {"N": str(seen + 1)},
                        ":filler": {"S": "filler"},
                    },
                )
            except conflict:
                continue
            won_from.append(seen)
        return won_from

    # When 16 threads each increment it 3 times, retrying on ConditionalCheckFailed
    won = [seen for per_thread in in_threads(THREADS, increment) for seen in per_thread]

    # Then no two writes passed the condition on the same value, and no increment was lost
    total = THREADS * INCREMENTS_PER_THREAD
    assert sorted(won) == list(range(total))
    assert counter(dynamodb, table) == total == len(won)


def append_transaction(table: str, sk: str, seen: int) -> list[dict[str, Any]]:
    """A chat message append: a new item plus the counter, moved on only from `seen`."""
    return [
        {
            "Put": {
                "TableName": table,
                "Item": {**key(sk), "text": {"S": f"message {sk}"}},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
        {
            "Update": {
                "TableName": table,
                "Key": key("counter"),
                "UpdateExpression": "SET n = :next",
                "ConditionExpression": "n = :seen",
                "ExpressionAttributeValues": {
                    ":seen": {"N": str(seen)},
                    ":next": {"N": str(seen + 1)},
                },
            }
        },
    ]


def doomed_transaction(table: str, touched_sk: str) -> list[dict[str, Any]]:
    """Marks `touched_sk` and creates a ghost, then checks an item that never exists."""
    return [
        {
            "Update": {
                "TableName": table,
                "Key": key(touched_sk),
                "UpdateExpression": "SET poisoned = :yes",
                "ExpressionAttributeValues": {":yes": {"BOOL": True}},
            }
        },
        {
            "Put": {
                "TableName": table,
                "Item": {**key(f"ghost#{uuid.uuid4().hex}"), "text": {"S": "must vanish"}},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
        {
            "ConditionCheck": {
                "TableName": table,
                "Key": key("never-created"),
                "ConditionExpression": "attribute_exists(pk)",
            }
        },
    ]


def beside_saboteurs(
    dynamodb: Any,
    table: str,
    target: Callable[[], str],
    work: Callable[[int], list[str]],
    count: int,
) -> tuple[list[str], list[int]]:
    """work(0..count-1) on threads while SABOTEURS others keep running transactions that fail
    on the item `target()` names; the work's results, joined, and each saboteur's failures."""
    stop = threading.Event()

    def sabotage(_: int) -> int:
        """Runs failing transactions until told to stop; returns how many failed."""
        failed = 0
        while not stop.is_set() or failed == 0:
            try:
                dynamodb.transact_write_items(TransactItems=doomed_transaction(table, target()))
            except dynamodb.exceptions.TransactionCanceledException:
                failed += 1
            else:
                raise AssertionError("a transaction whose condition cannot pass succeeded")
        return failed

    with ThreadPoolExecutor(max_workers=count + SABOTEURS) as pool:
        saboteurs = [pool.submit(sabotage, i) for i in range(SABOTEURS)]
        try:
            workers = [pool.submit(work, i) for i in range(count)]
            done = [result for future in workers for result in future.result()]
        finally:
            stop.set()  # else a failed worker would leave the pool waiting on saboteurs
        return done, [future.result() for future in saboteurs]


def test_concurrent_appends_survive_concurrent_failed_transactions(
    dynamodb: Any, table: str
) -> None:
    # Given a counter at 0 in a table that holds 1000 other items
    fill_other_partitions(dynamodb, table)
    dynamodb.put_item(TableName=table, Item={**key("counter"), "n": {"N": "0"}})
    cancelled = dynamodb.exceptions.TransactionCanceledException

    def append(thread: int) -> list[str]:
        """Appends messages transactionally, retrying conflicts; returns the committed ones."""
        committed: list[str] = []
        for i in range(APPENDS_PER_THREAD):
            sk = f"msg#{thread:02d}-{i:02d}"
            for _ in range(MAX_ATTEMPTS):
                seen = counter(dynamodb, table)
                try:
                    dynamodb.transact_write_items(TransactItems=append_transaction(table, sk, seen))
                except cancelled as e:
                    put, update = (r["Code"] for r in e.response["CancellationReasons"])
                    # Only the counter may have moved on; a message can't exist before it commits.
                    assert put == "None", (sk, put, update)
                    assert update in ("ConditionalCheckFailed", "TransactionConflict"), (sk, update)
                    continue
                committed.append(sk)
                break
            else:
                raise AssertionError(f"{sk}: gave up after {MAX_ATTEMPTS} attempts")
        return committed

    # When 16 threads append while others keep running transactions that fail
    committed, failures = beside_saboteurs(dynamodb, table, lambda: "counter", append, THREADS)

    # Then every committed append is there, the counter counts exactly them, nothing else exists
    items = all_items(dynamodb, table)
    messages = sorted(sk for sk in items if sk.startswith("msg#"))
    assert all(failed > 0 for failed in failures)
    assert len(committed) == THREADS * APPENDS_PER_THREAD
    assert messages == sorted(committed)
    assert counter(dynamodb, table) == len(committed)
    assert sorted(set(items) - set(messages)) == ["counter"]
    assert "poisoned" not in items["counter"]
    assert item_count(dynamodb, table) == OTHER_ITEMS + len(items)


def test_failed_transactions_never_erase_items_committed_meanwhile(
    dynamodb: Any, table: str
) -> None:
    # Given a table with 1000 other items, and writers that keep creating items with PutItem
    fill_other_partitions(dynamodb, table)
    dynamodb.put_item(TableName=table, Item={**key("counter"), "n": {"N": "0"}})
    latest = ["counter"]

    def write(writer: int) -> list[str]:
        created: list[str] = []
        for i in range(PUTS_PER_WRITER):
            sk = f"item#{writer:02d}-{i:02d}"
            dynamodb.put_item(TableName=table, Item={**key(sk), "n": {"N": str(i)}})
            latest[0] = sk
            created.append(sk)
        return created

    # When failing transactions meanwhile touch the item created most recently
    created, failures = beside_saboteurs(dynamodb, table, lambda: latest[0], write, WRITERS)

    # Then every created item is there as written, and no failed transaction left a trace
    items = all_items(dynamodb, table)
    assert all(failed > 0 for failed in failures)
    assert sorted(items) == sorted([*created, "counter"])
    assert not [sk for sk, item in items.items() if "poisoned" in item]
    assert item_count(dynamodb, table) == OTHER_ITEMS + len(items)
