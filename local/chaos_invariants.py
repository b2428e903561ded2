"""`make chaos`'s judge: the journal of a run (`local.chaos_journal`) against what the table
holds, one `Invariant` per rule (`check`), and the functions' logs (`unhandled_errors`).

Messages are found by their content and versions by their note, both unique per operation.
A message may be missing where a rewind past it may have come after it (`History.removable`),
and its copies are found in the forks of its session. The lifecycle routes' own invariants
are in local/chaos_lifecycle.py, those of what reads answered in local/chaos_reads.py.
"""

from __future__ import annotations

import math
import re
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from chat_sessions import change_lines
from chat_sessions.records import (
    MSG_PREFIX,
    MSGID_PREFIX,
    SESSION_SK,
    WF_PREFIX,
    WORKFLOW_SK,
    CurrentWorkflow,
    MessageRecord,
    SessionRecord,
    VersionRecord,
    message_id_sk,
    message_sk,
    version_sk,
)
from chat_sessions.statuses import SessionStatus
from chat_sessions.workflows import MAX_CHANGES_BYTES
from local import chaos_lifecycle, chaos_reads
from local.chaos_history import History
from local.chaos_journal import (
    NO_ANSWER,
    SESSION_KEY,
    Invariant,
    Items,
    Operation,
    Table,
    should_be_gone,
)

# Writes whose effects chaos_lifecycle judges (a summary, removed messages, a new session).
LIFECYCLE_WRITES = ("summary", "rewind", "fork")


def _live(items: Items) -> SessionRecord | None:
    """The session's record, unless it is missing, marked deleted or still being built."""
    item = items.get(SESSION_SK)
    if item is None or item["status"]["S"] in (SessionStatus.DELETED, SessionStatus.BUILDING):
        return None
    return SessionRecord.from_item(item)


@dataclass
class _Index:
    """Where each message content and each version note is stored."""

    contents: dict[str, list[MessageRecord]]
    notes: dict[str, list[VersionRecord]]

    def in_session(self, content: str, session: str) -> list[MessageRecord]:
        return [m for m in self.contents.get(content, []) if m.session_id == session]

    @classmethod
    def of(cls, table: Table) -> _Index:
        contents: dict[str, list[MessageRecord]] = defaultdict(list)
        notes: dict[str, list[VersionRecord]] = defaultdict(list)
        for items in table.values():
            for sk, item in items.items():
                if sk.startswith(MSG_PREFIX):
                    message = MessageRecord.from_item(item)
                    contents[message.content].append(message)
                elif sk.startswith(WF_PREFIX):
                    version = VersionRecord.from_item(item)
                    if version.note is not None:
                        notes[version.note].append(version)
        return cls(contents, notes)


def _may_be_gone(operations: list[Operation], table: Table, now: float) -> set[str]:
    """Sessions that should be gone, or whose end or delete may have been applied (503)."""
    gone = should_be_gone(operations, table, now)
    for op in operations:
        if op.session and op.kind in ("end", "delete") and op.uncertain:
            gone.add(op.session)
    return gone


def check(
    operations: list[Operation], table: Table, callers: dict[str, str], ended: Table
) -> list[Invariant]:
    """Every invariant of `make chaos`. `callers` maps each created session to its owner;
    `ended` holds the items of sessions read right after their end, for those the cleanup
    has deleted since: their writes are judged on what they held then."""
    exchanges = [e for op in operations for e in op.exchanges]
    gone_ok = _may_be_gone(operations, table, time.time())
    view = {**ended, **{sid: items for sid, items in table.items() if _live(items)}}
    index = _Index.of(view)
    history = History(operations, table)

    no_500 = Invariant("no 500: every request answered, no 5xx but 503")
    for e in exchanges:
        no_500.case(
            None
            if (e.status != NO_ANSWER and (e.status < 500 or e.status == 503))
            else f"{e.route} -> {e.status or 'no answer'}: {e.reply}"
        )
    retry_after = Invariant("every 503 carries Retry-After")
    for e in exchanges:
        if e.status == 503:
            retry_after.case(None if ("retry-after" in e.headers) else f"{e.route}: {e.reply}")

    stored = Invariant("every 201/200 write stored exactly once")
    rejected = Invariant("a refused write stores nothing")
    uncertain = Invariant("a 503'd write whole or absent, never doubled")
    replays = Invariant("a client-id replay answers the first answer")
    for op in operations:
        if not op.write or op.session is None or op.kind in LIFECYCLE_WRITES:
            continue
        if op.session in gone_ok and (
            op.final.status == 404 or not _live(view.get(op.session, {}))
        ):
            continue
        _judge(op, view, index, history, callers, stored, rejected, uncertain, replays)

    refused = _writes_after_end(operations)
    foreign = Invariant("another caller's session is not found (404)")
    for op in operations:
        if op.kind == "foreign":
            foreign.case(
                None if op.final.status in (404, 503) else f"op {op.id}: {op.final.status}"
            )
    seqs = Invariant("seq 1..message_count, gap-free, one id guard each")
    versions = Invariant("versions 1..workflow_version, current workflow = last")
    changes = Invariant("each version's changes = the diff to the one before")
    for sid, items in view.items():
        record = _live(items)
        if record is not None:
            _check_messages(sid, items, record, seqs)
            _check_versions(sid, items, record, versions, changes)

    gone = Invariant("deleted and past-grace sessions leave no items")
    for sid in sorted(should_be_gone(operations, table, time.time())):
        gone.case(None if (sid not in table) else f"{sid}: {sorted(table[sid])[:8]}")
    orphans = Invariant("no orphan item (no session item, ttl not passed)")
    now = time.time()
    for sid, items in table.items():
        if SESSION_SK in items:
            continue
        if not SESSION_KEY.fullmatch(sid):
            # A record kept outside every session (a create's Idempotency-Key) names its own.
            items = {
                sk: item
                for sk, item in items.items()
                if SESSION_SK not in table.get(item.get("session_id", {}).get("S", ""), {})
            }
        live = [sk for sk, item in items.items() if int(item.get("ttl", {"N": "0"})["N"]) > now]
        orphans.case(None if (not live) else f"{sid}: {live[:8]}")
    return [
        no_500,
        retry_after,
        stored,
        rejected,
        uncertain,
        replays,
        refused,
        foreign,
        seqs,
        versions,
        changes,
        gone,
        orphans,
        *chaos_lifecycle.check(operations, table, view, history),
        *chaos_reads.check(operations, view, history),
    ]


def _judge(
    op: Operation,
    table: Table,
    index: _Index,
    history: History,
    callers: dict[str, str],
    stored: Invariant,
    rejected: Invariant,
    uncertain: Invariant,
    replays: Invariant,
) -> None:
    final = op.final
    sid = op.session
    assert sid is not None
    where = f"op {op.id} {op.kind} on {sid} -> {[e.status for e in op.exchanges]}"
    if op.replay_of is not None:
        first = op.replay_of.final.reply
        replays.case(
            None
            if _replay_answered(op, history)
            else f"{where}: {final.reply} after the first answer {first}"
        )
        return
    counts = [len(index.contents.get(c, [])) for c in op.contents]
    notes = len(index.notes.get(op.note, [])) if op.note else 0
    strays = _strays(op, index, history)
    if 200 <= final.status < 300:
        problem = strays or _stored_as_answered(op, table, index, history, callers)
        stored.case(None if (problem is None) else f"{where}: {problem}")
    elif not op.uncertain:
        rejected.case(
            None
            if (not any(counts) and notes == 0)
            else f"{where}: stored {counts} messages, {notes} versions"
        )
    else:
        problem = strays or _whole_or_absent(op, index, history, notes)
        uncertain.case(None if problem is None else f"{where}: {problem}")


def _replay_answered(op: Operation, history: History) -> bool:
    """A client-id replay answers 200 and the first answer. When a rewind may have removed
    the first message before it, it is a new append: 201 with the same message again, or
    refused as a new append would be (409: the session has ended since)."""
    first_op = op.replay_of
    assert first_op is not None and op.session is not None
    first, reply = first_op.final.reply, op.final.reply
    if op.final.status == 200 and reply == first:
        return True
    removed = history.removable(op.session, first["seq"], first_op.started, op.finished)
    if removed is None:
        return False
    fields = ("id", "role", "content", "metadata")
    if op.final.status == 201:
        return {k: reply.get(k) for k in fields} == {k: first[k] for k in fields}
    return op.final.status == 409 and reply["error"]["code"] == "session_not_active"


def _strays(op: Operation, index: _Index, history: History) -> str | None:
    """A message of the operation stored in a session that is neither its own nor a fork of
    it (where copies belong)."""
    assert op.session is not None
    allowed = {op.session} | history.descendants(op.session)
    for content in op.contents:
        elsewhere = {m.session_id for m in index.contents.get(content, [])} - allowed
        if elsewhere:
            return f"{content[:30]!r} stored in {sorted(elsewhere)}"
    return None


def _whole_or_absent(op: Operation, index: _Index, history: History, notes: int) -> str | None:
    """A write that may or may not have been applied: its messages all there once (at
    consecutive seqs), or none, or the first ones with the rest removed by a rewind that may
    have come after it; its version at most once, and without its messages only when a
    rewind may have removed them."""
    assert op.session is not None
    here = [index.in_session(c, op.session) for c in op.contents]
    if any(len(found) > 1 for found in here):
        return f"stored {[len(found) for found in here]} times"
    present = [found[0].seq for found in here if found]
    if [bool(found) for found in here] != [True] * len(present) + [False] * (
        len(here) - len(present)
    ) or present != list(range(present[0], present[0] + len(present)) if present else []):
        return f"stored at seqs {[[m.seq for m in found] for found in here]}"
    cut = present and len(present) < len(here)
    if cut and history.removable(op.session, present[-1] + 1, op.started) is None:
        return f"only {len(present)} of its {len(here)} messages stored"
    if notes > 1:
        return f"its version stored {notes} times"
    alone = notes and here and not present
    if alone and history.removable(op.session, math.inf, op.started) is None:
        return "its version stored without its messages"
    return None


def _placed(
    op: Operation,
    content: str,
    seq: int,
    message_id: str | None,
    index: _Index,
    history: History,
) -> str | None:
    """Where an acknowledged message is now, against where its answer put it: there, or
    removed by a rewind that may have come after it (and then perhaps appended again by a
    client-id replay); None when they agree."""
    sid = op.session
    assert sid is not None
    found = index.in_session(content, sid)
    name = message_id or f"{content[:30]!r}"
    if len(found) > 1:
        return f"message {name} stored {len(found)} times"
    if found and found[0].seq == seq and message_id in (None, found[0].id):
        return None
    removed = history.removable(sid, seq, op.started)
    if removed is None:
        where = f"stored at {found[0].seq}" if found else "missing"
        return f"message {name} answered at seq {seq} is {where}"
    again = [w for w in history.writers.get(content, []) if w is not op and w.may_have_applied]
    if found and not again:
        return f"message {name} answered at seq {seq} is at {found[0].seq} (rewind op {removed.id})"
    return None


def _stored_as_answered(
    op: Operation, table: Table, index: _Index, history: History, callers: dict[str, str]
) -> str | None:
    """What the table holds of a 2xx write, compared with its answer; None when they agree."""
    reply = op.final.reply
    sid = op.session
    assert sid is not None
    record = _live(table.get(sid, {}))
    if op.kind in ("create", "end", "patch_session", "delete"):
        if op.kind == "delete":
            return None
        if record is None:
            return "the session is not stored"
        if op.kind == "create" and record.owner != callers.get(sid):
            return f"owner {record.owner} instead of {callers.get(sid)}"
        if op.kind == "end" and record.status != "ended":
            return f"status {record.status} after a 200 end"
        for content in op.contents:
            problem = _placed(op, content, 1, None, index, history)
            if problem is not None:
                return f"its first message: {problem}"
        return None
    messages = reply["messages"] if op.kind == "turn" else [reply] if "seq" in reply else []
    for content, answered in zip(op.contents, messages, strict=False):
        problem = _placed(op, content, answered["seq"], answered["id"], index, history)
        if problem is not None:
            return problem
    version = reply.get("workflow_version") if op.kind == "turn" else reply
    if op.note is None:
        return None
    found_versions = index.notes.get(op.note, [])
    if version is None or version.get("note") != op.note:
        return None if not found_versions else "a version with its note although none answered"
    if len(found_versions) != 1:
        return f"version {version['version']} stored {len(found_versions)} times"
    got = found_versions[0]
    if (got.session_id, got.version, got.changes) != (sid, version["version"], version["changes"]):
        return f"version {version['version']} stored as {got.session_id} {got.version}"
    return None


def _writes_after_end(operations: list[Operation]) -> Invariant:
    """A write sent after its session's delete (204) answered 404; after its end (200), 409
    or 404 (past the grace period), or a replay of an earlier write. A 503 (DynamoDB
    unavailable before the session could be read) refuses it too: it stores nothing, which
    the stored-writes invariants check."""
    invariant = Invariant("writes after end/delete refused (409/404/503)")
    closed: dict[tuple[str, str], float] = {}  # (session, "end" or "delete") -> answered at
    for op in operations:
        for e in op.exchanges:
            if op.session and (op.kind, e.status) in (("end", 200), ("delete", 204)):
                key = (op.session, op.kind)
                closed[key] = min(e.finished, closed.get(key, e.finished))
    for op in operations:
        if not op.write or op.session is None or op.kind == "delete":
            continue
        # A fork is a read of its source: an ended source may be forked (not a deleted one).
        ended_refuses = op.kind != "fork"
        deleted = closed.get((op.session, "delete"), float("inf"))
        ended = closed.get((op.session, "end"), float("inf"))
        for e in op.exchanges:
            if e.status == 503:
                continue
            if e.started > deleted:
                allowed, how = e.status == 404, "deleted"
            elif e.started > ended and ended_refuses:
                replay = e.headers.get("idempotent-replayed") == "true" or (
                    op.kind in ("append_id", "replay") and e.status == 200
                )
                allowed, how = e.status in (404, 409) or replay, "ended"
            else:
                continue
            invariant.case(
                None if allowed else f"op {op.id} {op.kind} on {how} {op.session}: {e.status}"
            )
    return invariant


def _check_messages(sid: str, items: Items, record: SessionRecord, inv: Invariant) -> None:
    seqs = sorted(int(sk[len(MSG_PREFIX) :]) for sk in items if sk.startswith(MSG_PREFIX))
    expected = list(range(1, record.message_count + 1))
    inv.case(
        None
        if (seqs == expected)
        else f"{sid}: message_count {record.message_count}, seqs {_ranges(seqs)}"
    )
    guards = {
        sk[len(MSGID_PREFIX) :]: item for sk, item in items.items() if sk.startswith(MSGID_PREFIX)
    }
    ids = {}
    for seq in seqs:
        message = MessageRecord.from_item(items[message_sk(seq)])
        ids[message.id] = seq
        guard = items.get(message_id_sk(message.id))
        inv.case(
            None
            if (guard is not None and int(guard["seq"]["N"]) == seq)
            else f"{sid}: message {message.seq} has no guard {message.id}"
        )
    extra = sorted(set(guards) - set(ids))
    inv.case(None if (not extra) else f"{sid}: guards without a message: {extra[:5]}")


def _check_versions(
    sid: str, items: Items, record: SessionRecord, versions: Invariant, changes: Invariant
) -> None:
    numbers = sorted(int(sk[len(WF_PREFIX) :]) for sk in items if sk.startswith(WF_PREFIX))
    versions.case(
        None
        if (numbers == list(range(1, record.workflow_version + 1)))
        else f"{sid}: workflow_version {record.workflow_version}, versions {_ranges(numbers)}"
    )
    current = items.get(WORKFLOW_SK)
    last = items.get(version_sk(record.workflow_version))
    if record.workflow_version == 0 or last is None:
        versions.case(None if (current is None) else f"{sid}: a current workflow without versions")
        return
    head = CurrentWorkflow.from_item(current) if current else None
    last_workflow = VersionRecord.from_item(last).workflow
    versions.case(
        None
        if (
            head is not None
            and (head.version, head.workflow) == (record.workflow_version, last_workflow)
        )
        else f"{sid}: current workflow {head.version if head else None} is not version "
        f"{record.workflow_version}"
    )
    before: dict[str, Any] | None = None
    for number in numbers:
        version = VersionRecord.from_item(items[version_sk(number)])
        if version.source not in ("fork", "import"):
            lines = (
                ["created workflow"]
                if before is None
                else change_lines.change_lines(before, version.workflow)
            )
            if version.reverted_from is not None:
                lines = [f"reverted to version {version.reverted_from}", *lines]
            expected = change_lines.limit_lines(lines, MAX_CHANGES_BYTES)
            changes.case(
                None
                if (version.changes == expected)
                else f"{sid} v{version.version}: {version.changes} != {expected}"
            )
        before = version.workflow


def _ranges(numbers: list[int]) -> str:
    """1..5,7..9 for [1,2,3,4,5,7,8,9]: short, and shows the gaps."""
    spans: list[str] = []
    for number in numbers:
        if spans and number == int(spans[-1].split("..")[-1]) + 1:
            spans[-1] = f"{spans[-1].split('..')[0]}..{number}"
        else:
            spans.append(str(number))
    return ",".join(spans) or "none"


def unhandled_errors(log: str, operations: int) -> Invariant:
    """The service answers an unforeseen exception with 503: only its log line tells them apart."""
    invariant = Invariant("no unhandled error in the functions' logs", checked=operations)
    for line in log.splitlines():
        if '"message":"unhandled error"' in line:
            name = re.search(r'"exception_name":"([^"]*)"', line)
            where = re.search(r'"correlation_id":"([^"]*)"', line)
            invariant.breaches.append(
                f"{name.group(1) if name else '?'} (request {where.group(1) if where else '?'})"
            )
    return invariant
