"""The service's DynamoDB in tests: a strict embedded server's table read whole
(`table_items`; the `strict_server` fixture of tests/integration/conftest.py starts one),
throttling injected into the service's own client (`throttle`), and bare pk/sk tables: in
moto's in-process DynamoDB (`moto_table`) or on an embedded server (`client_for`,
`make_table`)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import boto3
from botocore.config import Config
from moto import mock_aws

from chat_sessions import session_access
from local.ddb_tables import create_pk_sk_table
from local.dynamodb import EmbeddedDynamoDB, local_client
from tests.helpers.api import TABLE

# strict_server(extra settings) -> the URL of a strict embedded DynamoDB the service now uses.
Start = Callable[[dict[str, str]], str]


def table_items(url: str) -> list[dict[str, Any]]:
    client = local_client(url, Config(retries={"total_max_attempts": 20, "mode": "standard"}))
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": TABLE, "ConsistentRead": True}
    while True:
        page = client.scan(**kwargs)
        found += page["Items"]
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def throttle(operation: str, code: str) -> None:
    """Every `operation` request is answered by DynamoDB with `code`."""

    def answer(**_: Any) -> tuple[Any, dict[str, Any]]:
        parsed = {
            "Error": {"Code": code, "Message": "Rate of requests exceeds the allowed throughput."},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
        return SimpleNamespace(status_code=400, headers={}), parsed

    # botocore's stubs type a handler as returning None; a before-call handler's return value
    # is the response botocore uses instead of sending the request.
    events = session_access.get_table().client.meta.events
    events.register(f"before-call.dynamodb.{operation}", answer)  # type: ignore[arg-type]


@contextmanager
def moto_table(name: str) -> Iterator[Any]:
    """A boto3 client of moto's in-process DynamoDB (hooks as installed) holding the pk/sk
    table `name` with a KEYS_ONLY index "sparse" on gpk."""
    with mock_aws():
        client = boto3.client(
            "dynamodb",
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        create_pk_sk_table(client, name, indexes={"sparse": "gpk"})
        yield client


def client_for(server: EmbeddedDynamoDB, attempts: int = 1) -> Any:
    """A client of `server` that tries each request `attempts` times."""
    return local_client(
        server.url,
        Config(
            retries={"total_max_attempts": attempts, "mode": "standard"}, max_pool_connections=8
        ),
    )


def make_table(client: Any, ttl: bool = False) -> str:
    """A fresh pk/sk table (with `ttl`, time to live on "ttl"); its name."""
    return create_pk_sk_table(client, f"strict-{uuid.uuid4().hex[:10]}", ttl=ttl)
