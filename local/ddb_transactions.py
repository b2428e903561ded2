"""moto's TransactWriteItems with an item-level rollback (moto 5.2.5's deep-copies whole tables).

moto 5.2's TransactWriteItems deep-copies every table it touches for rollback and restores
that copy on failure, which erases what other requests committed meanwhile and makes a
transaction's cost grow with the table. `install_patches()` makes it snapshot and restore
only the items it touches. Import fails outside the moto versions this was written for.
"""

from __future__ import annotations

import copy
import importlib.metadata
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from packaging.specifiers import SpecifierSet
from packaging.version import Version

if TYPE_CHECKING:
    from moto.dynamodb.models import DynamoDBBackend

SUPPORTED_MOTO = SpecifierSet(">=5.2,<5.3")


def _check_moto_version() -> str:
    version = importlib.metadata.version("moto")
    if Version(version) not in SUPPORTED_MOTO:
        raise ImportError(
            f"local.ddb_transactions patches moto internals written against moto 5.2.5, but "
            f"moto {version} is installed (needs >=5.2,<5.3); re-check the patch before allowing it"
        )
    return version


# Checked at import, so a moto upgrade fails here rather than silently unpatched.
MOTO_VERSION = _check_moto_version()


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """Replaces moto.dynamodb.models.DynamoDBBackend.transact_write_items, as of moto 5.2.5.

    moto's code (moto/dynamodb/models/__init__.py) with the same checks, order, errors and
    cancellation reasons, except for rollback: the state kept is a copy of each touched item
    (and the stream length) instead of a deep copy of each whole touched table, so a failed
    transaction cannot erase other items and its cost does not grow with the table. Also rolls
    back when an action holds two operations, which moto left half-applied. Relies on requests
    running one at a time.
    """
    # Imported here so that importing this module (e.g. for start_dynamodb) does not load moto.
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()

    # (table, hash key, range key, hash bucket existed, item before) for each touched item.
    snapshots: list[tuple[Any, Any, Any, bool, Any]] = []
    stream_lengths: dict[int, tuple[Any, int]] = {}

    def rollback() -> None:
        for table, hash_key, range_key, bucket_existed, before in reversed(snapshots):
            if range_key is None:
                if before is None:
                    table.items.pop(hash_key, None)
                else:
                    table.items[hash_key] = before
                continue
            if before is None:
                bucket = table.items.get(hash_key)
                if bucket is not None:
                    bucket.pop(range_key, None)
                    if not bucket and not bucket_existed:
                        del table.items[hash_key]
            else:
                table.items[hash_key][range_key] = before
        for shard, length in stream_lengths.values():
            # moto's whole-table restore also dropped the failed transaction's stream records.
            del shard.items[length:]

    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[str, str, dict[str, Any]] | tuple[None, None, None]] = []
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            # moto raised here without rolling back the actions already applied.
            rollback()
            raise TransactWriteSingleOpException

        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")

            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            expression_attribute_names = op.get("ExpressionAttributeNames")
            expression_attribute_values = op.get("ExpressionAttributeValues")
            return_old_on_failure = op.get("ReturnValuesOnConditionCheckFailure")

            if op_type == "Put":
                attrs = op["Item"]
                table = self.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]

            check_unicity(table_name, key)

            # moto's self.get_item(table_name, key), unrolled to keep the key for the snapshot.
            table = self.get_table(table_name)
            hash_key, range_key = self.get_keys_value(table, key)
            bucket_existed = hash_key in table.items
            current = table.get_item(hash_key, range_key)
            snapshots.append((table, hash_key, range_key, bucket_existed, copy.deepcopy(current)))
            if table.stream_shard is not None and id(table) not in stream_lengths:
                shard = table.stream_shard
                stream_lengths[id(table)] = (shard, len(shard.items))

            if condition_expression is not None:
                condition_op = get_filter_expression(
                    condition_expression,
                    expression_attribute_names,
                    expression_attribute_values,
                )
                if not condition_op.expr(current):
                    if return_old_on_failure == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)

            condition = {
                "condition_expression": condition_expression,
                "expression_attribute_names": expression_attribute_names,
                "expression_attribute_values": expression_attribute_values,
            }
            if op_type == "Put":
                self.put_item(table_name, op["Item"], **condition)
            elif op_type == "Delete":
                self.delete_item(table_name, key, **condition)
            elif op_type == "Update":
                self.update_item(
                    table_name, key, update_expression=op["UpdateExpression"], **condition
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            rollback()
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))  # type: ignore[arg-type]
        except Exception as e:
            # moto reports any other failure as that action's cancellation reason.
            errors.append((type(e).__name__, str(e), original_item))  # type: ignore[arg-type]

    if any(code is not None for code, _, _ in errors):
        rollback()
        raise TransactionCanceledException(errors)


# moto's own functions that install_patches replaced, by name, so tests can compare against them.
MOTO_ORIGINALS: dict[str, Callable[..., Any]] = {}


def install_patches() -> None:
    """Make moto's DynamoDB backend use the item-level TransactWriteItems (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend

    current = DynamoDBBackend.transact_write_items
    if current is not _transact_write_items:
        MOTO_ORIGINALS.setdefault("transact_write_items", current)
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
