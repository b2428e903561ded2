"""The Lambda entry point of an HTTP API function, the same for each: its settings checked at
init, Powertools' request context and metrics around the routes' resolver."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from chat_sessions.config import check_at_init
from chat_sessions.observability import logger, metrics
from chat_sessions.resolver import APIGatewayHttpResolver

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def lambda_handler_for(app: APIGatewayHttpResolver, needs_cursor_key: bool = True) -> Handler:
    """The handler of the function whose routes `app` holds; a setting out of its bounds or
    a missing cursor key (for a function that issues cursors) stops the function here, at
    init, with one log line."""
    check_at_init(needs_cursor_key=needs_cursor_key)

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return app.resolve(event, context)

    return lambda_handler


def init_done() -> None:
    """Call last at init: what init made lives as long as the sandbox, so the garbage
    collector need not scan it again (it did, in a full collection during the first request:
    15-20 ms of a cold start)."""
    gc.freeze()
