"""One Lambda Runtime Interface Emulator process, and the runtime it starts, for one function.

The emulator (shipped inside aws-sam-cli) runs `awslambdaric` with the function's handler: it
initialises the function on its first invocation (a cold start, logged as `INIT REPORT`) and
reuses it after that. It enforces the function's Timeout and the 6 MB response itself; in strict
mode (`local.lambda_limits`) this class adds what Lambda also does: the runtime is killed when
its memory passes MemorySize, and an init longer than 10 s is stopped and run again inside the
invocation. An emulator whose sandbox was killed or timed out is `retired`: the pool replaces it,
so the next invocation is a cold start, as in Lambda.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from local import lambda_limits
from local.lambda_spec import FunctionSpec
from local.processes import free_port, session_members, signal_group

INVOKE_PATH = "/2015-03-31/functions/function/invocations"
ERROR_KEYS = frozenset({"errorType", "errorMessage", "stackTrace", "requestId", "cause"})
# Sink for the functions' own output lines: (function name, line).
LogSink = Callable[[str, str], None]


@dataclass
class _Record:
    """What the emulator logged, and the watch saw, about one invocation."""

    cold: bool = False
    init_started: float | None = None
    init_ms: float | None = None
    duration_ms: float | None = None
    done: bool = False
    out_of_memory: bool = False
    init_expired: bool = False


@dataclass(frozen=True)
class InvokeResult:
    function: str
    emulator: str
    status: int  # the emulator's HTTP status
    payload: bytes
    error_type: str | None  # set when the function failed (Lambda's errorType)
    cold: bool
    init_ms: float | None
    duration_ms: float | None
    wall_ms: float
    init_retried: bool = False  # the init passed Lambda's 10 s and ran again in the invocation

    @property
    def failed(self) -> bool:
        return self.error_type is not None

    def describe(self) -> str:
        """`cold (init 512 ms)` or `warm`, for log lines."""
        if self.cold:
            init = f" (init {self.init_ms:.0f} ms)" if self.init_ms is not None else ""
            return "cold" + init + (" after a suppressed init" if self.init_retried else "")
        return "warm"


class EmulatorError(RuntimeError):
    """The emulator process itself failed (not the function)."""


_INIT_START = re.compile(r"\(rapid\) INIT START\(")
_INIT_REPORT = re.compile(r"\(rapid\) INIT REPORT\(durationMs: ([0-9.]+)\)")
_RTDONE = re.compile(r"\(rapid\) INVOKE RTDONE\(.*duration: ([0-9.]+)ms\)")
_RESET = re.compile(r"\(rapid\) Reset initiated: ")
_BOOKKEEPING = re.compile(r"^(START|END|REPORT) RequestId: |\(rapid\) ")


def _error_type(status: int, payload: bytes) -> str | None:
    """Lambda's errorType if the emulator's answer is a failed invocation, else None."""
    try:
        document = json.loads(payload)
    except ValueError:
        text = payload.decode("utf-8", "replace")
        if "Task timed out" in text:
            return lambda_limits.TIMED_OUT
        return "Runtime.InvalidResponse" if status == 200 else "Runtime.Unknown"
    is_error = (
        isinstance(document, dict)
        and isinstance(document.get("errorType"), str)
        and "errorMessage" in document
        and document.keys() <= ERROR_KEYS
    )
    if is_error:
        assert isinstance(document, dict)
        return str(document["errorType"])
    return None if status == 200 else "Runtime.Unknown"


class Emulator:
    """One aws-lambda-rie process (and the runtime it starts) for one function."""

    def __init__(
        self,
        spec: FunctionSpec,
        label: str,
        binary: Path,
        python: Path,
        environment: Mapping[str, str],
        log_sink: LogSink | None = None,
        limits: lambda_limits.Limits | None = None,
    ) -> None:
        self.spec = spec
        self.label = label
        self.limits = limits if limits is not None else lambda_limits.Limits()
        self.retired = False  # its sandbox was killed or timed out: the pool replaces it
        self._binary = binary
        self._python = python
        self._environment = dict(environment)
        self._log_sink = log_sink
        self._process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._changed = threading.Condition()
        # The invocation under way; the emulator's own "(rapid)" lines are attributed to it.
        self._current: _Record | None = None
        self._output: list[str] = []  # the first lines, for the error message if it cannot start
        self._capturing = True
        self.port = 0

    # lifecycle

    def start(self, attempts: int = 3, timeout: float = 10.0) -> None:
        last = ""
        for _ in range(attempts):
            self.port, api_port = free_port(), free_port()
            while api_port == self.port:
                api_port = free_port()
            command = [
                str(self._binary),
                "--log-level",
                "info",
                "--runtime-interface-emulator-address",
                f"127.0.0.1:{self.port}",
                "--runtime-api-address",
                f"127.0.0.1:{api_port}",
                str(self._python),
                "-m",
                "awslambdaric",
                self.spec.handler,
            ]
            # Own session: Ctrl-C in the terminal reaches only the server, which then ends
            # each emulator and the runtime it started (see close()).
            self._process = subprocess.Popen(
                command,
                cwd=self.spec.code_dir,
                env=self._environment,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            assert self._process.stdout is not None
            self._reader = threading.Thread(
                target=self._read, args=(self._process.stdout,), daemon=True
            )
            self._reader.start()
            if self._wait_listening(timeout):
                with self._changed:
                    self._capturing = False
                    self._output = []
                return
            last = "\n".join(self._output[-10:])
            self.close()
        raise EmulatorError(f"the emulator for {self.spec.name} did not start:\n{last}")

    def _wait_listening(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.01)
        return False

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def close(self, timeout: float = 3.0) -> None:
        """Stop the emulator and the runtime it started (in its own group, same session)."""
        process = self._process
        if process is None:
            return
        session = process.pid  # start_new_session: the emulator leads its session
        signal_group(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)
        deadline = time.monotonic() + timeout
        while session_members(session) and time.monotonic() < deadline:
            time.sleep(0.02)
        lambda_limits.kill_all(session_members(session))
        if process.poll() is None:
            process.kill()
            process.wait()
        if self._reader is not None:
            self._reader.join(timeout)
        if process.stdout is not None:
            process.stdout.close()

    # the emulator's log

    def _read(self, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            with self._changed:
                if self._capturing and len(self._output) < 200:
                    self._output.append(line)
                self._parse(line)
                self._changed.notify_all()
            if self._log_sink is not None and line and not _BOOKKEEPING.search(line):
                self._log_sink(self.spec.name, line)
        with self._changed:
            self._changed.notify_all()

    def _parse(self, line: str) -> None:
        # Only "(rapid)" lines: they are written in order, while START/END/REPORT lines go
        # through the emulator's asynchronous log stream and may arrive after them.
        record = self._current
        if record is None:
            return
        if _INIT_START.search(line):
            record.cold = True
            record.init_started = time.monotonic()
        elif match := _INIT_REPORT.search(line):
            record.init_ms = (record.init_ms or 0.0) + float(match.group(1))
        elif match := _RTDONE.search(line):
            record.duration_ms = float(match.group(1))
            record.done = True
        elif _RESET.search(line):
            record.done = True

    # invoking

    def invoke(self, payload: bytes) -> InvokeResult:
        """Invoke the function once; the caller makes sure no other invocation is running."""
        if not self.alive:
            raise EmulatorError(f"the emulator {self.label} is not running")
        started = time.perf_counter()
        (status, body), record = self._invoke_once(payload, watch_init=self.limits.strict)
        retried = record.init_expired
        if retried:
            # Lambda runs the init again inside the invocation, bounded by the function's
            # Timeout: a fresh runtime, whose init the emulator counts within that Timeout.
            self.close()
            self.start()
            (status, body), record = self._invoke_once(payload, watch_init=False)
        return InvokeResult(
            function=self.spec.name,
            emulator=self.label,
            status=status,
            payload=body,
            error_type=_error_type(status, body),
            cold=record.cold,
            init_ms=record.init_ms,
            duration_ms=record.duration_ms,
            wall_ms=(time.perf_counter() - started) * 1000,
            init_retried=retried,
        )

    def _invoke_once(
        self, payload: bytes, *, watch_init: bool
    ) -> tuple[tuple[int, bytes], _Record]:
        """The emulator's status and payload, in Lambda's terms, and what was logged."""
        record = _Record()
        with self._changed:
            self._current = record
        request_id = str(uuid.uuid4())
        stop = threading.Event()
        watcher = None
        if self.limits.strict:
            watcher = threading.Thread(
                target=self._watch, args=(record, stop, watch_init), daemon=True
            )
            watcher.start()
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=self.spec.timeout_s + self.limits.init_limit_s + 10
        )
        try:
            connection.request(
                "POST", INVOKE_PATH, body=payload, headers={"Content-Type": "application/json"}
            )
            response = connection.getresponse()
            status, body = response.status, response.read()
        except (OSError, http.client.HTTPException) as error:
            # The emulator enforces the function's timeout; silence past it means it is stuck.
            stop.set()
            self.close()
            raise EmulatorError(f"the emulator {self.label} failed: {error}") from error
        finally:
            connection.close()
            stop.set()
            if watcher is not None:
                watcher.join()
        self._wait_done(record, timeout=1.0)
        if self.limits.strict and not record.out_of_memory:
            runtime = lambda_limits.descendants(self._process.pid) if self._process else []
            if lambda_limits.peak_mb(runtime) > self.spec.memory_mb:
                # A peak between two reads: Lambda's kernel would have killed it at that moment.
                record.out_of_memory = True
        if record.out_of_memory:
            self.retired = True
            return (200, lambda_limits.out_of_memory(request_id)), record
        if _error_type(status, body) == lambda_limits.TIMED_OUT:
            self.retired = True
            text = body.decode("utf-8", "replace")
            return (200, lambda_limits.timed_out(request_id, text)), record
        return (status, body), record

    def _watch(self, record: _Record, stop: threading.Event, watch_init: bool) -> None:
        """Kill the runtime when its memory passes MemorySize or its init passes the limit."""
        assert self._process is not None
        while not stop.wait(self.limits.poll_s):
            runtime = lambda_limits.descendants(self._process.pid)
            if lambda_limits.resident_mb(runtime) > self.spec.memory_mb:
                record.out_of_memory = True
            elif watch_init and record.init_started is not None and record.init_ms is None:
                record.init_expired = (
                    time.monotonic() - record.init_started > self.limits.init_limit_s
                )
            if record.out_of_memory or record.init_expired:
                lambda_limits.kill_all(runtime)
                return

    def _wait_done(self, record: _Record, timeout: float) -> None:
        """The emulator logs an invocation's figures around the time it answers: wait briefly."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not record.done and self.alive:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
            self._current = None
