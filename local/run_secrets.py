"""Secrets the template generates at deploy, generated per run locally.

In AWS the API functions read `CURSOR_KEY` from a Secrets Manager secret that the stack
generates, through a dynamic reference (`{{resolve:secretsmanager:<secret>:...}}`) in their
environment. Locally there is no Secrets Manager: `make run` and `make invoke` give every
such variable a fresh random value for the run (one per secret, shared by the functions that
reference it, as in AWS), so no key ever lives in the repository or outlasts the run.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Callable, Mapping

from local.lambda_spec import FunctionSpec

_SECRET_REFERENCE = re.compile(r"^\{\{resolve:secretsmanager:([^:}]+)(?::[^}]*)?\}\}$")


def new_key() -> str:
    """64 characters of `A-Z a-z 0-9 - _` (48 random bytes), like the stack's generated secret."""
    return secrets.token_urlsafe(48)


def with_run_secrets(
    specs: Mapping[str, FunctionSpec], generate: Callable[[], str] = new_key
) -> dict[str, FunctionSpec]:
    """`specs` with every Secrets Manager dynamic reference in an environment replaced by a
    random value for this run."""
    values: dict[str, str] = {}
    resolved: dict[str, FunctionSpec] = {}
    for name, spec in specs.items():
        environment = dict(spec.environment)
        for key, value in environment.items():
            match = _SECRET_REFERENCE.match(value)
            if match:
                environment[key] = values.setdefault(match.group(1), generate())
        resolved[name] = dataclasses.replace(spec, environment=environment)
    return resolved
