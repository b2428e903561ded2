"""The statuses a session can have, as stored and as answered."""

from __future__ import annotations

from enum import StrEnum


class SessionStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    ENDED = "ended"
    DELETED = "deleted"  # being deleted: gone on every route, its items going
    # A fork or an import being written (more than one transaction): invisible on every
    # route until its last transaction makes it active; the cleanup removes an abandoned one.
    BUILDING = "building"
