"""A small function written by the tests, run through the same emulator code path as the
template's functions: it sleeps, allocates, fails or answers a large body as its event says
(the Lambda limits tests, directly and through the gateway)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from local.lambda_spec import FunctionSpec
from tests.helpers.written_function import written_function

NAME = "LimitsFunction"
HANDLER = """
import json, os, time

time.sleep(float(os.environ.get("INIT_SLEEP", "0")))

def lambda_handler(event, context):
    if event.get("version") == "2.0":  # through the gateway: the instructions are the body
        event = json.loads(event.get("body") or "{}")
    if "alloc_mb" in event:
        held = bytearray(event["alloc_mb"] * 1024 * 1024)
        for at in range(0, len(held), 4096):
            held[at] = 1  # touch every page: resident, as Lambda counts it
        time.sleep(event.get("hold_s", 0))
    time.sleep(event.get("sleep", 0))
    if event.get("fail"):
        raise RuntimeError("the function failed")
    if "body" in event:
        return {"statusCode": 200, "body": event["body"] * event.get("times", 1)}
    return {"statusCode": 200, "body": json.dumps({"pid": os.getpid()})}
"""


def limits_spec(tmp_path: Path, **changes: Any) -> FunctionSpec:
    """The test function, as `function_specs` would describe one from the template."""
    return written_function(tmp_path, NAME, HANDLER, **changes)
