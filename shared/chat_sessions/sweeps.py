"""The cleanup's sweeps over the table, and deleting a session's items.

The deadline index finds sessions due; a due session is marked expired, or its items are
deleted: the others with BatchWriteItem (which carries no condition), the session item
last, in a TransactWriteItems whose condition checks again that it is gone for good.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chat_sessions import records
from chat_sessions.dynamo import Action, ConditionFailed, Conflict, Key, Table, backoff
from chat_sessions.records import SessionRecord, key, session_key
from chat_sessions.statuses import SessionStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import QueryInputTypeDef

BY_DEADLINE = "by-deadline"
_TRANSACT_MAX = 100  # TransactWriteItems' limit: one request deletes 100 session items
_TRANSACT_ATTEMPTS = 5
_KEYS_PAGE = 10_000
# Not active (stored as such, or past its expiry) and past its grace period: no route can
# write to such a session any more, so nothing can bring it back between check and delete.
_GONE = "delete_after <= :now AND (#status <> :active OR expires_at <= :now)"
_ACTIVE = records.s(SessionStatus.ACTIVE.value)


@dataclass(frozen=True)
class Deadlines:
    """A session's status and its two deadlines: what the cleanup decides on."""

    session_id: str
    status: SessionStatus
    expires_at: str
    delete_after: str
    create_key: str | None = None


Position = Key  # where a sweep of the deadline index goes on from: opaque to the cleanup


class Sweeps:
    def __init__(self, table: Table) -> None:
        self.table = table

    def due_sessions(
        self, shard: str, now: str, start: Position | None, limit: int
    ) -> tuple[list[Deadlines], Position | None]:
        """One page of the shard's sessions whose next deadline is at or before `now`."""
        request: QueryInputTypeDef = {
            "TableName": self.table.name,
            "IndexName": BY_DEADLINE,
            "KeyConditionExpression": "deadline_shard = :shard AND #deadline <= :now",
            "ExpressionAttributeNames": {"#deadline": "deadline"},
            "ExpressionAttributeValues": {":shard": records.s(shard), ":now": records.s(now)},
        }
        items, last = self.table.query(request, limit, start)
        found = [
            Deadlines(
                records.read_s(item, "pk"),
                SessionStatus(records.read_s(item, "status")),
                records.read_s(item, "expires_at"),
                records.read_s(item, "delete_after"),
            )
            for item in items
        ]
        return found, last

    def mark_expired_unless_touched(self, session_id: str, seen_expires_at: str) -> str | None:
        """Store `expired`, and delete_after as the next deadline, unless the session changed
        since the index showed it (any accepted write moves expires_at): its delete_after, or
        None."""
        try:
            attributes = self.table.update(
                session_key(session_id),
                "SET #status = :expired, #deadline = delete_after, revision = revision + :one",
                # The index projects no revision; expires_at is what every accepted write moves.
                "#status = :active AND expires_at = :seen",
                {"#status": "status", "#deadline": "deadline"},
                {
                    ":expired": records.s(SessionStatus.EXPIRED.value),
                    ":active": _ACTIVE,
                    ":seen": records.s(seen_expires_at),
                    ":one": records.n(1),
                },
            )
        except (Conflict, ConditionFailed):
            return None  # written meanwhile: the next run looks again
        return records.read_s(attributes, "deadline")

    def session_keys_and_deadlines(self, session_id: str) -> tuple[Deadlines | None, list[Key]]:
        """The session item's deadlines (None when it is gone) and the keys of its other items.

        Message and version keys follow from the session's counters (seq and versions run
        1..n without gaps); only the message-id guards and Idempotency-Key records, small
        items, are read."""
        guards = self._guard_keys(session_id)
        # Read last: a write that landed meanwhile shows in the deadlines the caller checks.
        item = self.table.get(session_key(session_id))
        if item is None:
            return None, []
        record = SessionRecord.from_item(item)
        deadlines = Deadlines(
            session_id, record.status, record.expires_at, record.delete_after, record.create_key
        )
        return deadlines, _counted_keys(record) + guards

    def _guard_keys(self, session_id: str) -> list[Key]:
        """The keys no counter names: message-id guards and Idempotency-Key records."""
        return [
            found
            for prefix in (records.MSGID_PREFIX, records.IDEM_PREFIX)
            for found in self._keys_with_prefix(session_id, prefix)
        ]

    def _keys_with_prefix(self, session_id: str, prefix: str) -> list[Key]:
        keys: list[Key] = []
        request: QueryInputTypeDef = {
            "TableName": self.table.name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": records.s(session_id),
                ":prefix": records.s(prefix),
            },
            "ProjectionExpression": "pk, sk",
            "ConsistentRead": True,
        }
        last: Key | None = None
        while True:
            page, last = self.table.query(request, _KEYS_PAGE, last)
            keys.extend({"pk": g["pk"], "sk": g["sk"]} for g in page)
            if not last:
                return keys

    def delete_items(self, keys: Sequence[Key], until: float) -> bool:
        """Delete these items, 25 a request, until `until` (time.monotonic()); True when
        all are deleted."""
        return self.table.batch_delete(keys, until)

    def delete_create_key(self, create_key: str, session_id: str) -> None:
        """Forget an Idempotency-Key record with the session it created (and only then)."""
        # Failing: a create is taking the key over, so it no longer names this session.
        with suppress(Conflict, ConditionFailed):
            self.table.delete(
                key(create_key, records.CREATE_KEY_SK),
                "session_id = :sid",
                {":sid": records.s(session_id)},
            )

    def delete_session_items(self, deleted: SessionRecord, until: float) -> bool:
        """Delete every item of a session marked deleted (as written: no write can follow
        that mark, so its counters are final), the session item last.

        Stops at `until` (a time.monotonic() value); True when nothing is left.
        """
        keys = _counted_keys(deleted) + self._guard_keys(deleted.id)
        if not self.delete_items(keys, until):
            return False
        if deleted.create_key is not None:
            self.delete_create_key(deleted.create_key, deleted.id)
        return self.delete_items([session_key(deleted.id)], until)

    def delete_gone_session_items(self, session_ids: list[str], now: str) -> list[str]:
        """Delete these session items, each only if it is not active and its delete_after has
        passed (a condition BatchWriteItem cannot carry), 100 per TransactWriteItems: the ids
        deleted. Call it once the sessions' other items are gone."""
        deleted: list[str] = []
        for offset in range(0, len(session_ids), _TRANSACT_MAX):
            pending = session_ids[offset : offset + _TRANSACT_MAX]
            for attempt in range(_TRANSACT_ATTEMPTS):
                cancelled = self.table.transact([_delete_if_gone(sid, now) for sid in pending])
                if cancelled is None:
                    deleted.extend(pending)
                    break
                if cancelled.known:
                    # A failed condition: the item is gone already (another deleter) or not due.
                    pending = [sid for sid in pending if not cancelled.failed(sid)]
                    if not pending:
                        break
                backoff(attempt)
        return deleted


def _counted_keys(record: SessionRecord) -> list[Key]:
    """The keys of the session's messages and versions, from its counters."""
    sort_keys = [
        *(records.message_sk(seq) for seq in range(1, record.message_count + 1)),
        *(records.version_sk(v) for v in range(1, record.workflow_version + 1)),
        *([records.WORKFLOW_SK] if record.workflow_version else []),
        *([records.SUMMARY_SK] if record.summary_seq else []),
    ]
    return [key(record.id, sk) for sk in sort_keys]


def _delete_if_gone(session_id: str, now: str) -> Action:
    return Action.delete(
        session_id,
        session_key(session_id),
        _GONE,
        {"#status": "status"},
        {":now": records.s(now), ":active": _ACTIVE},
    )
