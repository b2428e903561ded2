"""Rewind, summary and context through the real MessagesFunction handler, against moto
(api.md: POST .../rewind, PUT/GET .../summary, GET .../context, and the error order)."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from chat_sessions import clock, jsonutil
from tests.helpers.api import Answer, Api, ChangeSettings
from tests.integration.test_request_counts import count_requests


def key() -> dict[str, str]:
    return {"idempotency-key": f"retry-{uuid.uuid4()}"}


def snapshot(api: Api) -> list[str]:
    """Every item of the table, in a stable order: equal when nothing was written."""
    return sorted(repr(sorted(item.items())) for item in api.items())


def session_with(api: Api, count: int, sub: str = "alice") -> str:
    session = api.create(sub=sub)
    for seq in range(1, count + 1):
        answer = api.call(
            "messages_append",
            session_id=session["id"],
            body={"role": "user", "content": f"m{seq}"},
            sub=sub,
        )
        assert answer.status == 201
    return str(session["id"])


def stored(api: Api, sid: str) -> list[tuple[int, str]]:
    items = api.call("messages_list", session_id=sid, query={"limit": "100"}).body["items"]
    return [(m["seq"], m["content"]) for m in items]


def sort_keys(api: Api, sid: str) -> set[str]:
    return {i["sk"]["S"] for i in api.items() if i["pk"]["S"] == sid}


def rewind(api: Api, sid: str, to_seq: Any, **kwargs: Any) -> Answer:
    return api.call("rewind_post", session_id=sid, body={"to_seq": to_seq}, **kwargs)


def put_summary(api: Api, sid: str, covers_seq: Any, content: str = "sum", **kwargs: Any) -> Answer:
    body = {"content": content, "covers_seq": covers_seq, **kwargs.pop("extra", {})}
    return api.call("summary_put", session_id=sid, body=body, **kwargs)


def same_replay(first: Answer, again: Answer) -> None:
    assert (again.status, again.body) == (first.status, first.body)
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"


# --- rewind ------------------------------------------------------------------------------


def test_rewind_removes_the_later_messages_and_the_next_message_gets_to_seq_plus_one(
    api: Api,
) -> None:
    start = clock.now()
    # Given a session of 5 messages, the last written at `start`
    with clock.frozen(lambda: start):
        sid = session_with(api, 5)
    removed_ids = {
        m["id"] for m in api.call("messages_list", session_id=sid).body["items"] if m["seq"] > 3
    }

    # When it is rewound to 3, a minute later
    with clock.frozen(lambda: start + timedelta(minutes=1)):
        answer = rewind(api, sid, 3)

    # Then the answer is the session with 3 messages, refreshed as an accepted write
    assert answer.status == 200
    assert answer.body["message_count"] == 3
    assert answer.body["updated_at"] == clock.to_text(start + timedelta(minutes=1))
    assert answer.body["expires_at"] == clock.to_text(start + timedelta(minutes=31))
    assert answer.body == api.call("sessions_get", session_id=sid).body
    # And messages 4 and 5 are gone with their id guards
    assert stored(api, sid) == [(1, "m1"), (2, "m2"), (3, "m3")]
    keys = sort_keys(api, sid)
    assert not {"MSG#0000000004", "MSG#0000000005"} & keys
    assert not {f"MSGID#{i}" for i in removed_ids} & keys
    # And the next message is number 4, even with the id of a removed one
    again = api.append(sid, "new 4", id=sorted(removed_ids)[0])
    assert (again.status, again.body["seq"]) == (201, 4)
    assert stored(api, sid)[-1] == (4, "new 4")


def test_rewind_to_zero_removes_every_message(api: Api) -> None:
    sid = session_with(api, 3)
    assert rewind(api, sid, 0).body["message_count"] == 0
    assert stored(api, sid) == []
    assert not any(sk.startswith(("MSG#", "MSGID#")) for sk in sort_keys(api, sid))
    assert api.append(sid, "first again").body["seq"] == 1


def test_rewind_keeps_the_workflow_versions_and_their_message_ids(api: Api) -> None:
    # Given a turn whose version names its message, seq 2
    sid = session_with(api, 1)
    turn = {"messages": [{"role": "assistant", "content": "a"}], "workflow": {"name": "w"}}
    made = api.call("turns_post", session_id=sid, body=turn).body
    message_id = made["messages"][0]["id"]
    assert made["workflow_version"]["message_id"] == message_id

    # When the turn's message is removed
    answer = rewind(api, sid, 1)

    # Then the version stays, still naming it, and stays the current workflow
    assert answer.status == 200
    assert (answer.body["workflow_version"], answer.body["current_workflow"]) == (1, {"name": "w"})
    version = api.call("workflow_version_get", session_id=sid, version="1").body
    assert (version["message_id"], version["workflow"]) == (message_id, {"name": "w"})
    assert stored(api, sid) == [(1, "m1")]


def test_a_rewind_past_the_summary_removes_it_and_one_before_keeps_it(api: Api) -> None:
    sid = session_with(api, 6)
    assert put_summary(api, sid, 4).status == 200

    # A rewind to 4 keeps the summary of 1..4
    assert rewind(api, sid, 5).status == 200
    assert rewind(api, sid, 4).status == 200
    assert api.call("summary_get", session_id=sid).body["covers_seq"] == 4

    # A rewind to 3 removes it: 404, no summary in the context, no item left behind
    assert rewind(api, sid, 3).status == 200
    gone = api.call("summary_get", session_id=sid)
    assert (gone.status, gone.code) == (404, "not_found")
    context = api.call("context_get", session_id=sid).body
    assert (context["summary"], [m["seq"] for m in context["messages"]]) == (None, [1, 2, 3])
    assert "SUMMARY" not in sort_keys(api, sid)
    session_item = next(i for i in api.items() if i["pk"]["S"] == sid and i["sk"]["S"] == "SESSION")
    assert "summary_seq" not in session_item


def test_rewind_to_the_message_count_is_no_write_but_records_its_key(api: Api) -> None:
    start = clock.now()
    with clock.frozen(lambda: start):
        sid = session_with(api, 2)
    before = api.call("sessions_get", session_id=sid).body
    keys_before = sort_keys(api, sid)
    headers = key()

    with clock.frozen(lambda: start + timedelta(minutes=5)):
        first = rewind(api, sid, 2, headers=headers)
        # The answer is the session as it was: no expiry moved
        assert (first.status, first.body) == (200, before)
        # Only the key was stored
        assert sort_keys(api, sid) - keys_before == {"IDEM#" + headers["idempotency-key"]}
        assert api.call("sessions_get", session_id=sid).body == before
        same_replay(first, rewind(api, sid, 2, headers=headers))
        reused = rewind(api, sid, 1, headers=headers)
        assert (reused.status, reused.code) == (422, "idempotency_key_reused")
    assert stored(api, sid) == [(1, "m1"), (2, "m2")]


def test_a_rewind_replays_its_first_answer_and_writes_nothing(api: Api) -> None:
    sid = session_with(api, 5)
    headers = key()
    first = rewind(api, sid, 3, headers=headers)
    assert first.status == 200
    api.append(sid, "4 again")
    api.append(sid, "5 again")
    items = snapshot(api)

    # The same request again: the first answer (3 messages), though the session has 5 now
    again = rewind(api, sid, 3, headers=headers)
    same_replay(first, again)
    assert again.body["message_count"] == 3
    assert snapshot(api) == items
    assert [c for _, c in stored(api, sid)] == ["m1", "m2", "m3", "4 again", "5 again"]

    # Another body with the key: 422, nothing written; the key on another session is new
    reused = rewind(api, sid, 4, headers=headers)
    assert (reused.status, reused.code) == (422, "idempotency_key_reused")
    assert snapshot(api) == items
    other = session_with(api, 4)
    assert rewind(api, other, 3, headers=headers).body["message_count"] == 3


def test_a_replay_of_the_append_key_of_a_removed_message_answers_as_first_and_writes_nothing(
    api: Api,
) -> None:
    sid = session_with(api, 2)
    headers = key()
    body = {"role": "user", "content": "third"}
    first = api.call("messages_append", session_id=sid, body=body, headers=headers)
    assert (first.status, first.body["seq"]) == (201, 3)
    assert rewind(api, sid, 2).status == 200
    items = snapshot(api)

    again = api.call("messages_append", session_id=sid, body=body, headers=headers)

    # The first answer (key records outlive a rewind, as they live as long as the session),
    # and the removed message is not stored again
    same_replay(first, again)
    assert snapshot(api) == items
    assert stored(api, sid) == [(1, "m1"), (2, "m2")]
    assert api.append(sid, "next").body["seq"] == 3


def test_a_rewind_removes_at_most_40_messages(api: Api) -> None:
    sid = session_with(api, 45)
    items = snapshot(api)

    refused = rewind(api, sid, 4)

    assert (refused.status, refused.code) == (409, "limit_exceeded")
    assert "40" in refused.body["error"]["message"]
    assert snapshot(api) == items
    assert rewind(api, sid, 5).body["message_count"] == 5
    assert stored(api, sid) == [(seq, f"m{seq}") for seq in range(1, 6)]


def test_rewind_errors_come_in_the_contract_order_and_write_nothing(api: Api) -> None:
    sid = session_with(api, 3)
    ended = session_with(api, 3)
    replayed_key, used_key = key(), key()
    first = rewind(api, ended, 2, headers=replayed_key)
    assert rewind(api, ended, 1, headers=used_key).status == 200
    assert api.call("sessions_end", session_id=ended).status == 200
    items = snapshot(api)
    missing = str(uuid.uuid4())
    cases: list[tuple[str, dict[str, Any], int, str]] = [
        # 404 before anything about the body
        (missing, {"body": {"to_seq": 1}}, 404, "not_found"),
        (sid, {"body": {"to_seq": 1}, "sub": "mallory"}, 404, "not_found"),
        (missing, {"raw_body": "[1,"}, 404, "not_found"),
        (sid, {"path_value": "not-a-uuid", "body": {"to_seq": 1}}, 404, "not_found"),
        # 415, 400, 422 for the body and the key
        (sid, {"raw_body": "x", "content_type": "text/plain"}, 415, "unsupported_media_type"),
        (sid, {"raw_body": "[1,"}, 400, "bad_request"),
        (sid, {"body": {"to_seq": 1}, "headers": {"idempotency-key": "a b"}}, 400, "bad_request"),
        (sid, {"body": {}}, 422, "validation_error"),
        (sid, {"body": {"to_seq": -1}}, 422, "validation_error"),
        (sid, {"body": {"to_seq": "1"}}, 422, "validation_error"),
        (sid, {"body": {"to_seq": 1.5}}, 422, "validation_error"),
        (sid, {"body": {"to_seq": 1, "extra": 1}}, 422, "validation_error"),
        # A schema error outranks a replay
        (ended, {"body": {"to_seq": "2"}, "headers": replayed_key}, 422, "validation_error"),
        # A reused key outranks the session's state
        (ended, {"body": {"to_seq": 0}, "headers": used_key}, 422, "idempotency_key_reused"),
        # The session's state outranks the check of to_seq against its messages
        (ended, {"body": {"to_seq": 99}}, 409, "session_not_active"),
        (ended, {"body": {"to_seq": 1}}, 409, "session_not_active"),
        # to_seq past message_count
        (sid, {"body": {"to_seq": 4}}, 422, "validation_error"),
        (sid, {"body": {"to_seq": 9_999_999_999}}, 422, "validation_error"),
    ]
    for session_id, kwargs, status, code in cases:
        answer = api.call("rewind_post", session_id=session_id, **kwargs)
        assert (answer.status, answer.code) == (status, code), kwargs
    assert snapshot(api) == items
    # A replay works on an ended session (and outranks 409)
    same_replay(first, rewind(api, ended, 2, headers=replayed_key))
    assert snapshot(api) == items


def test_the_to_seq_error_names_the_field_and_the_limit(api: Api) -> None:
    sid = session_with(api, 2)
    answer = rewind(api, sid, 3)
    assert answer.body["error"]["details"][0]["field"] == "to_seq"
    assert "2" in answer.body["error"]["details"][0]["message"]


# --- summary -----------------------------------------------------------------------------


def test_a_summary_is_stored_read_and_replaced(api: Api) -> None:
    start = clock.now()
    with clock.frozen(lambda: start):
        sid = session_with(api, 3)
    assert api.call("summary_get", session_id=sid).status == 404

    with clock.frozen(lambda: start + timedelta(minutes=2)):
        first = put_summary(api, sid, 2, "the first two", extra={"metadata": {"model": "s1"}})
    assert first.status == 200
    stamp = clock.to_text(start + timedelta(minutes=2))
    assert first.body == {
        "content": "the first two",
        "covers_seq": 2,
        "metadata": {"model": "s1"},
        "updated_at": stamp,
    }
    assert api.call("summary_get", session_id=sid).body == first.body
    # An accepted write: the session's times move with it
    session = api.call("sessions_get", session_id=sid).body
    assert session["updated_at"] == stamp
    assert session["expires_at"] == clock.to_text(start + timedelta(minutes=32))

    second = put_summary(api, sid, 3, "all three")
    assert (second.status, second.body["metadata"]) == (200, {})
    assert api.call("summary_get", session_id=sid).body == second.body
    summaries = [i for i in api.items() if i["sk"]["S"] == "SUMMARY" and i["pk"]["S"] == sid]
    assert [i["content"] for i in summaries] == [{"S": "all three"}]


def test_a_summary_replay_rebuilds_the_first_answer_and_writes_nothing(api: Api) -> None:
    sid = session_with(api, 3)
    headers = key()
    first = put_summary(api, sid, 2, "first", headers=headers)
    assert put_summary(api, sid, 3, "second").status == 200
    api.call("sessions_end", session_id=sid)
    items = snapshot(api)

    # On an ended session, after another summary replaced it: the first answer
    same_replay(first, put_summary(api, sid, 2, "first", headers=headers))
    reused = put_summary(api, sid, 2, "other", headers=headers)
    assert (reused.status, reused.code) == (422, "idempotency_key_reused")
    assert snapshot(api) == items
    assert api.call("summary_get", session_id=sid).body["content"] == "second"


def test_summary_errors_come_in_the_contract_order_and_write_nothing(
    api: Api, settings: ChangeSettings
) -> None:
    settings(MAX_MESSAGE_BYTES="100", MAX_METADATA_BYTES="50")
    sid = session_with(api, 3)
    ended = session_with(api, 3)
    used_key = key()
    assert put_summary(api, ended, 1, "once", headers=used_key).status == 200
    assert api.call("sessions_end", session_id=ended).status == 200
    items = snapshot(api)
    missing = str(uuid.uuid4())
    big = "x" * 101
    cases: list[tuple[str, dict[str, Any], int, str]] = [
        (missing, {"body": {"content": big, "covers_seq": 1}}, 404, "not_found"),
        (sid, {"body": {"content": "s", "covers_seq": 1}, "sub": "mallory"}, 404, "not_found"),
        (sid, {"raw_body": "x", "content_type": "text/plain"}, 415, "unsupported_media_type"),
        (sid, {"raw_body": "{"}, 400, "bad_request"),
        (sid, {"body": {"content": "s", "covers_seq": 0}}, 422, "validation_error"),
        (sid, {"body": {"content": " ", "covers_seq": 1}}, 422, "validation_error"),
        (sid, {"body": {"covers_seq": 1}}, 422, "validation_error"),
        (sid, {"body": {"content": "s", "covers_seq": 1, "metadata": []}}, 422, "validation_error"),
        # 413 for the content or the metadata, before a reused key and the session's state
        (sid, {"body": {"content": big, "covers_seq": 1}}, 413, "payload_too_large"),
        (
            sid,
            {"body": {"content": "s", "covers_seq": 1, "metadata": {"m": "y" * 60}}},
            413,
            "payload_too_large",
        ),
        (
            ended,
            {"body": {"content": big, "covers_seq": 1}, "headers": used_key},
            413,
            "payload_too_large",
        ),
        (
            ended,
            {"body": {"content": "other", "covers_seq": 1}, "headers": used_key},
            422,
            "idempotency_key_reused",
        ),
        (ended, {"body": {"content": "s", "covers_seq": 9}}, 409, "session_not_active"),
        (sid, {"body": {"content": "s", "covers_seq": 4}}, 422, "validation_error"),
    ]
    for session_id, kwargs, status, code in cases:
        answer = api.call("summary_put", session_id=session_id, **kwargs)
        assert (answer.status, answer.code) == (status, code), kwargs
    assert snapshot(api) == items
    over = put_summary(api, sid, 1, big)
    assert "summary content" in over.body["error"]["message"]
    past = put_summary(api, sid, 4)
    assert past.body["error"]["details"][0]["field"] == "covers_seq"


def test_get_summary_is_404_for_another_caller_or_a_malformed_id(api: Api) -> None:
    sid = session_with(api, 1)
    assert put_summary(api, sid, 1).status == 200
    for kwargs in ({"session_id": sid, "sub": "mallory"}, {"path_value": "nope"}):
        answer = api.call("summary_get", **kwargs)
        assert (answer.status, answer.code) == (404, "not_found")
    assert "summary" not in api.call("summary_get", session_id=sid, sub="mallory").text


# --- context -----------------------------------------------------------------------------


def messages_json_size(messages: list[dict[str, Any]]) -> int:
    return len(jsonutil.dumps(messages).encode("utf-8"))


def test_the_context_holds_session_summary_workflow_and_messages_after_the_summary(
    api: Api,
) -> None:
    sid = session_with(api, 6)
    assert api.call("workflow_put", session_id=sid, body={"workflow": {"name": "w"}}).status == 200
    summary = put_summary(api, sid, 3, "1 to 3").body
    session = api.call("sessions_get", session_id=sid).body
    calls = count_requests(api)

    answer = api.call("context_get", session_id=sid)

    # One read of session, workflow and summary; one of the messages
    assert calls == Counter({"BatchGetItem": 1, "Query": 1})
    assert answer.status == 200
    body = answer.body
    assert set(body) == {"session", "summary", "workflow", "messages", "omitted"}
    assert body["session"] == {k: v for k, v in session.items() if k != "current_workflow"}
    assert body["summary"] == summary
    assert body["workflow"] == {"version": 1, "workflow": {"name": "w"}}
    assert [(m["seq"], m["content"]) for m in body["messages"]] == [(4, "m4"), (5, "m5"), (6, "m6")]
    assert (
        body["messages"]
        == api.call("messages_list", session_id=sid, query={"after_seq": "3"}).body["items"]
    )
    assert body["omitted"] == 0


def test_the_context_of_a_session_without_summary_or_workflow(api: Api) -> None:
    sid = session_with(api, 2)
    body = api.call("context_get", session_id=sid).body
    assert (body["summary"], body["workflow"], body["omitted"]) == (None, None, 0)
    assert [m["content"] for m in body["messages"]] == ["m1", "m2"]
    empty = api.create()["id"]
    body = api.call("context_get", session_id=empty).body
    assert (body["messages"], body["omitted"]) == ([], 0)


def test_the_context_keeps_the_latest_messages_that_fit_in_max_bytes(api: Api) -> None:
    # Given 30 messages of about 150 bytes each as JSON
    sid = session_with(api, 0)
    for seq in range(1, 31):
        assert api.append(sid, f"{seq:02d}" + "x" * 20).status == 201

    answer = api.call("context_get", session_id=sid, query={"max_bytes": "1000"})

    # Then the newest that fit, oldest first, and the next older one would not have fit
    messages = answer.body["messages"]
    kept = len(messages)
    assert 0 < kept < 30
    assert [m["seq"] for m in messages] == list(range(31 - kept, 31))
    assert messages_json_size(messages) <= 1000
    older = api.call("messages_list", session_id=sid, query={"limit": "100"}).body["items"]
    assert messages_json_size([older[29 - kept], *messages]) > 1000
    assert answer.body["omitted"] == 30 - kept


def test_the_context_reads_pages_that_double_only_while_messages_fit(api: Api) -> None:
    sid = session_with(api, 80)
    calls = count_requests(api)

    # All 80 fit: pages of 25, 50 and the last 5
    answer = api.call("context_get", session_id=sid)
    assert [m["seq"] for m in answer.body["messages"]] == list(range(1, 81))
    assert calls == Counter({"BatchGetItem": 1, "Query": 3})

    # 10 fit: one page of 25
    calls.clear()
    one_size = messages_json_size(answer.body["messages"][-1:])
    small = api.call("context_get", session_id=sid, query={"max_bytes": str(one_size * 10 + 9)})
    assert ([m["seq"] for m in small.body["messages"]], small.body["omitted"]) == (
        list(range(71, 81)),
        70,
    )
    assert calls == Counter({"BatchGetItem": 1, "Query": 1})


def test_a_newest_message_larger_than_max_bytes_leaves_the_messages_empty(api: Api) -> None:
    sid = session_with(api, 2)
    assert api.append(sid, "x" * 1200).status == 201
    body = api.call("context_get", session_id=sid, query={"max_bytes": "1000"}).body
    assert (body["messages"], body["omitted"]) == ([], 3)


def test_the_context_of_an_ended_session_is_read_as_is(api: Api) -> None:
    sid = session_with(api, 1)
    api.call("sessions_end", session_id=sid)
    items = snapshot(api)
    body = api.call("context_get", session_id=sid).body
    assert (body["session"]["status"], len(body["messages"])) == ("ended", 1)
    assert snapshot(api) == items


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("999", 400),
        ("1000", 200),
        ("2000000", 200),
        ("2000001", 400),
        ("-5", 400),
        ("1e4", 400),
        ("", 400),
    ],
)
def test_max_bytes_is_1000_to_2000000(api: Api, value: str, status: int) -> None:
    sid = session_with(api, 1)
    answer = api.call("context_get", session_id=sid, query={"max_bytes": value})
    assert answer.status == status
    if status == 400:
        assert answer.code == "bad_request"
        assert "max_bytes" in answer.body["error"]["message"]


def test_the_context_of_a_missing_or_another_callers_session_is_404(api: Api) -> None:
    sid = session_with(api, 1)
    for kwargs in (
        {"session_id": sid, "sub": "mallory"},
        {"session_id": str(uuid.uuid4()), "query": {"max_bytes": "5"}},
        {"path_value": "x"},
    ):
        answer = api.call("context_get", **kwargs)
        assert (answer.status, answer.code) == (404, "not_found"), kwargs


LAMBDA_RESPONSE_LIMIT = 6_291_556


def test_the_context_stays_within_lambdas_response_limit_whatever_is_stored(
    api: Api, settings: ChangeSettings
) -> None:
    # Given every limit at its highest setting, and what escapes most inside Lambda's
    # response: a summary of control characters (1 byte, 7 escaped), quotes elsewhere (2)
    settings(MAX_MESSAGE_BYTES="262144", MAX_METADATA_BYTES="65536", MAX_WORKFLOW_BYTES="262144")
    quotes = '"' * 32_000
    sid = api.create(metadata={"m": quotes})["id"]
    assert api.append(sid, "covered").status == 201
    for _ in range(7):
        assert api.append(sid, '"' * 131_000).status == 201
    assert api.append(sid, '"' * 81_000).status == 201
    workflow = {"workflow": {"w": '"' * 131_000}}
    assert api.call("workflow_put", session_id=sid, body=workflow).status == 200
    summary = put_summary(api, sid, 1, "\x01" * 262_144, extra={"metadata": {"m": quotes}})
    assert summary.status == 200
    everything = api.call("messages_list", session_id=sid, query={"after_seq": "1"}).body["items"]
    assert messages_json_size(everything) <= 2_000_000  # all 8 fit in max_bytes

    # When the context is read with the largest max_bytes
    answer = api.call("context_get", session_id=sid, query={"max_bytes": "2000000"})

    # Then the answer fits Lambda's response: the oldest messages are left out, and counted
    assert answer.status == 200
    assert answer.lambda_bytes <= LAMBDA_RESPONSE_LIMIT
    kept = answer.body["messages"]
    assert 0 < len(kept) < 8
    assert [m["seq"] for m in kept] == list(range(10 - len(kept), 10))
    assert answer.body["omitted"] == 8 - len(kept)


def test_a_context_racing_a_rewind_answers_one_state_of_the_session(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Defect (make chaos): a rewind landing between the context's read of the session and
    # its read of the messages gave message_count 4 with messages [1] and omitted 3.
    from chat_sessions.session_store import SessionStore

    session_id = api.create(initial_description="one")["id"]
    for text in ("two", "three", "four"):
        api.append(session_id, text)
    read = SessionStore.messages_newest_first
    rewound: list[int] = []

    def rewind_first(self: SessionStore, *args: Any, **kwargs: Any) -> Any:
        if not rewound:
            rewound.append(1)
            answer = api.call("rewind_post", session_id=session_id, body={"to_seq": 1})
            assert answer.status == 200
        return read(self, *args, **kwargs)

    monkeypatch.setattr(SessionStore, "messages_newest_first", rewind_first)
    body = api.call("context_get", session_id=session_id).body

    assert body["session"]["message_count"] == 1
    assert [m["seq"] for m in body["messages"]] == [1]
    assert body["omitted"] == 0
