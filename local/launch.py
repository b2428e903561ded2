"""`python -m local.server` as a child process on free ports, for what drives the whole stack
over HTTP: `make chaos` (`local.chaos`), `make hostile`, `make fuzz` and the end-to-end tests.

The server leads a session of its own (so a Ctrl-C in the terminal reaches only the caller),
writes its log to a file, and is ready once it logs `READY_LINE`; `stop` sends it SIGINT, as
from Ctrl-C, and it ends everything it started.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from local.lambda_spec import overridable
from local.processes import free_port, signal_group

ROOT = Path(__file__).resolve().parent.parent
READY_LINE = "press Ctrl-C to stop"  # the server's last line once it serves
START_TIMEOUT_S = 240.0  # the first start may create the runtime virtualenv (pip)
STOP_TIMEOUT_S = 30.0


class LaunchError(RuntimeError):
    """The server exited, or was not ready in time; `log` is what it wrote."""

    def __init__(self, message: str, log: str) -> None:
        super().__init__(message)
        self.log = log


@dataclass
class Launched:
    """A running `local.server`: its API on `port`, its embedded DynamoDB on `dynamodb_port`."""

    process: subprocess.Popen[bytes]
    port: int
    dynamodb_port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def interrupt(self, timeout: float = STOP_TIMEOUT_S) -> bool:
        """SIGINT (Ctrl-C) and wait for the exit; False if it is still running after `timeout`."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                return False
        return True

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> bool:
        """`interrupt`, and if that does not end it, kill its process group; whether SIGINT
        alone ended it."""
        if self.interrupt(timeout):
            return True
        signal_group(self.process.pid, signal.SIGKILL)  # its own session: ours alone
        self.process.wait()
        return False


def launch(
    log_path: Path,
    env: Mapping[str, str],
    *,
    extra_args: tuple[str, ...] = (),
    timeout: float = START_TIMEOUT_S,
) -> Launched:
    """Start the server with exactly the environment `env` and wait until it serves.

    If it exits or is not ready in time, `LaunchError` (after `stop` in the second case)."""
    port, dynamodb_port = free_port(), free_port()
    command = [sys.executable, "-m", "local.server", "--port", f"{port}"]
    command += ["--dynamodb-port", f"{dynamodb_port}", *extra_args]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Launched(process, port, dynamodb_port, log_path)
    deadline = time.monotonic() + timeout
    while READY_LINE not in server.log():
        if process.poll() is not None:
            raise LaunchError(f"the local server exited with {process.returncode}", server.log())
        if time.monotonic() > deadline:
            server.stop()
            raise LaunchError(f"the local server did not start in {timeout:g} s", server.log())
        time.sleep(0.05)
    return server


def launch_clean(log_dir: Path, settings: Mapping[str, str]) -> Launched:
    """The stack for a tool's run (`make chaos`, ...), its log in `log_dir`: this process's
    environment without api.md's settings or the local stack's own (LOCAL_*), so that nothing
    the developer exported changes the run, then `settings`. A RuntimeError with the tail of
    the server's log if it does not start."""
    env = {k: v for k, v in os.environ.items() if not (overridable(k) or k.startswith("LOCAL_"))}
    try:
        return launch(log_dir / "server.log", {**env, **settings})
    except LaunchError as error:
        raise RuntimeError(f"{error}:\n{error.log[-3000:]}") from None


def end_run(log_dir: Path, failed: bool, kept: Mapping[str, Path]) -> None:
    """The end of a tool's run in `log_dir` (`launch_clean`): after a failure the folder stays
    and each of `kept` is named ("server log: PATH"); otherwise the folder goes."""
    if failed:
        print("\n" + "\n".join(f"{label}: {path}" for label, path in kept.items()))
    else:
        shutil.rmtree(log_dir, ignore_errors=True)
