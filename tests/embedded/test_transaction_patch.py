"""local.ddb_transactions, the item-level TransactWriteItems that replaces moto's: the same
errors, items and stream records as moto's own, no table copied, rolled back where moto's was
not, and refused with a moto it was not written for."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from local.ddb_transactions import MOTO_ORIGINALS, _transact_write_items
from local.dynamodb import ROOT
from tests.helpers.transactions import four_actions, key

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


def error_leaving_nothing(actions: list[dict[str, Any]]) -> str:
    """Runs `actions` through the replacement on a fresh backend; the error's name, once the
    items and the stream are checked to be as they were before."""
    untouched = run_in_moto(lambda backend, actions: None, [])[1:]
    error, *state = run_in_moto(_transact_write_items, actions)
    assert error is not None
    assert state == list(untouched)
    return str(error[0])


def test_an_action_with_two_operations_leaves_earlier_actions_undone() -> None:
    # Given a transaction whose second action holds both a Put and a Delete
    actions = [
        four_actions("chat", "open")[0],
        {
            "Put": {"TableName": "chat", "Item": key("X")},
            "Delete": {"TableName": "chat", "Key": key("D")},
        },
    ]

    # When it runs (moto's own left the first action applied), then it is rejected and the
    # first action was rolled back
    assert error_leaving_nothing(actions) == "TransactWriteSingleOpException"


def test_a_cancelled_transaction_naming_its_table_by_arn_is_rolled_back_too() -> None:
    # Given the failing transaction, addressing the table by ARN (moto kept no copy then)
    actions = four_actions("arn:aws:dynamodb:us-east-1:123456789012:table/chat", "closed")

    # When it runs, then it is cancelled and nothing it did is left
    assert error_leaving_nothing(actions) == "TransactionCanceledException"


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
