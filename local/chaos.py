"""`make chaos`: a bounded mixed workload against the strict local stack with faults on, then
the invariants checked on the table itself (`local.chaos_checks`).

    python -m local.chaos --requests 5000 --clients 50 --sessions 20 --callers 10 --seed 1

Starts its own `local.server` on free ports (DynamoDB faults from --faults), runs the clients
in threads, reads the table straight from the embedded DynamoDB, prints one table and exits 1
on any breach. The server's log is kept, in a temporary directory, only after a breach.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from botocore.config import Config

from local import chaos_checks as checks
from local.chaos_checks import Exchange, Operation
from local.dynamodb import local_client
from local.runtime import DEFAULT_TABLE_NAME, free_port, overridable
from local.token import make_token

ROOT = Path(__file__).resolve().parent.parent
READY_LINE = "press Ctrl-C to stop"
START_TIMEOUT_S = 240.0
STOP_TIMEOUT_S = 30.0
CLEANUP_MINUTES = 0.05
DEFAULT_FAULTS = "throttle=0.05,internal=0.01,lost_reply=0.01,latency=0-40"
SETTINGS = {
    "SESSION_CLEANUP_INTERVAL_MINUTES": str(CLEANUP_MINUTES),
    "SESSION_TIMEOUT_MINUTES": "600",  # nothing expires mid-run ...
    "SESSION_GRACE_HOURS": "0.002",  # ... but ended sessions are deleted by the cleanup (7.2 s)
    "LOCAL_STRICT": "1",
    "LOCAL_FUNCTION_LOGS": "1",
    "TABLE_NAME": DEFAULT_TABLE_NAME,
}
ATTEMPTS = 5  # a write that may be retried safely is sent at most this often
RETRY_CAP_S = 0.5
# Each kind of operation and its share of the workload.
MIX = {
    "append_id": 16, "append": 10, "replay": 2, "turn": 9, "put_if": 5, "put": 4,
    "merge_if": 4, "merge": 4, "json_patch": 3, "revert": 4, "patch_session": 4,
    "get_session": 6, "list_messages": 5, "get_workflow": 3, "list_versions": 3,
    "get_version": 2, "diff": 2, "list_sessions": 3, "foreign": 1, "end": 2, "delete": 0.5,
}  # fmt: skip
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
WORDS = ["extract", "load", "batch", "orders", "nightly", "warehouse", "retry", "schema"]


def route_of(method: str, path: str) -> str:
    """`PUT /sessions/{session_id}/workflow`: the path as the OpenAPI document names it."""
    template = _UUID.sub("{session_id}", path.split("?")[0])
    return f"{method} {re.sub(r'/versions/[0-9]+$', '/versions/{version}', template)}"


# --- the server ----------------------------------------------------------------------------


@dataclass
class Stack:
    process: subprocess.Popen[bytes]
    port: int
    dynamodb_port: int
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # its own session: ours alone
                self.process.wait()


def start_stack(environment: dict[str, str], log_dir: Path) -> Stack:
    port, dynamodb_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not (overridable(k) or k.startswith("LOCAL_"))}
    env.update(environment)
    log_path = log_dir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "local.server",
                "--port",
                f"{port}",
                "--dynamodb-port",
                f"{dynamodb_port}",
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stack = Stack(process, port, dynamodb_port, log_path)
    deadline = time.monotonic() + START_TIMEOUT_S
    while READY_LINE not in stack.log():
        if process.poll() is not None or time.monotonic() > deadline:
            stack.stop()
            raise RuntimeError(f"the local server did not start:\n{stack.log()[-3000:]}")
        time.sleep(0.1)
    return stack


# --- the workload --------------------------------------------------------------------------


@dataclass
class Slot:
    """One of the sessions the clients share; replaced by a new one once ended or deleted."""

    session: str
    caller: str
    version: int = 0  # the latest workflow version seen
    appended: list[Operation] = field(default_factory=list)  # 201 client-id appends
    closing: bool = False


class Workload:
    def __init__(self, port: int, args: argparse.Namespace, dynamodb: Any) -> None:
        self.port = port
        self.dynamodb = dynamodb
        self.ended: checks.Table = {}  # items of each session read right after its end
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
            unsure = exchange.status in (503, checks.NO_ANSWER)
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
            status, reply_headers, raw = checks.NO_ANSWER, {}, str(error).encode()
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
            if created is not None:
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

    def saw(self, slot: Slot, answer: Exchange) -> None:
        """Remember the newest workflow version an answer shows."""
        reply = answer.reply if isinstance(answer.reply, dict) else {}
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
        write = kind not in {"get_session", "list_messages", "get_workflow", "list_versions"}
        write = write and kind not in {"get_version", "diff", "list_sessions"}
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
                items = checks.read_session(self.dynamodb, DEFAULT_TABLE_NAME, slot.session)
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
        else:
            answer = self.read(op, kind, base, slot, rng)
        self.saw(slot, answer)

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
        }[kind]
        return self.send(op, "GET", path)


# --- the checks and the report -------------------------------------------------------------


def settle(client: Any, operations: list[Operation]) -> checks.Table:
    """The table once the cleanup has had its chance at every session that should be gone."""
    interval = CLEANUP_MINUTES * 60
    ends = [
        checks.epoch(e.reply["delete_after"])
        for op in operations
        if op.kind == "end"
        for e in op.exchanges
        if e.status == 200
    ]
    # Sessions ended near the end of the run are waited for, so every end is judged.
    time.sleep(max(0.0, min(max(ends, default=0.0) + 2 * interval - time.time(), 60.0)))
    deadline = time.monotonic() + 10 * interval
    while True:
        table = checks.read_table(client, DEFAULT_TABLE_NAME)
        pending = checks.should_be_gone(operations, table, time.time()) & table.keys()
        if not pending or time.monotonic() > deadline:
            return table
        time.sleep(1.0)


def unhandled_errors(log: str, operations: int) -> checks.Invariant:
    """The service answers an unforeseen exception with 503: only its log line tells them apart."""
    invariant = checks.Invariant("no unhandled error in the functions' logs", checked=operations)
    for line in log.splitlines():
        if '"message":"unhandled error"' in line:
            name = re.search(r'"exception_name":"([^"]*)"', line)
            where = re.search(r'"correlation_id":"([^"]*)"', line)
            invariant.breaches.append(
                f"{name.group(1) if name else '?'} (request {where.group(1) if where else '?'})"
            )
    return invariant


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def report(
    operations: list[Operation], invariants: list[checks.Invariant], seconds: float
) -> list[str]:
    exchanges = [e for op in operations for e in op.exchanges]
    lines = [f"{len(exchanges)} requests in {seconds:.1f} s ({len(exchanges) / seconds:.1f}/s)"]
    header = f"{'route':<52} {'n':>5}  {'p50':>6} {'p95':>6} {'p99':>6} ms  statuses"
    lines += ["", header, "-" * len(header)]
    routes = sorted({e.route for e in exchanges}, key=lambda r: (r.split()[1], r.split()[0]))
    for route, group in [(r, [e for e in exchanges if e.route == r]) for r in routes] + [
        ("all", exchanges)
    ]:
        ms = [e.ms for e in group]
        statuses = Counter(e.status for e in group)
        lines.append(
            f"{route:<52} {len(group):>5}  {percentile(ms, 0.5):>6.0f} {percentile(ms, 0.95):>6.0f}"
            f" {percentile(ms, 0.99):>6.0f}     "
            + " ".join(f"{s}:{statuses[s]}" for s in sorted(statuses))
        )
    codes = Counter(
        e.reply["error"].get("code")
        for e in exchanges
        if isinstance(e.reply, dict) and isinstance(e.reply.get("error"), dict)
    )
    unavailable = [e for e in exchanges if e.status == 503]
    retries = sum(len(op.exchanges) - 1 for op in operations)
    lines += [
        "",
        f"503 unavailable: {len(unavailable)} "
        f"({sum('retry-after' in e.headers for e in unavailable)} with Retry-After); "
        f"retries made: {retries}; 412 version_conflict: {codes['version_conflict']}; "
        f"409 session_not_active: {codes['session_not_active']}; "
        f"409 patch_failed: {codes['patch_failed']}",
        "",
        f"{'invariant':<60} {'checked':>7}  result",
        "-" * 78,
    ]
    for inv in invariants:
        verdict = "held" if inv.held else f"BREACHED ({len(inv.breaches)})"
        lines.append(f"{inv.name:<60} {inv.checked:>7}  {verdict}")
    for inv in invariants:
        for breach in inv.breaches[: checks.MAX_EXAMPLES]:
            lines.append(f"  {inv.name}: {breach}")
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m local.chaos",
        description="A mixed workload against the strict local stack, then its invariants.",
    )
    parser.add_argument("--requests", type=int, default=5000, help="requests to send (5000)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (50)")
    parser.add_argument("--sessions", type=int, default=20, help="sessions in use at once (20)")
    parser.add_argument("--callers", type=int, default=10, help="distinct callers (10)")
    parser.add_argument("--seed", type=int, default=1, help="seeds the clients and the faults")
    parser.add_argument(
        "--faults", default=DEFAULT_FAULTS, help=f"LOCAL_DDB_FAULTS, or none ({DEFAULT_FAULTS})"
    )
    args = parser.parse_args(argv)
    args.faults = "" if args.faults.strip().lower() in ("", "none") else args.faults
    if min(args.requests, args.clients, args.sessions, args.callers) < 1:
        parser.error("--requests, --clients, --sessions and --callers must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log_dir = Path(tempfile.mkdtemp(prefix="chaos-"))
    environment = {**SETTINGS, "LOCAL_DDB_FAULTS": args.faults, "LOCAL_DDB_SEED": str(args.seed)}
    print(
        f"chaos: {args.requests} requests, {args.clients} clients, {args.sessions} sessions, "
        f"{args.callers} callers, seed {args.seed}, faults {args.faults or 'none'}",
        flush=True,
    )
    stack = start_stack(environment, log_dir)
    try:
        # The checker's own requests meet the faults too: it retries them generously.
        config = Config(retries={"max_attempts": 30, "mode": "standard"})
        client = local_client(f"http://127.0.0.1:{stack.dynamodb_port}", config)
        workload = Workload(stack.port, args, client)
        started = time.monotonic()
        workload.setup(args.sessions, random.Random(args.seed))
        threads = [
            threading.Thread(target=workload.client, args=(args.seed * 1000 + i,), daemon=True)
            for i in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.monotonic() - started
        table = settle(client, workload.operations)
        invariants = checks.check(workload.operations, table, workload.owners, workload.ended)
    finally:
        stack.stop()
    invariants.append(unhandled_errors(stack.log(), len(workload.operations)))
    print("\n".join(report(workload.operations, invariants, seconds)))
    for error in workload.errors:
        print(f"chaos itself failed: {error}")
    if workload.errors or not all(inv.held for inv in invariants):
        journal = log_dir / "journal.jsonl"
        with journal.open("w") as out:
            for op in workload.operations:
                out.write(json.dumps(asdict(op), default=str) + "\n")
        print(f"\nserver log: {stack.log_path}\njournal: {journal}")
        return 1
    shutil.rmtree(log_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
