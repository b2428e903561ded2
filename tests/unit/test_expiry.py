"""Expiry arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chat_sessions import clock, expiry
from chat_sessions.config import Settings

T0 = datetime(2026, 11, 24, 5, 31, 0, 123000, tzinfo=UTC)


def settings(**values: str) -> Settings:
    return Settings.model_validate(values)


def test_expiry_slides_with_writes_and_is_capped_by_the_lifetime() -> None:
    s = settings(SESSION_TIMEOUT_MINUTES="30", SESSION_MAX_LIFETIME_HOURS="1")
    assert expiry.expires_at(T0, T0, s) == T0 + timedelta(minutes=30)
    assert expiry.expires_at(T0 + timedelta(minutes=20), T0, s) == T0 + timedelta(minutes=50)
    assert expiry.expires_at(T0 + timedelta(minutes=45), T0, s) == T0 + timedelta(hours=1)


def test_decimal_settings_work_down_to_seconds() -> None:
    s = settings(SESSION_TIMEOUT_MINUTES="0.1", SESSION_GRACE_HOURS="0.001")
    assert expiry.expires_at(T0, T0, s) == T0 + timedelta(seconds=6)
    assert expiry.delete_after(T0, s) == T0 + timedelta(seconds=3.6)


def test_ttl_is_creation_plus_lifetime_plus_grace_in_epoch_seconds() -> None:
    s = settings()
    assert expiry.ttl(T0, s) == int((T0 + timedelta(hours=48)).timestamp())


def test_status_follows_the_clock() -> None:
    end = T0 + timedelta(minutes=30)
    assert expiry.effective_status("active", end, end - timedelta(milliseconds=1)) == "active"
    assert expiry.effective_status("active", end, end) == "expired"
    assert expiry.effective_status("ended", end, end + timedelta(days=1)) == "ended"


def test_timestamps_are_fixed_width_rfc3339_with_milliseconds() -> None:
    assert clock.to_text(T0) == "2026-11-24T05:31:00.123Z"
    assert clock.from_text("2026-11-24T05:31:00.123Z") == T0
    with clock.frozen(lambda: T0 + timedelta(microseconds=999)):
        assert clock.now() == T0


def test_deadline_shards_are_stable_and_in_range() -> None:
    shards = {expiry.deadline_shard(f"00000000-0000-0000-0000-{i:012d}", 8) for i in range(64)}
    assert shards == {str(i) for i in range(8)}
