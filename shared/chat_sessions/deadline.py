"""Each request's deadline: the service answers before the function or the gateway gives up.

A request may run until the first of: the function's own timeout (the Lambda context's
remaining time) and API Gateway's 30 s integration timeout, less a margin for writing the
answer. Writers contending for a session stop retrying there, and no DynamoDB call starts
that could outlast it: the answer is then 503 `unavailable` with Retry-After, never the
gateway's own 500 or 503. Without a deadline (the cleanup, tests calling the layer
directly) only the write retry budget applies.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

GATEWAY_SECONDS = 30.0
# Kept for building and sending the answer, and for the gateway's own share of the 30 s.
ANSWER_MARGIN_SECONDS = 2.0

_deadline: ContextVar[float | None] = ContextVar("deadline", default=None)


@contextmanager
def request(remaining_ms: int | None) -> Iterator[None]:
    """Run one request with its deadline, from the function's remaining time (None:
    unknown, the gateway's timeout alone)."""
    budget = GATEWAY_SECONDS
    if remaining_ms is not None:
        budget = min(budget, remaining_ms / 1000)
    token = _deadline.set(time.monotonic() + budget - ANSWER_MARGIN_SECONDS)
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left before this request must answer; None when it has no deadline."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def allows(seconds: float) -> bool:
    """Whether `seconds` more of work still end before the deadline."""
    left = remaining()
    return left is None or left >= seconds
