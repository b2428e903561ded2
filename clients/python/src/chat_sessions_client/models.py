"""The service's resources as typed results: ids are `uuid.UUID`, times aware `datetime`s,
workflows and metadata plain dicts. Fields the service may add later are ignored."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["user", "assistant", "system"]
SessionStatus = Literal["active", "expired", "ended"]
VersionSource = Literal["put", "merge_patch", "json_patch", "revert", "turn", "fork", "import"]
Workflow = dict[str, Any]


class _Resource(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class ForkedFrom(_Resource):
    session_id: UUID
    seq: int
    version: int


class ImportedFrom(_Resource):
    session_id: UUID
    exported_at: datetime


class SessionSummary(_Resource):
    """A session as lists show it: without its current workflow."""

    id: UUID
    title: str | None
    status: SessionStatus
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    delete_after: datetime
    message_count: int
    workflow_version: int
    metadata: dict[str, Any]
    forked_from: ForkedFrom | None = None
    imported_from: ImportedFrom | None = None


class Session(SessionSummary):
    current_workflow: Workflow | None = None


class Message(_Resource):
    id: UUID
    seq: int
    role: Role
    content: str
    metadata: dict[str, Any]
    timestamp: datetime


class WorkflowVersion(_Resource):
    """One stored version; `workflow` is there only where the route returns it."""

    version: int
    created_at: datetime
    source: VersionSource
    note: str | None = None
    message_id: UUID | None = None
    reverted_from: int | None = None
    changes: list[str]
    workflow: Workflow | None = None


class CurrentWorkflow(_Resource):
    version: int
    workflow: Workflow
    updated_at: datetime


class Diff(_Resource):
    """The RFC 6902 `patch` turning version `from_` into version `to`, and its change lines."""

    from_: int = Field(alias="from")
    to: int
    patch: list[dict[str, Any]]
    changes: list[str]


class TurnResult(_Resource):
    messages: list[Message]
    workflow_version: WorkflowVersion | None


class Summary(_Resource):
    """The assistant's own summary of messages 1..`covers_seq`."""

    content: str
    covers_seq: int
    metadata: dict[str, Any]
    updated_at: datetime


class ContextWorkflow(_Resource):
    version: int
    workflow: Workflow


class Context(_Resource):
    """What an assistant needs for its next call: the latest messages after the summary that
    fit the asked size, oldest first; `omitted` counts those left out."""

    session: SessionSummary
    summary: Summary | None
    workflow: ContextWorkflow | None
    messages: list[Message]
    omitted: int


class DeleteAllPage(_Resource):
    deleted: int
    more: bool
