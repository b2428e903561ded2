"""WorkflowFunction: /sessions/{session_id}/workflow..., and POST /sessions/{session_id}/turns
(its routes: chat_sessions.workflow_routes)."""

from __future__ import annotations

import gc
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from chat_sessions.config import check_at_init
from chat_sessions.observability import logger, metrics
from chat_sessions.workflow_routes import app

# Init: a setting out of its bounds or a missing cursor key stops the function here.
check_at_init(needs_cursor_key=True)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


# Init is done: what it made lives as long as the sandbox, so the garbage collector need not
# scan it again (it did, in a full collection during the first request: 15-20 ms of a cold
# start).
gc.freeze()
