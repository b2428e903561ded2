"""All DynamoDB access of the service: the only module that talks to DynamoDB.

Reads and writes items of one table keyed by session id (see records.py). Writes that
belong together go in one TransactWriteItems with conditions. `ClientError` never leaves
this module: it becomes a domain exception (errors.py) or one of the signals below.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from chat_sessions import deadline, records
from chat_sessions.errors import Unavailable
from chat_sessions.records import CurrentWorkflow, MessageRecord, SessionRecord, VersionRecord

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BY_OWNER = "by-owner"
BY_DEADLINE = "by-deadline"
_THROTTLES = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ThrottlingError",
}
_TRANSACT_MAX = 100  # TransactWriteItems' limit: one request deletes 100 session items
_TRANSACT_ATTEMPTS = 5
_KEYS_PAGE = 10_000
# Not active (stored as such, or past its expiry) and past its grace period: no route can
# write to such a session any more, so nothing can bring it back between check and delete.
_GONE = "delete_after <= :now AND (#status <> :active OR expires_at <= :now)"
_PAGE_BYTES = 4 * 1024 * 1024  # one Query returns at most 1 MB: pages stay under 5 MB
# Another transaction holds the item (DynamoDB answers a plain write so, and a repeat of a
# token whose first request is still running): the write did not happen; retry it.
_HELD = {"TransactionConflictException", "TransactionInProgressException"}
# Short timeouts and our own retries (botocore makes one attempt): each attempt costs at
# most _CALL_SECONDS, and none starts that could outlast the request's deadline, so a
# throttled or stalled DynamoDB is retried while time allows and then answered with 503.
_CONNECT_SECONDS, _READ_SECONDS, _ATTEMPTS = 1.0, 3.0, 6
_CALL_SECONDS = _CONNECT_SECONDS + _READ_SECONDS + 0.5
# Which write last replaced the session item: a retry whose condition fails on an item that
# carries its own token learns that its first attempt was applied (its reply was lost).
LAST_WRITE = "last_write"


class Deadlines:
    """A session's status and its two deadlines: what the cleanup decides on."""

    __slots__ = ("create_key", "delete_after", "expires_at", "session_id", "status")

    def __init__(
        self,
        session_id: str,
        status: str,
        expires_at: str,
        delete_after: str,
        create_key: str | None = None,
    ) -> None:
        self.session_id = session_id
        self.status = status
        self.expires_at = expires_at
        self.delete_after = delete_after
        self.create_key = create_key

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Deadlines:
        return cls(
            records.read_s(item, "pk"),
            records.read_s(item, "status"),
            records.read_s(item, "expires_at"),
            records.read_s(item, "delete_after"),
        )


class Conflict(Exception):
    """The session changed between our read and our write, or another transaction held one
    of its items: read again and retry."""


class DuplicateMessageId(Exception):
    """A message id of this write is already in the session."""

    def __init__(self, message_id: str) -> None:
        super().__init__(message_id)
        self.message_id = message_id


class AlreadyExists(Exception):
    """The session item to be created exists already."""


class KeyTaken(Exception):
    """The create's Idempotency-Key names another session now: read it again."""


def _unavailable(exc: Exception) -> Unavailable:
    # What DynamoDB said stays in the log (the handler logs the cause), out of the answer.
    return Unavailable("the service is busy; retry after Retry-After seconds")


class Store:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        # Created on first use: importing or constructing never opens a connection.
        if self._client is None:
            config = Config(
                retries={"mode": "standard", "total_max_attempts": 1},
                max_pool_connections=50,
                # botocore's 60 s defaults would outlast the function's own timeout.
                connect_timeout=_CONNECT_SECONDS,
                read_timeout=_READ_SECONDS,
            )
            self._client = boto3.client("dynamodb", config=config)
        return self._client

    def _call(self, operation: str, **kwargs: Any) -> Any:
        """One request on this store's table."""
        return self._request(operation, TableName=self.table_name, **kwargs)

    def _request(self, operation: str, **kwargs: Any) -> Any:
        """One request, retried with backoff on throttling, an internal error or a failed
        connection while the request's deadline allows; past that, Unavailable (503). A
        write into an item another transaction holds is Conflict; other ClientErrors are
        left to the caller. Retrying a write is safe: a transaction repeats its
        ClientRequestToken, and a session item write recognises its own token."""
        for attempt in range(_ATTEMPTS):
            if not deadline.allows(_CALL_SECONDS):
                raise Unavailable("the request ran out of time; retry")
            try:
                return getattr(self.client, operation)(**kwargs)
            except ClientError as exc:
                code = exc.response["Error"]["Code"]
                if code in _HELD:
                    raise Conflict() from exc
                if code not in _THROTTLES and code != "InternalServerError":
                    raise
                failure: Exception = exc
            except BotoCoreError as exc:
                failure = exc
            pause = random.uniform(0, min(1.0, 0.05 * 2**attempt))
            if attempt + 1 == _ATTEMPTS or not deadline.allows(pause + _CALL_SECONDS):
                break
            time.sleep(pause)
        raise _unavailable(failure) from failure

    def _get(self, session_id: str, sort_key: str) -> dict[str, Any] | None:
        """One item of a session, read consistently."""
        answer = self._call(
            "get_item",
            Key={"pk": records.s(session_id), "sk": records.s(sort_key)},
            ConsistentRead=True,
        )
        item: dict[str, Any] | None = answer.get("Item")
        return item

    # --- sessions -------------------------------------------------------------------

    def get_session(self, session_id: str) -> SessionRecord | None:
        item = self._get(session_id, records.SESSION_SK)
        return SessionRecord.from_item(item) if item else None

    def get_session_and_message_id(
        self, session_id: str, message_id: str
    ) -> tuple[SessionRecord | None, int | None]:
        """The session and the seq of `message_id` if that id is taken: one BatchGetItem."""
        found = self._batch_get(session_id, [records.SESSION_SK, records.message_id_sk(message_id)])
        session, guard = found
        return (
            SessionRecord.from_item(session) if session else None,
            records.read_n(guard, "seq") if guard else None,
        )

    def get_session_and_workflow(
        self, session_id: str
    ) -> tuple[SessionRecord | None, CurrentWorkflow | None]:
        """The session and its current workflow: one BatchGetItem."""
        session, current = self._batch_get(session_id, [records.SESSION_SK, records.WORKFLOW_SK])
        return (
            SessionRecord.from_item(session) if session else None,
            CurrentWorkflow.from_item(current) if current else None,
        )

    def get_current_workflow(self, session_id: str) -> CurrentWorkflow | None:
        item = self._get(session_id, records.WORKFLOW_SK)
        return CurrentWorkflow.from_item(item) if item else None

    def _batch_get(self, session_id: str, sort_keys: list[str]) -> list[dict[str, Any] | None]:
        """Items of one session by sort key (None where missing), consistently, in one request
        unless DynamoDB leaves some unprocessed."""
        keys = [{"pk": records.s(session_id), "sk": records.s(sk)} for sk in sort_keys]
        found: dict[str, dict[str, Any]] = {}
        request: dict[str, Any] = {self.table_name: {"Keys": keys, "ConsistentRead": True}}
        for attempt in range(8):
            answer = self._request("batch_get_item", RequestItems=request)
            for item in answer.get("Responses", {}).get(self.table_name, []):
                found[item["sk"]["S"]] = item
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                return [found.get(sk) for sk in sort_keys]
            _backoff(attempt)
        raise Unavailable()

    def create_session(
        self,
        session: SessionRecord,
        first: MessageRecord | None,
        replaces: str | None = None,
    ) -> None:
        """Put a new session (and its first message, and the record of the Idempotency-Key
        that creates it) if its id is free; else AlreadyExists. KeyTaken: the key's record
        names a session other than `replaces` (None: the key must be new). Conflict: another
        transaction held one of the items; nothing was written."""
        token = _token()
        put = {
            "Item": {**session.to_item(), LAST_WRITE: records.s(token)},
            "ConditionExpression": "attribute_not_exists(pk)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if first is None and session.create_key is None:
            try:
                self._call("put_item", **put)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                if not _written_by(exc.response.get("Item"), token):
                    raise AlreadyExists() from exc
            return
        actions: list[dict[str, Any]] = [
            {"Put": put},
            *self._message_puts([first] if first else []),
        ]
        if session.create_key is not None:
            key_item = records.create_key_item(session.create_key, session.id, session.ttl)
            if replaces is None:
                actions.append(
                    {"Put": {"Item": key_item, "ConditionExpression": "attribute_not_exists(pk)"}}
                )
            else:
                actions.append(
                    {
                        "Put": {
                            "Item": key_item,
                            "ConditionExpression": "session_id = :replaced",
                            "ExpressionAttributeValues": {":replaced": records.s(replaces)},
                        }
                    }
                )
        reasons = self._transact(actions, token)
        if reasons is None or _written_by(reasons[0].get("Item"), token):
            return
        if _code(reasons[0]) == "ConditionalCheckFailed":
            raise AlreadyExists()
        if session.create_key is not None and _code(reasons[-1]) == "ConditionalCheckFailed":
            raise KeyTaken()
        raise Conflict()

    def create_key_holder(self, key_pk: str) -> str | None:
        """The id of the session an Idempotency-Key of POST /sessions created, if recorded."""
        item = self._get(key_pk, records.CREATE_KEY_SK)
        return records.read_s(item, "session_id") if item else None

    def delete_create_key(self, key_pk: str, session_id: str) -> None:
        """Forget an Idempotency-Key record with the session it created (and only then)."""
        try:
            self._call(
                "delete_item",
                Key={"pk": records.s(key_pk), "sk": records.s(records.CREATE_KEY_SK)},
                ConditionExpression="session_id = :sid",
                ExpressionAttributeValues={":sid": records.s(session_id)},
            )
        except Conflict:
            pass  # a create is taking the key over: it no longer names this session
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def write_session(
        self,
        seen: SessionRecord,
        updated: SessionRecord,
        messages: Sequence[MessageRecord] = (),
        extra_puts: Sequence[dict[str, Any]] = (),
        replacements: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Replace the session item read as `seen` with `updated`, adding the given items.

        One request: a PutItem, or a TransactWriteItems when items come with it. The
        session must not have changed since it was read (its revision), so concurrent
        writers never overwrite each other: the loser gets Conflict and tries again.
        `extra_puts` must be new items; `replacements` overwrite items the revision guards.
        """
        token = _token()
        put = {
            "Item": {**updated.to_item(), LAST_WRITE: records.s(token)},
            "ConditionExpression": "attribute_exists(pk) AND revision = :seen",
            "ExpressionAttributeValues": {":seen": records.n(seen.revision)},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if not messages and not extra_puts and not replacements:
            try:
                self._call("put_item", **put)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                if not _written_by(exc.response.get("Item"), token):
                    raise Conflict() from exc
            return
        actions: list[dict[str, Any]] = [
            {"Put": put},
            *self._message_puts(messages),
            *(
                {"Put": {"Item": extra, "ConditionExpression": "attribute_not_exists(pk)"}}
                for extra in extra_puts
            ),
            *({"Put": {"Item": replacement}} for replacement in replacements),
        ]
        reasons = self._transact(actions, token)
        if reasons is None or _written_by(reasons[0].get("Item"), token):
            return
        for index, reason in enumerate(reasons[1 : 1 + 2 * len(messages)]):
            if _code(reason) == "ConditionalCheckFailed" and index % 2 == 1:
                raise DuplicateMessageId(messages[index // 2].id)
        raise Conflict()

    def _message_puts(self, messages: Sequence[MessageRecord]) -> Iterator[dict[str, Any]]:
        for message in messages:
            yield {
                "Put": {
                    "Item": message.to_item(),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            yield {
                "Put": {
                    "Item": message.guard_item(),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }

    def _transact(
        self, actions: list[dict[str, Any]], token: str | None = None
    ) -> list[dict[str, Any]] | None:
        """Run one TransactWriteItems; None when it committed, else the cancellation
        reasons, one per action ({"Code": ..., "Item"?: ...}).

        Its ClientRequestToken makes botocore's own retries of it (after a lost reply)
        answer as the first attempt did, never applying it twice."""
        for action in actions:
            next(iter(action.values()))["TableName"] = self.table_name
        try:
            self._request(
                "transact_write_items",
                TransactItems=actions,
                ClientRequestToken=token or _token(),
            )
        except Conflict:
            return [{"Code": "TransactionConflict"}]
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code == "TransactionCanceledException":
                found: Any = exc.response.get("CancellationReasons", [])
                reasons: list[dict[str, Any]] = list(found)
                if any(_code(r) in _THROTTLES for r in reasons):
                    raise _unavailable(exc) from exc
                return reasons or [{"Code": "TransactionConflict"}]
            raise
        return None

    def list_sessions(
        self, owner: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[tuple[SessionRecord, str]], dict[str, Any] | None]:
        """The caller's sessions, most recently updated first: one page of at most `limit`
        keys from the keys-only owner index, and those session items in one BatchGetItem
        (a session deleted meanwhile is left out), each with the `updated_at` the index
        holds for it (its position). The index key to go on from, or None."""
        kwargs: dict[str, Any] = {
            "IndexName": BY_OWNER,
            "KeyConditionExpression": "#owner = :owner",
            "ExpressionAttributeNames": {"#owner": "owner"},
            "ExpressionAttributeValues": {":owner": records.s(owner)},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start:
            kwargs["ExclusiveStartKey"] = start
        answer = self._call("query", **kwargs)
        keys = [(item["pk"]["S"], item["updated_at"]["S"]) for item in answer.get("Items", [])]
        found = self._batch_get_sessions([sid for sid, _ in keys])
        page = [(found[sid], position) for sid, position in keys if sid in found]
        return page, answer.get("LastEvaluatedKey")

    def _batch_get_sessions(self, session_ids: list[str]) -> dict[str, SessionRecord]:
        """Session items by id (at most 100), read consistently; missing ones left out."""
        if not session_ids:
            return {}
        keys = [{"pk": records.s(i), "sk": records.s(records.SESSION_SK)} for i in session_ids]
        request: dict[str, Any] = {self.table_name: {"Keys": keys, "ConsistentRead": True}}
        found: dict[str, SessionRecord] = {}
        for attempt in range(8):
            answer = self._request("batch_get_item", RequestItems=request)
            for item in answer.get("Responses", {}).get(self.table_name, []):
                found[item["pk"]["S"]] = SessionRecord.from_item(item)
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                return found
            _backoff(attempt)
        raise Unavailable()

    # --- messages -------------------------------------------------------------------

    def get_message(self, session_id: str, seq: int) -> MessageRecord | None:
        item = self._get(session_id, records.message_sk(seq))
        return MessageRecord.from_item(item) if item else None

    def list_messages(
        self,
        session_id: str,
        limit: int,
        ascending: bool,
        after_seq: int | None,
        start: dict[str, Any] | None,
    ) -> tuple[list[MessageRecord], dict[str, Any] | None]:
        low = records.message_sk(after_seq + 1) if after_seq is not None else records.MSG_PREFIX
        items, last = self._query_pages(
            limit,
            start,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
            ExpressionAttributeValues={
                ":pk": records.s(session_id),
                ":low": records.s(low),
                ":high": records.s(records.MSG_PREFIX + "9" * records.SEQ_WIDTH),
            },
            ScanIndexForward=ascending,
            ConsistentRead=True,
        )
        return [MessageRecord.from_item(i) for i in items], last

    # --- workflow versions ----------------------------------------------------------

    def get_version(self, session_id: str, version: int) -> VersionRecord | None:
        item = self._get(session_id, records.version_sk(version))
        return VersionRecord.from_item(item) if item else None

    def list_versions(
        self, session_id: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[VersionRecord], dict[str, Any] | None]:
        """Newest first, without the workflows."""
        items, last = self._query_pages(
            limit,
            start,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
            ExpressionAttributeValues={
                ":pk": records.s(session_id),
                ":low": records.s(records.version_sk(0)),
                ":high": records.s(records.version_sk(10**records.SEQ_WIDTH - 1)),
            },
            ProjectionExpression=(
                "pk, sk, version, created_at, #source, note, message_id, reverted_from, "
                "changes, #ttl"
            ),
            ExpressionAttributeNames={"#source": "source", "#ttl": "ttl"},
            ScanIndexForward=False,
            ConsistentRead=True,
        )
        return [VersionRecord.from_item(i) for i in items], last

    # --- deletion -------------------------------------------------------------------

    def delete_session_items(self, session_id: str, deadline: float) -> bool:
        """Delete every item of the session, the session item last.

        Stops at `deadline` (a time.monotonic() value); True when nothing is left.
        """
        found, rest = self.session_keys_and_deadlines(session_id)
        if found is None:
            return True
        if not self.delete_items(rest, deadline):
            return False
        if found.create_key is not None:
            self.delete_create_key(found.create_key, session_id)
        session_key = {"pk": records.s(session_id), "sk": records.s(records.SESSION_SK)}
        return self.delete_items([session_key], deadline)

    def session_keys_and_deadlines(
        self, session_id: str
    ) -> tuple[Deadlines | None, list[dict[str, Any]]]:
        """The session item's deadlines (None when it is gone) and the keys of its other items.

        Message and version keys follow from the session's counters (seq and versions run
        1..n without gaps); only the message-id guards, a few dozen bytes each, are read."""
        guards: list[dict[str, Any]] = []
        last: dict[str, Any] | None = None
        while True:
            page, last = self._query_pages(
                _KEYS_PAGE,
                last,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :guard)",
                ExpressionAttributeValues={
                    ":pk": records.s(session_id),
                    ":guard": records.s(records.MSGID_PREFIX),
                },
                ProjectionExpression="pk, sk",
                ConsistentRead=True,
            )
            guards.extend({"pk": g["pk"], "sk": g["sk"]} for g in page)
            if not last:
                break
        # Read last: a write that landed meanwhile shows in the deadlines the caller checks.
        item = self._get(session_id, records.SESSION_SK)
        if item is None:
            return None, []
        record = SessionRecord.from_item(item)
        deadlines = Deadlines(
            session_id, record.status, record.expires_at, record.delete_after, record.create_key
        )
        sort_keys = [
            *(records.message_sk(seq) for seq in range(1, record.message_count + 1)),
            *(records.version_sk(v) for v in range(1, record.workflow_version + 1)),
            *([records.WORKFLOW_SK] if record.workflow_version else []),
        ]
        keys = [{"pk": records.s(session_id), "sk": records.s(sk)} for sk in sort_keys]
        return deadlines, keys + guards

    def delete_items(self, keys: list[dict[str, Any]], deadline: float) -> bool:
        """BatchWriteItem, 25 keys a request, unprocessed ones retried with backoff until
        `deadline` (time.monotonic()); True when all are deleted."""
        for offset in range(0, len(keys), 25):
            pending: list[Any] = [{"DeleteRequest": {"Key": k}} for k in keys[offset : offset + 25]]
            attempt = 0
            while pending:
                if time.monotonic() > deadline:
                    return False
                answer: Any
                try:
                    answer = self.client.batch_write_item(RequestItems={self.table_name: pending})
                except ClientError as exc:
                    code = exc.response["Error"]["Code"]
                    if code == "InternalServerError":
                        raise _unavailable(exc) from exc  # botocore retried it already
                    if code not in _THROTTLES and code not in _HELD:
                        raise
                    answer = {"UnprocessedItems": {self.table_name: pending}}
                except BotoCoreError as exc:
                    raise _unavailable(exc) from exc
                pending = answer.get("UnprocessedItems", {}).get(self.table_name, [])
                if pending:
                    _backoff(attempt)
                    attempt += 1
        return True

    # --- cleanup (the scheduled function's queries and writes) -------------------------

    def due_sessions(
        self, shard: str, now: str, start: dict[str, Any] | None, limit: int
    ) -> tuple[list[Deadlines], dict[str, Any] | None]:
        """One page of the shard's sessions whose next deadline is at or before `now`."""
        items, last = self._query_pages(
            limit,
            start,
            IndexName=BY_DEADLINE,
            KeyConditionExpression="deadline_shard = :shard AND #deadline <= :now",
            ExpressionAttributeNames={"#deadline": "deadline"},
            ExpressionAttributeValues={":shard": records.s(shard), ":now": records.s(now)},
        )
        return [Deadlines.from_item(i) for i in items], last

    def mark_expired_unless_touched(self, session_id: str, seen_expires_at: str) -> str | None:
        """Store `expired`, and delete_after as the next deadline, unless the session changed
        since the index showed it (any accepted write moves expires_at): its delete_after, or
        None."""
        try:
            answer = self._call(
                "update_item",
                Key={"pk": records.s(session_id), "sk": records.s(records.SESSION_SK)},
                UpdateExpression=(
                    "SET #status = :expired, #deadline = delete_after, revision = revision + :one"
                ),
                # The index projects no revision; expires_at is what every accepted write moves.
                ConditionExpression="#status = :active AND expires_at = :seen",
                ExpressionAttributeNames={"#status": "status", "#deadline": "deadline"},
                ExpressionAttributeValues={
                    ":expired": records.s("expired"),
                    ":active": records.s("active"),
                    ":seen": records.s(seen_expires_at),
                    ":one": records.n(1),
                },
                ReturnValues="UPDATED_NEW",
            )
        except Conflict:
            return None  # written meanwhile: the next run looks again
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return records.read_s(answer["Attributes"], "deadline")

    def delete_gone_session_items(self, session_ids: list[str], now: str) -> list[str]:
        """Delete these session items, each only if it is not active and its delete_after has
        passed (a condition BatchWriteItem cannot carry), 100 per TransactWriteItems: the ids
        deleted. Call it once the sessions' other items are gone."""
        deleted: list[str] = []
        for offset in range(0, len(session_ids), _TRANSACT_MAX):
            pending = session_ids[offset : offset + _TRANSACT_MAX]
            for attempt in range(_TRANSACT_ATTEMPTS):
                reasons = self._transact([_delete_if_gone(sid, now) for sid in pending])
                if reasons is None:
                    deleted.extend(pending)
                    break
                if len(reasons) == len(pending):
                    # A failed condition: the item is gone already (another deleter) or not due.
                    pending = [
                        sid
                        for sid, reason in zip(pending, reasons, strict=True)
                        if _code(reason) != "ConditionalCheckFailed"
                    ]
                    if not pending:
                        break
                _backoff(attempt)
        return deleted

    # --- paging ---------------------------------------------------------------------

    def _query_pages(
        self, limit: int, start: dict[str, Any] | None, **query: Any
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Query until `limit` items, the end, or about 4 MB: the one way we page."""
        items: list[dict[str, Any]] = []
        size = 0
        last = start
        while True:
            kwargs = dict(query, Limit=limit - len(items))
            if last:
                kwargs["ExclusiveStartKey"] = last
            answer = self._call("query", **kwargs)
            page = answer.get("Items", [])
            items.extend(page)
            size += sum(len(str(i)) for i in page)
            last = answer.get("LastEvaluatedKey")
            if not last or len(items) >= limit or size >= _PAGE_BYTES:
                return items, last


def _token() -> str:
    return uuid.uuid4().hex


def _written_by(item: Any, token: str) -> bool:
    """Whether `item` (as a failed condition returned it) was written with `token`."""
    return isinstance(item, dict) and item.get(LAST_WRITE, {}).get("S") == token


def _code(reason: dict[str, Any]) -> str:
    return str(reason.get("Code") or "None")


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, min(0.5, 0.01 * 2**attempt)))


def _delete_if_gone(session_id: str, now: str) -> dict[str, Any]:
    return {
        "Delete": {
            "Key": {"pk": records.s(session_id), "sk": records.s(records.SESSION_SK)},
            "ConditionExpression": _GONE,
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":now": records.s(now),
                ":active": records.s("active"),
            },
        }
    }
