"""API models: request bodies (strict, unknown fields rejected) and response shapes."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

TITLE_MAX = 200
TURN_MAX_MESSAGES = 10


def _has_text(value: str) -> str:
    if not value.strip():
        raise ValueError("must contain at least one non-whitespace character")
    return value


_UUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def canonical_uuid(value: str) -> str | None:
    """The lower-case form of a UUID written 8-4-4-4-12; None for anything else (uuid.UUID
    alone would also take braces, urn:uuid: and unhyphenated forms)."""
    return value.lower() if _UUID.match(value) else None


def _uuid_text(value: str) -> str:
    found = canonical_uuid(value)
    if found is None:
        raise ValueError("must be a UUID (8-4-4-4-12 hexadecimal digits)")
    return found


Content = Annotated[
    str, AfterValidator(_has_text), WithJsonSchema({"type": "string", "pattern": "\\S"})
]
UuidText = Annotated[
    str, AfterValidator(_uuid_text), WithJsonSchema({"type": "string", "format": "uuid"})
]
Role = Literal["user", "assistant", "system"]
JsonObject = dict[str, Any]


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class CreateSessionIn(RequestBody):
    initial_description: str | None = Field(
        None, description="Becomes message 1 (role user) when it has non-whitespace text."
    )
    title: str | None = Field(None, max_length=TITLE_MAX)
    metadata: JsonObject = Field(default_factory=dict)


class PatchSessionIn(RequestBody):
    title: str | None = Field(None, max_length=TITLE_MAX)
    metadata: JsonObject | None = Field(
        None, description="Merged into the session's metadata; a null value removes a key."
    )


class MessageIn(RequestBody):
    role: Role
    content: Content
    metadata: JsonObject = Field(default_factory=dict)
    id: UuidText | None = Field(
        None, description="Client-chosen id; sending it again returns the first answer."
    )


class ResponseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SessionSummary(ResponseBody):
    id: str
    title: str | None
    status: Literal["active", "expired", "ended"]
    created_at: str
    updated_at: str
    expires_at: str
    delete_after: str
    message_count: int
    workflow_version: int
    metadata: JsonObject


class SessionOut(SessionSummary):
    current_workflow: JsonObject | None


class MessageOut(ResponseBody):
    id: str
    seq: int
    role: Role
    content: str
    metadata: JsonObject
    timestamp: str


class SessionPage(ResponseBody):
    items: list[SessionSummary]
    next_cursor: str | None


class MessagePage(ResponseBody):
    items: list[MessageOut]
    next_cursor: str | None


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorOut(BaseModel):
    error: ErrorDetail


class GatewayErrorOut(BaseModel):
    """The body API Gateway itself answers with (401 from the authorizer, 404, 429)."""

    message: str


NOTE_MAX = 1000
Note = Annotated[str | None, Field(None, max_length=NOTE_MAX)]


class WorkflowPutIn(RequestBody):
    workflow: JsonObject
    note: Note = None
    message_id: UuidText | None = Field(None, description="The message that caused this version.")


class RevertIn(RequestBody):
    version: int = Field(ge=1)
    note: Note = None


class TurnIn(RequestBody):
    messages: list[MessageIn] = Field(min_length=1, max_length=TURN_MAX_MESSAGES)
    workflow: JsonObject | None = None
    workflow_patch: JsonObject | None = Field(None, description="An RFC 7396 merge patch.")
    note: Note = None
    expected_version: int | None = Field(None, ge=0, description="0 = no workflow yet.")

    @model_validator(mode="after")
    def one_workflow_change(self) -> TurnIn:
        if self.workflow is not None and self.workflow_patch is not None:
            raise ValueError("send workflow or workflow_patch, not both")
        ids = [m.id for m in self.messages if m.id is not None]
        if len(ids) != len(set(ids)):
            raise ValueError("message ids in a turn must differ")
        return self


class WorkflowVersionOut(ResponseBody):
    version: int
    created_at: str
    source: Literal["put", "merge_patch", "json_patch", "revert", "turn"]
    note: str | None
    message_id: str | None
    reverted_from: int | None
    changes: list[str]
    workflow: JsonObject | None = Field(None, description="Only where the route says so.")


class WorkflowOut(ResponseBody):
    version: int
    workflow: JsonObject
    updated_at: str


class VersionPage(ResponseBody):
    items: list[WorkflowVersionOut]
    next_cursor: str | None


class DiffOut(ResponseBody):
    from_: int = Field(alias="from", serialization_alias="from")
    to: int
    patch: list[JsonObject]
    changes: list[str]

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TurnOut(ResponseBody):
    messages: list[MessageOut]
    workflow_version: WorkflowVersionOut | None
