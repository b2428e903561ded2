"""Rewind and context against the strict embedded DynamoDB (over HTTP, cancelling
conflicting transactions and counting capacity as DynamoDB does): a rewind racing appends,
and what a context read of a long session costs."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.config import Config

from chat_sessions import clock, conversation, messages, records, session_access, sessions
from chat_sessions.config import get_settings
from chat_sessions.lifecycle_models import RewindIn
from chat_sessions.models import CreateSessionIn, MessageIn, MessageOut, SessionOut
from chat_sessions.records import MessageRecord, SummaryRecord
from chat_sessions.session_rules import new_session
from local.ddb_capacity import read_units
from local.ddb_limits import item_size
from local.dynamodb import local_client
from tests.helpers.api import TABLE, Api
from tests.helpers.dynamodb import Start, table_items

APPENDS = 20
BEFORE = 10  # messages in the session before the race
TO_SEQ = 5


def test_a_rewind_racing_20_appends_leaves_no_gap_and_removes_only_what_its_to_seq_names(
    strict_server: Start,
) -> None:
    url = strict_server({})
    # Given a session of 10 messages
    sid = sessions.create_session("alice", CreateSessionIn(), None).value.id
    for i in range(1, BEFORE + 1):
        messages.append_message("alice", sid, MessageIn(role="user", content=f"before {i}"))
    start = threading.Barrier(APPENDS + 1)

    def append(i: int) -> MessageOut:
        start.wait()
        message, created = messages.append_message(
            "alice", sid, MessageIn(role="user", content=f"racing {i}")
        ).value
        assert created
        return message

    def rewind() -> SessionOut:
        start.wait()
        # Once some appends have landed, so that the rewind has some of them to remove
        while sessions.get_session("alice", sid).message_count < BEFORE + 3:
            time.sleep(0.005)
        return conversation.rewind("alice", sid, RewindIn(to_seq=TO_SEQ), None).value

    # When 20 appends and a rewind to 5 run at once
    with ThreadPoolExecutor(APPENDS + 1) as pool:
        rewinding = pool.submit(rewind)
        answers = list(pool.map(append, range(APPENDS)))
        rewound = rewinding.result()

    # Then the rewind answered with 5 messages
    assert rewound.message_count == TO_SEQ
    # And the stored seqs run 1..n without a gap or a duplicate, the first 5 kept
    stored = messages.list_messages("alice", sid, "asc", None, 100, None).items
    assert [m.seq for m in stored] == list(range(1, len(stored) + 1))
    assert [m.content for m in stored[:TO_SEQ]] == [f"before {i}" for i in range(1, TO_SEQ + 1)]
    assert sessions.get_session("alice", sid).message_count == len(stored)
    # And every 201 is either stored as answered (it came after the rewind: seq 6 on) or was
    # removed by it (it came before: seq 11 up to what the rewind saw), never both
    by_id = {m.id: m for m in stored}
    kept = [a for a in answers if a.id in by_id]
    removed = [a for a in answers if a.id not in by_id]
    for answer in kept:
        assert by_id[answer.id] == answer
    assert sorted(a.seq for a in kept) == list(range(TO_SEQ + 1, TO_SEQ + 1 + len(kept)))
    assert sorted(a.seq for a in removed) == list(range(BEFORE + 1, BEFORE + 1 + len(removed)))
    assert len(removed) >= 3
    assert len(stored) == TO_SEQ + len(kept)
    # And no item is left of a removed message: its message and id guard went with it
    items = [i for i in table_items(url) if i["pk"]["S"] == sid]
    sort_keys = {i["sk"]["S"] for i in items}
    assert {k for k in sort_keys if k.startswith(records.MSG_PREFIX)} == {
        records.message_sk(m.seq) for m in stored
    }
    assert {k for k in sort_keys if k.startswith(records.MSGID_PREFIX)} == {
        records.message_id_sk(m.id) for m in stored
    }
    print(f"rewind race: {len(removed)} appends before the rewind, {len(kept)} after")


class Meter:
    """Each DynamoDB request of the service by operation, with the read units DynamoDB
    says it consumed."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.read_units: defaultdict[str, float] = defaultdict(float)
        events = session_access.get_table().client.meta.events
        events.register("provide-client-params.dynamodb", self._ask)
        events.register("after-call.dynamodb", self._count)

    def clear(self) -> None:
        self.requests.clear()
        self.read_units.clear()

    def _ask(self, params: dict[str, Any], **_: Any) -> None:
        params.setdefault("ReturnConsumedCapacity", "TOTAL")

    def _count(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        self.requests[model.name] += 1
        used = parsed.get("ConsumedCapacity") or []
        for entry in used if isinstance(used, list) else [used]:
            self.read_units[model.name] += float(entry.get("ReadCapacityUnits", 0.0))


def seed_long_session(url: str, count: int, covers_seq: int) -> tuple[str, list[dict[str, Any]]]:
    """A session of `count` messages of about 1 KB with a summary of 1..covers_seq, written
    straight to the table (as the service would have stored them): its id and its items."""
    now = clock.now()
    session = new_session(
        "6b0c3f0e-6a55-4f0b-9d7e-2f1a8c3b5d10", "alice", "long", {}, None, now, get_settings()
    )
    session.message_count, session.summary_seq = count, covers_seq
    stamp = clock.to_text(now)
    summary = SummaryRecord(session.id, "what came before", covers_seq, {}, stamp, session.ttl)
    items = [session.to_item(), summary.to_item()]
    for seq in range(1, count + 1):
        content = f"message {seq} " + "x" * 1000
        message = MessageRecord(
            session.id,
            f"{seq:08d}-0000-4000-8000-000000000000",
            seq,
            "user",
            content,
            stamp,
            session.ttl,
        )
        items.append(message.to_item())
    client = local_client(url, Config(retries={"total_max_attempts": 10, "mode": "standard"}))
    for offset in range(0, len(items), 25):
        pending: Any = {TABLE: [{"PutRequest": {"Item": i}} for i in items[offset : offset + 25]]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems")
    return session.id, items


def test_the_context_of_10000_messages_with_a_summary_at_9990_reads_only_what_it_returns(
    strict_server: Start,
) -> None:
    url = strict_server({})
    # Given a session of 10 000 messages of about 1 KB, summarised up to 9 990, with a workflow
    sid, items = seed_long_session(url, 10_000, 9_990)
    api = Api()
    put = api.call("workflow_put", session_id=sid, body={"workflow": {"name": "etl"}})
    assert put.status == 200
    meter = Meter()

    # When the assistant reads its context
    answer = api.call("context_get", session_id=sid)

    # Then it gets the summary, the workflow and the 10 messages after the summary
    assert answer.status == 200
    body = answer.body
    assert (body["summary"]["covers_seq"], body["workflow"]["version"]) == (9_990, 1)
    assert [m["seq"] for m in body["messages"]] == list(range(9_991, 10_001))
    assert body["omitted"] == 0
    # And it made two requests: one BatchGetItem (session, workflow, summary), one Query
    assert meter.requests == Counter({"BatchGetItem": 1, "Query": 1})
    # And the Query consumed what the 10 messages it returns weigh, nothing of the 9 990
    # others (about 2 500 read units)
    returned = [i for i in items if i["sk"]["S"] > records.message_sk(9_990)]
    returned = [i for i in returned if i["sk"]["S"].startswith(records.MSG_PREFIX)]
    assert len(returned) == 10
    assert meter.read_units["Query"] == read_units(sum(item_size(i) for i in returned))
    assert meter.read_units["BatchGetItem"] <= 3
    whole = read_units(sum(item_size(i) for i in items))
    print(
        f"context of 10 000 messages: {sum(meter.requests.values())} requests "
        f"{dict(meter.requests)}, {sum(meter.read_units.values())} read units "
        f"{dict(meter.read_units)}; the whole session would be {whole}"
    )

    # And when only 4 of them fit, still one page of the 10 after the summary
    meter.clear()
    small = api.call("context_get", session_id=sid, query={"max_bytes": "5000"}).body
    assert ([m["seq"] for m in small["messages"]], small["omitted"]) == (
        list(range(9_997, 10_001)),
        6,
    )
    assert meter.requests == Counter({"BatchGetItem": 1, "Query": 1})
    assert meter.read_units["Query"] == read_units(sum(item_size(i) for i in returned))
