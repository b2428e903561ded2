"""`make chaos`'s invariants of what reads answered: a context and an export each consistent
in itself, an export equal to the table at some moment of its request, and every message a
read showed written by someone, at that seq, before the read's answer.

An export or a context reads several items one after another while writers go on: what it
shows must still be one state of the session (no seq missing, a summary within the
messages), and matches the table at the end of the run wherever no rewind may have come
between.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

from chat_sessions import jsonutil
from chat_sessions.contract import MAX_BYTES
from chat_sessions.lifecycle_models import EXPORT_FORMAT
from chat_sessions.records import MSG_PREFIX, WF_PREFIX, MessageRecord, VersionRecord
from local.chaos_history import History
from local.chaos_journal import Invariant, Items, Operation, Table

READ_MESSAGES = ("context", "export", "list_messages")


def check(operations: list[Operation], view: Table, history: History) -> list[Invariant]:
    context = Invariant("a context answer is the latest messages after its summary")
    whole = Invariant("an export is whole: seqs 1..n, versions 1..v, its summary within")
    matches = Invariant("an export equals the table where no rewind came between")
    written = Invariant("every message a read shows was written there before")
    for op in operations:
        if op.kind not in READ_MESSAGES or op.final.status != 200 or op.session is None:
            continue
        reply, where = op.final.reply, f"op {op.id} {op.kind} of {op.session}"
        messages = reply["items"] if op.kind == "list_messages" else reply["messages"]
        for message in messages:
            problem = history.unwritten(
                message["content"], op.session, message["seq"], message["id"], op.finished
            )
            written.case(None if problem is None else f"{where}: {problem}")
        if op.kind == "context":
            problem = _context_problem(reply, _max_bytes(op.final.request))
            context.case(None if problem is None else f"{where}: {problem}")
        elif op.kind == "export":
            problem = _export_problem(reply)
            whole.case(None if problem is None else f"{where}: {problem}")
            if problem is None and op.session in view:
                for found in _export_differences(op, view[op.session], history):
                    matches.case(None if found is None else f"{where}: {found}")
    return [context, whole, matches, written]


def _max_bytes(request: str) -> int:
    values = parse_qs(urlsplit(request.split(" ", 1)[1]).query).get(MAX_BYTES.name)
    return int(values[0]) if values else int(MAX_BYTES.default or 0)


def _context_problem(reply: dict[str, Any], max_bytes: int) -> str | None:
    session, summary, messages = reply["session"], reply["summary"], reply["messages"]
    count = session["message_count"]
    covers = summary["covers_seq"] if summary else 0
    seqs = [m["seq"] for m in messages]
    if covers > count:
        return f"a summary of {covers} of {count} messages"
    if seqs != list(range(count - len(seqs) + 1, count + 1)) or (seqs and seqs[0] <= covers):
        return f"seqs {seqs[:3]}..{seqs[-3:]} are not the latest after {covers} of {count}"
    if reply["omitted"] != count - covers - len(seqs):
        return f"omitted {reply['omitted']} of {count} with {len(seqs)} shown after {covers}"
    size = len(jsonutil.dumps(messages).encode("utf-8"))
    if size > max_bytes:
        return f"messages of {size} bytes over max_bytes {max_bytes}"
    workflow = reply["workflow"]
    version = workflow["version"] if workflow else 0
    if version != session["workflow_version"]:
        return f"workflow version {version} in a session at {session['workflow_version']}"
    return None


def _export_problem(reply: dict[str, Any]) -> str | None:
    session = reply["session"]
    seqs = [m["seq"] for m in reply["messages"]]
    versions = reply["versions"]
    numbers = [v["version"] for v in versions]
    if reply["format"] != EXPORT_FORMAT:
        return f"format {reply['format']}"
    if seqs != list(range(1, session["message_count"] + 1)):
        return f"seqs {seqs[:5]}.. of a session of {session['message_count']} messages"
    if numbers != list(range(1, session["workflow_version"] + 1)):
        return f"versions {numbers[:5]}.. of a session at {session['workflow_version']}"
    current = versions[-1]["workflow"] if versions else None
    if session["current_workflow"] != current:
        return "the current workflow is not the last version's"
    summary = reply["summary"]
    if summary is not None and summary["covers_seq"] > len(seqs):
        return f"a summary of {summary['covers_seq']} of {len(seqs)} messages"
    return None


def _export_differences(op: Operation, items: Items, history: History) -> Iterator[str | None]:
    """Each exported message is the table's at its seq unless a rewind past it may have come
    after the export began; each acknowledged message the session held before the export
    began is in it unless a rewind may have removed it first; each version is the table's."""
    sid, exported = op.session or "", op.final.reply
    stored = {
        int(sk[len(MSG_PREFIX) :]): MessageRecord.from_item(item)
        for sk, item in items.items()
        if sk.startswith(MSG_PREFIX)
    }
    shown = {m["seq"]: m for m in exported["messages"]}
    for seq, message in shown.items():
        if history.removable(sid, seq, op.started):
            continue
        kept = stored.get(seq)
        row = None if kept is None else _message_row(kept)
        yield None if row == message else f"message {seq} is {message['id']}, stored {row}"
    for content, claims in history.claims.items():
        for claim in claims:
            if claim.session != sid or claim.op.finished >= op.started:
                continue
            there = shown.get(claim.seq)
            if there is not None and there["content"] == content:
                yield None
            elif not history.removable(sid, claim.seq, claim.op.started, op.finished):
                yield f"op {claim.op.id}'s message {claim.seq} is missing"
    versions = {
        int(sk[len(WF_PREFIX) :]): VersionRecord.from_item(item)
        for sk, item in items.items()
        if sk.startswith(WF_PREFIX)
    }
    for version in exported["versions"]:
        kept_version = versions.get(version["version"])
        row = None if kept_version is None else _version_row(kept_version)
        yield None if row == version else f"version {version['version']} is not the stored one"


def _message_row(message: MessageRecord) -> dict[str, Any]:
    return {
        "id": message.id,
        "seq": message.seq,
        "role": message.role,
        "content": message.content,
        "metadata": message.metadata,
        "timestamp": message.timestamp,
    }


def _version_row(version: VersionRecord) -> dict[str, Any]:
    return {
        "version": version.version,
        "created_at": version.created_at,
        "source": version.source,
        "note": version.note,
        "message_id": version.message_id,
        "reverted_from": version.reverted_from,
        "changes": version.changes,
        "workflow": version.workflow,
    }
