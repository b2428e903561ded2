"""DynamoDB's limits where moto 5.2.5 lacks them or gets them wrong (a hook of ddb_hooks),
each refused with DynamoDB's error. moto already refuses more than 100 transaction actions,
two actions on one item, more than 100 BatchGetItem keys and duplicate keys there.

- Item size 400 KB by DynamoDB's measure (`item_size`) on PutItem, BatchWriteItem, the item an
  UpdateItem leaves (moto misses nested updates), and each transaction action, where it
  cancels the transaction with reason ValidationError; a transaction's items at most 4 MB.
- BatchWriteItem: at most 25 requests, none two on one item (moto: only identical ones).
- Key sizes (partition 2048 bytes, sort 1024) in every Key of a request, not only in items.
- Query: a page ends once 1 MB of whole items (index entries) has been read, before filter
  and projection, the item reaching 1 MB included; LastEvaluatedKey is the last item read,
  also when `Limit` ends the page (moto stops below 1,000,000 bytes by its own measure).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import math
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from local.ddb_hooks import After

if TYPE_CHECKING:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import Item

KB = 1024
MAX_ITEM_BYTES = 400 * KB
MAX_TRANSACTION_BYTES = 4 * KB * KB
MAX_BATCH_WRITES = 25
MAX_PAGE_BYTES = KB * KB
MAX_HASH_KEY_BYTES = 2048
MAX_RANGE_KEY_BYTES = 1024

ITEM_TOO_LARGE = "Item size has exceeded the maximum allowed size"
UPDATE_TOO_LARGE = "Item size to update has exceeded the maximum allowed size"
# AWS documents the 4 MB limit but not its message; the error type is ValidationException.
TRANSACTION_TOO_LARGE = "Transaction size has exceeded the maximum allowed size of 4 MB"
DUPLICATE_KEYS = "Provided list of item keys contains duplicates"
TOO_MANY_BATCH_WRITES = "Too many items requested for the BatchWriteItem call"


# --- DynamoDB's item size ---------------------------------------------------------------


def value_size(value: Any) -> int:
    """The size of one attribute value (a `{"S": ...}` dict or a moto DynamoType), name excluded."""
    kind, inner = (
        (next(iter(value.items()))) if isinstance(value, dict) else (value.type, value.value)
    )
    if kind == "S":
        return len(inner.encode("utf-8"))
    if kind == "N":
        return number_size(inner)
    if kind == "B":
        return _binary_size(inner)
    if kind == "SS":
        return sum(len(s.encode("utf-8")) for s in inner)
    if kind == "NS":
        return sum(number_size(n) for n in inner)
    if kind == "BS":
        return sum(_binary_size(b) for b in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + value_size(v) for k, v in inner.items())
    return 1  # NULL and BOOL


def item_size(attributes: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it: each attribute's UTF-8 name plus its value."""
    return sum(len(name.encode("utf-8")) + value_size(v) for name, v in attributes.items())


def number_size(text: str) -> int:
    """1 byte per two significant digits (pairs aligned on the exponent), +1, +1 if negative."""
    sign, digits, exponent = Decimal(text).normalize().as_tuple()
    if digits == (0,):
        return 1
    assert isinstance(exponent, int)
    scientific = len(digits) - 1 + exponent
    unaligned = len(digits) % 2 == 0 and scientific % 2 == 0
    return 1 + math.ceil(len(digits) / 2) + int(unaligned) + sign


def _binary_size(value: str | bytes) -> int:
    return len(value) if isinstance(value, bytes) else len(base64.b64decode(value))


def hook(action: str, body: dict[str, Any], backend: DynamoDBBackend) -> After | None:
    if action == "put_item":
        _check_item(body.get("Item", {}), ITEM_TOO_LARGE)
    elif action in ("get_item", "delete_item"):
        _check_key(backend, body["TableName"], body.get("Key", {}))
    elif action == "update_item":
        _check_key(backend, body["TableName"], body.get("Key", {}))
        updated = updated_item(backend, body)
        if updated is not None:
            _check_item(updated, UPDATE_TOO_LARGE)
            _check_key(backend, body["TableName"], updated, index_keys=True)
    elif action == "batch_get_item":
        for table_name, request in body.get("RequestItems", {}).items():
            for key in request.get("Keys", []):
                _check_key(backend, table_name, key)
    elif action == "batch_write_item":
        _check_batch_write(body.get("RequestItems", {}), backend)
    elif action == "transact_get_items":
        for get in body.get("TransactItems", []):
            op = get.get("Get", {})
            _check_key(backend, op.get("TableName", ""), op.get("Key", {}))
    elif action == "transact_write_items":
        _check_transaction(body.get("TransactItems", []), backend)
    elif action == "query":
        return _query_page(body, backend)
    return None


def _check_item(attributes: dict[str, Any], message: str) -> None:
    if item_size(attributes) > MAX_ITEM_BYTES:
        from moto.dynamodb.exceptions import MockValidationException

        raise MockValidationException(message)


def _check_key(
    backend: DynamoDBBackend,
    table_name: str,
    attributes: dict[str, Any],
    *,
    index_keys: bool = False,
) -> None:
    """Refuse a key attribute over its size limit (numbers have none)."""
    from moto.dynamodb.exceptions import HashKeyTooLong, RangeKeyTooLong

    table = backend.tables.get(table_name)
    if table is None:
        return  # moto answers ResourceNotFoundException
    hashes = [table.hash_key_attr]
    ranges = [table.range_key_attr] if table.range_key_attr else []
    for part in (p for index in table.global_indexes for p in index.schema) if index_keys else ():
        (hashes if part["KeyType"] == "HASH" else ranges).append(part["AttributeName"])
    for names, limit, error in (
        (hashes, MAX_HASH_KEY_BYTES, HashKeyTooLong),
        (ranges, MAX_RANGE_KEY_BYTES, RangeKeyTooLong),
    ):
        for name in names:
            value = attributes.get(name)
            is_sized = isinstance(value, dict) and ("S" in value or "B" in value)
            if is_sized and value_size(value) > limit:
                raise error()


def updated_item(backend: DynamoDBBackend, op: dict[str, Any]) -> dict[str, Any] | None:
    """The item an UpdateItem (or a transaction's Update) would leave, applied to a copy;
    None when moto will refuse the request itself or it uses the legacy AttributeUpdates."""
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.parsing.executors import UpdateExpressionExecutor
    from moto.dynamodb.parsing.expressions import (  # type: ignore[attr-defined]
        UpdateExpressionParser,
    )
    from moto.dynamodb.parsing.validators import UpdateExpressionValidator

    expression = op.get("UpdateExpression")
    if not expression:
        return None
    names = op.get("ExpressionAttributeNames") or {}
    try:
        table = backend.get_table(op["TableName"])
        hash_value, range_value = backend.get_keys_value(table, op["Key"])
        current = table.get_item(hash_value, range_value)
        item = (
            copy.deepcopy(current)
            if current is not None
            else Item(hash_value, range_value, attrs=op["Key"])
        )
        validated = UpdateExpressionValidator(
            UpdateExpressionParser.make(expression),
            expression_attribute_names=names,
            expression_attribute_values=op.get("ExpressionAttributeValues") or {},
            item=item,
            table=table,
        ).validate()
        validated.normalize()
        UpdateExpressionExecutor(validated, item, names).execute()
    except Exception:  # moto's own run of the request reports what is wrong with it
        return None
    return {name: value.to_json() for name, value in item.attrs.items()}


def _check_batch_write(request_items: dict[str, list[Any]], backend: DynamoDBBackend) -> None:
    from moto.dynamodb.exceptions import MockValidationException

    if any(len(requests) > MAX_BATCH_WRITES for requests in request_items.values()):
        raise MockValidationException(_batch_too_long(request_items))
    if sum(len(requests) for requests in request_items.values()) > MAX_BATCH_WRITES:
        raise MockValidationException(TOO_MANY_BATCH_WRITES)
    for table_name, requests in request_items.items():
        seen: set[str] = set()
        for request in requests:
            put = request.get("PutRequest")
            attributes = put["Item"] if put else request.get("DeleteRequest", {}).get("Key", {})
            if put:
                _check_item(attributes, ITEM_TOO_LARGE)
            else:
                _check_key(backend, table_name, attributes)
            identity = _key_identity(backend, table_name, attributes)
            if identity in seen:
                raise MockValidationException(DUPLICATE_KEYS)
            seen.add(identity)


def _batch_too_long(request_items: dict[str, list[Any]]) -> str:
    """DynamoDB's message, which lists the requests as Java object names."""

    def java_name(request: Any) -> str:
        digest = hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode())
        return f"com.amazonaws.dynamodb.v20120810.WriteRequest@{digest.hexdigest()[:8]}"

    tables = ", ".join(
        f"{name}=[{', '.join(java_name(r) for r in requests)}]"
        for name, requests in request_items.items()
    )
    return (
        f"1 validation error detected: Value '{{{tables}}}' at 'requestItems' failed to "
        "satisfy constraint: Map value must satisfy constraint: [Member must have length "
        f"less than or equal to {MAX_BATCH_WRITES}, Member must have length greater than "
        "or equal to 1]"
    )


def _key_identity(backend: DynamoDBBackend, table_name: str, attributes: dict[str, Any]) -> str:
    table = backend.tables.get(table_name)
    names = [table.hash_key_attr, table.range_key_attr] if table is not None else []
    return json.dumps([attributes.get(n) for n in names if n], sort_keys=True, default=str)


def _check_transaction(actions: list[dict[str, Any]], backend: DynamoDBBackend) -> None:
    from moto.dynamodb.exceptions import MockValidationException, TransactionCanceledException

    reasons: list[tuple[str | None, str | None, None]] = []
    total = 0
    for action in actions:
        kind, op = next(iter(action.items()))
        _check_key(backend, op.get("TableName", ""), op.get("Key", {}))
        size, message = _written_size(kind, op, backend)
        total += size
        too_large = message is not None and size > MAX_ITEM_BYTES
        reasons.append(("ValidationError", message, None) if too_large else (None, None, None))
    if any(code is not None for code, _, _ in reasons):
        raise TransactionCanceledException(reasons)
    if total > MAX_TRANSACTION_BYTES:
        raise MockValidationException(TRANSACTION_TOO_LARGE)


def _written_size(
    kind: str, op: dict[str, Any], backend: DynamoDBBackend
) -> tuple[int, str | None]:
    """The size a transaction action counts for, and the message if it is too large."""
    if kind == "Put":
        return item_size(op.get("Item", {})), ITEM_TOO_LARGE
    if kind == "Update":
        updated = updated_item(backend, op)
        if updated is not None:
            return item_size(updated), UPDATE_TOO_LARGE
    # A Delete or ConditionCheck writes no item data: only its key counts.
    return item_size(op.get("Key", {})), None


# --- Query pages ------------------------------------------------------------------------


class QueryReader:
    """Reads a Query's items through moto's backend without filter or projection, in pages
    chained on LastEvaluatedKey so that moto's own 1,000,000-byte stop does not end it."""

    def __init__(self, body: dict[str, Any], backend: DynamoDBBackend) -> None:
        from moto.dynamodb.parsing.key_condition_expression import parse_expression

        self.body = body
        self.backend = backend
        self.table = backend.get_table(body["TableName"])
        self.index_name: str | None = body.get("IndexName")
        hashes, self.ranges, _ = parse_expression(
            key_condition_expression=body["KeyConditionExpression"],
            expression_attribute_names=body.get("ExpressionAttributeNames", {}),
            expression_attribute_values=body.get("ExpressionAttributeValues", {}),
            schema=backend.get_schema(table_name=body["TableName"], index_name=self.index_name),
        )
        self.hashes = hashes

    @classmethod
    def of(cls, body: dict[str, Any], backend: DynamoDBBackend) -> QueryReader | None:
        """A reader for `body`, or None for what it does not handle (legacy parameters, or a
        request moto will refuse itself)."""
        if "KeyConditionExpression" not in body or any(
            legacy in body for legacy in ("KeyConditions", "QueryFilter", "AttributesToGet")
        ):
            return None
        try:
            return cls(body, backend)
        except Exception:  # moto's own run of the request reports what is wrong with it
            return None

    def chunk(
        self, start: dict[str, Any] | None, limit: int | None, *, filtered: bool = False
    ) -> tuple[list[Item], int, dict[str, Any] | None]:
        """One run of moto's query from `start`: (items, scanned count, LastEvaluatedKey)."""
        from moto.dynamodb.responses import ProjectionExpressionParser

        names = self.body.get("ExpressionAttributeNames", {})
        projection = (
            ProjectionExpressionParser(self.body.get("ProjectionExpression"), names).parse()
            if filtered
            else None
        )
        last = self.ranges[-1] if self.ranges else None
        items, scanned, last_key = self.backend.query(
            self.body["TableName"],
            self.hashes[0][1] if self.hashes else None,
            last[1] if last else None,
            last[2] if last else [],
            limit,  # type: ignore[arg-type]  # moto reads None as no limit
            start,  # type: ignore[arg-type]
            self.body.get("ScanIndexForward", True),
            projection,
            index_name=self.index_name,
            consistent_read=self.body.get("ConsistentRead", False),
            expr_names=names,
            expr_values=self.body.get("ExpressionAttributeValues"),
            filter_expression=self.body.get("FilterExpression") if filtered else None,
            hash_key_conditions=self.hashes,
            range_key_conditions=self.ranges,
        )
        return items, scanned, last_key

    def read(self, limit: int | None, budget: int | None) -> tuple[list[Item], bool]:
        """The whole items a page reads from ExclusiveStartKey: up to `limit` items, stopping
        once `budget` bytes are read; and whether the page stopped before the end."""
        read: list[Item] = []
        size = 0
        start = self.body.get("ExclusiveStartKey")
        while True:
            remaining = None if limit is None else limit - len(read)
            items, _, start = self.chunk(start, remaining)
            for item in items:
                read.append(item)
                size += item_size(item.attrs)
                if budget is not None and size >= budget:
                    return read, True
            if limit is not None and len(read) >= limit:
                return read, True
            if start is None or not items:
                return read, False

    def last_key(self, item: Item) -> dict[str, Any]:
        return self.table._get_last_evaluated_key(item, self.index_name)


def _query_page(body: dict[str, Any], backend: DynamoDBBackend) -> After | None:
    reader = QueryReader.of(body, backend)
    if reader is None:
        return None
    try:
        read, stopped = reader.read(body.get("Limit"), MAX_PAGE_BYTES)
    except Exception:  # moto's own run of the request reports what is wrong with it
        return None
    if not read:
        return None
    from moto.dynamodb.models.utilities import dynamo_to_dict

    count = len(read)
    body["Limit"] = count
    last_key = dynamo_to_dict(reader.last_key(read[-1]))

    def page(result: dict[str, Any]) -> None:
        # moto stopped short of the page at its own size limit: read on from where it stopped.
        while result["ScannedCount"] < count and result.get("LastEvaluatedKey"):
            items, scanned, next_key = reader.chunk(
                result["LastEvaluatedKey"], count - result["ScannedCount"], filtered=True
            )
            result["LastEvaluatedKey"] = next_key
            if "Items" in result:
                result["Items"].extend(dynamo_to_dict(item.attrs) for item in items)
            result["Count"] += len(items)
            result["ScannedCount"] += scanned
            if not scanned:
                break
        if stopped:
            result["LastEvaluatedKey"] = last_key
        else:
            result.pop("LastEvaluatedKey", None)

    return page
