"""Fixtures of the integration tests that need a real DynamoDB endpoint."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.dynamodb import local_client, start_dynamodb
from local.template import create_table
from tests.helpers.api import TABLE, reset_caches
from tests.helpers.dynamodb import Start


@pytest.fixture
def strict_server(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Start]:
    """Start a strict embedded DynamoDB with extra settings; the service then uses it."""
    servers = []

    def start(env: dict[str, str]) -> str:
        server = start_dynamodb(env={"LOCAL_DDB_TTL_SWEEP_S": "0", **env})
        servers.append(server)
        create_table(local_client(server.url), TABLE)
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", server.url)
        monkeypatch.setenv("WRITE_RETRY_SECONDS", "300")
        reset_caches()
        return server.url

    yield start
    reset_caches()
    for server in servers:
        server.stop()
