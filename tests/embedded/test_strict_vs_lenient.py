"""The strict embedded DynamoDB beside the lenient one (LOCAL_STRICT=0): items held by a
transaction conflict, request tokens answer repeats, and requests meet AWS's limits and
capacity, as in AWS; the lenient server does none of it. (Faults and TTL:
test_faults_and_ttl.py.)"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.dynamodb import EmbeddedDynamoDB, start_dynamodb
from tests.helpers.dynamodb import client_for, make_table

# A hold long enough that a request sent meanwhile surely meets it, even on a busy machine.
HOLD_MS = "3000"


def key(sk: str) -> dict[str, Any]:
    return {"pk": {"S": "s"}, "sk": {"S": sk}}


def put(table: str, sk: str, **extra: Any) -> dict[str, Any]:
    return {"Put": {"TableName": table, "Item": {**key(sk), **extra}}}


@pytest.fixture(scope="module")
def slow_tx() -> Iterator[EmbeddedDynamoDB]:
    """A strict server whose transactions hold their items for 3 s."""
    with start_dynamodb(env={"LOCAL_DDB_TX_MS": HOLD_MS, "LOCAL_DDB_TTL_SWEEP_S": "0"}) as s:
        yield s


@pytest.fixture(scope="module")
def lenient() -> Iterator[EmbeddedDynamoDB]:
    with start_dynamodb(env={"LOCAL_STRICT": "0", "LOCAL_DDB_TX_MS": HOLD_MS}) as s:
        yield s


def wait_until_applied(client: Any, table: str) -> None:
    """A transaction on item a is applied first, then held: wait until its write shows."""
    deadline = time.monotonic() + 30
    while "Item" not in client.get_item(TableName=table, Key=key("a")):
        assert time.monotonic() < deadline
        time.sleep(0.01)


def during_transaction(
    server: EmbeddedDynamoDB, table: str, request: Any, *, held: bool = True
) -> Any:
    """Start a transaction on items a and b, and run `request` while it holds them (where
    the server holds items at all: `held`)."""
    client = client_for(server)
    done = threading.Event()

    def transaction() -> None:
        client.transact_write_items(TransactItems=[put(table, "a"), put(table, "b")])
        done.set()

    thread = threading.Thread(target=transaction)
    thread.start()
    wait_until_applied(client, table)
    try:
        assert not (held and done.is_set()), "the transaction was answered before the request"
        return request(client)
    finally:
        thread.join()


@pytest.mark.parametrize("operation", ["put_item", "update_item", "delete_item"])
def test_a_plain_write_into_a_held_item_fails_with_transaction_conflict(
    slow_tx: EmbeddedDynamoDB, lenient: EmbeddedDynamoDB, operation: str
) -> None:
    def write(client: Any, table: str) -> Any:
        if operation == "put_item":
            return client.put_item(TableName=table, Item={**key("a"), "v": {"S": "x"}})
        if operation == "update_item":
            return client.update_item(
                TableName=table,
                Key=key("a"),
                UpdateExpression="SET v = :v",
                ExpressionAttributeValues={":v": {"S": "x"}},
            )
        return client.delete_item(TableName=table, Key=key("a"))

    # Given a transaction holding item a on the strict server
    table = make_table(client_for(slow_tx))

    # When a plain write meets it
    with pytest.raises(ClientError) as raised:
        during_transaction(slow_tx, table, lambda c: write(c, table))

    # Then it fails as DynamoDB's does, and the transaction's write stands
    assert raised.value.response["Error"]["Code"] == "TransactionConflictException"
    item = client_for(slow_tx).get_item(TableName=table, Key=key("a"))["Item"]
    assert "v" not in item

    # While the lenient server lets the same write through
    table = make_table(client_for(lenient))
    during_transaction(lenient, table, lambda c: write(c, table), held=False)


def test_a_transaction_meeting_a_held_item_is_cancelled_with_transaction_conflict(
    slow_tx: EmbeddedDynamoDB, lenient: EmbeddedDynamoDB
) -> None:
    # Given a transaction holding items a and b
    table = make_table(client_for(slow_tx))

    # When another transaction touches b and c
    def other(client: Any) -> Any:
        return client.transact_write_items(
            TransactItems=[put(table, "c"), put(table, "b", v={"S": "other"})]
        )

    with pytest.raises(ClientError) as raised:
        during_transaction(slow_tx, table, other)

    # Then it is cancelled, the reason naming the held item, and applies nothing
    error = raised.value.response
    assert error["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in error["CancellationReasons"]] == ["None", "TransactionConflict"]
    assert "Item" not in client_for(slow_tx).get_item(TableName=table, Key=key("c"))

    # While the lenient server applies it
    table = make_table(client_for(lenient))
    during_transaction(lenient, table, other, held=False)


def test_reads_and_other_items_are_not_held(slow_tx: EmbeddedDynamoDB) -> None:
    table = make_table(client_for(slow_tx))

    def read_and_write_elsewhere(client: Any) -> Any:
        client.put_item(TableName=table, Item=key("elsewhere"))
        return client.get_item(TableName=table, Key=key("b"), ConsistentRead=True)

    # When a read of a held item and a write of another item run during the transaction
    answer = during_transaction(slow_tx, table, read_and_write_elsewhere)

    # Then both succeed, the read seeing the transaction's write
    assert answer["Item"] == key("b")


def test_a_batch_write_returns_held_items_unprocessed(slow_tx: EmbeddedDynamoDB) -> None:
    table = make_table(client_for(slow_tx))

    def batch(client: Any) -> Any:
        return client.batch_write_item(
            RequestItems={
                table: [
                    {"DeleteRequest": {"Key": key("a")}},
                    {"PutRequest": {"Item": key("free")}},
                ]
            }
        )

    answer = during_transaction(slow_tx, table, batch)

    assert answer["UnprocessedItems"] == {table: [{"DeleteRequest": {"Key": key("a")}}]}
    client = client_for(slow_tx)
    assert "Item" in client.get_item(TableName=table, Key=key("a"))
    assert "Item" in client.get_item(TableName=table, Key=key("free"))


def test_the_hold_ends_with_the_reply(slow_tx: EmbeddedDynamoDB) -> None:
    # Given a transaction that has been answered
    client = client_for(slow_tx)
    table = make_table(client)
    client.transact_write_items(TransactItems=[put(table, "a")])

    # Then the same caller's next write goes through at once
    client.put_item(TableName=table, Item={**key("a"), "v": {"S": "after"}})
    assert client.get_item(TableName=table, Key=key("a"))["Item"]["v"] == {"S": "after"}


def test_a_repeated_client_request_token_is_answered_without_applying_again(
    slow_tx: EmbeddedDynamoDB, lenient: EmbeddedDynamoDB
) -> None:
    def increment(client: Any, table: str, token: str, by: int = 1) -> Any:
        return client.transact_write_items(
            ClientRequestToken=token,
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": key("n"),
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": str(by)}},
                    }
                }
            ],
        )

    def count(client: Any, table: str) -> int:
        return int(client.get_item(TableName=table, Key=key("n"))["Item"]["n"]["N"])

    # Given a transaction applied with token T
    client = client_for(slow_tx)
    table = make_table(client)
    token = str(uuid.uuid4())
    increment(client, table, token)

    # When it is sent again with T (a retry after a lost reply): success, applied once
    increment(client, table, token)
    assert count(client, table) == 1

    # And T with another request is refused
    with pytest.raises(ClientError) as raised:
        increment(client, table, token, by=2)
    assert raised.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    assert count(client, table) == 1

    # While the lenient server applies the repeat again
    client = client_for(lenient)
    table = make_table(client)
    increment(client, table, token)
    increment(client, table, token)
    assert count(client, table) == 2


def test_a_repeat_of_a_token_still_in_progress_is_refused(slow_tx: EmbeddedDynamoDB) -> None:
    client = client_for(slow_tx)
    table = make_table(client)
    token = str(uuid.uuid4())
    items = [put(table, "a")]
    thread = threading.Thread(
        target=lambda: client.transact_write_items(ClientRequestToken=token, TransactItems=items)
    )
    thread.start()
    wait_until_applied(client, table)
    try:
        with pytest.raises(ClientError) as raised:
            client.transact_write_items(ClientRequestToken=token, TransactItems=items)
    finally:
        thread.join()
    assert raised.value.response["Error"]["Code"] == "TransactionInProgressException"


# --- limits and capacity, through the server ------------------------------------------


def test_the_server_enforces_limits_and_counts_capacity(
    slow_tx: EmbeddedDynamoDB, lenient: EmbeddedDynamoDB
) -> None:
    def batch_of_26(client: Any, table: str) -> Any:
        requests = [{"PutRequest": {"Item": key(f"k{i}")}} for i in range(26)]
        return client.batch_write_item(RequestItems={table: requests})

    def units_of_a_3000_byte_put(client: Any, table: str) -> float:
        answer = client.put_item(
            TableName=table,
            Item={**key("big"), "data": {"S": "x" * 3000}},
            ReturnConsumedCapacity="TOTAL",
        )
        return float(answer["ConsumedCapacity"]["CapacityUnits"])

    # The strict server refuses a BatchWriteItem of 26 requests as DynamoDB does, and
    # counts a 3 KB write as 3 write units
    client = client_for(slow_tx)
    table = make_table(client)
    with pytest.raises(ClientError) as raised:
        batch_of_26(client, table)
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert client.scan(TableName=table)["Count"] == 0
    assert units_of_a_3000_byte_put(client, table) == 3.0

    # The lenient one takes the batch and reports moto's constant
    client = client_for(lenient)
    table = make_table(client)
    batch_of_26(client, table)
    assert units_of_a_3000_byte_put(client, table) == 1.0
