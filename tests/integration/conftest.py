"""Fixtures of the integration tests that need a real DynamoDB endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

from local.ddb_transactions import install_patches
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
        monkeypatch.setenv("DYNAMODB_READ_TIMEOUT_SECONDS", "20")
        reset_caches()
        return server.url

    yield start
    reset_caches()
    for server in servers:
        server.stop()


@pytest.fixture
def quick_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto 5.2 sorts the whole table with DynamoType comparisons on every Query and
    deep-copies it for every TransactWriteItems, so 1 000 sessions would take minutes. Same
    results, faster: the local server's item-level transactions, and a sort on the raw keys
    (the same order for this table's string keys)."""

    def all_items(self: Table) -> list[Any]:
        items = [item for bucket in self.items.values() for item in bucket.values()]
        return sorted(items, key=lambda item: (item.hash_key.value, item.range_key.value))

    # Restored after the test: install_patches() replaces the method for the process.
    monkeypatch.setattr(
        DynamoDBBackend, "transact_write_items", DynamoDBBackend.transact_write_items
    )
    install_patches()
    monkeypatch.setattr(Table, "all_items", all_items)
