"""Consumed capacity by DynamoDB's rules (local.ddb_capacity), against stock moto's constant."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from local import ddb_hooks
from local.ddb_capacity import Capacity, read_units, write_units
from tests.helpers.dynamodb import moto_table

TABLE = "capacity"


@pytest.fixture
def capacity() -> Iterator[Capacity]:
    counted = Capacity()
    with ddb_hooks.in_effect([counted.hook]):
        yield counted


@pytest.fixture
def client() -> Iterator[Any]:
    with moto_table(TABLE) as ddb:
        yield ddb


def key(sk: str) -> dict[str, Any]:
    return {"pk": {"S": "p"}, "sk": {"S": sk}}


def data(size: int) -> dict[str, Any]:
    """An attribute that brings a small item to about `size` bytes."""
    return {"d": {"S": "x" * size}}


def test_units_for_an_item_size() -> None:
    assert [write_units(s) for s in (0, 1, 1024, 1025, 3000)] == [1, 1, 1, 2, 3]
    assert read_units(4096) == 1 and read_units(4097) == 2
    assert read_units(4097, consistent=False) == 1


def test_stock_moto_reports_a_constant(client: Any) -> None:
    response = client.put_item(
        TableName=TABLE, Item={**key("a"), **data(3000)}, ReturnConsumedCapacity="TOTAL"
    )
    assert response["ConsumedCapacity"]["CapacityUnits"] == 1.0


def test_put_item_counts_the_larger_of_old_and_new(capacity: Capacity, client: Any) -> None:
    first = client.put_item(
        TableName=TABLE, Item={**key("a"), **data(3000)}, ReturnConsumedCapacity="INDEXES"
    )
    assert first["ConsumedCapacity"] == {
        "TableName": TABLE,
        "CapacityUnits": 3.0,
        "WriteCapacityUnits": 3.0,
        "Table": {"CapacityUnits": 3.0, "WriteCapacityUnits": 3.0},
    }
    smaller = client.put_item(TableName=TABLE, Item=key("a"), ReturnConsumedCapacity="TOTAL")
    assert smaller["ConsumedCapacity"] == {
        "TableName": TABLE,
        "CapacityUnits": 3.0,
        "WriteCapacityUnits": 3.0,
    }
    assert "ConsumedCapacity" not in client.put_item(TableName=TABLE, Item=key("b"))
    assert capacity.write_units == 3 + 3 + 1


def test_index_writes(capacity: Capacity, client: Any) -> None:
    def update(expression: str, **values: Any) -> dict[str, float]:
        response = client.update_item(
            TableName=TABLE,
            Key=key("i"),
            UpdateExpression=expression,
            ReturnConsumedCapacity="INDEXES",
            **({"ExpressionAttributeValues": values} if values else {}),
        )
        consumed = response["ConsumedCapacity"]
        indexes = consumed.get("GlobalSecondaryIndexes", {})
        return {"table": consumed["Table"]["CapacityUnits"]} | {
            name: units["CapacityUnits"] for name, units in indexes.items()
        }

    # Not in the sparse index: nothing there.
    assert update("SET v = :v", **{":v": {"S": "1"}}) == {"table": 1.0}
    # Into the index: a put.
    assert update("SET gpk = :g", **{":g": {"S": "a"}}) == {"table": 1.0, "sparse": 1.0}
    # The index key changes: a delete and a put.
    assert update("SET gpk = :g", **{":g": {"S": "b"}}) == {"table": 1.0, "sparse": 2.0}
    # A non-projected attribute changes: the KEYS_ONLY entry is the same.
    assert update("SET v = :v", **{":v": {"S": "2"}}) == {"table": 1.0}
    # Out of the index: a delete.
    assert update("REMOVE gpk") == {"table": 1.0, "sparse": 1.0}


def test_reads(capacity: Capacity, client: Any) -> None:
    client.put_item(TableName=TABLE, Item={**key("r"), **data(5000)})
    eventual = client.get_item(TableName=TABLE, Key=key("r"), ReturnConsumedCapacity="TOTAL")
    assert eventual["ConsumedCapacity"]["ReadCapacityUnits"] == 1.0  # 2 units, halved
    strong = client.get_item(
        TableName=TABLE, Key=key("r"), ConsistentRead=True, ReturnConsumedCapacity="TOTAL"
    )
    assert strong["ConsumedCapacity"]["CapacityUnits"] == 2.0
    missing = client.get_item(TableName=TABLE, Key=key("none"), ReturnConsumedCapacity="TOTAL")
    assert missing["ConsumedCapacity"]["CapacityUnits"] == 0.5


def test_query_sums_items_read_before_the_filter(capacity: Capacity, client: Any) -> None:
    for i in range(3):
        client.put_item(TableName=TABLE, Item={**key(f"q{i}"), **data(1500)})
    response = client.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :p",
        FilterExpression="sk = :none",
        ExpressionAttributeValues={":p": {"S": "p"}, ":none": {"S": "none"}},
        ConsistentRead=True,
        ReturnConsumedCapacity="TOTAL",
    )
    assert response["Count"] == 0
    # Three items of about 1.5 KB: 4.5 KB in all, two 4 KB units (not one per item).
    assert response["ConsumedCapacity"]["CapacityUnits"] == 2.0


def test_index_query_is_counted_on_the_index(capacity: Capacity, client: Any) -> None:
    client.put_item(TableName=TABLE, Item={**key("g"), **data(9000), "gpk": {"S": "g"}})
    response = client.query(
        TableName=TABLE,
        IndexName="sparse",
        KeyConditionExpression="gpk = :g",
        ExpressionAttributeValues={":g": {"S": "g"}},
        ReturnConsumedCapacity="INDEXES",
    )
    assert response["ConsumedCapacity"] == {
        "TableName": TABLE,
        "CapacityUnits": 0.5,
        "ReadCapacityUnits": 0.5,
        "Table": {"CapacityUnits": 0.0, "ReadCapacityUnits": 0.0},
        "GlobalSecondaryIndexes": {"sparse": {"CapacityUnits": 0.5, "ReadCapacityUnits": 0.5}},
    }


def test_batches_count_each_item(capacity: Capacity, client: Any) -> None:
    puts = [{"PutRequest": {"Item": {**key(f"b{i}"), **data(1500)}}} for i in range(3)]
    written = client.batch_write_item(RequestItems={TABLE: puts}, ReturnConsumedCapacity="TOTAL")
    assert written["ConsumedCapacity"] == [
        {"TableName": TABLE, "CapacityUnits": 6.0, "WriteCapacityUnits": 6.0}
    ]
    keys = [key(f"b{i}") for i in range(3)]
    read = client.batch_get_item(
        RequestItems={TABLE: {"Keys": keys}}, ReturnConsumedCapacity="TOTAL"
    )
    assert read["ConsumedCapacity"] == [
        {"TableName": TABLE, "CapacityUnits": 1.5, "ReadCapacityUnits": 1.5}
    ]


def test_transactions_count_twice(capacity: Capacity, client: Any) -> None:
    client.put_item(TableName=TABLE, Item={**key("checked"), **data(1500)})
    response = client.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": {**key("t"), "gpk": {"S": "g"}}}},
            {
                "ConditionCheck": {
                    "TableName": TABLE,
                    "Key": key("checked"),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
        ],
        ReturnConsumedCapacity="INDEXES",
    )
    assert response["ConsumedCapacity"] == [
        {
            "TableName": TABLE,
            "CapacityUnits": 7.0,
            "WriteCapacityUnits": 7.0,
            "Table": {"CapacityUnits": 6.0, "WriteCapacityUnits": 6.0},
            "GlobalSecondaryIndexes": {"sparse": {"CapacityUnits": 1.0, "WriteCapacityUnits": 1.0}},
        }
    ]
    got = client.transact_get_items(
        TransactItems=[{"Get": {"TableName": TABLE, "Key": key("checked")}}],
        ReturnConsumedCapacity="TOTAL",
    )
    assert got["ConsumedCapacity"] == [
        {"TableName": TABLE, "CapacityUnits": 2.0, "ReadCapacityUnits": 2.0}
    ]
