"""`make chaos`'s clients: a mixed workload of api.md's operations on a few shared sessions.

`Workload.client` runs one client (in its own thread) until the request budget is spent; every
request and its answer is recorded in the journal (`local.chaos_journal`). A write that may be
retried safely (an Idempotency-Key route, a client-id append, a DELETE) is sent again after a
503 or no answer, as a careful client would.

The lifecycle routes are in the mix where the table can still be judged: summaries (of the
messages the client last saw; a rewind racing one makes it 422, a refusal like any other),
rewinds of the last few messages, forks (half of them go on in their source's slot: forks of
forks) and reads of the context and the export. Not in it: an import (its document would be
an export of this run: its messages could not be told from their source's) and DELETE
/sessions?confirm=all (it would end every session of a caller at once).
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from local.chaos_journal import NO_ANSWER, Exchange, Operation, Table, read_session, route_of
from local.lambda_spec import DEFAULT_TABLE_NAME
from local.token import make_token

ATTEMPTS = 5  # a write that may be retried safely is sent at most this often
RETRY_CAP_S = 0.5
# Each kind of operation and its share of the workload.
MIX = {
    "append_id": 16, "append": 10, "replay": 2, "turn": 9, "put_if": 5, "put": 4,
    "merge_if": 4, "merge": 4, "json_patch": 3, "revert": 4, "patch_session": 4,
    "get_session": 6, "list_messages": 5, "get_workflow": 3, "list_versions": 3,
    "get_version": 2, "diff": 2, "list_sessions": 3, "foreign": 1, "end": 2, "delete": 0.5,
    "summary": 4, "rewind": 3, "fork": 2, "context": 4, "export": 2,
}  # fmt: skip
READS = {
    "get_session", "list_messages", "get_workflow", "list_versions", "get_version", "diff",
    "list_sessions", "context", "export",
}  # fmt: skip
REWIND_MAX = 3  # a rewind removes up to this many of the messages the client last saw
FORK_TAKES_SLOT = 0.5  # the share of forks that go on in their source's place
CONTEXT_MAX_BYTES = (None, 200_000, 3_000, 1_000)  # None: the default
WORDS = ["extract", "load", "batch", "orders", "nightly", "warehouse", "retry", "schema"]


@dataclass(eq=False)  # one slot is one object: compared by identity
class Slot:
    """One of the sessions the clients share; replaced by a new one once ended or deleted."""

    session: str
    caller: str
    version: int = 0  # the latest workflow version seen
    messages: int = 0  # the message_count the latest answer showed
    appended: list[Operation] = field(default_factory=list)  # 201 client-id appends
    closing: bool = False


class Workload:
    def __init__(self, port: int, args: argparse.Namespace, dynamodb: Any) -> None:
        self.port = port
        self.dynamodb = dynamodb
        self.ended: Table = {}  # items of each session read right after its end
        self.budget = args.requests
        self.sent = 0
        self.lock = threading.Lock()
        self.operations: list[Operation] = []
        self.callers = {f"caller-{i}": make_token(f"caller-{i}") for i in range(args.callers)}
        self.owners: dict[str, str] = {}  # session id -> caller that created it
        self.slots: list[Slot] = []
        self.keyed = self._keyed_routes()
        self.errors: list[str] = []

    def _keyed_routes(self) -> set[str]:
        """Routes whose OpenAPI operation takes an Idempotency-Key: safe to retry after a 503."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        connection.request("GET", "/openapi.json")
        answer = connection.getresponse()
        raw = answer.read()
        connection.close()
        if answer.status != 200:
            raise RuntimeError(f"GET /openapi.json answered {answer.status}: {raw[:500]!r}")
        document = json.loads(raw)
        return {
            f"{method.upper()} {path}"
            for path, item in document["paths"].items()
            for method, op in item.items()
            if any(p.get("name") == "Idempotency-Key" for p in op.get("parameters", []))
        }

    def take(self) -> bool:
        with self.lock:
            if self.sent >= self.budget:
                return False
            self.sent += 1
            return True

    def new_op(self, kind: str, caller: str, session: str | None, write: bool) -> Operation:
        with self.lock:
            op = Operation(len(self.operations) + 1, kind, caller, session, write)
            self.operations.append(op)
        return op

    def send(
        self,
        op: Operation,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        retry: bool = False,
        rng: random.Random | None = None,
    ) -> Exchange:
        """Send once, or with `retry` up to ATTEMPTS times while the answer is 503 or none."""
        route = route_of(method, path)
        all_headers = {"Authorization": f"Bearer {self.callers[op.caller]}", **(headers or {})}
        if body is not None:
            all_headers.setdefault("Content-Type", "application/json")
        if op.write and route in self.keyed:
            all_headers["Idempotency-Key"] = f"chaos-{op.id}"
            retry = True
        data = None if body is None else json.dumps(body).encode()
        while True:
            exchange = self._once(route, method, path, data, all_headers)
            op.exchanges.append(exchange)
            unsure = exchange.status in (503, NO_ANSWER)
            if not retry or not unsure or len(op.exchanges) >= ATTEMPTS:
                return exchange
            after = exchange.headers.get("retry-after", "1")
            wait = min(float(after), RETRY_CAP_S) if after.isdigit() else RETRY_CAP_S
            time.sleep(wait * (rng or random).uniform(0.5, 1.0))

    def _once(
        self, route: str, method: str, path: str, data: bytes | None, headers: dict[str, str]
    ) -> Exchange:
        started = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=data, headers=headers)
            answer = connection.getresponse()
            raw = answer.read()
            status, reply_headers = answer.status, {k.lower(): v for k, v in answer.getheaders()}
        except (OSError, http.client.HTTPException) as error:
            status, reply_headers, raw = NO_ANSWER, {}, str(error).encode()
        finally:
            connection.close()
        try:
            reply = json.loads(raw) if raw else None
        except ValueError:
            reply = raw.decode("utf-8", "replace")
        sent_headers = {k: v for k, v in headers.items() if k != "Authorization"}
        sent = {"headers": sent_headers, "body": json.loads(data) if data else None}
        request = f"{method} {path}"
        return Exchange(
            route, request, sent, status, reply_headers, reply, started, time.monotonic()
        )

    # --- sessions

    def create(self, caller: str, rng: random.Random) -> str | None:
        op = self.new_op("create", caller, None, True)
        body: dict[str, Any] = {"title": f"chaos {op.id}", "metadata": {"op": op.id}}
        if rng.random() < 0.5:
            op.contents = [self.content(op, 0, rng)]
            body["initial_description"] = op.contents[0]
        answer = self.send(op, "POST", "/sessions", body, rng=rng)
        if answer.status != 201:
            return None
        op.session = answer.reply["id"]
        with self.lock:
            self.owners[answer.reply["id"]] = caller
        return str(answer.reply["id"])

    def setup(self, sessions: int, rng: random.Random) -> None:
        callers = list(self.callers)
        while len(self.slots) < sessions:
            caller = callers[len(self.slots) % len(callers)]
            self.sent += 1
            created = self.create(caller, rng)
            if created is None and self.sent > self.budget:
                raise RuntimeError("no session could be created")
            if created is not None:
                self.slots.append(Slot(created, caller))

    def replace(self, slot: Slot, rng: random.Random) -> None:
        with self.lock:
            if slot.closing:
                return
            slot.closing = True
        created = self.create(slot.caller, rng) if self.take() else None
        with self.lock:
            if created is not None and slot in self.slots:
                self.slots[self.slots.index(slot)] = Slot(created, slot.caller)
            else:
                slot.closing = False

    # --- one client

    def client(self, seed: int) -> None:
        rng = random.Random(seed)
        kinds, weights = list(MIX), list(MIX.values())
        try:
            while self.take():
                with self.lock:
                    slot = rng.choice(self.slots)
                self.run(rng.choices(kinds, weights)[0], slot, rng)
        except Exception as error:  # a defect of this tool: reported, and the run fails
            with self.lock:
                self.errors.append(f"{type(error).__name__}: {error}")
            raise

    def content(self, op: Operation, index: int, rng: random.Random) -> str:
        return f"op{op.id}.{index} " + " ".join(rng.choices(WORDS, k=rng.randint(1, 12)))

    def workflow(self, rng: random.Random) -> dict[str, Any]:
        steps = {w: {"batch": rng.randint(1, 5) * 100} for w in rng.sample(WORDS, 3)}
        return {"name": "chaos", "steps": steps, "tags": rng.sample(WORDS, rng.randint(0, 3))}

    def if_match(self, slot: Slot) -> dict[str, str]:
        return {"If-Match": f'"{slot.version}"' if slot.version else "*"}

    def saw(self, slot: Slot, answer: Exchange, kind: str) -> None:
        """Remember the newest workflow version an answer shows, and its message count."""
        reply = answer.reply if isinstance(answer.reply, dict) else {}
        count = _message_count(reply, kind) if answer.status < 300 else None
        if count is not None:
            with self.lock:
                slot.messages = count
        tag = answer.headers.get("etag", "").strip('"')
        seen = [int(tag)] if tag.isdigit() else []
        details = (reply.get("error") or {}).get("details") or {}
        if isinstance(details, dict) and isinstance(details.get("current_version"), int):
            seen.append(details["current_version"])
        if isinstance(reply.get("workflow_version"), int):
            seen.append(reply["workflow_version"])
        with self.lock:
            slot.version = max([slot.version, *seen])

    def run(self, kind: str, slot: Slot, rng: random.Random) -> None:
        base = f"/sessions/{slot.session}"
        write = kind not in READS
        caller = slot.caller
        if kind == "foreign":
            caller = rng.choice([c for c in self.callers if c != slot.caller] or [slot.caller])
        op = self.new_op(kind, caller, slot.session, write)
        op.note = f"op{op.id}"
        message = {"role": rng.choice(["user", "assistant", "system"])}
        answer: Exchange
        if kind in ("append_id", "append", "foreign"):
            op.contents = [self.content(op, 0, rng)]
            message["content"] = op.contents[0]
            if kind == "append_id":
                message["id"] = str(uuid.uuid4())
            answer = self.send(op, "POST", base + "/messages", message, retry="id" in message)
            if kind == "append_id" and answer.status == 201:
                with self.lock:
                    slot.appended.append(op)
        elif kind == "replay":
            with self.lock:
                first = rng.choice(slot.appended) if slot.appended else None
            if first is None:
                op.replay_of, op.kind = None, "get_session"
                op.write = False
                answer = self.send(op, "GET", base)
            else:
                op.replay_of = first
                reply = first.final.reply
                body = {k: reply[k] for k in ("id", "role", "content", "metadata")}
                answer = self.send(op, "POST", base + "/messages", body, retry=True)
        elif kind == "turn":
            count = rng.randint(1, 3)
            op.contents = [self.content(op, i, rng) for i in range(count)]
            turn: dict[str, Any] = {"messages": [], "note": op.note}
            for text in op.contents:
                entry = {"role": rng.choice(["user", "assistant"]), "content": text}
                if rng.random() < 0.5:
                    entry["id"] = str(uuid.uuid4())
                turn["messages"].append(entry)
            shape = rng.random()
            if shape < 0.4:
                turn["workflow_patch"] = {"steps": {rng.choice(WORDS): {"batch": op.id}}}
            elif shape < 0.7:
                turn["workflow"] = self.workflow(rng)
            if rng.random() < 0.3:
                turn["expected_version"] = slot.version
            answer = self.send(op, "POST", base + "/turns", turn)
        elif kind in ("put_if", "put"):
            headers = self.if_match(slot) if kind == "put_if" else {}
            body = {"workflow": self.workflow(rng), "note": op.note}
            answer = self.send(op, "PUT", base + "/workflow", body, headers)
        elif kind in ("merge_if", "merge", "json_patch"):
            headers = self.if_match(slot) if kind == "merge_if" else {}
            if kind == "json_patch":
                headers["Content-Type"] = "application/json-patch+json"
                patch: Any = [{"op": "add", "path": "/counter", "value": op.id}]
                if rng.random() < 0.3:
                    patch.insert(0, {"op": "test", "path": "/name", "value": "chaos"})
            else:
                headers["Content-Type"] = "application/merge-patch+json"
                step = rng.choice(WORDS)
                patch = {"steps": {step: None if rng.random() < 0.3 else {"batch": op.id}}}
            path = f"{base}/workflow?note={op.note}"
            answer = self.send(op, "PATCH", path, patch, headers)
        elif kind == "revert":
            headers = self.if_match(slot) if rng.random() < 0.5 else {}
            body = {"version": rng.randint(1, max(1, slot.version)), "note": op.note}
            answer = self.send(op, "POST", base + "/workflow/revert", body, headers)
        elif kind == "patch_session":
            key = rng.choice(WORDS)
            body = {"title": f"chaos {op.id}", "metadata": {key: None if op.id % 3 else op.id}}
            answer = self.send(op, "PATCH", base, body)
        elif kind == "end":
            answer = self.send(op, "POST", base + "/end")
            if answer.status == 200:
                # Read-only from now on: what it holds is final, whenever the cleanup comes.
                items = read_session(self.dynamodb, DEFAULT_TABLE_NAME, slot.session)
                with self.lock:
                    self.ended[slot.session] = items
                if rng.random() < 0.5 and self.take():
                    self.send(
                        self.new_op("delete", slot.caller, slot.session, True), "DELETE", base
                    )
            if answer.status in (200, 404, 409):
                self.replace(slot, rng)
        elif kind == "delete":
            answer = self.send(op, "DELETE", base, retry=True)
            if answer.status in (204, 404):
                self.replace(slot, rng)
        elif kind in ("summary", "rewind", "fork"):
            answer = self.lifecycle(op, kind, base, slot, rng)
        else:
            answer = self.read(op, kind, base, slot, rng)
        self.saw(slot, answer, kind)

    def lifecycle(
        self, op: Operation, kind: str, base: str, slot: Slot, rng: random.Random
    ) -> Exchange:
        """A summary of the messages the client last saw (a rewind may make it stale meanwhile:
        422), a rewind of the last few of them, or a fork (that may go on in the slot)."""
        op.note = None  # versions are found by note: these store none of their own
        seen = slot.messages
        if kind == "summary":
            body: dict[str, Any] = {
                "content": f"op{op.id} summary " + " ".join(rng.choices(WORDS, k=4)),
                "covers_seq": rng.randint(1, max(1, seen)),
                "metadata": {"op": op.id},
            }
            return self.send(op, "PUT", base + "/summary", body)
        if kind == "rewind":
            body = {"to_seq": max(0, seen - rng.randint(0, REWIND_MAX))}
            return self.send(op, "POST", base + "/rewind", body)
        body = {"title": f"fork {op.id}", "metadata": {"fork_op": op.id}}  # found by its op
        if rng.random() < 0.5:
            body["at_seq"] = rng.randint(0, seen)
        if rng.random() < 0.5:
            body["at_version"] = rng.randint(0, slot.version)
        answer = self.send(op, "POST", base + "/fork", body)
        if answer.status == 201:
            fork = answer.reply
            with self.lock:
                self.owners[fork["id"]] = op.caller
                if not slot.closing and slot in self.slots and rng.random() < FORK_TAKES_SLOT:
                    self.slots[self.slots.index(slot)] = Slot(
                        fork["id"], op.caller, fork["workflow_version"], fork["message_count"]
                    )
        return answer

    def read(self, op: Operation, kind: str, base: str, slot: Slot, rng: random.Random) -> Exchange:
        version = rng.randint(1, max(1, slot.version))
        path = {
            "get_session": base,
            "list_messages": f"{base}/messages?order={rng.choice(['asc', 'desc'])}&limit=50",
            "get_workflow": f"{base}/workflow",
            "list_versions": f"{base}/workflow/versions",
            "get_version": f"{base}/workflow/versions/{version}",
            "diff": f"{base}/workflow/diff?from={rng.randint(1, version)}&to={version}",
            "list_sessions": "/sessions?limit=20",
            "context": f"{base}/context",
            "export": f"{base}/export",
        }[kind]
        if kind == "context":
            max_bytes = rng.choice(CONTEXT_MAX_BYTES)
            path += "" if max_bytes is None else f"?max_bytes={max_bytes}"
        return self.send(op, "GET", path)


def _message_count(reply: dict[str, Any], kind: str) -> int | None:
    """The session's message count an answer shows, if it shows one."""
    if kind in ("context", "export"):
        return int(reply["session"]["message_count"])
    if kind == "turn":
        return int(reply["messages"][-1]["seq"])
    if kind in ("append_id", "append", "replay") and "seq" in reply:
        return int(reply["seq"])
    if kind not in ("fork", "list_sessions") and isinstance(reply.get("message_count"), int):
        return int(reply["message_count"])
    return None
