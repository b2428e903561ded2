"""Hostile inputs against the local stack: each answer must be the documented status and error
envelope, never a 5xx, and nothing may be written.

    python -m local.hostile            # every case (about 120)
    python -m local.hostile --only 40  # the first 40, for a quick look

Starts its own `local.server` on free ports (local.chaos.start_stack), makes two sessions and
a workflow version, then sends each case over a raw HTTP connection (odd methods, unnormalised
paths, bytes that are not UTF-8, 10 MB bodies) and reads the table straight from the embedded
DynamoDB after every case: any change is a write. Function errors must have the body
`{"error": {"code", "message", "details"?}}` with the code of their status; API Gateway's own
401/404/413/429/503 have `{"message"}`. Prints one table and exits 1 on any breach.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.chaos_invariants import unhandled_errors
from local.chaos_journal import MAX_EXAMPLES, read_table
from local.dynamodb import local_client
from local.lambda_spec import DEFAULT_TABLE_NAME, overridable
from local.launch import LaunchError, launch
from local.token import make_token

SETTINGS = {
    "SESSION_CLEANUP_INTERVAL_MINUTES": "600",  # nothing scheduled writes during the run
    "LOCAL_STRICT": "1",
    "LOCAL_FUNCTION_LOGS": "1",
    "TABLE_NAME": DEFAULT_TABLE_NAME,
}
TIMEOUT_S = 60.0
MB = 1_000_000
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
SERVICE, GATEWAY = "service", "gateway"
JSON = "application/json"


@dataclass
class Case:
    name: str
    method: str
    path: str  # may hold {s} (the caller's session), {other} (a missing session), {cursor}
    status: int
    by: str = SERVICE  # who must answer: the function (SERVICE) or API Gateway (GATEWAY)
    body: Any = None  # bytes as they are, str as UTF-8, anything else as JSON
    headers: dict[str, str] = field(default_factory=dict)
    caller: str | None = "alice"  # whose token (tokens()), or None for no Authorization


@dataclass
class Result:
    case: Case
    status: int
    body: bytes
    breaches: list[str]


# --- the cases ---------------------------------------------------------------------------------

S = "/sessions/{s}"
BODY_ROUTES = (
    ("POST", "/sessions"),
    ("PATCH", S),
    ("POST", S + "/messages"),
    ("PUT", S + "/workflow"),
    ("POST", S + "/workflow/revert"),
    ("POST", S + "/turns"),
)
MESSAGE = {"role": "user", "content": "hello"}
TURN = {"messages": [MESSAGE]}
OTHER = "00000000-0000-4000-8000-000000000000"  # a session nobody has


def _nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


def cases() -> list[Case]:
    out: list[Case] = []

    def add(name: str, method: str, path: str, status: int, **kw: Any) -> None:
        out.append(Case(name, method, path, status, **kw))

    # Wrong JSON types at the top level of every JSON body.
    for method, path in BODY_ROUTES:
        for label, text in (("array", "[]"), ("string", '"x"'), ("number", "1"), ("null", "null")):
            add(f"body is {label}: {method} {path}", method, path, 422, body=text)
    # ... and at every level below it.
    for name, path, body in (
        ("title a number", "/sessions", {"title": 1}),
        ("metadata a string", "/sessions", {"metadata": "x"}),
        ("metadata a list", S, {"metadata": [1]}),
        ("initial_description a list", "/sessions", {"initial_description": ["x"]}),
        ("unknown member", "/sessions", {"titel": "x"}),
        ("title a list", S, {"title": ["x"]}),
        ("role a number", S + "/messages", {"role": 1, "content": "x"}),
        ("role unknown", S + "/messages", {"role": "robot", "content": "x"}),
        ("content a list", S + "/messages", {"role": "user", "content": ["x"]}),
        ("content only whitespace", S + "/messages", {"role": "user", "content": " \u3000\ufeff"}),
        ("id not a UUID", S + "/messages", {**MESSAGE, "id": "1"}),
        ("id a UUID and a newline", S + "/messages", {**MESSAGE, "id": f"{OTHER}\n"}),
        ("metadata of a message a list", S + "/messages", {**MESSAGE, "metadata": []}),
        ("workflow a list", S + "/workflow", {"workflow": []}),
        ("workflow missing", S + "/workflow", {"note": "x"}),
        ("note a number", S + "/workflow", {"workflow": {}, "note": 1}),
        ("message_id a number", S + "/workflow", {"workflow": {}, "message_id": 1}),
        ("version a string", S + "/workflow/revert", {"version": "1"}),
        ("version true", S + "/workflow/revert", {"version": True}),
        ("version 1.5", S + "/workflow/revert", {"version": 1.5}),
        ("version 0", S + "/workflow/revert", {"version": 0}),
        ("messages an object", S + "/turns", {"messages": {}}),
        ("messages empty", S + "/turns", {"messages": []}),
        ("a message a number", S + "/turns", {"messages": [1]}),
        ("eleven messages", S + "/turns", {"messages": [MESSAGE] * 11}),
        ("workflow and its patch", S + "/turns", {**TURN, "workflow": {}, "workflow_patch": {}}),
        ("expected_version a string", S + "/turns", {**TURN, "expected_version": "1"}),
        ("expected_version -1", S + "/turns", {**TURN, "expected_version": -1}),
        ("workflow_patch a string", S + "/turns", {**TURN, "workflow_patch": "x"}),
    ):  # fmt: skip
        method = "PATCH" if path == S else "PUT" if path.endswith("/workflow") else "POST"
        add(name, method, path, 422, body=body)
    # Patches of the wrong shape.
    merge = {"Content-Type": "application/merge-patch+json"}
    jpatch = {"Content-Type": "application/json-patch+json"}
    patches: tuple[tuple[str, Any, dict[str, str]], ...] = (
        ("JSON patch an object", {}, jpatch),
        ("JSON patch unknown op", [{"op": "jump", "path": "/a"}], jpatch),
        ("JSON patch pointer without /", [{"op": "add", "path": "a", "value": 1}], jpatch),
        ("JSON patch add without value", [{"op": "add", "path": "/a"}], jpatch),
        ("merge patch a list", [1], merge),
    )
    for name, patch, headers in patches:
        add(name, "PATCH", S + "/workflow", 422, body=patch, headers=headers)
    # Numbers and constants DynamoDB cannot store, integers spelled as JSON Schema allows.
    for name, text in (
        ("1e400 in metadata", '{"metadata": {"n": 1e400}}'),
        ("1e-131 in metadata", '{"metadata": {"n": 1e-131}}'),
        ("39 significant digits", '{"metadata": {"n": 123456789012345678901234567890123456789}}'),
        ("NaN", '{"metadata": {"n": NaN}}'),
        ("-Infinity", '{"metadata": {"n": -Infinity}}'),
    ):
        add(name, "POST", "/sessions", 422, body=text)
    add("version 1828.0 (an integer) that is not there", "POST", S + "/workflow/revert", 404,
        body='{"version": 1828.0}')  # fmt: skip
    add(
        "version 1e11 past its maximum",
        "POST",
        S + "/workflow/revert",
        422,
        body='{"version": 1e11}',
    )
    # Not JSON, not UTF-8, lone surrogates, NUL.
    for name, raw in (
        ("truncated JSON", b'{"title": '),
        ("trailing garbage", b'{"title": "a"} x'),
        ("single quotes", b"{'title': 'a'}"),
        ("a byte-order mark inside", b'{"title"\xef\xbb\xbf: "a"}'),
        ("bytes that are not UTF-8", b'{"title": "\xff\xfe"}'),
        ("an overlong UTF-8 slash", b'{"title": "\xc0\xaf"}'),
        ("a lone high surrogate", b'{"title": "\\ud800"}'),
        ("a lone low surrogate in a key", b'{"metadata": {"\\udc00": 1}}'),
        ("a raw NUL after the body", b'{"title": "a"}\x00'),
        ("a raw NUL inside a string", b'{"title": "a\x00b"}'),
        ("a raw newline inside a string", b'{"title": "a\nb"}'),
    ):
        add(name, "POST", "/sessions", 400, body=raw)
    add("a lone surrogate in content", "POST", S + "/messages", 400,
        body=b'{"role": "user", "content": "\\udfff"}')  # fmt: skip
    add("an escaped NUL to a missing session", "PATCH", "/sessions/{other}", 404,
        body={"title": "a\u0000b"})  # fmt: skip
    # Deep nesting and huge key counts.
    add("metadata 33 levels deep", "POST", "/sessions", 422, body={"metadata": _nested(32)})
    add("workflow 32 levels deep", "PUT", S + "/workflow", 422, body={"workflow": _nested(32)})
    add("100 000 nested arrays", "POST", "/sessions", 422, body="[" * 100_000 + "]" * 100_000)
    add("100 000 unclosed arrays", "POST", "/sessions", 400, body="[" * 100_000)
    keys = {f"k{i}": i for i in range(100_000)}
    add("100 000 unknown members", "POST", "/sessions", 422, body=keys)
    add("metadata of 100 000 keys", "POST", "/sessions", 413, body={"metadata": keys})
    add("workflow of 100 000 keys", "PUT", S + "/workflow", 413, body={"workflow": keys})
    add("merge patch of 100 000 keys", "PATCH", S + "/workflow", 413, body=keys, headers=merge)
    ops: list[Any] = [{"op": "test", "path": f"/k{i}", "value": i} for i in range(49_999)]
    add("JSON patch of 50 000 ops, the last unknown", "PATCH", S + "/workflow", 422,
        headers=jpatch, body=[*ops, {"op": "jump", "path": ""}])  # fmt: skip
    # Big bodies: the function's limits, Lambda's 6 MB, the gateway's 10 MB.
    add("3 MB message", "POST", S + "/messages", 413, body={**MESSAGE, "content": "x" * (3 * MB)})
    add("7 MB body (over Lambda's 6 MB)", "PUT", S + "/workflow", 413, by=GATEWAY,
        body={"workflow": {"a": "x" * (7 * MB)}})  # fmt: skip
    add("10 MB + 1 byte body", "POST", "/sessions", 413, by=GATEWAY, body=b" " * (10 * MB + 1))
    add("10 MB + 1 byte JSON message", "POST", S + "/messages", 413, by=GATEWAY,
        body={**MESSAGE, "content": "x" * (10 * MB)})  # fmt: skip
    # Media types.
    for name, method, path, media in (
        ("text/plain message", "POST", S + "/messages", "text/plain"),
        ("form-encoded session", "POST", "/sessions", "application/x-www-form-urlencoded"),
        ("merge patch type on PUT", "PUT", S + "/workflow", "application/merge-patch+json"),
        ("plain JSON on PATCH workflow", "PATCH", S + "/workflow", JSON),
        ("multipart turn", "POST", S + "/turns", "multipart/form-data; boundary=x"),
        ("8 KB Content-Type", "POST", S + "/messages", "application/" + "j" * 8000),
    ):
        add(name, method, path, 415, body={"a": 1}, headers={"Content-Type": media})
    # Repeated and malformed query parameters.
    for name, path in (
        ("limit twice", "/sessions?limit=5&limit=6"),
        ("status twice", "/sessions?status=active&status=ended"),
        ("status with NUL", "/sessions?status=active%00"),
        ("limit 0", "/sessions?limit=0"),
        ("limit 101", "/sessions?limit=101"),
        ("limit +5", "/sessions?limit=%2B5"),
        ("limit 5 and a newline", "/sessions?limit=5%0A"),
        ("limit 13 digits", "/sessions?limit=0000000000005"),
        ("made-up cursor", "/sessions?cursor=AAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ("cursor with =", "/sessions?cursor=abc%3D"),
        ("cursor of 3000 characters", "/sessions?cursor=" + "A" * 3000),
        ("cursor twice", "/sessions?cursor={cursor}&cursor={cursor}"),
        ("order twice", S + "/messages?order=asc&order=desc"),
        ("after_seq twice", S + "/messages?after_seq=1&after_seq=1"),
        ("after_seq -1", S + "/messages?after_seq=-1"),
        ("from twice", S + "/workflow/diff?from=1&from=1&to=1"),
        ("diff without to", S + "/workflow/diff?from=1"),
        ("diff from 1.0", S + "/workflow/diff?from=1.0&to=1"),
    ):
        add(name, "GET", path, 400)
    add("another caller's cursor", "GET", "/sessions?cursor={cursor}", 400, caller="bob")
    # Headers.
    add(
        "If-Match unquoted",
        "PUT",
        S + "/workflow",
        400,
        body={"workflow": {}},
        headers={"If-Match": "1"},
    )
    add("If-Match of 8 KB", "PUT", S + "/workflow", 400, body={"workflow": {}},
        headers={"If-Match": '"1",' * 2000 + "x"})  # fmt: skip
    add("If-Match text on a turn", "POST", S + "/turns", 400, body={"messages": [MESSAGE]},
        headers={"If-Match": "latest"})  # fmt: skip
    add("stale If-Match", "PUT", S + "/workflow", 412, body={"workflow": {"b": 2}},
        headers={"If-Match": '"7"'})  # fmt: skip
    add("Idempotency-Key of 129", "POST", "/sessions", 400, headers={"Idempotency-Key": "k" * 129})
    add(
        "Idempotency-Key with a space", "POST", "/sessions", 400, headers={"Idempotency-Key": "a b"}
    )
    add("Idempotency-Key not ASCII", "POST", "/sessions", 400, headers={"Idempotency-Key": "clé"})
    # Authentication.
    add("no token", "GET", "/sessions", 401, by=GATEWAY, caller=None)
    add("a 10 KB garbage token", "GET", "/sessions", 401, by=GATEWAY,
        headers={"Authorization": "Bearer " + "x" * 10_000}, caller=None)  # fmt: skip
    add("an expired token", "GET", "/sessions", 401, by=GATEWAY, caller="expired")
    add("a token signed with another key", "GET", "/sessions", 401, by=GATEWAY, caller="forged")
    add("a token without sub", "GET", "/sessions", 401, caller="nosub")
    add("another caller's session", "GET", S, 404, caller="bob")
    add(
        "another caller's session, written",
        "POST",
        S + "/messages",
        404,
        body=MESSAGE,
        caller="bob",
    )
    add("another caller deletes", "DELETE", S, 404, caller="bob")
    # Path-like and malformed ids.
    for name, path in (
        ("traversal in the id", "/sessions/..%2F..%2Fetc%2Fpasswd"),
        ("dot-dot id", "/sessions/.."),
        ("id with a newline", "/sessions/{s}%0A"),
        ("id with NUL", "/sessions/{s}%00"),
        ("id of 5000 characters", "/sessions/" + "a" * 5000),
        ("id with a semicolon", "/sessions/{s};x"),
        ("id in braces", "/sessions/%7B{s}%7D"),
        ("urn id", "/sessions/urn:uuid:{s}"),
        ("version 01", S + "/workflow/versions/01"),
        ("version -1", S + "/workflow/versions/-1"),
        ("version 1e3", S + "/workflow/versions/1e3"),
        ("version of 11 digits", S + "/workflow/versions/99999999999"),
        ("a missing session", "/sessions/{other}"),
        ("a missing session's workflow", "/sessions/{other}/workflow"),
    ):
        add(name, "GET", path, 404)
    # Paths and methods no route takes: API Gateway's own 404.
    for name, method, path in (
        ("TRACE", "TRACE", "/sessions"),
        ("OPTIONS", "OPTIONS", "/sessions"),
        ("PROPFIND", "PROPFIND", S),
        ("lower-case get", "get", "/sessions"),
        ("PATCH on the collection", "PATCH", "/sessions"),
        ("PUT on a session", "PUT", S),
        ("DELETE on messages", "DELETE", S + "/messages"),
        ("POST to the document", "POST", "/openapi.json"),
        ("a path under the document", "GET", "/openapi.json/x"),
        ("unnormalised path", "GET", "/sessions/x/../{s}"),
        ("trailing slash", "GET", "/sessions/"),
    ):
        add(name, method, path, 404, by=GATEWAY)
    return out


# --- sending and judging -----------------------------------------------------------------------


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


def report(results: list[Result], seconds: float) -> list[str]:
    statuses = Counter(r.status for r in results)
    breached = [r for r in results if r.breaches]
    lines = [f"{len(results)} hostile requests in {seconds:.1f} s", ""]
    header = f"{'case':<58} {'method':<8} {'want':>4} {'got':>4}  result"
    lines += [header, "-" * len(header)]
    for r in results:
        verdict = "ok" if not r.breaches else "BREACH: " + "; ".join(r.breaches)
        by = "gw" if r.case.by == GATEWAY else ""
        lines.append(
            f"{r.case.name[:58]:<58} {r.case.method[:8]:<8} {r.case.status:>4} {r.status:>4}"
            f"{by:>2} {verdict}"
        )
    lines += [
        "",
        "statuses: " + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())),
        f"5xx: {sum(n for s, n in statuses.items() if s >= 500)}; writes: "
        f"{sum('the table changed' in r.breaches for r in results)}; breaches: {len(breached)}",
    ]
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m local.hostile",
        description="Hostile inputs against the local stack: documented answers, no writes.",
    )
    parser.add_argument("--only", type=int, default=None, help="run only the first N cases")
    return parser.parse_args(argv)


def tokens() -> dict[str, str]:
    """Tokens by caller name: two callers, and three the gateway or the function refuses."""
    other_key = "a-key-that-is-not-the-local-secret-" * 2
    return {
        "alice": make_token("hostile-alice"),
        "bob": make_token("hostile-bob"),
        "expired": make_token("hostile-alice", exp=int(time.time()) - 60),
        "forged": make_token("hostile-alice", other_key),
        "nosub": make_token(""),  # an empty sub: no caller
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    selected = cases()[: args.only]
    log_dir = Path(tempfile.mkdtemp(prefix="hostile-"))
    print(f"hostile: {len(selected)} cases", flush=True)
    env = {k: v for k, v in os.environ.items() if not (overridable(k) or k.startswith("LOCAL_"))}
    try:
        stack = launch(log_dir / "server.log", {**env, **SETTINGS})
    except LaunchError as error:
        raise RuntimeError(f"{error}:\n{error.log[-3000:]}") from None
    try:
        dynamodb = local_client(f"http://127.0.0.1:{stack.dynamodb_port}")
        client = Client(stack.port, tokens())
        started = time.monotonic()
        results = run(client, selected, lambda: read_table(dynamodb, DEFAULT_TABLE_NAME))
        seconds = time.monotonic() - started
    finally:
        stack.stop()
    lines = report(results, seconds)
    unhandled = unhandled_errors(stack.log(), len(results))
    lines.append(f"unhandled errors in the functions' logs: {len(unhandled.breaches)}")
    lines += [f"  {b}" for b in unhandled.breaches[:MAX_EXAMPLES]]
    print("\n".join(lines))
    if any(r.breaches for r in results) or not unhandled.held:
        print(f"\nserver log: {stack.log_path}")
        return 1
    shutil.rmtree(log_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
