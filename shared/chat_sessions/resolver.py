"""Powertools' HTTP API resolver, without the rest of `aws_lambda_powertools.event_handler`.

That package's __init__ imports every resolver Powertools has (AppSync with asyncio, Bedrock
agents, VPC Lattice, Lambda function URLs, ...): about 7 ms of CPU in every cold start, for
modules no function here uses. So the package is registered without running its __init__,
which runs the first time anything asks the package itself for a name (`from
aws_lambda_powertools.event_handler import X` still works, anywhere). Importing its
submodules, as below and as Powertools does inside them, does not need it.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

_PACKAGE = "aws_lambda_powertools.event_handler"


def _register_package_lazily() -> None:
    if _PACKAGE in sys.modules:
        return  # already imported whole: nothing to save
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or spec.loader is None:
        return
    package = importlib.util.module_from_spec(spec)
    loader = spec.loader

    def run_init(name: str) -> Any:
        if importlib.util.find_spec(f"{_PACKAGE}.{name}") is not None:
            # A submodule: `from package import submodule` imports it once this fails.
            raise AttributeError(name)
        del package.__getattr__
        loader.exec_module(package)
        return getattr(package, name)

    package.__getattr__ = run_init  # type: ignore[method-assign]
    sys.modules[_PACKAGE] = package


_register_package_lazily()

from aws_lambda_powertools.event_handler.api_gateway import (  # noqa: E402
    APIGatewayHttpResolver,
    Response,
)
from aws_lambda_powertools.event_handler.exceptions import NotFoundError  # noqa: E402

__all__ = ["APIGatewayHttpResolver", "NotFoundError", "Response"]
