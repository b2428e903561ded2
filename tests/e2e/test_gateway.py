"""The gateway's translation between HTTP and HTTP API payload format 2.0 (no processes)."""

from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from local import jwt_auth
from local.emulator import InvokeResult
from local.gateway import IncomingRequest, build_event, is_text_media, map_result, match_route
from local.schedules import Schedule, Scheduler, interval_seconds, resolve_expression
from local.template import functions, routes
from local.token import make_token

ROOT = Path(__file__).resolve().parents[2]


def request(**changes: Any) -> IncomingRequest:
    fields: dict[str, Any] = {
        "method": "GET",
        "raw_path": "/sessions/abc/messages",
        "raw_query": "",
        "headers": [("Host", "127.0.0.1:3000"), ("User-Agent", "curl/8")],
        "body": b"",
        "source_ip": "127.0.0.1",
        "host": "127.0.0.1:3000",
        "request_id": "req-1",
        "received": 1795498260.5,
    }
    fields.update(changes)
    return IncomingRequest(**fields)


def result(payload: Any, error_type: str | None = None) -> InvokeResult:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return InvokeResult("Fn", "Fn#1", 200, raw, error_type, False, None, 1.0, 2.0)


def test_routes_match_static_before_parameterised() -> None:
    found = match_route(routes(), "GET", "/openapi.json")
    assert found is not None and found[0].path == "/openapi.json" and not found[0].auth
    found = match_route(routes(), "GET", "/sessions/a%20b/messages")
    assert found is not None
    assert found[0].route_key == "GET /sessions/{session_id}/messages"
    assert found[1] == {"session_id": "a b"}
    assert match_route(routes(), "GET", "/sessions/a/b/c") is None
    assert match_route(routes(), "GET", "/sessions/") is None


def test_event_has_payload_2_0_shape() -> None:
    route, params = match_route(routes(), "GET", "/sessions/abc/messages") or pytest.fail()
    incoming = request(
        raw_query="order=asc&tag=a&tag=b&empty=",
        headers=[
            ("Host", "127.0.0.1:3000"),
            ("User-Agent", "curl/8"),
            ("X-Multi", "1"),
            ("x-multi", "2"),
            ("Cookie", "a=1; b=2"),
        ],
    )
    authorization = jwt_auth.authorize("Bearer " + make_token("alice", groups=["x", "y"]))
    event = build_event(incoming, route, params, authorization)
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /sessions/{session_id}/messages"
    assert event["rawPath"] == "/sessions/abc/messages"
    assert event["rawQueryString"] == "order=asc&tag=a&tag=b&empty="
    assert event["queryStringParameters"] == {"order": "asc", "tag": "a,b", "empty": ""}
    assert event["pathParameters"] == {"session_id": "abc"}
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["headers"]["x-multi"] == "1,2"
    assert "cookie" not in event["headers"]
    assert all(name == name.lower() for name in event["headers"])
    assert event["isBase64Encoded"] is False and "body" not in event
    context = event["requestContext"]
    assert context["http"] == {
        "method": "GET",
        "path": "/sessions/abc/messages",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "curl/8",
    }
    assert context["stage"] == "$default" and context["requestId"] == "req-1"
    assert context["routeKey"] == event["routeKey"]
    assert context["time"] == "24/Nov/2026:05:31:00 +0000"
    assert context["timeEpoch"] == 1795498260500
    claims = context["authorizer"]["jwt"]["claims"]
    assert claims["sub"] == "alice" and claims["groups"] == "[x y]"
    assert isinstance(claims["exp"], str) and claims["exp"].isdigit()
    assert context["authorizer"]["jwt"]["scopes"] is None


def test_route_without_auth_has_no_authorizer() -> None:
    route, params = match_route(routes(), "GET", "/openapi.json") or pytest.fail()
    event = build_event(request(raw_path="/openapi.json"), route, params, None)
    assert "authorizer" not in event["requestContext"]
    assert "pathParameters" not in event and "queryStringParameters" not in event


@pytest.mark.parametrize(
    ("content_type", "text"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("text/plain", True),
        ("application/xml", True),
        ("application/javascript", True),
        ("application/merge-patch+json", False),
        ("application/json-patch+json", False),
        ("application/x-www-form-urlencoded", False),
        ("application/octet-stream", False),
        (None, False),
    ],
)
def test_bodies_of_non_text_types_are_base64(content_type: str | None, text: bool) -> None:
    assert is_text_media(content_type) is text
    route, params = match_route(routes(), "POST", "/sessions") or pytest.fail()
    headers = [("Content-Type", content_type)] if content_type else []
    event = build_event(
        request(method="POST", raw_path="/sessions", headers=headers, body=b'{"a":1}'),
        route,
        params,
        None,
    )
    assert event["isBase64Encoded"] is not text
    decoded = event["body"].encode() if text else base64.b64decode(event["body"])
    assert decoded == b'{"a":1}'


def test_result_with_status_code_becomes_the_response() -> None:
    response = map_result(
        result(
            {
                "statusCode": 201,
                "headers": {"Content-Type": "application/json", "ETag": '"1"', "X-N": 5},
                "multiValueHeaders": {"Vary": ["a", "b"]},
                "cookies": ["s=1; Path=/"],
                "body": '{"ok":true}',
                "isBase64Encoded": False,
            }
        )
    )
    assert response.status == 201
    assert ("ETag", '"1"') in response.headers and ("X-N", "5") in response.headers
    assert ("Vary", "a") in response.headers and ("Vary", "b") in response.headers
    assert ("Set-Cookie", "s=1; Path=/") in response.headers
    assert response.body == b'{"ok":true}'


def test_base64_result_body_is_decoded() -> None:
    body = base64.b64encode(b"\x00\x01").decode()
    response = map_result(result({"statusCode": 200, "body": body, "isBase64Encoded": True}))
    assert response.body == b"\x00\x01"


@pytest.mark.parametrize("value", [{"message": "hi"}, "hi", 3, [1, 2], None])
def test_result_without_status_code_is_200_json(value: Any) -> None:
    response = map_result(result(value))
    assert response.status == 200
    assert ("Content-Type", "application/json") in response.headers
    assert json.loads(response.body) == value


@pytest.mark.parametrize(
    "payload",
    [
        {"errorMessage": "boom", "errorType": "ValueError", "stackTrace": [], "requestId": "x"},
        {"statusCode": "not a number"},
        {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
    ],
)
def test_function_errors_and_malformed_results_are_500(payload: Any) -> None:
    error_type = payload.get("errorType")
    response = map_result(result(payload, error_type))
    assert response.status == 500
    assert json.loads(response.body) == {"message": "Internal Server Error"}


def test_schedule_expressions() -> None:
    template: dict[str, Any] = {"Parameters": {"SessionCleanupIntervalMinutes": {"Default": 5}}}
    expression = resolve_expression(
        {"Fn::Sub": "rate(${SessionCleanupIntervalMinutes} minutes)"}, template
    )
    assert expression == "rate(5 minutes)"
    assert interval_seconds(expression, None) == 300
    assert interval_seconds("rate(1 hour)", None) == 3600
    assert interval_seconds(expression, "0.05") == pytest.approx(3.0)
    # EventBridge wants the singular for one: templates pick it with a condition.
    template["Conditions"] = {
        "Every1": {"Fn::Equals": [{"Ref": "SessionCleanupIntervalMinutes"}, "1"]}
    }
    chosen = {
        "Fn::If": [
            "Every1",
            "rate(1 minute)",
            {"Fn::Sub": "rate(${SessionCleanupIntervalMinutes} minutes)"},
        ]
    }
    assert resolve_expression(chosen, template) == "rate(5 minutes)"
    template["Parameters"]["SessionCleanupIntervalMinutes"]["Default"] = 1
    assert resolve_expression(chosen, template) == "rate(1 minute)"
    assert interval_seconds("rate(1 minute)", None) == 60


def test_scheduler_runs_each_schedule_until_stopped() -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    two_runs = threading.Event()

    def invoke(function: str, event: dict[str, Any]) -> InvokeResult:
        events.append((function, event))
        if len(events) >= 2:
            two_runs.set()
        return result({"expired": 0, "deleted": 0})

    scheduler = Scheduler([Schedule("CleanupFunction", "rate(1 minute)", 0.05)], invoke)
    scheduler.start()
    try:
        assert two_runs.wait(5)
    finally:
        scheduler.stop()
    count = len(events)
    time.sleep(0.15)
    assert len(events) == count  # nothing runs after stop()
    function, event = events[0]
    assert function == "CleanupFunction"
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["detail"] == {} and event["resources"][0].startswith("arn:aws:events:")


def test_env_json_covers_every_function() -> None:
    env = json.loads((ROOT / "env.json").read_text())
    assert set(env) == set(functions())
    for variables in env.values():
        assert variables["AWS_ENDPOINT_URL_DYNAMODB"] == "http://host.docker.internal:8000"
        assert variables["TABLE_NAME"] == "ChatSessions"
