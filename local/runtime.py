"""Runs the template's functions locally the way Lambda does, without Docker.

Each function runs from its `sam build` folder (`local.lambda_spec`) in the Lambda Runtime
Interface Emulator that ships inside the aws-sam-cli package (`local.emulator`), with
`awslambdaric` (the real Python runtime client) in the runtime virtualenv of
`local.runtime_env`. By default the runtime is as strict as Lambda (`local.lambda_limits`):
Timeout, MemorySize, the 6 MB request and response, the 10 s init; `LOCAL_STRICT=0` relaxes it.

`FunctionPool` keeps up to N emulators per function, started when first needed and then kept
warm; an invocation that finds them all busy waits for one, as Lambda would scale out. An
emulator whose sandbox was killed (memory) or timed out is replaced by a fresh one.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local import lambda_limits
from local.emulator import Emulator, EmulatorError, InvokeResult, LogSink
from local.lambda_limits import Limits
from local.lambda_spec import FunctionSpec, RuntimeSetupError, emulator_environment


def emulator_binary() -> Path:
    """The aws-lambda-rie binary shipped in the installed aws-sam-cli, for this machine."""
    machine = platform.machine().lower()
    arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(
        machine
    )
    if arch is None:
        raise RuntimeSetupError(f"no Lambda Runtime Interface Emulator for {machine}")
    spec = importlib.util.find_spec("samcli")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeSetupError("aws-sam-cli is not installed (run `make venv`)")
    package = Path(next(iter(spec.submodule_search_locations)))
    binary = package / "local" / "rapid" / f"aws-lambda-rie-{arch}"
    if not binary.is_file():
        raise RuntimeSetupError(f"the emulator is missing from aws-sam-cli: {binary}")
    if not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | 0o111)
    return binary


@dataclass
class FunctionPool:
    """Up to `size` warm emulators for one function; callers wait when all are busy."""

    spec: FunctionSpec
    size: int
    binary: Path
    python: Path
    environment: Mapping[str, str]
    log_sink: LogSink | None = None
    limits: Limits = field(default_factory=Limits)
    _idle: list[Emulator] = field(default_factory=list)
    _all: list[Emulator] = field(default_factory=list)
    _starting: int = 0
    _started: int = 0
    _closed: bool = False
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def _acquire(self) -> Emulator:
        with self._changed:
            while True:
                if self._closed:
                    raise EmulatorError("the local runtime is shutting down")
                if self._idle:
                    # Most recently used first, like Lambda reusing the warmest environment.
                    return self._idle.pop()
                if len(self._all) + self._starting < self.size:
                    self._starting += 1
                    self._started += 1
                    label = f"{self.spec.name}#{self._started}"
                    break
                self._changed.wait()
        emulator = Emulator(
            self.spec,
            label,
            self.binary,
            self.python,
            self.environment,
            self.log_sink,
            self.limits,
        )
        try:
            emulator.start()
        except BaseException:
            with self._changed:
                self._starting -= 1
                self._changed.notify()
            raise
        with self._changed:
            self._starting -= 1
            if self._closed:
                emulator.close()
                raise EmulatorError("the local runtime is shutting down")
            self._all.append(emulator)
        return emulator

    def _release(self, emulator: Emulator) -> None:
        with self._changed:
            keep = emulator.alive and not emulator.retired and not self._closed
            if keep:
                self._idle.append(emulator)
            elif emulator in self._all:
                self._all.remove(emulator)
            self._changed.notify()
        if not keep:
            # Outside the lock: ending a runtime takes a moment, other callers need not wait.
            emulator.close()

    def invoke(self, payload: bytes) -> InvokeResult:
        if self.limits.strict and len(payload) > self.limits.max_request_bytes:
            # Lambda refuses it before any sandbox sees it.
            return InvokeResult(
                function=self.spec.name,
                emulator="-",
                status=413,
                payload=lambda_limits.request_too_large(
                    len(payload), self.limits.max_request_bytes
                ),
                error_type=lambda_limits.REQUEST_TOO_LARGE,
                cold=False,
                init_ms=None,
                duration_ms=None,
                wall_ms=0.0,
            )
        emulator = self._acquire()
        try:
            return emulator.invoke(payload)
        finally:
            self._release(emulator)

    @property
    def pids(self) -> list[int]:
        with self._changed:
            return [pid for emulator in self._all if (pid := emulator.pid) is not None]

    def close(self) -> None:
        with self._changed:
            self._closed = True
            emulators = list(self._all)
            self._all.clear()
            self._idle.clear()
            self._changed.notify_all()
        for emulator in emulators:
            emulator.close()


class LocalRuntime:
    """A pool per function of the template: `invoke(name, event)`."""

    def __init__(
        self,
        specs: Mapping[str, FunctionSpec],
        python: Path,
        *,
        dynamodb_url: str | None,
        concurrency: int = 2,
        log_sink: LogSink | None = None,
        binary: Path | None = None,
        limits: Limits | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        binary = binary if binary is not None else emulator_binary()
        self.limits = limits if limits is not None else Limits()
        self.pools = {
            name: FunctionPool(
                spec,
                concurrency,
                binary,
                python,
                emulator_environment(spec, python, dynamodb_url),
                log_sink,
                self.limits,
            )
            for name, spec in specs.items()
        }

    def invoke(self, function: str, event: Any) -> InvokeResult:
        payload = event if isinstance(event, bytes) else json.dumps(event).encode()
        return self.pools[function].invoke(payload)

    def close(self) -> None:
        # Emulators stop in parallel: each takes a moment to end its runtime.
        threads = [threading.Thread(target=pool.close) for pool in self.pools.values()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
