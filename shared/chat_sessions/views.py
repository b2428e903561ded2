"""API responses built from stored records: the one place a record becomes a response."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from chat_sessions.models import (
    MessageIn,
    MessageOut,
    SessionOut,
    SessionSummary,
    WorkflowOut,
    WorkflowVersionOut,
)
from chat_sessions.records import CurrentWorkflow, MessageRecord, SessionRecord, VersionRecord
from chat_sessions.session_rules import status_of

Model = TypeVar("Model", bound=BaseModel)


def _from_record(model: type[Model], record: object, **values: Any) -> Model:
    """`model` with each field taken from the record's attribute of the same name, unless
    `values` gives it."""
    fields = {
        name: values[name] if name in values else getattr(record, name)
        for name in model.model_fields
    }
    return model(**fields)


def session_summary(record: SessionRecord, now: datetime) -> SessionSummary:
    return _from_record(SessionSummary, record, status=status_of(record, now).value)


def session_out(
    record: SessionRecord, now: datetime, workflow: dict[str, Any] | None
) -> SessionOut:
    status = status_of(record, now).value
    return _from_record(SessionOut, record, status=status, current_workflow=workflow)


def message_out(record: MessageRecord) -> MessageOut:
    return _from_record(MessageOut, record)


def replayed_message(body: MessageIn, message_id: str, seq: int, timestamp: str) -> MessageOut:
    """A message as its first answer showed it, rebuilt for an Idempotency-Key replay from
    the body the replay carries again and what the first request stored (id, seq, time)."""
    return MessageOut(
        id=message_id,
        seq=seq,
        role=body.role,
        content=body.content,
        metadata=body.metadata,
        timestamp=timestamp,
    )


def version_out(record: VersionRecord, with_workflow: bool = False) -> WorkflowVersionOut:
    return _from_record(
        WorkflowVersionOut, record, workflow=record.workflow if with_workflow else None
    )


def version_body(out: WorkflowVersionOut, with_workflow: bool) -> dict[str, Any]:
    """A version as a response body: with its workflow only where the route says so."""
    return out.model_dump(exclude=None if with_workflow else {"workflow"})


def workflow_out(current: CurrentWorkflow) -> WorkflowOut:
    return _from_record(WorkflowOut, current)
