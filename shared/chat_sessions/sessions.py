"""Session operations: create, get, list, change, end, delete."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace

from chat_sessions import clock, cursor, expiry, workflows
from chat_sessions.config import get_settings
from chat_sessions.errors import BadRequest, Unavailable
from chat_sessions.limits import check_content_size, check_metadata_size
from chat_sessions.models import (
    CreateSessionIn,
    PatchSessionIn,
    SessionOut,
    SessionPage,
    canonical_uuid,
)
from chat_sessions.observability import logger, metrics
from chat_sessions.records import DELETED, SESSION_SK, MessageRecord, SessionRecord, s
from chat_sessions.service import (
    accepted_write,
    get_store,
    is_visible,
    load_visible,
    require_active,
    retry_conflicts,
    session_view,
    status_of,
    summary,
)
from chat_sessions.store import AlreadyExists, Conflict

# Derives a session id from (caller, Idempotency-Key): one conditional put both creates
# the session and detects a retry, with no idempotency records to keep.
IDEMPOTENCY_NAMESPACE = uuid.UUID("0b8f7d56-4a53-4c55-9e3e-5d1a0b7c9f21")
DELETE_BUDGET_SECONDS = 5.0
STATUS_FILTERS = {
    None: ("delete_after > :now", {}),
    "active": ("delete_after > :now AND #status = :active AND expires_at > :now", {":active"}),
    "expired": (
        "delete_after > :now AND "
        "(#status = :expired OR (#status = :active AND expires_at <= :now))",
        {":active", ":expired"},
    ),
    "ended": ("delete_after > :now AND #status = :ended", {":ended"}),
}


def create_session(owner: str, body: CreateSessionIn, idempotency_key: str | None) -> SessionOut:
    settings = get_settings()
    description = body.initial_description
    has_first = description is not None and description.strip() != ""
    if has_first and description is not None:
        check_content_size(description)
    check_metadata_size(body.metadata)
    session_id = (
        str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{owner}\n{idempotency_key}"))
        if idempotency_key is not None
        else str(uuid.uuid4())
    )

    def attempt() -> SessionOut:
        now = clock.now()
        stamp = clock.to_text(now)
        expires = expiry.expires_at(now, now, settings)
        ttl = expiry.ttl(now, settings)
        record = SessionRecord(
            id=session_id,
            owner=owner,
            title=body.title,
            metadata=body.metadata,
            status=expiry.ACTIVE,
            created_at=stamp,
            updated_at=stamp,
            expires_at=clock.to_text(expires),
            delete_after=clock.to_text(expiry.delete_after(expires, settings)),
            message_count=1 if has_first else 0,
            workflow_version=0,
            revision=1,
            ttl=ttl,
            deadline_shard=expiry.deadline_shard(session_id, settings.deadline_shards),
        )
        first = (
            MessageRecord(session_id, str(uuid.uuid4()), 1, "user", description, stamp, ttl)
            if has_first and description is not None
            else None
        )
        try:
            get_store().create_session(record, first)
        except AlreadyExists:
            existing = get_store().get_session(session_id)
            if existing is not None and is_visible(existing, owner, now):
                return get_session_record_view(existing)
            _purge_leftovers(session_id)
            raise Conflict() from None  # the id is free again: try once more
        metrics.add_metric(name="SessionsCreated", unit="Count", value=1)
        logger.info("session created", extra={"session_id": session_id})
        return session_view(record, now, None)

    return retry_conflicts(attempt)


def _purge_leftovers(session_id: str) -> None:
    """The id of an idempotent create is held by a session that is gone: clear it first."""
    if not get_store().delete_session_items(session_id, time.monotonic() + DELETE_BUDGET_SECONDS):
        raise Unavailable("an earlier session with this key is still being deleted; retry")


def get_session_record_view(record: SessionRecord) -> SessionOut:
    now = clock.now()
    workflow = workflows.current_workflow(record)
    return session_view(record, now, workflow)


def get_session(owner: str, session_id: str) -> SessionOut:
    now = clock.now()
    record = load_visible(owner, session_id, now)
    if record.status == expiry.ACTIVE and status_of(record, now) == expiry.EXPIRED:
        record = mark_expired(record) or load_visible(owner, session_id, now)
    return get_session_record_view(record)


def mark_expired(record: SessionRecord) -> SessionRecord | None:
    """Store `expired` on a session whose expiry passed; None if it changed meanwhile."""
    updated = replace(record, status=expiry.EXPIRED, revision=record.revision + 1)
    try:
        get_store().write_session(record, updated)
    except Conflict:
        return None
    metrics.add_metric(name="SessionsExpired", unit="Count", value=1)
    return updated


def list_sessions(owner: str, status: str | None, limit: int, after: str | None) -> SessionPage:
    if status not in STATUS_FILTERS:
        raise BadRequest("status must be one of active, expired, ended")
    scope = f"sessions|{owner}|{status or ''}"
    start = None
    if after is not None:
        session_id, updated_at = cursor.decode(scope, after, 2)
        if canonical_uuid(session_id) is None:
            raise BadRequest("cursor is not valid for this list")
        _check_timestamp(updated_at)
        start = {
            "pk": s(session_id),
            "sk": s(SESSION_SK),
            "owner": s(owner),
            "updated_at": s(updated_at),
        }
    now = clock.now()
    expression, names = STATUS_FILTERS[status]
    values = {":now": s(clock.to_text(now)), **{name: s(name[1:]) for name in names}}
    records, last = get_store().list_sessions(owner, limit, start, expression, values)
    next_cursor = cursor.encode(scope, [last["pk"]["S"], last["updated_at"]["S"]]) if last else None
    return SessionPage(items=[summary(r, now) for r in records], next_cursor=next_cursor)


def _check_timestamp(text: str) -> None:
    try:
        clock.from_text(text)
    except ValueError as exc:
        raise BadRequest("cursor is not valid for this list") from exc


def patch_session(owner: str, session_id: str, body: PatchSessionIn) -> SessionOut:
    settings = get_settings()
    if body.metadata is not None:
        check_metadata_size(body.metadata)
    if not body.model_fields_set:
        # Nothing to change is not a write: it stores nothing new and moves no expiry.
        return get_session_record_view(load_visible(owner, session_id, clock.now()))

    def attempt() -> SessionRecord:
        now = clock.now()
        record = load_visible(owner, session_id, now)
        updated = accepted_write(record, now, settings)
        if "title" in body.model_fields_set:
            updated.title = body.title
        if body.metadata:
            merged = dict(record.metadata)
            for key, value in body.metadata.items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            check_metadata_size(merged)
            updated.metadata = merged
        require_active(record, now)
        get_store().write_session(record, updated)
        return updated

    return get_session_record_view(retry_conflicts(attempt))


def end_session(owner: str, session_id: str) -> SessionOut:
    settings = get_settings()

    def attempt() -> SessionRecord:
        now = clock.now()
        record = load_visible(owner, session_id, now)
        require_active(record, now)
        stamp = clock.to_text(now)
        updated = replace(
            record,
            status=expiry.ENDED,
            updated_at=stamp,
            expires_at=stamp,
            delete_after=clock.to_text(expiry.delete_after(now, settings)),
            revision=record.revision + 1,
        )
        get_store().write_session(record, updated)
        return updated

    record = retry_conflicts(attempt)
    logger.info("session ended", extra={"session_id": session_id})
    return get_session_record_view(record)


def delete_session(owner: str, session_id: str) -> None:
    """Gone at once on every route; its items are deleted now, or by the next cleanup."""

    def attempt() -> None:
        now = clock.now()
        record = load_visible(owner, session_id, now)
        stamp = clock.to_text(now)
        updated = replace(record, status=DELETED, delete_after=stamp, revision=record.revision + 1)
        get_store().write_session(record, updated)

    retry_conflicts(attempt)
    complete = get_store().delete_session_items(
        session_id, time.monotonic() + DELETE_BUDGET_SECONDS
    )
    metrics.add_metric(name="SessionsDeleted", unit="Count", value=1)
    logger.info("session deleted", extra={"session_id": session_id, "complete": complete})
