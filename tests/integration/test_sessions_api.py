"""Sessions routes through the real SessionsFunction handler, against moto."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from chat_sessions import clock
from tests.helpers.api import Api, ChangeSettings


def test_create_returns_the_session_with_location_and_the_description_as_message_1(
    api: Api,
) -> None:
    # When a session is created with an initial description
    answer = api.call(
        "sessions_create",
        body={"title": "Nightly ETL", "initial_description": "Load orders", "metadata": {"k": 1}},
    )
    # Then it is active, counted, located, and the description is message 1 from the user
    assert answer.status == 201
    session = answer.body
    assert answer.headers["location"] == f"/sessions/{session['id']}"
    assert uuid.UUID(session["id"])
    assert session["status"] == "active"
    assert session["title"] == "Nightly ETL"
    assert session["metadata"] == {"k": 1}
    assert session["message_count"] == 1
    assert session["workflow_version"] == 0
    assert session["current_workflow"] is None
    created = clock.from_text(session["created_at"])
    assert clock.from_text(session["expires_at"]) == created + timedelta(minutes=30)
    assert clock.from_text(session["delete_after"]) == created + timedelta(minutes=30, hours=24)
    listed = api.call("messages_list", session_id=session["id"], query={}).body["items"]
    assert [(m["seq"], m["role"], m["content"]) for m in listed] == [(1, "user", "Load orders")]


def test_create_with_no_body_and_with_blank_description_stores_no_message(api: Api) -> None:
    empty = api.call("sessions_create", raw_body="", content_type=None)
    empty_json = api.call("sessions_create", raw_body="", content_type="application/json")
    assert empty_json.status == 201
    blank = api.call("sessions_create", body={"initial_description": "  \n "})
    assert (empty.status, blank.status) == (201, 201)
    assert empty.body["title"] is None and empty.body["metadata"] == {}
    assert empty.body["message_count"] == blank.body["message_count"] == 0


def test_idempotency_key_returns_the_same_session_to_the_same_caller_only(api: Api) -> None:
    key = {"idempotency-key": "retry-me"}
    first = api.call("sessions_create", body={"title": "a"}, headers=key)
    again = api.call("sessions_create", body={"title": "a"}, headers=key)
    other = api.call("sessions_create", body={"title": "a"}, headers=key, sub="bob")
    changed = api.call("sessions_create", body={"title": "b"}, headers=key)
    assert first.status == again.status == other.status == 201
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert again.body["id"] == first.body["id"]
    assert other.body["id"] != first.body["id"]
    assert (changed.status, changed.code) == (422, "idempotency_key_reused")
    assert api.call("sessions_list", query={}).body["items"][0]["id"] == first.body["id"]
    assert len(api.call("sessions_list", query={}).body["items"]) == 1


def test_idempotency_key_out_of_range_is_a_bad_request(api: Api) -> None:
    answer = api.call("sessions_create", body={}, headers={"idempotency-key": "k" * 129})
    assert (answer.status, answer.code) == (400, "bad_request")
    assert api.items() == []


def test_bad_create_bodies_get_the_contract_errors_and_write_nothing(api: Api) -> None:
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"raw_body": "{not json"}, 400, "bad_request"),
        (
            {"raw_body": b'{"title": "\xff\xfe"}', "content_type": "application/json"},
            400,
            "bad_request",
        ),
        (
            {"raw_body": "title=x", "content_type": "application/x-www-form-urlencoded"},
            415,
            "unsupported_media_type",
        ),
        ({"body": {"title": "x", "colour": "red"}}, 422, "validation_error"),
        ({"body": {"title": "t" * 201}}, 422, "validation_error"),
        ({"body": {"metadata": ["not", "an", "object"]}}, 422, "validation_error"),
        ({"body": {"title": 5}}, 422, "validation_error"),
        ({"raw_body": '{"metadata": {"x": NaN}}'}, 422, "validation_error"),
        ({"raw_body": '{"metadata": {"x": Infinity}}'}, 422, "validation_error"),
        ({"raw_body": '{"metadata": {"x": 1e999}}'}, 422, "validation_error"),
        (
            {"raw_body": '{"metadata": {"x": 123456789012345678901234567890123456789}}'},
            422,
            "validation_error",
        ),
        (
            {"body": {"metadata": json.loads("[" * 0 + '{"a":' * 32 + "1" + "}" * 32)}},
            422,
            "validation_error",
        ),
        ({"body": {"metadata": {"blob": "x" * 8200}}}, 413, "payload_too_large"),
        ({"body": {"initial_description": "x" * 65537}}, 413, "payload_too_large"),
    ]
    for kwargs, status, code in cases:
        answer = api.call("sessions_create", **kwargs)
        assert (answer.status, answer.code) == (status, code), kwargs
    assert api.items() == []


def test_validation_errors_name_the_fields(api: Api) -> None:
    answer = api.call("sessions_create", body={"title": 5, "extra": 1})
    fields = {d["field"] for d in answer.body["error"]["details"]}
    assert fields == {"title", "extra"}


def test_metadata_and_content_at_their_limits_are_accepted(api: Api) -> None:
    metadata = {"b": "x" * (8192 - len('{"b":""}'))}
    answer = api.call(
        "sessions_create", body={"metadata": metadata, "initial_description": "é" * 32768}
    )
    assert answer.status == 201, answer.body


def test_no_caller_is_unauthorized(api: Api) -> None:
    for name in ("sessions_create", "sessions_list", "sessions_get"):
        answer = api.call(name, sub=None)
        assert (answer.status, answer.code) == (401, "unauthorized")
    assert api.items() == []


def test_other_callers_malformed_and_missing_sessions_are_not_found(api: Api) -> None:
    session = api.create()
    for kwargs in (
        {"session_id": session["id"], "sub": "mallory"},
        {"path_value": "not-a-uuid"},
        {"session_id": str(uuid.uuid4())},
    ):
        for name in (
            "sessions_get",
            "sessions_patch",
            "sessions_end",
            "sessions_delete",
            "messages_append",
            "messages_list",
        ):
            answer = api.call(name, **kwargs)
            assert (answer.status, answer.code) == (404, "not_found"), (name, kwargs)
    assert api.call("sessions_get", session_id=session["id"]).status == 200


def test_not_found_outranks_body_and_query_errors(api: Api) -> None:
    missing = str(uuid.uuid4())
    assert api.call("sessions_patch", session_id=missing, raw_body="{bad").status == 404
    assert api.call("messages_append", session_id=missing, body={"role": "x"}).status == 404
    assert api.call("messages_list", session_id=missing, query={"limit": "0"}).status == 404


def test_list_is_newest_first_and_pages_with_cursors(api: Api) -> None:
    ids = [api.create(title=f"s{i}")["id"] for i in range(5)]
    api.append(ids[1], "touch")  # s1 becomes the most recently updated
    api.create(sub="bob")
    seen, cursor = [], None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = api.call("sessions_list", query=query)
        assert page.status == 200
        assert len(page.body["items"]) <= 2
        seen += [s["id"] for s in page.body["items"]]
        cursor = page.body["next_cursor"]
        if cursor is None:
            break
        assert all(c.isalnum() or c in "-_" for c in cursor)
    assert seen == [ids[1], ids[4], ids[3], ids[2], ids[0]]
    assert "current_workflow" not in page.body["items"][0] if page.body["items"] else True


def test_list_filters_by_status(api: Api) -> None:
    active = api.create()["id"]
    ended = api.create()["id"]
    api.call("sessions_end", session_id=ended)
    by_status = {
        status: [s["id"] for s in api.call("sessions_list", query={"status": status}).body["items"]]
        for status in ("active", "ended", "expired")
    }
    assert by_status == {"active": [active], "ended": [ended], "expired": []}


def test_list_rejects_bad_query_values_and_foreign_or_altered_cursors(api: Api) -> None:
    for _ in range(3):
        api.create()
    cursor = api.call("sessions_list", query={"limit": "1"}).body["next_cursor"]
    altered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    for query in (
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "ten"},
        {"status": "gone"},
        {"cursor": altered},
        {"cursor": "%%%"},
        {"cursor": cursor, "status": "active"},
    ):
        answer = api.call("sessions_list", query=query)
        assert (answer.status, answer.code) == (400, "bad_request"), query
    assert api.call("sessions_list", query={"cursor": cursor}, sub="bob").status == 400
    assert api.call("sessions_list", query={"cursor": cursor}).status == 200


def test_patch_changes_title_and_merges_metadata(api: Api) -> None:
    session = api.create(title="old", metadata={"keep": 1, "drop": 2})
    answer = api.call(
        "sessions_patch",
        session_id=session["id"],
        body={"title": "new", "metadata": {"drop": None, "add": "x"}},
    )
    assert answer.status == 200
    assert answer.body["title"] == "new"
    assert answer.body["metadata"] == {"keep": 1, "add": "x"}
    assert answer.body["updated_at"] >= session["updated_at"]
    cleared = api.call("sessions_patch", session_id=session["id"], body={"title": None})
    assert cleared.body["title"] is None and cleared.body["metadata"] == {"keep": 1, "add": "x"}


def test_patch_over_the_metadata_limit_after_merging_changes_nothing(api: Api) -> None:
    session = api.create(metadata={"a": "x" * 5000})
    answer = api.call(
        "sessions_patch", session_id=session["id"], body={"metadata": {"b": "y" * 5000}}
    )
    assert (answer.status, answer.code) == (413, "payload_too_large")
    after = api.call("sessions_get", session_id=session["id"]).body
    assert after["metadata"] == {"a": "x" * 5000}
    assert after["updated_at"] == session["updated_at"]


def test_end_makes_the_session_read_only(api: Api) -> None:
    session = api.create()
    message_id = str(uuid.uuid4())
    first = api.append(session["id"], "before end", id=message_id)
    ended = api.call("sessions_end", session_id=session["id"])
    assert ended.status == 200
    assert ended.body["status"] == "ended"
    assert ended.body["expires_at"] == ended.body["updated_at"]
    end_time = clock.from_text(ended.body["expires_at"])
    assert clock.from_text(ended.body["delete_after"]) == end_time + timedelta(hours=24)
    for answer in (
        api.call("sessions_end", session_id=session["id"]),
        api.append(session["id"], "after end"),
        api.call("sessions_patch", session_id=session["id"], body={"title": "x"}),
    ):
        assert (answer.status, answer.code) == (409, "session_not_active")
    replay = api.append(session["id"], "before end", id=message_id)
    assert (replay.status, replay.body) == (200, first.body)
    assert api.call("sessions_get", session_id=session["id"]).body["message_count"] == 1


def test_delete_removes_the_session_and_all_its_items(api: Api) -> None:
    session = api.create(initial_description="one")
    for i in range(30):
        assert api.append(session["id"], f"m{i}").status == 201
    keep = api.create(sub="bob")
    answer = api.call("sessions_delete", session_id=session["id"])
    assert answer.status == 204
    assert api.call("sessions_get", session_id=session["id"]).status == 404
    assert api.call("messages_list", session_id=session["id"]).status == 404
    assert api.call("sessions_delete", session_id=session["id"]).status == 404
    # Every item left is the other session's (its own, or its create's key record)
    left = {i.get("session_id", i["pk"])["S"] for i in api.items()}
    assert left == {keep["id"]}


def test_sessions_expire_after_idle_time_and_writes_slide_the_expiry(api: Api) -> None:
    start = clock.now()
    with clock.frozen(lambda: start):
        session = api.create()
    later = start + timedelta(minutes=20)
    with clock.frozen(lambda: later):
        assert api.append(session["id"], "still here").status == 201
    with clock.frozen(lambda: start + timedelta(minutes=45)):
        still = api.call("sessions_get", session_id=session["id"]).body
        assert still["status"] == "active"
        assert still["expires_at"] == clock.to_text(later + timedelta(minutes=30))
    with clock.frozen(lambda: later + timedelta(minutes=30)):
        expired = api.call("sessions_get", session_id=session["id"])
        assert expired.body["status"] == "expired"
        write = api.append(session["id"], "too late")
        assert (write.status, write.code) == (409, "session_not_active")
    stored = next(i for i in api.items() if i["sk"]["S"] == "SESSION")
    assert stored["status"]["S"] == "expired"
    assert stored["deadline"]["S"] == stored["delete_after"]["S"]


def test_the_maximum_lifetime_caps_a_busy_session(api: Api, settings: ChangeSettings) -> None:
    settings(SESSION_MAX_LIFETIME_HOURS="1")
    start = clock.now()
    with clock.frozen(lambda: start):
        session = api.create()
    for minutes in range(20, 60, 20):
        # Used within this iteration only: the late binding B023 warns of cannot bite.
        with clock.frozen(lambda: start + timedelta(minutes=minutes)):  # noqa: B023
            assert api.append(session["id"], "busy").status == 201
    with clock.frozen(lambda: start + timedelta(minutes=50)):
        body = api.call("sessions_get", session_id=session["id"]).body
        assert body["expires_at"] == clock.to_text(start + timedelta(hours=1))
    with clock.frozen(lambda: start + timedelta(hours=1)):
        assert api.append(session["id"], "over").status == 409


def test_a_session_is_gone_once_delete_after_has_passed(api: Api) -> None:
    start = clock.now()
    with clock.frozen(lambda: start):
        session = api.create()
    with clock.frozen(lambda: start + timedelta(minutes=30, hours=24)):
        assert api.call("sessions_get", session_id=session["id"]).status == 404
        assert api.call("sessions_list", query={}).body["items"] == []


def test_every_item_carries_the_ttl_backstop(api: Api) -> None:
    session = api.create(initial_description="first")
    api.append(session["id"], "second", id=str(uuid.uuid4()))
    created = clock.from_text(session["created_at"])
    expected = int((created + timedelta(hours=48)).timestamp())
    items = api.items()
    assert len(items) == 6  # session, 2 messages, 2 id guards, the create's key record
    assert {int(i["ttl"]["N"]) for i in items} == {expected}


def test_openapi_needs_no_caller(api: Api) -> None:
    answer = api.call("openapi_get", sub=None)
    assert answer.status == 200
    assert answer.body["openapi"].startswith("3.")
    assert "/sessions/{session_id}/messages" in answer.body["paths"]


def test_only_canonical_uuids_name_a_session(api: Api) -> None:
    sid = api.create()["id"]
    for form in (f"{{{sid}}}", f"urn:uuid:{sid}", sid.replace("-", ""), sid + " "):
        assert api.call("sessions_get", path_value=form).status == 404, form
    assert api.call("sessions_get", path_value=sid.upper()).status == 200


def test_a_patch_with_nothing_to_change_is_not_a_write(api: Api) -> None:
    session = api.create(title="t")
    nothing: list[dict[str, Any]] = [{"raw_body": "", "content_type": None}, {"body": {}}]
    for kwargs in nothing:
        answer = api.call("sessions_patch", session_id=session["id"], **kwargs)
        assert answer.status == 200
        assert answer.body["updated_at"] == session["updated_at"]
        assert answer.body["expires_at"] == session["expires_at"]
