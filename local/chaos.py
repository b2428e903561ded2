"""`make chaos`: a bounded mixed workload against the strict local stack with faults on, then
the invariants checked on the table itself.

    python -m local.chaos --requests 5000 --clients 50 --sessions 20 --callers 10 --seed 1

Starts its own `local.server` on free ports (`local.launch`; DynamoDB faults from --faults),
runs the clients in threads (`local.chaos_workload`), reads the table straight from the
embedded DynamoDB, judges it (`local.chaos_invariants`), prints one table
(`local.chaos_report`) and exits 1 on any breach. The server's log and the journal are kept,
in a temporary directory, only after a breach.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from botocore.config import Config

from local.chaos_invariants import check, unhandled_errors
from local.chaos_journal import Operation, Table, epoch, read_table, should_be_gone
from local.chaos_report import report
from local.chaos_workload import Workload
from local.dynamodb import local_client
from local.lambda_spec import DEFAULT_TABLE_NAME
from local.launch import end_run, launch_clean
from local.threads import run_together

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


def settle(client: Any, operations: list[Operation]) -> Table:
    """The table once the cleanup has had its chance at every session that should be gone."""
    interval = CLEANUP_MINUTES * 60
    ends = [
        epoch(e.reply["delete_after"])
        for op in operations
        if op.kind == "end"
        for e in op.exchanges
        if e.status == 200
    ]
    # Sessions ended near the end of the run are waited for, so every end is judged.
    time.sleep(max(0.0, min(max(ends, default=0.0) + 2 * interval - time.time(), 60.0)))
    deadline = time.monotonic() + 10 * interval
    while True:
        table = read_table(client, DEFAULT_TABLE_NAME)
        pending = should_be_gone(operations, table, time.time()) & table.keys()
        if not pending or time.monotonic() > deadline:
            return table
        time.sleep(1.0)


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
    stack = launch_clean(log_dir, environment)
    try:
        # The checker's own requests meet the faults too: it retries them generously.
        config = Config(retries={"max_attempts": 30, "mode": "standard"})
        client = local_client(f"http://127.0.0.1:{stack.dynamodb_port}", config)
        workload = Workload(stack.port, args, client)
        started = time.monotonic()
        workload.setup(args.sessions, random.Random(args.seed))
        run_together(lambda i: workload.client(args.seed * 1000 + i), args.clients, daemon=True)
        seconds = time.monotonic() - started
        table = settle(client, workload.operations)
        invariants = check(workload.operations, table, workload.owners, workload.ended)
    finally:
        stack.stop()
    invariants.append(unhandled_errors(stack.log(), len(workload.operations)))
    print("\n".join(report(workload.operations, invariants, seconds)))
    for failure in workload.errors:
        print(f"chaos itself failed: {failure}")
    failed = bool(workload.errors) or not all(inv.held for inv in invariants)
    journal = log_dir / "journal.jsonl"
    if failed:
        with journal.open("w") as out:
            for op in workload.operations:
                out.write(json.dumps(asdict(op), default=str) + "\n")
    end_run(log_dir, failed, {"server log": stack.log_path, "journal": journal})
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
