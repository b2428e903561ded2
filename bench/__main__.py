"""`make bench`: runs every benchmark and writes bench/results/latest.md (and .json)."""

from __future__ import annotations

import json
import logging
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import (
    bench_appends,
    bench_capacity,
    bench_cold_start,
    bench_contention,
    bench_own_code,
    bench_transactions,
)
from local.dynamodb import start_dynamodb

RESULTS = Path(__file__).resolve().parent / "results"


def commit() -> str:
    answer = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    )
    return answer.stdout.strip() or "unknown"


def render(results: dict[str, Any]) -> str:
    tx, app, con = results["transactions"], results["appends"], results["contention"]
    return "\n".join(
        [
            "# Benchmark results",
            "",
            f"`make bench` on {results['when']}, commit {results['commit']}, {results['machine']}.",
            "",
            "| measurement | 50 items stored | 20 000 items stored | ratio |",
            "|---|---|---|---|",
            f"| embedded DynamoDB TransactWriteItems (message + counter), median ms "
            f"| {tx['tx_ms_50']} | {tx['tx_ms_20000']} | {tx['ratio']} |",
            f"| append through the local server (`make run` stack), median ms "
            f"| {app['append_small']['median_ms']} | {app['append_20000']['median_ms']} "
            f"| {app['ratio']} |",
            f"| append through the local server, p95 ms "
            f"| {app['append_small']['p95_ms']} | {app['append_20000']['p95_ms']} | |",
            "",
            "Target: a ratio of at most 1.5 (appends must not slow down as the table grows).",
            "",
            f"Contention: {con['writers']} simultaneous appends to one session (threads, service "
            f"layer, embedded DynamoDB): {con['stored']} stored in {con['seconds']} s, "
            f"{con['attempts_per_append']} write attempts per append.",
            "",
            "What each operation costs in AWS, by DynamoDB's rules (strict embedded DynamoDB's "
            "ConsumedCapacity; a session with 10 messages and a 1 KB workflow):",
            "",
            "| operation | requests | read units | write units | bytes sent |",
            "|---|---|---|---|---|",
            *(
                f"| {name} | {c['requests']} | {c['read_units']} | {c['write_units']} "
                f"| {c['bytes_sent']} |"
                for name, c in results["capacity"].items()
            ),
            "",
            *bench_cold_start.render_rows(results["cold_start"]),
            "",
            *bench_own_code.render_rows(results["own_code"]),
            "",
        ]
    )


def main() -> None:
    logging.disable(logging.WARNING)  # 200 threads overflow botocore's connection pool: noise
    with start_dynamodb(port=0) as server:
        transactions = bench_transactions.run(server.url)
    with start_dynamodb(port=0) as server:
        contention = bench_contention.run(server.url)
    with start_dynamodb(port=0) as server:
        capacity = bench_capacity.run(server.url)
    with start_dynamodb(port=0) as server:
        own_code = bench_own_code.run(server.url)
    cold_start = bench_cold_start.run()
    results = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "transactions": transactions,
        "appends": bench_appends.run(),
        "contention": contention,
        "capacity": capacity,
        "cold_start": cold_start,
        "own_code": own_code,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    text = render(results)
    (RESULTS / "latest.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
