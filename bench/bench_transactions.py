"""TransactWriteItems latency on the embedded DynamoDB, with 50 and with 20 000 items stored.

The measured transaction is a chat message append: Put a new message item (attribute_not_exists)
and Update the session's counter item under a condition. Stock moto deep-copies the whole table
for every transaction, so its cost grows with the table; local.dynamodb's should not.

    python -m bench.bench_transactions                  # starts its own embedded server
    python -m bench.bench_transactions --url URL        # or measures a running one
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from typing import TYPE_CHECKING

from botocore.config import Config

from local.ddb_tables import create_pk_sk_table
from local.dynamodb import local_client, start_dynamodb

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import WriteRequestTypeDef

SMALL_TABLE = 50
LARGE_TABLE = 20_000
BATCH = 25  # BatchWriteItem's limit per request
SESSION = "session#bench"
FILLER_TEXT = "x" * 200  # roughly a short chat message


def _client(url: str) -> DynamoDBClient:
    # A retried write would be timed as one slow transaction.
    client: DynamoDBClient = local_client(
        url, Config(retries={"max_attempts": 1, "mode": "standard"})
    )
    return client


def _create_table(client: DynamoDBClient) -> str:
    name = create_pk_sk_table(client, f"bench-tx-{uuid.uuid4().hex[:8]}")
    client.put_item(
        TableName=name, Item={"pk": {"S": SESSION}, "sk": {"S": "counter"}, "n": {"N": "0"}}
    )
    return name


def _fill(client: DynamoDBClient, table: str, start: int, stop: int) -> None:
    """Store filler messages start..stop-1 in other sessions, 25 per BatchWriteItem."""
    for first in range(start, stop, BATCH):
        requests: list[WriteRequestTypeDef] = [
            {
                "PutRequest": {
                    "Item": {
                        "pk": {"S": f"session#{i // 100:05d}"},
                        "sk": {"S": f"msg#{i:08d}"},
                        "role": {"S": "user"},
                        "text": {"S": FILLER_TEXT},
                    }
                }
            }
            for i in range(first, min(first + BATCH, stop))
        ]
        response = client.batch_write_item(RequestItems={table: requests})
        if response.get("UnprocessedItems"):
            raise RuntimeError(f"BatchWriteItem left items unprocessed: {response}")


def _measure(client: DynamoDBClient, table: str, samples: int, warmup: int) -> list[float]:
    """Milliseconds per append; each appended message is deleted untimed so the size holds."""
    seen = int(
        client.get_item(TableName=table, Key={"pk": {"S": SESSION}, "sk": {"S": "counter"}})[
            "Item"
        ]["n"]["N"]
    )
    timings: list[float] = []
    for i in range(warmup + samples):
        message_key = {"pk": {"S": SESSION}, "sk": {"S": f"msg#{seen + 1:08d}"}}
        started = time.perf_counter()
        client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": table,
                        "Item": {**message_key, "role": {"S": "user"}, "text": {"S": "hi"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": {"S": SESSION}, "sk": {"S": "counter"}},
                        "UpdateExpression": "SET n = n + :one",
                        "ConditionExpression": "n = :seen",
                        "ExpressionAttributeValues": {
                            ":one": {"N": "1"},
                            ":seen": {"N": str(seen)},
                        },
                    }
                },
            ]
        )
        elapsed = time.perf_counter() - started
        seen += 1
        client.delete_item(TableName=table, Key=message_key)
        if i >= warmup:
            timings.append(elapsed * 1000)
    return timings


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def run(url: str, samples: int = 100, warmup: int = 10) -> dict[str, float]:
    """Median and p95 TransactWriteItems time with 50 and with 20 000 items in the table."""
    client = _client(url)
    table = _create_table(client)
    _fill(client, table, 0, SMALL_TABLE - 1)  # the counter item is the 50th
    small = _measure(client, table, samples, warmup)
    _fill(client, table, SMALL_TABLE - 1, LARGE_TABLE - 1)
    large = _measure(client, table, samples, warmup)
    client.delete_table(TableName=table)
    tx_ms_50 = statistics.median(small)
    tx_ms_20000 = statistics.median(large)
    return {
        "tx_ms_50": round(tx_ms_50, 2),
        "tx_ms_20000": round(tx_ms_20000, 2),
        "ratio": round(tx_ms_20000 / tx_ms_50, 2),
        "tx_p95_ms_50": round(_p95(small), 2),
        "tx_p95_ms_20000": round(_p95(large), 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_transactions", description=__doc__)
    parser.add_argument("--url", help="a running DynamoDB endpoint (default: start one)")
    parser.add_argument("--samples", type=int, default=100, help="timed transactions per size")
    args = parser.parse_args(argv)
    if args.url:
        figures = run(args.url, samples=args.samples)
    else:
        with start_dynamodb() as server:
            figures = run(server.url, samples=args.samples)
    for name, value in figures.items():
        print(f"{name:<16} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
