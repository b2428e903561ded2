"""Messages routes through the real MessagesFunction handler, against moto."""

from __future__ import annotations

import uuid
from typing import Any

from tests.helpers.api import Api, ChangeSettings


def test_append_returns_the_message_with_the_next_seq(api: Api) -> None:
    session = api.create(initial_description="first")
    answer = api.append(session["id"], "second", role="assistant", metadata={"model": "m1"})
    assert answer.status == 201
    message = answer.body
    assert set(message) == {"id", "seq", "role", "content", "metadata", "timestamp"}
    assert (message["seq"], message["role"], message["content"]) == (2, "assistant", "second")
    assert message["metadata"] == {"model": "m1"}
    assert uuid.UUID(message["id"])
    after = api.call("sessions_get", session_id=session["id"]).body
    assert after["message_count"] == 2
    assert after["updated_at"] == message["timestamp"]


def test_a_client_id_sent_again_returns_the_first_answer_and_stores_nothing(api: Api) -> None:
    session = api.create()
    message_id = str(uuid.uuid4())
    first = api.append(session["id"], "once", id=message_id)
    items_before = api.items()
    again = api.append(session["id"], "once", id=message_id.upper())
    assert first.status == 201
    assert (again.status, again.body) == (200, first.body)
    assert api.items() == items_before


def test_bad_messages_get_the_contract_errors_and_write_nothing(api: Api) -> None:
    session = api.create()
    before = api.items()
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"raw_body": "[1,"}, 400, "bad_request"),
        ({"raw_body": "hello", "content_type": "text/plain"}, 415, "unsupported_media_type"),
        ({"body": {"role": "robot", "content": "x"}}, 422, "validation_error"),
        ({"body": {"role": "user", "content": " \t\n"}}, 422, "validation_error"),
        ({"body": {"role": "user"}}, 422, "validation_error"),
        ({"body": {"role": "user", "content": "x", "id": "not-a-uuid"}}, 422, "validation_error"),
        ({"body": {"role": "user", "content": "x", "metadata": "text"}}, 422, "validation_error"),
        ({"body": {"role": "user", "content": "x" * 65537}}, 413, "payload_too_large"),
        (
            {"body": {"role": "user", "content": "x", "metadata": {"m": "y" * 8200}}},
            413,
            "payload_too_large",
        ),
    ]
    for kwargs, status, code in cases:
        answer = api.call("messages_append", session_id=session["id"], **kwargs)
        assert (answer.status, answer.code) == (status, code), kwargs
    assert api.items() == before


def test_the_message_limit_is_enforced(api: Api, settings: ChangeSettings) -> None:
    settings(MAX_MESSAGES_PER_SESSION="3")
    session = api.create(initial_description="1")
    assert api.append(session["id"], "2").status == 201
    assert api.append(session["id"], "3").status == 201
    answer = api.append(session["id"], "4")
    assert (answer.status, answer.code) == (409, "limit_exceeded")
    assert api.call("sessions_get", session_id=session["id"]).body["message_count"] == 3


def test_list_orders_filters_and_pages(api: Api) -> None:
    session = api.create()
    for i in range(1, 8):
        api.append(session["id"], f"m{i}")
    sid = session["id"]

    def contents(**query: str) -> list[str]:
        return [
            m["content"]
            for m in api.call("messages_list", session_id=sid, query=query).body["items"]
        ]

    assert contents() == [f"m{i}" for i in range(1, 8)]
    assert contents(order="desc") == [f"m{i}" for i in range(7, 0, -1)]
    assert contents(after_seq="5") == ["m6", "m7"]
    assert contents(after_seq="5", order="desc") == ["m7", "m6"]
    assert contents(after_seq="7") == []
    seen, cursor = [], None
    while True:
        query = {"limit": "3", "order": "desc", **({"cursor": cursor} if cursor else {})}
        page = api.call("messages_list", session_id=sid, query=query).body
        seen += [m["seq"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [7, 6, 5, 4, 3, 2, 1]


def test_list_rejects_bad_query_values_and_cursors_of_other_lists(api: Api) -> None:
    one, two = api.create(), api.create()
    for sid in (one["id"], two["id"]):
        for i in range(3):
            api.append(sid, f"m{i}")
    cursor = api.call("messages_list", session_id=one["id"], query={"limit": "1"}).body[
        "next_cursor"
    ]
    for sid, query in (
        (one["id"], {"order": "sideways"}),
        (one["id"], {"after_seq": "x"}),
        (one["id"], {"after_seq": "-1"}),
        (one["id"], {"limit": "1000"}),
        (one["id"], {"cursor": cursor, "order": "desc"}),
        (two["id"], {"cursor": cursor}),
        (one["id"], {"cursor": cursor + "x"}),
    ):
        answer = api.call("messages_list", session_id=sid, query=query)
        assert (answer.status, answer.code) == (400, "bad_request"), query
    assert api.call("messages_list", session_id=one["id"], query={"cursor": cursor}).status == 200


def test_query_integers_are_plain_ascii_digits_and_order_is_never_empty(api: Api) -> None:
    sid = api.create(initial_description="one")["id"]
    for query in (
        {"order": ""},
        {"limit": "+1"},
        {"limit": " 1"},
        {"limit": "1_0"},
        {"after_seq": "\u0663"},
        {"limit": "\uff12"},
    ):
        answer = api.call("messages_list", session_id=sid, query=query)
        assert (answer.status, answer.code) == (400, "bad_request"), query
    assert api.call("messages_list", session_id=sid, query={"limit": "01"}).status == 200


def test_a_client_message_id_must_be_a_canonical_uuid(api: Api) -> None:
    sid = api.create()["id"]
    message_id = str(uuid.uuid4())
    for form in (f"{{{message_id}}}", message_id.replace("-", ""), f"urn:uuid:{message_id}"):
        answer = api.append(sid, "x", id=form)
        assert (answer.status, answer.code) == (422, "validation_error"), form


def test_a_client_id_sent_again_with_other_content_is_422_and_stores_nothing(api: Api) -> None:
    # Given a message stored with a client-chosen id
    session = api.create()
    message_id = "6f1c9d8e-6a35-4c55-9a53-9e1d2c1b0a01"
    first = api.append(session["id"], "the first text", id=message_id)
    assert first.status == 201
    before = api.items()

    # When the same id comes again with other content, role or metadata
    changed: list[dict[str, Any]] = [
        {"content": "another text"},
        {"content": "the first text", "role": "assistant"},
        {"content": "the first text", "metadata": {"k": 1}},
    ]
    for change in changed:
        answer = api.append(session["id"], **{"id": message_id, **change})

        # Then the caller learns its message was not stored, and nothing was written
        assert answer.status == 422, answer.body
        assert answer.code == "idempotency_key_reused"
    assert api.items() == before

    # While the same message again replays the first answer
    again = api.append(session["id"], "the first text", id=message_id)
    assert (again.status, again.body) == (200, first.body)


def test_an_oversized_message_with_a_taken_id_is_413(api: Api, settings: Any) -> None:
    settings(MAX_MESSAGE_BYTES=10)
    session = api.create()
    message_id = "6f1c9d8e-6a35-4c55-9a53-9e1d2c1b0a02"
    assert api.append(session["id"], "short", id=message_id).status == 201
    assert api.append(session["id"], "x" * 11, id=message_id).status == 413
