"""`make chaos` in small: about 500 requests with DynamoDB faults, and no invariant breached;
and each invariant of the lifecycle routes breached by a journal and a table made by hand."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from chat_sessions.records import (
    SESSION_SK,
    SUMMARY_SK,
    MessageRecord,
    SessionRecord,
    SummaryRecord,
    message_id_sk,
    message_sk,
)
from chat_sessions.statuses import SessionStatus
from local import chaos
from local.chaos_invariants import check
from local.chaos_journal import Exchange, Items, Operation, route_of
from local.chaos_workload import READS
from tests.helpers.processes import descendants, describe, still_alive
from tests.helpers.server import ensure_build

pytestmark = pytest.mark.e2e


def test_a_short_chaos_run_breaches_no_invariant(capsys: pytest.CaptureFixture[str]) -> None:
    # Given the built functions and whatever processes this test run already has
    ensure_build()
    before = descendants(os.getpid())

    # When the chaos tool runs its mixed workload against its own strict stack
    code = chaos.main(["--requests", "500", "--clients", "10", "--seed", "7"])

    # Then every invariant held, and the server it started is gone with all its processes
    output = capsys.readouterr().out
    assert code == 0, output
    assert "BREACHED" not in output
    assert "every 201/200 write stored exactly once" in output
    # ... the lifecycle routes among them
    for route in ("/fork", "/rewind", "/summary", "/context", "/export"):
        assert f"/sessions/{{session_id}}{route} " in output, route
    left = [pid for pid in still_alive(descendants(os.getpid())) if pid not in before]
    assert not left, describe(left)


# --- each lifecycle invariant can fail: a journal and a table made by hand ------------------

SID = "00000000-0000-4000-8000-00000000000a"
LATER = "2099-01-01T00:00:00.000Z"


def _op(
    op_id: int, kind: str, request: str, status: int, reply: Any, body: Any = None, at: float = 0
) -> Operation:
    """An operation of caller-0 on SID: one request, sent at `at` and answered a second later."""
    method, path = request.split(" ", 1)
    op = Operation(op_id, kind, "caller-0", SID, kind not in READS)
    sent = {"headers": {}, "body": body}
    op.exchanges.append(
        Exchange(route_of(method, path), request, sent, status, {}, reply, at, at + 1)
    )
    return op


def _session(count: int, ttl: int = 4_000_000_000) -> Items:
    """SID's items: an active session of `count` messages, op<seq>.0 each."""
    record = SessionRecord(
        SID, "caller-0", None, {}, SessionStatus.ACTIVE, "2026-12-01T00:00:00.000Z",
        "2026-12-01T00:00:00.000Z", LATER, LATER, count, 0, 1, ttl, "0",
    )  # fmt: skip
    items = {SESSION_SK: record.to_item()}
    for seq in range(1, count + 1):
        message = MessageRecord(SID, f"{SID[:-2]}{seq:02d}", seq, "user", f"op{seq}.0", LATER, ttl)
        items[message_sk(seq)] = message.to_item()
        items[message_id_sk(message.id)] = message.guard_item()
    return items


def _verdict(name: str, operations: list[Operation], items: Items) -> list[str]:
    found = [i for i in check(operations, {SID: items}, {SID: "caller-0"}, {}) if i.name == name]
    assert len(found) == 1 and found[0].checked, name
    return found[0].breaches


def test_a_rewind_that_kept_what_it_removed_is_a_breach() -> None:
    # Given message 2 acknowledged, then a rewind to 1 answered 200
    append = _op(1, "append", f"POST /sessions/{SID}/messages", 201,
                 {"id": f"{SID[:-2]}02", "seq": 2}, at=0)  # fmt: skip
    append.contents = ["op2.0"]
    rewind = _op(2, "rewind", f"POST /sessions/{SID}/rewind", 200, {"message_count": 1},
                 {"to_seq": 1}, at=5)  # fmt: skip
    name = "a rewind answers its to_seq and removes what followed it"

    # Then the table without message 2 holds, and with it is a breach
    assert _verdict(name, [append, rewind], _session(1)) == []
    assert _verdict(name, [append, rewind], _session(2))


def test_an_item_without_its_sessions_ttl_is_a_breach() -> None:
    # Given a session whose Idempotency-Key record carries another ttl
    items = _session(1)
    items["IDEM#k"] = {"pk": {"S": SID}, "sk": {"S": "IDEM#k"}, "ttl": {"N": "5"}}

    # Then that is a breach
    assert _verdict("every item carries its session's ttl", [], items)


def test_a_context_missing_a_message_is_a_breach() -> None:
    # Given a context of 3 messages, the first summarised, that shows message 3 alone
    messages = [{"id": f"{SID[:-2]}03", "seq": 3, "role": "user", "content": "op3.0",
                 "metadata": {}, "timestamp": LATER}]  # fmt: skip
    reply = {"session": {"id": SID, "message_count": 3, "workflow_version": 0},
             "summary": {"covers_seq": 1}, "workflow": None, "messages": messages,
             "omitted": 0}  # fmt: skip
    context = _op(1, "context", f"GET /sessions/{SID}/context", 200, reply)

    # Then its omitted count does not add up: a breach
    name = "a context answer is the latest messages after its summary"
    assert _verdict(name, [context], _session(3))
    assert _verdict(name, [_op(1, "context", context.final.request, 200, {**reply, "omitted": 1})],
                    _session(3)) == []  # fmt: skip


def test_a_building_session_an_answer_showed_is_a_breach() -> None:
    # Given a session item still BUILDING whose id a list answered with
    items = _session(0)
    soon = datetime.fromtimestamp(time.time() + 600, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    building = {"status": {"S": "building"}, "delete_after": {"S": soon}}
    items[SESSION_SK] = {**items[SESSION_SK], **building}
    del items[SESSION_SK]["owner"]
    listed = _op(1, "list_sessions", "GET /sessions", 200,
                 {"items": [{"id": SID, "status": "active"}], "next_cursor": None})  # fmt: skip

    # Then that is a breach, and without the answer it holds
    name = "owner index = visible sessions; no BUILDING one shown"
    assert _verdict(name, [listed], items)
    assert _verdict(name, [], items) == []


def test_a_summary_older_than_an_acknowledged_one_is_a_breach() -> None:
    # Given two summaries acknowledged one after the other, and the first one stored
    def put(op_id: int, at: float) -> Operation:
        body = {"content": f"op{op_id} summary", "covers_seq": 1, "metadata": {}}
        reply = {**body, "updated_at": LATER}
        return _op(op_id, "summary", f"PUT /sessions/{SID}/summary", 200, reply, body, at)

    puts = [put(1, 0), put(2, 5)]
    items = _session(1)
    for op in puts:
        items[SUMMARY_SK] = SummaryRecord(
            SID, op.body["content"], 1, {}, LATER, 4_000_000_000
        ).to_item()
        items[SESSION_SK]["summary_seq"] = {"N": "1"}
        if op.id == 1:
            stale = dict(items)
    name = "the summary is the last one put, unless a rewind removed it"

    # Then the later one stored holds, and the earlier one is a breach
    assert _verdict(name, puts, items) == []
    assert _verdict(name, puts, stale)
