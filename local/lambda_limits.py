"""Lambda's limits as the local runtime enforces them, and how Lambda reports each breach.

AWS Lambda (documented in its quotas and execution environment pages): a synchronous request
payload of at most 6 MB (6 291 456 bytes; the Invoke API answers 413
`RequestEntityTooLargeException` without running the function) and a response of at most
6 291 556 bytes (`Function.ResponseSizeTooLarge`, enforced by the emulator itself); the
function's `Timeout` (the sandbox is stopped, `Sandbox.Timedout`, "Task timed out after N
seconds"); its `MemorySize` (the sandbox is killed, `Runtime.OutOfMemory`, "Runtime exited with
error: signal: killed"); and 10 s for the init phase, after which Lambda stops the init and runs
it again inside the first invocation, bounded by the function's `Timeout` (a suppressed init).

`LOCAL_STRICT=0` turns off what the emulator does not do by itself (the memory watch, the init
limit, the request limit), for comparison only.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

STRICT_ENV = "LOCAL_STRICT"
MAX_REQUEST_BYTES = 6 * 1024 * 1024
MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100  # the figure Lambda's error message names
INIT_LIMIT_S = 10.0
REQUEST_TOO_LARGE = "RequestEntityTooLargeException"
TIMED_OUT = "Sandbox.Timedout"
OUT_OF_MEMORY = "Runtime.OutOfMemory"


def strict_from_env(environ: Mapping[str, str] | None = None) -> bool:
    """Strict unless `LOCAL_STRICT=0`: the local stack is as strict as AWS by default."""
    environ = os.environ if environ is None else environ
    return (environ.get(STRICT_ENV) or "1").strip() != "0"


@dataclass(frozen=True)
class Limits:
    """What the local runtime enforces on top of the emulator (which enforces Timeout and
    the response size itself)."""

    strict: bool = True
    init_limit_s: float = INIT_LIMIT_S  # tests shorten it; Lambda's is 10 s
    max_request_bytes: int = MAX_REQUEST_BYTES
    poll_s: float = 0.05  # how often a running invocation's memory is read

    @classmethod
    def lenient(cls) -> Limits:
        return cls(strict=False)


def error_payload(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def request_too_large(size: int, limit: int) -> bytes:
    """The Invoke API's 413 body: the function never ran."""
    message = (
        f"{size} byte payload is too large for the RequestResponse invocation type "
        f"(limit {limit} bytes)"
    )
    return json.dumps({"Type": "User", "message": message}).encode()


def timed_out(request_id: str, emulator_text: str) -> bytes:
    """Lambda's payload for a timeout; the emulator answers with bare text."""
    return error_payload(TIMED_OUT, f"RequestId: {request_id} Error: {emulator_text.strip()}")


def out_of_memory(request_id: str) -> bytes:
    return error_payload(
        OUT_OF_MEMORY, f"RequestId: {request_id} Error: Runtime exited with error: signal: killed"
    )


# --- the memory of a runtime, read from /proc ----------------------------------------------------


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (the emulator's runtime and anything it started)."""
    found: list[int] = []
    queue = [pid]
    while queue:
        parent = queue.pop()
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{parent}/task").iterdir():
                with contextlib.suppress(OSError):
                    for child in (task / "children").read_text().split():
                        if int(child) not in found:
                            found.append(int(child))
                            queue.append(int(child))
    return found


def _status_kb(pid: int, field: str) -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def resident_mb(pids: list[int]) -> float:
    """Memory in use now (RSS) by these processes together."""
    return sum(_status_kb(pid, "VmRSS") for pid in pids) / 1024


def peak_mb(pids: list[int]) -> float:
    """The most each process has held (its RSS high-water mark), added up: catches a peak
    that came and went between two reads."""
    return sum(_status_kb(pid, "VmHWM") for pid in pids) / 1024


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
