"""The client's tests drive the real local stack: `python -m local.server` from the `sam build`
output on free ports, started as the end-to-end tests start it (tests/helpers/server.py) once
for the run and stopped (SIGINT, every process gone) after it. Each test is a caller of its
own (an HS256 token with a fresh `sub`), so tests never see each other's sessions."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from chat_sessions_client import Client
from client_support import STACK_SETTINGS, running_stack, stop

from local.token import make_token
from tests.helpers.server import LocalServer


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    server = running_stack(tmp_path_factory, "client-stack", STACK_SETTINGS)
    try:
        yield server
    finally:
        stop(server)


@pytest.fixture
def token() -> str:
    return make_token(f"client-test-{uuid.uuid4().hex[:12]}")


@pytest.fixture
def client(stack: LocalServer, token: str) -> Iterator[Client]:
    with Client(stack.url, token=token) as opened:
        yield opened
