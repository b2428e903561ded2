"""Consumed capacity by DynamoDB's rules (a hook of ddb_hooks); moto reports a constant.

With `ReturnConsumedCapacity` TOTAL or INDEXES each data-plane response gets DynamoDB's
`ConsumedCapacity` (a list for batch and transaction calls), and without it none:

- writes: 1 unit per started KB of the larger of the item before and after (PutItem,
  UpdateItem, DeleteItem, each BatchWriteItem request; at least 1); transactions twice that,
  a ConditionCheck counting as a write of the item it checks;
- each global secondary index an item is (or was) in: 1 unit per KB of its entry, a delete
  plus a put when the write changes the index key, nothing when the projected entry is
  unchanged or the item is in neither version of a sparse index;
- reads: 1 unit per started 4 KB of the whole item (at least 1), half when eventually
  consistent; a Query sums the sizes of the items (index entries) it read, before filter and
  projection, then rounds; TransactGetItems counts each item twice.

`write_units` and `read_units` give the units for an item size, for tests and benchmarks.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from local.ddb_hooks import After
from local.ddb_limits import QueryReader, item_size

if TYPE_CHECKING:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4 * 1024
TRANSACTION_FACTOR = 2

Attributes = dict[str, Any]  # an item's attributes (moto DynamoType values)
Measure = Callable[[dict[str, Any]], list["Consumed"]]  # the response -> units consumed


def write_units(size: int) -> float:
    """Write units of writing an item of `size` bytes (1 per started KB, at least 1)."""
    return float(max(1, math.ceil(size / WRITE_UNIT_BYTES)))


def read_units(size: int, *, consistent: bool = True) -> float:
    """Read units of reading `size` bytes (1 per started 4 KB, at least 1; half if eventual)."""
    units = float(max(1, math.ceil(size / READ_UNIT_BYTES)))
    return units if consistent else units / 2


@dataclass
class Consumed:
    """The units one request consumed on one table and its indexes."""

    table_name: str
    read: bool
    table: float = 0.0
    indexes: dict[str, float] = field(default_factory=dict)

    def shape(self, mode: str) -> dict[str, Any]:
        """DynamoDB's ConsumedCapacity for this table; `mode` is TOTAL or INDEXES."""
        kind = "ReadCapacityUnits" if self.read else "WriteCapacityUnits"
        total = self.table + sum(self.indexes.values())
        shaped: dict[str, Any] = {"TableName": self.table_name, "CapacityUnits": total, kind: total}
        if mode == "INDEXES":
            shaped["Table"] = {"CapacityUnits": self.table, kind: self.table}
            if self.indexes:
                shaped["GlobalSecondaryIndexes"] = {
                    name: {"CapacityUnits": units, kind: units}
                    for name, units in self.indexes.items()
                }
        return shaped


def index_write_units(
    table: Table, old: Attributes | None, new: Attributes | None
) -> dict[str, float]:
    """The write units each global secondary index of `table` takes for old -> new."""
    units: dict[str, float] = {}
    for index in table.global_indexes:
        before, after = _entry(table, index, old), _entry(table, index, new)
        if before == after:
            continue
        if before is None or after is None:
            units[index.name] = write_units(item_size(before or after or {}))
        elif any(before[name] != after[name] for name in index.schema_key_attrs):
            units[index.name] = write_units(item_size(before)) + write_units(item_size(after))
        else:
            units[index.name] = write_units(max(item_size(before), item_size(after)))
    return units


def _entry(table: Table, index: Any, item: Attributes | None) -> Attributes | None:
    """The entry `item` has in `index`: None when it lacks an index key (a sparse index)."""
    if item is None or any(name not in item for name in index.schema_key_attrs):
        return None
    projection = index.projection or {}
    if projection.get("ProjectionType", "ALL") == "ALL":
        return dict(item)
    keys = [table.hash_key_attr, table.range_key_attr, *index.schema_key_attrs]
    names = keys + list(projection.get("NonKeyAttributes", []))
    return {name: item[name] for name in names if name and name in item}


class Capacity:
    """The hook, and the units it counted (whether or not the requests asked for them)."""

    def __init__(self) -> None:
        self.read_units = 0.0
        self.write_units = 0.0

    def hook(self, action: str, body: dict[str, Any], backend: DynamoDBBackend) -> After | None:
        mode = body.get("ReturnConsumedCapacity", "NONE")
        try:
            measure = self._measure(action, body, backend)
        except Exception:  # moto's own run of the request reports what is wrong with it
            return None
        if measure is None:
            return None

        def report(result: dict[str, Any]) -> None:
            consumed = measure(result)
            for one in consumed:
                total = one.table + sum(one.indexes.values())
                if one.read:
                    self.read_units += total
                else:
                    self.write_units += total
            result.pop("ConsumedCapacity", None)
            if mode in ("TOTAL", "INDEXES"):
                shaped = [one.shape(mode) for one in consumed]
                single = action not in ("batch_get_item", "batch_write_item") and not (
                    action.startswith("transact_")
                )
                result["ConsumedCapacity"] = shaped[0] if single else shaped

        return report

    def _measure(
        self, action: str, body: dict[str, Any], backend: DynamoDBBackend
    ) -> Measure | None:
        """Reads what must be read before the action; returns what measures after it."""
        consistent = bool(body.get("ConsistentRead", False))
        if action == "get_item":
            read = [(body["TableName"], body["Key"], read_units_of(consistent))]
            return _reads(backend, read)
        if action == "batch_get_item":
            reads = [
                (name, key, read_units_of(bool(request.get("ConsistentRead", False))))
                for name, request in body["RequestItems"].items()
                for key in request["Keys"]
            ]
            return _reads(backend, reads)
        if action == "transact_get_items":
            twice = read_units_of(True, TRANSACTION_FACTOR)
            gets = [(g["Get"]["TableName"], g["Get"]["Key"], twice) for g in body["TransactItems"]]
            return _reads(backend, gets)
        if action == "query":
            return _query(body, backend)
        if action in ("put_item", "update_item", "delete_item"):
            return _writes(backend, [(body["TableName"], body.get("Key") or body["Item"], 1)])
        if action == "batch_write_item":
            writes = [
                (name, op.get("Key") or op["Item"], 1)
                for name, requests in body["RequestItems"].items()
                for request in requests
                for op in request.values()
            ]
            return _writes(backend, writes)
        if action == "transact_write_items":
            writes = []
            for transact in body["TransactItems"]:
                kind, op = next(iter(transact.items()))
                factor = -TRANSACTION_FACTOR if kind == "ConditionCheck" else TRANSACTION_FACTOR
                writes.append((op["TableName"], op.get("Key") or op["Item"], factor))
            return _writes(backend, writes)
        return None


def read_units_of(consistent: bool, factor: int = 1) -> Callable[[int], float]:
    return lambda size: factor * read_units(size, consistent=consistent)


def _current(backend: DynamoDBBackend, table_name: str, key: dict[str, Any]) -> Attributes | None:
    """A copy of the stored item `key` (or a whole item) names, or None."""
    table = backend.get_table(table_name)
    names = [table.hash_key_attr, table.range_key_attr]
    hash_value, range_value = backend.get_keys_value(table, {n: key[n] for n in names if n})
    item = table.get_item(hash_value, range_value)
    return None if item is None else dict(copy.deepcopy(item).attrs)


def _reads(
    backend: DynamoDBBackend, reads: list[tuple[str, dict[str, Any], Callable[[int], float]]]
) -> Measure:
    by_table: dict[str, Consumed] = {}
    for table_name, key, units in reads:
        item = _current(backend, table_name, key)
        one = by_table.setdefault(table_name, Consumed(table_name, read=True))
        one.table += units(item_size(item) if item is not None else 0)
    return lambda result: list(by_table.values())


def _writes(backend: DynamoDBBackend, writes: list[tuple[str, dict[str, Any], int]]) -> Measure:
    """`writes`: (table, key or item, factor); a negative factor checks without writing."""
    before = [_current(backend, table_name, key) for table_name, key, _ in writes]

    def measure(result: dict[str, Any]) -> list[Consumed]:
        by_table: dict[str, Consumed] = {}
        for (table_name, key, factor), old in zip(writes, before, strict=True):
            one = by_table.setdefault(table_name, Consumed(table_name, read=False))
            new = old if factor < 0 else _current(backend, table_name, key)
            sizes = [item_size(item) for item in (old, new) if item is not None]
            one.table += abs(factor) * write_units(max(sizes, default=0))
            if factor > 0:
                indexes = index_write_units(backend.get_table(table_name), old, new)
                for name, units in indexes.items():
                    one.indexes[name] = one.indexes.get(name, 0.0) + units
        return list(by_table.values())

    return measure


def _query(body: dict[str, Any], backend: DynamoDBBackend) -> Measure | None:
    reader = QueryReader.of(body, backend)
    if reader is None:
        return None
    table_name = body["TableName"]
    index_name = body.get("IndexName")
    consistent = bool(body.get("ConsistentRead", False))

    def measure(result: dict[str, Any]) -> list[Consumed]:
        scanned = int(result.get("ScannedCount", 0))
        # Read again what the page read: the response holds items after filter and projection.
        items = reader.read(scanned, None)[0] if scanned else []
        units = read_units(sum(item_size(item.attrs) for item in items), consistent=consistent)
        one = Consumed(table_name, read=True)
        if index_name and any(i.name == index_name for i in reader.table.global_indexes):
            one.indexes[index_name] = units
        else:
            one.table = units
        return [one]

    return measure
