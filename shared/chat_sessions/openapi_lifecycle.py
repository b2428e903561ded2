"""The operation table of the conversation lifecycle routes: fork, rewind, summary,
context, export, import, and the erasure of a caller's sessions."""

from __future__ import annotations

from chat_sessions.openapi_operations import Operation

LIFECYCLE_OPERATIONS: tuple[Operation, ...] = ()
