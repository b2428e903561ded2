"""The embedded DynamoDB (local.dynamodb): transactions are all-or-nothing and item-scoped, and
concurrent requests cannot interleave, over HTTP with boto3 as the service's code talks to it.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from local.ddb_transactions import MOTO_ORIGINALS, _transact_write_items
from local.dynamodb import ROOT, EmbeddedDynamoDB, start_dynamodb

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


def key(sk: str, pk: str = "chat") -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


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


def four_actions(table: str, status_of_b: str) -> list[dict[str, Any]]:
    """Update A, Delete D, Put C (new) and ConditionCheck B's status, in that order."""
    return [
        {
            "Update": {
                "TableName": table,
                "Key": key("A"),
                "UpdateExpression": "SET n = n + :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        },
        {
            "Delete": {
                "TableName": table,
                "Key": key("D"),
                "ConditionExpression": "n = :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        },
        {
            "Put": {
                "TableName": table,
                "Item": {**key("C"), "n": {"N": "7"}},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
        {
            "ConditionCheck": {
                "TableName": table,
                "Key": key("B"),
                "ConditionExpression": "#s = :status",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":status": {"S": status_of_b}},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        },
    ]


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


def run_saboteurs(
    dynamodb: Any, table: str, stop: threading.Event, target: Callable[[], str]
) -> Callable[[int], int]:
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

    return sabotage


def test_concurrent_appends_survive_concurrent_failed_transactions(
    dynamodb: Any, table: str
) -> None:
    # Given a counter at 0 in a table that holds 1000 other items
    fill_other_partitions(dynamodb, table)
    dynamodb.put_item(TableName=table, Item={**key("counter"), "n": {"N": "0"}})
    cancelled = dynamodb.exceptions.TransactionCanceledException
    stop = threading.Event()

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

    sabotage = run_saboteurs(dynamodb, table, stop, target=lambda: "counter")

    # When 16 threads append while others keep running transactions that fail
    with ThreadPoolExecutor(max_workers=THREADS + SABOTEURS) as pool:
        saboteurs = [pool.submit(sabotage, i) for i in range(SABOTEURS)]
        try:
            appenders = [pool.submit(append, i) for i in range(THREADS)]
            committed = [sk for future in appenders for sk in future.result()]
        finally:
            stop.set()  # else a failed appender would leave the pool waiting on saboteurs
        failures = [future.result() for future in saboteurs]

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
    stop = threading.Event()

    def write(writer: int) -> list[str]:
        created: list[str] = []
        for i in range(PUTS_PER_WRITER):
            sk = f"item#{writer:02d}-{i:02d}"
            dynamodb.put_item(TableName=table, Item={**key(sk), "n": {"N": str(i)}})
            latest[0] = sk
            created.append(sk)
        return created

    # When failing transactions meanwhile touch the item created most recently
    sabotage = run_saboteurs(dynamodb, table, stop, target=lambda: latest[0])
    with ThreadPoolExecutor(max_workers=WRITERS + SABOTEURS) as pool:
        saboteurs = [pool.submit(sabotage, i) for i in range(SABOTEURS)]
        try:
            writers = [pool.submit(write, i) for i in range(WRITERS)]
            created = [sk for future in writers for sk in future.result()]
        finally:
            stop.set()
        failures = [future.result() for future in saboteurs]

    # Then every created item is there as written, and no failed transaction left a trace
    items = all_items(dynamodb, table)
    assert all(failed > 0 for failed in failures)
    assert sorted(items) == sorted([*created, "counter"])
    assert not [sk for sk, item in items.items() if "poisoned" in item]
    assert item_count(dynamodb, table) == OTHER_ITEMS + len(items)


# moto's own transact_write_items, run in this process against the replacement, action for action.
PARITY_CASES: dict[str, list[dict[str, Any]]] = {
    "condition fails last": four_actions("chat", status_of_b="closed"),
    "condition fails first": [*reversed(four_actions("chat", status_of_b="closed"))],
    "all succeed": four_actions("chat", status_of_b="open"),
    "one item twice": [four_actions("chat", "open")[0], four_actions("chat", "open")[0]],
    "unknown table": [
        four_actions("chat", "open")[0],
        {"Put": {"TableName": "missing", "Item": key("X")}},
    ],
    "update creates an item, then a check fails": [
        {
            "Update": {
                "TableName": "chat",
                "Key": key("E"),
                "UpdateExpression": "SET n = :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        },
        four_actions("chat", "closed")[3],
    ],
    "key without its sort key": [
        four_actions("chat", "open")[0],
        {"Delete": {"TableName": "chat", "Key": {"pk": {"S": "chat"}}}},
    ],
}


def run_in_moto(transact: Callable[[Any, list[dict[str, Any]]], None], actions: Any) -> Any:
    """Runs a transaction on a fresh in-process backend; returns error, items and stream."""
    from moto.dynamodb.models import DynamoDBBackend

    backend = DynamoDBBackend("us-east-1", "123456789012")
    backend.create_table(
        "chat",
        schema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        throughput=None,
        attr=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        global_indexes=None,
        indexes=None,
        streams={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        billing_mode="PAY_PER_REQUEST",
        sse_specification=None,
        tags=[],
        deletion_protection_enabled=False,
        warm_throughput=None,
    )
    for sk, extra in [("A", {}), ("B", {"status": {"S": "open"}}), ("D", {})]:
        backend.put_item("chat", {**key(sk), "n": {"N": "1"}, **extra})
    error = None
    try:
        transact(backend, actions)
    except Exception as e:
        error = (type(e).__name__, getattr(e, "description", str(e)))
    table = backend.get_table("chat")
    items = sorted(str(item.to_json()) for item in table.all_items())
    assert table.stream_shard is not None
    stream = [
        (record.record["eventName"], record.record["dynamodb"]["Keys"])
        for record in table.stream_shard.items
    ]
    return error, items, stream


@pytest.mark.parametrize("actions", PARITY_CASES.values(), ids=PARITY_CASES.keys())
def test_replacement_matches_moto_transact_write_items(actions: list[dict[str, Any]]) -> None:
    # Given moto's own TransactWriteItems (other tests may have patched it in this process)
    from moto.dynamodb.models import DynamoDBBackend

    stock = MOTO_ORIGINALS.get("transact_write_items", DynamoDBBackend.transact_write_items)
    assert stock is not _transact_write_items

    # When the same transaction runs on identical backends through each
    expected = run_in_moto(stock, actions)
    actual = run_in_moto(_transact_write_items, actions)

    # Then the error, the items and the stream records are the same
    assert actual == expected


def test_transaction_snapshots_items_not_whole_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given tables that refuse to be deep-copied (moto's rollback copied every touched table)
    from moto.dynamodb.models.table import Table

    def refuse(table: Any, memo: Any) -> Any:
        raise AssertionError(f"table {table.name} was deep-copied")

    monkeypatch.setattr(Table, "__deepcopy__", refuse, raising=False)

    # When a transaction fails and is rolled back by the replacement
    error = run_in_moto(_transact_write_items, four_actions("chat", "closed"))[0]

    # Then it was cancelled as usual, so the rollback needed no copy of a table
    assert error is not None
    assert error[0] == "TransactionCanceledException"


def test_an_action_with_two_operations_leaves_earlier_actions_undone() -> None:
    # Given a transaction whose second action holds both a Put and a Delete
    actions = [
        four_actions("chat", "open")[0],
        {
            "Put": {"TableName": "chat", "Item": key("X")},
            "Delete": {"TableName": "chat", "Key": key("D")},
        },
    ]
    untouched = run_in_moto(lambda backend, actions: None, [])[1:]

    # When it runs (moto's own left the first action applied)
    error, *state = run_in_moto(_transact_write_items, actions)

    # Then it is rejected and the first action was rolled back
    assert error is not None
    assert error[0] == "TransactWriteSingleOpException"
    assert state == list(untouched)


def test_a_cancelled_transaction_naming_its_table_by_arn_is_rolled_back_too() -> None:
    # Given the failing transaction, addressing the table by ARN (moto kept no copy then)
    actions = four_actions("arn:aws:dynamodb:us-east-1:123456789012:table/chat", "closed")
    untouched = run_in_moto(lambda backend, actions: None, [])[1:]

    # When it runs
    error, *state = run_in_moto(_transact_write_items, actions)

    # Then it is cancelled and nothing it did is left
    assert error is not None
    assert error[0] == "TransactionCanceledException"
    assert state == list(untouched)


def start_cli(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "local.dynamodb", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_cli_prints_one_ready_line_and_exits_cleanly_on_signal(signum: int) -> None:
    # Given the server started on a free port
    process = start_cli("--host", "127.0.0.1", "--port", "0")
    assert process.stdout is not None
    watchdog = threading.Timer(30, process.kill)  # a server that never gets ready fails the test
    watchdog.start()
    try:
        ready = process.stdout.readline().decode()
    finally:
        watchdog.cancel()
    assert ready.startswith("listening on http://127.0.0.1:")
    assert int(ready.rsplit(":", 1)[1]) > 0

    # When it is sent the signal
    process.send_signal(signum)
    out, err = process.communicate(timeout=10)

    # Then it exits 0 without a traceback, having printed nothing else
    assert process.returncode == 0
    assert b"Traceback" not in err
    assert out == b""


def test_cli_on_a_taken_port_says_so_in_one_line_and_exits_2() -> None:
    # Given a port something else listens on
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]

        # When the server is started on it
        process = start_cli("--port", str(port))
        out, err = process.communicate(timeout=30)

    # Then it exits 2 with one line on stderr naming the port
    assert process.returncode == 2
    assert out == b""
    lines = err.decode().splitlines()
    assert len(lines) == 1
    assert f"127.0.0.1:{port}" in lines[0]
    assert "in use" in lines[0]


def test_start_dynamodb_gives_a_url_a_port_and_a_process_it_stops_cleanly(
    dynamodb_server: EmbeddedDynamoDB,
) -> None:
    # Given a second server started from Python on a free port
    with start_dynamodb(port=0) as server:
        # Then it is a live subprocess on its own port, behind the URL it reports
        assert server.process.poll() is None
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.port not in (0, dynamodb_server.port)
        with socket.create_connection(("127.0.0.1", server.port), timeout=5):
            pass

    # When the block ends, then the server has exited cleanly
    assert server.process.returncode == 0
    assert server.stop() == 0


def test_refuses_to_load_with_an_unsupported_moto() -> None:
    # Given a moto version outside >=5.2,<5.3
    pretend = "import importlib.metadata as m; m.version = lambda name: '5.3.0'; "

    # When the module is imported
    result = subprocess.run(
        [sys.executable, "-c", pretend + "import local.ddb_transactions"],
        cwd=ROOT,
        capture_output=True,
        timeout=30,
    )

    # Then the import fails, naming the installed and the supported versions
    assert result.returncode != 0
    assert b"ImportError" in result.stderr
    assert b"moto 5.3.0 is installed" in result.stderr
