"""Own-code time per request, every route: each function's `lambda_handler` called in-process
on the sample events of events/, with DynamoDB answered by botocore's Stubber at the store's
client, so that only this service's code (Powertools, pydantic, ours) is timed.

What each route asks DynamoDB and what it answers is recorded first, against the embedded
DynamoDB, by running the routes once in an order that makes each one succeed (create a
session, append, write the workflow, ...); every timed call then gets those answers from a
Stubber, in order. p50 and p95 of ITERATIONS calls after WARMUP.

    PYTHONPATH=shared .venv/bin/python -m bench.bench_own_code [--iterations 500]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from botocore import xform_name
from botocore.stub import Stubber

from local.in_process import LambdaContext, load_function

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
TABLE = "ChatSessionsOwnCode"
OWNER = "alice"
ITERATIONS = 500
WARMUP = 50
TARGET_P50_MS = 1.0
CURSOR_KEY = "bench-cursor-key-" + "0123456789abcdef" * 2

# Recording order: each route finds the state it needs (a session, a workflow, versions).
# (event, function, adjustments)
ROUTES: list[tuple[str, str, dict[str, Any]]] = [
    ("sessions_create", "sessions", {}),
    ("messages_append", "messages", {}),
    ("workflow_put", "workflow", {"drop_headers": ["if-match"]}),
    ("workflow_patch_merge", "workflow", {}),
    ("workflow_patch_json", "workflow", {}),
    ("workflow_versions_list", "workflow", {}),
    ("workflow_version_get", "workflow", {}),
    ("workflow_diff", "workflow", {}),
    ("workflow_revert", "workflow", {}),
    ("turns_post", "workflow", {"expected_version": 4}),
    ("workflow_get", "workflow", {}),
    ("fork_post", "transfers", {}),
    ("export_get", "transfers", {}),
    ("import_post", "transfers", {}),
    ("messages_list", "messages", {}),
    ("sessions_list", "sessions", {}),
    ("sessions_get", "sessions", {}),
    ("sessions_patch", "sessions", {}),
    ("openapi_get", "sessions", {}),
    ("sessions_end", "sessions", {}),
    ("sessions_delete", "sessions", {}),
    ("cleanup_scheduled", "cleanup", {}),
]


class Context(LambdaContext):
    """Lambda's context object, with the time left that the handlers read."""

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


@dataclass
class Call:
    operation: str
    response: dict[str, Any]


def build_event(name: str, session_id: str, adjust: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = copy.deepcopy(json.loads((EVENTS / f"{name}.json").read_text()))
    if "requestContext" not in event:
        return event  # the schedule's event
    if "session_id" in (event.get("pathParameters") or {}):
        old = event["pathParameters"]["session_id"]
        event["pathParameters"]["session_id"] = session_id
        event["rawPath"] = event["rawPath"].replace(old, session_id)
        event["requestContext"]["http"]["path"] = event["rawPath"]
    authorizer = event["requestContext"].setdefault("authorizer", {"jwt": {"claims": {}}})
    authorizer["jwt"]["claims"]["sub"] = OWNER
    for header in adjust.get("drop_headers", []):
        event["headers"].pop(header, None)
    if "expected_version" in adjust:
        body = json.loads(event["body"])
        body["expected_version"] = adjust["expected_version"]
        event["body"] = json.dumps(body)
    return event


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """The functions' log lines and metrics go to stdout (the logger holds sys.stdout
    itself): /dev/null takes them at the file descriptor."""
    sys.stdout.flush()
    saved = os.dup(1)
    sink = os.open(os.devnull, os.O_WRONLY)
    os.dup2(sink, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(sink)


def status_of(result: Any) -> int:
    return int(result.get("statusCode", 200)) if isinstance(result, dict) else 0


def record(functions: dict[str, ModuleType], client: Any) -> dict[str, tuple[Any, list[Call]]]:
    """Every route run once against the embedded DynamoDB: its event and its calls."""
    calls: list[Call] = []

    def after_call(http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        response = {k: v for k, v in parsed.items() if k != "ResponseMetadata"}
        calls.append(Call(xform_name(model.name), response))

    client.meta.events.register("after-call.dynamodb.*", after_call)
    recorded: dict[str, tuple[Any, list[Call]]] = {}
    session_id = ""
    try:
        for name, function, adjust in ROUTES:
            event = build_event(name, session_id, adjust)
            calls.clear()
            with quiet():
                result = functions[function].lambda_handler(event, Context())
            if status_of(result) >= 300 or any("Error" in c.response for c in calls):
                raise RuntimeError(f"{name} failed while recording: {result}")
            if name == "sessions_create":
                session_id = json.loads(result["body"])["id"]
                event = build_event(name, session_id, adjust)
            recorded[name] = (event, list(calls))
    finally:
        client.meta.events.unregister("after-call.dynamodb.*", after_call)
    return recorded


def time_route(
    handler: Any, event: Any, calls: list[Call], stubber: Stubber, iterations: int
) -> list[float]:
    timings = []
    for _ in range(iterations):
        for call in calls:
            stubber.add_response(call.operation, call.response)
        request = copy.deepcopy(event)
        context = Context()
        with quiet():
            started = time.perf_counter()
            result = handler(request, context)
            elapsed = time.perf_counter() - started
        stubber.assert_no_pending_responses()
        if status_of(result) >= 300:
            raise RuntimeError(f"a stubbed call failed: {result}")
        timings.append(elapsed * 1000)
    return timings


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run(dynamodb_url: str, iterations: int = ITERATIONS) -> dict[str, Any]:
    """{route: {p50_ms, p95_ms, dynamodb_calls}}; `dynamodb_url` serves the recording."""
    from local.server import create_table

    create_table(dynamodb_url, TABLE)
    saved = dict(os.environ)
    os.environ.update(
        {
            "TABLE_NAME": TABLE,
            "CURSOR_KEY": CURSOR_KEY,
            "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_url,
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "POWERTOOLS_SERVICE_NAME": "chat-sessions",
            "POWERTOOLS_METRICS_NAMESPACE": "ChatSessions",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "LOG_LEVEL": "INFO",
        }
    )
    try:
        from chat_sessions import config, session_access

        config.get_settings.cache_clear()
        config.cursor_key.cache_clear()
        session_access.get_table.cache_clear()
        functions = {name: load_function(name) for name in {f for _, f, _ in ROUTES}}
        client = session_access.get_table().client
        recorded = record(functions, client)
        results: dict[str, Any] = {}
        with Stubber(client) as stubber:
            for name, function, _ in ROUTES:
                event, calls = recorded[name]
                handler = functions[function].lambda_handler
                time_route(handler, event, calls, stubber, WARMUP)
                timings = time_route(handler, event, calls, stubber, iterations)
                results[name] = {
                    "p50_ms": round(statistics.median(timings), 3),
                    "p95_ms": round(percentile(timings, 0.95), 3),
                    "dynamodb_calls": len(calls),
                }
        session_access.get_table.cache_clear()
        return results
    finally:
        os.environ.clear()
        os.environ.update(saved)


def render_rows(results: dict[str, Any]) -> list[str]:
    over = [name for name, r in results.items() if r["p50_ms"] > TARGET_P50_MS]
    return [
        "Own-code time per request (the handler in-process, DynamoDB answered by botocore's "
        "Stubber at the client), ms:",
        "",
        "| route (event) | DynamoDB calls | p50 ms | p95 ms |",
        "|---|---|---|---|",
        *(
            f"| {name} | {r['dynamodb_calls']} | {r['p50_ms']} | {r['p95_ms']} |"
            for name, r in results.items()
        ),
        "",
        f"Target: a p50 of at most {TARGET_P50_MS} ms on every route"
        + (f" (over: {', '.join(over)})." if over else " (met)."),
    ]


def main(argv: list[str] | None = None) -> int:
    from local.dynamodb import start_dynamodb

    parser = argparse.ArgumentParser(prog="python -m bench.bench_own_code")
    parser.add_argument("--iterations", type=int, default=ITERATIONS)
    args = parser.parse_args(argv)
    with start_dynamodb(port=0) as server:
        results = run(server.url, args.iterations)
    print("\n".join(render_rows(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
