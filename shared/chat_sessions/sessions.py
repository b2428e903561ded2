"""Session operations: create, get, list, change, end, delete."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from datetime import datetime

from chat_sessions import clock, cursor, expiry, paging, records, workflows
from chat_sessions.config import get_settings
from chat_sessions.errors import BadRequest
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
from chat_sessions.store import Conflict, KeyTaken

DELETE_BUDGET_SECONDS = 5.0
STATUS_FILTERS = (None, expiry.ACTIVE, expiry.EXPIRED, expiry.ENDED)


def create_session(owner: str, body: CreateSessionIn, idempotency_key: str | None) -> SessionOut:
    settings = get_settings()
    description = body.initial_description
    has_first = description is not None and description.strip() != ""
    if has_first and description is not None:
        check_content_size(description)
    check_metadata_size(body.metadata)
    key_pk = records.create_key_pk(owner, idempotency_key) if idempotency_key else None

    def replay(now: datetime) -> tuple[SessionOut | None, str | None]:
        """The session the key created if it is still there; else the id it names (gone)."""
        holder = get_store().create_key_holder(key_pk) if key_pk else None
        existing = get_store().get_session(holder) if holder else None
        if existing is not None and is_visible(existing, owner, now):
            return get_session_record_view(existing), holder
        return None, holder

    def attempt() -> SessionOut:
        now = clock.now()
        session_id = str(uuid.uuid4())
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
            create_key=key_pk,
        )
        first = (
            MessageRecord(session_id, str(uuid.uuid4()), 1, "user", description, stamp, ttl)
            if has_first and description is not None
            else None
        )
        try:
            # One request when the key is new; a key in use is looked up only then.
            get_store().create_session(record, first)
        except KeyTaken:
            existing, holder = replay(now)
            if existing is not None:
                return existing
            try:
                get_store().create_session(record, first, replaces=holder)
            except KeyTaken:
                raise Conflict() from None  # a concurrent create with the key won: replay it
        metrics.add_metric(name="SessionsCreated", unit="Count", value=1)
        logger.info("session created", extra={"session_id": session_id})
        return session_view(record, now, None)

    return retry_conflicts(attempt)


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
    # One index page of `limit` keys and one read of those sessions per request, whatever
    # the filter keeps: a page may hold fewer items, and the cursor goes on from there.
    found, last = get_store().list_sessions(owner, limit, start)
    kept = [
        (summary(record, now), position)
        for record, position in found
        if is_visible(record, owner, now) and (status is None or status_of(record, now) == status)
    ]
    positions = {item.id: position for item, position in kept}
    items, position = paging.cut(
        [item for item, _ in kept],
        f"{last['pk']['S']}|{last['updated_at']['S']}" if last else None,
        lambda item: f"{item.id}|{positions[item.id]}",
    )
    next_cursor = cursor.encode(scope, position.split("|")) if position else None
    return SessionPage(items=items, next_cursor=next_cursor)


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
