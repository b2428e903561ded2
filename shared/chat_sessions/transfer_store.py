"""DynamoDB access of fork, export and import: a session's messages and versions read page
by page, and a new session written in as few transactions as DynamoDB's limits allow,
invisible until the last one.

A copied session may hold more items than one TransactWriteItems takes (100 actions, 4 MB).
The first transaction then puts its session item as BUILDING: without `owner` (no route
shows it, no list holds it), with its counters final (the cleanup names every item it may
have from them) and with `delete_after` at the end of a build window far past any
request's life (the cleanup removes an abandoned build, never one still being written).
The next transactions put the other items; the last replaces the session item with the
active session, on the condition that it is still the BUILDING item this build wrote,
together with the request's Idempotency-Key record. A session that fits in one
transaction is written by that last one alone.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from chat_sessions import clock, records
from chat_sessions.dynamo import (
    Action,
    Cancelled,
    ConditionFailed,
    Conflict,
    Item,
    Table,
    backoff,
    new_token,
)
from chat_sessions.errors import Unavailable
from chat_sessions.records import KeyRecord, MessageRecord, SessionRecord, VersionRecord
from chat_sessions.session_store import LAST_WRITE, NEW_ITEM, KeyTaken
from chat_sessions.statuses import SessionStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import QueryInputTypeDef

R = TypeVar("R")
# Far past any request's life (API Gateway waits 30 s): the cleanup never meets a build
# that is still being written, and removes an abandoned one within the hour.
BUILD_WINDOW = timedelta(hours=1)
TRANSACT_ACTIONS = 100
# DynamoDB's 4 MB (4 194 304 bytes) a transaction, less a margin; item_size never counts low.
TRANSACT_BYTES = 4_000_000
# Room kept in the last transaction beside the session item: the key record and a check.
_KEY_ROOM_BYTES = 4096
_KEY_ROOM_ACTIONS = 2
SESSION, KEY, SOURCE = "session", "idempotency key", "source session"
_ATTEMPTS = 6
# Transactions of one build written at once once its session item exists.
PARALLEL_WRITES = 4
_STILL_BUILDING = f"{LAST_WRITE} = :built AND delete_after > :now"


class SourceGone(Exception):
    """The forked session was deleted (or passed its delete_after) before the fork was done."""


class BuildLost(Exception):
    """The BUILDING session item is not the one this build wrote (its window passed)."""


def item_size(item: Item) -> int:
    """An item's size as DynamoDB counts it, or a little more: each attribute's name and
    value (a number counted as its digits, at least what DynamoDB counts)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode("utf-8"))
        ((kind, inner),) = value.items()
        if kind == "S":
            size += len(inner.encode("utf-8"))
        elif kind == "B":
            size += len(inner)
        elif kind == "N":
            size += len(inner) + 1
        else:
            size += 1  # NULL, BOOL: the only other kinds records.py writes
    return size


@dataclass
class Build:
    """A new session to write: its BUILDING session item (None when the last transaction
    alone writes the session) with the token that marks it as this build's, the items
    written before the last transaction and those it carries, and every token a last
    transaction was tried with (a lost reply is recognised by it)."""

    session_id: str
    building: SessionRecord | None
    built_token: str
    head: list[Item]
    tail: list[Item]
    transactions: int = 0
    finish_tokens: list[str] = field(default_factory=list)


class TransferStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    # --- reads ----------------------------------------------------------------------

    def messages(self, session_id: str, last_seq: int) -> Iterator[MessageRecord]:
        """Messages 1..last_seq in seq order, read one Query page (1 MB at most) at a time
        as the caller goes on: stopping early stops the reads."""
        if last_seq < 1:
            return iter(())
        low, high = records.message_sk(1), records.message_sk(last_seq)
        return self._pages(self._range(session_id, low, high), MessageRecord.from_item)

    def versions(self, session_id: str, last_version: int) -> Iterator[VersionRecord]:
        """Versions 1..last_version with their workflows, oldest first, a page at a time."""
        if last_version < 1:
            return iter(())
        low, high = records.version_sk(1), records.version_sk(last_version)
        return self._pages(self._range(session_id, low, high), VersionRecord.from_item)

    def _range(self, session_id: str, low: str, high: str) -> QueryInputTypeDef:
        return {
            "TableName": self.table.name,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :low AND :high",
            "ExpressionAttributeValues": {
                ":pk": records.s(session_id),
                ":low": records.s(low),
                ":high": records.s(high),
            },
            "ConsistentRead": True,
        }

    def _pages(self, request: QueryInputTypeDef, convert: Callable[[Item], R]) -> Iterator[R]:
        start = None
        while True:
            page: QueryInputTypeDef = {**request}
            if start is not None:
                page["ExclusiveStartKey"] = start
            items, start = self.table.query_page(page)
            yield from map(convert, items)
            if start is None:
                return

    # --- the build ------------------------------------------------------------------

    def plan(self, building: SessionRecord, items: Sequence[Item]) -> Build:
        """The build of a session whose session item is `building` and whose other items
        are `items`: the last transaction carries as many of them as fit beside the active
        session item and the key record (all of them when they fit: then nothing else is
        written). Nothing is written here."""
        # The active session item, as the last transaction will write it (with its token).
        active = replace(building, status=SessionStatus.ACTIVE).to_item()
        session_bytes = item_size(active) + len(LAST_WRITE) + 64
        room_actions = TRANSACT_ACTIONS - 1 - _KEY_ROOM_ACTIONS
        room_bytes = TRANSACT_BYTES - session_bytes - _KEY_ROOM_BYTES
        split = len(items)
        while split > 0 and room_actions > 0 and item_size(items[split - 1]) <= room_bytes:
            split -= 1
            room_actions -= 1
            room_bytes -= item_size(items[split])
        head, tail = list(items[:split]), list(items[split:])
        return Build(building.id, building if head else None, new_token(), head, tail)

    def begin(self, build: Build) -> None:
        """Write the BUILDING session item and the items before the last transaction."""
        if build.building is None:
            return
        token = build.built_token
        first_item = {**build.building.to_item(), LAST_WRITE: records.s(token)}
        head = build.head
        chunks = _chunks(head, TRANSACT_ACTIONS - 1, TRANSACT_BYTES - item_size(first_item))
        first = [Action.put(SESSION, first_item, NEW_ITEM, return_old=True), *_puts(chunks[0])]
        self._commit(first, token)
        build.transactions += 1
        # Once the session item holds the counters, the other items may land in any order.
        rest = chunks[1:]
        with ThreadPoolExecutor(PARALLEL_WRITES) as pool:
            # Each write runs in a copy of this request's context: its deadline goes along.
            futures = [
                pool.submit(contextvars.copy_context().run, self._commit, list(_puts(chunk)))
                for chunk in rest
            ]
            for future in futures:
                future.result()
                build.transactions += 1

    def _commit(self, actions: list[Action], token: str | None = None) -> None:
        """One transaction of a build, tried again (with its token: never applied twice)
        while another request holds an item or its reply is lost."""
        token = token or new_token()
        for attempt in range(_ATTEMPTS):
            cancelled = self.table.transact(actions, token)
            if cancelled is None or _written_by(cancelled.item(SESSION), [token]):
                return
            if cancelled.known and not _held(cancelled):
                # Items of a fresh session, written unconditionally: a defect if refused.
                raise RuntimeError(f"a build transaction was refused: {_codes(cancelled)}")
            backoff(attempt)
        raise Unavailable("the service is busy; retry after Retry-After seconds")

    def finish(
        self, build: Build, active: SessionRecord, key_actions: Sequence[Action], now: datetime
    ) -> None:
        """The last transaction: the active session item in place of the BUILDING one (or
        new, when nothing was written before), the items left and `key_actions`.

        KeyTaken: the key record's condition failed; SourceGone: the fork's source check
        failed; BuildLost: the BUILDING item is no longer this build's; Conflict: another
        transaction held an item (try again)."""
        token = new_token()
        build.finish_tokens.append(token)
        item = {**active.to_item(), LAST_WRITE: records.s(token)}
        if build.building is None:
            put = Action.put(SESSION, item, NEW_ITEM, return_old=True)
        else:
            values = {":built": records.s(build.built_token), ":now": records.s(clock.to_text(now))}
            put = Action.put(SESSION, item, _STILL_BUILDING, values, return_old=True)
        cancelled = self.table.transact([put, *_puts(build.tail), *key_actions], token)
        build.transactions += 1
        if cancelled is None or _written_by(cancelled.item(SESSION), build.finish_tokens):
            return
        if cancelled.failed(SESSION):
            raise BuildLost()
        if cancelled.failed(KEY):
            raise KeyTaken()
        if cancelled.failed(SOURCE):
            raise SourceGone()
        if cancelled.known and not _held(cancelled):
            raise RuntimeError(f"a build's last transaction was refused: {_codes(cancelled)}")
        raise Conflict()  # another transaction held an item: try again

    def abandon(self, build: Build, now: datetime) -> None:
        """Leave a build that will not be finished to the cleanup's next run (its window
        ends now); nothing when nothing was written, or when it was finished after all
        (the condition fails on a missing item and on an active one)."""
        if build.building is None:
            return
        gone = replace(
            build.building, expires_at=clock.to_text(now), delete_after=clock.to_text(now)
        )
        item = {**gone.to_item(), LAST_WRITE: records.s(new_token())}
        values = {":built": records.s(build.built_token), ":now": records.s(clock.to_text(now))}
        # Best effort: failing, the build window still ends within the hour.
        with suppress(ConditionFailed, Conflict, Unavailable):
            self.table.put(item, _STILL_BUILDING, values)

    # --- the actions of the last transaction ----------------------------------------

    def fork_key_actions(
        self, key_record: KeyRecord, replaces: KeyRecord | None, now: datetime
    ) -> list[Action]:
        """A fork's key record in its source's partition (new, or replacing the record of a
        fork whose session is gone), and a check that the source is still there: the key
        lives and dies with the source's items."""
        if replaces is None:
            put = Action.put(KEY, key_record.to_item(), NEW_ITEM)
        else:
            old = {":answer": replaces.to_item()["answer"]}
            put = Action.put(KEY, key_record.to_item(), "answer = :answer", old)
        check = Action.check(
            SOURCE,
            records.session_key(key_record.session_id),
            "delete_after > :now AND #status <> :deleted",
            {"#status": "status"},
            {
                ":now": records.s(clock.to_text(now)),
                ":deleted": records.s(SessionStatus.DELETED.value),
            },
        )
        return [put, check]

    def create_key_actions(
        self, create_key: str, session: SessionRecord, fingerprint: str, replaces: str | None
    ) -> list[Action]:
        """The record of an Idempotency-Key of a creating route: new, or taken over from
        the session it named, which is gone."""
        item = records.create_key_item(create_key, session.id, session.ttl, fingerprint)
        if replaces is None:
            return [Action.put(KEY, item, NEW_ITEM)]
        return [Action.put(KEY, item, "session_id = :replaced", {":replaced": records.s(replaces)})]


def building(active: SessionRecord, now: datetime) -> SessionRecord:
    """The session item a build writes first: BUILDING, gone for the cleanup once the
    build window has passed."""
    until = clock.to_text(now + BUILD_WINDOW)
    return replace(active, status=SessionStatus.BUILDING, expires_at=until, delete_after=until)


def _chunks(items: Sequence[Item], first_actions: int, first_bytes: int) -> list[list[Item]]:
    """Items in transactions of at most TRANSACT_ACTIONS and TRANSACT_BYTES, the first with
    the room given (it may stay empty); the others are never empty."""
    chunks: list[list[Item]] = []
    chunk: list[Item] = []
    actions, room = first_actions, first_bytes
    for item in items:
        size = item_size(item)
        if len(chunk) >= actions or size > room:
            chunks.append(chunk)
            chunk, actions, room = [], TRANSACT_ACTIONS, TRANSACT_BYTES
        chunk.append(item)
        room -= size
    chunks.append(chunk)
    return chunks


def _puts(items: Sequence[Item]) -> Iterator[Action]:
    for item in items:
        yield Action.put(f"{item['sk']['S']}", item)


def _written_by(item: Item | None, tokens: Sequence[str]) -> bool:
    """Whether the session item a failed condition returned was written with one of `tokens`."""
    return isinstance(item, dict) and item.get(LAST_WRITE, {}).get("S") in tokens


def _held(cancelled: Cancelled) -> bool:
    """Whether another transaction held one of the items (the transaction may be retried)."""
    return any(cancelled.code(tag) == "TransactionConflict" for tag in cancelled.reasons)


def _codes(cancelled: Cancelled) -> str:
    return ", ".join(sorted({cancelled.code(tag) for tag in cancelled.reasons}))
