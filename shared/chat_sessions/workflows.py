"""Workflow versions: store (put, patch, revert, turn), read, list and diff.

Every version write is one TransactWriteItems after one BatchGetItem (the session with
its current workflow): the version item, the session's WORKFLOW item and the session
item conditioned on its revision; a turn adds its messages to the same transaction.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chat_sessions import clock, cursor, jsonutil, workflow_diff
from chat_sessions.config import get_settings
from chat_sessions.errors import (
    BadRequest,
    LimitExceeded,
    NotFound,
    PatchFailed,
    SessionNotFound,
    ValidationFailed,
    VersionConflict,
)
from chat_sessions.limits import check_content_size, check_metadata_size, check_workflow_size
from chat_sessions.messages import message_out
from chat_sessions.models import (
    DiffOut,
    MessageIn,
    MessageOut,
    TurnIn,
    TurnOut,
    VersionPage,
    WorkflowOut,
    WorkflowVersionOut,
)
from chat_sessions.observability import metrics
from chat_sessions.records import MessageRecord, SessionRecord, VersionRecord
from chat_sessions.service import (
    accepted_write,
    get_store,
    is_visible,
    load_visible,
    require_active,
    retry_conflicts,
)
from chat_sessions.store import DuplicateMessageId

# Change lines are capped so a version item stays far below DynamoDB's 400 KB limit.
MAX_CHANGES_BYTES = 64 * 1024
_VERSION_SK = re.compile(r"^WF#\d{10}$")
_ETAG = re.compile(r"^W/")  # a weak tag counts the same

Compute = Callable[[dict[str, Any] | None], dict[str, Any]]


def etag(version: int) -> str:
    return f'"{version}"'


def version_out(record: VersionRecord, with_workflow: bool = False) -> WorkflowVersionOut:
    return WorkflowVersionOut(
        version=record.version,
        created_at=record.created_at,
        source=record.source,
        note=record.note,
        message_id=record.message_id,
        reverted_from=record.reverted_from,
        changes=record.changes,
        workflow=record.workflow if with_workflow else None,
    )


def dump_version(out: WorkflowVersionOut, with_workflow: bool) -> dict[str, Any]:
    return out.model_dump(exclude=None if with_workflow else {"workflow"})


def current_workflow(record: SessionRecord) -> dict[str, Any] | None:
    """The session's current workflow (None before the first version)."""
    if record.workflow_version == 0:
        return None
    current = get_store().get_current_workflow(record.id)
    return current.workflow if current else None


def get_workflow(owner: str, session_id: str) -> WorkflowOut:
    now = clock.now()
    record, current = get_store().get_session_and_workflow(session_id)
    if record is None or not is_visible(record, owner, now):
        raise SessionNotFound()
    if current is None or record.workflow_version == 0:
        raise NotFound("the session has no workflow yet")
    return WorkflowOut(
        version=current.version, workflow=current.workflow, updated_at=current.updated_at
    )


def if_match(header: str | None) -> Callable[[int], bool] | None:
    """A precondition from If-Match: `*`, or a list of tags (`"3"`, `W/"3"`, `"3", "4"`)
    that must hold the current version's tag; anything else matches nothing."""
    if header is None:
        return None
    if header.strip() == "*":
        return lambda _: True
    tags = {_ETAG.sub("", tag.strip()) for tag in header.split(",")}
    return lambda current: etag(current) in tags


@dataclass
class VersionChange:
    source: str
    compute: Compute
    note: str | None = None
    message_id: str | None = None
    reverted_from: int | None = None


def store_version(
    owner: str,
    session_id: str,
    change: VersionChange | None,
    precondition: Callable[[int], bool] | None,
    messages: Sequence[MessageIn] = (),
) -> tuple[list[MessageOut], WorkflowVersionOut | None]:
    """Store new messages and/or a new version, all or nothing, in one transaction."""
    settings = get_settings()
    for body in messages:
        check_content_size(body.content)
        check_metadata_size(body.metadata)
    ids = [body.id or str(uuid.uuid4()) for body in messages]

    def attempt() -> tuple[list[MessageOut], WorkflowVersionOut | None]:
        now = clock.now()
        record, current = get_store().get_session_and_workflow(session_id)
        if record is None or not is_visible(record, owner, now):
            raise SessionNotFound()
        require_active(record, now)
        if precondition is not None and not precondition(record.workflow_version):
            raise VersionConflict(record.workflow_version)
        if record.message_count + len(messages) > settings.max_messages_per_session:
            raise LimitExceeded(
                f"a session holds at most {settings.max_messages_per_session} messages"
            )
        updated = accepted_write(record, now, settings)
        stamp = clock.to_text(now)
        new_messages = [
            MessageRecord(
                session_id,
                ids[i],
                record.message_count + 1 + i,
                body.role,
                body.content,
                stamp,
                record.ttl,
                body.metadata,
            )
            for i, body in enumerate(messages)
        ]
        updated.message_count = record.message_count + len(messages)
        version = None
        if change is not None:
            if record.workflow_version + 1 > settings.max_workflow_versions:
                raise LimitExceeded(
                    f"a session holds at most {settings.max_workflow_versions} versions"
                )
            before = current.workflow if current is not None and record.workflow_version else None
            after = change.compute(before)
            check_workflow_size(after)
            changes = _change_lines(before, after, change.reverted_from)
            updated.workflow_version = record.workflow_version + 1
            version = VersionRecord(
                session_id,
                updated.workflow_version,
                stamp,
                change.source,
                change.note,
                change.message_id or (new_messages[-1].id if new_messages else None),
                change.reverted_from,
                changes,
                after,
                record.ttl,
            )
        try:
            get_store().write_session(
                record,
                updated,
                new_messages,
                [version.to_item()] if version else [],
                [version.current_item()] if version else [],
            )
        except DuplicateMessageId as exc:
            index = ids.index(exc.message_id)
            raise ValidationFailed(
                "a message id of this turn is already in the session",
                [{"field": f"messages.{index}.id", "message": "already in the session"}],
            ) from None
        if new_messages:
            metrics.add_metric(name="MessagesAppended", unit="Count", value=len(new_messages))
        if version:
            metrics.add_metric(name="VersionsStored", unit="Count", value=1)
        return [message_out(m) for m in new_messages], version_out(version) if version else None

    return retry_conflicts(attempt)


def _change_lines(
    before: dict[str, Any] | None, after: dict[str, Any], reverted_from: int | None
) -> list[str]:
    lines = ["created workflow"] if before is None else workflow_diff.change_lines(before, after)
    if reverted_from is not None:
        lines = [f"reverted to version {reverted_from}", *lines]
    return workflow_diff.limit_lines(lines, MAX_CHANGES_BYTES)


def put_workflow(
    owner: str,
    session_id: str,
    workflow: dict[str, Any],
    note: str | None,
    message_id: str | None,
    precondition: Callable[[int], bool] | None,
) -> WorkflowVersionOut:
    check_workflow_size(workflow)
    change = VersionChange("put", lambda _: workflow, note, message_id)
    return _only_version(store_version(owner, session_id, change, precondition))


def patch_workflow(
    owner: str,
    session_id: str,
    media: str,
    patch: Any,
    note: str | None,
    precondition: Callable[[int], bool] | None,
) -> WorkflowVersionOut:
    if media == "application/json-patch+json":
        try:
            # Checked before any read: a malformed patch is 422 whatever the session's state.
            workflow_diff.validate_ops(patch)
        except workflow_diff.InvalidPatch as exc:
            raise ValidationFailed(str(exc), [{"field": "", "message": str(exc)}]) from None

        def compute(base: dict[str, Any] | None) -> dict[str, Any]:
            try:
                result = workflow_diff.json_patch(base or {}, patch)
            except workflow_diff.InvalidPatch as exc:
                raise ValidationFailed(str(exc), [{"field": "", "message": str(exc)}]) from None
            except workflow_diff.PatchFailed as exc:
                raise PatchFailed(str(exc)) from None
            return _must_be_object(result)

        return _only_version(
            store_version(
                owner, session_id, VersionChange("json_patch", compute, note), precondition
            )
        )

    def merge(base: dict[str, Any] | None) -> dict[str, Any]:
        return _must_be_object(workflow_diff.merge_patch(base or {}, patch))

    return _only_version(
        store_version(owner, session_id, VersionChange("merge_patch", merge, note), precondition)
    )


def _must_be_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationFailed(
            "the patched workflow must be a JSON object",
            [{"field": "", "message": "the result is not an object"}],
        )
    jsonutil.loads(jsonutil.dumps(value))  # the result obeys the same depth rules as a body
    return value


def revert(
    owner: str,
    session_id: str,
    version: int,
    note: str | None,
    precondition: Callable[[int], bool] | None,
) -> WorkflowVersionOut:
    now = clock.now()
    load_visible(owner, session_id, now)
    target = get_store().get_version(session_id, version)
    if target is None or target.workflow is None:
        raise NotFound(f"no version {version}")
    workflow = target.workflow
    change = VersionChange("revert", lambda _: workflow, note, None, version)
    return _only_version(store_version(owner, session_id, change, precondition))


def _only_version(result: tuple[list[MessageOut], WorkflowVersionOut | None]) -> WorkflowVersionOut:
    version = result[1]
    assert version is not None
    return version


def take_turn(owner: str, session_id: str, body: TurnIn) -> TurnOut:
    change = None
    if body.workflow is not None:
        workflow = body.workflow
        check_workflow_size(workflow)
        change = VersionChange("turn", lambda _: workflow, body.note)
    elif body.workflow_patch is not None:
        patch = body.workflow_patch

        def merge(base: dict[str, Any] | None) -> dict[str, Any]:
            return _must_be_object(workflow_diff.merge_patch(base or {}, patch))

        change = VersionChange("turn", merge, body.note)
    expected = body.expected_version
    precondition = None if expected is None else (lambda current: current == expected)
    messages, version = store_version(owner, session_id, change, precondition, body.messages)
    return TurnOut(messages=messages, workflow_version=version)


def get_version(owner: str, session_id: str, version: int) -> WorkflowVersionOut:
    load_visible(owner, session_id, clock.now())
    record = get_store().get_version(session_id, version)
    if record is None:
        raise NotFound(f"no version {version}")
    return version_out(record, with_workflow=True)


def list_versions(owner: str, session_id: str, limit: int, after: str | None) -> VersionPage:
    load_visible(owner, session_id, clock.now())
    scope = f"versions|{session_id}"
    start = None
    if after is not None:
        (sk,) = cursor.decode(scope, after, 1)
        if not _VERSION_SK.match(sk):
            raise BadRequest("cursor is not valid for this list")
        start = {"pk": {"S": session_id}, "sk": {"S": sk}}
    records, last = get_store().list_versions(session_id, limit, start)
    next_cursor = cursor.encode(scope, [last["sk"]["S"]]) if last else None
    return VersionPage(items=[version_out(r) for r in records], next_cursor=next_cursor)


def diff(owner: str, session_id: str, start: int, end: int) -> DiffOut:
    load_visible(owner, session_id, clock.now())
    a, b = get_store().get_version(session_id, start), get_store().get_version(session_id, end)
    if a is None or b is None or a.workflow is None or b.workflow is None:
        raise NotFound(f"no version {start if a is None else end}")
    return DiffOut(
        **{"from": start},
        to=end,
        patch=workflow_diff.diff(a.workflow, b.workflow),
        changes=workflow_diff.change_lines(a.workflow, b.workflow),
    )
