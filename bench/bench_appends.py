"""Append latency through the local server (`make run`'s stack) with 50 and with 20 000
items stored: the embedded DynamoDB must not make appends slower as the table grows."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from local.dynamodb import local_client
from local.processes import free_port
from local.token import make_token

ROOT = Path(__file__).resolve().parent.parent
TABLE = "ChatSessionsBench"
SAMPLES = 200


def request(url: str, method: str, token: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - loopback only
    req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=60) as answer:  # noqa: S310 - loopback only
        return answer.status, json.loads(answer.read() or b"null")


def wait_until_up(base: str, process: subprocess.Popen[bytes], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the local server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/openapi.json", timeout=5):  # noqa: S310
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("the local server did not come up")


def append_latencies(
    base: str, token: str, session_id: str, count: int, text: str | None = None
) -> list[float]:
    """Milliseconds of each of `count` appends through the stack's HTTP API."""
    timings = []
    for i in range(count):
        started = time.perf_counter()
        status, answer = request(
            f"{base}/sessions/{session_id}/messages",
            "POST",
            token,
            {"role": "user", "content": text or f"benchmark message {i}"},
        )
        timings.append((time.perf_counter() - started) * 1000)
        if status != 201:
            raise RuntimeError(f"POST .../messages answered {status}: {answer}")
    return timings


def load_filler(dynamodb_url: str, items: int) -> None:
    """Items of other sessions, written straight to the table (25 per BatchWriteItem)."""
    client = local_client(dynamodb_url)
    session = str(uuid.uuid4())
    for start in range(0, items, 25):
        batch: list[Any] = [
            {
                "PutRequest": {
                    "Item": {
                        "pk": {"S": session},
                        "sk": {"S": f"MSG#{seq:010d}"},
                        "seq": {"N": str(seq)},
                        "content": {"S": "filler " * 20},
                        "ttl": {"N": "0"},
                    }
                }
            }
            for seq in range(start + 1, min(start + 25, items) + 1)
        ]
        client.batch_write_item(RequestItems={TABLE: batch})


def summary(timings: list[float]) -> dict[str, float]:
    ordered = sorted(timings)
    return {
        "median_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 2),
    }


def run() -> dict[str, Any]:
    port, dynamodb_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "TABLE_NAME": TABLE, "LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "local.server",
            "--port",
            str(port),
            "--dynamodb-port",
            str(dynamodb_port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until_up(base, process)
        token = make_token("bench")
        _, session = request(f"{base}/sessions", "POST", token, {"title": "bench"})
        append_latencies(base, token, session["id"], 50)  # warm every emulator, 50 items stored
        small = summary(append_latencies(base, token, session["id"], SAMPLES))
        load_filler(f"http://127.0.0.1:{dynamodb_port}", 20_000)
        large = summary(append_latencies(base, token, session["id"], SAMPLES))
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=30)
    return {
        "append_small": small,
        "append_20000": large,
        "ratio": round(large["median_ms"] / small["median_ms"], 2),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
