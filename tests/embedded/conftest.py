"""One embedded DynamoDB (python -m local.dynamodb, a subprocess) per test module."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config

from local.ddb_tables import create_pk_sk_table
from local.dynamodb import EmbeddedDynamoDB, local_client, start_dynamodb


@pytest.fixture(scope="module")
def dynamodb_server() -> Iterator[EmbeddedDynamoDB]:
    with start_dynamodb(port=0) as server:
        yield server


@pytest.fixture(scope="module")
def dynamodb(dynamodb_server: EmbeddedDynamoDB) -> Any:
    """A boto3 client, shared by the tests' threads (boto3 clients are thread-safe)."""
    return local_client(
        dynamodb_server.url,
        Config(
            max_pool_connections=64,
            # A silently retried write would blur the counts the concurrency tests check.
            retries={"max_attempts": 1, "mode": "standard"},
        ),
    )


@pytest.fixture
def table(dynamodb: Any) -> str:
    """A fresh pk/sk table per test, so tests never see each other's items."""
    return create_pk_sk_table(dynamodb, f"embedded-{uuid.uuid4().hex[:12]}")
