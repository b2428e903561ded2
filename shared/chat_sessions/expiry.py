"""Expiry arithmetic, pure: when a session expires, when it is deleted, its TTL."""

from __future__ import annotations

import uuid
from datetime import datetime

from chat_sessions.config import Settings
from chat_sessions.statuses import SessionStatus


def expires_at(last_write: datetime, created_at: datetime, settings: Settings) -> datetime:
    """min(last accepted write + idle timeout, created_at + maximum lifetime)."""
    return min(last_write + settings.timeout, created_at + settings.max_lifetime)


def delete_after(expired_or_ended_at: datetime, settings: Settings) -> datetime:
    return expired_or_ended_at + settings.grace


def ttl(created_at: datetime, settings: Settings) -> int:
    """DynamoDB TTL (epoch seconds) for every item of a session, written once: the backstop."""
    return int((created_at + settings.max_lifetime + settings.grace).timestamp())


def effective_status(status: str, expires: datetime, now: datetime) -> SessionStatus:
    """An active session past its expiry is expired, whether or not anything stored that."""
    expired = status == SessionStatus.ACTIVE and now >= expires
    return SessionStatus.EXPIRED if expired else SessionStatus(status)


def is_gone(delete_at: datetime, now: datetime) -> bool:
    return now >= delete_at


def deadline_shard(session_id: str, shards: int) -> str:
    return str(uuid.UUID(session_id).int % shards)
