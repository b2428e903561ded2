"""Message operations: append (idempotent by client id) and list."""

from __future__ import annotations

import re
import uuid

from chat_sessions import clock, cursor, paging
from chat_sessions.config import get_settings
from chat_sessions.errors import (
    BadRequest,
    IdempotencyKeyReused,
    LimitExceeded,
    SessionNotFound,
)
from chat_sessions.limits import check_content_size, check_metadata_size
from chat_sessions.models import MessageIn, MessageOut, MessagePage
from chat_sessions.observability import metrics
from chat_sessions.records import MessageRecord, message_sk
from chat_sessions.service import (
    accepted_write,
    get_store,
    is_visible,
    load_visible,
    require_active,
    retry_conflicts,
)
from chat_sessions.store import DuplicateMessageId

_MESSAGE_SK = re.compile(r"^MSG#\d{10}$")


def message_out(record: MessageRecord) -> MessageOut:
    return MessageOut(
        id=record.id,
        seq=record.seq,
        role=record.role,
        content=record.content,
        metadata=record.metadata,
        timestamp=record.timestamp,
    )


def append_message(owner: str, session_id: str, body: MessageIn) -> tuple[MessageOut, bool]:
    """Store a message; (message, True) when new, (first answer, False) for a replay."""
    settings = get_settings()
    message_id = body.id or str(uuid.uuid4())
    # The body first: 413 outranks a replay, which outranks the session's state.
    check_content_size(body.content)
    check_metadata_size(body.metadata)

    def attempt() -> tuple[MessageOut, bool]:
        now = clock.now()
        if body.id is not None:
            record, taken_seq = get_store().get_session_and_message_id(session_id, message_id)
        else:
            record, taken_seq = get_store().get_session(session_id), None
        if record is None or not is_visible(record, owner, now):
            raise SessionNotFound()
        if taken_seq is not None:
            return replay(session_id, taken_seq, body), False
        require_active(record, now)
        if record.message_count + 1 > settings.max_messages_per_session:
            raise LimitExceeded(
                f"a session holds at most {settings.max_messages_per_session} messages"
            )
        updated = accepted_write(record, now, settings)
        updated.message_count = record.message_count + 1
        message = MessageRecord(
            session_id=session_id,
            id=message_id,
            seq=updated.message_count,
            role=body.role,
            content=body.content,
            metadata=body.metadata,
            timestamp=clock.to_text(now),
            ttl=record.ttl,
        )
        try:
            get_store().write_session(record, updated, [message])
        except DuplicateMessageId:
            _, seq = get_store().get_session_and_message_id(session_id, message_id)
            if seq is None:  # pragma: no cover - the guard exists if the write said so
                raise
            return replay(session_id, seq, body), False
        metrics.add_metric(name="MessagesAppended", unit="Count", value=1)
        return message_out(message), True

    return retry_conflicts(attempt)


def replay(session_id: str, seq: int, body: MessageIn) -> MessageOut:
    """The first answer to a message id sent again: only for the same message."""
    stored = get_store().get_message(session_id, seq)
    if stored is None:  # pragma: no cover - written in the same transaction as its guard
        raise SessionNotFound()
    if (stored.role, stored.content, stored.metadata) != (body.role, body.content, body.metadata):
        raise IdempotencyKeyReused(
            f"message id {stored.id} is already in this session with other role, content "
            "or metadata; send a new id for a new message"
        )
    return message_out(stored)


def list_messages(
    owner: str,
    session_id: str,
    order: str,
    after_seq: int | None,
    limit: int,
    after: str | None,
) -> MessagePage:
    now = clock.now()
    load_visible(owner, session_id, now)
    scope = f"messages|{owner}|{session_id}|{order}|{after_seq}"
    start = None
    if after is not None:
        (sk,) = cursor.decode(scope, after, 1)
        if not _MESSAGE_SK.match(sk):
            raise BadRequest("cursor is not valid for this list")
        start = {"pk": {"S": session_id}, "sk": {"S": sk}}
    found, last = get_store().list_messages(session_id, limit, order == "asc", after_seq, start)
    items, position = paging.cut(
        [message_out(r) for r in found],
        last["sk"]["S"] if last else None,
        lambda message: message_sk(message.seq),
    )
    next_cursor = cursor.encode(scope, [position]) if position else None
    return MessagePage(items=items, next_cursor=next_cursor)
