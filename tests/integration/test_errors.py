"""Errors that say what happened: a defect is 500 internal_error with the request id to find
it by (logged with its stack, counted), never a 503 that clients would retry forever; a 503
names no component or exception; no error message names DynamoDB, an exception class or a
Python type."""

from __future__ import annotations

import ast
import json
import logging
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from chat_sessions import observability, sessions
from tests.helpers.api import ROOT, Api, LambdaContext, build_event, load_function
from tests.helpers.dynamodb import throttle

LAYER = ROOT / "shared" / "chat_sessions"
# What no message meant for a client may contain.
FORBIDDEN = re.compile(
    r"DynamoDB|Exception\b|Error\b|Traceback|botocore|boto3|__name__|"
    r"\b(?:dict|str|int|float|bool|NoneType|Decimal)\b"
)


def call_with_context(name: str, function: str, **kwargs: Any) -> tuple[dict[str, Any], str]:
    request_id = str(uuid.uuid4())
    handler = load_function(function).lambda_handler
    result = handler(build_event(name, **kwargs), LambdaContext(aws_request_id=request_id))
    return result, request_id


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    names: list[str] = []
    original = observability.metrics.add_metric

    def add_metric(**kwargs: Any) -> None:
        names.append(kwargs["name"])
        original(**kwargs)

    monkeypatch.setattr(observability.metrics, "add_metric", add_metric)
    return names


def test_a_defect_is_500_with_the_request_id_logged_with_its_stack_and_counted(
    api: Api,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    counted: list[str],
) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        raise KeyError("owner")

    monkeypatch.setattr(sessions, "get_session", broken)
    session = api.create()
    result, request_id = call_with_context("sessions_get", "sessions", session_id=session["id"])
    body = json.loads(result["body"])
    assert result["statusCode"] == 500
    assert body["error"]["code"] == "internal_error"
    assert body["error"]["details"] == {"request_id": request_id}
    assert not FORBIDDEN.search(body["error"]["message"]), body
    assert "retry-after" not in {k.lower() for k in (result.get("headers") or {})}
    logged = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert len(logged) == 1 and logged[0].exc_info is not None
    assert logged[0].exc_info[0] is KeyError
    assert "InternalErrors" in counted


def test_a_throttled_request_is_503_naming_no_component_or_exception(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    session = api.create()
    throttle("GetItem", "ThrottlingException")
    answer = api.call("sessions_get", session_id=session["id"])
    assert (answer.status, answer.code) == (503, "unavailable")
    assert int(answer.headers["retry-after"]) >= 1
    assert not FORBIDDEN.search(answer.body["error"]["message"]), answer.body
    # The cause still reaches the log, for the operator.
    assert any("ThrottlingException" in str(getattr(r, "cause", "")) for r in caplog.records)


def test_a_number_out_of_range_is_refused_in_the_callers_terms(api: Api) -> None:
    answer = api.call("sessions_create", raw_body='{"metadata": {"x": 1e200}}')
    assert (answer.status, answer.code) == (422, "validation_error")
    assert not FORBIDDEN.search(answer.text), answer.text


# --- every message the layer writes for a client ----------------------------------------


def _message_exceptions() -> set[str]:
    """Names of the exceptions whose text becomes an error message: ApiError and its
    subclasses, and the layer's own exceptions that are passed on with str(exc)."""
    names = {"ApiError", "MalformedJSON", "UnacceptableJSON", "InvalidPatch"}
    for path in LAYER.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                bases = {b.id for b in node.bases if isinstance(b, ast.Name)}
                if bases & names:
                    names.add(node.name)
    return names


def _texts(node: ast.AST) -> list[str]:
    """The literal text of a message argument (f-string parts joined with {} for fields)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            else:
                inner = ast.unparse(value)
                parts.append("{" + inner + "}")
        return ["".join(parts)]
    if isinstance(node, ast.BinOp):
        return _texts(node.left) + _texts(node.right)
    return []


def messages_in(path: Path) -> list[tuple[int, str]]:
    names = _message_exceptions()
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in names and node.args:
                found += [(node.lineno, text) for text in _texts(node.args[0])]
    return found


LAYER_FILES = sorted(p.name for p in LAYER.glob("*.py"))
NOT_YET: dict[str, str] = {}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=NOT_YET[n]))
        if n in NOT_YET
        else n
        for n in LAYER_FILES
    ],
)
def test_no_error_message_names_a_component_an_exception_or_a_type(name: str) -> None:
    bad = [
        f"{name}:{line}: {text}"
        for line, text in messages_in(LAYER / name)
        if FORBIDDEN.search(text) or "type(" in text
    ]
    assert not bad, "\n".join(bad)


def test_the_message_scan_finds_the_messages() -> None:
    found = [text for _, text in messages_in(LAYER / "api_glue.py")]
    assert any("UTF-8" in text for text in found)
    assert logging.getLogger("chat-sessions") is not None
