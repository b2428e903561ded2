"""A function whose code a test writes (an app.py from a string), described as `function_specs`
would describe one of the template's, so that it runs through the same emulator code path."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from local.lambda_spec import FunctionSpec


def written_function(directory: Path, name: str, source: str, **changes: Any) -> FunctionSpec:
    """`source` as directory/name/app.py, handler app.lambda_handler, python3.11, 128 MB, 10 s
    and no environment, but for `changes` (FunctionSpec's fields)."""
    code = directory / name
    code.mkdir(exist_ok=True)
    (code / "app.py").write_text(source)
    spec = FunctionSpec(
        name=name,
        code_dir=code,
        layer_dirs=(),
        handler="app.lambda_handler",
        runtime="python3.11",
        memory_mb=128,
        timeout_s=10,
        environment={},
    )
    return dataclasses.replace(spec, **changes)
