"""The local runtime enforces what Lambda enforces: Timeout, MemorySize, the 6 MB request and
response, the 10 s init; `LOCAL_STRICT=0` (Limits.lenient()) does not, where the emulator
itself does not. Each test runs a small function (tests/helpers/limits_function.py) through
the same emulator code path as the template's functions. Outcomes are asserted, not speeds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.emulator import InvokeResult
from local.lambda_limits import Limits, strict_from_env
from local.runtime import LocalRuntime
from local.runtime_env import ensure_runtime_env
from tests.helpers.limits_function import NAME, limits_spec

pytestmark = pytest.mark.e2e


@pytest.fixture
def runtime_python() -> Path:
    return ensure_runtime_env()


@pytest.fixture
def start(tmp_path: Path, runtime_python: Path) -> Iterator[Any]:
    """start(limits=..., **spec changes) -> a LocalRuntime of the test function, closed after."""
    runtimes: list[LocalRuntime] = []

    def make(limits: Limits | None = None, **changes: Any) -> LocalRuntime:
        spec = limits_spec(tmp_path, **changes)
        runtime = LocalRuntime(
            {NAME: spec}, runtime_python, dynamodb_url=None, concurrency=1, limits=limits
        )
        runtimes.append(runtime)
        return runtime

    yield make
    for runtime in runtimes:
        runtime.close()


def error(result: InvokeResult) -> dict[str, Any]:
    document = json.loads(result.payload)
    assert isinstance(document, dict)
    return document


def test_strict_is_the_default_and_local_strict_0_turns_it_off() -> None:
    assert Limits().strict
    assert strict_from_env({})
    assert strict_from_env({"LOCAL_STRICT": "1"})
    assert not strict_from_env({"LOCAL_STRICT": "0"})


def test_a_function_past_its_timeout_is_stopped_and_the_next_call_is_cold(start: Any) -> None:
    runtime = start(timeout_s=1)
    result = runtime.invoke(NAME, {"sleep": 5})
    assert result.error_type == "Sandbox.Timedout"
    assert error(result) == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": error(result)["errorMessage"],
    }
    assert error(result)["errorMessage"].endswith("Task timed out after 1.00 seconds")

    again = runtime.invoke(NAME, {})
    assert not again.failed, again.payload
    assert again.cold and again.emulator != result.emulator  # a fresh sandbox


def test_a_function_past_its_memory_size_is_killed(start: Any) -> None:
    runtime = start(memory_mb=128)
    before = runtime.invoke(NAME, {})
    assert not before.failed, before.payload
    # Held long enough for the watch to see it while it runs.
    result = runtime.invoke(NAME, {"alloc_mb": 300, "hold_s": 3})
    assert result.error_type == "Runtime.OutOfMemory"
    assert error(result)["errorMessage"].endswith("Runtime exited with error: signal: killed")

    again = runtime.invoke(NAME, {})
    assert not again.failed, again.payload
    assert again.cold and again.emulator != result.emulator
    assert (
        json.loads(json.loads(again.payload)["body"])["pid"]
        != json.loads(json.loads(before.payload)["body"])["pid"]
    )


def test_a_memory_peak_between_two_reads_still_counts(start: Any) -> None:
    # Polled rarely, a short peak goes unseen while it lasts; the high-water mark still has it.
    runtime = start(memory_mb=128, limits=Limits(poll_s=60.0))
    result = runtime.invoke(NAME, {"alloc_mb": 300})
    assert result.error_type == "Runtime.OutOfMemory"


def test_memory_within_the_limit_passes(start: Any) -> None:
    result = start(memory_mb=256).invoke(NAME, {"alloc_mb": 64})
    assert not result.failed, result.payload


def test_lenient_runtime_does_not_watch_memory(start: Any) -> None:
    result = start(memory_mb=128, limits=Limits.lenient()).invoke(NAME, {"alloc_mb": 300})
    assert not result.failed, result.payload


def test_a_response_over_6_mb_fails_as_in_lambda(start: Any) -> None:
    runtime = start()
    fits = runtime.invoke(NAME, {"body": "x", "times": 6_000_000})
    assert not fits.failed
    result = runtime.invoke(NAME, {"body": "x", "times": 6_300_000})
    assert result.error_type == "Function.ResponseSizeTooLarge"
    assert "6291556 bytes" in error(result)["errorMessage"]


def test_the_response_limit_counts_the_body_as_escaped_in_the_json(start: Any) -> None:
    # 3.2 MB of quotes is 6.4 MB once escaped inside the function's JSON response.
    result = start().invoke(NAME, {"body": '"', "times": 3_200_000})
    assert result.error_type == "Function.ResponseSizeTooLarge"


def test_a_request_over_6_mb_never_reaches_the_function(start: Any) -> None:
    runtime = start()
    event = {"pad": "y" * (6 * 1024 * 1024)}
    result = runtime.invoke(NAME, event)
    assert result.status == 413
    assert result.error_type == "RequestEntityTooLargeException"
    assert "too large" in json.loads(result.payload)["message"]
    assert runtime.pools[NAME].pids == []  # no sandbox was started for it

    just_fits = {"pad": "y" * (6 * 1024 * 1024 - 20)}
    assert len(json.dumps(just_fits)) <= 6 * 1024 * 1024
    assert not runtime.invoke(NAME, just_fits).failed


def test_lenient_runtime_passes_an_over_large_request(start: Any) -> None:
    result = start(limits=Limits.lenient()).invoke(NAME, {"pad": "y" * (6 * 1024 * 1024)})
    assert not result.failed, result.payload[:200]


def test_an_init_past_the_init_limit_runs_again_in_the_invocation(start: Any) -> None:
    # Lambda stops an init at 10 s and runs it again within the function's Timeout.
    runtime = start(environment={"INIT_SLEEP": "4"}, limits=Limits(init_limit_s=1.5))
    result = runtime.invoke(NAME, {})
    assert not result.failed, result.payload
    assert result.cold and result.init_retried
    assert "suppressed init" in result.describe()
    warm = runtime.invoke(NAME, {})
    assert not warm.failed and not warm.cold


def test_a_retried_init_longer_than_the_timeout_times_out(start: Any) -> None:
    runtime = start(environment={"INIT_SLEEP": "4"}, timeout_s=2, limits=Limits(init_limit_s=1.5))
    result = runtime.invoke(NAME, {})
    assert result.init_retried
    assert result.error_type == "Sandbox.Timedout"


def test_lenient_runtime_has_no_init_limit(start: Any) -> None:
    runtime = start(environment={"INIT_SLEEP": "4"}, limits=Limits(strict=False, init_limit_s=1.5))
    result = runtime.invoke(NAME, {})
    assert not result.failed, result.payload
    assert result.cold and not result.init_retried


def test_a_failed_invocation_is_reported_with_lambdas_error_type(start: Any) -> None:
    result = start().invoke(NAME, {"fail": True})
    assert result.error_type == "RuntimeError"
    assert error(result)["errorMessage"] == "the function failed"
