"""Sessions written straight to the table, as the service would have stored them: for tests
and benchmarks that need many at once (a thousand appends would take minutes)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from chat_sessions import clock, expiry
from chat_sessions.config import Settings
from chat_sessions.records import MessageRecord, SessionRecord
from chat_sessions.statuses import SessionStatus


def idle_session_items(
    owner: str, status: SessionStatus, created: datetime, settings: Settings, messages: int
) -> tuple[str, list[dict[str, Any]]]:
    """A session created at `created` and idle since (with `messages` messages and their id
    guards), stored with `status`: its id and its items."""
    session_id = str(uuid.uuid4())
    stamp = clock.to_text(created)
    ttl = expiry.ttl(created, settings)
    record = SessionRecord(
        id=session_id,
        owner=owner,
        title=None,
        metadata={},
        status=status,
        created_at=stamp,
        updated_at=stamp,
        expires_at=clock.to_text(created + settings.timeout),
        delete_after=clock.to_text(created + settings.timeout + settings.grace),
        message_count=messages,
        workflow_version=0,
        revision=1,
        ttl=ttl,
        deadline_shard=expiry.deadline_shard(session_id, settings.deadline_shards),
    )
    items = [record.to_item()]
    for seq in range(1, messages + 1):
        message = MessageRecord(session_id, str(uuid.uuid4()), seq, "user", "hi", stamp, ttl)
        items += [message.to_item(), message.guard_item()]
    return session_id, items
