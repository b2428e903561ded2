"""`make run` and `make invoke` give the template's generated secrets a random value per run."""

from __future__ import annotations

from pathlib import Path

from local.lambda_spec import FunctionSpec
from local.run_secrets import with_run_secrets
from local.template import functions

REFERENCE = "{{resolve:secretsmanager:CursorKeySecret:SecretString}}"


def spec(name: str, **environment: str) -> FunctionSpec:
    return FunctionSpec(
        name, Path("."), (), "app.lambda_handler", "python3.11", 512, 29, environment
    )


def test_each_run_gets_its_own_key_shared_by_the_functions_that_reference_it() -> None:
    specs = {
        "A": spec("A", CURSOR_KEY=REFERENCE, TABLE_NAME="t"),
        "B": spec("B", CURSOR_KEY=REFERENCE),
        "C": spec("C", TABLE_NAME="t"),
    }
    first, second = with_run_secrets(specs), with_run_secrets(specs)
    key = first["A"].environment["CURSOR_KEY"]
    assert len(key) >= 32 and all(c.isalnum() or c in "-_" for c in key)
    assert first["B"].environment["CURSOR_KEY"] == key
    assert first["A"].environment["TABLE_NAME"] == "t"
    assert dict(first["C"].environment) == {"TABLE_NAME": "t"}
    assert second["A"].environment["CURSOR_KEY"] != key


def test_the_api_functions_take_the_key_from_the_stacks_generated_secret() -> None:
    found = {
        name: (props.get("Environment") or {}).get("Variables", {}).get("CURSOR_KEY")
        for name, props in functions().items()
    }
    reference = {"Fn::Sub": "{{resolve:secretsmanager:${CursorKeySecret}:SecretString}}"}
    assert found == {
        "SessionsFunction": reference,
        "MessagesFunction": reference,
        "WorkflowFunction": reference,
        # It issues no list cursors: no cursor key.
        "TransfersFunction": None,
        "CleanupFunction": None,
    }
