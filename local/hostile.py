"""Hostile inputs against the local stack: each answer must be the documented status and error
envelope, never a 5xx, and nothing may be written.

    python -m local.hostile            # every case (about 380)
    python -m local.hostile --only 40  # the first 40, for a quick look

Starts its own `local.server` on free ports (local.launch.launch_clean), makes the sessions
the cases need (messages, a workflow version, a summary, an ended session, a fork, an import,
and Idempotency-Keys to reuse), then sends each case over a raw HTTP connection (odd methods,
unnormalised paths, bytes that are not UTF-8, 10 MB bodies) and reads the table straight from
the embedded DynamoDB after every case: any change is a write. Function errors must have the
body `{"error": {"code", "message", "details"?}}` with the documented code; API Gateway's own
401/404/413/429/503 have `{"message"}`; the few documented successes are replays of the
set-up's keyed writes (and an erasure with nothing to erase). Prints one table and exits 1 on
any breach.

The cases are in local/hostile_cases.py (the first release's routes) and
local/hostile_lifecycle.py (fork, rewind, summary, context, export, import, erasure and
Idempotency-Keys), sending and judging them in local/hostile_runner.py, the printed table in
local/hostile_report.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from local import hostile_cases, hostile_lifecycle
from local.chaos_invariants import unhandled_errors
from local.chaos_journal import MAX_EXAMPLES
from local.dynamodb import local_client
from local.hostile_cases import Case
from local.hostile_report import report
from local.hostile_runner import Client, TableState, judge, run
from local.lambda_spec import DEFAULT_TABLE_NAME
from local.launch import end_run, launch_clean
from local.token import make_token

__all__ = ["Case", "cases", "judge", "main"]

SETTINGS = {
    "SESSION_CLEANUP_INTERVAL_MINUTES": "600",  # nothing scheduled writes during the run
    "LOCAL_STRICT": "1",
    "LOCAL_FUNCTION_LOGS": "1",
    "TABLE_NAME": DEFAULT_TABLE_NAME,
}


def cases() -> list[Case]:
    return hostile_cases.cases() + hostile_lifecycle.cases()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m local.hostile",
        description="Hostile inputs against the local stack: documented answers, no writes.",
    )
    parser.add_argument("--only", type=int, default=None, help="run only the first N cases")
    return parser.parse_args(argv)


def tokens() -> dict[str, str]:
    """Tokens by caller name: two callers, and three the gateway or the function refuses."""
    other_key = "a-key-that-is-not-the-local-secret-" * 2
    return {
        "alice": make_token("hostile-alice"),
        "bob": make_token("hostile-bob"),
        "expired": make_token("hostile-alice", exp=int(time.time()) - 60),
        "forged": make_token("hostile-alice", other_key),
        "nosub": make_token(""),  # an empty sub: no caller
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    selected = cases()[: args.only]
    log_dir = Path(tempfile.mkdtemp(prefix="hostile-"))
    print(f"hostile: {len(selected)} cases", flush=True)
    stack = launch_clean(log_dir, SETTINGS)
    try:
        dynamodb = local_client(f"http://127.0.0.1:{stack.dynamodb_port}")
        client = Client(stack.port, tokens())
        started = time.monotonic()
        results = run(client, selected, TableState(dynamodb, DEFAULT_TABLE_NAME))
        seconds = time.monotonic() - started
    finally:
        stack.stop()
    lines = report(results, seconds)
    unhandled = unhandled_errors(stack.log(), len(results))
    lines.append(f"unhandled errors in the functions' logs: {len(unhandled.breaches)}")
    lines += [f"  {b}" for b in unhandled.breaches[:MAX_EXAMPLES]]
    print("\n".join(lines))
    failed = any(r.breaches for r in results) or not unhandled.held
    end_run(log_dir, failed, {"server log": stack.log_path})
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
