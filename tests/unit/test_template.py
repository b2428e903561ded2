"""What the deployed stack promises: least privilege, a protected table, auth on every route."""

from __future__ import annotations

from typing import Any

from local.template import functions, load_template, routes, schedules


def actions(props: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for policy in props.get("Policies", []):
        for statement in policy.get("Statement", []):
            listed = statement["Action"]
            found.update([listed] if isinstance(listed, str) else listed)
    return found


def test_each_function_gets_only_the_dynamodb_actions_it_uses() -> None:
    granted = {name: actions(props) for name, props in functions().items()}
    assert all(not any(a.endswith(("*", ":Scan")) for a in acts) for acts in granted.values())
    assert "dynamodb:BatchWriteItem" not in granted["MessagesFunction"]
    assert "dynamodb:BatchWriteItem" not in granted["WorkflowFunction"]
    assert "dynamodb:DeleteItem" not in granted["WorkflowFunction"]
    assert granted["CleanupFunction"] >= {"dynamodb:Query", "dynamodb:BatchWriteItem"}
    assert "dynamodb:PutItem" not in granted["CleanupFunction"]


def test_the_table_is_protected_and_expires_items() -> None:
    table = load_template()["Resources"]["SessionsTable"]
    props = table["Properties"]
    assert table["DeletionPolicy"] == "Retain"
    assert props["DeletionProtectionEnabled"] is True
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert {i["IndexName"] for i in props["GlobalSecondaryIndexes"]} == {"by-owner", "by-deadline"}


def test_every_route_but_the_openapi_document_needs_a_token() -> None:
    open_routes = {r.route_key for r in routes() if not r.auth}
    assert open_routes == {"GET /openapi.json"}
    api = load_template()["Resources"]["HttpApi"]["Properties"]
    assert api["Auth"]["DefaultAuthorizer"] == "JwtAuthorizer"


def test_the_cleanup_runs_on_a_schedule() -> None:
    assert set(schedules()) == {"CleanupFunction"}
