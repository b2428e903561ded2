"""What the fork, export and import tests share: a session with something of every kind,
export documents made to measure, a request without an Idempotency-Key, and the DynamoDB
requests the service makes, counted on the wire."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from typing import Any

from chat_sessions import session_access
from local.ddb_limits import item_size
from tests.helpers.api import Answer, Api, LambdaContext, build_event, load_function

TIME = "2026-11-24T05:31:00.123Z"
# Text that JSON escapes (a quote, a backslash, a control character) or carries as more than
# one byte (accents, a symbol, an emoji): byte-for-byte comparisons must keep it exact.
TRICKY = 'said "é ✓ 😀" \\ \u0001 tab\tend'


def rich_session(api: Api, sub: str = "alice") -> str:
    """A session with messages of every role, versions of every source, notes, a message id,
    a revert, numbers with decimals and a summary."""
    sid: str = api.create(
        sub=sub,
        title="Nightly ETL ✓",
        metadata={"source": "web", "ratio": 1.50},
        initial_description="Build a nightly ETL",
    )["id"]
    said = {"role": "assistant", "content": TRICKY, "metadata": {"model": "m", "t": 0.10}}
    first = call(api, "messages_append", sid, sub, body=said)
    assert first.status == 201
    put = {"workflow": {"name": "etl", "steps": {"load": {"batch": 100}}}, "note": "first draft"}
    put["message_id"] = first.body["id"]
    assert call(api, "workflow_put", sid, sub, body=put).status == 200
    merge = '{"steps": {"load": {"batch": 500.0}, "notify": {"to": "ops"}}}'
    assert call(api, "workflow_patch_merge", sid, sub, raw_body=merge).status == 200
    ops = '[{"op": "remove", "path": "/steps/notify"}]'
    assert call(api, "workflow_patch_json", sid, sub, raw_body=ops).status == 200
    back = {"version": 1, "note": "back to the draft"}
    assert call(api, "workflow_revert", sid, sub, body=back).status == 200
    turn = {
        "messages": [
            {"role": "user", "content": "add a step"},
            {"role": "system", "content": "ok", "metadata": {"k": [1, 2]}},
        ],
        "workflow_patch": {"steps": {"check": {"rows": ">0"}}},
        "note": TRICKY,
    }
    assert call(api, "turns_post", sid, sub, body=turn).status == 201
    summary = {"content": "A nightly ETL " + TRICKY, "covers_seq": 2, "metadata": {"by": "m"}}
    assert call(api, "summary_put", sid, sub, body=summary).status == 200
    return sid


def call(api: Api, name: str, sid: str, sub: str = "alice", **kwargs: Any) -> Answer:
    return api.call(name, session_id=sid, sub=sub, **kwargs)


def document(
    messages: int = 2, versions: int = 1, summary: bool = True, content: str = "hello"
) -> dict[str, Any]:
    """A valid export document of `messages` messages and `versions` versions."""
    return {
        "format": "chat-session/1",
        "exported_at": TIME,
        "session": {"id": str(uuid.uuid4()), "title": "Imported", "metadata": {"from": "test"}},
        "messages": [
            {
                "id": str(uuid.uuid4()),
                "seq": seq,
                "role": "user" if seq % 2 else "assistant",
                "content": f"{content} {seq}",
                "metadata": {},
                "timestamp": TIME,
            }
            for seq in range(1, messages + 1)
        ],
        "versions": [
            {
                "version": number,
                "created_at": TIME,
                "source": "put",
                "note": None,
                "message_id": None,
                "reverted_from": None,
                "changes": ["created workflow" if number == 1 else f"changed n: {number - 1}"],
                "workflow": {"n": number},
            }
            for number in range(1, versions + 1)
        ],
        "summary": {"content": "s", "covers_seq": messages, "metadata": {}, "updated_at": TIME}
        if summary and messages
        else None,
    }


def without_key(name: str, **kwargs: Any) -> Answer:
    """A request of TransfersFunction without an Idempotency-Key header."""
    event = build_event(name, **kwargs)
    event["headers"].pop("idempotency-key", None)
    result = load_function("transfers").lambda_handler(event, LambdaContext())
    text = result.get("body") or ""
    headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    return Answer(result["statusCode"], headers, json.loads(text) if text else None, text)


def lambda_size_python311(answer: Answer) -> int:
    """The body's size inside the response as the python3.11 runtime writes it (non-ASCII as
    \\u escapes): what its 6 MB limit counts, besides the small rest of the response."""
    return len(json.dumps(answer.text))


class Wire:
    """The service's DynamoDB requests by operation, and each transaction's actions and
    item bytes (by DynamoDB's measure), counted as they are sent."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.transactions: list[tuple[int, int]] = []
        self.table_queries = 0  # Query requests of the table itself (not of an index)
        events = session_access.get_table().client.meta.events
        events.register("provide-client-params.dynamodb", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls[model.name] += 1
        if model.name == "Query" and "IndexName" not in params:
            self.table_queries += 1
        if model.name == "TransactWriteItems":
            actions = params["TransactItems"]
            size = sum(item_size(next(iter(action.values())).get("Item", {})) for action in actions)
            self.transactions.append((len(actions), size))
