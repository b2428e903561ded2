"""Sending the hostile cases and judging each answer: the documented status, the function's
`{"error": {"code", "message", "details"?}}` with the code of its status or API Gateway's
`{"message"}` for its own 401/404/413/429/503, never a 5xx, and the table unchanged."""

from __future__ import annotations

import contextlib
import http.client
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.hostile_cases import GATEWAY, JSON, OTHER, Case

TIMEOUT_S = 60.0
CODES = {
    400: {"bad_request"},
    401: {"unauthorized"},
    404: {"not_found"},
    409: {"session_not_active", "limit_exceeded", "patch_failed"},
    412: {"version_conflict"},
    413: {"payload_too_large"},
    415: {"unsupported_media_type"},
    422: {"validation_error", "idempotency_key_reused"},
}
GATEWAY_STATUSES = {401, 404, 413, 429, 503}


@dataclass
class Result:
    case: Case
    status: int
    body: bytes
    breaches: list[str]


class Client:
    def __init__(self, port: int, tokens: dict[str, str]) -> None:
        self.port = port
        self.tokens = tokens

    def send(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT_S)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for name, value in headers.items():
                conn.putheader(name, value.encode("utf-8"))
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders()
            if body:
                # The gateway may answer (413) before reading it all: read that answer.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    conn.send(body)
            response = conn.getresponse()
            return (
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read(),
            )
        finally:
            conn.close()

    def json(self, method: str, path: str, body: Any = None) -> Any:
        """A set-up request of alice's, which must succeed."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.tokens['alice']}", "Content-Type": JSON}
        status, _, reply = self.send(method, path, data, headers)
        if status >= 300:
            raise RuntimeError(f"set-up {method} {path}: {status} {reply[:300]!r}")
        return json.loads(reply) if reply else None


def encode(case: Case) -> bytes | None:
    if case.body is None:
        return None
    if isinstance(case.body, bytes):
        return case.body
    if isinstance(case.body, str):
        return case.body.encode("utf-8")
    return json.dumps(case.body).encode("utf-8")


def judge(case: Case, status: int, reply: bytes) -> list[str]:
    breaches: list[str] = []
    if status >= 500:
        breaches.append(f"a {status}")
    if status != case.status:
        breaches.append(f"status {status}, documented {case.status}")
    try:
        body = json.loads(reply)
    except ValueError:
        return [*breaches, f"body is not JSON: {reply[:120]!r}"]
    if case.by == GATEWAY:
        if not (isinstance(body, dict) and set(body) == {"message"}):
            breaches.append(f"not API Gateway's {{message}} body: {reply[:160]!r}")
        elif status not in GATEWAY_STATUSES:
            breaches.append(f"API Gateway's body on a {status}")
        return breaches
    error = body.get("error") if isinstance(body, dict) and set(body) == {"error"} else None
    if not (
        isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and isinstance(error.get("message"), str)
        and set(error) <= {"code", "message", "details"}
    ):
        breaches.append(f"not the service's error envelope: {reply[:160]!r}")
    elif error["code"] not in CODES.get(status, set()):
        breaches.append(f"code {error['code']} on a {status}")
    return breaches


def set_up(client: Client) -> dict[str, str]:
    """Two sessions of alice (for a cursor) with a message and workflow version 1."""
    client.json("POST", "/sessions", {"title": "first"})
    session = client.json(
        "POST", "/sessions", {"title": "hostile target", "initial_description": "hi"}
    )
    sid = session["id"]
    client.json("PUT", f"/sessions/{sid}/workflow", {"workflow": {"a": 1}})
    page = client.json("GET", "/sessions?limit=1")
    if not page["next_cursor"]:
        raise RuntimeError("set-up: no cursor after one of two sessions")
    return {"s": sid, "other": OTHER, "cursor": page["next_cursor"]}


def run(client: Client, selected: list[Case], read: Callable[[], Any]) -> list[Result]:
    names = set_up(client)
    results = []
    before = read()
    for case in selected:
        headers: dict[str, str] = {}
        if case.caller is not None:
            headers["Authorization"] = f"Bearer {client.tokens[case.caller]}"
        if case.body is not None:
            headers["Content-Type"] = JSON
        headers.update(case.headers)
        path = case.path.replace("{s}", names["s"]).replace("{other}", names["other"])
        path = path.replace("{cursor}", names["cursor"])
        status, _, reply = client.send(case.method, path, encode(case), headers)
        breaches = judge(case, status, reply)
        after = read()
        if after != before:
            breaches.append("the table changed")
            before = after
        results.append(Result(case, status, reply, breaches))
    return results
