"""The statuses a session can have, as stored and as answered."""

from __future__ import annotations

from enum import StrEnum


class SessionStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    ENDED = "ended"
    DELETED = "deleted"  # being deleted: gone on every route, its items going
