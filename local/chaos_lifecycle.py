"""`make chaos`'s invariants of the lifecycle routes on the table: rewinds, summaries and
forks against what their answers said, and what every item must carry (its session's ttl;
a BUILDING session never shown).

`view` is the table as `chaos_invariants.check` judges it: the live sessions, and the items
of ended sessions as they were read right after their end.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from chat_sessions.records import (
    CREATE_KEY_PREFIX,
    MSG_PREFIX,
    SESSION_SK,
    SUMMARY_SK,
    KeyRecord,
    MessageRecord,
    SessionRecord,
    SummaryRecord,
    VersionRecord,
    idempotency_sk,
    version_sk,
)
from chat_sessions.statuses import SessionStatus
from local.chaos_history import History
from local.chaos_journal import Invariant, Items, Operation, Table, epoch

# A build's session item stays invisible for at most this long (transfer_store's window).
BUILD_WINDOW = timedelta(hours=1)
KEY_PREFIX = "chaos-"  # the workload's Idempotency-Key of an operation: chaos-<op id>


def check(
    operations: list[Operation], table: Table, view: Table, history: History
) -> list[Invariant]:
    return [
        _rewinds(history, view),
        *_summaries(history, view),
        *_forks(history, table, view),
        _building(operations, table),
        _ttls(table),
    ]


def _messages(items: Items) -> dict[int, MessageRecord]:
    return {
        int(sk[len(MSG_PREFIX) :]): MessageRecord.from_item(item)
        for sk, item in items.items()
        if sk.startswith(MSG_PREFIX)
    }


def _session(items: Items) -> SessionRecord | None:
    item = items.get(SESSION_SK)
    return SessionRecord.from_item(item) if item else None


# --- rewinds ---------------------------------------------------------------------------------


def _rewinds(history: History, view: Table) -> Invariant:
    """A 200 rewind says it applied its to_seq, and the acknowledged messages past it that
    were written before it began are gone from their seq (unless a replay put the same
    message back)."""
    inv = Invariant("a rewind answers its to_seq and removes what followed it")
    for sid, rewinds in history.rewinds.items():
        stored = _messages(view[sid]) if sid in view else None
        for rewind in rewinds:
            if not rewind.acknowledged:
                continue
            to_seq = rewind.body["to_seq"]
            where = f"op {rewind.id} rewind of {sid} to {to_seq}"
            count = rewind.final.reply.get("message_count")
            inv.case(None if count == to_seq else f"{where}: answered message_count {count}")
            if stored is None:
                continue
            for content, claims in history.claims.items():
                for claim in claims:
                    if claim.session != sid or claim.seq <= to_seq:
                        continue
                    if len(history.writers[content]) > 1:
                        continue  # a replay may have put it back
                    if claim.op.finished >= rewind.started:
                        continue  # it may have come after the rewind
                    kept = stored.get(claim.seq)
                    inv.case(
                        None
                        if kept is None or kept.content != content
                        else f"{where}: message {claim.seq} of op {claim.op.id} is still there"
                    )
    return inv


# --- summaries -------------------------------------------------------------------------------


def _summaries(history: History, view: Table) -> list[Invariant]:
    within = Invariant("a summary covers stored messages (else 422), as its session says")
    latest = Invariant("the summary is the last one put, unless a rewind removed it")
    for puts in history.summaries.values():
        for op in puts:
            if op.final.status == 422:
                error = op.final.reply["error"]
                fields = [d.get("field") for d in error.get("details") or []]
                within.case(
                    None
                    if error["code"] == "validation_error" and fields == ["covers_seq"]
                    else f"op {op.id} summary of {op.session} refused: {error}"
                )
    for sid, items in view.items():
        record = _session(items)
        if record is None or record.status in (SessionStatus.DELETED, SessionStatus.BUILDING):
            continue
        item = items.get(SUMMARY_SK)
        summary = SummaryRecord.from_item(item) if item else None
        covers = summary.covers_seq if summary else 0
        within.case(
            None
            if covers <= record.message_count and covers == record.summary_seq
            else f"{sid}: summary covers {covers}, session says {record.summary_seq} of "
            f"{record.message_count} messages"
        )
        puts = history.summaries.get(sid, [])
        if summary is None and not any(op.acknowledged for op in puts):
            continue
        latest.case(_summary_problem(sid, summary, puts, history))
    return [within, latest]


def _summary_problem(
    sid: str, summary: SummaryRecord | None, puts: list[Operation], history: History
) -> str | None:
    acknowledged = [op for op in puts if op.acknowledged]
    # The PUTs that may have been the last one applied: no acknowledged one began after them.
    last = [
        op
        for op in puts
        if op.may_have_applied and not any(y.started > op.finished for y in acknowledged)
    ]
    if summary is None:
        for op in last:
            if history.removable(sid, op.body["covers_seq"], op.started):
                return None
        return (
            f"{sid}: no summary, though op {[op.id for op in last]} put one and no rewind followed"
        )
    put = history.summary_ops.get(summary.content)
    if put is None or put.session != sid:
        return f"{sid}: a summary nobody put on it: {summary.content[:40]!r}"
    op, body = put, put.body
    if op.refused:
        return f"{sid}: the summary of op {op.id}, refused with {op.final.status}"
    if (summary.covers_seq, summary.metadata) != (body["covers_seq"], body["metadata"]):
        return f"{sid}: op {op.id}'s summary stored as covering {summary.covers_seq}"
    if op.acknowledged and summary.updated_at != op.final.reply["updated_at"]:
        return f"{sid}: op {op.id}'s summary stored at {summary.updated_at}"
    if op not in last:
        return f"{sid}: op {op.id}'s summary is stored, though a later one was acknowledged"
    for rewind in history.rewinds.get(sid, []):
        if (
            rewind.acknowledged
            and rewind.started > op.finished
            and rewind.body["to_seq"] < summary.covers_seq
        ):
            return f"{sid}: op {op.id}'s summary survived op {rewind.id}'s rewind past it"
    return None


# --- forks -----------------------------------------------------------------------------------


def _forks(history: History, table: Table, view: Table) -> list[Invariant]:
    made = Invariant("a fork makes one session (or none), as answered")
    copied = Invariant("a fork holds its source's messages 1..at_seq and workflow")
    by_op: dict[int, list[str]] = {}
    for sid, items in table.items():
        record = _session(items)
        if record is None or record.status in (SessionStatus.DELETED, SessionStatus.BUILDING):
            continue
        op_id = record.metadata.get("fork_op") if record.forked_from else None
        if isinstance(op_id, int):
            by_op.setdefault(op_id, []).append(sid)
    for op in history.forks:
        sessions = by_op.get(op.id, [])
        made.case(_fork_made(op, sessions, table))
        if op.acknowledged and op.final.reply["id"] in view:
            for problem in _fork_copy(op, history, view):
                copied.case(problem)
    return [made, copied]


def _fork_made(op: Operation, sessions: list[str], table: Table) -> str | None:
    where = f"op {op.id} fork of {op.session}"
    if not op.acknowledged:
        if len(sessions) > (0 if op.refused else 1):
            return f"{where} -> {op.final.status}: made {sessions}"
        return None
    reply, body = op.final.reply, op.body
    origin = reply.get("forked_from") or {}
    wanted_version = body.get("at_version")
    if (
        origin.get("session_id") != op.session
        or reply["message_count"] != origin.get("seq")
        or body.get("at_seq", origin.get("seq")) != origin.get("seq")
        or (wanted_version is not None and origin.get("version") != wanted_version)
        or reply["workflow_version"] != (1 if origin.get("version") else 0)
        or reply["status"] != "active"
        or reply["title"] != body["title"]
    ):
        return f"{where}: answered {reply}"
    fork = reply["id"]
    if sessions and sessions != [fork]:
        return f"{where}: answered {fork}, made {sessions}"
    source = table.get(op.session or "", {})
    record = _session(source)
    if record is not None and record.status != SessionStatus.DELETED:
        key = source.get(idempotency_sk(f"{KEY_PREFIX}{op.id}"))
        named = KeyRecord.from_item(key).answer.get("session_id") if key else None
        if named != fork:
            return f"{where}: its key record in the source names {named}, not {fork}"
    return None


def _fork_copy(op: Operation, history: History, view: Table) -> Iterator[str | None]:
    """Each message of the fork is one its source held at that seq when the fork read it;
    every acknowledged message of the source that was there before the fork began is in it;
    version 1 is the forked version's workflow. Seqs the fork itself may have been rewound
    past since are not judged."""
    reply = op.final.reply
    fork, source = reply["id"], op.session or ""
    origin = reply["forked_from"]
    at_seq, version = origin["seq"], origin["version"]
    where = f"op {op.id} fork {fork} of {source} at {at_seq}"
    items = view[fork]
    kept = [seq for seq in range(1, at_seq + 1) if not history.removable(fork, seq, op.started)]
    stored = _messages(items)
    mine = {seq: stored[seq] for seq in kept if seq in stored}
    theirs = _messages(view[source]) if source in view else {}
    for seq in kept:
        message = mine.get(seq)
        if message is None:
            yield f"{where}: no message {seq}"
            continue
        problem = history.unwritten(message.content, fork, seq, message.id, op.finished)
        if problem is None and seq in theirs and not history.removable(source, seq, op.started):
            differ = [
                name
                for name in ("id", "role", "content", "metadata", "timestamp")
                if getattr(message, name) != getattr(theirs[seq], name)
            ]
            problem = f"seq {seq} differs from the source's in {differ}" if differ else None
        yield None if problem is None else f"{where}: {problem}"
    for content, claims in history.claims.items():
        for claim in claims:
            if claim.session != source or claim.seq not in mine or claim.op.finished >= op.started:
                continue
            held = mine[claim.seq]
            if held.content == content or history.removable(
                source, claim.seq, claim.op.started, op.finished
            ):
                yield None
            else:
                yield f"{where}: op {claim.op.id}'s message {claim.seq} is not in it"
    first = items.get(version_sk(1))
    if not version:
        yield (
            None
            if first is None or VersionRecord.from_item(first).source != "fork"
            else f"{where}: a fork version though no version was forked"
        )
        return
    forked = view.get(source, {}).get(version_sk(version))
    if first is None:
        yield f"{where}: no version 1"
        return
    got = VersionRecord.from_item(first)
    expected_changes = [f"forked from {source} version {version}"]
    if (got.source, got.changes, got.note, got.message_id) != (
        "fork",
        expected_changes,
        None,
        None,
    ):
        yield f"{where}: version 1 is {got.source} {got.changes}"
    elif forked is not None and got.workflow != VersionRecord.from_item(forked).workflow:
        yield f"{where}: version 1 is not the workflow of version {version}"
    else:
        yield None


# --- every item ------------------------------------------------------------------------------


def _building(operations: list[Operation], table: Table) -> Invariant:
    """A session is in the owner index (lists show it) exactly when it is visible; one
    being built (a fork's or an import's) is in no answer either, and is left for the
    cleanup within its build window."""
    inv = Invariant("owner index = visible sessions; no BUILDING one shown")
    shown = set()
    for op in operations:
        for exchange in op.exchanges:
            shown |= set(_session_ids(exchange.reply))
    horizon = time.time() + BUILD_WINDOW.total_seconds() + 300
    for sid, items in table.items():
        item = items.get(SESSION_SK)
        if item is None:
            continue
        status = item["status"]["S"]
        problem = None
        if status not in (SessionStatus.BUILDING, SessionStatus.DELETED):
            problem = None if "owner" in item else f"a {status} session without an owner"
        elif "owner" in item:
            problem = f"a {status} session in the owner index"
        elif status == SessionStatus.BUILDING and sid in shown:
            problem = "a BUILDING session an answer showed"
        elif status == SessionStatus.BUILDING and epoch(item["delete_after"]["S"]) > horizon:
            problem = f"a BUILDING session until {item['delete_after']['S']}, past its window"
        inv.case(None if problem is None else f"{sid}: {problem}")
    return inv


def _session_ids(reply: Any) -> Iterator[str]:
    """The ids of the sessions an answer shows: a session, or a list of them."""
    if not isinstance(reply, dict):
        return
    if isinstance(reply.get("id"), str) and "status" in reply:
        yield reply["id"]
    for entry in reply.get("items") or []:
        if isinstance(entry, dict) and "status" in entry:
            yield entry["id"]
    if isinstance(reply.get("session"), dict):
        yield reply["session"]["id"]


def _ttls(table: Table) -> Invariant:
    """Every item of a session (messages, guards, versions, the summary, Idempotency-Key
    records, a build's items) carries its session's ttl, and a create's key record the ttl
    of the session it names: DynamoDB deletes what the cleanup misses all together."""
    inv = Invariant("every item carries its session's ttl")
    for sid, items in table.items():
        if sid.startswith(CREATE_KEY_PREFIX):
            for sk, item in items.items():
                named = table.get(item.get("session_id", {}).get("S", ""), {}).get(SESSION_SK)
                if named is not None:
                    inv.case(_same_ttl(f"{sid} {sk}", item, named))
            continue
        session = items.get(SESSION_SK)
        if session is None:
            continue  # the orphan invariant's
        for sk, item in items.items():
            if sk != SESSION_SK:
                inv.case(_same_ttl(f"{sid} {sk}", item, session))
    return inv


def _same_ttl(where: str, item: dict[str, Any], session: dict[str, Any]) -> str | None:
    have, want = item.get("ttl", {}).get("N"), session["ttl"]["N"]
    return None if have == want else f"{where}: ttl {have}, its session's {want}"
