"""Sending the hostile cases and judging each answer: the documented status, the function's
`{"error": {"code", "message", "details"?}}` with the documented code or API Gateway's
`{"message"}` for its own 401/404/413/429/503 (a replay: its first answer, marked
`Idempotent-Replayed: true`), never a 5xx, and the table unchanged."""

from __future__ import annotations

import contextlib
import http.client
import json
from dataclasses import dataclass
from typing import Any

from local.chaos_journal import Table, read_table
from local.hostile_cases import GATEWAY, JSON, OTHER, Case
from local.hostile_lifecycle import CREATE_KEY, LONG, LONG_MESSAGES, MESSAGE, MESSAGES, SETUP, key

TIMEOUT_S = 60.0
TURN_MAX = 10  # messages a turn takes
BATCH = 10  # cases sent between two reads of the table
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

    def json(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Any:
        """A set-up request of alice's, which must succeed."""
        data = None if body is None else json.dumps(body).encode()
        sent = {"Authorization": f"Bearer {self.tokens['alice']}", "Content-Type": JSON}
        status, _, reply = self.send(method, path, data, {**sent, **(headers or {})})
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


def judge(
    case: Case, status: int, reply: bytes, headers: dict[str, str] | None = None
) -> list[str]:
    """What is wrong with the answer `status`, `reply` (and its lower-case `headers`)."""
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
    if case.status < 300:
        return breaches + _success(case, body, headers or {})
    error = body.get("error") if isinstance(body, dict) and set(body) == {"error"} else None
    if not (
        isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and isinstance(error.get("message"), str)
        and set(error) <= {"code", "message", "details"}
    ):
        breaches.append(f"not the service's error envelope: {reply[:160]!r}")
    elif error["code"] != case.code:
        breaches.append(f"code {error['code']}, documented {case.code}")
    return breaches


def _success(case: Case, body: Any, headers: dict[str, str]) -> list[str]:
    """A documented 2xx: a JSON object with the members the case names, marked as a replay
    where the case is one."""
    if not isinstance(body, dict) or "error" in body:
        return [f"not a success body: {json.dumps(body)[:160]}"]
    breaches = [
        f"{name} is {body.get(name)!r}, documented {value!r}"
        for name, value in (case.reply or {}).items()
        if body.get(name) != value
    ]
    if case.replayed and headers.get("idempotent-replayed") != "true":
        breaches.append("not marked Idempotent-Replayed: true")
    return breaches


def fill(path: str, names: dict[str, str]) -> str:
    for name, value in names.items():
        path = path.replace("{" + name + "}", value)
    return path


def set_up(client: Client) -> dict[str, str]:
    """alice's sessions: {bare} (made with an Idempotency-Key, nothing else in it), {s} (its
    first message, workflow version 1, MESSAGES messages in all, and the keyed writes of
    SETUP: a summary, a rewind that removes nothing, a fork and an import) and {ended}; and
    a {cursor} of her list."""
    bare = client.json("POST", "/sessions", {"title": "first"}, key(CREATE_KEY))["id"]
    sid = session_of(client, "hostile target", MESSAGES)
    client.json("PUT", f"/sessions/{sid}/workflow", {"workflow": {"a": 1}})
    ended = session_of(client, "ended", 1)
    client.json("POST", f"/sessions/{ended}/end")
    names = {"s": sid, "other": OTHER, "bare": bare, "ended": ended}
    for method, path, body, used in SETUP:
        client.json(method, fill(path, names), body, key(used))
    page = client.json("GET", "/sessions?limit=1")
    if not page["next_cursor"]:
        raise RuntimeError("set-up: no cursor after one of several sessions")
    return {**names, "cursor": page["next_cursor"]}


def session_of(client: Client, title: str, messages: int) -> str:
    """A new session of alice's with `messages` messages (the first its description)."""
    session = client.json("POST", "/sessions", {"title": title, "initial_description": "hi"})
    count = session["message_count"]
    while count < messages:
        turn = {"messages": [MESSAGE] * min(TURN_MAX, messages - count)}
        count += len(client.json("POST", f"/sessions/{session['id']}/turns", turn)["messages"])
    return str(session["id"])


class TableState:
    """The whole table as the embedded DynamoDB holds it: read, and put back as it was."""

    def __init__(self, dynamodb: Any, table_name: str) -> None:
        self.dynamodb = dynamodb
        self.table_name = table_name

    def read(self) -> Table:
        return read_table(self.dynamodb, self.table_name)

    def restore(self, state: Table) -> None:
        """Make the table hold `state` again: items added since deleted, the others put back."""
        now = self.read()
        for pk, items in now.items():
            for sk in items.keys() - state.get(pk, {}).keys():
                self.dynamodb.delete_item(TableName=self.table_name, Key=key_of(pk, sk))
        for pk, items in state.items():
            for sk, item in items.items():
                if now.get(pk, {}).get(sk) != item:
                    self.dynamodb.put_item(TableName=self.table_name, Item=item)


def key_of(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def run(client: Client, selected: list[Case], table: TableState) -> list[Result]:
    """Each case's answer judged, and the table read after it. The cases that name {long}
    come last, once it is made."""
    names = set_up(client)
    late = [case for case in selected if LONG in case.path]
    results = send_all(client, [case for case in selected if case not in late], names, table)
    if late:
        names["long"] = session_of(client, "long", LONG_MESSAGES)
        results += send_all(client, late, names, table)
    return results


def send_all(
    client: Client, cases: list[Case], names: dict[str, str], table: TableState
) -> list[Result]:
    """Each case sent and judged, the table read after every BATCH cases (a read costs as
    much as a case). A batch that changed it is undone (the table put back as it was before
    it) and sent again case by case, the table read after each: the answers judged are then
    those of each case alone, and the case that writes is named."""
    results: list[Result] = []
    before = table.read()
    for start in range(0, len(cases), BATCH):
        batch = cases[start : start + BATCH]
        answered = [send_one(client, case, names) for case in batch]
        after = table.read()
        if after != before:
            table.restore(before)
            answered = []
            for case in batch:
                answered.append(send_one(client, case, names))
                after = table.read()
                if after != before:
                    answered[-1].breaches.append("the table changed")
                    before = after
        results += answered
    return results


def send_one(client: Client, case: Case, names: dict[str, str]) -> Result:
    headers: dict[str, str] = {}
    if case.caller is not None:
        headers["Authorization"] = f"Bearer {client.tokens[case.caller]}"
    if case.body is not None:
        headers["Content-Type"] = JSON
    headers.update(case.headers)
    path = fill(case.path, names)
    status, reply_headers, reply = client.send(case.method, path, encode(case), headers)
    return Result(case, status, reply, judge(case, status, reply, reply_headers))
