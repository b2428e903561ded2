"""Bare pk/sk tables (string keys, on demand) for what tests DynamoDB itself rather than the
service: the embedded server's tests and the transaction benchmark. The service's own table
comes from the template (`local.template.create_table`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TTL_ATTRIBUTE = "ttl"


def create_pk_sk_table(
    client: Any, name: str, *, ttl: bool = False, indexes: Mapping[str, str] | None = None
) -> str:
    """Create table `name` keyed by the strings pk (hash) and sk (range) through a boto3
    DynamoDB client, with a KEYS_ONLY global index per entry of `indexes` (index name: its
    string hash key) and, with `ttl`, time to live on the attribute "ttl"; returns `name`."""
    indexes = indexes or {}
    definition: dict[str, Any] = {
        "TableName": name,
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": attribute, "AttributeType": "S"}
            for attribute in ("pk", "sk", *indexes.values())
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if indexes:
        definition["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index,
                "KeySchema": [{"AttributeName": attribute, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
            for index, attribute in indexes.items()
        ]
    client.create_table(**definition)
    if ttl:
        client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
        )
    return name
