"""The two one-item-per-conversation designs `bench_lengths` compares with this service:
the baseline the original session manager used (one item per session holding the whole
message list, appended with UpdateItem `SET messages = list_append(messages, :new)`), and
LangChain's `DynamoDBChatMessageHistory` (langchain-community), read whole and written whole
on each `add_messages`; and where each passes DynamoDB's 400 KB item limit."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError

from bench.bench_capacity import Meter
from local.ddb_limits import item_size

ONE_ITEM_TABLE = "OneItemSessions"
LANGCHAIN_TABLE = "LangChainHistory"
OWNER = "bench"
TEXT = "Change the load step's batch size to 500 and add a notification step."
FILL_CHUNK = 100  # messages a growing one-item session takes per write, until one fails
CREDENTIALS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}


class TooLarge(Exception):
    """A one-item design's write that DynamoDB refused (the 400 KB item limit)."""


# --- the one-item-per-conversation baseline ----------------------------------------------


def _one_item_message() -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    return {
        "M": {
            "id": {"S": str(uuid.uuid4())},
            "role": {"S": "user"},
            "content": {"S": TEXT},
            "timestamp": {"S": now},
        }
    }


class OneItemSessions:
    """The original session manager's design: the whole conversation in one item."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def create_table(self) -> None:
        self.client.create_table(
            TableName=ONE_ITEM_TABLE,
            KeySchema=[{"AttributeName": "session_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "session_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )

    def create(self, owner: str, count: int) -> str:
        """A session holding `count` messages, written in one PutItem."""
        session_id = str(uuid.uuid4())
        now = datetime.now(UTC).isoformat()
        item = {
            "session_id": {"S": session_id},
            "user_id": {"S": owner},
            "created_at": {"S": now},
            "updated_at": {"S": now},
            "messages": {"L": [_one_item_message() for _ in range(count)]},
        }
        self._write(lambda: self.client.put_item(TableName=ONE_ITEM_TABLE, Item=item))
        return session_id

    def append(self, session_id: str, count: int = 1) -> None:
        """`count` messages added with one UpdateItem: SET messages = list_append(...)."""
        self._write(
            lambda: self.client.update_item(
                TableName=ONE_ITEM_TABLE,
                Key={"session_id": {"S": session_id}},
                UpdateExpression="SET messages = list_append(messages, :new), updated_at = :now",
                ConditionExpression="attribute_exists(session_id)",
                ExpressionAttributeValues={
                    ":new": {"L": [_one_item_message() for _ in range(count)]},
                    ":now": {"S": datetime.now(UTC).isoformat()},
                },
            )
        )

    @staticmethod
    def _write(call: Callable[[], object]) -> None:
        try:
            call()
        except ClientError as error:
            if error.response["Error"]["Code"] == "ValidationException":
                raise TooLarge(_error_text(error)) from error
            raise


def _error_text(error: ClientError) -> str:
    return f"{error.response['Error']['Code']}: {error.response['Error']['Message']}"


# --- LangChain's DynamoDBChatMessageHistory ----------------------------------------------


class LangChainSessions:
    """`DynamoDBChatMessageHistory` on a table keyed by SessionId, its client metered."""

    def __init__(self, dynamodb_url: str) -> None:
        from langchain_core.messages import HumanMessage

        self.url = dynamodb_url
        self.session = boto3.Session(
            CREDENTIALS["aws_access_key_id"],
            CREDENTIALS["aws_secret_access_key"],
            region_name="us-east-1",
        )
        self.message = HumanMessage(TEXT)
        self.meter: Meter | None = None

    def create_table(self, client: Any) -> None:
        client.create_table(
            TableName=LANGCHAIN_TABLE,
            KeySchema=[{"AttributeName": "SessionId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "SessionId", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )

    def history(self, session_id: str) -> Any:
        from langchain_community.chat_message_histories import DynamoDBChatMessageHistory

        return DynamoDBChatMessageHistory(
            table_name=LANGCHAIN_TABLE,
            session_id=session_id,
            endpoint_url=self.url,
            boto3_session=self.session,
        )

    def create(self, count: int) -> Any:
        """A history holding `count` messages (one add_messages), its client metered."""
        history = self.history(str(uuid.uuid4()))
        self.add(history, count)
        return history

    def add(self, history: Any, count: int = 1) -> None:
        if not count:
            return
        try:
            history.add_messages([self.message] * count)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ValidationException":
                raise TooLarge(_error_text(error)) from error
            raise


# --- the limit of the one-item designs ---------------------------------------------------


def stored_bytes(client: Any, table: str, key: dict[str, Any]) -> int:
    """An item's size by DynamoDB's rules, read back consistently."""
    return item_size(client.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"])


def one_item_limit(one_item: OneItemSessions, high: int = 20_000) -> dict[str, Any]:
    """The first message count whose item DynamoDB refuses, by bisecting on whole-item
    PutItems (moto's own check on UpdateItem refuses a list_append early, at about 210 KB by
    DynamoDB's measure, so the item is not grown by appends here)."""
    low, fitting, error = 1, one_item.create(OWNER, 1), ""
    while high - low > 1:
        middle = (low + high) // 2
        try:
            session_id = one_item.create(OWNER, middle)
        except TooLarge as refused:
            high, error = middle, str(refused)
        else:
            low, fitting = middle, session_id
    key = {"session_id": {"S": fitting}}
    return {
        "fails_at_message": high,
        "error": error,
        "last_fitting_bytes": stored_bytes(one_item.client, ONE_ITEM_TABLE, key),
    }


def langchain_limit(langchain: LangChainSessions, client: Any) -> dict[str, Any]:
    """Grow one history FILL_CHUNK messages at a time until `add_messages` fails, then one
    at a time from the last that fitted: the message count that no longer fits, the error."""
    history = langchain.create(0)
    stored = 0
    while True:
        try:
            langchain.add(history, FILL_CHUNK)
        except TooLarge:
            break
        stored += FILL_CHUNK
        if stored > 100_000:
            raise RuntimeError("no write failed below 100 000 messages")
    while True:
        try:
            langchain.add(history, 1)
        except TooLarge as error:
            key = {"SessionId": {"S": history.session_id}}
            return {
                "fails_at_message": stored + 1,
                "error": str(error),
                "last_fitting_bytes": stored_bytes(client, LANGCHAIN_TABLE, key),
            }
        stored += 1
