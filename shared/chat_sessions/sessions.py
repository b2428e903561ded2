"""Session operations: create, get, list, change, end, delete."""

from __future__ import annotations

import time
import uuid
from datetime import datetime

from chat_sessions import clock, workflows
from chat_sessions.config import get_settings
from chat_sessions.dynamo import Conflict
from chat_sessions.errors import BadRequest
from chat_sessions.limits import check_content_size, check_metadata_size
from chat_sessions.listing import list_page
from chat_sessions.models import (
    CreateSessionIn,
    MessageIn,
    PatchSessionIn,
    SessionOut,
    SessionPage,
    SessionSummary,
)
from chat_sessions.observability import logger, metrics
from chat_sessions.records import SessionRecord
from chat_sessions.session_access import (
    get_store,
    get_sweeps,
    load_visible,
    retry_conflicts,
)
from chat_sessions.session_rules import (
    accepted_write,
    deleted,
    ended,
    expired,
    is_visible,
    merged_metadata,
    new_messages,
    new_session,
    require_active,
    status_of,
)
from chat_sessions.session_store import KeyTaken, Page, Position
from chat_sessions.statuses import SessionStatus
from chat_sessions.views import session_out, session_summary

DELETE_BUDGET_SECONDS = 5.0
STATUS_FILTERS = (None, SessionStatus.ACTIVE, SessionStatus.EXPIRED, SessionStatus.ENDED)


def create_session(owner: str, body: CreateSessionIn, idempotency_key: str | None) -> SessionOut:
    settings = get_settings()
    description = body.initial_description
    bodies = []  # the description becomes message 1 when it has text
    if description is not None and description.strip() != "":
        check_content_size(description)
        bodies.append(MessageIn(role="user", content=description))
    check_metadata_size(body.metadata)
    create_key = get_store().create_key_id(owner, idempotency_key) if idempotency_key else None

    def replay(now: datetime) -> tuple[SessionOut | None, str | None]:
        """The session the key created if it is still there; else the id it names (gone)."""
        holder = get_store().session_created_with(create_key) if create_key else None
        existing = get_store().get_session(holder) if holder else None
        if existing is not None and is_visible(existing, owner, now):
            return current_view(existing), holder
        return None, holder

    def attempt() -> SessionOut:
        now = clock.now()
        session_id = str(uuid.uuid4())
        record = new_session(
            session_id, owner, body.title, body.metadata, create_key, now, settings
        )
        first = new_messages(record, bodies, [str(uuid.uuid4()) for _ in bodies], now)
        record.message_count = len(first)
        try:
            # One request when the key is new; a key in use is looked up only then.
            get_store().create_session(record, first[0] if first else None)
        except KeyTaken:
            existing, holder = replay(now)
            if existing is not None:
                return existing
            try:
                get_store().create_session(record, first[0] if first else None, holder)
            except KeyTaken:
                raise Conflict() from None  # a concurrent create with the key won: replay it
        metrics.add_metric(name="SessionsCreated", unit="Count", value=1)
        logger.info("session created", extra={"session_id": session_id})
        return session_out(record, now, None)

    return retry_conflicts(attempt)


def current_view(record: SessionRecord) -> SessionOut:
    """The session as it stands now, with its current workflow."""
    return session_out(record, clock.now(), workflows.current_workflow(record))


def get_session(owner: str, session_id: str) -> SessionOut:
    now = clock.now()
    record = load_visible(owner, session_id, now)
    if record.status == SessionStatus.ACTIVE and status_of(record, now) == SessionStatus.EXPIRED:
        record = mark_expired(record) or load_visible(owner, session_id, now)
    return current_view(record)


def mark_expired(record: SessionRecord) -> SessionRecord | None:
    """Store `expired` on a session whose expiry passed; None if it changed meanwhile."""
    updated = expired(record)
    try:
        get_store().write_session(record, updated)
    except Conflict:
        return None
    metrics.add_metric(name="SessionsExpired", unit="Count", value=1)
    return updated


def list_sessions(owner: str, status: str | None, limit: int, after: str | None) -> SessionPage:
    if status not in STATUS_FILTERS:
        raise BadRequest("status must be one of active, expired, ended")
    now = clock.now()

    def kept(record: SessionRecord) -> SessionSummary | None:
        shown = is_visible(record, owner, now)
        if shown and (status is None or status_of(record, now) == status):
            return session_summary(record, now)
        return None

    # One index page of `limit` keys and one read of those sessions per request, whatever
    # the filter keeps: a page may hold fewer items, and the cursor goes on from there.
    def read(position: Position | None) -> Page[SessionRecord]:
        return get_store().list_sessions(owner, limit, position)

    return list_page(SessionPage, f"sessions|{owner}|{status or ''}", after, read, kept, width=2)


def patch_session(owner: str, session_id: str, body: PatchSessionIn) -> SessionOut:
    settings = get_settings()
    if body.metadata is not None:
        check_metadata_size(body.metadata)
    if not body.model_fields_set:
        # Nothing to change is not a write: it stores nothing new and moves no expiry.
        return current_view(load_visible(owner, session_id, clock.now()))

    def attempt() -> SessionRecord:
        now = clock.now()
        record = load_visible(owner, session_id, now)
        updated = accepted_write(record, now, settings)
        if "title" in body.model_fields_set:
            updated.title = body.title
        if body.metadata:
            updated.metadata = merged_metadata(record.metadata, body.metadata)
            check_metadata_size(updated.metadata)
        require_active(record, now)
        get_store().write_session(record, updated)
        return updated

    return current_view(retry_conflicts(attempt))


def end_session(owner: str, session_id: str) -> SessionOut:
    settings = get_settings()

    def attempt() -> SessionRecord:
        now = clock.now()
        record = load_visible(owner, session_id, now)
        require_active(record, now)
        updated = ended(record, now, settings)
        get_store().write_session(record, updated)
        return updated

    record = retry_conflicts(attempt)
    logger.info("session ended", extra={"session_id": session_id})
    return current_view(record)


def delete_session(owner: str, session_id: str) -> None:
    """Gone at once on every route; its items are deleted now, or by the next cleanup."""

    def attempt() -> SessionRecord:
        now = clock.now()
        record = load_visible(owner, session_id, now)
        marked = deleted(record, now)
        get_store().write_session(record, marked)
        return marked

    marked = retry_conflicts(attempt)
    complete = get_sweeps().delete_session_items(marked, time.monotonic() + DELETE_BUDGET_SECONDS)
    metrics.add_metric(name="SessionsDeleted", unit="Count", value=1)
    logger.info("session deleted", extra={"session_id": session_id, "complete": complete})
