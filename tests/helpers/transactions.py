"""The items and the transaction of the embedded DynamoDB's transaction tests: keys in the
partition "chat" (`key`) and a transaction of four actions on the items A, B, C and D
(`four_actions`)."""

from __future__ import annotations

from typing import Any


def key(sk: str, pk: str = "chat") -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def four_actions(table: str, status_of_b: str) -> list[dict[str, Any]]:
    """Update A, Delete D, Put C (new) and ConditionCheck B's status, in that order."""
    return [
        {
            "Update": {
                "TableName": table,
                "Key": key("A"),
                "UpdateExpression": "SET n = n + :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        },
        {
            "Delete": {
                "TableName": table,
                "Key": key("D"),
                "ConditionExpression": "n = :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        },
        {
            "Put": {
                "TableName": table,
                "Item": {**key("C"), "n": {"N": "7"}},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
        {
            "ConditionCheck": {
                "TableName": table,
                "Key": key("B"),
                "ConditionExpression": "#s = :status",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":status": {"S": status_of_b}},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        },
    ]
