"""A function of the `sam build` output, run through the local Lambda runtime: a setting out
of its bounds, or no cursor key, fails its init with one clear line; `make run`'s per-run key
lets it start."""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path

import pytest

from local.emulator import InvokeResult
from local.lambda_spec import FunctionSpec, function_specs
from local.run_secrets import with_run_secrets
from local.runtime import LocalRuntime
from local.runtime_env import ensure_runtime_env
from tests.helpers.server import BUILD_DIR, ROOT, ensure_build

pytestmark = pytest.mark.e2e
EVENT = json.loads((ROOT / "events" / "openapi_get.json").read_text())


@pytest.fixture(scope="module")
def runtime_python() -> Path:
    ensure_build()
    return ensure_runtime_env()


def sessions_spec(**environment: str) -> FunctionSpec:
    built = with_run_secrets(function_specs(BUILD_DIR))["SessionsFunction"]
    return dataclasses.replace(built, environment={**built.environment, **environment})


def run_once(spec: FunctionSpec, python: Path) -> tuple[InvokeResult, list[str]]:
    lines: list[str] = []
    lock = threading.Lock()

    def sink(_: str, line: str) -> None:
        with lock:
            lines.append(line)

    runtime = LocalRuntime(
        {spec.name: spec}, python, dynamodb_url=None, concurrency=1, log_sink=sink
    )
    try:
        return runtime.invoke(spec.name, EVENT), lines
    finally:
        runtime.close()


def test_the_function_starts_with_the_runs_own_cursor_key(runtime_python: Path) -> None:
    spec = sessions_spec()
    assert len(spec.environment["CURSOR_KEY"]) >= 32
    assert not spec.environment["CURSOR_KEY"].startswith("{{")
    result, _ = run_once(spec, runtime_python)
    assert not result.failed, result.payload
    assert json.loads(result.payload)["statusCode"] == 200


def test_a_setting_out_of_bounds_fails_the_init_with_one_clear_line(runtime_python: Path) -> None:
    result, lines = run_once(sessions_spec(MAX_MESSAGE_BYTES="300000"), runtime_python)
    assert result.failed
    assert "MAX_MESSAGE_BYTES" in json.loads(result.payload)["errorMessage"]
    clear = [line for line in lines if "cannot start" in line]
    assert clear and all("MAX_MESSAGE_BYTES='300000'" in x and "at most 262144" in x for x in clear)


def test_an_unresolved_cursor_key_fails_the_init(runtime_python: Path) -> None:
    built = function_specs(BUILD_DIR)["SessionsFunction"]  # the template's reference, unresolved
    result, lines = run_once(built, runtime_python)
    assert result.failed
    assert "CURSOR_KEY" in json.loads(result.payload)["errorMessage"]
    assert any("CURSOR_KEY" in line and "cannot start" in line for line in lines)
