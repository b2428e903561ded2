"""AWS's limits (local.ddb_limits): each refused with DynamoDB's error by the strict hook, and,
where moto lacks the limit, the same request passing on stock moto (no hooks)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local import ddb_hooks, ddb_limits
from local.ddb_limits import MAX_ITEM_BYTES, item_size, number_size
from tests.helpers.dynamodb import moto_table

TABLE = "limits"
BIG = "x" * 300_000  # one of these fits in an item, two do not


@pytest.fixture(params=["strict", "stock"])
def mode(request: pytest.FixtureRequest) -> Iterator[str]:
    with ddb_hooks.in_effect([ddb_limits.hook] if request.param == "strict" else []):
        yield str(request.param)


@pytest.fixture
def strict() -> Iterator[None]:
    with ddb_hooks.in_effect([ddb_limits.hook]):
        yield


@pytest.fixture
def client() -> Iterator[Any]:
    with moto_table(TABLE) as ddb:
        yield ddb


def key(sk: str, pk: str = "p") -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def refused(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call()
    return dict(caught.value.response)


def expect(mode: str, call: Callable[[], Any], code: str, message: str) -> dict[str, Any]:
    """Strict: refused with `code` and a message starting with `message`. Stock: passes."""
    if mode == "stock":
        passed: dict[str, Any] = call()
        return passed
    response = refused(call)
    assert response["Error"]["Code"] == code
    assert response["Error"]["Message"].startswith(message)
    return response


# --- item size ------------------------------------------------------------------------


def test_item_size_counts_names_values_and_overheads() -> None:
    assert item_size({"ab": {"S": "héllo"}}) == 2 + 6
    assert item_size({"n": {"N": "12345"}}) == 1 + number_size("12345") == 1 + 4
    assert number_size("0") == 1 and number_size("-1") == 3 and number_size("100") == 2
    assert item_size({"b": {"B": "AAEC"}}) == 1 + 3  # base64 of 3 raw bytes
    assert item_size({"f": {"BOOL": True}, "z": {"NULL": True}}) == 4
    assert item_size({"l": {"L": [{"S": "ab"}, {"NULL": True}]}}) == 1 + 3 + (1 + 2) + (1 + 1)
    assert item_size({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + (1 + 1 + 1)


def test_put_item_counts_list_overhead(mode: str, client: Any) -> None:
    # 210 000 NULLs: 2 bytes each by DynamoDB's rules, 1 by moto's.
    item = {**key("list"), "l": {"L": [{"NULL": True}] * 210_000}}
    assert item_size(item) > MAX_ITEM_BYTES
    expect(
        mode,
        lambda: client.put_item(TableName=TABLE, Item=item),
        "ValidationException",
        ddb_limits.ITEM_TOO_LARGE,
    )


def test_update_item_checks_the_resulting_item(mode: str, client: Any) -> None:
    client.put_item(TableName=TABLE, Item={**key("nested"), "m": {"M": {}}})

    def grow(name: str) -> Any:
        return client.update_item(
            TableName=TABLE,
            Key=key("nested"),
            UpdateExpression=f"SET m.{name} = :v",
            ExpressionAttributeValues={":v": {"S": BIG}},
        )

    grow("a")
    expect(mode, lambda: grow("b"), "ValidationException", ddb_limits.UPDATE_TOO_LARGE)


def test_too_large_item_cancels_a_transaction(strict: None, client: Any) -> None:
    actions = [
        {"Put": {"TableName": TABLE, "Item": key("small")}},
        {"Put": {"TableName": TABLE, "Item": {**key("big"), "a": {"S": BIG}, "b": {"S": BIG}}}},
    ]
    response = refused(lambda: client.transact_write_items(TransactItems=actions))
    assert response["Error"]["Code"] == "TransactionCanceledException"
    assert response["CancellationReasons"] == [
        {"Code": "None"},
        {"Code": "ValidationError", "Message": ddb_limits.ITEM_TOO_LARGE},
    ]
    assert "Item" not in client.get_item(TableName=TABLE, Key=key("small"))


def test_stock_moto_answers_a_bare_validation_error_in_a_transaction(client: Any) -> None:
    big = {**key("big"), "a": {"S": BIG}, "b": {"S": BIG}}
    response = refused(
        lambda: client.transact_write_items(
            TransactItems=[{"Put": {"TableName": TABLE, "Item": big}}]
        )
    )
    assert response["Error"]["Code"] == "ValidationException"


# --- transactions ---------------------------------------------------------------------


def test_transaction_of_more_than_4_mb(mode: str, client: Any) -> None:
    actions = [
        {"Put": {"TableName": TABLE, "Item": {**key(f"t{i}"), "d": {"S": BIG}}}} for i in range(14)
    ]
    expect(
        mode,
        lambda: client.transact_write_items(TransactItems=actions),
        "ValidationException",
        ddb_limits.TRANSACTION_TOO_LARGE,
    )


def test_transaction_limits_moto_already_has(strict: None, client: Any) -> None:
    puts = [{"Put": {"TableName": TABLE, "Item": key(f"t{i}")}} for i in range(101)]
    response = refused(lambda: client.transact_write_items(TransactItems=puts))
    assert "less than or equal to 100" in response["Error"]["Message"]
    same_item = [
        {"Put": {"TableName": TABLE, "Item": key("one")}},
        {"Delete": {"TableName": TABLE, "Key": key("one")}},
    ]
    response = refused(lambda: client.transact_write_items(TransactItems=same_item))
    assert response["Error"]["Message"] == (
        "Transaction request cannot include multiple operations on one item"
    )


# --- batches --------------------------------------------------------------------------


def test_batch_write_of_more_than_25_requests(mode: str, client: Any) -> None:
    puts = [{"PutRequest": {"Item": key(f"b{i}")}} for i in range(26)]
    response = expect(
        mode,
        lambda: client.batch_write_item(RequestItems={TABLE: puts}),
        "ValidationException",
        "1 validation error detected: Value '{limits=[com.amazonaws.dynamodb.v20120810.",
    )
    if mode == "strict":
        assert response["Error"]["Message"].endswith(
            "at 'requestItems' failed to satisfy constraint: Map value must satisfy "
            "constraint: [Member must have length less than or equal to 25, Member must "
            "have length greater than or equal to 1]"
        )


def test_batch_write_of_two_requests_on_one_item(mode: str, client: Any) -> None:
    requests = [
        {"PutRequest": {"Item": {**key("dup"), "v": {"S": "1"}}}},
        {"DeleteRequest": {"Key": key("dup")}},
    ]
    expect(
        mode,
        lambda: client.batch_write_item(RequestItems={TABLE: requests}),
        "ValidationException",
        ddb_limits.DUPLICATE_KEYS,
    )


def test_batch_get_limits_moto_already_has(strict: None, client: Any) -> None:
    keys = [key(f"g{i}") for i in range(101)]
    response = refused(lambda: client.batch_get_item(RequestItems={TABLE: {"Keys": keys}}))
    assert "less than or equal to 100" in response["Error"]["Message"]
    twice = {TABLE: {"Keys": [key("g"), key("g")]}}
    response = refused(lambda: client.batch_get_item(RequestItems=twice))
    assert response["Error"]["Message"] == ddb_limits.DUPLICATE_KEYS


# --- key sizes ------------------------------------------------------------------------

HASH_TOO_LONG = (
    "One or more parameter values were invalid: Size of hashkey has exceeded the maximum "
    "size limit of2048 bytes"
)
RANGE_TOO_LONG = (
    "One or more parameter values were invalid: Aggregated size of all range keys has "
    "exceeded the size limit of 1024 bytes"
)


def test_key_sizes_in_a_get_item_key(mode: str, client: Any) -> None:
    expect(
        mode,
        lambda: client.get_item(TableName=TABLE, Key=key("s", pk="é" * 1025)),
        "ValidationException",
        HASH_TOO_LONG,
    )
    expect(
        mode,
        lambda: client.delete_item(TableName=TABLE, Key=key("s" * 1025)),
        "ValidationException",
        RANGE_TOO_LONG,
    )


def test_key_sizes_moto_already_checks_on_put(strict: None, client: Any) -> None:
    response = refused(lambda: client.put_item(TableName=TABLE, Item=key("s", pk="x" * 2049)))
    assert response["Error"]["Message"] == HASH_TOO_LONG
    assert client.put_item(TableName=TABLE, Item=key("s" * 1024, pk="x" * 2048))


# --- Query pages ----------------------------------------------------------------------

ITEM_DATA = 100_000  # eleven such items pass 1 MB: ten make 1 000 000 bytes and some


def fill(client: Any, count: int) -> None:
    for i in range(count):
        item = {**key(f"{i:03}"), "d": {"S": "x" * ITEM_DATA}, "odd": {"BOOL": i % 2 == 1}}
        client.put_item(TableName=TABLE, Item={**item, "gpk": {"S": "g"}})


def query(client: Any, **extra: Any) -> dict[str, Any]:
    values = {":p": {"S": "p"}, **extra.pop("values", {})}
    page: dict[str, Any] = client.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues=values,
        **extra,
    )
    return page


def test_query_page_ends_once_1_mb_is_read(mode: str, client: Any) -> None:
    fill(client, 30)
    page = query(client)
    # moto stops before 1 000 000 bytes; DynamoDB reads on to the item that reaches 1 MiB.
    expected = 11 if mode == "strict" else 9
    assert (page["Count"], page["ScannedCount"]) == (expected, expected)
    assert page["LastEvaluatedKey"] == key(f"{expected - 1:03}")
    second = query(client, ExclusiveStartKey=page["LastEvaluatedKey"])
    assert second["Items"][0]["sk"] == {"S": f"{expected:03}"}


def test_query_page_counts_items_before_filter_and_projection(strict: None, client: Any) -> None:
    fill(client, 30)
    page = query(
        client,
        FilterExpression="odd = :t",
        ProjectionExpression="sk",
        values={":t": {"BOOL": True}},
    )
    assert page["ScannedCount"] == 11
    assert [item["sk"]["S"] for item in page["Items"]] == ["001", "003", "005", "007", "009"]
    assert page["LastEvaluatedKey"] == key("010")
    counted = query(client, Select="COUNT")
    assert (counted["Count"], counted["LastEvaluatedKey"]) == (11, key("010"))


def test_query_limit_counts_items_before_the_filter(strict: None, client: Any) -> None:
    fill(client, 6)
    page = query(client, Limit=4, FilterExpression="odd = :t", values={":t": {"BOOL": True}})
    assert (page["Count"], page["ScannedCount"]) == (2, 4)
    assert page["LastEvaluatedKey"] == key("003")


def test_query_limit_reaching_the_last_item_gives_a_last_key(mode: str, client: Any) -> None:
    fill(client, 3)
    page = query(client, Limit=3)
    assert page["Count"] == 3
    assert page.get("LastEvaluatedKey") == (key("002") if mode == "strict" else None)


def test_index_query_counts_index_entries(mode: str, client: Any) -> None:
    fill(client, 30)
    page = client.query(
        TableName=TABLE,
        IndexName="sparse",
        KeyConditionExpression="gpk = :g",
        ExpressionAttributeValues={":g": {"S": "g"}},
    )
    # KEYS_ONLY entries are tiny: DynamoDB returns them all; moto counts whole items.
    assert page["Count"] == (30 if mode == "strict" else 9)
