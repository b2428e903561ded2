"""A function's handler called in this process, as Lambda would load it: its app.py imported
(`load_function`) and the context object it is handed (`LambdaContext`). For the tests that
call handlers directly and the own-code benchmark; the local stack runs functions in
emulators instead (local.emulator)."""

from __future__ import annotations

import importlib.util
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
FUNCTION_NAME = "in-process"


def load_function(name: str) -> ModuleType:
    """functions/<name>/app.py, imported under a unique name (every function has an app.py)."""
    spec = importlib.util.spec_from_file_location(
        f"function_{name}", ROOT / "functions" / name / "app.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class LambdaContext:
    """What the handlers read of Lambda's context object (no remaining time: a subclass that
    wants a deadline adds get_remaining_time_in_millis)."""

    function_name: str = FUNCTION_NAME
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION_NAME}"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
