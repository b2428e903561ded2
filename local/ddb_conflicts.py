"""Transaction conflicts and request tokens as DynamoDB has them (a hook of ddb_hooks).

DynamoDB does not queue writers behind a transaction: while a TransactWriteItems is being
applied, another transaction touching one of its items is cancelled (reason
`TransactionConflict`) and a PutItem, UpdateItem or DeleteItem on one of them fails with
`TransactionConflictException`; a BatchWriteItem's conflicting requests come back
unprocessed. Plain reads see the last committed state.

Here a transaction that was applied holds its items until its reply is sent: the server
(`local.dynamodb`) sends it `tx_seconds` after applying it, outside its lock, so other
requests run meanwhile and meet the hold; in-process (`mock_aws`, one request at a time
per caller) the hold ends with the request.

A TransactWriteItems repeated with the same `ClientRequestToken` within 10 minutes is
answered as DynamoDB does: success and nothing applied when the request is the same,
`IdempotentParameterMismatchException` when it differs, `TransactionInProgressException`
while the first one still holds its items.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from local.ddb_hooks import After, Answer

if TYPE_CHECKING:
    from moto.dynamodb.models import DynamoDBBackend

TOKEN_SECONDS = 600.0  # how long DynamoDB remembers a ClientRequestToken
ItemKey = tuple[str, str]  # (table name, the key's attribute values as canonical JSON)


def _error(kind: str, message: str) -> Exception:
    from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException

    return DynamodbException(ERROR_TYPE_PREFIX + kind, message)


def item_key(backend: DynamoDBBackend, table_name: str, attributes: dict[str, Any]) -> ItemKey:
    """The identity of the item that `attributes` (a key or a whole item) names."""
    table = backend.get_table(table_name)
    names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
    key = {name: attributes.get(name) for name in names}
    return table_name, json.dumps(key, sort_keys=True)


def transaction_keys(backend: DynamoDBBackend, body: dict[str, Any]) -> list[ItemKey]:
    """The item each action of a TransactWriteItems touches, in order."""
    keys = []
    for action in body.get("TransactItems", []):
        op = next(iter(action.values()))
        keys.append(item_key(backend, op["TableName"], op.get("Key") or op.get("Item") or {}))
    return keys


class Conflicts:
    """The items that applied transactions hold until their replies are sent."""

    def __init__(self, tx_seconds: float, *, release_with_request: bool) -> None:
        self.tx_seconds = tx_seconds
        self.release_with_request = release_with_request
        self._lock = threading.Lock()
        self._held: dict[ItemKey, int] = {}  # item -> the holding transaction
        self._holders: dict[int, list[ItemKey]] = {}
        self._tokens: dict[str, tuple[str, float, int]] = {}  # token -> (digest, when, holder)
        self._ids = itertools.count(1)
        self._local = threading.local()

    # --- the hook ---------------------------------------------------------------------

    def hook(self, action: str, body: dict[str, Any], backend: DynamoDBBackend) -> After | None:
        if action == "transact_write_items":
            return self._transaction(body, backend)
        if action in ("put_item", "update_item", "delete_item"):
            attributes = body.get("Key") or body.get("Item") or {}
            if self._is_held(item_key(backend, body["TableName"], attributes)):
                raise _error(
                    "TransactionConflictException",
                    "Transaction is ongoing for the item",
                )
            return None
        if action == "batch_write_item":
            return self._batch_write(body, backend)
        return None

    def _transaction(self, body: dict[str, Any], backend: DynamoDBBackend) -> After:
        keys = transaction_keys(backend, body)
        token = body.get("ClientRequestToken")
        digest = _digest(body)
        with self._lock:
            self._forget_old_tokens()
            if token is not None and token in self._tokens:
                seen, _, holder = self._tokens[token]
                if seen != digest:
                    raise _error(
                        "IdempotentParameterMismatchException",
                        "The request uses the same client token as a previous, but "
                        "non-identical request.",
                    )
                if holder in self._holders:
                    raise _error(
                        "TransactionInProgressException",
                        "The transaction with the given request token is already in progress.",
                    )
                raise Answer({})
            held = [self._held.get(key) is not None for key in keys]
        if any(held):
            from moto.dynamodb.exceptions import TransactionCanceledException

            raise TransactionCanceledException(
                [
                    ("TransactionConflict", "Transaction is ongoing for the item", None)
                    if is_held
                    else (None, None, None)
                    for is_held in held
                ]
            )

        def applied(result: dict[str, Any]) -> None:
            with self._lock:
                holder = next(self._ids)
                self._holders[holder] = keys
                for key in keys:
                    self._held[key] = holder
                if token is not None:
                    self._tokens[token] = (digest, time.monotonic(), holder)
            if self.release_with_request:
                self._release(holder)
            else:
                self._local.pending = (holder, time.monotonic() + self.tx_seconds)

        return applied

    def _batch_write(self, body: dict[str, Any], backend: DynamoDBBackend) -> After | None:
        """Take the requests on held items out of the batch and report them unprocessed."""
        unprocessed: dict[str, list[Any]] = {}
        for table_name, requests in list(body.get("RequestItems", {}).items()):
            kept: list[Any] = []
            for request in requests:
                op = next(iter(request.values()))
                key = item_key(backend, table_name, op.get("Key") or op.get("Item") or {})
                (unprocessed.setdefault(table_name, []) if self._is_held(key) else kept).append(
                    request
                )
            body["RequestItems"][table_name] = kept
        if not unprocessed:
            return None

        def report(result: dict[str, Any]) -> None:
            result["UnprocessedItems"] = unprocessed

        return report

    # --- holds ------------------------------------------------------------------------

    def _is_held(self, key: ItemKey) -> bool:
        with self._lock:
            return key in self._held

    def _release(self, holder: int) -> None:
        with self._lock:
            for key in self._holders.pop(holder, []):
                if self._held.get(key) == holder:
                    del self._held[key]

    def _forget_old_tokens(self) -> None:
        cutoff = time.monotonic() - TOKEN_SECONDS
        for token in [t for t, (_, when, _) in self._tokens.items() if when < cutoff]:
            del self._tokens[token]

    def finish_reply(self, sleep: Callable[[float], None] = time.sleep) -> None:
        """Called by the server once the request is applied and the lock released: keep the
        items this thread's transaction holds until its service time is over, then free them."""
        pending: tuple[int, float] | None = getattr(self._local, "pending", None)
        if pending is None:
            return
        self._local.pending = None
        holder, until = pending
        try:
            remaining = until - time.monotonic()
            if remaining > 0:
                sleep(remaining)
        finally:
            self._release(holder)


def _digest(body: dict[str, Any]) -> str:
    request = {k: v for k, v in body.items() if k not in ("ClientRequestToken",)}
    text = json.dumps(request, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
