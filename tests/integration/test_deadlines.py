"""A stalled DynamoDB: the service answers 503 with Retry-After before the function's own
timeout (29 s) and the gateway's (30 s), never letting Lambda kill it (a 500)."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.helpers.api import LambdaContext, build_event, load_function, reset_caches

FUNCTION_TIMEOUT_MS = 29_000


@dataclass
class TimedContext(LambdaContext):
    remaining_ms: int = FUNCTION_TIMEOUT_MS

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def stalled_dynamodb(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An endpoint that accepts connections and never answers."""
    with socket.create_server(("127.0.0.1", 0), backlog=64) as server:
        port = server.getsockname()[1]
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{port}")
        reset_caches()
        yield
    reset_caches()


@pytest.mark.parametrize(
    ("function", "event"),
    [("sessions", "sessions_get"), ("messages", "messages_append"), ("workflow", "workflow_put")],
)
def test_a_stalled_dynamodb_is_a_503_in_time(
    stalled_dynamodb: None, function: str, event: str
) -> None:
    # Defect: botocore's 60 s read timeout, 4 attempts, and a 25 s retry budget outlasted the
    # function's 29 s: Lambda killed it (Sandbox.Timedout) and the gateway answered 500.
    handler = load_function(function).lambda_handler
    began = time.monotonic()

    result = handler(build_event(event, session_id=str(uuid.uuid4())), TimedContext())

    assert result["statusCode"] == 503, result
    assert int(result["headers"]["Retry-After"]) >= 1
    assert time.monotonic() - began < FUNCTION_TIMEOUT_MS / 1000


def test_no_call_starts_that_could_outlast_the_function(stalled_dynamodb: None) -> None:
    handler = load_function("messages").lambda_handler
    event = build_event("messages_append", session_id=str(uuid.uuid4()))

    # With 5 s left, less than one stalled call can take, nothing is sent at all
    result = handler(event, TimedContext(remaining_ms=5_000))

    assert result["statusCode"] == 503
    assert "Retry-After" in result["headers"]
