"""Message operations: append (idempotent by client id) and list."""

from __future__ import annotations

import uuid

from chat_sessions import clock
from chat_sessions.config import get_settings
from chat_sessions.errors import IdempotencyKeyReused, SessionNotFound
from chat_sessions.limits import check_content_size, check_metadata_size
from chat_sessions.listing import list_page
from chat_sessions.models import MessageIn, MessageOut, MessagePage
from chat_sessions.observability import metrics
from chat_sessions.records import MessageRecord
from chat_sessions.session_access import get_store, load_visible, retry_conflicts, visible
from chat_sessions.session_rules import require_active, with_messages
from chat_sessions.session_store import DuplicateMessageId, Page, Position
from chat_sessions.views import message_out


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
            found, taken_seq = get_store().get_session_and_message_seq(session_id, message_id)
        else:
            found, taken_seq = get_store().get_session(session_id), None
        record = visible(found, owner, now)
        if taken_seq is not None:
            return replay(session_id, taken_seq, body), False
        require_active(record, now)
        updated, (message,) = with_messages(record, [body], [message_id], now, settings)
        try:
            get_store().write_session(record, updated, [message])
        except DuplicateMessageId:
            _, seq = get_store().get_session_and_message_seq(session_id, message_id)
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
    load_visible(owner, session_id, clock.now())

    def read(position: Position | None) -> Page[MessageRecord]:
        return get_store().list_messages(session_id, limit, order == "asc", after_seq, position)

    scope = f"messages|{owner}|{session_id}|{order}|{after_seq}"
    return list_page(MessagePage, scope, after, read, message_out)
