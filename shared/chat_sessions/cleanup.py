"""The scheduled cleanup: mark idle sessions expired, delete sessions past their grace period.

Why deleting with BatchWriteItem, which carries no condition, never deletes a live session:
only a write that finds the session active with `expires_at` in the future leaves it active
(and every write conditions on the revision it read), so a session stored as not active, or
past its `expires_at`, never becomes active again; deletion comes only after `delete_after`
= `expires_at` + grace. Each session is re-checked on a consistent read right before its
items are deleted (the index may lag behind a write), and its session item goes last, in a
TransactWriteItems whose condition checks the same again. What remains: a create with an
Idempotency-Key whose session is past `delete_after` purges and re-creates the same id; if
that lands between our query of the old keys and their batch, the new session's first
message can be deleted with them (its session item survives the condition).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from chat_sessions import clock, expiry
from chat_sessions.config import get_settings
from chat_sessions.dynamo import Key
from chat_sessions.errors import Unavailable
from chat_sessions.observability import logger, metrics
from chat_sessions.session_access import get_sweeps
from chat_sessions.statuses import SessionStatus
from chat_sessions.sweeps import Deadlines, Position

DEFAULT_MARGIN_MS = 10_000  # stop this long before the function's timeout; the next run resumes
PAGE_SIZE = 100  # due sessions per index page
BATCH = 25  # BatchWriteItem's maximum: keys of several sessions share each request
SESSION_ITEMS_PER_REQUEST = 100  # TransactWriteItems' maximum
EXPIRE, DELETE = "expire", "delete"


def next_step(status: str, expires_at: str, delete_after: str, now: datetime) -> str | None:
    """What the cleanup does to a session now: EXPIRE it, DELETE it, or nothing (None)."""
    active = SessionStatus.ACTIVE
    if expiry.effective_status(status, clock.from_text(expires_at), now) == active:
        return None
    if expiry.is_gone(clock.from_text(delete_after), now):
        return DELETE
    return EXPIRE if status == active else None


def run_cleanup(
    remaining_ms: Callable[[], int], margin_ms: int = DEFAULT_MARGIN_MS
) -> dict[str, int]:
    """Expire and delete what is due in every shard until done or `remaining_ms()` falls
    below `margin_ms`: {"expired": N, "deleted": M}."""
    sweep = _Sweep(remaining_ms, margin_ms)
    try:
        shards = range(get_settings().deadline_shards)
        if not (all(sweep.shard(str(shard)) for shard in shards) and sweep.finish()):
            logger.info("cleanup stopped before its timeout; the next run resumes")
    except Unavailable:
        logger.warning("DynamoDB is throttling the cleanup; the next run resumes")
    finally:
        metrics.add_metric(name="SessionsExpired", unit="Count", value=sweep.expired)
        metrics.add_metric(name="SessionsDeleted", unit="Count", value=sweep.deleted)
    return {"expired": sweep.expired, "deleted": sweep.deleted}


class _Sweep:
    """One run: the time it started at (every decision uses it), its budget, its counts, and
    the deletions under way: keys not yet sent, and sessions whose other items are all sent."""

    def __init__(self, remaining_ms: Callable[[], int], margin_ms: int) -> None:
        self.store = get_sweeps()
        self.now = clock.now()
        self.now_text = clock.to_text(self.now)
        self.remaining_ms = remaining_ms
        self.margin_ms = margin_ms
        self.expired = 0
        self.deleted = 0
        self.keys: list[Key] = []
        self.emptied: list[str] = []
        # An expired session moves along the index and may come up again in the same run.
        self.handled: set[str] = set()

    def out_of_time(self) -> bool:
        return self.remaining_ms() < self.margin_ms

    def deadline(self) -> float:
        return time.monotonic() + (self.remaining_ms() - self.margin_ms) / 1000

    def shard(self, shard: str) -> bool:
        """Handle every due session of one shard; False when time ran out first."""
        start: Position | None = None
        while True:
            if self.out_of_time():
                return False
            page, start = self.store.due_sessions(shard, self.now_text, start, PAGE_SIZE)
            for due in page:
                if self.expire_if_due(due) and not self.delete(due.session_id):
                    return False
            if start is None:
                return True

    def expire_if_due(self, due: Deadlines) -> bool:
        """Mark the session expired if that is due and nobody used it meanwhile; True if it
        is due for deletion (already, or once marked)."""
        step = next_step(due.status, due.expires_at, due.delete_after, self.now)
        if step != EXPIRE:
            return step == DELETE
        delete_after = self.store.mark_expired_unless_touched(due.session_id, due.expires_at)
        if delete_after is None:
            return False
        self.expired += 1
        return expiry.is_gone(clock.from_text(delete_after), self.now)

    def delete(self, session_id: str) -> bool:
        """Send the session's other items in batches shared with other sessions; its session
        item waits until they are all gone. False when time ran out."""
        if session_id in self.handled:
            return True
        if self.out_of_time():
            return False
        found, keys = self.store.session_keys_and_deadlines(session_id)
        # Re-checked on a consistent read: the index may not show the latest write yet.
        if found is None or (
            next_step(found.status, found.expires_at, found.delete_after, self.now) != DELETE
        ):
            return True
        if found.create_key is not None:
            self.store.delete_create_key(found.create_key, session_id)
        self.keys.extend(keys)
        self.emptied.append(session_id)
        self.handled.add(session_id)
        full = len(self.keys) - len(self.keys) % BATCH
        if full and not self.store.delete_items(self.keys[:full], self.deadline()):
            return False
        del self.keys[:full]
        return len(self.emptied) < SESSION_ITEMS_PER_REQUEST or self.finish()

    def finish(self) -> bool:
        """Send the keys left, then delete the session items of the sessions emptied, so an
        interrupted run leaves every session item whose other items remain."""
        if not self.store.delete_items(self.keys, self.deadline()):
            return False
        self.keys.clear()
        if not self.emptied:
            return True
        if self.out_of_time():
            return False
        deleted = self.store.delete_gone_session_items(self.emptied, self.now_text)
        self.emptied.clear()
        self.deleted += len(deleted)
        if deleted:
            logger.info("sessions deleted", extra={"session_ids": deleted})
        return True
