"""End-to-end harness: the local server (`python -m local.server`) as a subprocess, over HTTP.

The server runs from the `sam build` output (`make test` builds it first; if it is missing the
fixture runs `sam build` once). On teardown the server gets SIGINT, as from Ctrl-C, and every
process it started must be gone.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from local.runtime import free_port, overridable
from local.token import make_token

ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = ROOT / ".aws-sam" / "build"
READY_LINE = "press Ctrl-C to stop"
# The first start may create the runtime virtualenv (pip) besides starting everything else.
START_TIMEOUT = 240.0
STOP_TIMEOUT = 30.0
# Fast enough that a scheduled run shows up within the suite, slow enough to stay out of the way.
CLEANUP_INTERVAL_MINUTES = "0.05"
CALLER = object()  # request(): send the server's default token


def ensure_build() -> None:
    """`make test` builds before pytest; a bare `pytest` builds here, once."""
    if (BUILD_DIR / "template.yaml").exists():
        return
    env = dict(os.environ)
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}"
    env["SAM_CLI_TELEMETRY"] = "0"
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "sam"), "build", "--cached", "--parallel"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


# --- processes ----------------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    """/proc/PID/stat after the command name: [state, ppid, pgrp, session, ...]."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def _all_pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def descendants(root: int) -> dict[int, str]:
    """Every live descendant of `root`: pid -> start time (to tell a reused pid apart)."""
    children: dict[int, list[int]] = {}
    starts: dict[int, str] = {}
    for pid in _all_pids():
        fields = _stat(pid)
        if fields is None or fields[0] == "Z":
            continue
        children.setdefault(int(fields[1]), []).append(pid)
        starts[pid] = fields[19]
    found: dict[int, str] = {}
    queue = [root]
    while queue:
        for child in children.get(queue.pop(), []):
            if child not in found:
                found[child] = starts[child]
                queue.append(child)
    return found


def still_alive(processes: Mapping[int, str]) -> list[int]:
    alive = []
    for pid, start in processes.items():
        fields = _stat(pid)
        if fields is not None and fields[0] != "Z" and fields[19] == start:
            alive.append(pid)
    return alive


def session_members(session: int) -> list[int]:
    members = []
    for pid in _all_pids():
        fields = _stat(pid)
        if fields is not None and fields[0] != "Z" and int(fields[3]) == session:
            members.append(pid)
    return members


def describe(pids: list[int]) -> str:
    lines = []
    for pid in pids:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            command = "?"
        lines.append(f"{pid}: {command.strip()}")
    return "\n".join(lines)


# --- the server ---------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class LocalServer:
    url: str
    port: int
    dynamodb_port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    token: str = field(default_factory=lambda: make_token("alice"))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | object | None = CALLER,
        headers: Mapping[str, str] | None = None,
        raw: bytes | None = None,
        timeout: float = 60.0,
    ) -> Response:
        """One request on a fresh connection; `token=None` sends no Authorization header."""
        all_headers = dict(headers or {})
        if token is CALLER:
            token = self.token
        if isinstance(token, str):
            all_headers["Authorization"] = f"Bearer {token}"
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            all_headers.setdefault("Content-Type", "application/json")
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=data, headers=all_headers)
            answer = connection.getresponse()
            return Response(answer.status, dict(answer.headers.items()), answer.read())
        finally:
            connection.close()

    def stop(self) -> list[int]:
        """SIGINT (Ctrl-C), wait for exit; return the pids of processes it left behind."""
        started = descendants(self.process.pid)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(
                    f"the server did not stop within {STOP_TIMEOUT} s of SIGINT:\n{self.log()}"
                ) from None
        # The server leads its session; the embedded DynamoDB is in it, the emulators in theirs.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            left = sorted(set(still_alive(started)) | set(session_members(self.process.pid)))
            if not left:
                return []
            time.sleep(0.1)
        return left


def start_server(
    log_path: Path, env: Mapping[str, str] | None = None, *, extra_args: tuple[str, ...] = ()
) -> LocalServer:
    ensure_build()
    port, dynamodb_port = free_port(), free_port()
    # The suite asserts api.md's defaults: a developer's exported settings must not leak in.
    environment = {
        key: value
        for key, value in os.environ.items()
        if not (overridable(key) or key == "LOCAL_CONCURRENCY")
    }
    environment.update(env or {})
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "local.server",
                "--port",
                str(port),
                "--dynamodb-port",
                str(dynamodb_port),
                *extra_args,
            ],
            cwd=ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = LocalServer(f"http://127.0.0.1:{port}", port, dynamodb_port, process, log_path)
    deadline = time.monotonic() + START_TIMEOUT
    while READY_LINE not in server.log():
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}:\n{server.log()}")
        if time.monotonic() > deadline:
            server.stop()
            raise AssertionError(f"the server did not start in {START_TIMEOUT} s:\n{server.log()}")
        time.sleep(0.05)
    return server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    log_path = tmp_path_factory.mktemp("local-server") / "server.log"
    running = start_server(log_path, {"SESSION_CLEANUP_INTERVAL_MINUTES": CLEANUP_INTERVAL_MINUTES})
    try:
        yield running
    finally:
        left = running.stop()
        assert not left, f"processes left after SIGINT:\n{describe(left)}"
