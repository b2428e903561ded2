"""The session rules, without DynamoDB: visibility, status, transitions, writes, metadata."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from chat_sessions import clock, session_rules
from chat_sessions.config import Settings
from chat_sessions.errors import LimitExceeded, SessionNotActive
from chat_sessions.models import MessageIn
from chat_sessions.records import SessionRecord
from chat_sessions.statuses import SessionStatus

T0 = datetime(2026, 11, 24, 5, 31, 0, 123000, tzinfo=UTC)
SETTINGS = Settings.model_validate({"MAX_MESSAGES_PER_SESSION": "3"})
SESSION_ID = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"


def created() -> SessionRecord:
    return session_rules.new_session(SESSION_ID, "alice", "t", {"a": 1}, None, T0, SETTINGS)


def test_a_new_session_is_active_and_expires_after_the_idle_timeout() -> None:
    record = created()
    assert (record.status, record.revision, record.message_count) == ("active", 1, 0)
    assert clock.from_text(record.expires_at) == T0 + SETTINGS.timeout
    assert session_rules.status_of(record, T0) == SessionStatus.ACTIVE


def test_only_its_owner_sees_a_session_until_it_is_deleted_or_gone() -> None:
    record = created()
    gone = clock.from_text(record.delete_after)
    assert session_rules.is_visible(record, "alice", T0)
    assert not session_rules.is_visible(record, "bob", T0)
    assert not session_rules.is_visible(record, "alice", gone)
    assert not session_rules.is_visible(session_rules.deleted(record, T0), "alice", T0)
    assert not session_rules.is_visible(None, "alice", T0)
    # A fork or an import being written is no one's yet, whatever its record says
    building = replace(record, status=SessionStatus.BUILDING)
    assert not session_rules.is_visible(building, "alice", T0)


def test_status_comes_from_the_clock_and_only_an_active_session_takes_writes() -> None:
    record = created()
    expires = clock.from_text(record.expires_at)
    assert session_rules.status_of(record, expires) == SessionStatus.EXPIRED
    with pytest.raises(SessionNotActive):
        session_rules.require_active(record, expires)
    with pytest.raises(SessionNotActive):
        session_rules.require_active(session_rules.ended(record, T0, SETTINGS), T0)
    assert session_rules.expired(record).status == SessionStatus.EXPIRED


def test_an_accepted_write_slides_the_expiry_and_moves_the_revision() -> None:
    record = created()
    later = T0 + timedelta(minutes=10)
    updated = session_rules.accepted_write(record, later, SETTINGS)
    assert clock.from_text(updated.expires_at) == later + SETTINGS.timeout
    assert (updated.updated_at, updated.revision) == (clock.to_text(later), 2)


def test_messages_are_numbered_after_the_last_up_to_the_limit() -> None:
    record = created()
    bodies = [MessageIn(role="user", content="a"), MessageIn(role="assistant", content="b")]
    updated, messages = session_rules.with_messages(record, bodies, ["x", "y"], T0, SETTINGS)
    assert [(m.id, m.seq, m.role) for m in messages] == [("x", 1, "user"), ("y", 2, "assistant")]
    assert updated.message_count == 2
    with pytest.raises(LimitExceeded):
        session_rules.with_messages(updated, bodies, ["z", "w"], T0, SETTINGS)


def test_a_metadata_patch_replaces_keys_and_null_removes_one() -> None:
    merged = session_rules.merged_metadata({"a": 1, "b": 2}, {"a": None, "c": 3})
    assert merged == {"b": 2, "c": 3}
