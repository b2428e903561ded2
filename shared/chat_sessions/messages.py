"""Message operations: append (idempotent by client id) and list."""

from __future__ import annotations

import uuid
from typing import Any

from chat_sessions import clock
from chat_sessions.config import get_settings
from chat_sessions.dynamo import Conflict
from chat_sessions.errors import IdempotencyKeyReused, SessionNotFound
from chat_sessions.idempotency import Outcome, RequestKey, replayed
from chat_sessions.limits import check_content_size, check_metadata_size
from chat_sessions.listing import list_page
from chat_sessions.models import MessageIn, MessageOut, MessagePage
from chat_sessions.observability import metrics
from chat_sessions.records import MessageRecord
from chat_sessions.session_access import get_store, load_visible, retry_conflicts, visible
from chat_sessions.session_rules import require_active, with_messages
from chat_sessions.session_store import DuplicateMessageId, Page, Position
from chat_sessions.views import message_out, replayed_message


def append_message(
    owner: str, session_id: str, body: MessageIn, request: RequestKey | None = None
) -> Outcome[tuple[MessageOut, bool]]:
    """Store a message: ((message, True), not replayed) when new; ((first answer, False),
    ...) for a client message id already in the session; a replay of the Idempotency-Key
    answers as its first request was answered."""
    settings = get_settings()
    message_id = body.id or str(uuid.uuid4())

    def attempt() -> Outcome[tuple[MessageOut, bool]]:
        now = clock.now()
        snapshot = get_store().snapshot(
            session_id, idempotency_key=request.key if request else None, message_id=body.id
        )
        record = visible(snapshot.session, owner, now)
        # api.md's order: 404, then 413 for the body, then a replay, then the session's state.
        check_content_size(body.content)
        check_metadata_size(body.metadata)
        answer = replayed(snapshot.key, request)
        if answer is not None:
            return Outcome((message_from_answer(body, answer), answer["created"]), replayed=True)
        if snapshot.message_seq is not None:
            first = replay(session_id, snapshot.message_seq, body)
            if request is not None:
                get_store().record_key(request.record(record, message_answer(first, False)))
            return Outcome((first, False))
        require_active(record, now)
        updated, (message,) = with_messages(record, [body], [message_id], now, settings)
        out = message_out(message)
        key_record = request.record(record, message_answer(out, True)) if request else None
        try:
            get_store().write_session(record, updated, [message], key_record=key_record)
        except DuplicateMessageId:
            raise Conflict() from None  # stored meanwhile by another request: read again
        metrics.add_metric(name="MessagesAppended", unit="Count", value=1)
        return Outcome((out, True))

    return retry_conflicts(attempt)


def message_answer(message: MessageOut, created: bool) -> dict[str, Any]:
    """What rebuilds a message's answer with the body a replay carries again."""
    return {
        "id": message.id,
        "seq": message.seq,
        "timestamp": message.timestamp,
        "created": created,
    }


def message_from_answer(body: MessageIn, answer: dict[str, Any]) -> MessageOut:
    return replayed_message(body, answer["id"], answer["seq"], answer["timestamp"])


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
