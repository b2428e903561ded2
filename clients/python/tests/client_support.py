"""What the client's tests share beside their fixtures: an httpx transport that records each
exchange with the real stack (and can lose replies, as a network does), and a way to run a
coroutine from a test."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
from chat_sessions_client import Client, RetryPolicy

from tests.helpers.processes import describe
from tests.helpers.server import LocalServer, start_server

T = TypeVar("T")
# A small message limit so that LimitExceeded is quick to reach; the rest are api.md's defaults.
MAX_MESSAGES_PER_SESSION = 60
STACK_SETTINGS = {
    "MAX_MESSAGES_PER_SESSION": str(MAX_MESSAGES_PER_SESSION),
    "SESSION_CLEANUP_INTERVAL_MINUTES": "60",
}


def running_stack(log_dir: pytest.TempPathFactory, name: str, env: dict[str, str]) -> LocalServer:
    """The local stack with these settings, started as the end-to-end tests start it."""
    return start_server(log_dir.mktemp(name) / "server.log", env)


def stop(server: LocalServer) -> None:
    """SIGINT, as from Ctrl-C; every process it started must be gone."""
    left = server.stop()
    assert not left, f"processes left after SIGINT:\n{describe(left)}"


@dataclass(frozen=True)
class Exchange:
    method: str
    path: str
    idempotency_key: str | None
    status: int
    retry_after: str | None
    replayed: bool
    at: float


class Recorder(httpx.BaseTransport):
    """Sends each request to the stack and records what came back. A request for which
    `lose_reply` says so reaches the stack, is answered, and then fails with a read timeout
    as if the reply had been lost on the way."""

    def __init__(self, lose_reply: Callable[[httpx.Request], bool] | None = None) -> None:
        self._inner = httpx.HTTPTransport()
        self._lose_reply = lose_reply
        self.exchanges: list[Exchange] = []
        self.lost: list[Exchange] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        response.read()
        exchange = Exchange(
            request.method,
            request.url.path,
            request.headers.get("Idempotency-Key"),
            response.status_code,
            response.headers.get("Retry-After"),
            response.headers.get("Idempotent-Replayed") == "true",
            time.monotonic(),
        )
        self.exchanges.append(exchange)
        if self._lose_reply is not None and self._lose_reply(request):
            self.lost.append(exchange)
            response.close()
            raise httpx.ReadTimeout("the reply was lost", request=request)
        return response

    def close(self) -> None:
        self._inner.close()


def recorded_client(
    url: str,
    token: str,
    *,
    lose_reply: Callable[[httpx.Request], bool] | None = None,
    retry: RetryPolicy | None = None,
) -> tuple[Client, Recorder]:
    """A Client of the stack at `url` whose exchanges are recorded."""
    recorder = Recorder(lose_reply)
    return Client(url, token=token, transport=recorder, retry=retry), recorder


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)
