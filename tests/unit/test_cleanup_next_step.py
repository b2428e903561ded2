"""What the cleanup does to a session at a given time (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chat_sessions import clock
from chat_sessions.cleanup import DELETE, EXPIRE, next_step

T0 = datetime(2026, 11, 24, 5, 31, 0, 123000, tzinfo=UTC)
EXPIRES = clock.to_text(T0)
DELETE_AFTER = clock.to_text(T0 + timedelta(hours=24))
MS = timedelta(milliseconds=1)


@pytest.mark.parametrize(
    ("status", "now", "step"),
    [
        ("active", T0 - MS, None),
        ("active", T0, EXPIRE),
        ("active", T0 + timedelta(hours=24) - MS, EXPIRE),
        ("active", T0 + timedelta(hours=24), DELETE),
        ("expired", T0 + timedelta(hours=24) - MS, None),
        ("expired", T0 + timedelta(hours=24), DELETE),
        ("ended", T0 - MS, None),
        ("ended", T0 + timedelta(hours=24), DELETE),
        ("deleted", T0 + timedelta(hours=24), DELETE),
        ("deleted", T0 + timedelta(hours=24) - MS, None),
        # A fork or an import abandoned half-way: deleted once its build window has passed
        ("building", T0 + timedelta(hours=24) - MS, None),
        ("building", T0 + timedelta(hours=24), DELETE),
    ],
)
def test_a_session_is_expired_at_its_expiry_and_deleted_at_delete_after(
    status: str, now: datetime, step: str | None
) -> None:
    assert next_step(status, EXPIRES, DELETE_AFTER, now) == step


def test_no_grace_period_deletes_an_idle_session_at_its_expiry_without_expiring_it() -> None:
    assert next_step("active", EXPIRES, EXPIRES, T0) == DELETE
    assert next_step("active", EXPIRES, EXPIRES, T0 - MS) is None
