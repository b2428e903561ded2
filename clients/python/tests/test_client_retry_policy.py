"""The retry policy on scripted answers (httpx.MockTransport): what is repeated, how often,
after how long, with which Idempotency-Key. The same behaviour against the real stack's
injected faults is in test_client_retries.py."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from chat_sessions_client import (
    AsyncClient,
    Client,
    GatewayError,
    InternalError,
    RetryPolicy,
    Unavailable,
)
from chat_sessions_client.retries import retry_after_seconds

SESSION_ID = "6f1c2a4e-8a0b-4c1d-9e2f-3a4b5c6d7e8f"
MESSAGE = {
    "id": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
    "seq": 1,
    "role": "user",
    "content": "hello",
    "metadata": {},
    "timestamp": "2026-11-24T05:31:00.123Z",
}
QUICK = RetryPolicy(max_retries=3, backoff=0.01, max_backoff=0.02)


def unavailable(retry_after: str | None = "1") -> httpx.Response:
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    body = {"error": {"code": "unavailable", "message": "busy"}}
    return httpx.Response(503, json=body, headers=headers)


class Script:
    """Answers requests in turn from a list of answers (a Response, or an exception to
    raise), and keeps every request it saw."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers: Iterator[httpx.Response | Exception] = iter(answers)
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.times.append(time.monotonic())
        answer = next(self.answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def client(self, policy: RetryPolicy = QUICK) -> Client:
        return Client(
            "http://api.test", token="t", retry=policy, transport=httpx.MockTransport(self)
        )

    def keys(self) -> list[str | None]:
        return [request.headers.get("Idempotency-Key") for request in self.requests]


def append(client: Client) -> object:
    return client.messages.append(SESSION_ID, role="user", content="hello")


def test_a_503_is_repeated_after_retry_after_with_the_same_key() -> None:
    # Given a service that is busy once and asks for one second
    script = Script(unavailable("1"), httpx.Response(201, json=MESSAGE))

    # When a message is appended
    with script.client() as client:
        message = append(client)

    # Then the append was sent twice, a second apart, with one Idempotency-Key
    assert str(getattr(message, "id", "")) == MESSAGE["id"]
    assert len(script.requests) == 2
    assert script.times[1] - script.times[0] >= 1.0
    keys = script.keys()
    assert keys[0] and keys[0] == keys[1]


def test_a_lost_connection_and_a_timeout_are_repeated_with_the_same_key() -> None:
    # Given a connection that drops, then a reply that never comes, then an answer
    lost = httpx.RemoteProtocolError("Server disconnected without sending a response")
    script = Script(lost, httpx.ReadTimeout("timed out"), httpx.Response(201, json=MESSAGE))

    # When a message is appended
    with script.client() as client:
        append(client)

    # Then the three attempts carried one key
    keys = script.keys()
    assert len(keys) == 3 and len(set(keys)) == 1 and keys[0]


def test_each_write_has_its_own_key_and_reads_have_none() -> None:
    script = Script(*(httpx.Response(201, json=MESSAGE) for _ in range(2)))
    script_reads = Script(httpx.Response(200, json={"items": [MESSAGE], "next_cursor": None}))

    with script.client() as client:
        append(client)
        append(client)
    with script_reads.client() as client:
        assert [m.seq for m in client.messages.list(SESSION_ID)] == [1]

    first, second = script.keys()
    assert first and second and first != second
    assert script_reads.keys() == [None]


def test_retries_are_bounded_and_the_last_503_is_raised() -> None:
    # Given a service that stays busy
    script = Script(*(unavailable("0") for _ in range(4)))

    # When a message is appended with at most 3 retries
    with script.client() as client, pytest.raises(Unavailable) as raised:
        append(client)

    # Then it was sent 4 times, and the 503 is raised with its code
    assert len(script.requests) == 4
    assert raised.value.status == 503 and raised.value.code == "unavailable"


def test_the_gateways_503_is_repeated_and_raised_as_a_gateway_error() -> None:
    timeout = httpx.Response(503, json={"message": "Service Unavailable"})
    script = Script(timeout, timeout, timeout)

    policy = RetryPolicy(max_retries=2, backoff=0.01)
    with script.client(policy) as client, pytest.raises(GatewayError) as raised:
        append(client)

    assert len(script.requests) == 3
    assert raised.value.status == 503 and raised.value.message == "Service Unavailable"
    assert raised.value.code is None


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (
            httpx.Response(500, json={"error": {"code": "internal_error", "message": "x"}}),
            InternalError,
        ),
        (httpx.Response(500, json={"message": "Internal Server Error"}), GatewayError),
        (httpx.Response(429, json={"message": "Too Many Requests"}), GatewayError),
    ],
)
def test_500_and_4xx_are_never_repeated(answer: httpx.Response, error: type[Exception]) -> None:
    script = Script(answer)
    with script.client() as client, pytest.raises(error):
        append(client)
    assert len(script.requests) == 1


def test_a_refused_connection_is_raised_after_the_retries() -> None:
    script = Script(*(httpx.ConnectError("refused") for _ in range(4)))
    with script.client() as client, pytest.raises(httpx.ConnectError):
        append(client)
    assert len(script.requests) == 4


def test_a_retry_after_past_the_policys_limit_is_not_waited_for() -> None:
    script = Script(unavailable("3600"))
    with script.client(RetryPolicy(max_retry_after=5)) as client, pytest.raises(Unavailable):
        append(client)
    assert len(script.requests) == 1


def test_a_delete_whose_first_reply_was_lost_is_done_when_the_repeat_finds_nothing() -> None:
    # Given a delete whose reply is lost, and whose repeat finds the session gone
    gone = httpx.Response(404, json={"error": {"code": "not_found", "message": "gone"}})
    script = Script(httpx.ReadTimeout("timed out"), gone)

    # When the session is deleted, then that is success
    with script.client() as client:
        client.sessions.delete(SESSION_ID)
    assert [r.method for r in script.requests] == ["DELETE", "DELETE"]


def test_the_token_function_is_called_for_every_attempt() -> None:
    tokens = iter(["first", "second"])
    script = Script(unavailable("0"), httpx.Response(201, json=MESSAGE))
    transport = httpx.MockTransport(script)
    next_token: Callable[[], str] = lambda: next(tokens)  # noqa: E731
    with Client("http://api.test", token=next_token, retry=QUICK, transport=transport) as c:
        append(c)
    assert [r.headers["Authorization"] for r in script.requests] == [
        "Bearer first",
        "Bearer second",
    ]


def test_the_async_client_repeats_as_the_sync_one_does() -> None:
    script = Script(unavailable("0"), httpx.ReadTimeout("t"), httpx.Response(201, json=MESSAGE))

    async def token() -> str:
        return "async-token"

    async def run() -> None:
        transport = httpx.MockTransport(script)
        async with AsyncClient("http://api.test", token, retry=QUICK, transport=transport) as c:
            await c.messages.append(SESSION_ID, role="user", content="hello")

    asyncio.run(run())
    keys = script.keys()
    assert len(keys) == 3 and len(set(keys)) == 1 and keys[0]
    assert script.requests[0].headers["Authorization"] == "Bearer async-token"


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("2", 2.0), ("0", 0.0), (None, None), ("soon", None), ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0)],
)
def test_retry_after_is_read_as_seconds_or_a_date(
    header: str | None, seconds: float | None
) -> None:
    assert retry_after_seconds(header) == seconds
