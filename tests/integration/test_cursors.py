"""Cursors through the handlers: only the service, holding the key, can make one that works."""

from __future__ import annotations

import base64
import hashlib
import json

from tests.helpers.api import Api


def unkeyed(scope: str, position: list[str]) -> str:
    """A cursor as anyone who read the old code could make one: no secret involved."""
    payload = json.dumps(position, separators=(",", ":")).encode()
    raw = hashlib.sha256(scope.encode() + b"\x00" + payload).digest()[:12] + payload
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_a_sessions_cursor_works_for_its_caller_only(api: Api) -> None:
    for _ in range(3):
        api.create(sub="alice")
    page = api.call("sessions_list", sub="alice", query={"limit": "1"}).body
    assert page["next_cursor"]
    again = api.call(
        "sessions_list", sub="alice", query={"limit": "1", "cursor": page["next_cursor"]}
    )
    assert again.status == 200 and again.body["items"][0]["id"] != page["items"][0]["id"]
    other = api.call(
        "sessions_list", sub="bob", query={"limit": "1", "cursor": page["next_cursor"]}
    )
    assert (other.status, other.code) == (400, "bad_request")
    filtered = api.call(
        "sessions_list",
        sub="alice",
        query={"limit": "1", "status": "active", "cursor": page["next_cursor"]},
    )
    assert (filtered.status, filtered.code) == (400, "bad_request")


def test_a_cursor_forged_without_the_key_is_refused(api: Api) -> None:
    """A position of the attacker's choosing (here: where another session's list would
    resume) with the check anyone could recompute: 400, never a page."""
    session = api.create(sub="alice")
    forged = unkeyed("sessions|alice|", [session["id"], session["updated_at"]])
    answer = api.call("sessions_list", sub="alice", query={"cursor": forged})
    assert (answer.status, answer.code) == (400, "bad_request")
    for _ in range(2):
        assert api.append(session["id"]).status == 201
    forged = unkeyed(f"messages|{session['id']}|asc|None", ["MSG#0000000001"])
    answer = api.call("messages_list", session_id=session["id"], query={"cursor": forged})
    assert (answer.status, answer.code) == (400, "bad_request")


def test_a_messages_cursor_is_refused_by_the_versions_list(api: Api) -> None:
    session = api.create(sub="alice", initial_description="first")
    assert api.append(session["id"]).status == 201
    page = api.call("messages_list", session_id=session["id"], query={"limit": "1"}).body
    answer = api.call(
        "workflow_versions_list", session_id=session["id"], query={"cursor": page["next_cursor"]}
    )
    assert (answer.status, answer.code) == (400, "bad_request")
