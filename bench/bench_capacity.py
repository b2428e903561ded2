"""What each write costs in AWS: requests, bytes written and DynamoDB capacity units by
DynamoDB's own rules (1 KB write units, 4 KB read units, transactions twice, index writes
included), read from the strict embedded DynamoDB's ConsumedCapacity, through the service
layer. One session per operation, with 10 messages and a 1 KB workflow stored first."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from typing import Any

from chat_sessions import config, idempotency, messages, session_access, sessions, workflows
from chat_sessions.idempotency import RequestKey
from chat_sessions.models import CreateSessionIn, MessageIn, PatchSessionIn, TurnIn
from local.dynamodb import local_client
from local.template import create_table, table_definition

TABLE = "CapacityBench"
WORKFLOW = {
    "name": "nightly-etl",
    "steps": {f"s{i}": {"batch": i, "table": "orders"} for i in range(20)},
}


class Meter:
    """Adds ReturnConsumedCapacity=INDEXES to every request and sums what comes back."""

    def __init__(self, client: Any) -> None:
        self.requests = 0
        self.read_units = 0.0
        self.write_units = 0.0
        self.bytes_sent = 0
        events = client.meta.events
        events.register("before-parameter-build.dynamodb", self._ask)
        events.register("before-send.dynamodb", self._sent)
        events.register("after-call.dynamodb", self._count)

    def _ask(self, params: dict[str, Any], **_: Any) -> None:
        params.setdefault("ReturnConsumedCapacity", "INDEXES")

    def _sent(self, request: Any, **_: Any) -> None:
        self.requests += 1
        self.bytes_sent += len(request.body or b"")

    def _count(self, parsed: dict[str, Any], **_: Any) -> None:
        used = parsed.get("ConsumedCapacity") or []
        for entry in used if isinstance(used, list) else [used]:
            self.read_units += float(entry.get("ReadCapacityUnits", 0.0))
            self.write_units += float(entry.get("WriteCapacityUnits", 0.0))

    def measure(self, operation: Callable[[], object]) -> dict[str, float]:
        before = (self.requests, self.read_units, self.write_units, self.bytes_sent)
        operation()
        return {
            "requests": self.requests - before[0],
            "read_units": round(self.read_units - before[1], 1),
            "write_units": round(self.write_units - before[2], 1),
            "bytes_sent": self.bytes_sent - before[3],
        }


def _session(with_workflow: bool, metadata: dict[str, Any] | None = None) -> str:
    body = CreateSessionIn(metadata=metadata or {"source": "web"})
    session = sessions.create_session("bench", body, None).value
    for i in range(10):
        messages.append_message("bench", session.id, MessageIn(role="user", content=f"m{i}"))
    if with_workflow:
        workflows.put_workflow("bench", session.id, WORKFLOW, None, None, None)
    return session.id


def _use_table(url: str, name: str, owner_index_all: bool = False) -> Meter:
    """Point the service at a new table: the template's, or with the owner index projecting
    every attribute (the design before the index was made keys-only)."""
    os.environ["TABLE_NAME"] = name
    config.get_settings.cache_clear()
    session_access.get_table.cache_clear()
    client = local_client(url)
    if owner_index_all:
        definition = table_definition(name)
        for index in definition["GlobalSecondaryIndexes"]:
            if index["IndexName"] == "by-owner":
                index["Projection"] = {"ProjectionType": "ALL"}
        client.create_table(**definition)
    else:
        create_table(client, name)
    return Meter(session_access.get_table().client)


def run(url: str) -> dict[str, dict[str, float]]:
    os.environ.update(
        AWS_ENDPOINT_URL_DYNAMODB=url,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106 - the embedded DynamoDB takes any
    )
    meter = _use_table(url, TABLE)
    text = "Change the load step's batch size to 500 and add a notification step."
    changed = {**WORKFLOW, "steps": {**WORKFLOW["steps"], "s3": {"batch": 500}}}  # type: ignore[dict-item]
    turn = TurnIn(
        messages=[
            MessageIn(role="user", content=text),
            MessageIn(role="assistant", content="Done: batch 500, notify added."),
        ],
        workflow=changed,
    )

    def request(route: str, body: object, with_key: bool) -> RequestKey | None:
        """A fresh Idempotency-Key per call (a first request, not a replay), or none."""
        return idempotency.request_key(str(uuid.uuid4()), route, body) if with_key else None

    def write_cases(with_key: bool) -> dict[str, Callable[[str], object]]:
        suffix = ", with Idempotency-Key" if with_key else ""

        def create(_: str) -> object:
            body = CreateSessionIn(initial_description=text)
            return sessions.create_session(
                "bench", body, request("createSession", body.model_dump(), with_key)
            )

        def append(sid: str) -> object:
            body = MessageIn(role="user", content=text)
            key = request("appendMessage", body.model_dump(), with_key)
            return messages.append_message("bench", sid, body, key)

        def put(sid: str) -> object:
            key = request("putWorkflow", {"workflow": changed}, with_key)
            return workflows.put_workflow("bench", sid, changed, None, None, None, key)

        def take_turn(sid: str) -> object:
            key = request("takeTurn", turn.model_dump(), with_key)
            return workflows.take_turn("bench", sid, turn, None, key)

        def patch(sid: str) -> object:
            key = request("patchSession", {"title": "t"}, with_key)
            return sessions.patch_session("bench", sid, PatchSessionIn(title="t"), key)

        return {
            f"create (with a first message){suffix}": create,
            f"append{suffix}": append,
            f"PUT workflow (1 KB){suffix}": put,
            f"turn (2 messages + workflow){suffix}": take_turn,
            f"PATCH session title{suffix}": patch,
        }

    cases: dict[str, Callable[[str], object]] = {
        "GET session": lambda sid: sessions.get_session("bench", sid),
        # Each write without and with an Idempotency-Key: what a key adds.
        **write_cases(False),
        **write_cases(True),
    }
    cases["append with a client id"] = lambda sid: messages.append_message(
        "bench", sid, MessageIn(role="user", content=text, id=str(uuid.uuid4()))
    )
    results = {}
    for name, operation in cases.items():
        sid = _session(with_workflow=True)
        results[name] = meter.measure(lambda op=operation, sid=sid: op(sid))  # type: ignore[misc]
    # An append's index cost, with 8 KB of session metadata, under both index designs.
    metadata = {"notes": "x" * 8100}
    for label, projection_all in (("keys only", False), ("ALL, before", True)):
        meter = _use_table(url, f"{TABLE}{int(projection_all)}", owner_index_all=projection_all)
        sid = _session(with_workflow=False, metadata=metadata)
        results[f"append, 8 KB metadata, owner index {label}"] = meter.measure(
            lambda sid=sid: cases["append"](sid)  # type: ignore[misc]
        )
    return results
