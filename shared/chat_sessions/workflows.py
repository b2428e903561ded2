"""Workflow versions: store (put, patch, revert, turn), read, list and diff.

Every version write is one TransactWriteItems after one BatchGetItem (the session with
its current workflow): the version item, the session's WORKFLOW item and the session
item conditioned on its revision; a turn adds its messages to the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chat_sessions import change_lines, clock, json_patch, jsonutil, workflow_diff
from chat_sessions.config import get_settings
from chat_sessions.errors import (
    IdempotencyKeyReused,
    LimitExceeded,
    NotFound,
    PatchFailed,
    PayloadTooLarge,
    SessionNotFound,
    ValidationFailed,
    VersionConflict,
)
from chat_sessions.idempotency import Outcome, RequestKey, replayed
from chat_sessions.limits import (
    MAX_WORKFLOW_LEVELS,
    check_content_size,
    check_metadata_size,
    check_workflow_depth,
    check_workflow_size,
)
from chat_sessions.listing import list_page
from chat_sessions.models import (
    MessageIn,
    MessageOut,
    TurnIn,
    TurnOut,
    VersionPage,
    WorkflowOut,
    WorkflowVersionOut,
)
from chat_sessions.observability import metrics
from chat_sessions.preconditions import Precondition, turn_precondition
from chat_sessions.records import CurrentWorkflow, SessionRecord, VersionRecord
from chat_sessions.session_access import get_store, load_visible, retry_conflicts, visible
from chat_sessions.session_rules import check_version_room, require_active, with_messages
from chat_sessions.session_store import DuplicateMessageId, Page, Position
from chat_sessions.views import message_out, replayed_message, version_out, workflow_out

# Change lines are capped so a version item stays far below DynamoDB's 400 KB limit.
MAX_CHANGES_BYTES = 64 * 1024
# A diff's body as Lambda carries it (escaped inside the function's JSON response): under
# Lambda's 6 291 556-byte response limit (and 6 MB of 1 000 000 bytes), with room for the rest
# of the response (status, headers).
MAX_DIFF_ESCAPED = 6_000_000 - 4_000
Compute = Callable[[dict[str, Any] | None], dict[str, Any]]


def current_workflow(record: SessionRecord) -> dict[str, Any] | None:
    """The session's current workflow (None before the first version)."""
    if record.workflow_version == 0:
        return None
    current = get_store().get_current_workflow(record.id)
    return current.workflow if current else None


def get_workflow(owner: str, session_id: str) -> WorkflowOut:
    found, current = get_store().get_session_and_workflow(session_id)
    record = visible(found, owner, clock.now())
    if current is None or record.workflow_version == 0:
        raise NotFound("the session has no workflow yet")
    return workflow_out(current)


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
    request: RequestKey | None,
    messages: Sequence[MessageIn] = (),
) -> Outcome[Stored]:
    """Store new messages and/or a new version, all or nothing, in one transaction, once
    per Idempotency-Key."""
    settings = get_settings()
    ids = [body.id or str(uuid.uuid4()) for body in messages]

    def attempt() -> Outcome[Stored]:
        now = clock.now()
        snapshot = get_store().snapshot(
            session_id, workflow=True, idempotency_key=request.key if request else None
        )
        record = visible(snapshot.session, owner, now)
        # api.md's order: the workflow the request would produce is judged (422, 413) before
        # a replay, the session's state (409) and version (412); a failed patch comes last.
        before, after, failed = _apply(change, record, snapshot.current)
        for body in messages:
            check_content_size(body.content)
            check_metadata_size(body.metadata)
        answer = replayed(snapshot.key, request)
        if answer is not None:
            return Outcome(_stored_from_answer(session_id, messages, answer), replayed=True)
        require_active(record, now)
        if precondition is not None and not precondition(record.workflow_version):
            raise VersionConflict(record.workflow_version)
        if failed is not None:
            raise failed
        if record.workflow_version and _same_json(before, after):
            # Nothing changes: no version is stored and, without messages, nothing at all
            # but the request's Idempotency-Key.
            change_made = None
            if not messages:
                current = _current_version(record)
                if request is not None:
                    answer = {"version": current.version, "messages": None}
                    get_store().record_key(request.record(record, answer))
                return Outcome(([], current))
        else:
            change_made = change
        updated, new_messages = with_messages(record, messages, ids, now, settings)
        version = None
        if change_made is not None and after is not None:
            check_version_room(record, settings)
            updated.workflow_version = record.workflow_version + 1
            caused_by = change_made.message_id or (new_messages[-1].id if new_messages else None)
            version = _version(updated, change_made, before, after, caused_by, now)
        key_record = None
        if request is not None:
            answer = {
                "version": version.version if version else None,
                "messages": [[m.id, m.seq, m.timestamp] for m in new_messages],
            }
            key_record = request.record(record, answer)
        try:
            get_store().write_session(record, updated, new_messages, version, key_record=key_record)
        except DuplicateMessageId as exc:
            index = ids.index(exc.message_id)
            raise IdempotencyKeyReused(
                "a message id of this turn is already in the session; send new ids",
                [{"field": f"messages.{index}.id", "message": "already in the session"}],
            ) from None
        if new_messages:
            metrics.add_metric(name="MessagesAppended", unit="Count", value=len(new_messages))
        if version:
            metrics.add_metric(name="VersionsStored", unit="Count", value=1)
        stored = [message_out(m) for m in new_messages], version_out(version) if version else None
        return Outcome(stored)

    return retry_conflicts(attempt)


Stored = tuple[list[MessageOut], WorkflowVersionOut | None]


def _stored_from_answer(
    session_id: str, bodies: Sequence[MessageIn], answer: dict[str, Any]
) -> Stored:
    """The first answer of a replayed request: its messages from the bodies it carries
    again, with the ids, seqs and times the first one stored; its version as stored."""
    stored_messages = [
        replayed_message(body, message_id, seq, timestamp)
        for body, (message_id, seq, timestamp) in zip(
            bodies, answer["messages"] or [], strict=False
        )
    ]
    version = None
    if answer["version"] is not None:
        found = get_store().get_version(session_id, answer["version"])
        if found is None:  # pragma: no cover - versions live as long as their session
            raise SessionNotFound()
        version = version_out(found)
    return stored_messages, version


def _same_json(a: Any, b: Any) -> bool:
    """JSON equality (key order aside): True and 1 differ, as they do in JSON."""
    return a is not None and b is not None and jsonutil.canonical(a) == jsonutil.canonical(b)


def _current_version(record: SessionRecord) -> WorkflowVersionOut:
    stored = get_store().get_version(record.id, record.workflow_version)
    if stored is None:  # pragma: no cover - written with the counter that names it
        raise SessionNotFound()
    return version_out(stored)


def _apply(
    change: VersionChange | None, record: SessionRecord, current: CurrentWorkflow | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, PatchFailed | None]:
    """The workflow before and after the change (None without a change), or the PatchFailed
    to raise once the session's state and version are judged; 422 or 413 for a result out
    of bounds."""
    if change is None:
        return None, None, None
    before = current.workflow if current is not None and record.workflow_version else None
    try:
        after = change.compute(before)
    except PatchFailed as exc:
        return before, None, exc
    check_workflow_depth(after)
    check_workflow_size(after)
    return before, after, None


def _version(
    updated: SessionRecord,
    change: VersionChange,
    before: dict[str, Any] | None,
    after: dict[str, Any],
    message_id: str | None,
    now: datetime,
) -> VersionRecord:
    """The version record of `change`, numbered as the updated session counts it."""
    return VersionRecord(
        updated.id,
        updated.workflow_version,
        clock.to_text(now),
        change.source,
        change.note,
        message_id,
        change.reverted_from,
        _change_lines(before, after, change.reverted_from),
        after,
        updated.ttl,
    )


def _change_lines(
    before: dict[str, Any] | None, after: dict[str, Any], reverted_from: int | None
) -> list[str]:
    head = [] if reverted_from is None else [f"reverted to version {reverted_from}"]
    budget = MAX_CHANGES_BYTES - sum(len(line.encode()) + 1 for line in head)
    if before is None:
        return [*head, "created workflow"]
    return [*head, *change_lines.bounded_change_lines(before, after, budget)]


def put_workflow(
    owner: str,
    session_id: str,
    workflow: dict[str, Any],
    note: str | None,
    message_id: str | None,
    precondition: Callable[[int], bool] | None,
    request: RequestKey | None = None,
) -> Outcome[WorkflowVersionOut]:
    change = VersionChange("put", lambda _: workflow, note, message_id)
    return _only_version(store_version(owner, session_id, change, precondition, request))


JSON_PATCH = "application/json-patch+json"


def check_patch(media: str, patch: Any) -> None:
    """A malformed RFC 6902 patch is 422 whatever the session's state (checked before any
    read of it)."""
    if media == JSON_PATCH:
        try:
            json_patch.validate_ops(patch)
        except json_patch.InvalidPatch as exc:
            raise ValidationFailed(str(exc), [{"field": "", "message": str(exc)}]) from None


def patch_workflow(
    owner: str,
    session_id: str,
    media: str,
    patch: Any,
    note: str | None,
    precondition: Callable[[int], bool] | None,
    request: RequestKey | None = None,
) -> Outcome[WorkflowVersionOut]:
    check_patch(media, patch)
    if media == JSON_PATCH:

        def compute(base: dict[str, Any] | None) -> dict[str, Any]:
            limit = get_settings().max_workflow_bytes
            try:
                # Applied operation by operation, each refused before it passes a limit.
                result = json_patch.json_patch(
                    base or {}, patch, max_bytes=limit, max_levels=MAX_WORKFLOW_LEVELS
                )
            except json_patch.PatchTooLarge as exc:
                raise PayloadTooLarge(str(exc)) from None
            except (json_patch.InvalidPatch, json_patch.PatchTooDeep) as exc:
                raise ValidationFailed(str(exc), [{"field": "", "message": str(exc)}]) from None
            except json_patch.PatchFailed as exc:
                raise PatchFailed(str(exc)) from None
            return _must_be_object(result)

        change = VersionChange("json_patch", compute, note)
    else:
        change = VersionChange("merge_patch", _merge_with(patch), note)
    return _only_version(store_version(owner, session_id, change, precondition, request))


def _merge_with(patch: Any) -> Compute:
    """A merge patch's result (at most the base and the patch together: no bigger than what
    the request brought); its size and depth are checked before anything else of the session."""

    def merge(base: dict[str, Any] | None) -> dict[str, Any]:
        return _must_be_object(json_patch.merge_patch(base or {}, patch))

    return merge


def _must_be_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationFailed(
            "the patched workflow must be a JSON object",
            [{"field": "", "message": "the result is not an object"}],
        )
    return value


def revert(
    owner: str,
    session_id: str,
    version: int,
    note: str | None,
    precondition: Callable[[int], bool] | None,
    request: RequestKey | None = None,
) -> Outcome[WorkflowVersionOut]:
    now = clock.now()
    load_visible(owner, session_id, now)
    target = get_store().get_version(session_id, version)
    if target is None or target.workflow is None:
        raise NotFound(f"no version {version}")
    workflow = target.workflow
    change = VersionChange("revert", lambda _: workflow, note, None, version)
    return _only_version(store_version(owner, session_id, change, precondition, request))


def _only_version(outcome: Outcome[Stored]) -> Outcome[WorkflowVersionOut]:
    version = outcome.value[1]
    assert version is not None
    return Outcome(version, outcome.replayed)


def take_turn(
    owner: str,
    session_id: str,
    body: TurnIn,
    precondition: Precondition | None = None,
    request: RequestKey | None = None,
) -> Outcome[TurnOut]:
    """A turn; `precondition` is what turn_precondition made of If-Match and the body."""
    change = None
    if body.workflow is not None:
        workflow = body.workflow
        change = VersionChange("turn", lambda _: workflow, body.note)
    elif body.workflow_patch is not None:
        change = VersionChange("turn", _merge_with(body.workflow_patch), body.note)
    if precondition is None:
        precondition = turn_precondition(body, None)
    outcome = store_version(owner, session_id, change, precondition, request, body.messages)
    messages, version = outcome.value
    return Outcome(TurnOut(messages=messages, workflow_version=version), outcome.replayed)


def get_version(owner: str, session_id: str, version: int) -> WorkflowVersionOut:
    load_visible(owner, session_id, clock.now())
    record = get_store().get_version(session_id, version)
    if record is None:
        raise NotFound(f"no version {version}")
    return version_out(record, with_workflow=True)


def list_versions(owner: str, session_id: str, limit: int, after: str | None) -> VersionPage:
    load_visible(owner, session_id, clock.now())

    def read(position: Position | None) -> Page[VersionRecord]:
        return get_store().list_versions(session_id, limit, position)

    return list_page(VersionPage, f"versions|{owner}|{session_id}", after, read, version_out)


def diff(owner: str, session_id: str, start: int, end: int) -> str:
    """The diff's response body (compact JSON of DiffOut), or 409 when it cannot fit one
    Lambda response."""
    load_visible(owner, session_id, clock.now())
    a, b = get_store().get_version(session_id, start), get_store().get_version(session_id, end)
    if a is None or b is None or a.workflow is None or b.workflow is None:
        raise NotFound(f"no version {start if a is None else end}")
    try:
        return workflow_diff.diff_body(a.workflow, b.workflow, start, end, MAX_DIFF_ESCAPED)
    except workflow_diff.DiffTooLarge:
        base = f"/sessions/{session_id}/workflow/versions"
        raise LimitExceeded(
            f"the diff of versions {start} and {end} is too large for one response; "
            f"fetch the two versions instead: GET {base}/{start} and GET {base}/{end}"
        ) from None
