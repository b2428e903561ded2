"""The strict embedded DynamoDB: conflicts, request tokens, faults and TTL as AWS has them,
each beside the lenient stack (LOCAL_STRICT=0) or stock moto, which do not."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError

from local.ddb_faults import FaultSpec
from local.ddb_strict import StrictSettings
from local.ddb_tables import create_pk_sk_table
from local.dynamodb import EmbeddedDynamoDB, local_client, start_dynamodb

# A hold long enough that a request sent meanwhile surely meets it, even on a busy machine.
HOLD_MS = "3000"


def make_table(client: Any, ttl: bool = False) -> str:
    return create_pk_sk_table(client, f"strict-{uuid.uuid4().hex[:10]}", ttl=ttl)


def key(sk: str) -> dict[str, Any]:
    return {"pk": {"S": "s"}, "sk": {"S": sk}}


def put(table: str, sk: str, **extra: Any) -> dict[str, Any]:
    return {"Put": {"TableName": table, "Item": {**key(sk), **extra}}}


def client_for(server: EmbeddedDynamoDB, attempts: int = 1) -> Any:
    return local_client(
        server.url,
        Config(
            retries={"total_max_attempts": attempts, "mode": "standard"}, max_pool_connections=8
        ),
    )


@pytest.fixture(scope="module")
def slow_tx() -> Iterator[EmbeddedDynamoDB]:
    """A strict server whose transactions hold their items for 3 s."""
    with start_dynamodb(env={"LOCAL_DDB_TX_MS": HOLD_MS, "LOCAL_DDB_TTL_SWEEP_S": "0"}) as s:
        yield s


@pytest.fixture(scope="module")
def lenient() -> Iterator[EmbeddedDynamoDB]:
    with start_dynamodb(env={"LOCAL_STRICT": "0", "LOCAL_DDB_TX_MS": HOLD_MS}) as s:
        yield s


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
    # The transaction is applied first, then held: wait until its write shows.
    deadline = time.monotonic() + 30
    while "Item" not in client.get_item(TableName=table, Key=key("a")):
        assert time.monotonic() < deadline
        time.sleep(0.01)
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
    deadline = time.monotonic() + 30
    while "Item" not in client.get_item(TableName=table, Key=key("a")):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    try:
        with pytest.raises(ClientError) as raised:
            client.transact_write_items(ClientRequestToken=token, TransactItems=items)
    finally:
        thread.join()
    assert raised.value.response["Error"]["Code"] == "TransactionInProgressException"


# --- faults ---------------------------------------------------------------------------


def test_fault_settings_are_parsed_and_bad_ones_named() -> None:
    spec = FaultSpec.parse("throttle=0.05, internal=0.01,lost_reply=0.01,latency=0-40")
    assert spec == FaultSpec(throttle=0.05, internal=0.01, lost_reply=0.01, latency_ms=(0, 40))
    assert FaultSpec.parse("") == FaultSpec()
    for bad in ("throttle", "throttle=2", "slow=0.1", "latency=9-1", "throttle=0.6,internal=0.6"):
        with pytest.raises(ValueError, match="LOCAL_DDB_FAULTS"):
            FaultSpec.parse(bad)
    with pytest.raises(ValueError, match="LOCAL_DDB_TX_MS"):
        StrictSettings.from_env({"LOCAL_DDB_TX_MS": "soon"})
    assert StrictSettings.from_env({}).strict
    assert not StrictSettings.from_env({"LOCAL_STRICT": "0"}).strict


def test_a_bad_setting_stops_the_server_with_its_name() -> None:
    with pytest.raises(RuntimeError, match="exited with code 3"):
        start_dynamodb(env={"LOCAL_DDB_FAULTS": "throttle=lots"})


@pytest.mark.parametrize(
    ("faults", "codes"),
    [
        ("throttle=1", {"ThrottlingException", "ProvisionedThroughputExceededException"}),
        ("internal=1", {"InternalServerError"}),
    ],
)
def test_refusing_faults_apply_nothing(faults: str, codes: set[str]) -> None:
    with start_dynamodb(env={"LOCAL_DDB_FAULTS": faults, "LOCAL_DDB_SEED": "7"}) as server:
        client = client_for(server)
        table = make_table(client)
        seen = set()
        for i in range(12):
            with pytest.raises(ClientError) as raised:
                client.put_item(TableName=table, Item=key(f"x{i}"))
            seen.add(raised.value.response["Error"]["Code"])
        assert seen == codes


def test_a_lost_reply_is_applied_but_never_answered() -> None:
    with start_dynamodb(env={"LOCAL_DDB_FAULTS": "lost_reply=1"}) as server:
        client = client_for(server)
        table = make_table(client)
        # When a write's reply is lost
        with pytest.raises(ConnectionClosedError):
            client.put_item(TableName=table, Item=key("lost"))


def test_lost_replies_and_refusals_leave_exactly_the_applied_writes() -> None:
    faults = "throttle=0.2,internal=0.1,lost_reply=0.2,latency=0-5"
    with start_dynamodb(env={"LOCAL_DDB_FAULTS": faults, "LOCAL_DDB_SEED": "11"}) as server:
        client = client_for(server)
        table = make_table(client)
        outcome: dict[str, str] = {}
        for i in range(60):
            sk = f"k{i:02d}"
            try:
                client.put_item(TableName=table, Item=key(sk))
                outcome[sk] = "answered"
            except ConnectionClosedError:
                outcome[sk] = "lost"
            except ClientError:
                outcome[sk] = "refused"
        patient = client_for(server, attempts=20)
        stored = {
            item["sk"]["S"] for item in patient.scan(TableName=table, ConsistentRead=True)["Items"]
        }
    assert set(outcome.values()) == {"answered", "lost", "refused"}
    # Answered and lost writes are stored; refused ones are not.
    assert stored == {sk for sk, what in outcome.items() if what != "refused"}


def test_the_same_seed_draws_the_same_faults() -> None:
    def run() -> list[str]:
        env = {"LOCAL_DDB_FAULTS": "throttle=0.3,internal=0.2", "LOCAL_DDB_SEED": "5"}
        with start_dynamodb(env=env) as server:
            client = client_for(server)
            table = make_table(client)
            codes = []
            for i in range(20):
                try:
                    client.put_item(TableName=table, Item=key(f"k{i}"))
                    codes.append("ok")
                except ClientError as e:
                    codes.append(e.response["Error"]["Code"])
            return codes

    assert run() == run()


# --- TTL ------------------------------------------------------------------------------


def test_ttl_deletes_expired_items_and_leaves_the_rest() -> None:
    with start_dynamodb(env={"LOCAL_DDB_TTL_SWEEP_S": "0.2"}) as server:
        client = client_for(server)
        table = make_table(client, ttl=True)
        now = int(time.time())
        expired = [f"old{i}" for i in range(20)]
        for sk in expired:
            client.put_item(TableName=table, Item={**key(sk), "ttl": {"N": str(now - 10)}})
        client.put_item(TableName=table, Item={**key("future"), "ttl": {"N": str(now + 3600)}})
        client.put_item(TableName=table, Item={**key("ancient"), "ttl": {"N": "1000"}})
        client.put_item(TableName=table, Item={**key("text"), "ttl": {"S": str(now - 10)}})
        client.put_item(TableName=table, Item=key("none"))

        deadline = time.monotonic() + 60
        while True:
            left = {i["sk"]["S"] for i in client.scan(TableName=table)["Items"]}
            if not left & set(expired) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    # Items past their ttl are gone; a ttl in the future, over five years old or not a
    # number keeps its item, as in DynamoDB.
    assert left == {"future", "ancient", "text", "none"}


def test_no_ttl_sweep_when_its_interval_is_zero() -> None:
    with start_dynamodb(env={"LOCAL_DDB_TTL_SWEEP_S": "0"}) as server:
        client = client_for(server)
        table = make_table(client, ttl=True)
        client.put_item(TableName=table, Item={**key("old"), "ttl": {"N": "1700000000"}})
        time.sleep(0.5)
        assert client.scan(TableName=table)["Count"] == 1


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
