"""What the scheduled cleanup costs: SESSIONS sessions past their grace period (half stored
as expired, half still as active), each with MESSAGES messages and their id guards, written
directly to a strict embedded DynamoDB; one `run_cleanup` through the service layer with
`bench_capacity.Meter` on its client. Requests and write units per deleted item (by
DynamoDB's rules), items deleted per second.

    PYTHONPATH=shared .venv/bin/python -m bench.bench_cleanup [--sessions 50]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import timedelta
from typing import Any

from bench.bench_capacity import Meter
from bench.bench_lengths import point_service_at
from chat_sessions import clock
from chat_sessions.cleanup import run_cleanup
from chat_sessions.config import get_settings
from chat_sessions.statuses import SessionStatus
from local.dynamodb import local_client, start_dynamodb
from local.seed import idle_session_items
from local.template import create_table

TABLE = "ChatSessionsCleanup"
SESSIONS = 200
MESSAGES = 10


def seed(client: Any, sessions: int, messages: int) -> int:
    """Due sessions written directly (25 items per BatchWriteItem): how many items."""
    settings = get_settings()
    start = clock.now() - settings.timeout - settings.grace - timedelta(hours=1)
    items: list[dict[str, Any]] = []
    for index in range(sessions):
        status = SessionStatus.EXPIRED if index % 2 else SessionStatus.ACTIVE
        items += idle_session_items("bench", status, start, settings, messages)[1]
    for offset in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": i}} for i in items[offset : offset + 25]]
        if client.batch_write_item(RequestItems={TABLE: batch})["UnprocessedItems"]:
            raise RuntimeError("BatchWriteItem left items unprocessed while seeding")
    return len(items)


def count_items(client: Any) -> int:
    total, kwargs = 0, {"TableName": TABLE, "Select": "COUNT", "ConsistentRead": True}
    while True:
        answer = client.scan(**kwargs)
        total += answer["Count"]
        if "LastEvaluatedKey" not in answer:
            return int(total)
        kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def run(url: str, sessions: int = SESSIONS, messages: int = MESSAGES) -> dict[str, Any]:
    setup = local_client(url)  # not metered: seeding and counting are not the cleanup's
    create_table(setup, TABLE)
    meter = Meter(point_service_at(url, TABLE))
    seeded = seed(setup, sessions, messages)
    started = time.perf_counter()
    used = meter.measure(lambda: run_cleanup(lambda: 900_000))
    seconds = time.perf_counter() - started
    left = count_items(setup)
    deleted = seeded - left
    if left:
        raise RuntimeError(f"the cleanup left {left} of {seeded} items")
    return {
        "sessions": sessions,
        "messages_per_session": messages,
        "items_deleted": deleted,
        "seconds": round(seconds, 2),
        "requests": used["requests"],
        "write_units": used["write_units"],
        "read_units": used["read_units"],
        "requests_per_item": round(used["requests"] / deleted, 3),
        "write_units_per_item": round(used["write_units"] / deleted, 2),
        "items_per_second": round(deleted / seconds),
    }


def render_rows(r: dict[str, Any]) -> list[str]:
    return [
        f"Cleanup: {r['sessions']} sessions past their grace period, {r['messages_per_session']} "
        f"messages each ({r['items_deleted']} items with the id guards), one `run_cleanup` "
        "through the service layer on the strict embedded DynamoDB:",
        "",
        "| items deleted | requests | requests per item | write units | write units per item "
        "| read units | seconds | items per second |",
        "|---|---|---|---|---|---|---|---|",
        f"| {r['items_deleted']} | {r['requests']} | {r['requests_per_item']} "
        f"| {r['write_units']} | {r['write_units_per_item']} | {r['read_units']} "
        f"| {r['seconds']} | {r['items_per_second']} |",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_cleanup")
    parser.add_argument("--sessions", type=int, default=SESSIONS)
    parser.add_argument("--messages", type=int, default=MESSAGES)
    args = parser.parse_args(argv)
    with start_dynamodb(port=0) as server:
        results = run(server.url, args.sessions, args.messages)
    print("\n".join(render_rows(results)))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
