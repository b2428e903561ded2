"""The local server (`python -m local.server`, started by `local.launch`) as the end-to-end
tests drive it: over HTTP, with a token of the caller's, and stopped as from Ctrl-C with every
process it started gone. The `server` fixture of tests/e2e/conftest.py shares one per run.

The server runs from the `sam build` output (`make test` builds it first; if it is missing,
`ensure_build` runs `sam build` once).
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.lambda_spec import overridable
from local.launch import STOP_TIMEOUT_S, Launched, LaunchError, launch
from local.processes import session_members
from local.token import make_token
from tests.helpers.processes import descendants, still_alive

ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = ROOT / ".aws-sam" / "build"
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
        if not Launched(self.process, self.port, self.dynamodb_port, self.log_path).interrupt():
            self.process.kill()
            self.process.wait()
            raise AssertionError(
                f"the server did not stop within {STOP_TIMEOUT_S} s of SIGINT:\n{self.log()}"
            )
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
    """The local server on free ports, ready; `env` on top of this process's environment."""
    ensure_build()
    # The suite asserts api.md's defaults: a developer's exported settings must not leak in.
    environment = {
        key: value
        for key, value in os.environ.items()
        if not (overridable(key) or key == "LOCAL_CONCURRENCY")
    }
    environment.update(env or {})
    try:
        launched = launch(log_path, environment, extra_args=extra_args)
    except LaunchError as error:
        raise AssertionError(f"{error}:\n{error.log}") from None
    return LocalServer(
        launched.url, launched.port, launched.dynamodb_port, launched.process, log_path
    )
