"""The session aggregate's reads and writes: records in, records out.

A session and everything under its key (messages, their id guards, workflow versions, the
current workflow) are one aggregate, written together in one TransactWriteItems whose
session item is conditioned on the revision that was read. The item layout is records.py's;
list positions are opaque to callers: this module makes them from items and index keys,
and checks the ones a cursor brings back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from chat_sessions import clock, records
from chat_sessions.dynamo import Action, ConditionFailed, Conflict, Item, Key, Table, new_token
from chat_sessions.errors import BadRequest
from chat_sessions.models import canonical_uuid
from chat_sessions.records import (
    CurrentWorkflow,
    KeyRecord,
    MessageRecord,
    SessionRecord,
    SummaryRecord,
    VersionRecord,
    key,
    session_key,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import QueryInputTypeDef

R = TypeVar("R")
Position = list[str]  # where a list goes on from: opaque outside this module
BY_OWNER = "by-owner"
# Which write last replaced the session item: a retry whose condition fails on an item that
# carries its own token learns that its first attempt was applied (its reply was lost).
LAST_WRITE = "last_write"
NEW_ITEM = "attribute_not_exists(pk)"
SESSION, CREATE_KEY, VERSION, CURRENT = "session", "create key", "version", "current workflow"
IDEMPOTENCY_KEY, SUMMARY = "idempotency key", "summary"
_MESSAGE_SK = re.compile(r"^MSG#\d{10}$")
_VERSION_SK = re.compile(r"^WF#\d{10}$")
_VERSION_FIELDS = (
    "pk, sk, version, created_at, #source, note, message_id, reverted_from, changes, #ttl"
)


class DuplicateMessageId(Exception):
    """A message id of this write is already in the session."""

    def __init__(self, message_id: str) -> None:
        super().__init__(message_id)
        self.message_id = message_id


class AlreadyExists(Exception):
    """The session item to be created exists already."""


class KeyTaken(Exception):
    """The create's Idempotency-Key names another session now: read it again."""


@dataclass
class Snapshot:
    """A session with the items of it that one operation needs, read in one request."""

    session: SessionRecord | None
    current: CurrentWorkflow | None = None
    key: KeyRecord | None = None
    summary: SummaryRecord | None = None
    message_seq: int | None = None  # the seq of the client message id asked for, if taken


@dataclass
class Page(Generic[R]):
    """One page of a list: each record with its position, and where to go on from."""

    entries: list[tuple[R, Position]]
    next: Position | None


def invalid_position() -> BadRequest:
    return BadRequest("cursor is not valid for this list")


class SessionStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    # --- reads ----------------------------------------------------------------------

    def get_session(self, session_id: str) -> SessionRecord | None:
        item = self.table.get(session_key(session_id))
        return SessionRecord.from_item(item) if item else None

    def snapshot(
        self,
        session_id: str,
        *,
        workflow: bool = False,
        summary: bool = False,
        idempotency_key: str | None = None,
        message_id: str | None = None,
    ) -> Snapshot:
        """The session and what else is asked for, consistently: one GetItem, or one
        BatchGetItem when more than the session is asked for."""
        wanted = [records.SESSION_SK]
        if workflow:
            wanted.append(records.WORKFLOW_SK)
        if summary:
            wanted.append(records.SUMMARY_SK)
        if idempotency_key is not None:
            wanted.append(records.idempotency_sk(idempotency_key))
        if message_id is not None:
            wanted.append(records.message_id_sk(message_id))
        if len(wanted) == 1:
            item = self.table.get(session_key(session_id))
            found = {records.SESSION_SK: item} if item else {}
        else:
            found = self._by_sort_key(session_id, wanted)

        def read(sort_key: str | None, convert: Callable[[Item], R]) -> R | None:
            item = found.get(sort_key) if sort_key is not None else None
            return convert(item) if item else None

        key_sk = records.idempotency_sk(idempotency_key) if idempotency_key else None
        guard_sk = records.message_id_sk(message_id) if message_id else None
        return Snapshot(
            read(records.SESSION_SK, SessionRecord.from_item),
            read(records.WORKFLOW_SK, CurrentWorkflow.from_item),
            read(key_sk, KeyRecord.from_item),
            read(records.SUMMARY_SK, SummaryRecord.from_item),
            read(guard_sk, lambda item: records.read_n(item, "seq")),
        )

    def get_summary(self, session_id: str) -> SummaryRecord | None:
        item = self.table.get(key(session_id, records.SUMMARY_SK))
        return SummaryRecord.from_item(item) if item else None

    def get_session_and_workflow(
        self, session_id: str
    ) -> tuple[SessionRecord | None, CurrentWorkflow | None]:
        """The session and its current workflow: one BatchGetItem."""
        found = self._by_sort_key(session_id, [records.SESSION_SK, records.WORKFLOW_SK])
        session, current = found.get(records.SESSION_SK), found.get(records.WORKFLOW_SK)
        return (
            SessionRecord.from_item(session) if session else None,
            CurrentWorkflow.from_item(current) if current else None,
        )

    def get_current_workflow(self, session_id: str) -> CurrentWorkflow | None:
        item = self.table.get(key(session_id, records.WORKFLOW_SK))
        return CurrentWorkflow.from_item(item) if item else None

    def get_message(self, session_id: str, seq: int) -> MessageRecord | None:
        item = self.table.get(key(session_id, records.message_sk(seq)))
        return MessageRecord.from_item(item) if item else None

    def get_version(self, session_id: str, version: int) -> VersionRecord | None:
        item = self.table.get(key(session_id, records.version_sk(version)))
        return VersionRecord.from_item(item) if item else None

    def _by_sort_key(self, session_id: str, sort_keys: list[str]) -> dict[str, Item]:
        items = self.table.batch_get([key(session_id, sk) for sk in sort_keys])
        return {records.read_s(item, "sk"): item for item in items}

    # --- lists ----------------------------------------------------------------------

    def list_sessions(self, owner: str, limit: int, after: Position | None) -> Page[SessionRecord]:
        """The caller's sessions, most recently updated first: one page of at most `limit`
        keys from the keys-only owner index, and those session items in one BatchGetItem
        (a session deleted meanwhile is left out), each positioned by the `updated_at` the
        index holds for it."""
        request: QueryInputTypeDef = {
            "TableName": self.table.name,
            "IndexName": BY_OWNER,
            "KeyConditionExpression": "#owner = :owner",
            "ExpressionAttributeNames": {"#owner": "owner"},
            "ExpressionAttributeValues": {":owner": records.s(owner)},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if after is not None:
            request["ExclusiveStartKey"] = _owner_index_key(owner, after)
        items, last = self.table.query_page(request)
        positions = [[records.read_s(i, "pk"), records.read_s(i, "updated_at")] for i in items]
        found = {
            record.id: record
            for record in map(
                SessionRecord.from_item,
                self.table.batch_get([session_key(sid) for sid, _ in positions]),
            )
        }
        entries = [(found[p[0]], p) for p in positions if p[0] in found]
        return Page(entries, _owner_index_position(last) if last else None)

    def list_messages(
        self,
        session_id: str,
        limit: int,
        ascending: bool,
        after_seq: int | None,
        after: Position | None,
    ) -> Page[MessageRecord]:
        low = records.message_sk(after_seq + 1) if after_seq is not None else records.MSG_PREFIX
        high = records.MSG_PREFIX + "9" * records.SEQ_WIDTH
        request = _sort_key_range(self.table.name, session_id, low, high, ascending)
        return self._child_page(
            request,
            session_id,
            limit,
            after,
            _MESSAGE_SK,
            MessageRecord.from_item,
            lambda message: records.message_sk(message.seq),
        )

    def list_versions(
        self, session_id: str, limit: int, after: Position | None
    ) -> Page[VersionRecord]:
        """Newest first, without the workflows."""
        low, high = records.version_sk(0), records.version_sk(10**records.SEQ_WIDTH - 1)
        request = _sort_key_range(self.table.name, session_id, low, high, False)
        request["ProjectionExpression"] = _VERSION_FIELDS
        request["ExpressionAttributeNames"] = {"#source": "source", "#ttl": "ttl"}
        return self._child_page(
            request,
            session_id,
            limit,
            after,
            _VERSION_SK,
            VersionRecord.from_item,
            lambda version: records.version_sk(version.version),
        )

    def _child_page(
        self,
        request: QueryInputTypeDef,
        session_id: str,
        limit: int,
        after: Position | None,
        sort_keys: re.Pattern[str],
        from_item: Callable[[Item], R],
        sort_key_of: Callable[[R], str],
    ) -> Page[R]:
        """One page of a session's items of one kind, positioned by their sort keys."""
        start = None
        if after is not None:
            if not sort_keys.match(after[0]):
                raise invalid_position()
            start = key(session_id, after[0])
        items, last = self.table.query(request, limit, start)
        found = [from_item(item) for item in items]
        return Page(
            [(record, [sort_key_of(record)]) for record in found],
            [records.read_s(last, "sk")] if last else None,
        )

    # --- writes ---------------------------------------------------------------------

    def create_key_id(self, owner: str, idempotency_key: str) -> str:
        """The id under which a create records the session its Idempotency-Key made."""
        return records.create_key_pk(owner, idempotency_key)

    def session_created_with(self, create_key: str) -> tuple[str, str] | None:
        """The id of the session an Idempotency-Key of POST /sessions or POST
        /sessions/import created, and the fingerprint of that request, if recorded."""
        item = self.table.get(key(create_key, records.CREATE_KEY_SK))
        if item is None:
            return None
        return records.read_s(item, "session_id"), records.read_opt_s(item, "fingerprint") or ""

    def create_session(
        self,
        session: SessionRecord,
        first: MessageRecord | None,
        replaces: str | None = None,
        fingerprint: str = "",
    ) -> None:
        """Put a new session (and its first message, and the record of the Idempotency-Key
        that creates it) if its id is free; else AlreadyExists. KeyTaken: the key's record
        names a session other than `replaces` (None: the key must be new). Conflict: another
        transaction held one of the items; nothing was written."""
        token = new_token()
        item = {**session.to_item(), LAST_WRITE: records.s(token)}
        if first is None and session.create_key is None:
            try:
                self.table.put(item, NEW_ITEM, return_old=True)
            except ConditionFailed as exc:
                if not _written_by(exc.item, token):
                    raise AlreadyExists() from exc
            return
        actions = [
            Action.put(SESSION, item, NEW_ITEM, return_old=True),
            *_message_puts([first] if first else []),
        ]
        if session.create_key is not None:
            key_item = records.create_key_item(
                session.create_key, session.id, session.ttl, fingerprint
            )
            if replaces is None:
                actions.append(Action.put(CREATE_KEY, key_item, NEW_ITEM))
            else:
                replaced = {":replaced": records.s(replaces)}
                actions.append(Action.put(CREATE_KEY, key_item, "session_id = :replaced", replaced))
        cancelled = self.table.transact(actions, token)
        if cancelled is None or _written_by(cancelled.item(SESSION), token):
            return
        if cancelled.failed(SESSION):
            raise AlreadyExists()
        if session.create_key is not None and cancelled.failed(CREATE_KEY):
            raise KeyTaken()
        raise Conflict()

    def write_session(
        self,
        seen: SessionRecord,
        updated: SessionRecord,
        messages: Sequence[MessageRecord] = (),
        version: VersionRecord | None = None,
        *,
        key_record: KeyRecord | None = None,
        summary: SummaryRecord | None = None,
        removed: Sequence[str] = (),
    ) -> None:
        """Replace the session item read as `seen` with `updated`, adding new messages, a
        new version (which becomes the current workflow), a summary (replacing the stored
        one), removing the items of `removed` (sort keys), and recording the request's
        Idempotency-Key.

        One request: a PutItem, or a TransactWriteItems when items come with it. The
        session must not have changed since it was read (its revision), so concurrent
        writers never overwrite each other: the loser gets Conflict and tries again. So
        does a request whose Idempotency-Key another request recorded meanwhile: read
        again, it is a replay.
        """
        token = new_token()
        item = {**updated.to_item(), LAST_WRITE: records.s(token)}
        condition = "attribute_exists(pk) AND revision = :seen"
        seen_revision = {":seen": records.n(seen.revision)}
        alone = not messages and version is None and summary is None and not removed
        if alone and key_record is None:
            try:
                self.table.put(item, condition, seen_revision, return_old=True)
            except ConditionFailed as exc:
                if not _written_by(exc.item, token):
                    raise Conflict() from exc
            return
        actions = [
            Action.put(SESSION, item, condition, seen_revision, return_old=True),
            *_message_puts(messages),
        ]
        if version is not None:
            actions.append(Action.put(VERSION, version.to_item(), NEW_ITEM))
            # The current workflow is overwritten: the session's revision guards it.
            actions.append(Action.put(CURRENT, version.current_item()))
        if summary is not None:
            actions.append(Action.put(SUMMARY, summary.to_item()))
        actions.extend(Action.delete(f"remove {sk}", key(seen.id, sk)) for sk in removed)
        if key_record is not None:
            actions.append(Action.put(IDEMPOTENCY_KEY, key_record.to_item(), NEW_ITEM))
        cancelled = self.table.transact(actions, token)
        if cancelled is None or _written_by(cancelled.item(SESSION), token):
            return
        for message in messages:
            if cancelled.failed(_guard_tag(message)):
                raise DuplicateMessageId(message.id)
        raise Conflict()

    def record_key(self, key_record: KeyRecord) -> None:
        """Record the Idempotency-Key of a request that wrote nothing else (a write that
        changed nothing). Conflict when the key was recorded meanwhile: read it again."""
        try:
            self.table.put(key_record.to_item(), NEW_ITEM)
        except ConditionFailed as exc:
            raise Conflict() from exc

    # --- the conversation: rewind and context ---------------------------------------

    def message_ids(self, session_id: str, first_seq: int, last_seq: int) -> dict[int, str]:
        """The ids of the messages first_seq..last_seq by seq (what a rewind removes with
        their id guards): one Query of their keys and ids."""
        low, high = records.message_sk(first_seq), records.message_sk(last_seq)
        request = _sort_key_range(self.table.name, session_id, low, high, True)
        request["ProjectionExpression"] = "#seq, #id"
        request["ExpressionAttributeNames"] = {"#seq": "seq", "#id": "id"}
        items, _ = self.table.query(request, last_seq - first_seq + 1, None)
        return {records.read_n(item, "seq"): records.read_s(item, "id") for item in items}

    def messages_newest_first(
        self, session_id: str, first_seq: int, last_seq: int, limit: int
    ) -> list[MessageRecord]:
        """Up to `limit` of the messages first_seq..last_seq, the newest first."""
        low, high = records.message_sk(first_seq), records.message_sk(last_seq)
        request = _sort_key_range(self.table.name, session_id, low, high, False)
        items, _ = self.table.query(request, limit, None)
        return [MessageRecord.from_item(item) for item in items]


def _message_puts(messages: Sequence[MessageRecord]) -> Iterator[Action]:
    for message in messages:
        yield Action.put(f"message {message.seq}", message.to_item(), NEW_ITEM)
        yield Action.put(_guard_tag(message), message.guard_item(), NEW_ITEM)


def _guard_tag(message: MessageRecord) -> str:
    return f"message id {message.id}"


def _written_by(item: Item | None, token: str) -> bool:
    """Whether `item` (as a failed condition returned it) was written with `token`."""
    return isinstance(item, dict) and item.get(LAST_WRITE, {}).get("S") == token


def _sort_key_range(
    table: str, session_id: str, low: str, high: str, ascending: bool
) -> QueryInputTypeDef:
    return {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :low AND :high",
        "ExpressionAttributeValues": {
            ":pk": records.s(session_id),
            ":low": records.s(low),
            ":high": records.s(high),
        },
        "ScanIndexForward": ascending,
        "ConsistentRead": True,
    }


def _owner_index_key(owner: str, position: Position) -> Key:
    session_id, updated_at = position
    if canonical_uuid(session_id) is None:
        raise invalid_position()
    try:
        clock.from_text(updated_at)
    except ValueError as exc:
        raise invalid_position() from exc
    return {
        **session_key(session_id),
        "owner": records.s(owner),
        "updated_at": records.s(updated_at),
    }


def _owner_index_position(last: Key) -> Position:
    return [records.read_s(last, "pk"), records.read_s(last, "updated_at")]
