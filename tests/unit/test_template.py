"""What the deployed stack promises: least privilege, a protected table, auth on every route."""

from __future__ import annotations

import re
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
    # Fork, export and import read and put; an abandoned copy is the cleanup's to delete.
    assert not {"dynamodb:DeleteItem", "dynamodb:BatchWriteItem"} & granted["TransfersFunction"]
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


def resources_of(kind: str) -> dict[str, Any]:
    return {n: r for n, r in load_template()["Resources"].items() if r["Type"] == kind}


def test_the_owner_index_projects_keys_only() -> None:
    props = load_template()["Resources"]["SessionsTable"]["Properties"]
    index = next(i for i in props["GlobalSecondaryIndexes"] if i["IndexName"] == "by-owner")
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["owner", "updated_at"]


def test_a_customer_managed_key_is_optional_and_used_everywhere_data_rests() -> None:
    template = load_template()
    assert template["Parameters"]["KmsKeyArn"]["Default"] == ""
    key = {"Fn::If": ["UseCustomerKey", {"Ref": "KmsKeyArn"}, {"Ref": "AWS::NoValue"}]}
    table = template["Resources"]["SessionsTable"]["Properties"]["SSESpecification"]
    assert table["KMSMasterKeyId"] == key
    for props in [r["Properties"] for r in resources_of("AWS::Logs::LogGroup").values()]:
        assert props["KmsKeyId"] == key and "RetentionInDays" in props
    assert template["Globals"]["Function"]["KmsKeyArn"] == key
    assert resources_of("AWS::SNS::Topic")["AlarmTopic"]["Properties"]["KmsMasterKeyId"] == key
    for props in functions().values():
        assert props["LoggingConfig"]["LogGroup"]["Ref"] in resources_of("AWS::Logs::LogGroup")


def test_cleanup_runs_never_overlap_and_failures_are_kept() -> None:
    props = functions()["CleanupFunction"]
    assert props["ReservedConcurrentExecutions"] == 1
    queue = {"Fn::GetAtt": ["CleanupDeadLetters", "Arn"]}
    assert props["DeadLetterQueue"] == {"Type": "SQS", "TargetArn": queue}
    schedule = props["Events"]["Schedule"]["Properties"]
    assert schedule["DeadLetterConfig"] == {"Arn": queue}


def test_alarms_reach_the_topic_and_the_email_is_optional() -> None:
    template = load_template()
    alarms = resources_of("AWS::CloudWatch::Alarm")
    assert all(a["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms.values())
    watched = {
        (a["Properties"]["Namespace"], a["Properties"]["MetricName"]) for a in alarms.values()
    }
    assert watched >= {
        ("AWS/ApiGateway", "5xx"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("ChatSessions", "InternalErrors"),
        ("ChatSessions", "CleanupIncomplete"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    }
    per_function = {
        (a["Properties"]["MetricName"], a["Properties"]["Dimensions"][0]["Value"]["Ref"])
        for a in alarms.values()
        if a["Properties"]["Namespace"] == "AWS/Lambda"
    }
    assert per_function == {(m, f) for m in ("Errors", "Throttles") for f in functions()}
    subscription = template["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert template["Parameters"]["AlarmEmail"]["Default"] == ""


def test_every_checkov_skip_carries_a_reason() -> None:
    skips = [
        (name, skip)
        for name, resource in load_template()["Resources"].items()
        for skip in ((resource.get("Metadata") or {}).get("checkov") or {}).get("skip", [])
    ]
    assert skips
    for name, skip in skips:
        assert re.fullmatch(r"CKV2?_AWS_[0-9]+", skip["id"]), name
        assert len(skip.get("comment", "")) > 60, (name, skip)


def test_every_api_function_answers_before_the_gateway_gives_up() -> None:
    defaults = load_template()["Globals"]["Function"]
    api_functions = {r.function for r in routes()}
    assert "TransfersFunction" in api_functions
    for name in api_functions:
        props = functions()[name]
        assert props.get("Timeout", defaults["Timeout"]) < 30, name  # HTTP API waits 30 s
    # Whole sessions copied: a 2.5 MB import parsed whole, a 6 MB export built as text.
    assert functions()["TransfersFunction"]["MemorySize"] >= 1024
