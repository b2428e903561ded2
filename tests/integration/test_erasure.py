"""DELETE /sessions?confirm=all: every session of the caller, whatever its status, gone at
once; `more` until the caller's list is empty; nobody else's sessions touched."""

from __future__ import annotations

import pytest

from chat_sessions import sessions
from tests.helpers.api import Api


def erase(api: Api, sub: str = "alice", confirm: str | None = "all") -> tuple[int, object]:
    query = {"confirm": confirm} if confirm is not None else {}
    answer = api.call("sessions_delete_all", query=query, sub=sub)
    return answer.status, answer.body


def test_without_confirm_all_it_is_400_and_deletes_nothing(api: Api) -> None:
    api.create()
    before = api.items()
    for confirm in (None, "yes", "ALL"):
        status, body = erase(api, confirm=confirm)
        assert status == 400
        assert body["error"]["code"] == "bad_request"  # type: ignore[index]
    assert api.items() == before


def test_every_session_of_the_caller_goes_whatever_its_status(api: Api) -> None:
    mine = [api.create(initial_description=f"hi {i}") for i in range(5)]
    api.call("sessions_end", session_id=mine[0]["id"])
    api.call("workflow_put", session_id=mine[1]["id"], body={"workflow": {"a": 1}})
    api.call("messages_append", session_id=mine[2]["id"], body={"role": "user", "content": "x"})
    theirs = api.create(sub="bob", initial_description="bob's")

    assert erase(api) == (200, {"deleted": 5, "more": False})

    for session in mine:
        assert api.call("sessions_get", session_id=session["id"]).status == 404
    assert api.call("sessions_list", query={}).body["items"] == []
    assert api.call("sessions_get", session_id=theirs["id"], sub="bob").status == 200
    # Their items went within the request: only bob's are left.
    left = {item.get("session_id", item["pk"])["S"] for item in api.items()}
    assert left == {theirs["id"]}
    assert erase(api) == (200, {"deleted": 0, "more": False})


def test_more_until_the_list_is_empty(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    created = [api.create() for _ in range(3)]
    monkeypatch.setattr(sessions, "DELETE_ALL_BUDGET_SECONDS", 0.0)

    assert erase(api) == (200, {"deleted": 0, "more": True})
    assert len(api.call("sessions_list", query={}).body["items"]) == len(created)

    monkeypatch.setattr(sessions, "DELETE_ALL_BUDGET_SECONDS", 20.0)
    assert erase(api) == (200, {"deleted": 3, "more": False})
    assert api.call("sessions_list", query={}).body["items"] == []


def test_a_caller_without_sessions_gets_zero_and_no_token_is_401(api: Api) -> None:
    assert erase(api, sub="nobody") == (200, {"deleted": 0, "more": False})
    assert api.call("sessions_delete_all", query={"confirm": "all"}, sub=None).status == 401
