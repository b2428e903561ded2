"""Hooks around moto's DynamoDB request handler: where the strict stack checks and answers.

moto's `DynamoHandler` turns each request into a call of one method per action
(`put_item`, `transact_write_items`, ...) with the parsed request in `self.body`. `install`
wraps those methods so that each hook sees the action, the request and the backend first:

- it may raise one of moto's DynamoDB exceptions, and the request is refused with that
  error and applies nothing;
- it may raise `Answer(result)`, and the request succeeds with that result without being
  applied (an idempotent replay);
- it may return a callable, which gets the response body (a dict it may change) once the
  action has succeeded.

The same hooks serve moto in-process (`mock_aws`, the integration tests) and moto's server
(`python -m local.dynamodb`), so both are equally strict.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from moto.dynamodb.models import DynamoDBBackend

# The data-plane actions the hooks see (control-plane calls such as CreateTable pass as is).
ACTIONS = (
    "get_item",
    "put_item",
    "update_item",
    "delete_item",
    "query",
    "scan",
    "batch_get_item",
    "batch_write_item",
    "transact_write_items",
    "transact_get_items",
)

After = Callable[[dict[str, Any]], None]
Hook = Callable[[str, dict[str, Any], "DynamoDBBackend"], After | None]


class Answer(Exception):
    """Raised by a hook: succeed with `result` and apply nothing."""

    def __init__(self, result: dict[str, Any]) -> None:
        super().__init__("answered by a hook")
        self.result = result


_HOOKS: list[Hook] = []
# moto's own methods, by action, as they were before install() wrapped them.
_ORIGINALS: dict[str, Callable[..., Any]] = {}


def install(hooks: Sequence[Hook]) -> None:
    """Run `hooks` (in order) around every data-plane action; replaces hooks installed before.

    An empty sequence leaves moto's handler as it is (the lenient stack)."""
    from moto.dynamodb.responses import DynamoHandler

    _HOOKS[:] = list(hooks)
    for name in ACTIONS:
        original = _ORIGINALS.setdefault(name, getattr(DynamoHandler, name))
        setattr(DynamoHandler, name, _wrapped(name, original) if _HOOKS else original)


@contextlib.contextmanager
def in_effect(hooks: Sequence[Hook]) -> Iterator[None]:
    """`install(hooks)` for the block, then none (stock moto) however the block ends."""
    install(hooks)
    try:
        yield
    finally:
        install([])


def _wrapped(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    from moto.core.responses import ActionResult

    @functools.wraps(original)
    def action(handler: Any) -> Any:
        afters: list[After] = []
        try:
            for hook in list(_HOOKS):
                after = hook(name, handler.body, handler.dynamodb_backend)
                if after is not None:
                    afters.append(after)
        except Answer as answer:
            return ActionResult(answer.result)
        result = original(handler)
        body = getattr(result, "result", None)
        if isinstance(body, dict):
            for after in afters:
                after(body)
        return result

    return action
