"""`make bench`: runs every benchmark and writes bench/results/latest.md (and .json)."""

from __future__ import annotations

import json
import logging
import platform
import subprocess
import sys
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import (
    bench_appends,
    bench_capacity,
    bench_cleanup,
    bench_cold_start,
    bench_contention,
    bench_lengths,
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


def failure(part: Any) -> str | None:
    """Why a part failed: it raised, or its results show a failure of this service's own (the
    one-item designs' 400 KB limit is a finding, not a failure)."""
    if isinstance(part, dict) and "failed" in part:
        return str(part["failed"])
    if isinstance(part, dict) and bench_lengths.SERVICE in part:
        for length, row in part[bench_lengths.SERVICE].items():
            if "too_large" in row:
                return f"this service could not store {length} messages: {row['too_large']}"
    return None


def section(results: dict[str, Any], name: str, rows: Callable[[Any], list[str]]) -> list[str]:
    reason = failure(results[name])
    if reason is not None:
        return [f"**FAILED** ({name}): {reason}", ""]
    return [*rows(results[name]), ""]


def _growth_rows(results: dict[str, Any]) -> list[str]:
    tx, app = results["transactions"], results["appends"]
    return [
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
    ]


def _contention_rows(con: dict[str, Any]) -> list[str]:
    return [
        f"Contention: {con['writers']} simultaneous appends to one session (threads, service "
        f"layer, embedded DynamoDB): {con['stored']} stored in {con['seconds']} s, "
        f"{con['attempts_per_append']} write attempts per append."
    ]


def _capacity_rows(capacity: dict[str, Any]) -> list[str]:
    return [
        "What each operation costs in AWS, by DynamoDB's rules (strict embedded DynamoDB's "
        "ConsumedCapacity; a session with 10 messages and a 1 KB workflow):",
        "",
        "| operation | requests | read units | write units | bytes sent |",
        "|---|---|---|---|---|",
        *(
            f"| {name} | {c['requests']} | {c['read_units']} | {c['write_units']} "
            f"| {c['bytes_sent']} |"
            for name, c in capacity.items()
        ),
    ]


def render(results: dict[str, Any]) -> str:
    failed = [name for name in PARTS if failure(results[name]) is not None]
    growth = {"transactions": results["transactions"], "appends": results["appends"]}
    reason = failure(growth["transactions"]) or failure(growth["appends"])
    return "\n".join(
        [
            "# Benchmark results",
            "",
            f"`make bench` on {results['when']}, commit {results['commit']}, {results['machine']}.",
            "",
            f"**FAILED**: {', '.join(failed)}." if failed else "Every part ran.",
            "",
            *(
                [f"**FAILED** (transactions, appends): {reason}", ""]
                if reason
                else [*_growth_rows(growth), ""]
            ),
            *section(results, "contention", _contention_rows),
            *section(results, "capacity", _capacity_rows),
            *section(results, "lengths", bench_lengths.render_rows),
            *section(results, "cleanup", bench_cleanup.render_rows),
            *section(results, "cold_start", bench_cold_start.render_rows),
            *section(results, "own_code", bench_own_code.render_rows),
        ]
    )


def with_dynamodb(run: Callable[[str], Any]) -> Callable[[], Any]:
    """`run` against a strict embedded DynamoDB of its own."""

    def part() -> Any:
        with start_dynamodb(port=0) as server:
            return run(server.url)

    return part


PARTS: dict[str, Callable[[], Any]] = {
    "transactions": with_dynamodb(bench_transactions.run),
    "contention": with_dynamodb(bench_contention.run),
    "capacity": with_dynamodb(bench_capacity.run),
    "own_code": with_dynamodb(bench_own_code.run),
    "cleanup": with_dynamodb(bench_cleanup.run),
    "cold_start": bench_cold_start.run,
    "appends": bench_appends.run,
    "lengths": bench_lengths.run,
}


def run_part(name: str, part: Callable[[], Any]) -> Any:
    """The part's results, or {"failed": reason} if it raised (the traceback to stderr)."""
    print(f"bench: {name}", file=sys.stderr, flush=True)
    try:
        return part()
    except Exception as error:
        traceback.print_exc()
        return {"failed": f"{type(error).__name__}: {error}".splitlines()[0]}


def main() -> int:
    logging.disable(logging.WARNING)  # 200 threads overflow botocore's connection pool: noise
    results: dict[str, Any] = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(),
        "machine": f"{platform.machine()}, {platform.python_version()}",
    }
    for name, part in PARTS.items():
        results[name] = run_part(name, part)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    text = render(results)
    (RESULTS / "latest.md").write_text(text)
    print(text)
    failed = [name for name in PARTS if failure(results[name]) is not None]
    if failed:
        print(f"bench: FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
