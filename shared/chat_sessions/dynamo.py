"""The table's DynamoDB client and its error mapping: the one module that calls boto3.

Each method is one typed request, or one batch driven to its end. `ClientError` never
leaves: throttling, an internal error and a failed connection are retried while the
request's deadline allows and then become Unavailable (503), a write into an item another
transaction holds becomes Conflict, a failed condition becomes ConditionFailed.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from chat_sessions import deadline
from chat_sessions.errors import Unavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        PutItemInputTypeDef,
        QueryInputTypeDef,
        TransactWriteItemTypeDef,
        WriteRequestTypeDef,
    )

T = TypeVar("T")
Item = dict[str, Any]  # attribute name -> DynamoDB value ({"S": ...}, {"N": ...}, ...)
Key = dict[str, Any]  # the item's pk and sk
_THROTTLES = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ThrottlingError",
}
# Another transaction holds the item (DynamoDB answers a plain write so, and a repeat of a
# token whose first request is still running): the write did not happen; retry it.
_HELD = {"TransactionConflictException", "TransactionInProgressException"}
# Short timeouts (the read timeout a setting) and our own retries (botocore makes one
# attempt): no attempt starts that could outlast the request's deadline, so a
# throttled or stalled DynamoDB is retried while time allows and then answered with 503.
_CONNECT_SECONDS, _ATTEMPTS = 1.0, 6
_PAGE_BYTES = 4 * 1024 * 1024  # one Query returns at most 1 MB: pages stay under 5 MB
_BATCH_WRITE_MAX = 25
CONDITION_FAILED = "ConditionalCheckFailed"


class Conflict(Exception):
    """The session changed between our read and our write, or another transaction held one
    of its items: read again and retry."""


class ConditionFailed(Exception):
    """A write's condition did not hold; `item` is the item as it was, when asked for."""

    def __init__(self, item: Item | None) -> None:
        super().__init__("condition failed")
        self.item = item


@dataclass(frozen=True)
class Action:
    """One action of a TransactWriteItems, tagged so that a cancellation is read by name."""

    tag: str
    kind: str  # "Put", "Delete" or "ConditionCheck"
    request: dict[str, Any]

    @classmethod
    def put(
        cls,
        tag: str,
        item: Item,
        condition: str | None = None,
        values: Mapping[str, Any] | None = None,
        return_old: bool = False,
    ) -> Action:
        request: dict[str, Any] = {"Item": item}
        if condition is not None:
            request["ConditionExpression"] = condition
        if values:
            request["ExpressionAttributeValues"] = dict(values)
        if return_old:
            request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return cls(tag, "Put", request)

    @classmethod
    def delete(
        cls,
        tag: str,
        key: Key,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> Action:
        request: dict[str, Any] = {"Key": key}
        if condition is not None:
            request["ConditionExpression"] = condition
        if names:
            request["ExpressionAttributeNames"] = dict(names)
        if values:
            request["ExpressionAttributeValues"] = dict(values)
        return cls(tag, "Delete", request)

    @classmethod
    def check(
        cls,
        tag: str,
        key: Key,
        condition: str,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> Action:
        """A ConditionCheck: the transaction holds only if `condition` holds for the item
        (which it reads, never writes)."""
        request: dict[str, Any] = {"Key": key, "ConditionExpression": condition}
        if names:
            request["ExpressionAttributeNames"] = dict(names)
        if values:
            request["ExpressionAttributeValues"] = dict(values)
        return cls(tag, "ConditionCheck", request)


class Cancelled:
    """Why a TransactWriteItems was cancelled, by action tag. `known` is False when
    DynamoDB named no reasons (another transaction held an item)."""

    def __init__(self, reasons: Mapping[str, Mapping[str, Any]]) -> None:
        self.reasons = dict(reasons)
        self.known = bool(reasons)

    def code(self, tag: str) -> str:
        return str(self.reasons.get(tag, {}).get("Code") or "None")

    def failed(self, tag: str) -> bool:
        """Whether the condition of the action tagged `tag` did not hold."""
        return self.code(tag) == CONDITION_FAILED

    def item(self, tag: str) -> Item | None:
        found: Item | None = self.reasons.get(tag, {}).get("Item")
        return found


def new_token() -> str:
    return uuid.uuid4().hex


def backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, min(0.5, 0.01 * 2**attempt)))


def _unavailable() -> Unavailable:
    # What DynamoDB said stays in the log (the handler logs the cause), out of the answer.
    return Unavailable("the service is busy; retry after Retry-After seconds")


class Table:
    """One table, reached through a client created on first use: importing or
    constructing never opens a connection."""

    def __init__(
        self, name: str, client: DynamoDBClient | None = None, read_timeout: float = 3.0
    ) -> None:
        self.name = name
        self._client = client
        self._read_timeout = read_timeout
        # The longest one attempt can take: no attempt starts that could outlast the deadline.
        self._call_seconds = _CONNECT_SECONDS + read_timeout + 0.5

    @property
    def client(self) -> DynamoDBClient:
        if self._client is None:
            config = Config(
                retries={"mode": "standard", "total_max_attempts": 1},
                max_pool_connections=50,
                # botocore's 60 s defaults would outlast the function's own timeout.
                connect_timeout=_CONNECT_SECONDS,
                read_timeout=self._read_timeout,
            )
            self._client = boto3.client("dynamodb", config=config)
        return self._client

    def _send(self, request: Callable[[], T]) -> T:
        """One request, retried with backoff on throttling, an internal error or a failed
        connection while the request's deadline allows; past that, Unavailable (503).
        Retrying a write is safe: a transaction repeats its ClientRequestToken, and a
        session item write recognises its own token."""
        for attempt in range(_ATTEMPTS):
            if not deadline.allows(self._call_seconds):
                raise Unavailable("the request ran out of time; retry")
            try:
                return request()
            except ClientError as exc:
                code = exc.response["Error"]["Code"]
                if code in _HELD:
                    raise Conflict() from exc
                if code == "ConditionalCheckFailedException":
                    found: Any = exc.response.get("Item")
                    raise ConditionFailed(found) from exc
                if code not in _THROTTLES and code != "InternalServerError":
                    raise
                failure: Exception = exc
            except BotoCoreError as exc:
                failure = exc
            pause = random.uniform(0, min(1.0, 0.05 * 2**attempt))
            if attempt + 1 == _ATTEMPTS or not deadline.allows(pause + self._call_seconds):
                break
            time.sleep(pause)
        raise _unavailable() from failure

    def get(self, key: Key) -> Item | None:
        """One item, read consistently."""
        answer = self._send(
            lambda: self.client.get_item(TableName=self.name, Key=key, ConsistentRead=True)
        )
        return answer.get("Item")

    def batch_get(self, keys: Sequence[Key]) -> list[Item]:
        """Items by key (at most 100), read consistently, in one request unless DynamoDB
        leaves some unprocessed; missing ones are left out."""
        if not keys:
            return []
        found: list[Item] = []
        request: Any = {self.name: {"Keys": list(keys), "ConsistentRead": True}}
        for attempt in range(8):
            answer = self._send(partial(self.client.batch_get_item, RequestItems=request))
            found.extend(answer.get("Responses", {}).get(self.name, []))
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                return found
            backoff(attempt)
        raise Unavailable()

    def put(
        self,
        item: Item,
        condition: str,
        values: Mapping[str, Any] | None = None,
        return_old: bool = False,
    ) -> None:
        """A conditional PutItem; ConditionFailed (with the old item when `return_old`)."""
        request: PutItemInputTypeDef = {
            "TableName": self.name,
            "Item": item,
            "ConditionExpression": condition,
        }
        if values:
            request["ExpressionAttributeValues"] = values
        if return_old:
            request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        self._send(lambda: self.client.put_item(**request))

    def delete(self, key: Key, condition: str, values: Mapping[str, Any]) -> None:
        """A conditional DeleteItem; ConditionFailed."""
        self._send(
            lambda: self.client.delete_item(
                TableName=self.name,
                Key=key,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        )

    def update(
        self,
        key: Key,
        update: str,
        condition: str,
        names: Mapping[str, str],
        values: Mapping[str, Any],
    ) -> Item:
        """A conditional UpdateItem: the attributes it set; ConditionFailed."""
        answer = self._send(
            lambda: self.client.update_item(
                TableName=self.name,
                Key=key,
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="UPDATED_NEW",
            )
        )
        return answer["Attributes"]

    def query_page(self, request: QueryInputTypeDef) -> tuple[list[Item], Key | None]:
        """One Query request: the items and the key to go on from, or None."""
        answer = self._send(lambda: self.client.query(**request))
        return answer.get("Items", []), answer.get("LastEvaluatedKey")

    def query(
        self, request: QueryInputTypeDef, limit: int, start: Key | None
    ) -> tuple[list[Item], Key | None]:
        """Query until `limit` items, the end, or about 4 MB: the one way we page."""
        items: list[Item] = []
        size = 0
        last = start
        while True:
            page_request: QueryInputTypeDef = {**request, "Limit": limit - len(items)}
            if last:
                page_request["ExclusiveStartKey"] = last
            page, last = self.query_page(page_request)
            items.extend(page)
            size += sum(len(str(i)) for i in page)
            if not last or len(items) >= limit or size >= _PAGE_BYTES:
                return items, last

    def transact(self, actions: Sequence[Action], token: str | None = None) -> Cancelled | None:
        """One TransactWriteItems: None when it committed, else why it was cancelled.

        Its ClientRequestToken makes botocore's own retries of it (after a lost reply)
        answer as the first attempt did, never applying it twice."""
        items: list[TransactWriteItemTypeDef] = [
            {action.kind: {**action.request, "TableName": self.name}}  # type: ignore[misc]
            for action in actions
        ]
        token = token or new_token()
        try:
            self._send(
                lambda: self.client.transact_write_items(
                    TransactItems=items, ClientRequestToken=token
                )
            )
        except Conflict:
            return Cancelled({})
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            found: Any = exc.response.get("CancellationReasons", [])
            if any(str(r.get("Code")) in _THROTTLES for r in found):
                raise _unavailable() from exc
            # DynamoDB answers one reason per action, in the order of the actions.
            reasons = dict(zip((a.tag for a in actions), found, strict=False)) if found else {}
            return Cancelled(reasons)
        return None

    def batch_delete(self, keys: Sequence[Key], until: float) -> bool:
        """BatchWriteItem, 25 keys a request, unprocessed ones retried with backoff until
        `until` (time.monotonic()); True when all are deleted."""
        for offset in range(0, len(keys), _BATCH_WRITE_MAX):
            pending: list[WriteRequestTypeDef] = [
                {"DeleteRequest": {"Key": k}} for k in keys[offset : offset + _BATCH_WRITE_MAX]
            ]
            attempt = 0
            while pending:
                if time.monotonic() > until:
                    return False
                pending = self._batch_delete_once(pending)
                if pending:
                    backoff(attempt)
                    attempt += 1
        return True

    def _batch_delete_once(self, pending: list[WriteRequestTypeDef]) -> list[WriteRequestTypeDef]:
        """One BatchWriteItem: the requests left unprocessed (all of them when throttled or
        held by a transaction)."""
        try:
            answer = self.client.batch_write_item(RequestItems={self.name: pending})
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code == "InternalServerError":
                # Not retried here (botocore makes one attempt): a DELETE answers 503 and
                # the cleanup stops; what is left is deleted on the next call or run.
                raise _unavailable() from exc
            if code not in _THROTTLES and code not in _HELD:
                raise
            return pending
        except BotoCoreError as exc:
            raise _unavailable() from exc
        unprocessed: Any = answer.get("UnprocessedItems", {}).get(self.name, [])
        return list(unprocessed)
