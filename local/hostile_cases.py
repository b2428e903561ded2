"""The hostile cases of `python -m local.hostile` on the routes of the first release: each
request (odd methods, unnormalised paths, bytes that are not UTF-8, 10 MB bodies, ...) with
the status and code its documentation gives and who must answer it, the function or API
Gateway. Those of the lifecycle routes are in local/hostile_lifecycle.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MB = 1_000_000
SERVICE, GATEWAY = "service", "gateway"
JSON = "application/json"


# The error code of each status where it has one only (a 409 names its code).
STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    412: "version_conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
}


@dataclass
class Case:
    name: str
    method: str
    # May hold {s} (the caller's session), {other} (a missing session), {cursor}, and the
    # set-up's {bare} and {ended} sessions (local/hostile_lifecycle.py).
    path: str
    status: int
    by: str = SERVICE  # who must answer: the function (SERVICE) or API Gateway (GATEWAY)
    body: Any = None  # bytes as they are, str as UTF-8, anything else as JSON
    headers: dict[str, str] = field(default_factory=dict)
    caller: str | None = "alice"  # whose token (tokens()), or None for no Authorization
    code: str | None = None  # the function's error code: by default its status's
    replayed: bool = False  # a 2xx answer must be an Idempotency-Key replay
    reply: dict[str, Any] | None = None  # members a 2xx answer must have, with these values

    def __post_init__(self) -> None:
        if self.code is None and self.by == SERVICE and self.status >= 400:
            if self.status not in STATUS_CODES:
                raise ValueError(f"{self.name}: a {self.status} case must name its code")
            self.code = STATUS_CODES[self.status]


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
