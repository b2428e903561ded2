"""Workflow routes and turns through the real WorkflowFunction handler, against moto."""

from __future__ import annotations

import random
import string
import uuid
from collections import Counter
from typing import Any

from chat_sessions import session_access
from tests.helpers.api import Api, ChangeSettings

ANY = {"if-match": "*"}
WF = {"name": "etl", "steps": {"extract": {"type": "sql"}, "load": {"params": {"batch": 100}}}}


def put(api: Api, sid: str, workflow: dict[str, Any], **kwargs: Any) -> Any:
    return api.call("workflow_put", session_id=sid, body={"workflow": workflow}, **kwargs)


def session_state(api: Api, sid: str) -> tuple[Any, list[Any]]:
    return api.call("sessions_get", session_id=sid).body, sorted(
        (i["sk"]["S"], str(i)) for i in api.items() if i["pk"]["S"] == sid
    )


def test_put_get_and_the_session_view(api: Api) -> None:
    sid = api.create()["id"]
    missing = api.call("workflow_get", session_id=sid)
    assert (missing.status, missing.code) == (404, "not_found")
    answer = put(api, sid, WF, headers={"if-match": "*"})
    assert answer.status == 200
    assert answer.headers["etag"] == '"1"'
    assert answer.body["version"] == 1 and answer.body["source"] == "put"
    assert answer.body["changes"] == ["created workflow"]
    assert "workflow" not in answer.body
    current = api.call("workflow_get", session_id=sid)
    assert current.status == 200 and current.headers["etag"] == '"1"'
    assert current.body == {"version": 1, "workflow": WF, "updated_at": answer.body["created_at"]}
    session = api.call("sessions_get", session_id=sid).body
    assert session["workflow_version"] == 1 and session["current_workflow"] == WF


def test_merge_and_json_patches_explain_their_changes(api: Api) -> None:
    sid = api.create()["id"]
    put(api, sid, WF)
    merged = api.call(
        "workflow_patch_merge",
        session_id=sid,
        raw_body='{"steps": {"load": {"params": {"batch": 500}}, "extract": null}}',
        headers={"if-match": 'W/"1"'},
        query={"note": "bigger"},
    )
    assert merged.status == 200, merged.body
    assert merged.body["source"] == "merge_patch" and merged.body["note"] == "bigger"
    assert merged.body["changes"] == [
        "removed steps.extract",
        "changed steps.load.params.batch: 100 -> 500",
    ]
    patched = api.call(
        "workflow_patch_json",
        session_id=sid,
        raw_body='[{"op": "add", "path": "/steps/notify", "value": {"to": "oncall"}}]',
        headers={"if-match": '"2"'},
    )
    assert patched.status == 200, patched.body
    assert patched.body["changes"] == ["added steps.notify"]
    assert api.call("workflow_get", session_id=sid).body["workflow"] == {
        "name": "etl",
        "steps": {"load": {"params": {"batch": 500}}, "notify": {"to": "oncall"}},
    }


def test_patch_before_the_first_version_starts_from_an_empty_object(api: Api) -> None:
    sid = api.create()["id"]
    answer = api.call("workflow_patch_merge", session_id=sid, raw_body='{"name": "x"}', headers=ANY)
    assert answer.status == 200 and answer.body["version"] == 1
    assert api.call("workflow_get", session_id=sid).body["workflow"] == {"name": "x"}


def test_rejected_workflow_writes_leave_the_session_unchanged(
    api: Api, settings: ChangeSettings
) -> None:
    sid = api.create()["id"]
    put(api, sid, WF)
    before = session_state(api, sid)
    cases: list[tuple[tuple[str, dict[str, Any]], int, str]] = [
        (
            ("workflow_patch_merge", {"raw_body": "{}", "content_type": "text/plain"}),
            415,
            "unsupported_media_type",
        ),
        (
            (
                "workflow_patch_json",
                {"raw_body": '[{"op": "test", "path": "/name", "value": "no"}]', "headers": ANY},
            ),
            409,
            "patch_failed",
        ),
        (
            (
                "workflow_patch_json",
                {"raw_body": '[{"op": "remove", "path": "/nope"}]', "headers": ANY},
            ),
            409,
            "patch_failed",
        ),
        (
            ("workflow_patch_json", {"raw_body": '[{"op": "jump", "path": "/a"}]', "headers": ANY}),
            422,
            "validation_error",
        ),
        (("workflow_patch_json", {"raw_body": "[1,"}), 400, "bad_request"),
        (
            ("workflow_put", {"body": {"workflow": WF}, "headers": {"if-match": '"7"'}}),
            412,
            "version_conflict",
        ),
        (("workflow_put", {"body": {"workflow": [1]}}), 422, "validation_error"),
        (
            ("workflow_put", {"body": {"workflow": {"blob": "x" * 262144}}}),
            413,
            "payload_too_large",
        ),
        (("workflow_revert", {"body": {"version": 9}}), 404, "not_found"),
        (
            ("workflow_revert", {"body": {"version": 1}, "headers": {"if-match": '"0"'}}),
            412,
            "version_conflict",
        ),
    ]
    for (name, kwargs), status, code in cases:
        answer = api.call(name, session_id=sid, **kwargs)
        assert (answer.status, answer.code) == (status, code), (name, kwargs, answer.body)
        if status == 412:
            assert answer.body["error"]["details"] == {"current_version": 1}
    assert session_state(api, sid) == before
    settings(MAX_WORKFLOW_VERSIONS="1")
    limited = put(api, sid, {"other": 1})
    assert (limited.status, limited.code) == (409, "limit_exceeded")
    assert session_state(api, sid) == before


def test_history_versions_diff_and_revert(api: Api) -> None:
    sid = api.create()["id"]
    put(
        api,
        sid,
        WF,
    )
    put(api, sid, {**WF, "name": "etl2"})
    history = api.call("workflow_versions_list", session_id=sid, query={"limit": "1"})
    assert [v["version"] for v in history.body["items"]] == [2]
    assert "workflow" not in history.body["items"][0]
    rest = api.call(
        "workflow_versions_list", session_id=sid, query={"cursor": history.body["next_cursor"]}
    )
    assert [v["version"] for v in rest.body["items"]] == [1] and rest.body["next_cursor"] is None
    one = api.call("workflow_version_get", session_id=sid, version="1")
    assert one.body["workflow"] == WF and one.headers["etag"] == '"1"'
    assert api.call("workflow_version_get", session_id=sid, version="x").status == 404
    assert api.call("workflow_version_get", session_id=sid, version="3").status == 404
    diff = api.call("workflow_diff", session_id=sid, query={"from": "1", "to": "2"})
    assert diff.body == {
        "from": 1,
        "to": 2,
        "patch": [{"op": "replace", "path": "/name", "value": "etl2"}],
        "changes": ['changed name: "etl" -> "etl2"'],
    }
    for query in ({"from": "a", "to": "2"}, {"from": "1"}):
        assert api.call("workflow_diff", session_id=sid, query=query).status == 400
    assert api.call("workflow_diff", session_id=sid, query={"from": "1", "to": "5"}).status == 404
    reverted = api.call("workflow_revert", session_id=sid, body={"version": 1, "note": "undo"})
    assert reverted.status == 200 and reverted.headers["etag"] == '"3"'
    assert reverted.body["reverted_from"] == 1 and reverted.body["source"] == "revert"
    assert reverted.body["changes"] == ["reverted to version 1", 'changed name: "etl2" -> "etl"']
    assert api.call("workflow_get", session_id=sid).body["workflow"] == WF


def test_a_turn_stores_messages_and_version_together(api: Api) -> None:
    sid = api.create(initial_description="start")["id"]
    answer = api.call(
        "turns_post",
        session_id=sid,
        body={
            "messages": [
                {"role": "user", "content": "add a load step"},
                {"role": "assistant", "content": "done"},
            ],
            "workflow": WF,
            "expected_version": 0,
            "note": "first",
        },
    )
    assert answer.status == 201, answer.body
    assert [m["seq"] for m in answer.body["messages"]] == [2, 3]
    version = answer.body["workflow_version"]
    assert version["version"] == 1 and version["source"] == "turn"
    assert version["message_id"] == answer.body["messages"][-1]["id"]
    chat_only = api.call(
        "turns_post", session_id=sid, body={"messages": [{"role": "user", "content": "thanks"}]}
    )
    assert chat_only.status == 201 and chat_only.body["workflow_version"] is None
    patched = api.call(
        "turns_post",
        session_id=sid,
        body={
            "messages": [{"role": "assistant", "content": "batch 5"}],
            "workflow_patch": {"steps": {"load": {"params": {"batch": 5}}}},
            "expected_version": 1,
        },
    )
    assert patched.body["workflow_version"]["changes"] == [
        "changed steps.load.params.batch: 100 -> 5"
    ]


def test_a_stale_or_invalid_turn_stores_none_of_its_messages(api: Api) -> None:
    sid = api.create()["id"]
    put(api, sid, WF)
    before = session_state(api, sid)
    turn = {
        "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}],
        "workflow": {"x": 1},
    }
    stale = api.call("turns_post", session_id=sid, body={**turn, "expected_version": 0})
    assert (stale.status, stale.code) == (412, "version_conflict")
    assert stale.body["error"]["details"] == {"current_version": 1}
    both = api.call("turns_post", session_id=sid, body={**turn, "workflow_patch": {}})
    too_many = api.call(
        "turns_post", session_id=sid, body={"messages": [{"role": "user", "content": "m"}] * 11}
    )
    none = api.call("turns_post", session_id=sid, body={"messages": []})
    big = api.call(
        "turns_post",
        session_id=sid,
        body={**turn, "messages": [{"role": "user", "content": "x" * 70000}]},
    )
    assert [a.status for a in (both, too_many, none, big)] == [422, 422, 422, 413]
    taken = str(uuid.uuid4())
    api.append(sid, "mine", id=taken)
    before = session_state(api, sid)
    dup = api.call(
        "turns_post",
        session_id=sid,
        body={
            "messages": [
                {"role": "user", "content": "x"},
                {"role": "user", "content": "y", "id": taken},
            ]
        },
    )
    assert (dup.status, dup.code) == (422, "idempotency_key_reused")
    assert session_state(api, sid) == before


def incompressible(size: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits + "äöüßéèê€"
    steps: dict[str, Any] = {}
    total = 0
    while True:
        value = "".join(rng.choice(alphabet) for _ in range(900))
        key = f"s{len(steps)}"
        steps[key] = value
        total = len(
            __import__("json")
            .dumps({"steps": steps}, separators=(",", ":"), ensure_ascii=False)
            .encode()
        )
        if total > size:
            del steps[key]
            break
    return {"steps": steps}


def test_the_largest_workflow_round_trips_and_every_item_stays_under_400_kb(api: Api) -> None:
    sid = api.create()["id"]
    first, second = incompressible(262144 - 1000, 1), incompressible(262144 - 1000, 2)
    assert put(api, sid, first).status == 200
    replaced = put(api, sid, second)
    assert replaced.status == 200, replaced.body
    assert api.call("workflow_version_get", session_id=sid, version="1").body["workflow"] == first
    assert api.call("workflow_versions_list", session_id=sid).status == 200
    diff = api.call("workflow_diff", session_id=sid, query={"from": "1", "to": "2"})
    assert diff.status == 200 and len(diff.body["changes"]) == len(first["steps"])
    reverted = api.call("workflow_revert", session_id=sid, body={"version": 1})
    assert reverted.status == 200
    assert api.call("workflow_get", session_id=sid).body["workflow"] == first
    for item in api.items():
        assert item_bytes(item) < 400 * 1024, item["sk"]
    assert max(item_bytes(i) for i in api.items()) > 100 * 1024  # the workflows are in there


def item_bytes(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (UTF-8 text, raw binary)."""
    total = 0
    for name, value in item.items():
        ((kind, data),) = value.items()
        size = len(data) if kind == "B" else len(str(data).encode("utf-8"))
        total += len(name.encode("utf-8")) + size
    return total


def test_each_version_write_and_turn_is_one_request_after_one_read(api: Api) -> None:
    sid = api.create()["id"]
    calls: Counter[str] = Counter()
    session_access.get_table().client.meta.events.register(
        "before-call.dynamodb", lambda model, **_: calls.update([model.name])
    )
    put(api, sid, WF)
    api.call("workflow_patch_merge", session_id=sid, raw_body='{"a": 1}', headers=ANY)
    api.call(
        "turns_post",
        session_id=sid,
        body={"messages": [{"role": "user", "content": "x"}], "workflow_patch": {"b": 2}},
    )
    assert calls == Counter({"BatchGetItem": 3, "TransactWriteItems": 3})


def test_version_numbers_and_if_match_tags_are_exact(api: Api) -> None:
    sid = api.create()["id"]
    put(api, sid, WF)
    for version in ("01", "\uff11", "0", "1.0", "+1"):
        assert api.call("workflow_version_get", session_id=sid, version=version).status == 404
    stale = put(api, sid, WF, headers={"if-match": '"01"'})
    assert (stale.status, stale.code) == (412, "version_conflict")
    listed = put(api, sid, {"v": 2}, headers={"if-match": '"7", W/"1"'})
    assert listed.status == 200 and listed.body["version"] == 2


def test_numbers_are_stored_and_returned_digit_for_digit(api: Api) -> None:
    sid = api.create()["id"]
    raw = '{"workflow": {"rate": 0.12345678901234567890123456789012345678, "big": 1.10E+125}}'
    assert api.call("workflow_put", session_id=sid, raw_body=raw, headers=ANY).status == 200
    answer = api.call("workflow_get", session_id=sid)
    assert '"rate":0.12345678901234567890123456789012345678' in answer.text
    assert '"big":1.10E+125' in answer.text


def test_a_malformed_json_patch_is_422_even_on_an_ended_session(api: Api) -> None:
    sid = api.create()["id"]
    api.call("sessions_end", session_id=sid)
    answer = api.call(
        "workflow_patch_json",
        session_id=sid,
        raw_body='[{"op": "jump", "path": "/a"}]',
        headers=ANY,
    )
    assert (answer.status, answer.code) == (422, "validation_error")  # 422 outranks 409


def test_a_write_that_changes_nothing_stores_no_version(api: Api) -> None:
    # api.md: a PUT, PATCH or revert whose result equals the current workflow stores no
    # version and is not an accepted write; a turn that changes nothing stores its messages
    session = api.create()
    sid = session["id"]
    first = api.call("workflow_put", session_id=sid, body={"workflow": {"a": 1, "b": [True]}})
    assert first.status == 200
    before = api.items()
    session_before = api.call("sessions_get", session_id=sid).body

    same = [
        api.call("workflow_put", session_id=sid, body={"workflow": {"b": [True], "a": 1}}),
        api.call("workflow_patch_merge", session_id=sid, raw_body='{"a": 1}'),
        api.call("workflow_revert", session_id=sid, body={"version": 1}),
    ]

    for answer in same:
        assert answer.status == 200, answer.body
        assert (answer.body["version"], answer.headers["etag"]) == (1, '"1"')
    assert api.items() == before
    assert api.call("sessions_get", session_id=sid).body == session_before

    # True is not 1 in JSON: that is a change
    changed = api.call("workflow_put", session_id=sid, body={"workflow": {"a": 1, "b": [1]}})
    assert (changed.status, changed.body["version"]) == (200, 2)

    turn = api.call(
        "turns_post",
        session_id=sid,
        body={"messages": [{"role": "user", "content": "no change"}], "workflow_patch": {}},
    )
    assert turn.status == 201, turn.body
    assert turn.body["workflow_version"] is None
    assert api.call("sessions_get", session_id=sid).body["workflow_version"] == 2
