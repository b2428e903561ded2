"""The emulator pool: functions run as in Lambda's python3.11 runtime, with only boto3 beside
the function's folder and its layers."""

from __future__ import annotations

import dataclasses
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.emulator import InvokeResult
from local.lambda_spec import FunctionSpec, function_specs
from local.runtime import LocalRuntime
from local.runtime_env import ensure_runtime_env
from local.threads import run_together
from tests.helpers.server import BUILD_DIR, ROOT, ensure_build
from tests.helpers.written_function import written_function

pytestmark = pytest.mark.e2e

PROBE = """
import importlib.util, os, sys, time

def lambda_handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {
        "importable": {m: importlib.util.find_spec(m) is not None for m in event["modules"]},
        "sys_path": sys.path,
        "env": {k: os.environ.get(k) for k in event["env"]},
        "remaining_ms": context.get_remaining_time_in_millis(),
        "pid": os.getpid(),
    }
"""


@pytest.fixture
def runtime_python() -> Path:
    return ensure_runtime_env()


def probe_spec(tmp_path: Path) -> FunctionSpec:
    return written_function(
        tmp_path, "ProbeFunction", PROBE, memory_mb=256, environment={"TABLE_NAME": "ChatSessions"}
    )


@pytest.fixture
def probe(tmp_path: Path, runtime_python: Path) -> Iterator[LocalRuntime]:
    runtime = LocalRuntime(
        {"ProbeFunction": probe_spec(tmp_path)}, runtime_python, dynamodb_url=None, concurrency=2
    )
    try:
        yield runtime
    finally:
        runtime.close()


def test_only_lambdas_runtime_is_importable(probe: LocalRuntime, tmp_path: Path) -> None:
    modules = ["boto3", "awslambdaric", "pydantic", "aws_lambda_powertools", "moto", "yaml", "jwt"]
    env = [
        "AWS_REGION",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "TABLE_NAME",
    ]
    result = probe.invoke("ProbeFunction", {"modules": modules, "env": env})
    assert not result.failed, result.payload
    output = json.loads(result.payload)
    assert output["importable"] == {
        "boto3": True,
        "awslambdaric": True,
        "pydantic": False,
        "aws_lambda_powertools": False,
        "moto": False,
        "yaml": False,
        "jwt": False,
    }
    assert output["sys_path"][0] == str(tmp_path / "ProbeFunction")
    assert not any("/.venv/" in entry for entry in output["sys_path"])
    assert output["env"] == {
        "AWS_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "ProbeFunction",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "TABLE_NAME": "ChatSessions",
    }
    assert 0 < output["remaining_ms"] <= 10_000
    assert result.cold and result.init_ms is not None and result.duration_ms is not None

    again = probe.invoke("ProbeFunction", {"modules": [], "env": []})
    assert not again.cold and again.init_ms is None
    assert json.loads(again.payload)["pid"] == output["pid"]  # the same warm runtime


def test_busy_pool_makes_callers_wait_never_refuses(probe: LocalRuntime) -> None:
    results: list[InvokeResult] = []
    lock = threading.Lock()

    def call(_: int) -> None:
        result = probe.invoke("ProbeFunction", {"modules": [], "env": [], "sleep": 0.3})
        with lock:
            results.append(result)

    elapsed = run_together(call, 5)
    assert len(results) == 5 and not any(result.failed for result in results)
    assert {result.emulator for result in results} == {"ProbeFunction#1", "ProbeFunction#2"}
    assert sum(result.cold for result in results) == 2
    assert elapsed >= 0.9  # five 0.3 s calls on two emulators take at least three rounds


def test_a_dependency_missing_from_the_layer_fails_as_in_lambda(
    tmp_path: Path, runtime_python: Path
) -> None:
    ensure_build()
    built = function_specs(BUILD_DIR)["SessionsFunction"]
    code = tmp_path / "SessionsFunction"
    shutil.copytree(built.code_dir, code)
    layers = []
    for layer in built.layer_dirs:
        copy = tmp_path / layer.name
        shutil.copytree(layer, copy, ignore=shutil.ignore_patterns("pydantic*"))
        layers.append(copy)
    spec = dataclasses.replace(built, code_dir=code, layer_dirs=tuple(layers))
    runtime = LocalRuntime({spec.name: spec}, runtime_python, dynamodb_url=None, concurrency=1)
    try:
        event = json.loads((ROOT / "events" / "sessions_list.json").read_text())
        result = runtime.invoke(spec.name, event)
    finally:
        runtime.close()
    assert result.error_type == "Runtime.ImportModuleError", result.payload
    assert "pydantic" in json.loads(result.payload)["errorMessage"]
