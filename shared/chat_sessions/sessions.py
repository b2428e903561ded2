"""Session operations: create, get, list, change, end, delete."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from chat_sessions import clock, deadline, workflows
from chat_sessions.config import get_settings
from chat_sessions.dynamo import Conflict
from chat_sessions.errors import BadRequest, SessionNotFound
from chat_sessions.idempotency import Outcome, RequestKey, replayed, reused
from chat_sessions.lifecycle_models import DeleteAllOut
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
    visible,
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
# DELETE /sessions?confirm=all: work for at most this long, and stop with this much of the
# request's time left (the function's timeout is 29 s, the gateway's 30 s).
DELETE_ALL_BUDGET_SECONDS = 20.0
DELETE_ALL_MARGIN_SECONDS = 3.0
DELETE_ALL_PAGE = 100
STATUS_FILTERS = (None, SessionStatus.ACTIVE, SessionStatus.EXPIRED, SessionStatus.ENDED)


def create_session(
    owner: str, body: CreateSessionIn, request: RequestKey | None
) -> Outcome[SessionOut]:
    settings = get_settings()
    description = body.initial_description
    bodies = []  # the description becomes message 1 when it has text
    if description is not None and description.strip() != "":
        check_content_size(description)
        bodies.append(MessageIn(role="user", content=description))
    check_metadata_size(body.metadata)

    def attempt(create_key: str | None, replaces: str | None) -> SessionOut:
        now = clock.now()
        session_id = str(uuid.uuid4())
        record = new_session(
            session_id, owner, body.title, body.metadata, create_key, now, settings
        )
        first = new_messages(record, bodies, [str(uuid.uuid4()) for _ in bodies], now)
        record.message_count = len(first)
        fingerprint = request.fingerprint if request else ""
        get_store().create_session(record, first[0] if first else None, replaces, fingerprint)
        metrics.add_metric(name="SessionsCreated", unit="Count", value=1)
        logger.info("session created", extra={"session_id": session_id})
        return session_out(record, now, None)

    return create_once(owner, request, attempt)


def create_once(
    owner: str,
    request: RequestKey | None,
    attempt: Callable[[str | None, str | None], SessionOut],
) -> Outcome[SessionOut]:
    """Run a create (`attempt(create key, the gone session it names)`) once per
    Idempotency-Key of the caller: a replay answers 201 with the session the key created as
    it is now; the same key with another request (or the other creating route) is 422.
    A key whose session is gone (deleted, past its grace period) creates a new one."""
    if request is None:
        return Outcome(retry_conflicts(lambda: attempt(None, None)))
    create_key = get_store().create_key_id(owner, request.key)

    def once() -> Outcome[SessionOut]:
        try:
            # One request when the key is new; a key in use is looked up only then.
            return Outcome(attempt(create_key, None))
        except KeyTaken:
            pass
        recorded = get_store().session_created_with(create_key)
        if recorded is None:
            raise Conflict() from None  # removed meanwhile: try again
        holder, fingerprint = recorded
        existing = get_store().get_session(holder)
        if existing is not None and is_visible(existing, owner, clock.now()):
            if fingerprint and fingerprint != request.fingerprint:
                raise reused()
            return Outcome(current_view(existing), replayed=True)
        try:
            return Outcome(attempt(create_key, holder))
        except KeyTaken:
            raise Conflict() from None  # a concurrent create with the key won: replay it

    return retry_conflicts(once)


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


def patch_session(
    owner: str, session_id: str, body: PatchSessionIn, request: RequestKey | None = None
) -> Outcome[SessionOut]:
    settings = get_settings()

    def change(record: SessionRecord, now: datetime) -> SessionRecord | None:
        if body.metadata is not None:
            check_metadata_size(body.metadata)
        if not body.model_fields_set:
            # Nothing to change is not a write: it stores nothing new and moves no expiry.
            return None
        updated = accepted_write(record, now, settings)
        if "title" in body.model_fields_set:
            updated.title = body.title
        if body.metadata:
            updated.metadata = merged_metadata(record.metadata, body.metadata)
            check_metadata_size(updated.metadata)
        require_active(record, now)
        return updated

    return write_once(owner, session_id, request, change)


def end_session(
    owner: str, session_id: str, request: RequestKey | None = None
) -> Outcome[SessionOut]:
    settings = get_settings()

    def change(record: SessionRecord, now: datetime) -> SessionRecord:
        require_active(record, now)
        return ended(record, now, settings)

    outcome = write_once(owner, session_id, request, change)
    if not outcome.replayed:
        logger.info("session ended", extra={"session_id": session_id})
    return outcome


def write_once(
    owner: str,
    session_id: str,
    request: RequestKey | None,
    change: Callable[[SessionRecord, datetime], SessionRecord | None],
) -> Outcome[SessionOut]:
    """A write of the session item alone (`change` makes the updated session, or None for
    nothing to change), answered with the session, once per Idempotency-Key."""

    def attempt() -> Outcome[SessionOut]:
        now = clock.now()
        key = request.key if request else None
        snapshot = get_store().snapshot(session_id, idempotency_key=key)
        record = visible(snapshot.session, owner, now)
        answer = replayed(snapshot.key, request)
        if answer is not None:
            return Outcome(session_from_answer(session_id, answer), replayed=True)
        updated = change(record, now)
        shown = session_summary(updated or record, now)
        key_record = request.record(record, session_answer(shown)) if request else None
        if updated is not None:
            get_store().write_session(record, updated, key_record=key_record)
        elif key_record is not None:
            get_store().record_key(key_record)
        return Outcome(session_out(updated or record, now, workflows.current_workflow(record)))

    return retry_conflicts(attempt)


def session_answer(shown: SessionSummary) -> dict[str, Any]:
    """What rebuilds an answer that is a session: the session as shown (its current
    workflow is that of the version it names, which no write changes)."""
    return {"session": shown.model_dump()}


def session_from_answer(session_id: str, answer: dict[str, Any]) -> SessionOut:
    shown = SessionSummary.model_validate(answer["session"])
    workflow = None
    if shown.workflow_version:
        version = get_store().get_version(session_id, shown.workflow_version)
        workflow = version.workflow if version else None
    return SessionOut(**shown.model_dump(), current_workflow=workflow)


def delete_session(owner: str, session_id: str) -> None:
    """Gone at once on every route; its items are deleted now, or by the next cleanup."""
    marked = mark_deleted(owner, session_id)
    if marked is None:
        raise SessionNotFound()
    complete = get_sweeps().delete_session_items(marked, time.monotonic() + DELETE_BUDGET_SECONDS)
    metrics.add_metric(name="SessionsDeleted", unit="Count", value=1)
    logger.info("session deleted", extra={"session_id": session_id, "complete": complete})


def mark_deleted(owner: str, session_id: str) -> SessionRecord | None:
    """Mark the session deleted: gone at once on every route (None when it is not the
    caller's to see)."""

    def attempt() -> SessionRecord | None:
        now = clock.now()
        record = get_store().get_session(session_id)
        if record is None or not is_visible(record, owner, now):
            return None
        marked = deleted(record, now)
        get_store().write_session(record, marked)
        return marked

    return retry_conflicts(attempt)


def delete_all_sessions(owner: str) -> DeleteAllOut:
    """Every session of the caller, as its list shows them: each marked deleted (gone at
    once), then their items deleted while the request's time allows (the cleanup deletes
    the rest). `more`: the time ran out before the list's end; call again."""
    until = time.monotonic() + DELETE_ALL_BUDGET_SECONDS
    marked, more = _mark_listed(owner, until)
    for gone in marked:
        if not _time_left(until):
            break
        get_sweeps().delete_session_items(gone, until)
    metrics.add_metric(name="SessionsDeleted", unit="Count", value=len(marked))
    logger.info("sessions of a caller deleted", extra={"deleted": len(marked), "more": more})
    return DeleteAllOut(deleted=len(marked), more=more)


def _mark_listed(owner: str, until: float) -> tuple[list[SessionRecord], bool]:
    """Mark deleted the sessions the caller's list shows, page by page, until its end or
    the time runs out: those marked, and whether the list goes on."""
    marked: list[SessionRecord] = []
    position: Position | None = None
    while True:
        page = get_store().list_sessions(owner, DELETE_ALL_PAGE, position)
        for record, _ in page.entries:
            if not _time_left(until):
                return marked, True
            gone = mark_deleted(owner, record.id)
            if gone is not None:
                marked.append(gone)
        if page.next is None:
            return marked, False
        if not _time_left(until):
            return marked, True
        position = page.next


def _time_left(until: float) -> bool:
    """Whether there is time for more work: the budget, and the request's own deadline
    with room to answer."""
    return time.monotonic() < until and deadline.allows(DELETE_ALL_MARGIN_SECONDS)
