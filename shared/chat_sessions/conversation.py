"""The conversation as an assistant works with it: undo its end (rewind), keep a summary of
its start, and read what the next model call needs (context).

A rewind and a summary are each one TransactWriteItems with the session item, conditioned
on the revision read, like every other write: appends racing a rewind land after it (with
the next seq) or before it (and are removed), never leaving a gap or a duplicate seq.
"""

from __future__ import annotations

from typing import Any

from chat_sessions import clock, jsonutil, paging, records
from chat_sessions.config import get_settings
from chat_sessions.dynamo import Conflict
from chat_sessions.errors import LimitExceeded, NotFound, ValidationFailed
from chat_sessions.idempotency import Outcome, RequestKey, replayed
from chat_sessions.lifecycle_models import (
    ContextOut,
    ContextWorkflow,
    RewindIn,
    SummaryIn,
    SummaryOut,
)
from chat_sessions.limits import check_content_size, check_metadata_size
from chat_sessions.models import MessageOut, SessionOut
from chat_sessions.observability import logger, metrics
from chat_sessions.records import SummaryRecord
from chat_sessions.session_access import get_store, retry_conflicts, visible
from chat_sessions.session_rules import accepted_write, require_active
from chat_sessions.sessions import session_answer, session_from_answer
from chat_sessions.views import message_out, session_out, session_summary

# A rewind's messages, their id guards, the session, the summary and the key: 83 of the
# 100 actions a TransactWriteItems may hold.
MAX_REWIND_MESSAGES = 40
# The context reads the newest messages in pages that start small and double: a request
# reads about what it returns, whether that is 3 messages or 3 000.
FIRST_CONTEXT_PAGE = 25


def rewind(
    owner: str, session_id: str, body: RewindIn, request: RequestKey | None
) -> Outcome[SessionOut]:
    """Remove the messages after `to_seq` (and the summary if it covers any of them) in one
    transaction, once per Idempotency-Key; workflow versions are kept."""
    settings = get_settings()
    to_seq = body.to_seq

    def attempt() -> Outcome[SessionOut]:
        now = clock.now()
        store = get_store()
        key = request.key if request else None
        snapshot = store.snapshot(session_id, workflow=True, idempotency_key=key)
        record = visible(snapshot.session, owner, now)
        answer = replayed(snapshot.key, request)
        if answer is not None:
            return Outcome(session_from_answer(session_id, answer), replayed=True)
        require_active(record, now)
        count = record.message_count
        if to_seq > count:
            raise ValidationFailed(
                f"to_seq is past the session's last message ({count})",
                [{"field": "to_seq", "message": f"must be at most {count}, the message_count"}],
            )
        if count - to_seq > MAX_REWIND_MESSAGES:
            raise LimitExceeded(
                f"a rewind removes at most {MAX_REWIND_MESSAGES} messages; rewind to "
                f"{count - MAX_REWIND_MESSAGES} first, then further"
            )
        current = (
            snapshot.current.workflow if snapshot.current and record.workflow_version else None
        )
        if to_seq == count:
            # Nothing to remove: not a write (no expiry moved), but the key is recorded.
            if request is not None:
                store.record_key(
                    request.record(record, session_answer(session_summary(record, now)))
                )
            return Outcome(session_out(record, now, current))
        ids = store.message_ids(session_id, to_seq + 1, count)
        if sorted(ids) != list(range(to_seq + 1, count + 1)):
            raise Conflict()  # rewound meanwhile: read again
        updated = accepted_write(record, now, settings)
        updated.message_count = to_seq
        removed = [records.message_sk(seq) for seq in ids]
        removed += [records.message_id_sk(message_id) for message_id in ids.values()]
        if record.summary_seq > to_seq:
            updated.summary_seq = 0
            removed.append(records.SUMMARY_SK)
        shown = session_summary(updated, now)
        key_record = request.record(record, session_answer(shown)) if request else None
        store.write_session(record, updated, key_record=key_record, removed=removed)
        metrics.add_metric(name="MessagesRemoved", unit="Count", value=len(ids))
        logger.info("session rewound", extra={"session_id": session_id, "removed": len(ids)})
        return Outcome(session_out(updated, now, current))

    return retry_conflicts(attempt)


def put_summary(
    owner: str, session_id: str, body: SummaryIn, request: RequestKey | None
) -> Outcome[SummaryOut]:
    """Store the assistant's summary of messages 1..covers_seq, replacing any earlier one,
    once per Idempotency-Key."""
    settings = get_settings()

    def attempt() -> Outcome[SummaryOut]:
        now = clock.now()
        store = get_store()
        snapshot = store.snapshot(session_id, idempotency_key=request.key if request else None)
        record = visible(snapshot.session, owner, now)
        # 413 after 404, before a replay, which outranks the session's state.
        check_content_size(body.content, "summary content")
        check_metadata_size(body.metadata)
        answer = replayed(snapshot.key, request)
        if answer is not None:
            return Outcome(_summary_from_answer(body, answer), replayed=True)
        require_active(record, now)
        count = record.message_count
        if body.covers_seq > count:
            raise ValidationFailed(
                f"covers_seq is past the session's last message ({count})",
                [{"field": "covers_seq", "message": f"must be at most {count}, the message_count"}],
            )
        updated = accepted_write(record, now, settings)
        updated.summary_seq = body.covers_seq
        summary = SummaryRecord(
            session_id, body.content, body.covers_seq, body.metadata, updated.updated_at, record.ttl
        )
        # The replay carries the content again: the key keeps only the time.
        answer = {"updated_at": summary.updated_at}
        key_record = request.record(record, answer) if request else None
        store.write_session(record, updated, key_record=key_record, summary=summary)
        metrics.add_metric(name="SummariesStored", unit="Count", value=1)
        return Outcome(summary_out(summary))

    return retry_conflicts(attempt)


def _summary_from_answer(body: SummaryIn, answer: dict[str, Any]) -> SummaryOut:
    return SummaryOut(
        content=body.content,
        covers_seq=body.covers_seq,
        metadata=body.metadata,
        updated_at=answer["updated_at"],
    )


def summary_out(summary: SummaryRecord) -> SummaryOut:
    return SummaryOut(
        content=summary.content,
        covers_seq=summary.covers_seq,
        metadata=summary.metadata,
        updated_at=summary.updated_at,
    )


def get_summary(owner: str, session_id: str) -> SummaryOut:
    snapshot = get_store().snapshot(session_id, summary=True)
    visible(snapshot.session, owner, clock.now())
    if snapshot.summary is None:
        raise NotFound("the session has no summary")
    return summary_out(snapshot.summary)


def context(owner: str, session_id: str, max_bytes: int) -> ContextOut:
    """The session, its summary and current workflow (one BatchGetItem), and the latest
    messages after the summary that fit in `max_bytes`, oldest first: one state of the
    session (read again when a rewind removed messages between the reads)."""
    return retry_conflicts(lambda: _context_once(owner, session_id, max_bytes))


def _context_once(owner: str, session_id: str, max_bytes: int) -> ContextOut:
    now = clock.now()
    snapshot = get_store().snapshot(session_id, workflow=True, summary=True)
    record = visible(snapshot.session, owner, now)
    summary = snapshot.summary
    if summary is not None and summary.covers_seq > record.message_count:
        summary = None  # removed by a rewind between the reads of the batch
    covers = summary.covers_seq if summary else 0
    current = snapshot.current if record.workflow_version else None
    rest = ContextOut(
        session=session_summary(record, now),
        summary=summary_out(summary) if summary else None,
        workflow=ContextWorkflow(version=current.version, workflow=current.workflow)
        if current
        else None,
        messages=[],
        omitted=0,
    )
    # The messages also leave room in Lambda's response for the rest, as Lambda measures it.
    room = paging.ITEMS_BUDGET - paging.escaped_size(jsonutil.dumps(rest.model_dump()))
    messages = _latest_that_fit(session_id, covers, record.message_count, max_bytes, room)
    omitted = record.message_count - covers - len(messages)
    return rest.model_copy(update={"messages": messages, "omitted": omitted})


def _latest_that_fit(
    session_id: str, after_seq: int, last_seq: int, max_bytes: int, room: int
) -> list[MessageOut]:
    """The newest messages after `after_seq` (through `last_seq`) whose JSON array fits in
    `max_bytes`, and in `room` bytes escaped inside Lambda's response, oldest first: read
    newest first, a page at a time, until one would not fit."""
    kept: list[MessageOut] = []
    used = escaped = len("[]")
    page = FIRST_CONTEXT_PAGE
    high = last_seq
    while high > after_seq:
        wanted = min(high - after_seq, page)
        found = get_store().messages_newest_first(session_id, after_seq + 1, high, wanted)
        for record in found:
            message = message_out(record)
            text = jsonutil.dumps(message.model_dump())
            comma = 1 if kept else 0
            size = len(text.encode("utf-8")) + comma
            # Escaped as a JSON string, without the string's own two quotes.
            escaped_size = paging.escaped_size(text) - 2 + comma
            if used + size > max_bytes or escaped + escaped_size > room:
                return kept[::-1]
            kept.append(message)
            used += size
            escaped += escaped_size
        if len(found) < wanted or (found and found[0].seq != high):
            # Removed by a rewind after the session was read: its count is stale, and
            # omitted would count removed messages. Read the session again.
            raise Conflict()
        high = found[-1].seq - 1
        page *= 2
    return kept[::-1]
