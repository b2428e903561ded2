"""API models: request bodies (strict, unknown fields rejected) and response shapes."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

from chat_sessions.contract import (
    NOTE_MAX,
    TITLE_MAX,
    TURN_MAX_MESSAGES,
    UUID_PATTERN,
    VERSION_MAX,
)

# Whitespace, spelled out so that the service and the document's pattern (read by ECMA, Python
# and Rust regex engines alike) agree: Python's str.isspace() set and ECMAScript's \s together.
WHITESPACE = (
    "\t\n\u000b\u000c\r\u001c-\u001f \u0085\u00a0\u1680\u2000-\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
TEXT_PATTERN = f"[^{WHITESPACE}]"
_TEXT = re.compile(TEXT_PATTERN)


def _has_text(value: str) -> str:
    if not _TEXT.search(value):
        raise ValueError("must contain at least one non-whitespace character")
    return value


_UUID = re.compile(UUID_PATTERN)


def canonical_uuid(value: str) -> str | None:
    """The lower-case form of a UUID written 8-4-4-4-12; None for anything else (uuid.UUID
    alone would also take braces, urn:uuid: and unhyphenated forms; `$` a final newline)."""
    return value.lower() if _UUID.fullmatch(value) else None


def _integral(value: Any) -> Any:
    """JSON Schema counts 1828.0 and 1.828e3 as integers: so does the service (the codec
    reads them as Decimal). 1828.5 stays a Decimal, which strict int refuses."""
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    return value


Integer = Annotated[int, BeforeValidator(_integral)]


def _uuid_text(value: str) -> str:
    found = canonical_uuid(value)
    if found is None:
        raise ValueError("must be a UUID (8-4-4-4-12 hexadecimal digits)")
    return found


Content = Annotated[
    str,
    AfterValidator(_has_text),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": TEXT_PATTERN,
            "description": "At least one character that is not whitespace.",
        }
    ),
]
UuidText = Annotated[
    str,
    AfterValidator(_uuid_text),
    WithJsonSchema({"type": "string", "format": "uuid", "pattern": UUID_PATTERN}),
]
Role = Literal["user", "assistant", "system"]
# Where this marker stands, openapi_schemas puts a reference to the component it names
# (JsonValue: any JSON value, numbers only where DynamoDB can store them).
COMPONENT_MARKER = "x-component"


def _component(name: str) -> WithJsonSchema:
    return WithJsonSchema({COMPONENT_MARKER: name})


# JSON objects the document names, so that generated clients have one class for each.
JsonObject = Annotated[dict[str, Any], _component("JsonObject")]
Workflow = Annotated[dict[str, Any], _component("Workflow")]
Metadata = Annotated[dict[str, Any], _component("Metadata")]
WorkflowMergePatch = Annotated[dict[str, Any], _component("WorkflowMergePatch")]
JsonPatchOperation = Annotated[dict[str, Any], _component("JsonPatchOperation")]
# What responses hold, as strings, with the format a client may parse them into.
UuidOut = Annotated[str, WithJsonSchema({"type": "string", "format": "uuid"})]
TimeOut = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "RFC 3339 UTC with milliseconds and Z, e.g. 2026-11-24T05:31:00.123Z.",
        }
    ),
]


class RequestBody(BaseModel):
    # Schemas are built on first use: an init builds none, a request only its own.
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)


class CreateSessionIn(RequestBody):
    initial_description: str | None = Field(
        None, description="Becomes message 1 (role user) when it has non-whitespace text."
    )
    title: str | None = Field(None, max_length=TITLE_MAX)
    metadata: Metadata = Field(default_factory=dict)


class PatchSessionIn(RequestBody):
    title: str | None = Field(None, max_length=TITLE_MAX)
    metadata: Metadata | None = Field(
        None, description="Merged into the session's metadata; a null value removes a key."
    )


class MessageIn(RequestBody):
    role: Role
    content: Content
    metadata: Metadata = Field(default_factory=dict)
    id: UuidText | None = Field(
        None, description="Client-chosen id; sending it again returns the first answer."
    )


class ResponseBody(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class ForkOrigin(ResponseBody):
    session_id: UuidOut
    seq: int
    version: int


class ImportOrigin(ResponseBody):
    session_id: UuidOut
    exported_at: TimeOut


class SessionSummary(ResponseBody):
    id: UuidOut
    title: str | None
    status: Literal["active", "expired", "ended"]
    created_at: TimeOut
    updated_at: TimeOut
    expires_at: TimeOut
    delete_after: TimeOut
    message_count: int
    workflow_version: int
    metadata: Metadata
    forked_from: ForkOrigin | None = None
    imported_from: ImportOrigin | None = None


class SessionOut(SessionSummary):
    current_workflow: Workflow | None


class MessageOut(ResponseBody):
    id: UuidOut
    seq: int
    role: Role
    content: str
    metadata: Metadata
    timestamp: TimeOut


class SessionPage(ResponseBody):
    items: list[SessionSummary]
    next_cursor: str | None


class MessagePage(ResponseBody):
    items: list[MessageOut]
    next_cursor: str | None


class ErrorDetail(BaseModel):
    model_config = ConfigDict(defer_build=True)

    code: str
    message: str
    details: Any = None


class ErrorOut(BaseModel):
    model_config = ConfigDict(defer_build=True)

    error: ErrorDetail


class GatewayErrorOut(BaseModel):
    """The body API Gateway itself answers with (401 from the authorizer, 404, 429)."""

    model_config = ConfigDict(defer_build=True)

    message: str


Note = Annotated[str | None, Field(None, max_length=NOTE_MAX)]


class WorkflowPutIn(RequestBody):
    workflow: Workflow
    note: Note = None
    message_id: UuidText | None = Field(None, description="The message that caused this version.")


class RevertIn(RequestBody):
    version: Integer = Field(ge=1, le=VERSION_MAX)
    note: Note = None


# Spelled out: pydantic writes `ge`/`le` as such for a validated int inside a union.
ExpectedVersion = Annotated[
    Integer,
    Field(ge=0, le=VERSION_MAX),
    WithJsonSchema({"type": "integer", "minimum": 0, "maximum": VERSION_MAX}),
]


class TurnIn(RequestBody):
    # What one_workflow_change refuses, for the document: not a workflow and a patch at once.
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "not": {
                "required": ["workflow", "workflow_patch"],
                "properties": {
                    "workflow": {"type": "object"},
                    "workflow_patch": {"type": "object"},
                },
            }
        },
    )
    messages: list[MessageIn] = Field(min_length=1, max_length=TURN_MAX_MESSAGES)
    workflow: Workflow | None = None
    workflow_patch: WorkflowMergePatch | None = Field(None, description="An RFC 7396 merge patch.")
    note: Note = None
    expected_version: ExpectedVersion | None = Field(None, description="0 = no workflow yet.")

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
    created_at: TimeOut
    source: Literal["put", "merge_patch", "json_patch", "revert", "turn", "fork", "import"]
    note: str | None
    message_id: UuidOut | None
    reverted_from: int | None
    changes: list[str]
    workflow: Workflow | None = Field(None, description="Only where the route says so.")


class WorkflowOut(ResponseBody):
    version: int
    workflow: Workflow
    updated_at: TimeOut


class VersionPage(ResponseBody):
    items: list[WorkflowVersionOut]
    next_cursor: str | None


class DiffOut(ResponseBody):
    from_: int = Field(alias="from", serialization_alias="from")
    to: int
    patch: list[JsonPatchOperation]
    changes: list[str]

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


class TurnOut(ResponseBody):
    messages: list[MessageOut]
    workflow_version: WorkflowVersionOut | None
