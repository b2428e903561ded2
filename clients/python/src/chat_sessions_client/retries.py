"""When a request is sent again, and after how long: on 503 (after its `Retry-After`), on a
connection that failed or timed out; never on another answer. Every write carries one
Idempotency-Key on all its attempts, so a repeat never writes twice."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

# Failures after which the request may be sent again: the service never saw it, or its
# answer was lost (the idempotency key makes the repeat safe).
_RETRYABLE_FAILURES = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
# Failures before any byte reached the service.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """`max_retries` repeats at most; between them `Retry-After` when the service gives one
    (giving up when it asks for more than `max_retry_after`), else exponential backoff from
    `backoff` seconds up to `max_backoff`, with jitter."""

    max_retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 60.0

    def wait_after_answer(self, retries_done: int, response: httpx.Response) -> float | None:
        """Seconds to wait before repeating a request answered so, or None to keep the answer."""
        if response.status_code != 503 or retries_done >= self.max_retries:
            return None
        asked = retry_after_seconds(response.headers.get("Retry-After"))
        if asked is None:
            return self._backoff(retries_done)
        return asked if asked <= self.max_retry_after else None

    def wait_after_failure(self, retries_done: int, error: httpx.TransportError) -> float | None:
        """Seconds to wait before repeating a request that got no answer, or None to raise."""
        if retries_done >= self.max_retries or not isinstance(error, _RETRYABLE_FAILURES):
            return None
        return self._backoff(retries_done)

    def _backoff(self, retries_done: int) -> float:
        ceiling = min(self.max_backoff, self.backoff * 2**retries_done)
        return random.uniform(ceiling / 2, ceiling)


def may_have_arrived(error: httpx.TransportError) -> bool:
    """Whether the service may have received (and acted on) a request that failed so."""
    return not isinstance(error, _NOT_SENT)


def retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After` as seconds: a number of seconds, or an HTTP date."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
