"""Fork, export and import through the real TransfersFunction handler, against moto: what
each copies, the contract's errors in its order, Idempotency-Key replays, rejected requests
writing nothing, and the round trip of issue 12's acceptance item 2."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest

from chat_sessions import clock
from chat_sessions.lifecycle_models import ExportOut
from tests.helpers.api import Answer, Api, ChangeSettings
from tests.helpers.transfers import (
    TIME,
    Wire,
    call,
    document,
    lambda_size_python311,
    rich_session,
    without_key,
)

MISSING = "6f1c2a9e-3b7d-4c1e-9a55-0d2f8e4b7c10"


def key() -> dict[str, str]:
    return {"idempotency-key": str(uuid.uuid4())}


def fork(api: Api, sid: str, body: Any = None, sub: str = "alice", **kwargs: Any) -> Answer:
    return api.call(
        "fork_post", session_id=sid, body={} if body is None else body, sub=sub, **kwargs
    )


def export(api: Api, sid: str, sub: str = "alice") -> Answer:
    return api.call("export_get", session_id=sid, sub=sub)


def import_(api: Api, doc: Any, sub: str | None = "alice", **kwargs: Any) -> Answer:
    if isinstance(doc, str):
        return api.call("import_post", raw_body=doc, sub=sub, **kwargs)
    return api.call("import_post", body=doc, sub=sub, **kwargs)


def every(api: Api, name: str, sid: str, sub: str = "alice") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    query = {"limit": "100"}
    while True:
        page = api.call(name, session_id=sid, sub=sub, query=query).body
        items += page["items"]
        if page["next_cursor"] is None:
            return items
        query = {"limit": "100", "cursor": page["next_cursor"]}


def error(answer: Answer) -> tuple[int, str | None]:
    return answer.status, answer.code


def after_messages(text: str) -> str:
    """An export's messages, versions and summary: its text from the messages on."""
    return text[text.index(',"messages":') :]


# --- fork -------------------------------------------------------------------------------


def test_a_fork_copies_messages_up_to_at_seq_and_the_workflow_of_at_version(api: Api) -> None:
    # Given a session with 4 messages, 5 versions and a summary
    sid = rich_session(api)
    source = api.call("sessions_get", session_id=sid).body
    messages = every(api, "messages_list", sid)
    version_2 = api.call("workflow_version_get", session_id=sid, version="2").body
    stored_before = [i for i in api.items() if i["pk"]["S"] == sid]

    # When the caller forks it at message 3 and version 2
    answer = without_key("fork_post", session_id=sid, body={"at_seq": 3, "at_version": 2})

    # Then a new active session holds copies of messages 1..3 and version 2's workflow as
    # its version 1, with the source's title and metadata, and says where it came from
    assert answer.status == 201, answer.body
    new = answer.body
    assert answer.headers["location"] == f"/sessions/{new['id']}"
    assert new["id"] != sid and new["status"] == "active"
    assert (new["title"], new["metadata"]) == (source["title"], source["metadata"])
    assert (new["message_count"], new["workflow_version"]) == (3, 1)
    assert new["forked_from"] == {"session_id": sid, "seq": 3, "version": 2}
    assert new["imported_from"] is None
    assert new["current_workflow"] == version_2["workflow"]
    assert api.call("sessions_get", session_id=new["id"]).body == new
    assert every(api, "messages_list", new["id"]) == messages[:3]
    (first,) = every(api, "workflow_versions_list", new["id"])
    assert first["version"] == 1 and first["source"] == "fork"
    assert first["changes"] == [f"forked from {sid} version 2"]
    assert (first["note"], first["message_id"], first["reverted_from"]) == (None, None, None)
    assert first["created_at"] <= new["created_at"]
    # ... with no summary (the fork is a new conversation), expiring from now
    assert api.call("summary_get", session_id=new["id"]).status == 404
    assert new["created_at"] >= source["updated_at"]
    # And the fork read the source without writing to it
    assert [i for i in api.items() if i["pk"]["S"] == sid] == stored_before
    assert api.call("sessions_get", session_id=sid).body == source


def test_a_fork_goes_on_as_a_session_of_its_own(api: Api) -> None:
    sid = rich_session(api)
    new = fork(api, sid, {"at_seq": 2}).body["id"]
    copied = every(api, "messages_list", new)[1]

    # The next message is seq 3; a copied client id replays as in the source
    assert api.append(new, "a new branch").body["seq"] == 3
    replay = api.call(
        "messages_append",
        session_id=new,
        body={k: copied[k] for k in ("id", "role", "content", "metadata")},
    )
    assert (replay.status, replay.body) == (200, copied)
    # And the source does not change with it; both are in the caller's list
    assert api.call("sessions_get", session_id=sid).body["message_count"] == 4
    listed = {s["id"] for s in api.call("sessions_list").body["items"]}
    assert {sid, new} <= listed


def test_a_fork_by_default_copies_everything_and_of_an_empty_session_nothing(api: Api) -> None:
    sid = rich_session(api)
    source = api.call("sessions_get", session_id=sid).body
    whole = without_key("fork_post", session_id=sid, raw_body="", content_type=None)
    assert whole.status == 201, whole.body
    assert whole.body["message_count"] == source["message_count"]
    assert whole.body["current_workflow"] == source["current_workflow"]
    assert whole.body["forked_from"] == {
        "session_id": sid,
        "seq": source["message_count"],
        "version": source["workflow_version"],
    }
    empty = api.create()["id"]
    blank = fork(api, empty).body
    assert (blank["message_count"], blank["workflow_version"]) == (0, 0)
    assert blank["current_workflow"] is None
    assert blank["forked_from"] == {"session_id": empty, "seq": 0, "version": 0}
    no_workflow = fork(api, sid, {"at_version": 0}).body
    assert no_workflow["workflow_version"] == 0 and no_workflow["current_workflow"] is None
    assert no_workflow["forked_from"]["version"] == 0


def test_title_and_metadata_of_the_body_replace_the_sources(api: Api) -> None:
    sid = rich_session(api)
    named = fork(api, sid, {"title": "Try B", "metadata": {"branch": "b"}}).body
    assert (named["title"], named["metadata"]) == ("Try B", {"branch": "b"})
    untitled = fork(api, sid, {"title": None}).body
    assert untitled["title"] is None
    assert untitled["metadata"] == api.call("sessions_get", session_id=sid).body["metadata"]


@pytest.mark.parametrize("how", ["ended", "expired"])
def test_an_ended_or_expired_session_can_be_forked_into_an_active_one(api: Api, how: str) -> None:
    start = clock.now()
    with clock.frozen(lambda: start):
        sid = api.create(initial_description="before")["id"]
        if how == "ended":
            assert api.call("sessions_end", session_id=sid).status == 200
    later = start + timedelta(hours=2)
    with clock.frozen(lambda: later):
        answer = fork(api, sid)
        assert answer.status == 201, answer.body
        assert answer.body["status"] == "active"
        assert answer.body["expires_at"] == clock.to_text(later + timedelta(minutes=30))
        assert api.append(answer.body["id"], "after").status == 201
        assert api.call("sessions_get", session_id=sid).body["status"] == how


def test_a_fork_of_what_the_caller_cannot_see_is_not_found_and_writes_nothing(api: Api) -> None:
    sid = rich_session(api)
    gone = api.create()["id"]
    assert api.call("sessions_delete", session_id=gone).status == 204
    before = api.items()
    for target, sub in [(sid, "bob"), (MISSING, "alice"), (gone, "alice"), ("not-a-uuid", "alice")]:
        assert error(fork(api, target, sub=sub)) == (404, "not_found")
    # 404 outranks the body's 415, 400 and 422, and the metadata's 413
    bad: list[dict[str, Any]] = [
        {"raw_body": "{", "content_type": "text/plain"},
        {"raw_body": "{"},
        {"body": {"at_seq": -1}},
        {"body": {"metadata": {"x": "y" * 10_000}}},
        {"body": {}, "headers": {"idempotency-key": "has space"}},
    ]
    for kwargs in bad:
        assert error(api.call("fork_post", session_id=MISSING, **kwargs)) == (404, "not_found")
    assert api.items() == before


def test_a_bad_fork_gets_the_contracts_errors_in_order_and_writes_nothing(
    api: Api, settings: ChangeSettings
) -> None:
    settings(MAX_METADATA_BYTES=100)
    sid = rich_session(api)
    before = api.items()
    cases = [
        ({"raw_body": "not json", "content_type": "text/plain"}, 415, "unsupported_media_type"),
        ({"raw_body": "{"}, 400, "bad_request"),
        ({"body": {}, "headers": {"idempotency-key": "has space"}}, 400, "bad_request"),
        ({"body": {"at_seq": 1, "extra": 1}}, 422, "validation_error"),
        ({"body": {"at_seq": "1"}}, 422, "validation_error"),
        # The schema outranks the metadata's size, which outranks the counts
        ({"body": {"at_seq": -1, "metadata": {"x": "y" * 200}}}, 422, "validation_error"),
        ({"body": {"at_seq": 99, "metadata": {"x": "y" * 200}}}, 413, "payload_too_large"),
        ({"body": {"at_seq": 6}}, 422, "validation_error"),
        ({"body": {"at_version": 6}}, 422, "validation_error"),
    ]
    for kwargs, status, code in cases:
        assert isinstance(kwargs, dict)
        answer = api.call("fork_post", session_id=sid, **kwargs)
        assert error(answer) == (status, code), (kwargs, answer.body)
    past = fork(api, sid, {"at_seq": 6, "at_version": 6})
    assert {d["field"] for d in past.body["error"]["details"]} == {"at_seq", "at_version"}
    assert api.items() == before


def test_a_fork_copies_at_most_5_mb_of_messages_and_stops_reading_there(api: Api) -> None:
    # Given 100 messages of 65 000 bytes: 6.5 MB
    sid = api.create()["id"]
    for i in range(100):
        assert api.append(sid, f"{i:03d}" + "x" * 64_997).status == 201
    before = api.items()
    wire = Wire()

    # When the whole session is forked
    refused = fork(api, sid)

    # Then it is refused, having read little more than the 5 MB it may copy
    assert error(refused) == (409, "limit_exceeded")
    assert "at_seq" in refused.body["error"]["message"]
    assert wire.calls["Query"] <= 6  # pages of 1 MB: 100 messages take 7
    assert wire.calls["TransactWriteItems"] == 0
    assert api.items() == before
    # And a fork of 5 MB or less is made
    assert fork(api, sid, {"at_seq": 76}).status == 201
    assert error(fork(api, sid, {"at_seq": 77})) == (409, "limit_exceeded")


def test_a_forks_key_replays_the_new_session_as_it_is_now(api: Api) -> None:
    sid = rich_session(api)
    headers = key()
    first = fork(api, sid, {"at_seq": 3}, headers=headers)
    new = first.body["id"]
    assert api.append(new, "later").status == 201

    again = fork(api, sid, {"at_seq": 3}, headers=headers)

    assert again.status == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == f"/sessions/{new}"
    assert again.body == api.call("sessions_get", session_id=new).body
    assert again.body["message_count"] == 4
    assert "idempotent-replayed" not in first.headers
    # One fork only: the key's record sits in the source's partition
    forks = [i for i in api.items() if i["sk"]["S"] == "SESSION" and "forked_from" in i]
    assert len(forks) == 1


def test_a_forks_replay_outranks_the_counts_and_the_size_outranks_the_replay(
    api: Api, settings: ChangeSettings
) -> None:
    sid = rich_session(api)
    headers = key()
    body = {"at_seq": 4, "metadata": {"note": "x" * 60}}
    first = fork(api, sid, body, headers=headers)
    assert first.status == 201
    # The source is rewound: at_seq 4 is past its end now, but the request is a replay
    assert call(api, "rewind_post", sid, body={"to_seq": 2}).status == 200
    replay = fork(api, sid, body, headers=headers)
    assert (replay.status, replay.body["id"]) == (201, first.body["id"])
    # Another body with the key, even one past the counts: 422 idempotency_key_reused
    assert error(fork(api, sid, {"at_seq": 9}, headers=headers)) == (
        422,
        "idempotency_key_reused",
    )
    assert error(fork(api, sid, {"at_seq": 1}, headers=headers)) == (
        422,
        "idempotency_key_reused",
    )
    # A metadata map over its limit is 413 before the replay is looked for
    settings(MAX_METADATA_BYTES=50)
    assert error(fork(api, sid, body, headers=headers)) == (413, "payload_too_large")


def test_a_forks_key_belongs_to_its_caller_and_source(api: Api) -> None:
    one, two = rich_session(api), api.create()["id"]
    headers = key()
    first = fork(api, one, headers=headers).body["id"]
    other = fork(api, two, headers=headers)
    assert other.status == 201 and "idempotent-replayed" not in other.headers
    assert other.body["id"] != first
    # The same key on POST /sessions is another key too
    assert api.call("sessions_create", body={}, headers=headers).status == 201


def test_a_forks_key_whose_session_is_gone_forks_again(api: Api) -> None:
    sid = rich_session(api)
    headers = key()
    first = fork(api, sid, headers=headers).body["id"]
    assert api.call("sessions_delete", session_id=first).status == 204

    again = fork(api, sid, headers=headers)

    assert again.status == 201 and "idempotent-replayed" not in again.headers
    assert again.body["id"] != first
    replay = fork(api, sid, headers=headers)
    assert (replay.body["id"], replay.headers["idempotent-replayed"]) == (again.body["id"], "true")


def test_a_forks_key_replays_on_an_ended_source_and_is_deleted_with_it(api: Api) -> None:
    sid = rich_session(api)
    headers = key()
    first = fork(api, sid, headers=headers).body["id"]
    assert api.call("sessions_end", session_id=sid).status == 200
    assert fork(api, sid, headers=headers).body["id"] == first
    assert api.call("sessions_delete", session_id=sid).status == 204
    assert not [i for i in api.items() if i["pk"]["S"] == sid]
    assert api.call("sessions_get", session_id=first).status == 200


# --- export -----------------------------------------------------------------------------


def test_an_export_is_the_whole_session_as_its_routes_show_it(api: Api) -> None:
    sid = rich_session(api)
    assert api.call("sessions_end", session_id=sid).status == 200

    answer = export(api, sid)

    assert answer.status == 200, answer.body
    doc = answer.body
    ExportOut.model_validate(doc)
    assert list(doc) == ["format", "exported_at", "session", "messages", "versions", "summary"]
    assert doc["format"] == "chat-session/1"
    assert doc["session"] == api.call("sessions_get", session_id=sid).body
    assert doc["messages"] == every(api, "messages_list", sid)
    assert [m["seq"] for m in doc["messages"]] == [1, 2, 3, 4]
    assert doc["versions"] == [
        api.call("workflow_version_get", session_id=sid, version=str(v)).body for v in range(1, 6)
    ]
    assert [v["source"] for v in doc["versions"]] == [
        "put",
        "merge_patch",
        "json_patch",
        "revert",
        "turn",
    ]
    assert doc["summary"] == api.call("summary_get", session_id=sid).body
    # Numbers come back as they were stored, digit for digit
    assert '"batch":500.0' in answer.text


def test_an_export_of_an_empty_session_and_of_what_the_caller_cannot_see(api: Api) -> None:
    sid = api.create()["id"]
    doc = export(api, sid).body
    assert (doc["messages"], doc["versions"], doc["summary"]) == ([], [], None)
    assert doc["session"]["current_workflow"] is None
    for target, sub in [(sid, "bob"), (MISSING, "alice"), ("nope", "alice")]:
        assert error(export(api, target, sub=sub)) == (404, "not_found")
    assert error(api.call("export_get", session_id=sid, sub=None)) == (401, "unauthorized")


def test_an_expired_session_exports_as_expired_without_being_written(api: Api) -> None:
    start = clock.now()
    with clock.frozen(lambda: start):
        sid = api.create(initial_description="x")["id"]
    before = api.items()
    with clock.frozen(lambda: start + timedelta(hours=2)):
        assert export(api, sid).body["session"]["status"] == "expired"
    assert api.items() == before


@pytest.mark.parametrize(
    ("char", "fits", "too_many"),
    [
        # 65 536 control characters: 458 752 bytes inside Lambda's response
        ("\u0001", 12, 14),
        # 16 384 emoji (4 bytes each): 65 536 bytes stored, 196 608 in python3.11's response
        ("\U0001f600", 29, 31),
    ],
    ids=["control-characters", "emoji"],
)
def test_an_export_fits_lambdas_response_or_is_refused_with_what_to_fetch_instead(
    api: Api, char: str, fits: int, too_many: int
) -> None:
    sid = api.create()["id"]
    text = char * (65536 // len(char.encode()))
    for _ in range(fits):
        assert api.append(sid, text).status == 201

    answer = export(api, sid)

    assert answer.status == 200
    assert len(answer.body["messages"]) == fits
    assert lambda_size_python311(answer) <= 6_000_000
    assert answer.lambda_bytes <= 6_291_456
    for _ in range(too_many - fits):
        assert api.append(sid, text).status == 201
    refused = export(api, sid)
    assert error(refused) == (409, "limit_exceeded")
    message = refused.body["error"]["message"]
    assert f"/sessions/{sid}/messages" in message and "workflow/versions" in message


def test_an_export_too_large_stops_reading_at_once(api: Api) -> None:
    # 100 messages of control characters: 6.5 MB stored, 45 MB inside Lambda's response
    sid = api.create()["id"]
    for _ in range(100):
        assert api.append(sid, "\u0001" * 65536).status == 201
    wire = Wire()
    assert error(export(api, sid)) == (409, "limit_exceeded")
    # One page (1 MB, 16 messages) is already more than a response holds
    assert wire.calls == {"BatchGetItem": 1, "Query": 1}


# --- import -----------------------------------------------------------------------------


def test_an_export_imported_by_another_caller_exports_the_same_conversation(api: Api) -> None:
    # Given alice's session with everything, exported
    sid = rich_session(api)
    first = export(api, sid)

    # When bob imports the document and exports his session
    imported = import_(api, first.text, sub="bob")
    assert imported.status == 201, imported.body
    new = imported.body["id"]
    second = export(api, new, sub="bob")

    # Then messages, versions and summary are the same, byte for byte
    assert after_messages(second.text) == after_messages(first.text)
    # And the session is bob's, new, active, with the same title, metadata, counts, workflow
    old, copy = first.body["session"], second.body["session"]
    assert imported.headers["location"] == f"/sessions/{new}"
    assert copy == api.call("sessions_get", session_id=new, sub="bob").body
    assert new != sid and copy["status"] == "active"
    same = ("title", "metadata", "message_count", "workflow_version", "current_workflow")
    assert {k: copy[k] for k in same} == {k: old[k] for k in same}
    assert copy["imported_from"] == {"session_id": sid, "exported_at": first.body["exported_at"]}
    assert copy["forked_from"] is None
    assert copy["created_at"] >= first.body["exported_at"]
    assert api.call("sessions_get", session_id=new).status == 404  # not alice's
    # And it goes on from there
    next_message = {"role": "user", "content": "next"}
    appended = call(api, "messages_append", new, "bob", body=next_message)
    assert appended.body["seq"] == old["message_count"] + 1


def test_a_rewound_sessions_export_imports_and_exports_the_same(api: Api) -> None:
    # Given a session rewound past the messages a version names (versions are kept)
    sid = rich_session(api)
    named = {v["message_id"] for v in export(api, sid).body["versions"]} - {None}
    assert call(api, "rewind_post", sid, body={"to_seq": 1}).status == 200
    first = export(api, sid)
    kept = {m["id"] for m in first.body["messages"]}
    assert named and not named & kept
    assert first.body["summary"] is None  # it covered a removed message

    imported = import_(api, first.text, sub="bob")
    assert imported.status == 201, imported.body
    second = export(api, imported.body["id"], sub="bob")

    assert after_messages(second.text) == after_messages(first.text)


def test_an_import_keeps_what_the_document_says(api: Api) -> None:
    doc = document(messages=3, versions=2)
    doc["messages"][1]["metadata"] = {"k": "v"}
    doc["versions"][1].update(
        source="revert",
        note="n",
        reverted_from=1,
        created_at="2026-11-24T06:00:00.000Z",
        message_id=str(uuid.uuid4()),  # a message not in the document (a rewind removed it)
    )
    answer = import_(api, doc)
    assert answer.status == 201, answer.body
    new = answer.body
    assert (new["title"], new["metadata"]) == ("Imported", {"from": "test"})
    assert (new["message_count"], new["workflow_version"]) == (3, 2)
    assert new["current_workflow"] == {"n": 2}
    assert new["imported_from"] == {"session_id": doc["session"]["id"], "exported_at": TIME}
    assert every(api, "messages_list", new["id"]) == doc["messages"]
    versions = [
        api.call("workflow_version_get", session_id=new["id"], version=str(v)).body for v in (1, 2)
    ]
    assert versions == doc["versions"]
    current = api.call("workflow_get", session_id=new["id"]).body
    assert current == {"version": 2, "workflow": {"n": 2}, "updated_at": "2026-11-24T06:00:00.000Z"}
    assert api.call("summary_get", session_id=new["id"]).body == doc["summary"]
    # An empty document makes an empty session
    empty = import_(api, document(messages=0, versions=0)).body
    assert (empty["message_count"], empty["workflow_version"], empty["current_workflow"]) == (
        0,
        0,
        None,
    )


def test_the_documents_size_is_checked_before_it_is_parsed(api: Api) -> None:
    before = api.items()
    over = "x" * 2_500_001
    assert error(import_(api, over)) == (413, "payload_too_large")
    assert error(import_(api, "x" * 2_500_000)) == (400, "bad_request")
    # A key that is malformed is 400 first; a type that is not JSON is 415 first
    bad_key = {"idempotency-key": "a b"}
    assert error(import_(api, over, headers=bad_key)) == (400, "bad_request")
    assert error(import_(api, over, content_type="text/plain")) == (415, "unsupported_media_type")
    assert api.items() == before


def test_a_document_at_the_limit_is_taken(api: Api, settings: ChangeSettings) -> None:
    settings(MAX_METADATA_BYTES=65536)
    doc = document(messages=40, versions=0, summary=False)
    for message in doc["messages"]:
        message["metadata"] = {"pad": ""}
    base = len(json.dumps(doc, ensure_ascii=False).encode())
    share, rest = divmod(2_500_000 - base, 40)
    for index, message in enumerate(doc["messages"]):
        message["metadata"]["pad"] = "y" * (share + (rest if index == 0 else 0))
    text = json.dumps(doc, ensure_ascii=False)
    assert len(text.encode()) == 2_500_000
    assert import_(api, text).status == 201
    assert error(import_(api, text + " ")) == (413, "payload_too_large")


def test_bad_documents_get_the_contracts_errors_in_order_and_write_nothing(
    api: Api, settings: ChangeSettings
) -> None:
    settings(
        MAX_MESSAGE_BYTES=100,
        MAX_METADATA_BYTES=100,
        MAX_WORKFLOW_BYTES=100,
        MAX_MESSAGES_PER_SESSION=3,
        MAX_WORKFLOW_VERSIONS=2,
    )
    before = api.items()

    def with_(change: Any) -> dict[str, Any]:
        doc = document(messages=3, versions=2)
        change(doc)
        return doc

    big = "z" * 101
    cases: list[tuple[str, Any, int, str]] = [
        ("not JSON", "{", 400, "bad_request"),
        ("no format", with_(lambda d: d.pop("format")), 422, "validation_error"),
        (
            "other format",
            with_(lambda d: d.update(format="chat-session/2")),
            422,
            "validation_error",
        ),
        (
            "bad time",
            with_(lambda d: d["messages"][0].update(timestamp="2026-11-24T05:31:00Z")),
            422,
            "validation_error",
        ),
        ("seq 0", with_(lambda d: d["messages"][0].update(seq=0)), 422, "validation_error"),
        ("unknown member", with_(lambda d: d.update(extra=1)), 422, "validation_error"),
        (
            "blank content",
            with_(lambda d: d["messages"][0].update(content=" ")),
            422,
            "validation_error",
        ),
        (
            "change lines too long (before sizes)",
            with_(
                lambda d: (
                    d["versions"][0].update(changes=["c" * 1000] * 70),
                    d["messages"][0].update(content=big),
                )
            ),
            422,
            "validation_error",
        ),
        (
            "content too large",
            with_(lambda d: d["messages"][1].update(content=big)),
            413,
            "payload_too_large",
        ),
        (
            "metadata too large",
            with_(lambda d: d["messages"][1].update(metadata={"m": big})),
            413,
            "payload_too_large",
        ),
        (
            "session metadata too large",
            with_(lambda d: d["session"].update(metadata={"m": big})),
            413,
            "payload_too_large",
        ),
        (
            "workflow too large",
            with_(lambda d: d["versions"][1].update(workflow={"w": big})),
            413,
            "payload_too_large",
        ),
        (
            "summary too large",
            with_(lambda d: d["summary"].update(content=big)),
            413,
            "payload_too_large",
        ),
        (
            "a gap in seqs (413 first)",
            with_(lambda d: (d["messages"][2].update(seq=4), d["messages"][0].update(content=big))),
            413,
            "payload_too_large",
        ),
        ("a gap in seqs", with_(lambda d: d["messages"][2].update(seq=4)), 422, "validation_error"),
        ("seqs out of order", with_(lambda d: d["messages"].reverse()), 422, "validation_error"),
        (
            "a gap in versions",
            with_(lambda d: d["versions"][1].update(version=3)),
            422,
            "validation_error",
        ),
        (
            "an id twice",
            with_(lambda d: d["messages"][2].update(id=d["messages"][0]["id"])),
            422,
            "validation_error",
        ),
        (
            "a revert of a later version",
            with_(lambda d: d["versions"][0].update(reverted_from=2)),
            422,
            "validation_error",
        ),
        (
            "a summary past the messages",
            with_(lambda d: d["summary"].update(covers_seq=4)),
            422,
            "validation_error",
        ),
        (
            "too many messages (422 first)",
            with_(
                lambda d: (
                    d["messages"].append({**d["messages"][0], "seq": 5, "id": str(uuid.uuid4())}),
                )
            ),
            422,
            "validation_error",
        ),
        (
            "too many messages",
            with_(
                lambda d: d["messages"].append(
                    {**d["messages"][0], "seq": 4, "id": str(uuid.uuid4())}
                )
            ),
            409,
            "limit_exceeded",
        ),
        (
            "too many versions",
            with_(lambda d: d["versions"].append({**d["versions"][0], "version": 3})),
            409,
            "limit_exceeded",
        ),
    ]
    for name, doc, status, code in cases:
        answer = import_(api, doc)
        assert error(answer) == (status, code), (name, answer.body)
    assert api.items() == before
    gap = import_(api, with_(lambda d: d["messages"][2].update(seq=4))).body["error"]
    assert gap["details"] == [
        {
            "field": "messages.2.seq",
            "message": "messages.2.seq must be 3: seqs run from 1 in order, without gaps",
        }
    ]
    twice = import_(api, with_(lambda d: d["messages"][2].update(id=d["messages"][0]["id"])))
    assert twice.body["error"]["details"][0]["field"] == "messages.2.id"
    assert "messages.1.content" in import_(api, cases[8][1]).body["error"]["message"]


def test_an_imports_key_replays_the_session_as_it_is_now(api: Api) -> None:
    doc = document()
    headers = key()
    first = import_(api, doc, headers=headers)
    new = first.body["id"]
    assert api.append(new, "later").status == 201

    again = import_(api, doc, headers=headers)

    assert again.status == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == f"/sessions/{new}"
    assert again.body == api.call("sessions_get", session_id=new).body
    sessions = [i for i in api.items() if i["sk"]["S"] == "SESSION"]
    assert len(sessions) == 1
    # Another caller's equal key is another key
    assert import_(api, doc, sub="bob", headers=headers).body["id"] != new


def test_an_imports_key_is_shared_with_post_sessions(api: Api) -> None:
    headers = key()
    assert api.call("sessions_create", body={"title": "t"}, headers=headers).status == 201
    before = api.items()
    assert error(import_(api, document(), headers=headers)) == (422, "idempotency_key_reused")
    assert api.items() == before
    other = key()
    assert import_(api, document(), headers=other).status == 201
    created = api.call("sessions_create", body={"title": "t"}, headers=other)
    assert error(created) == (422, "idempotency_key_reused")


def test_an_imports_replay_outranks_what_the_session_breaks(
    api: Api, settings: ChangeSettings
) -> None:
    doc = document(messages=3)
    headers = key()
    first = import_(api, doc, headers=headers).body["id"]
    before = api.items()
    # Another document with the key that also has a gap: the key's 422 comes first
    gap = document(messages=3)
    gap["messages"][2]["seq"] = 9
    assert error(import_(api, gap, headers=headers)) == (422, "idempotency_key_reused")
    # The same document once a session may hold fewer messages: still its replay
    settings(MAX_MESSAGES_PER_SESSION=2)
    replay = import_(api, doc, headers=headers)
    assert (replay.status, replay.body["id"]) == (201, first)
    assert error(import_(api, doc)) == (409, "limit_exceeded")
    # A content over its limit is 413 before the replay is looked for
    settings(MAX_MESSAGE_BYTES=5)
    assert error(import_(api, doc, headers=headers)) == (413, "payload_too_large")
    assert api.items() == before


def test_an_imports_key_whose_session_is_gone_imports_again(api: Api) -> None:
    doc = document()
    headers = key()
    first = import_(api, doc, headers=headers).body["id"]
    assert api.call("sessions_delete", session_id=first).status == 204
    again = import_(api, doc, headers=headers)
    assert again.status == 201 and "idempotent-replayed" not in again.headers
    assert again.body["id"] != first
    assert import_(api, doc, headers=headers).body["id"] == again.body["id"]


def test_imported_message_ids_are_the_sessions_own(api: Api) -> None:
    doc = document(messages=2)
    new = without_key("import_post", body=doc).body["id"]
    message = doc["messages"][0]
    same = {k: message[k] for k in ("id", "role", "content", "metadata")}
    replay = api.call("messages_append", session_id=new, body=same)
    assert (replay.status, replay.body) == (200, message)
    other = api.call("messages_append", session_id=new, body={**same, "content": "other"})
    assert error(other) == (422, "idempotency_key_reused")


def test_no_caller_is_unauthorized_on_every_transfer_route(api: Api) -> None:
    sid = api.create()["id"]
    assert error(api.call("fork_post", session_id=sid, sub=None)) == (401, "unauthorized")
    assert error(api.call("import_post", body=document(), sub=None)) == (401, "unauthorized")
    assert error(import_(api, "x" * 2_500_001, sub=None)) == (401, "unauthorized")


def test_every_item_of_a_copy_carries_its_ttl_and_its_key_record_the_sources(api: Api) -> None:
    sid = rich_session(api)
    new = fork(api, sid, headers=key()).body["id"]
    imported = import_(api, export(api, sid).text, headers=key()).body["id"]
    items = api.items()
    for copy in (new, imported):
        mine = [i for i in items if i["pk"]["S"] == copy]
        session = next(i for i in mine if i["sk"]["S"] == "SESSION")
        assert {i["ttl"]["N"] for i in mine} == {session["ttl"]["N"]}
    source_ttl = next(i for i in items if i["pk"]["S"] == sid and i["sk"]["S"] == "SESSION")["ttl"]
    (key_record,) = [
        i
        for i in items
        if i["pk"]["S"] == sid
        and i["sk"]["S"].startswith("IDEM#")
        and json.loads(i["answer"]["S"]) == {"session_id": new}
    ]
    assert key_record["ttl"] == source_ttl
