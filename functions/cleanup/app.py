"""CleanupFunction: on an EventBridge schedule, expire idle sessions and delete the ones
past their grace period."""

from __future__ import annotations

import gc

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from chat_sessions.cleanup import run_cleanup
from chat_sessions.config import check_at_init
from chat_sessions.observability import logger, metrics

# Init: a setting out of its bounds stops the function here.
check_at_init(needs_cursor_key=False)


@logger.inject_lambda_context
@metrics.log_metrics
@event_parser(model=EventBridgeModel)
def lambda_handler(event: EventBridgeModel, context: LambdaContext) -> dict[str, int]:
    logger.info("cleanup started", extra={"scheduled_at": event.time.isoformat()})
    result = run_cleanup(context.get_remaining_time_in_millis)
    logger.info("cleanup finished", extra=result)
    return result


# Init is done: what it made lives as long as the sandbox, so the garbage collector need not
# scan it again (it did, in a full collection during the first request: 15-20 ms of a cold
# start).
gc.freeze()
