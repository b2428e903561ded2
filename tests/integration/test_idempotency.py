"""Idempotency-Key on every write route (api.md, "Idempotency"): a replay answers the first
answer again with Idempotent-Replayed: true and writes nothing; the same key with another
request is 422; a failed request records nothing; concurrent requests with one key make
one write."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from tests.helpers.api import Answer, Api
from tests.helpers.cleanup import T0, at, cleanup, keys_under
from tests.helpers.dynamodb import Start

WORKFLOW = {"name": "etl", "steps": {"load": {"batch": 100}}}


def key() -> dict[str, str]:
    return {"idempotency-key": f"retry-{uuid.uuid4()}"}


def snapshot(api: Api) -> list[Any]:
    return sorted(repr(sorted(item.items())) for item in api.items())


def same_answer(first: Answer, again: Answer) -> None:
    assert again.status == first.status
    assert again.body == first.body
    for name in ("etag", "location"):
        assert again.headers.get(name) == first.headers.get(name)
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"


def with_workflow(api: Api) -> str:
    session = api.create(title="t")
    put = api.call("workflow_put", session_id=session["id"], body={"workflow": WORKFLOW})
    assert put.status == 200
    return str(session["id"])


# Each write route: (event, body, extra request arguments). The session is made by `with_workflow`.
WRITES: dict[str, tuple[str, Any, dict[str, Any]]] = {
    "patch session": ("sessions_patch", {"title": "renamed", "metadata": {"a": 1}}, {}),
    "end": ("sessions_end", None, {}),
    "append": ("messages_append", {"role": "user", "content": "hello"}, {}),
    "append with a client id": (
        "messages_append",
        {"role": "user", "content": "hi", "id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427"},
        {},
    ),
    "turn": (
        "turns_post",
        {
            "messages": [
                {"role": "user", "content": "bigger batches"},
                {"role": "assistant", "content": "done"},
            ],
            "workflow_patch": {"steps": {"load": {"batch": 500}}},
        },
        {},
    ),
    "put workflow": ("workflow_put", {"workflow": {"name": "other"}, "note": "n"}, {}),
    "put the same workflow (no change)": ("workflow_put", {"workflow": WORKFLOW}, {}),
    "merge patch": ("workflow_patch_merge", {"steps": {"notify": {}}}, {}),
    "json patch": (
        "workflow_patch_json",
        [{"op": "add", "path": "/steps/notify", "value": {}}],
        {"content_type": "application/json-patch+json"},
    ),
    "revert": ("workflow_revert", {"version": 1, "note": "back"}, {"headers": {"if-match": "*"}}),
}


def call(api: Api, name: str, session_id: str, headers: dict[str, str]) -> Answer:
    event, body, extra = WRITES[name]
    arguments: dict[str, Any] = {"session_id": session_id, **extra}
    arguments["headers"] = {**extra.get("headers", {}), **headers}
    if body is not None:
        arguments["body"] = body
    if event.startswith("workflow_patch"):
        arguments["headers"].setdefault("if-match", "*")
    return api.call(event, **arguments)


@pytest.mark.parametrize("name", list(WRITES))
def test_a_replay_answers_the_first_answer_and_writes_nothing(api: Api, name: str) -> None:
    session_id = with_workflow(api)
    headers = key()
    first = call(api, name, session_id, headers)
    assert first.status in (200, 201), first.body
    stored = snapshot(api)

    again = call(api, name, session_id, headers)

    same_answer(first, again)
    assert snapshot(api) == stored


@pytest.mark.parametrize("name", list(WRITES))
def test_the_key_with_another_request_is_422_and_writes_nothing(api: Api, name: str) -> None:
    session_id = with_workflow(api)
    headers = key()
    assert call(api, name, session_id, headers).status in (200, 201)
    stored = snapshot(api)

    other_route = "append" if name != "append" else "patch session"
    answer = call(api, other_route, session_id, headers)

    assert (answer.status, answer.code) == (422, "idempotency_key_reused")
    assert snapshot(api) == stored


def test_another_body_if_match_or_content_type_is_another_request(api: Api) -> None:
    session_id = with_workflow(api)
    headers = key()
    first = api.call(
        "workflow_patch_merge",
        session_id=session_id,
        body={"a": 1},
        headers={**headers, "if-match": '"1"'},
    )
    assert first.status == 200
    stored = snapshot(api)
    other_body = api.call(
        "workflow_patch_merge",
        session_id=session_id,
        body={"a": 2},
        headers={**headers, "if-match": '"1"'},
    )
    other_if_match = api.call(
        "workflow_patch_merge",
        session_id=session_id,
        body={"a": 1},
        headers={**headers, "if-match": "*"},
    )
    other_type = api.call(
        "workflow_patch_merge",
        session_id=session_id,
        raw_body='[{"op": "add", "path": "/a", "value": 1}]',
        content_type="application/json-patch+json",
        headers={**headers, "if-match": '"1"'},
    )
    assert [a.code for a in (other_body, other_if_match, other_type)] == [
        "idempotency_key_reused"
    ] * 3
    # The same JSON written otherwise (spacing, member order) is the same request.
    again = api.call(
        "workflow_patch_merge",
        session_id=session_id,
        raw_body=' { "a" : 1 } ',
        headers={**headers, "if-match": '"1"'},
    )
    same_answer(first, again)
    assert snapshot(api) == stored


def test_a_key_belongs_to_its_session(api: Api) -> None:
    one, two = with_workflow(api), with_workflow(api)
    headers = key()
    first = call(api, "append", one, headers)
    second = call(api, "append", two, headers)
    assert (first.status, second.status) == (201, 201)
    assert "idempotent-replayed" not in second.headers
    assert second.body["id"] != first.body["id"]


def test_a_failed_request_records_nothing_and_its_retry_runs_again(api: Api) -> None:
    session = api.create()
    headers = {**key(), "if-match": '"1"'}
    body = {"workflow": {"name": "v"}}
    stale = api.call("workflow_put", session_id=session["id"], body=body, headers=headers)
    assert (stale.status, stale.code) == (412, "version_conflict")
    put = api.call(
        "workflow_put",
        session_id=session["id"],
        body={"workflow": WORKFLOW},
        headers={"if-match": "*"},
    )
    assert put.status == 200

    retried = api.call("workflow_put", session_id=session["id"], body=body, headers=headers)

    assert retried.status == 200
    assert "idempotent-replayed" not in retried.headers
    assert retried.body["version"] == 2


def test_replays_work_on_an_ended_session_and_are_not_accepted_writes(api: Api) -> None:
    session_id = with_workflow(api)
    headers = key()
    first = call(api, "turn", session_id, headers)
    ended = api.call("sessions_end", session_id=session_id)
    assert ended.status == 200

    again = call(api, "turn", session_id, headers)
    fresh = call(api, "turn", session_id, key())

    same_answer(first, again)
    assert (fresh.status, fresh.code) == (409, "session_not_active")
    after = api.call("sessions_get", session_id=session_id).body
    assert after["updated_at"] == ended.body["updated_at"]


def test_a_replay_ranks_after_413_and_before_409(api: Api) -> None:
    session_id = with_workflow(api)
    headers = key()
    first = call(api, "append", session_id, headers)
    api.call("sessions_end", session_id=session_id)
    too_big = api.call(
        "messages_append",
        session_id=session_id,
        body={"role": "user", "content": "x" * 70_000},
        headers=headers,
    )
    assert (too_big.status, too_big.code) == (413, "payload_too_large")
    same_answer(first, call(api, "append", session_id, headers))


def test_a_malformed_key_is_400_after_404(api: Api) -> None:
    session_id = with_workflow(api)
    bad = {"idempotency-key": "has space"}
    missing = str(uuid.uuid4())
    assert call(api, "append", session_id, bad).code == "bad_request"
    assert call(api, "append", missing, bad).code == "not_found"
    assert call(api, "end", session_id, {"idempotency-key": "é"}).code == "bad_request"


def test_key_records_are_deleted_with_their_session(api: Api) -> None:
    session_id = with_workflow(api)
    for name in WRITES:
        call(api, name, session_id, key())
    assert any(i["sk"]["S"].startswith("IDEM#") for i in api.items())

    assert api.call("sessions_delete", session_id=session_id).status == 204

    assert [i for i in api.items() if i["pk"]["S"] == session_id] == []


@pytest.mark.parametrize("name", ["append", "turn", "put workflow", "patch session"])
def test_ten_concurrent_requests_with_one_key_make_one_write(
    strict_server: Start, name: str
) -> None:
    strict_server({})
    api = Api()
    session_id = with_workflow(api)
    before = api.call("sessions_get", session_id=session_id).body
    headers = key()
    start = threading.Barrier(10)

    def one(_: int) -> Answer:
        start.wait()
        return call(api, name, session_id, headers)

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(one, range(10)))

    firsts = [a for a in answers if "idempotent-replayed" not in a.headers]
    assert len(firsts) == 1
    for answer in answers:
        assert (answer.status, answer.body) == (firsts[0].status, firsts[0].body)
    after = api.call("sessions_get", session_id=session_id).body
    added = 2 if name == "turn" else 1 if name == "append" else 0
    assert after["message_count"] == before["message_count"] + added
    versions = 1 if name in ("turn", "put workflow") else 0
    assert after["workflow_version"] == before["workflow_version"] + versions
    keys = [i for i in api.items() if i["sk"]["S"] == "IDEM#" + headers["idempotency-key"]]
    assert len(keys) == 1


def test_key_records_go_with_their_session_when_the_cleanup_deletes_it(api: Api) -> None:
    with at(T0):
        session_id = with_workflow(api)
        for name in WRITES:
            call(api, name, session_id, key())
    assert any(k.startswith("IDEM#") for k in keys_under(session_id))

    with at(T0 + timedelta(days=3)):
        assert cleanup() == {"expired": 0, "deleted": 1}

    assert keys_under(session_id) == set()
