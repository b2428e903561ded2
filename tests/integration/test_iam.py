"""Least privilege, measured: every route of every function (and the cleanup) runs against
moto while a botocore `before-parameter-build` hook records each DynamoDB request, attributed to the
function whose handler is on the stack. Each function's policy in template.yaml must grant
exactly those actions (IAM checks every action inside a transaction as its own action, so a
TransactWriteItems needs PutItem/UpdateItem/DeleteItem/ConditionCheckItem for what it holds
and a TransactGetItems needs GetItem) on exactly the resources they touched."""

from __future__ import annotations

import re
import sys
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from types import FrameType
from typing import Any

import pytest

from chat_sessions import clock, session_access
from local.template import functions, load_template
from tests.helpers.api import TABLE, Api, LambdaContext, load_event, load_function

# The function running: its routes module in the layer, or its own app.py (the cleanup).
APP = re.compile(r"(?:chat_sessions/(\w+)_routes|functions/(\w+)/app)\.py$")
FUNCTION = {
    "sessions": "SessionsFunction",
    "messages": "MessagesFunction",
    "workflow": "WorkflowFunction",
    "transfers": "TransfersFunction",
    "cleanup": "CleanupFunction",
}
TRANSACT_ACTION = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
TABLE_RESOURCE = "table"

Used = dict[str, dict[str, set[str]]]  # function -> action -> resources (table, index/x)


def _running_function() -> str | None:
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        match = APP.search(frame.f_code.co_filename.replace("\\", "/"))
        if match:
            return FUNCTION[match.group(1) or match.group(2)]
        frame = frame.f_back
    return None


def _actions(operation: str, params: dict[str, Any]) -> Iterator[tuple[str, str]]:
    if operation == "TransactWriteItems":
        for item in params["TransactItems"]:
            ((kind, _),) = item.items()
            yield "dynamodb:" + TRANSACT_ACTION[kind], TABLE_RESOURCE
    elif operation == "TransactGetItems":
        yield "dynamodb:GetItem", TABLE_RESOURCE
    else:
        index = params.get("IndexName")
        yield "dynamodb:" + operation, f"index/{index}" if index else TABLE_RESOURCE


@pytest.fixture
def used(api: Api) -> Used:
    found: Used = defaultdict(lambda: defaultdict(set))

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        function = _running_function()
        if function is not None:
            for action, resource in _actions(model.name, params):
                found[function][action].add(resource)

    session_access.get_table().client.meta.events.register(
        "before-parameter-build.dynamodb", record
    )
    return found


def exercise_every_route(api: Api) -> None:
    """Each route on its success path, its replay path, and a read that stores `expired`."""
    key = {"idempotency-key": str(uuid.uuid4())}
    body = {"title": "t", "initial_description": "first"}
    session = api.call("sessions_create", body=body, headers=key).body
    assert api.call("sessions_create", body=body, headers=key).status == 201  # replay
    sid = session["id"]
    assert api.call("sessions_list", query={"limit": "1"}).status == 200
    assert api.call("sessions_get", session_id=sid).status == 200
    assert api.call("sessions_patch", session_id=sid, body={"title": "u"}).status == 200
    message = {"role": "user", "content": "hi", "id": str(uuid.uuid4())}
    assert api.call("messages_append", session_id=sid, body=message).status == 201
    assert api.call("messages_append", session_id=sid, body=message).status == 200
    assert api.call("messages_list", session_id=sid, query={"limit": "1"}).status == 200
    put = {"workflow": {"name": "w", "steps": {}}}
    assert api.call("workflow_put", session_id=sid, body=put).status == 200
    assert api.call("workflow_get", session_id=sid).status == 200
    merge = '{"steps": {"a": {"op": "x"}}}'
    assert api.call("workflow_patch_merge", session_id=sid, raw_body=merge).status == 200
    ops = '[{"op": "add", "path": "/steps/b", "value": 1}]'
    assert api.call("workflow_patch_json", session_id=sid, raw_body=ops).status == 200
    assert api.call("workflow_versions_list", session_id=sid).status == 200
    assert api.call("workflow_version_get", session_id=sid, version="1").status == 200
    diff = {"from": "1", "to": "2"}
    assert api.call("workflow_diff", session_id=sid, query=diff).status == 200
    assert api.call("workflow_revert", session_id=sid, body={"version": 1}).status == 200
    turn = {"messages": [{"role": "user", "content": "t"}], "workflow": {"name": "v"}}
    assert api.call("turns_post", session_id=sid, body=turn).status == 201
    summary = {"content": "s", "covers_seq": 3}
    assert api.call("summary_put", session_id=sid, body=summary).status == 200
    assert api.call("summary_get", session_id=sid).status == 200
    assert api.call("context_get", session_id=sid).status == 200
    assert api.call("rewind_post", session_id=sid, body={"to_seq": 2}).status == 200
    fork = {"at_seq": 2}
    assert api.call("fork_post", session_id=sid, body=fork, headers=key).status == 201
    assert api.call("fork_post", session_id=sid, body=fork, headers=key).status == 201  # replay
    document = api.call("export_get", session_id=sid).body
    imported = {"idempotency-key": str(uuid.uuid4())}  # the create's key: 422 here
    assert api.call("import_post", body=document, headers=imported).status == 201
    assert api.call("import_post", body=document, headers=imported).status == 201  # replay
    assert api.call("sessions_end", session_id=sid).status == 200
    assert api.call("sessions_delete", session_id=sid).status == 204
    # A read that finds an active session past its expiry stores `expired`.
    start = clock.now()
    with clock.frozen(lambda: start):
        idle = api.create()["id"]
    with clock.frozen(lambda: start + timedelta(hours=2)):
        assert api.call("sessions_get", session_id=idle).body["status"] == "expired"


def run_cleanup_twice() -> None:
    """One run that expires an idle session, one that deletes it after its grace period."""
    handler = load_function("cleanup").lambda_handler

    class Context(LambdaContext):
        def get_remaining_time_in_millis(self) -> int:
            return 300_000

    start = clock.now()
    with clock.frozen(lambda: start + timedelta(hours=1)):
        assert handler(load_event("cleanup_scheduled"), Context())["expired"] >= 1
    with clock.frozen(lambda: start + timedelta(hours=30)):
        assert handler(load_event("cleanup_scheduled"), Context())["deleted"] >= 1


def granted(props: dict[str, Any]) -> dict[str, set[str]]:
    table_arn = {"Fn::GetAtt": ["SessionsTable", "Arn"]}
    found: dict[str, set[str]] = defaultdict(set)
    for policy in props.get("Policies", []):
        for statement in policy.get("Statement", []):
            listed = statement["Action"]
            resources = statement["Resource"]
            resources = resources if isinstance(resources, list) else [resources]
            names = set()
            for resource in resources:
                if resource == table_arn:
                    names.add(TABLE_RESOURCE)
                else:
                    sub = resource["Fn::Sub"]
                    names.add(sub.split("}/", 1)[1])
            for action in [listed] if isinstance(listed, str) else listed:
                if action.startswith("dynamodb:"):
                    found[action] |= names
    return found


def test_each_function_is_granted_exactly_the_dynamodb_actions_it_calls(
    api: Api, used: Used
) -> None:
    exercise_every_route(api)
    # A session with items besides its own, for the cleanup to expire and then delete.
    api.create(sub="carol", initial_description="hello")
    run_cleanup_twice()
    template = functions()
    assert set(used) == set(template)
    for name, props in template.items():
        measured = {action: resources for action, resources in used[name].items()}
        assert granted(props) == measured, name


def test_no_function_can_scan_or_reach_another_table() -> None:
    resources = load_template()["Resources"]
    assert [n for n, r in resources.items() if r["Type"] == "AWS::DynamoDB::Table"] == [
        "SessionsTable"
    ]
    for props in functions().values():
        assert "dynamodb:Scan" not in granted(props)
    assert TABLE == "ChatSessionsTest"
