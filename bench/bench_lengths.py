"""What an append costs as a conversation grows (10, 100, 1 000 and 10 000 messages), for
three designs on the same strict embedded DynamoDB, the one of a `make run` stack:

- this service: one item per message (and its id guard), the session item updated in the
  same transaction;
- the one-item-per-conversation baseline, the design the original session manager used: one
  item per session holding the whole message list, appended to with UpdateItem
  `SET messages = list_append(messages, :new)` (written here, `OneItemSessions`);
- LangChain's `DynamoDBChatMessageHistory` (langchain-community), one item per session too,
  read whole and written whole on each `add_messages`.

For each length L a session is filled directly to L - n messages, then the n appends that
bring it to L are measured (n = 20, or L when smaller; 10 000 is also this service's limit
per session): requests, bytes sent and write units per append, by DynamoDB's rules
(ConsumedCapacity of the strict server, `bench_capacity.Meter`), and the median latency of a
library call against the stack's DynamoDB. This service's appends are also sent through the
stack's HTTP API (`make run`: gateway, Lambda emulator, DynamoDB) on a second session filled
alike. The two one-item designs stop at DynamoDB's 400 KB item limit: the message that no
longer fits is found on further sessions, and reported with DynamoDB's error.

    PYTHONPATH=shared .venv/bin/python -m bench.bench_lengths [--lengths 10,100] [--appends 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.bench_appends import append_latencies, request
from bench.bench_capacity import Meter
from bench.one_item_designs import (
    CREDENTIALS,
    OWNER,
    TEXT,
    LangChainSessions,
    OneItemSessions,
    TooLarge,
    langchain_limit,
    one_item_limit,
)
from chat_sessions import clock, config, messages, session_access, sessions
from chat_sessions.models import CreateSessionIn, MessageIn
from chat_sessions.records import SESSION_SK, MessageRecord
from local.dynamodb import local_client
from local.launch import launch
from local.token import make_token

LENGTHS = (10, 100, 1_000, 10_000)
APPENDS = 20
TABLE = "ChatSessionsLengths"
SERVICE, ONE_ITEM, LANGCHAIN = "this service", "one item per conversation", "LangChain"


def per_append(meter: Meter, append: Callable[[], object], count: int) -> dict[str, Any]:
    """`count` appends: the means of what each cost and the median of their latencies."""
    timings: list[float] = []
    totals = {"requests": 0.0, "read_units": 0.0, "write_units": 0.0, "bytes_sent": 0.0}
    for _ in range(count):
        started = time.perf_counter()
        used = meter.measure(append)
        timings.append((time.perf_counter() - started) * 1000)
        for key in totals:
            totals[key] += used[key]
    return {
        "appends": count,
        "requests": round(totals["requests"] / count, 2),
        "bytes_sent": round(totals["bytes_sent"] / count),
        "write_units": round(totals["write_units"] / count, 1),
        "read_units": round(totals["read_units"] / count, 1),
        "median_ms": round(statistics.median(timings), 2),
    }


def split(length: int, appends: int) -> tuple[int, int]:
    """(messages filled first, appends measured): the appends bring the session to `length`."""
    count = min(appends, length)
    return length - count, count


# --- this service -------------------------------------------------------------------------


def point_service_at(dynamodb_url: str, table: str) -> Any:
    """The service layer in this process, on `table` of the DynamoDB at `dynamodb_url`."""
    os.environ.update(
        AWS_ENDPOINT_URL_DYNAMODB=dynamodb_url,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID=CREDENTIALS["aws_access_key_id"],
        AWS_SECRET_ACCESS_KEY=CREDENTIALS["aws_secret_access_key"],
        TABLE_NAME=table,
    )
    config.get_settings.cache_clear()
    session_access.get_table.cache_clear()
    return session_access.get_table().client


def fill_messages(client: Any, table: str, session_id: str, count: int) -> None:
    """`count` messages and their id guards written directly (25 per BatchWriteItem), and the
    session's message_count moved on to match, as that many appends would leave it."""
    key = {"pk": {"S": session_id}, "sk": {"S": SESSION_SK}}
    stored = client.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    ttl = int(stored["ttl"]["N"])
    stamp = clock.to_text(clock.now())
    items: list[dict[str, Any]] = []
    for seq in range(1, count + 1):
        message = MessageRecord(session_id, str(uuid.uuid4()), seq, "user", TEXT, stamp, ttl)
        items += [message.to_item(), message.guard_item()]
    for offset in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": i}} for i in items[offset : offset + 25]]
        left = client.batch_write_item(RequestItems={table: batch})["UnprocessedItems"]
        if left:
            raise RuntimeError(f"BatchWriteItem left items unprocessed: {left}")
    client.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET message_count = :n",
        ExpressionAttributeValues={":n": {"N": str(count)}},
    )


def service_row(client: Any, filled: int, count: int) -> dict[str, Any]:
    session_id = sessions.create_session(OWNER, CreateSessionIn(title="bench"), None).value.id
    fill_messages(client, TABLE, session_id, filled)
    body = MessageIn(role="user", content=TEXT)
    return per_append(
        Meter(client), lambda: messages.append_message(OWNER, session_id, body), count
    )


def http_median_ms(base: str, client: Any, filled: int, count: int) -> float:
    """Median latency of `count` appends through the stack's API, to a session filled alike."""
    token = make_token(OWNER)
    status, session = request(f"{base}/sessions", "POST", token, {"title": "bench"})
    if status != 201:
        raise RuntimeError(f"POST /sessions answered {status}")
    fill_messages(client, TABLE, session["id"], filled)
    timings = append_latencies(base, token, session["id"], count, TEXT)
    return round(statistics.median(timings), 2)


# --- the whole run -----------------------------------------------------------------------


def design_rows(
    lengths: tuple[int, ...], appends: int, measure: Callable[[int, int], dict[str, Any]]
) -> dict[str, Any]:
    """{length: measured row, or {"too_large": error} where the session cannot hold it}."""
    rows: dict[str, Any] = {}
    for length in lengths:
        filled, count = split(length, appends)
        try:
            rows[str(length)] = measure(filled, count)
        except TooLarge as error:
            rows[str(length)] = {"too_large": str(error)}
    return rows


@contextmanager
def stack(log_dir: Path) -> Iterator[Any]:
    env = {**os.environ, "TABLE_NAME": TABLE, "LOG_LEVEL": "WARNING"}
    server = launch(log_dir / "server.log", env)
    try:
        yield server
    finally:
        server.stop()


def run(lengths: tuple[int, ...] = LENGTHS, appends: int = APPENDS) -> dict[str, Any]:
    """{design: {length: row}, "limits": {design: {fails_at_message, error}}}."""
    with tempfile.TemporaryDirectory() as folder, stack(Path(folder)) as server:
        dynamodb_url = f"http://127.0.0.1:{server.dynamodb_port}"
        client = point_service_at(dynamodb_url, TABLE)

        def ours(filled: int, count: int) -> dict[str, Any]:
            row = service_row(client, filled, count)
            row["http_median_ms"] = http_median_ms(server.url, client, filled, count)
            return row

        results: dict[str, Any] = {SERVICE: design_rows(lengths, appends, ours)}

        one_item = OneItemSessions(local_client(dynamodb_url))
        one_item.create_table()
        one_meter = Meter(one_item.client)

        def baseline(filled: int, count: int) -> dict[str, Any]:
            session_id = one_item.create(OWNER, filled)
            return per_append(one_meter, lambda: one_item.append(session_id), count)

        results[ONE_ITEM] = design_rows(lengths, appends, baseline)

        langchain = LangChainSessions(dynamodb_url)
        langchain.create_table(local_client(dynamodb_url))

        def theirs(filled: int, count: int) -> dict[str, Any]:
            history = langchain.create(filled)
            meter = Meter(history.table.meta.client)
            return per_append(meter, lambda: langchain.add(history, 1), count)

        results[LANGCHAIN] = design_rows(lengths, appends, theirs)
        results["limits"] = {
            ONE_ITEM: one_item_limit(one_item),
            LANGCHAIN: langchain_limit(langchain, local_client(dynamodb_url)),
        }
    return results


def render_rows(results: dict[str, Any]) -> list[str]:
    lines = [
        "Append cost by conversation length, the same strict embedded DynamoDB for the three "
        f"designs (the appends that bring a session to L messages: the last {APPENDS}, at 10 "
        "all ten; per append, by DynamoDB's rules; latency of the library call, and for this "
        "service also through the `make run` stack's HTTP API):",
        "",
        "| design | messages | requests | bytes sent | write units | read units "
        "| median ms | median ms through `make run` |",
        "|---|---|---|---|---|---|---|---|",
    ]
    limits = results.get("limits", {})
    for design in (SERVICE, ONE_ITEM, LANGCHAIN):
        for length, row in results.get(design, {}).items():
            label = f"{int(length):,}".replace(",", " ")
            if "too_large" in row:
                fails = limits.get(design, {}).get("fails_at_message", "?")
                lines.append(
                    f"| {design} | {label} | over 400 KB from message {fails}: "
                    f"`{row['too_large']}` | | | | | |"
                )
                continue
            lines.append(
                f"| {design} | {label} | {row['requests']} | {row['bytes_sent']} "
                f"| {row['write_units']} | {row['read_units']} | {row['median_ms']} "
                f"| {row.get('http_median_ms', '')} |"
            )
    lines.append("")
    for design, limit in limits.items():
        lines.append(
            f"{design}: DynamoDB refuses message {limit['fails_at_message']} "
            f"(`{limit['error']}`); the item held {limit['last_fitting_bytes']} bytes "
            "by DynamoDB's measure before it"
            + (
                " (under 400 KB: the embedded server's own UpdateItem check, moto's, refuses "
                "early; DynamoDB would take more)."
                if limit["last_fitting_bytes"] < 390 * 1024
                else "."
            )
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_lengths")
    parser.add_argument("--lengths", default=",".join(str(n) for n in LENGTHS))
    parser.add_argument("--appends", type=int, default=APPENDS)
    args = parser.parse_args(argv)
    lengths = tuple(int(n) for n in args.lengths.split(",") if n)
    results = run(lengths, args.appends)
    print("\n".join(render_rows(results)))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
