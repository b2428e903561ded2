"""Fork, export and import on the local stack, over HTTP: TransfersFunction from the `sam
build` output in its emulators, within its Timeout, its MemorySize and Lambda's 6 MB
response, against the strict embedded DynamoDB."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from local.token import make_token
from tests.helpers.server import LocalServer, Response

pytestmark = pytest.mark.e2e

TIME = "2026-11-24T05:31:00.123Z"


def ok(answer: Response, status: int) -> Any:
    assert answer.status == status, answer.body[:500]
    return answer.json()


def after_messages(body: bytes) -> bytes:
    return body[body.index(b',"messages":') :]


def test_a_session_forked_exported_and_imported_by_another_caller(server: LocalServer) -> None:
    sid = ok(server.request("POST", "/sessions", {"initial_description": "first"}), 201)["id"]
    ok(
        server.request("POST", f"/sessions/{sid}/messages", {"role": "assistant", "content": "é"}),
        201,
    )
    workflow = {"workflow": {"name": "etl", "steps": {"load": {"batch": 100.0}}}}
    ok(server.request("PUT", f"/sessions/{sid}/workflow", workflow), 200)
    key = {"Idempotency-Key": str(uuid.uuid4())}

    forked = server.request("POST", f"/sessions/{sid}/fork", {"at_seq": 1}, headers=key)
    again = server.request("POST", f"/sessions/{sid}/fork", {"at_seq": 1}, headers=key)

    new = ok(forked, 201)
    assert forked.headers["Location"] == f"/sessions/{new['id']}"
    assert new["forked_from"] == {"session_id": sid, "seq": 1, "version": 1}
    assert (ok(again, 201)["id"], again.headers["Idempotent-Replayed"]) == (new["id"], "true")
    exported = server.request("GET", f"/sessions/{sid}/export")
    ok(exported, 200)
    bob = make_token("bob")
    imported = ok(
        server.request(
            "POST",
            "/sessions/import",
            raw=exported.body,
            token=bob,
            headers={"Content-Type": "application/json"},
        ),
        201,
    )
    assert server.request("GET", f"/sessions/{imported['id']}").status == 404  # bob's
    second = server.request("GET", f"/sessions/{imported['id']}/export", token=bob)
    ok(second, 200)
    assert after_messages(second.body) == after_messages(exported.body)


def test_a_2_5_mb_import_and_its_fork_run_within_the_functions_limits(server: LocalServer) -> None:
    # A document of 2 500 000 bytes: 400 messages (the embedded DynamoDB, shared by the
    # suite, slows down with every item it holds: 10 000 messages are tested in-process)
    doc: dict[str, Any] = {
        "format": "chat-session/1",
        "exported_at": TIME,
        "session": {"id": str(uuid.uuid4())},
        "messages": [
            {
                "id": str(uuid.uuid4()),
                "seq": seq,
                "role": "user",
                "content": "",
                "metadata": {},
                "timestamp": TIME,
            }
            for seq in range(1, 401)
        ],
        "versions": [],
    }
    base = len(json.dumps(doc).encode())
    share, rest = divmod(2_500_000 - base, 400)
    for index, message in enumerate(doc["messages"]):
        message["content"] = "x" * (share + (rest if index == 0 else 0))
    raw = json.dumps(doc).encode()
    assert len(raw) == 2_500_000

    made = ok(
        server.request(
            "POST",
            "/sessions/import",
            raw=raw,
            headers={"Content-Type": "application/json"},
            timeout=60,
        ),
        201,
    )
    assert made["message_count"] == 400
    fork = ok(server.request("POST", f"/sessions/{made['id']}/fork", {}, timeout=60), 201)
    assert fork["message_count"] == 400
    over = server.request(
        "POST", "/sessions/import", raw=raw + b" ", headers={"Content-Type": "application/json"}
    )
    assert (over.status, over.json()["error"]["code"]) == (413, "payload_too_large")


@pytest.mark.parametrize(
    ("char", "fits", "too_many"),
    [("\u0001", 12, 14), ("\U0001f600", 29, 31)],
    ids=["control-characters", "emoji"],
)
def test_an_export_fits_the_emulators_6_mb_response_or_is_409(
    server: LocalServer, char: str, fits: int, too_many: int
) -> None:
    sid = ok(server.request("POST", "/sessions", {}), 201)["id"]
    message = {"role": "user", "content": char * (65536 // len(char.encode()))}
    for _ in range(fits):
        ok(server.request("POST", f"/sessions/{sid}/messages", message), 201)
    assert len(ok(server.request("GET", f"/sessions/{sid}/export"), 200)["messages"]) == fits
    for _ in range(too_many - fits):
        ok(server.request("POST", f"/sessions/{sid}/messages", message), 201)
    refused = server.request("GET", f"/sessions/{sid}/export")
    assert (refused.status, refused.json()["error"]["code"]) == (409, "limit_exceeded")
