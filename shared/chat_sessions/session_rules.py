"""The rules of a session, pure (no DynamoDB, the clock passed in): who sees it, its status
now, the transitions, what an accepted write moves, the metadata merge, and the messages
a write adds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from chat_sessions import clock, expiry
from chat_sessions.config import Settings
from chat_sessions.errors import LimitExceeded, SessionNotActive
from chat_sessions.models import MessageIn
from chat_sessions.records import MessageRecord, SessionRecord
from chat_sessions.statuses import SessionStatus


def is_visible(record: SessionRecord | None, owner: str, now: datetime) -> bool:
    """A session of another caller, a deleted one, one being written by a fork or an import
    and one past delete_after look missing."""
    return (
        record is not None
        and record.owner == owner
        and record.status not in (SessionStatus.DELETED, SessionStatus.BUILDING)
        and not expiry.is_gone(clock.from_text(record.delete_after), now)
    )


def status_of(record: SessionRecord, now: datetime) -> SessionStatus:
    """The status now: an active session past its expiry is expired, stored so or not."""
    return expiry.effective_status(record.status, clock.from_text(record.expires_at), now)


def require_active(record: SessionRecord, now: datetime) -> None:
    status = status_of(record, now)
    if status != SessionStatus.ACTIVE:
        raise SessionNotActive(status)


def new_session(
    session_id: str,
    owner: str,
    title: str | None,
    metadata: dict[str, Any],
    create_key: str | None,
    now: datetime,
    settings: Settings,
) -> SessionRecord:
    """A session created now, active, without messages yet."""
    stamp = clock.to_text(now)
    expires = expiry.expires_at(now, now, settings)
    return SessionRecord(
        id=session_id,
        owner=owner,
        title=title,
        metadata=metadata,
        status=SessionStatus.ACTIVE,
        created_at=stamp,
        updated_at=stamp,
        expires_at=clock.to_text(expires),
        delete_after=clock.to_text(expiry.delete_after(expires, settings)),
        message_count=0,
        workflow_version=0,
        revision=1,
        ttl=expiry.ttl(now, settings),
        deadline_shard=expiry.deadline_shard(session_id, settings.deadline_shards),
        create_key=create_key,
    )


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


def ended(record: SessionRecord, now: datetime, settings: Settings) -> SessionRecord:
    """Ended now by its owner: read-only, deleted after the grace period."""
    stamp = clock.to_text(now)
    return replace(
        record,
        status=SessionStatus.ENDED,
        updated_at=stamp,
        expires_at=stamp,
        delete_after=clock.to_text(expiry.delete_after(now, settings)),
        revision=record.revision + 1,
    )


def expired(record: SessionRecord) -> SessionRecord:
    """An active session past its expiry, stored as expired."""
    return replace(record, status=SessionStatus.EXPIRED, revision=record.revision + 1)


def deleted(record: SessionRecord, now: datetime) -> SessionRecord:
    """Gone at once on every route; its items may be deleted from now on."""
    return replace(
        record,
        status=SessionStatus.DELETED,
        delete_after=clock.to_text(now),
        revision=record.revision + 1,
    )


def merged_metadata(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """The metadata after a PATCH: a null value removes its key, others replace theirs."""
    merged = dict(current)
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def with_messages(
    record: SessionRecord,
    bodies: Sequence[MessageIn],
    ids: Sequence[str],
    now: datetime,
    settings: Settings,
) -> tuple[SessionRecord, list[MessageRecord]]:
    """An accepted write that adds these messages (with these ids), numbered after the
    session's last: the session after it, and the messages. 409 past the session's limit."""
    if record.message_count + len(bodies) > settings.max_messages_per_session:
        raise LimitExceeded(f"a session holds at most {settings.max_messages_per_session} messages")
    updated = accepted_write(record, now, settings)
    updated.message_count = record.message_count + len(bodies)
    return updated, new_messages(record, bodies, ids, now)


def new_messages(
    record: SessionRecord, bodies: Sequence[MessageIn], ids: Sequence[str], now: datetime
) -> list[MessageRecord]:
    """The messages of one write, with these ids, numbered after the session's last."""
    stamp = clock.to_text(now)
    return [
        MessageRecord(
            session_id=record.id,
            id=message_id,
            seq=record.message_count + 1 + index,
            role=body.role,
            content=body.content,
            metadata=body.metadata,
            timestamp=stamp,
            ttl=record.ttl,
        )
        for index, (body, message_id) in enumerate(zip(bodies, ids, strict=True))
    ]


def check_version_room(record: SessionRecord, settings: Settings) -> None:
    """409 when the session holds as many workflow versions as it may."""
    if record.workflow_version + 1 > settings.max_workflow_versions:
        raise LimitExceeded(f"a session holds at most {settings.max_workflow_versions} versions")
