"""The hostile cases of the conversation lifecycle routes (`python -m local.hostile`): fork,
rewind, summary, context, export, import, the erasure of a caller's sessions, and the
Idempotency-Key of every new write route.

Every case is a request the service must refuse (or answer as a replay) without writing. A
case that would need an earlier write (a key used before, a session of 42 messages, an
ended session) finds it made by `SETUP`, which the runner sends before it reads the table.
Each body carries one fault only: `BASE_DOCUMENT` is imported whole in the set-up (201), so
every document case differs from a valid one in the fault its name gives.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from local.hostile_cases import GATEWAY, JSON, MB, Case

S = "/sessions/{s}"  # alice's session of MESSAGES messages, workflow version 1 and a summary
ENDED = "/sessions/{ended}"  # alice's ended session: one message
BARE = "/sessions/{bare}"  # alice's session without messages, workflow or summary
# alice's session of LONG messages, made only for the cases that name it, after the others:
# every case reads the whole table after its answer, and its 84 items would double that.
LONG = "/sessions/{long}"
MESSAGES = 3  # in {s}
LONG_MESSAGES = 42  # in {long}: a rewind to 1 removes 41, one more than a rewind may
MESSAGE = {"role": "user", "content": "hello"}
# A message's content and a summary's, and a metadata map: one byte over their limits.
OVER_CONTENT = "x" * 65_537
OVER_METADATA = {"k": "x" * 8_200}
EMOJI_OVER = "\U0001f600" * 16_385  # 65 540 UTF-8 bytes in 16 385 characters
TEXT = {"Content-Type": "text/plain"}
MERGE = {"Content-Type": "application/merge-patch+json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
IMPORT = "/sessions/import"

T0 = "2026-11-24T05:30:00.000Z"
BASE_DOCUMENT: dict[str, Any] = {
    "format": "chat-session/1",
    "exported_at": "2026-11-24T05:31:00.123Z",
    "session": {"id": "5d7c0b7e-1a43-4c1e-9d0e-4d7a52f7c001", "title": "imported",
                "metadata": {"source": "hostile"}},
    "messages": [
        {"id": "5d7c0b7e-1a43-4c1e-9d0e-4d7a52f7c101", "seq": 1, "role": "user",
         "content": "hi", "metadata": {}, "timestamp": T0},
        {"id": "5d7c0b7e-1a43-4c1e-9d0e-4d7a52f7c102", "seq": 2, "role": "assistant",
         "content": "hello", "metadata": {"m": 1}, "timestamp": T0},
    ],
    "versions": [
        {"version": 1, "created_at": T0, "source": "put", "note": None, "message_id": None,
         "reverted_from": None, "changes": ["created workflow"], "workflow": {"a": 1}},
        {"version": 2, "created_at": T0, "source": "revert", "note": "back",
         "message_id": "5d7c0b7e-1a43-4c1e-9d0e-4d7a52f7c1ff", "reverted_from": 1,
         "changes": ["reverted to version 1"], "workflow": {"a": 1}},
    ],
    "summary": {"content": "they said hi", "covers_seq": 1, "metadata": {},
                "updated_at": T0},
}  # fmt: skip

# The writes of the set-up whose keys the cases use again: (method, path, body, key).
SUMMARY_KEY, REWIND_KEY, FORK_KEY = "hostile-summary", "hostile-rewind", "hostile-fork"
IMPORT_KEY, CREATE_KEY = "hostile-import", "hostile-create"
SUMMARY = {"content": "a summary of the start", "covers_seq": 2}
REWIND = {"to_seq": MESSAGES}  # removes nothing, but records its key
FORK = {"at_seq": 2, "title": "hostile fork"}
SETUP: tuple[tuple[str, str, Any, str], ...] = (
    ("PUT", S + "/summary", SUMMARY, SUMMARY_KEY),
    ("POST", S + "/rewind", REWIND, REWIND_KEY),
    ("POST", S + "/fork", FORK, FORK_KEY),
    ("POST", IMPORT, BASE_DOCUMENT, IMPORT_KEY),
)


Change = Callable[[dict[str, Any]], Any]


def key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


def document(change: Change) -> dict[str, Any]:
    """BASE_DOCUMENT with one change made by `change` (which edits its copy in place)."""
    changed = copy.deepcopy(BASE_DOCUMENT)
    change(changed)
    return changed


def _set(path: str, value: Any) -> Change:
    """A change setting the member at dotted `path` (list indexes as numbers)."""

    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


def _drop(name: str) -> Change:
    return lambda doc: doc.pop(name)


def _messages(count: int) -> Change:
    def change(doc: dict[str, Any]) -> None:
        doc["messages"] = [
            {"id": f"00000000-0000-4000-8000-{seq:012d}", "seq": seq, "role": "user",
             "content": "m", "timestamp": T0}
            for seq in range(1, count + 1)
        ]  # fmt: skip
        doc["summary"] = None

    return change


def _versions(count: int) -> Change:
    def change(doc: dict[str, Any]) -> None:
        doc["versions"] = [
            {"version": v, "created_at": T0, "source": "put", "workflow": {"v": v}}
            for v in range(1, count + 1)
        ]

    return change


def _padded(size: int, valid: bool) -> bytes:
    """BASE_DOCUMENT (or one with a gap in its seqs) padded with spaces to `size` bytes."""
    doc = BASE_DOCUMENT if valid else document(_set("messages.1.seq", 3))
    text = raw(doc)
    return text + b" " * (size - len(text))


def raw(doc: Any) -> bytes:
    """JSON as UTF-8, non-ASCII as it is (not escaped): what a size limit counts."""
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def cases() -> list[Case]:
    out: list[Case] = []

    def add(name: str, method: str, path: str, status: int, **kw: Any) -> None:
        out.append(Case(name, method, path, status, **kw))

    _erasure(add)
    _fork(add)
    _rewind(add)
    _summary(add)
    _context_and_export(add)
    _import(add)
    _keys(add)
    _replays(add)
    return out


Add = Callable[..., None]


def _erasure(add: Add) -> None:
    """DELETE /sessions without a plain confirm=all: 400, whoever has sessions to lose."""
    for name, query in (
        ("no confirm", ""),
        ("confirm=yes", "?confirm=yes"),
        ("confirm=ALL", "?confirm=ALL"),
        ("confirm=all twice", "?confirm=all&confirm=all"),
        ("confirm empty", "?confirm="),
        ("confirm=all and a space", "?confirm=all%20"),
        ("confirm=all and NUL", "?confirm=all%00"),
        ("Confirm=all (the name's case)", "?Confirm=all"),
        ("confirm=true", "?confirm=true"),
    ):
        add(f"delete all, {name}", "DELETE", "/sessions" + query, 400)
    add("delete all, confirm in a JSON body", "DELETE", "/sessions", 400, body={"confirm": "all"})
    add("delete all without a token", "DELETE", "/sessions?confirm=all", 401, by=GATEWAY,
        caller=None)  # fmt: skip
    add("delete all with an expired token", "DELETE", "/sessions?confirm=all", 401, by=GATEWAY,
        caller="expired")  # fmt: skip
    add("delete all with a token without sub", "DELETE", "/sessions?confirm=all", 401,
        caller="nosub")  # fmt: skip
    add("delete all on a trailing slash", "DELETE", "/sessions/?confirm=all", 404, by=GATEWAY)
    # bob has no session: his erasure must not touch alice's.
    add("delete all of a caller who has none", "DELETE", "/sessions?confirm=all", 200,
        caller="bob", reply={"deleted": 0, "more": False})  # fmt: skip


def _fork(add: Add) -> None:
    fork = S + "/fork"
    add("fork another caller's session", "POST", fork, 404, body={}, caller="bob")
    add("fork another caller's session, metadata over 8 KB", "POST", fork, 404,
        body={"metadata": OVER_METADATA}, caller="bob")  # fmt: skip
    add("fork another caller's session as text/plain", "POST", fork, 404, body={},
        headers=TEXT, caller="bob")  # fmt: skip
    add("fork a missing session", "POST", "/sessions/{other}/fork", 404, body={})
    add("fork a malformed session id", "POST", "/sessions/import/fork", 404, body={})
    add("fork with a token without sub", "POST", fork, 401, body={}, caller="nosub")
    for name, body in (
        ("at_seq -1", {"at_seq": -1}),
        ("at_seq a string", {"at_seq": "1"}),
        ("at_seq 1.5", {"at_seq": 1.5}),
        ("at_seq true", {"at_seq": True}),
        ("at_seq 1e11 past its maximum", {"at_seq": 10**11}),
        ("at_version -1", {"at_version": -1}),
        ("at_version 0.5", {"at_version": 0.5}),
        ("at_version a list", {"at_version": [1]}),
        ("title of 201 characters", {"title": "t" * 201}),
        ("metadata a list", {"metadata": [1]}),
        ("an unknown member", {"at_sequence": 1}),
    ):
        add(f"fork, {name}", "POST", fork, 422, body=body)
    add("fork, at_seq of 40 digits", "POST", fork, 422, body='{"at_seq": ' + "9" * 40 + "}")
    add("fork, body an array", "POST", fork, 422, body="[]")
    add("fork, body not JSON", "POST", fork, 400, body=b'{"at_seq": ')
    add("fork, at_seq past the messages", "POST", fork, 422, body={"at_seq": MESSAGES + 1})
    add("fork, at_version past the versions", "POST", fork, 422, body={"at_version": 2})
    add("fork, at_seq 1 of a session without messages", "POST", BARE + "/fork", 422,
        body={"at_seq": 1})  # fmt: skip
    add("fork, at_version 1 of a session without workflow", "POST", BARE + "/fork", 422,
        body={"at_version": 1})  # fmt: skip
    add("fork an ended session, at_seq past its messages", "POST", ENDED + "/fork", 422,
        body={"at_seq": 2})  # fmt: skip
    add("fork, metadata over 8 KB", "POST", fork, 413, body={"metadata": OVER_METADATA})
    add("fork, metadata over 8 KB and at_seq past the messages (413 first)", "POST", fork, 413,
        body={"metadata": OVER_METADATA, "at_seq": MESSAGES + 1})  # fmt: skip
    for name, headers in (("text/plain", TEXT), ("form-encoded", FORM), ("merge patch", MERGE)):
        add(f"fork as {name}", "POST", fork, 415, body={}, headers=headers)


def _rewind(add: Add) -> None:
    rewind = S + "/rewind"
    add("rewind another caller's session", "POST", rewind, 404, body={"to_seq": 1}, caller="bob")
    add("rewind another caller's session as text/plain", "POST", rewind, 404,
        body={"to_seq": 1}, headers=TEXT, caller="bob")  # fmt: skip
    add("rewind a missing session", "POST", "/sessions/{other}/rewind", 404, body={"to_seq": 0})
    for name, body in (
        ("to_seq missing", {}),
        ("to_seq null", {"to_seq": None}),
        ("to_seq -1", {"to_seq": -1}),
        ("to_seq a string", {"to_seq": "44"}),
        ("to_seq 44.5", {"to_seq": 44.5}),
        ("to_seq true", {"to_seq": True}),
        ("to_seq 1e11 past its maximum", {"to_seq": 10**11}),
        ("to_seq a list", {"to_seq": [44]}),
        ("an unknown member", {"to_seq": 44, "summary": None}),
    ):
        add(f"rewind, {name}", "POST", rewind, 422, body=body)
    add("rewind, to_seq of 40 digits", "POST", rewind, 422, body='{"to_seq": ' + "9" * 40 + "}")
    add("rewind, to_seq 1e400", "POST", rewind, 422, body='{"to_seq": 1e400}')
    add("rewind, no body", "POST", rewind, 422)
    add("rewind, body not JSON", "POST", rewind, 400, body=b"to_seq=1")
    add("rewind, to_seq past the messages", "POST", rewind, 422, body={"to_seq": MESSAGES + 1})
    add("rewind, to_seq 12 digits past the messages", "POST", rewind, 422,
        body={"to_seq": 9_999_999_999})  # fmt: skip
    add("rewind removing 41 messages", "POST", LONG + "/rewind", 409, code="limit_exceeded",
        body={"to_seq": LONG_MESSAGES - 41})  # fmt: skip
    add("rewind removing all 42 messages", "POST", LONG + "/rewind", 409, code="limit_exceeded",
        body={"to_seq": 0})  # fmt: skip
    add("rewind removing 41 messages, with a key", "POST", LONG + "/rewind", 409,
        code="limit_exceeded", body={"to_seq": 1}, headers=key("hostile-long"))  # fmt: skip
    add("rewind an ended session", "POST", ENDED + "/rewind", 409, code="session_not_active",
        body={"to_seq": 0})  # fmt: skip
    add("rewind an ended session past its messages (409 before 422)", "POST", ENDED + "/rewind",
        409, code="session_not_active", body={"to_seq": 5})  # fmt: skip
    for name, headers in (("text/plain", TEXT), ("merge patch", MERGE)):
        add(f"rewind as {name}", "POST", rewind, 415, body={"to_seq": 44}, headers=headers)
    add("GET on rewind", "GET", rewind, 404, by=GATEWAY)
    add("PUT on rewind", "PUT", rewind, 404, by=GATEWAY, body={"to_seq": 44})


def _summary(add: Add) -> None:
    summary = S + "/summary"
    add("put the summary of another caller's session", "PUT", summary, 404,
        body={"content": "s", "covers_seq": 1}, caller="bob")  # fmt: skip
    add("put a summary over 64 KB on another caller's session", "PUT", summary, 404,
        body={"content": OVER_CONTENT, "covers_seq": 1}, caller="bob")  # fmt: skip
    add("get the summary of another caller's session", "GET", summary, 404, caller="bob")
    add("get the summary of a session without one", "GET", BARE + "/summary", 404)
    add("get the summary of a missing session", "GET", "/sessions/{other}/summary", 404)
    for name, body in (
        ("content missing", {"covers_seq": 1}),
        ("covers_seq missing", {"content": "s"}),
        ("content empty", {"content": "", "covers_seq": 1}),
        ("content only whitespace", {"content": " \t\u3000\ufeff", "covers_seq": 1}),
        ("content a list", {"content": ["s"], "covers_seq": 1}),
        ("covers_seq 0", {"content": "s", "covers_seq": 0}),
        ("covers_seq -1", {"content": "s", "covers_seq": -1}),
        ("covers_seq a string", {"content": "s", "covers_seq": "1"}),
        ("covers_seq 1.5", {"content": "s", "covers_seq": 1.5}),
        ("covers_seq 1e11 past its maximum", {"content": "s", "covers_seq": 10**11}),
        ("metadata a list", {"content": "s", "covers_seq": 1, "metadata": []}),
        ("an unknown member", {"content": "s", "covers_seq": 1, "role": "assistant"}),
        ("content over 64 KB and covers_seq 0 (422 first)",
         {"content": OVER_CONTENT, "covers_seq": 0}),
    ):  # fmt: skip
        add(f"summary, {name}", "PUT", summary, 422, body=body)
    add("summary, covers_seq past the messages", "PUT", summary, 422,
        body={"content": "s", "covers_seq": MESSAGES + 1})  # fmt: skip
    add("summary, content of 65 537 bytes", "PUT", summary, 413,
        body={"content": OVER_CONTENT, "covers_seq": 1})  # fmt: skip
    add("summary, content of 16 385 emoji (65 540 bytes)", "PUT", summary, 413,
        body={"content": EMOJI_OVER, "covers_seq": 1})  # fmt: skip
    add("summary, metadata over 8 KB", "PUT", summary, 413,
        body={"content": "s", "covers_seq": 1, "metadata": OVER_METADATA})  # fmt: skip
    add("summary, content over 64 KB and covers_seq past the messages (413 first)", "PUT",
        summary, 413, body={"content": OVER_CONTENT, "covers_seq": MESSAGES + 1})  # fmt: skip
    add("summary, a lone surrogate in content", "PUT", summary, 400,
        body=b'{"content": "\\ud800", "covers_seq": 1}')  # fmt: skip
    add("summary of an ended session", "PUT", ENDED + "/summary", 409, code="session_not_active",
        body={"content": "s", "covers_seq": 1})  # fmt: skip
    add("summary of an ended session past its messages (409 before 422)", "PUT",
        ENDED + "/summary", 409, code="session_not_active",
        body={"content": "s", "covers_seq": 5})  # fmt: skip
    add("summary over 64 KB of an ended session (413 before 409)", "PUT", ENDED + "/summary",
        413, body={"content": OVER_CONTENT, "covers_seq": 1})  # fmt: skip
    for name, headers in (("text/plain", TEXT), ("form-encoded", FORM), ("merge patch", MERGE)):
        add(f"summary as {name}", "PUT", summary, 415, body={"content": "s", "covers_seq": 1},
            headers=headers)  # fmt: skip
    for method in ("POST", "PATCH", "DELETE"):
        add(f"{method} on the summary", method, summary, 404, by=GATEWAY)


def _context_and_export(add: Add) -> None:
    context = S + "/context"
    for name, value in (
        ("999 (under 1000)", "999"),
        ("2000001 (over 2000000)", "2000001"),
        ("-1", "-1"),
        ("1e3", "1e3"),
        ("+1000", "%2B1000"),
        ("empty", ""),
        ("13 digits", "0000000001000"),
        ("twice", "1000&max_bytes=1000"),
    ):
        add(f"context, max_bytes {name}", "GET", f"{context}?max_bytes={value}", 400)
    add("context of another caller's session", "GET", context, 404, caller="bob")
    add("context of another caller's session, max_bytes 999", "GET", context + "?max_bytes=999",
        404, caller="bob")  # fmt: skip
    add("context of a missing session", "GET", "/sessions/{other}/context", 404)
    add("context of a malformed session id", "GET", "/sessions/%7B{s}%7D/context", 404)
    add("POST on the context", "POST", context, 404, by=GATEWAY, body={})
    add("export another caller's session", "GET", S + "/export", 404, caller="bob")
    add("export a missing session", "GET", "/sessions/{other}/export", 404)
    add("export a malformed session id", "GET", "/sessions/{s}x/export", 404)
    add("export with a token without sub", "GET", S + "/export", 401, caller="nosub")
    add("POST on the export", "POST", S + "/export", 404, by=GATEWAY, body={})
    add("GET on import (a session named import)", "GET", IMPORT, 404)
    add("a path under import", "POST", IMPORT + "/x", 404, by=GATEWAY, body=BASE_DOCUMENT)


def _import(add: Add) -> None:
    def bad(name: str, change: Change, status: int = 422, **kw: Any) -> None:
        add(f"import, {name}", "POST", IMPORT, status, body=document(change), **kw)

    bad("format chat-session/2", _set("format", "chat-session/2"))
    bad("format missing", _drop("format"))
    bad("exported_at without milliseconds", _set("exported_at", "2026-11-24T05:31:00Z"))
    bad("exported_at with +00:00", _set("exported_at", "2026-11-24T05:31:00.123+00:00"))
    bad("exported_at with a space", _set("exported_at", "2026-11-24 05:31:00.123Z"))
    bad("exported_at on 30 February", _set("exported_at", "2026-02-30T05:31:00.123Z"))
    bad("exported_at at 24:00", _set("exported_at", "2026-11-24T24:00:00.000Z"))
    bad("exported_at a leap second", _set("exported_at", "2016-12-31T23:59:60.000Z"))
    bad("a message's timestamp a number", _set("messages.0.timestamp", 1764567060))
    bad("a version's created_at in lower case", _set("versions.0.created_at", T0.lower()))
    bad("the summary's updated_at year 0", _set("summary.updated_at", "0000-01-01T00:00:00.000Z"))
    bad("seqs 1, 3 (a gap)", _set("messages.1.seq", 3))
    bad("seqs 2, 1 (out of order)", lambda d: d["messages"].reverse())
    bad("seqs from 0", lambda d: [m.update(seq=m["seq"] - 1) for m in d["messages"]])
    bad("seq a string", _set("messages.0.seq", "1"))
    bad("seq 1.5", _set("messages.0.seq", 1.5))
    bad("a message id twice", _set("messages.1.id", BASE_DOCUMENT["messages"][0]["id"]))
    bad("a message id not a UUID", _set("messages.0.id", "m1"))
    bad("a message role robot", _set("messages.0.role", "robot"))
    bad("a message content only whitespace", _set("messages.0.content", " \n"))
    bad("a message without content", lambda d: d["messages"][0].pop("content"))
    bad("a message with an unknown member", _set("messages.0.parent", None))
    bad("messages an object", _set("messages", {}))
    bad("versions 1, 3 (a gap)", _set("versions.1.version", 3))
    bad("versions from 0", lambda d: [v.update(version=v["version"] - 1) for v in d["versions"]])
    bad("versions 2, 1 (out of order)", lambda d: d["versions"].reverse())
    bad("a version reverted from itself", _set("versions.1.reverted_from", 2))
    bad("a version reverted from a later one", _set("versions.0.reverted_from", 2))
    bad("a version's source clone", _set("versions.0.source", "clone"))
    bad("a version's workflow a list", _set("versions.0.workflow", []))
    bad("a version's workflow missing", lambda d: d["versions"][0].pop("workflow"))
    bad("a version's message_id not a UUID", _set("versions.1.message_id", "m1"))
    bad("change lines of 70 KB", _set("versions.0.changes", ["c" * 1000] * 70))
    bad("the summary covering past the messages", _set("summary.covers_seq", 3))
    bad("the summary covering 0", _set("summary.covers_seq", 0))
    bad("the summary's content empty", _set("summary.content", ""))
    bad("the session's id not a UUID", _set("session.id", "s1"))
    bad("the session missing", _drop("session"))
    bad("the session's title of 201 characters", _set("session.title", "t" * 201))
    bad("an unknown member", _set("exported", True))
    bad("a workflow 30 levels deep", _set("versions.0.workflow", _nested(30)))
    bad("10 001 messages", _messages(10_001), 409, code="limit_exceeded")
    bad("1 001 versions", _versions(1_001), 409, code="limit_exceeded")
    bad("a message of 65 537 bytes", _set("messages.0.content", OVER_CONTENT), 413)
    bad("a message's metadata over 8 KB", _set("messages.0.metadata", OVER_METADATA), 413)
    bad("the session's metadata over 8 KB", _set("session.metadata", OVER_METADATA), 413)
    bad("a workflow over 256 KB", _set("versions.0.workflow", {"w": "x" * 262_200}), 413)
    bad("the summary of 65 537 bytes", _set("summary.content", OVER_CONTENT), 413)
    bad("a message over 64 KB and a gap in the seqs (413 first)",
        lambda d: d["messages"][1].update(content=OVER_CONTENT, seq=3), 413)  # fmt: skip
    bad("a message role robot and a message over 64 KB (422 first)",
        lambda d: d["messages"][1].update(content=OVER_CONTENT, role="robot"))  # fmt: skip
    # 2 500 000 bytes at most, counted as bytes, before the document is parsed.
    add("import, 2 500 001 bytes", "POST", IMPORT, 413, body=_padded(2_500_001, True))
    add("import, 2 500 000 bytes with a gap (the limit is not off by one)", "POST", IMPORT, 422,
        body=_padded(2_500_000, False))  # fmt: skip
    add("import, 2 500 001 bytes of broken JSON (413 before parsing)", "POST", IMPORT, 413,
        body=b"{" * 2_500_001)  # fmt: skip
    # Three UTF-8 bytes each (six in Lambda's event: it stays under 6 MB), ignored by an import.
    wide = {"x": "\u20ac" * 833_334}
    add("import, 834 000 characters in 2 501 000 bytes", "POST", IMPORT, 413,
        body=raw(document(_set("session.current_workflow", wide))))  # fmt: skip
    add("import, 3 MB as text/plain (415 before 413)", "POST", IMPORT, 415,
        body=_padded(3 * MB, True), headers=TEXT)  # fmt: skip
    add("import, 3 MB with a malformed Idempotency-Key (400 before 413)", "POST", IMPORT, 400,
        body=_padded(3 * MB, True), headers=key("a b"))  # fmt: skip
    add("import, 7 MB (over Lambda's 6 MB)", "POST", IMPORT, 413, by=GATEWAY,
        body=_padded(7 * MB, True))  # fmt: skip
    add("import, no body", "POST", IMPORT, 422)
    add("import, body an array", "POST", IMPORT, 422, body="[]")
    add("import, body not JSON", "POST", IMPORT, 400, body=b"format: chat-session/1")
    add("import, bytes that are not UTF-8", "POST", IMPORT, 400,
        body=raw(BASE_DOCUMENT).replace(b'"hi"', b'"\xff"'))  # fmt: skip
    for name, headers in (("text/plain", TEXT), ("form-encoded", FORM), ("merge patch", MERGE)):
        add(f"import as {name}", "POST", IMPORT, 415, body=BASE_DOCUMENT, headers=headers)
    add("import without a token", "POST", IMPORT, 401, by=GATEWAY, body=BASE_DOCUMENT,
        caller=None)  # fmt: skip
    add("import with a token without sub", "POST", IMPORT, 401, body=BASE_DOCUMENT,
        caller="nosub")  # fmt: skip
    add("import with 40 000 unknown members", "POST", IMPORT, 422,
        body={**BASE_DOCUMENT, **{f"k{i}": i for i in range(40_000)}})  # fmt: skip


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def _keys(add: Add) -> None:
    """Malformed keys (400; each body is refused later too, so that a key taken as valid
    still writes nothing) and keys used before with another request (422
    idempotency_key_reused)."""
    routes = (
        ("fork", "POST", S + "/fork", {"at_seq": MESSAGES + 1}),
        ("rewind", "POST", S + "/rewind", {"to_seq": MESSAGES + 1}),
        ("summary", "PUT", S + "/summary", {"content": "another", "covers_seq": MESSAGES + 1}),
        ("import", "POST", IMPORT, document(_set("messages.1.seq", 3))),
    )
    malformed = (
        ("of 129 characters", "k" * 129),
        ("with a space", "a b"),
        ("with a tab", "a\tb"),
        ("not ASCII", "cl\u00e9"),
        ("with DEL", "a\x7fb"),
        ("empty", ""),
    )
    for index, (route, method, path, body) in enumerate(routes):
        # Three of the malformed keys on each route: each key on two routes.
        for name, value in (malformed[(3 * index + j) % len(malformed)] for j in range(3)):
            add(f"{route}, Idempotency-Key {name}", method, path, 400, body=body,
                headers=key(value))  # fmt: skip
    reused = "idempotency_key_reused"
    for name, method, path, body, used in (
        ("summary, its key with another content", "PUT", S + "/summary",
         {**SUMMARY, "content": "other"}, SUMMARY_KEY),
        ("summary, its key with metadata added", "PUT", S + "/summary",
         {**SUMMARY, "metadata": {"a": 1}}, SUMMARY_KEY),
        ("summary, the fork's key", "PUT", S + "/summary", SUMMARY, FORK_KEY),
        ("rewind, its key with another to_seq", "POST", S + "/rewind",
         {"to_seq": MESSAGES - 1}, REWIND_KEY),
        ("rewind, the summary's key", "POST", S + "/rewind", REWIND, SUMMARY_KEY),
        ("fork, its key with another at_seq", "POST", S + "/fork", {**FORK, "at_seq": 1},
         FORK_KEY),
        ("fork, its key without the title", "POST", S + "/fork", {"at_seq": 2}, FORK_KEY),
        ("fork, the rewind's key", "POST", S + "/fork", FORK, REWIND_KEY),
        ("import, its key with another title", "POST", IMPORT,
         document(_set("session.title", "other")), IMPORT_KEY),
        # A replay outranks what the document breaks as a session (a gap): still reused.
        ("import, its key with a gap in the seqs", "POST", IMPORT,
         document(_set("messages.1.seq", 3)), IMPORT_KEY),
        ("import, the key of a POST /sessions", "POST", IMPORT, BASE_DOCUMENT, CREATE_KEY),
        ("POST /sessions, the import's key", "POST", "/sessions", {}, IMPORT_KEY),
    ):  # fmt: skip
        add(f"Idempotency-Key reused: {name}", method, path, 422, code=reused, body=body,
            headers=key(used))  # fmt: skip
    add("summary, a used key with another content type (415 first)", "PUT", S + "/summary", 415,
        body=SUMMARY, headers={**key(SUMMARY_KEY), **TEXT})  # fmt: skip
    add("rewind, a used key on another caller's session", "POST", S + "/rewind", 404,
        body=REWIND, headers=key(REWIND_KEY), caller="bob")  # fmt: skip


def _replays(add: Add) -> None:
    """The set-up's keyed writes sent again as they were: their first answer, nothing written."""
    for method, path, body, used in SETUP:
        status = 201 if path.endswith(("/fork", "/import")) else 200
        add(f"replay of the set-up's {path.rsplit('/', 1)[1]}", method, path, status, body=body,
            headers=key(used), replayed=True)  # fmt: skip
    add("replay of the set-up's summary as JSON with a charset", "PUT", S + "/summary", 200,
        body=SUMMARY, headers={**key(SUMMARY_KEY), "Content-Type": f"{JSON}; charset=utf-8"},
        replayed=True)  # fmt: skip
