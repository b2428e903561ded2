"""The models of the conversation lifecycle routes: fork, rewind, summary, context, export
and import, and the erasure of a caller's sessions."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, WithJsonSchema

from chat_sessions import clock
from chat_sessions.contract import NOTE_MAX, SEQ_MAX, TITLE_MAX, VERSION_MAX
from chat_sessions.models import (
    Content,
    Integer,
    JsonObject,
    MessageOut,
    Metadata,
    RequestBody,
    ResponseBody,
    Role,
    SessionOut,
    SessionSummary,
    TimeOut,
    UuidText,
    Workflow,
    WorkflowVersionOut,
)

EXPORT_FORMAT = "chat-session/1"
TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"
_TIMESTAMP = re.compile(TIMESTAMP_PATTERN)


def _timestamp(value: str) -> str:
    if not _TIMESTAMP.fullmatch(value):
        raise ValueError(
            "must be an RFC 3339 UTC time with milliseconds, e.g. 2026-11-24T05:31:00.123Z"
        )
    try:
        clock.from_text(value)
    except ValueError:
        raise ValueError("must be a valid date and time") from None
    return value


Timestamp = Annotated[
    str,
    AfterValidator(_timestamp),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": TIMESTAMP_PATTERN}),
]


def _bounds(low: int, high: int) -> WithJsonSchema:
    # Spelled out: pydantic writes `ge`/`le` as such for a validated Integer.
    return WithJsonSchema({"type": "integer", "minimum": low, "maximum": high})


Seq = Annotated[Integer, Field(ge=0, le=SEQ_MAX), _bounds(0, SEQ_MAX)]
SeqFrom1 = Annotated[Integer, Field(ge=1, le=SEQ_MAX), _bounds(1, SEQ_MAX)]
VersionNumber = Annotated[Integer, Field(ge=0, le=VERSION_MAX), _bounds(0, VERSION_MAX)]
VersionFrom1 = Annotated[Integer, Field(ge=1, le=VERSION_MAX), _bounds(1, VERSION_MAX)]


class ForkIn(RequestBody):
    at_seq: Seq | None = Field(None, description="Copy messages 1..at_seq (default: all).")
    at_version: VersionNumber | None = Field(
        None, description="The version to start from (default: the current one; 0: none)."
    )
    title: str | None = Field(None, max_length=TITLE_MAX)
    metadata: Metadata | None = Field(None, description="Default: the source's metadata.")


class RewindIn(RequestBody):
    to_seq: Seq = Field(description="Keep messages 1..to_seq; remove the later ones.")


class SummaryIn(RequestBody):
    content: Content
    covers_seq: SeqFrom1
    metadata: Metadata = Field(default_factory=dict)


class SummaryOut(ResponseBody):
    content: str
    covers_seq: int
    metadata: Metadata
    updated_at: TimeOut


class ContextWorkflow(ResponseBody):
    version: int
    workflow: Workflow


class ContextOut(ResponseBody):
    session: SessionSummary
    summary: SummaryOut | None
    workflow: ContextWorkflow | None
    messages: list[MessageOut]
    omitted: int = Field(
        description="Messages after the summary left out: to fit max_bytes (or, with the "
        "rest of the answer, the 6 MB response limit)."
    )


class ExportOut(ResponseBody):
    format: Literal["chat-session/1"]
    exported_at: TimeOut
    session: SessionOut
    messages: list[MessageOut]
    versions: list[WorkflowVersionOut]
    summary: SummaryOut | None


class DeleteAllOut(ResponseBody):
    deleted: int
    more: bool = Field(description="true: call again; false: every listed session is gone.")


# --- an export document brought back: what POST /sessions/import takes ----------------


class ImportedSession(RequestBody):
    """The exported session: its id (kept as imported_from), title and metadata; the other
    fields of an export are taken and ignored (the new session has its own)."""

    id: UuidText
    title: str | None = Field(None, max_length=TITLE_MAX)
    metadata: Metadata = Field(default_factory=dict)
    status: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    expires_at: str | None = None
    delete_after: str | None = None
    message_count: Integer | None = None
    workflow_version: Integer | None = None
    current_workflow: Workflow | None = None
    forked_from: JsonObject | None = None
    imported_from: JsonObject | None = None


class ImportedMessage(RequestBody):
    id: UuidText
    seq: SeqFrom1
    role: Role
    content: Content
    metadata: Metadata = Field(default_factory=dict)
    timestamp: Timestamp


class ImportedVersion(RequestBody):
    version: VersionFrom1
    created_at: Timestamp
    source: Literal["put", "merge_patch", "json_patch", "revert", "turn", "fork", "import"]
    note: str | None = Field(None, max_length=NOTE_MAX)
    message_id: UuidText | None = None
    reverted_from: VersionFrom1 | None = None
    changes: list[str] = Field(default_factory=list)
    workflow: Workflow


class ImportedSummary(RequestBody):
    content: Content
    covers_seq: SeqFrom1
    metadata: Metadata = Field(default_factory=dict)
    updated_at: Timestamp


class ImportIn(RequestBody):
    format: Literal["chat-session/1"]
    exported_at: Timestamp
    session: ImportedSession
    messages: list[ImportedMessage] = Field(default_factory=list)
    versions: list[ImportedVersion] = Field(default_factory=list)
    summary: ImportedSummary | None = None
