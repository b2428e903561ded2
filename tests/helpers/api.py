"""The handlers called in-process: a function's app.py loaded as Lambda would, the sample
events of events/ adjusted for one request (`build_event`), and `Api`, which runs a handler on
one and reads its answer. The `api` fixture (tests/conftest.py) serves it against moto's
DynamoDB with the template's table."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from chat_sessions import config, session_access
from local.in_process import LambdaContext as LambdaContext
from local.in_process import load_function as load_function

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
TABLE = "ChatSessionsTest"
_UNSET: Any = object()
# The `settings` fixture: settings(MAX_MESSAGE_BYTES=10) changes them for one test.
ChangeSettings = Callable[..., None]
TEST_CURSOR_KEY = "test-cursor-key-" + "0123456789abcdef" * 2


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return event


def build_event(
    name: str,
    *,
    session_id: str | None = None,
    body: Any = _UNSET,
    raw_body: str | bytes | None = None,
    content_type: str | None = _UNSET,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    sub: str | None = "alice",
    path_value: str | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    """The sample event `events/<name>.json`, adjusted for one request."""
    event = copy.deepcopy(load_event(name))
    if session_id is not None or path_value is not None:
        value = path_value if path_value is not None else session_id
        old = event["pathParameters"]["session_id"]
        event["pathParameters"]["session_id"] = value
        event["rawPath"] = event["rawPath"].replace(old, str(value))
        event["requestContext"]["http"]["path"] = event["rawPath"]
    if version is not None:
        old = event["pathParameters"]["version"]
        event["pathParameters"]["version"] = version
        event["rawPath"] = event["rawPath"].rsplit("/", 1)[0] + "/" + version
        event["requestContext"]["http"]["path"] = event["rawPath"]
        assert old
    if body is not _UNSET:
        event["body"] = json.dumps(body)
        event["isBase64Encoded"] = False
    if raw_body is not None:
        if isinstance(raw_body, bytes):
            event["body"] = base64.b64encode(raw_body).decode()
            event["isBase64Encoded"] = True
        else:
            event["body"] = raw_body
            event["isBase64Encoded"] = False
    if content_type is not _UNSET:
        if content_type is None:
            event["headers"].pop("content-type", None)
        else:
            event["headers"]["content-type"] = content_type
    elif "body" in event and "content-type" not in event["headers"]:
        event["headers"]["content-type"] = "application/json"
    if (body is not _UNSET or raw_body is not None) and "idempotency-key" in event["headers"]:
        # The sample's key belongs to the sample's body: another body gets a key of its own.
        event["headers"]["idempotency-key"] = str(uuid.uuid4())
    if headers is not None:
        event["headers"].update({k.lower(): v for k, v in headers.items()})
    if query is not None:
        event["queryStringParameters"] = query
        event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    if sub is None:
        event["requestContext"].pop("authorizer", None)
    else:
        event["requestContext"].setdefault("authorizer", {"jwt": {"claims": {}, "scopes": None}})
        event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = sub
    return event


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any
    text: str = ""
    # The size of the handler's response as the Lambda runtime writes it (6 MB at most).
    lambda_bytes: int = 0

    @property
    def code(self) -> str | None:
        return (
            self.body["error"]["code"]
            if isinstance(self.body, dict) and "error" in self.body
            else None
        )


FUNCTIONS: dict[str, ModuleType] = {}
EVENT_FUNCTION = {
    "sessions": "sessions",
    "openapi": "sessions",
    "messages": "messages",
    "workflow": "workflow",
    "turns": "workflow",
    # The conversation lifecycle: rewind, summary and context in MessagesFunction; fork,
    # export and import in TransfersFunction.
    "rewind": "messages",
    "summary": "messages",
    "context": "messages",
    "fork": "transfers",
    "export": "transfers",
    "import": "transfers",
}


class Api:
    """Calls the real handlers with events built from events/."""

    def call(self, name: str, **kwargs: Any) -> Answer:
        fn = EVENT_FUNCTION[name.split("_", 1)[0]]
        if fn not in FUNCTIONS:
            FUNCTIONS[fn] = load_function(fn)
        result = FUNCTIONS[fn].lambda_handler(build_event(name, **kwargs), LambdaContext())
        text = result.get("body") or ""
        if result.get("isBase64Encoded"):
            text = base64.b64decode(text).decode()
        body = json.loads(text) if text else None
        headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
        size = len(json.dumps(result, ensure_ascii=False).encode("utf-8"))
        return Answer(result["statusCode"], headers, body, text, size)

    def create(self, sub: str = "alice", **body: Any) -> dict[str, Any]:
        answer = self.call(
            "sessions_create", body=body, sub=sub, headers={"idempotency-key": str(uuid.uuid4())}
        )
        assert answer.status == 201, answer.body
        created: dict[str, Any] = answer.body
        return created

    def append(
        self, session_id: str, content: str = "hello", role: str = "user", **extra: Any
    ) -> Answer:
        return self.call(
            "messages_append",
            session_id=session_id,
            body={"role": role, "content": content, **extra},
        )

    def items(self) -> list[dict[str, Any]]:
        """Every item of the table (for asserting that nothing was written)."""
        client = session_access.get_table().client
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": TABLE}
        while True:
            answer = client.scan(**kwargs)
            found.extend(answer["Items"])
            if "LastEvaluatedKey" not in answer:
                return found
            kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def reset_caches() -> None:
    config.get_settings.cache_clear()
    config.cursor_key.cache_clear()
    session_access.get_table.cache_clear()
