"""Workflow versions of a session."""

from __future__ import annotations

from typing import Any

from chat_sessions.records import SessionRecord


def current_workflow(record: SessionRecord) -> dict[str, Any] | None:
    """The session's current workflow (None before the first version)."""
    if record.workflow_version == 0:
        return None
    raise NotImplementedError("workflow versions are not stored yet")
