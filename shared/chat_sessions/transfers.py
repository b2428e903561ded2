"""Whole sessions copied: fork (a new session of the caller from part of one of theirs),
export (a session as one document) and import (a new session from such a document).

A fork and an import are written by transfer_store's build: the copied items first, under a
session item no route shows, then one transaction that makes the session active together
with the request's Idempotency-Key record. A request that loses (another request with its
key finished first, or it failed) leaves its build to the cleanup.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from chat_sessions import clock, expiry, jsonutil, workflows
from chat_sessions.config import Settings, get_settings
from chat_sessions.conversation import summary_out
from chat_sessions.dynamo import Action, Conflict, Item
from chat_sessions.errors import LimitExceeded, SessionNotFound, Unavailable, ValidationFailed
from chat_sessions.export_body import DocumentTooLarge, ExportBody
from chat_sessions.idempotency import Outcome, RequestKey, replayed, reused
from chat_sessions.import_rules import check_body, session_problem
from chat_sessions.lifecycle_models import ForkIn, ImportIn
from chat_sessions.limits import check_metadata_size
from chat_sessions.models import SessionOut
from chat_sessions.observability import logger, metrics
from chat_sessions.records import MessageRecord, SessionRecord, SummaryRecord, VersionRecord
from chat_sessions.session_access import get_store, get_table, retry_conflicts, visible
from chat_sessions.session_rules import is_visible, new_session
from chat_sessions.session_store import KeyTaken
from chat_sessions.sessions import create_once, current_view
from chat_sessions.statuses import SessionStatus
from chat_sessions.transfer_store import (
    Build,
    BuildLost,
    SourceGone,
    TransferStore,
    building,
)
from chat_sessions.views import message_out, session_out, version_out

# api.md: a fork copies at most 5 MB of messages, counted as their limits count them (the
# UTF-8 bytes of each content and of each metadata map's compact JSON).
FORK_MAX_MESSAGE_BYTES = 5_000_000
# An export's body as Lambda carries it: the room a diff has.
MAX_EXPORT_ESCAPED = workflows.MAX_DIFF_ESCAPED


def get_transfer_store() -> TransferStore:
    return TransferStore(get_table())


@dataclass
class Copy:
    """A new session written up to its last transaction: the session as it will be (its
    times set when it is made active), its build, and its current workflow."""

    session: SessionRecord
    build: Build
    workflow: dict[str, Any] | None


def activate(
    store: TransferStore, copy: Copy, key_actions: list[Action], now: datetime, settings: Settings
) -> SessionRecord:
    """Make the copy active now, with its key record: the session as stored (created now,
    expiring from now; its items keep the TTL they were written with)."""
    stamp = clock.to_text(now)
    expires = expiry.expires_at(now, now, settings)
    active = replace(
        copy.session,
        status=SessionStatus.ACTIVE,
        created_at=stamp,
        updated_at=stamp,
        expires_at=clock.to_text(expires),
        delete_after=clock.to_text(expiry.delete_after(expires, settings)),
    )
    try:
        store.finish(copy.build, active, key_actions, now)
    except BuildLost:
        raise Unavailable("the request ran out of time; retry") from None
    return active


# --- fork -------------------------------------------------------------------------------


def fork(
    owner: str, session_id: str, body: ForkIn, request: RequestKey | None
) -> Outcome[SessionOut]:
    """A new active session of the caller holding messages 1..at_seq of the source and the
    workflow of at_version as its version 1, once per Idempotency-Key (whose record lives
    in the source's partition, naming the new session)."""
    settings = get_settings()
    store = get_transfer_store()
    copies: list[Copy] = []  # made once; each attempt tries to finish it

    def attempt() -> Outcome[SessionOut]:
        now = clock.now()
        key = request.key if request else None
        snapshot = get_store().snapshot(session_id, idempotency_key=key)
        source = visible(snapshot.session, owner, now)
        if body.metadata is not None:
            check_metadata_size(body.metadata)  # 413 after 404, before a replay
        answer = replayed(snapshot.key, request)
        if answer is not None:
            made = get_store().get_session(answer["session_id"])
            if made is not None and is_visible(made, owner, now):
                return Outcome(current_view(made), replayed=True)
        if not copies:
            copies.append(_fork_copy(store, owner, source, body, now, settings))
            store.begin(copies[0].build)
        copy = copies[0]
        key_actions: list[Action] = []
        if request is not None:
            key_record = request.record(source, {"session_id": copy.session.id})
            key_actions = store.fork_key_actions(key_record, snapshot.key, now)
        try:
            active = activate(store, copy, key_actions, now, settings)
        except SourceGone:
            raise SessionNotFound() from None
        except KeyTaken:
            raise Conflict() from None  # another fork with the key finished first: replay it
        metrics.add_metric(name="SessionsForked", unit="Count", value=1)
        logger.info(
            "session forked",
            extra={
                "session_id": active.id,
                "source": session_id,
                "transactions": copy.build.transactions,
            },
        )
        return Outcome(session_out(active, now, copy.workflow))

    return _outcome(store, copies, lambda: retry_conflicts(attempt))


def _outcome(
    store: TransferStore, copies: list[Copy], run: Callable[[], Outcome[SessionOut]]
) -> Outcome[SessionOut]:
    """`run()`'s outcome; a build it made but did not finish (a replay was answered
    instead, or the request failed) is left to the cleanup's next run."""
    try:
        outcome = run()
    except Exception:
        for copy in copies:
            store.abandon(copy.build, clock.now())
        raise
    if outcome.replayed:
        for copy in copies:
            store.abandon(copy.build, clock.now())
    return outcome


def _fork_copy(
    store: TransferStore,
    owner: str,
    source: SessionRecord,
    body: ForkIn,
    now: datetime,
    settings: Settings,
) -> Copy:
    at_seq = source.message_count if body.at_seq is None else body.at_seq
    at_version = source.workflow_version if body.at_version is None else body.at_version
    _check_fork_point(source, at_seq, at_version)
    title = body.title if "title" in body.model_fields_set else source.title
    metadata = source.metadata if body.metadata is None else body.metadata
    session = new_session(str(uuid.uuid4()), owner, title, metadata, None, now, settings)
    messages = _messages_to_copy(store, source.id, at_seq, session)
    workflow = None
    if at_version:
        version = get_store().get_version(source.id, at_version)
        if version is None:
            raise SessionNotFound()  # deleted meanwhile: versions go only with their session
        workflow = version.workflow
    session.message_count = at_seq
    session.workflow_version = 1 if workflow is not None else 0
    forked_version = at_version if workflow is not None else 0
    session.forked_from = {"session_id": source.id, "seq": at_seq, "version": forked_version}
    items: list[Item] = []
    for message in messages:
        items += [message.to_item(), message.guard_item()]
    if workflow is not None:
        first = VersionRecord(
            session.id,
            1,
            clock.to_text(now),
            "fork",
            None,
            None,
            None,
            [f"forked from {source.id} version {forked_version}"],
            workflow,
            session.ttl,
        )
        items += [first.to_item(), first.current_item()]
    return Copy(session, store.plan(building(session, now), items), workflow)


def _check_fork_point(source: SessionRecord, at_seq: int, at_version: int) -> None:
    details = []
    if at_seq > source.message_count:
        count = source.message_count
        details.append(
            {"field": "at_seq", "message": f"must be at most {count}, the message_count"}
        )
    if at_version > source.workflow_version:
        count = source.workflow_version
        details.append(
            {"field": "at_version", "message": f"must be at most {count}, the workflow_version"}
        )
    if details:
        raise ValidationFailed("the fork point is past the session's end", details)


def _messages_to_copy(
    store: TransferStore, source_id: str, at_seq: int, into: SessionRecord
) -> list[MessageRecord]:
    """Messages 1..at_seq as messages of `into`; 409 as soon as they pass the fork's limit."""
    copied: list[MessageRecord] = []
    size = 0
    for message in store.messages(source_id, at_seq):
        size += len(message.content.encode("utf-8")) + jsonutil.size(message.metadata)
        if size > FORK_MAX_MESSAGE_BYTES:
            raise LimitExceeded(
                f"messages 1..{at_seq} take more than {FORK_MAX_MESSAGE_BYTES} bytes, what a "
                "fork copies at most; fork at an earlier at_seq"
            )
        copied.append(replace(message, session_id=into.id, ttl=into.ttl))
    if [message.seq for message in copied] != list(range(1, at_seq + 1)):
        raise Conflict()  # rewound while being read: read the source again
    return copied


# --- export -----------------------------------------------------------------------------


def export(owner: str, session_id: str) -> str:
    """The export document's body (compact JSON of ExportOut); 409 as soon as it cannot fit
    one Lambda response."""
    store = get_transfer_store()

    def attempt() -> str:
        now = clock.now()
        snapshot = get_store().snapshot(session_id, workflow=True, summary=True)
        record = visible(snapshot.session, owner, now)
        current = snapshot.current if record.workflow_version else None
        if current is not None and current.version != record.workflow_version:
            raise Conflict()  # a version stored between the reads of the batch
        summary = snapshot.summary
        if summary is not None and (
            not record.summary_seq or summary.covers_seq > record.message_count
        ):
            summary = None  # removed by a rewind between the reads of the batch
        body = ExportBody(
            clock.to_text(now),
            session_out(record, now, current.workflow if current else None).model_dump(),
            summary_out(summary).model_dump() if summary else None,
            MAX_EXPORT_ESCAPED,
        )
        count = 0
        for message in store.messages(session_id, record.message_count):
            count += 1
            if message.seq != count:
                raise Conflict()  # rewound while being read
            body.add_message(message_out(message).model_dump())
        if count != record.message_count:
            raise Conflict()
        for version in store.versions(session_id, record.workflow_version):
            body.add_version(version_out(version, with_workflow=True).model_dump())
        return body.text()

    try:
        return retry_conflicts(attempt)
    except DocumentTooLarge:
        base = f"/sessions/{session_id}"
        raise LimitExceeded(
            "the session is too large to export in one response; fetch it in parts instead: "
            f"GET {base} (with its current workflow), GET {base}/messages, GET "
            f"{base}/workflow/versions (then each version with its workflow: GET "
            f"{base}/workflow/versions/{{version}}) and GET {base}/summary"
        ) from None


# --- import -----------------------------------------------------------------------------


def import_document(
    owner: str, document: ImportIn, request: RequestKey | None
) -> Outcome[SessionOut]:
    """A new active session of the caller from an export document, once per
    Idempotency-Key of the caller (shared with POST /sessions: the other route is 422)."""
    settings = get_settings()
    check_body(document)
    problem = session_problem(document, settings)
    if problem is not None:
        earlier = _earlier_create(owner, request)  # a replay outranks what the session breaks
        if earlier is not None:
            return earlier
        raise problem
    store = get_transfer_store()
    copies: list[Copy] = []

    def attempt(create_key: str | None, replaces: str | None) -> SessionOut:
        now = clock.now()
        if not copies:
            copies.append(_import_copy(store, owner, document, create_key, now, settings))
            store.begin(copies[0].build)
        copy = copies[0]
        key_actions: list[Action] = []
        if create_key is not None and request is not None:
            key_actions = store.create_key_actions(
                create_key, copy.session, request.fingerprint, replaces
            )
        active = activate(store, copy, key_actions, now, settings)
        metrics.add_metric(name="SessionsImported", unit="Count", value=1)
        logger.info(
            "session imported",
            extra={"session_id": active.id, "transactions": copy.build.transactions},
        )
        return session_out(active, now, copy.workflow)

    return _outcome(store, copies, lambda: create_once(owner, request, attempt))


def _earlier_create(owner: str, request: RequestKey | None) -> Outcome[SessionOut] | None:
    """The replay of a create with this request's key, when the key named a session that is
    still there (422 when it came with another request); else None."""
    if request is None:
        return None
    recorded = get_store().session_created_with(get_store().create_key_id(owner, request.key))
    if recorded is None:
        return None
    holder, fingerprint = recorded
    made = get_store().get_session(holder)
    if made is None or not is_visible(made, owner, clock.now()):
        return None
    if fingerprint and fingerprint != request.fingerprint:
        raise reused()
    return Outcome(current_view(made), replayed=True)


def _import_copy(
    store: TransferStore,
    owner: str,
    document: ImportIn,
    create_key: str | None,
    now: datetime,
    settings: Settings,
) -> Copy:
    origin = document.session
    session = new_session(
        str(uuid.uuid4()), owner, origin.title, origin.metadata, create_key, now, settings
    )
    sid, ttl = session.id, session.ttl
    session.message_count = len(document.messages)
    session.workflow_version = len(document.versions)
    session.summary_seq = document.summary.covers_seq if document.summary else 0
    session.imported_from = {"session_id": origin.id, "exported_at": document.exported_at}
    items: list[Item] = []
    for m in document.messages:
        message = MessageRecord(sid, m.id, m.seq, m.role, m.content, m.timestamp, ttl, m.metadata)
        items += [message.to_item(), message.guard_item()]
    versions = [
        VersionRecord(
            sid,
            v.version,
            v.created_at,
            v.source,
            v.note,
            v.message_id,
            v.reverted_from,
            v.changes,
            v.workflow,
            ttl,
        )
        for v in document.versions
    ]
    items += [version.to_item() for version in versions]
    if versions:
        items.append(versions[-1].current_item())
    if document.summary is not None:
        s = document.summary
        summary = SummaryRecord(sid, s.content, s.covers_seq, s.metadata, s.updated_at, ttl)
        items.append(summary.to_item())
    workflow = versions[-1].workflow if versions else None
    return Copy(session, store.plan(building(session, now), items), workflow)
