"""Sending an operation: the bearer token, one Idempotency-Key per write kept across its
retries, the retries themselves, the service's answer read or raised, and list pages followed
to their end. `SyncTransport` and `AsyncTransport` do the same, blocking or not."""

from __future__ import annotations

import asyncio
import inspect
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import httpx

from chat_sessions_client.errors import error_from_answer
from chat_sessions_client.operations import ApiRequest, Call, PagedCall
from chat_sessions_client.retries import RetryPolicy, may_have_arrived
from chat_sessions_client.version import __version__

T = TypeVar("T")
Token = str | Callable[[], str]
AsyncToken = str | Callable[[], str | Awaitable[str]]
USER_AGENT = f"chat-sessions-client/{__version__} python-httpx/{httpx.__version__}"
# The gateway gives a function 30 s; the service answers 503 before that.
DEFAULT_TIMEOUT = httpx.Timeout(40.0, connect=5.0)


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


def _build(
    http: httpx.Client | httpx.AsyncClient, request: ApiRequest, key: str | None, token: str
) -> httpx.Request:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    content: bytes | None = None
    if request.content_type is not None:
        headers["Content-Type"] = request.content_type
        content = json.dumps(request.body, ensure_ascii=False, separators=(",", ":")).encode()
    if key is not None:
        headers["Idempotency-Key"] = key
    if request.if_match is not None:
        headers["If-Match"] = request.if_match
    return http.build_request(
        request.route.method, request.path, params=request.params, content=content, headers=headers
    )


def _read(response: httpx.Response) -> Any:
    """The answer's JSON (None when it has no body), or the error it stands for, raised."""
    if response.is_success:
        return response.json() if response.content else None
    challenge = response.headers.get("WWW-Authenticate")
    raise error_from_answer(response.status_code, response.content, challenge)


def _page(answer: Any) -> tuple[list[Any], str | None]:
    if not isinstance(answer, dict) or not isinstance(answer.get("items"), list):
        raise TypeError("the service answered a list without its items")
    cursor = answer.get("next_cursor")
    return answer["items"], cursor if isinstance(cursor, str) and cursor else None


class _Attempts:
    """The state of one operation's attempts: its key, how many repeats, whether an earlier
    attempt may have reached the service."""

    def __init__(self, request: ApiRequest, policy: RetryPolicy) -> None:
        self.request = request
        self.policy = policy
        self.key = new_idempotency_key() if request.is_write else None
        self.retries = 0
        self.maybe_done = False

    def after_answer(self, response: httpx.Response) -> float | None:
        """Seconds to wait before the next attempt, or None when this answer is final."""
        wait = self.policy.wait_after_answer(self.retries, response)
        if wait is not None:
            self.retries += 1
            self.maybe_done = True  # a 503's write is whole or nothing
        return wait

    def after_failure(self, error: httpx.TransportError) -> float:
        """Seconds to wait before the next attempt; the error raised when there is none."""
        wait = self.policy.wait_after_failure(self.retries, error)
        if wait is None:
            raise error
        self.retries += 1
        self.maybe_done = self.maybe_done or may_have_arrived(error)
        return wait

    def result(self, response: httpx.Response) -> Any:
        if response.status_code == 404 and self.maybe_done and self.request.gone_when_repeated:
            return None
        return _read(response)


class SyncTransport:
    def __init__(
        self,
        base_url: str,
        token: Token,
        *,
        timeout: float | httpx.Timeout | None,
        retry: RetryPolicy,
        transport: httpx.BaseTransport | None,
    ) -> None:
        self._token = token
        self._retry = retry
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
            transport=transport,
            headers={"User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        self._http.close()

    def call(self, call: Call[T]) -> T:
        return call.read(self._send(call.request))

    def iterate(self, paged: PagedCall[T]) -> Iterator[T]:
        request: ApiRequest | None = paged.request
        while request is not None:
            items, cursor = _page(self._send(request))
            for item in items:
                yield paged.read_item(item)
            request = None if cursor is None else request.with_cursor(cursor)

    def _send(self, request: ApiRequest) -> Any:
        attempts = _Attempts(request, self._retry)
        while True:
            token = self._token if isinstance(self._token, str) else self._token()
            try:
                response = self._http.send(_build(self._http, request, attempts.key, token))
            except httpx.TransportError as error:
                time.sleep(attempts.after_failure(error))
                continue
            wait = attempts.after_answer(response)
            if wait is None:
                return attempts.result(response)
            time.sleep(wait)


class AsyncTransport:
    def __init__(
        self,
        base_url: str,
        token: AsyncToken,
        *,
        timeout: float | httpx.Timeout | None,
        retry: RetryPolicy,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self._token = token
        self._retry = retry
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
            transport=transport,
            headers={"User-Agent": USER_AGENT},
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def call(self, call: Call[T]) -> T:
        return call.read(await self._send(call.request))

    async def iterate(self, paged: PagedCall[T]) -> AsyncIterator[T]:
        request: ApiRequest | None = paged.request
        while request is not None:
            items, cursor = _page(await self._send(request))
            for item in items:
                yield paged.read_item(item)
            request = None if cursor is None else request.with_cursor(cursor)

    async def _current_token(self) -> str:
        if isinstance(self._token, str):
            return self._token
        token = self._token()
        return await token if inspect.isawaitable(token) else token

    async def _send(self, request: ApiRequest) -> Any:
        attempts = _Attempts(request, self._retry)
        while True:
            token = await self._current_token()
            try:
                response = await self._http.send(_build(self._http, request, attempts.key, token))
            except httpx.TransportError as error:
                await asyncio.sleep(attempts.after_failure(error))
                continue
            wait = attempts.after_answer(response)
            if wait is None:
                return attempts.result(response)
            await asyncio.sleep(wait)
