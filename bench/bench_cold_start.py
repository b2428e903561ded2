"""Cold start of every function against a bare boto3 function, through the Lambda Runtime
Interface Emulator: what a user waits for on the first request of a new sandbox.

Each function runs from the `sam build` output in a fresh emulator and serves one write
route (the cleanup its scheduled event) against the embedded DynamoDB; the figure is the
emulator's `INIT REPORT` durationMs plus the first invocation's duration (`INVOKE RTDONE`).
The reference is a handler written here into a temporary folder: it creates a boto3
DynamoDB client at init and makes one GetItem. Reference and function alternate, round
after round, so that load from other processes touches both alike; medians of ROUNDS.

    PYTHONPATH=shared .venv/bin/python -m bench.bench_cold_start [--rounds 5] [--only Fn,...]
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from local.dynamodb import start_dynamodb
from local.emulator import Emulator
from local.lambda_limits import Limits
from local.lambda_spec import FunctionSpec, emulator_environment, function_specs
from local.run_secrets import with_run_secrets
from local.runtime import emulator_binary
from local.runtime_env import ensure_runtime_env
from local.server import BUILD_DIR, create_table

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
TABLE = "ChatSessionsColdStart"
ROUNDS = 5
REFERENCE = "Boto3Reference"
OWNER = "alice"
TARGET_RATIO = 1.2

REFERENCE_CODE = '''"""A bare function: a boto3 client made at init, one GetItem a request."""
import os

import boto3

client = boto3.client("dynamodb")
TABLE = os.environ["TABLE_NAME"]


def lambda_handler(event, context):
    client.get_item(TableName=TABLE, Key={"pk": {"S": "none"}, "sk": {"S": "none"}})
    return {"statusCode": 200, "body": "{}"}
'''

# Each function on a write route it serves (the cleanup on its schedule).
ROUTES = {
    "SessionsFunction": "sessions_create",
    "MessagesFunction": "messages_append",
    "WorkflowFunction": "workflow_put",
    "TransfersFunction": "fork_post",
    "CleanupFunction": "cleanup_scheduled",
}


def event(name: str, session_id: str | None = None) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    document = copy.deepcopy(document)
    if session_id is not None and "pathParameters" in document:
        old = document["pathParameters"]["session_id"]
        document["pathParameters"]["session_id"] = session_id
        document["rawPath"] = document["rawPath"].replace(old, session_id)
        document["requestContext"]["http"]["path"] = document["rawPath"]
    if "requestContext" in document:
        document["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = OWNER
        # Unconditional: the same event serves every round.
        document["headers"].pop("if-match", None)
    return document


@dataclasses.dataclass
class ColdStart:
    init_ms: float
    invoke_ms: float

    @property
    def total_ms(self) -> float:
        return self.init_ms + self.invoke_ms


def cold_start(
    spec: FunctionSpec, python: Path, binary: Path, dynamodb_url: str, payload: bytes
) -> ColdStart:
    """One fresh emulator, one invocation: the init and the first invocation's duration."""
    environment = emulator_environment(spec, python, dynamodb_url)
    emulator = Emulator(spec, spec.name, binary, python, environment, limits=Limits(strict=False))
    emulator.start()
    try:
        result = emulator.invoke(payload)
    finally:
        emulator.close()
    answer = json.loads(result.payload) if not result.failed else None
    status = answer.get("statusCode", 200) if isinstance(answer, dict) else None
    if result.failed or not isinstance(status, int) or status >= 300:
        text = result.payload[:500].decode("utf-8", "replace")
        raise RuntimeError(f"{spec.name} failed its cold start: {text}")
    if not result.cold or result.init_ms is None or result.duration_ms is None:
        raise RuntimeError(f"{spec.name}: the emulator reported no init or no duration")
    return ColdStart(result.init_ms, result.duration_ms)


def reference_spec(code_dir: Path, like: FunctionSpec) -> FunctionSpec:
    (code_dir / "app.py").write_text(REFERENCE_CODE)
    return FunctionSpec(
        name=REFERENCE,
        code_dir=code_dir,
        layer_dirs=(),
        handler="app.lambda_handler",
        runtime=like.runtime,
        memory_mb=like.memory_mb,
        timeout_s=like.timeout_s,
        environment={"TABLE_NAME": TABLE},
    )


def run(
    rounds: int = ROUNDS,
    only: list[str] | None = None,
    build_dir: Path = BUILD_DIR,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """{function: {median_ms, reference_median_ms, ratio, init_median_ms, ...}}."""
    python = ensure_runtime_env()
    binary = emulator_binary()
    specs = with_run_secrets(function_specs(build_dir, table_name=TABLE))
    names = [name for name in ROUTES if only is None or name in only]
    samples: dict[str, list[ColdStart]] = {name: [] for name in names}
    references: dict[str, list[ColdStart]] = {name: [] for name in names}
    with start_dynamodb(port=0) as server, tempfile.TemporaryDirectory() as folder:
        create_table(server.url, TABLE)
        reference = reference_spec(Path(folder), specs["SessionsFunction"])
        # The session the message and workflow writes go to, made by the function itself.
        created = Emulator(
            specs["SessionsFunction"],
            "setup",
            binary,
            python,
            emulator_environment(specs["SessionsFunction"], python, server.url),
            limits=Limits(strict=False),
        )
        created.start()
        try:
            setup = json.dumps(event("sessions_create")).encode()
            answer = json.loads(created.invoke(setup).payload)
        finally:
            created.close()
        session_id = json.loads(answer["body"])["id"]
        payloads = {name: json.dumps(event(ROUTES[name], session_id)).encode() for name in names}
        ref_payload = b"{}"
        cold_start(reference, python, binary, server.url, ref_payload)  # page cache, once
        for round_ in range(rounds):
            for name in names:
                ref = cold_start(reference, python, binary, server.url, ref_payload)
                own = cold_start(specs[name], python, binary, server.url, payloads[name])
                references[name].append(ref)
                samples[name].append(own)
                if progress is not None:
                    progress(
                        f"round {round_ + 1}: {name} {own.total_ms:.0f} ms "
                        f"(init {own.init_ms:.0f}), reference {ref.total_ms:.0f} ms"
                    )
    results: dict[str, Any] = {}
    for name in names:
        own_ms = statistics.median(s.total_ms for s in samples[name])
        ref_ms = statistics.median(s.total_ms for s in references[name])
        results[name] = {
            "route": ROUTES[name],
            "median_ms": round(own_ms),
            "init_median_ms": round(statistics.median(s.init_ms for s in samples[name])),
            "invoke_median_ms": round(statistics.median(s.invoke_ms for s in samples[name])),
            "reference_median_ms": round(ref_ms),
            "ratio": round(own_ms / ref_ms, 2),
            "samples_ms": [round(s.total_ms) for s in samples[name]],
            "reference_samples_ms": [round(s.total_ms) for s in references[name]],
        }
    return results


def render_rows(results: dict[str, Any]) -> list[str]:
    worst = max((r["ratio"] for r in results.values()), default=0.0)
    rounds = max((len(r["samples_ms"]) for r in results.values()), default=0)
    return [
        f"Cold start through the Lambda emulator (INIT REPORT + the first invocation), median "
        f"of {rounds} runs alternating with a bare boto3 function (client at init, one GetItem):",
        "",
        "| function (route) | median ms | init ms | first invocation ms | reference ms | ratio |",
        "|---|---|---|---|---|---|",
        *(
            f"| {name} ({r['route']}) | {r['median_ms']} | {r['init_median_ms']} "
            f"| {r['invoke_median_ms']} | {r['reference_median_ms']} | {r['ratio']} |"
            for name, r in results.items()
        ),
        "",
        f"Target: a worst ratio of at most {TARGET_RATIO} (now {worst}).",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_cold_start")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--only", default="", help="comma-separated function names")
    parser.add_argument("--build-dir", type=Path, default=BUILD_DIR)
    args = parser.parse_args(argv)
    only = [name for name in args.only.split(",") if name] or None
    results = run(
        args.rounds,
        only,
        args.build_dir,
        progress=lambda text: print(text, file=sys.stderr, flush=True),
    )
    print("\n".join(render_rows(results)))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
