"""Copies of many items: a 10 000-message fork and a 2.5 MB import in transactions within
DynamoDB's limits, invisible until complete (on the strict embedded DynamoDB); concurrent
forks and imports with one Idempotency-Key making one session; a build abandoned half-way
invisible and removed by the cleanup."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ConnectionClosedError

from chat_sessions import clock, idempotency, messages, records, session_access, sessions
from chat_sessions.cleanup import run_cleanup
from chat_sessions.errors import NotFound
from chat_sessions.lifecycle_models import ForkIn, ImportIn
from chat_sessions.models import SessionOut
from chat_sessions.transfer_store import BUILD_WINDOW, TRANSACT_BYTES, TransferStore
from chat_sessions.transfers import export, fork, import_document
from tests.helpers.api import Api
from tests.helpers.cleanup import keys_under
from tests.helpers.dynamodb import Start, table_items
from tests.helpers.transfers import TIME, Wire, document

DYNAMODB_TRANSACTION_BYTES = 4 * 1024 * 1024


def big_document(messages_: int, target_bytes: int) -> dict[str, Any]:
    """A document of `messages_` messages, 5 versions and a summary, padded to
    `target_bytes` bytes of JSON."""
    doc = document(messages=messages_, versions=5)
    base = len(json.dumps(doc, ensure_ascii=False).encode())
    share, rest = divmod(target_bytes - base, messages_)
    for index, message in enumerate(doc["messages"]):
        message["content"] += "x" * (share + (rest if index == 0 else 0))
    assert len(json.dumps(doc, ensure_ascii=False).encode()) == target_bytes
    return doc


class Watch:
    """Checks, after some transactions of a build (the first, one in the middle, the one
    before the last: a list on the embedded server takes seconds), that the session it
    writes is not to be seen: no route finds it, no list holds it."""

    def __init__(self, owner: str, after: tuple[int, ...] = (1, 100, 200)) -> None:
        self.owner = owner
        self.after = after
        self.done = 0
        self.building: str | None = None
        self.seen: list[tuple[str, bool, bool, bool]] = []
        self.lock = threading.Lock()
        events = session_access.get_table().client.meta.events
        events.register("provide-client-params.dynamodb.TransactWriteItems", self._params)
        events.register("after-call.dynamodb.TransactWriteItems", self._after)

    def _params(self, params: dict[str, Any], **_: Any) -> None:
        for action in params["TransactItems"]:
            item = action.get("Put", {}).get("Item", {})
            if item.get("sk") == {"S": records.SESSION_SK} and "owner" not in item:
                self.building = item["pk"]["S"]

    def _after(self, **_: Any) -> None:
        with self.lock:
            self.done += 1
            if self.done not in self.after:
                return
        session_id = self.building
        if session_id is None:
            return
        stored = session_access.get_store().get_session(session_id)
        if stored is None or stored.status != "building":
            return  # the last transaction made it active
        listed = sessions.list_sessions(self.owner, None, 100, None).items
        with self.lock:
            self.seen.append(
                (
                    session_id,
                    _not_found(lambda: sessions.get_session(self.owner, session_id)),
                    _not_found(lambda: export(self.owner, session_id)),
                    all(s.id != session_id for s in listed),
                )
            )


def _not_found(call: Callable[[], object]) -> bool:
    try:
        call()
    except NotFound:
        return True
    return False


def test_a_2_5_mb_import_is_written_in_transactions_within_the_limits_and_seen_only_whole(
    strict_server: Start,
) -> None:
    url = strict_server({})
    # Given a document of 2 500 000 bytes: 10 000 messages, 5 versions and a summary
    doc = big_document(10_000, 2_500_000)
    wire, watch = Wire(), Watch("alice")

    # When alice imports it
    made = import_document("alice", ImportIn.model_validate(doc), None).value

    # Then it took the fewest transactions 100 actions allow (20 000 message and id guard
    # items, 5 versions, the current workflow, the summary, the session item twice: 20 009
    # actions), each within 100 actions and 4 MB
    actions = [count for count, _ in wire.transactions]
    sizes = [size for _, size in wire.transactions]
    print(f"\n2.5 MB import: {len(actions)} transactions, {sum(sizes)} bytes, largest {max(sizes)}")
    assert len(actions) == 201 and max(actions) <= 100 and sum(actions) == 20_008 + 1
    assert max(sizes) <= TRANSACT_BYTES < DYNAMODB_TRANSACTION_BYTES
    # And while it was being written nothing of it could be seen
    assert len(watch.seen) == 3
    assert all(all(found[1:]) for found in watch.seen)
    assert {found[0] for found in watch.seen} == {made.id}
    # And once written it is whole
    assert (made.message_count, made.workflow_version, made.status) == (10_000, 5, "active")
    items = [i for i in table_items(url) if i["pk"]["S"] == made.id]
    assert len(items) == 20_008
    assert "owner" in next(i for i in items if i["sk"]["S"] == records.SESSION_SK)


def test_a_10_000_message_fork_is_written_in_transactions_within_the_limits_and_seen_only_whole(
    strict_server: Start,
) -> None:
    url = strict_server({})
    doc = document(messages=10_000, versions=3, content="a message of the source")
    source = import_document("alice", ImportIn.model_validate(doc), None).value
    wire, watch = Wire(), Watch("alice")

    # When alice forks all of it, at version 2
    made = fork("alice", source.id, ForkIn(at_version=2), None).value

    # Then the copy took the fewest transactions possible (session, 20 000 message and id
    # guard items, its version 1 and current workflow; the session item twice), each within
    # the limits, and the source's 10 000 messages (2 MB) were read in pages of 1 MB
    actions = [count for count, _ in wire.transactions]
    sizes = [size for _, size in wire.transactions]
    print(
        f"\n10 000-message fork: {len(actions)} transactions, {sum(sizes)} bytes, "
        f"largest {max(sizes)}, {wire.table_queries} Query"
    )
    assert len(actions) == 201 and max(actions) <= 100 and sum(actions) == 20_004
    assert max(sizes) <= TRANSACT_BYTES
    assert wire.table_queries <= 3
    # And the fork was invisible until its last transaction
    assert len(watch.seen) == 3
    assert all(all(found[1:]) for found in watch.seen)
    assert {found[0] for found in watch.seen} == {made.id}
    assert (made.message_count, made.workflow_version) == (10_000, 1)
    assert made.current_workflow == {"n": 2}
    copied = messages.list_messages("alice", made.id, "asc", 9_990, 100, None).items
    assert [(m.id, m.seq, m.content) for m in copied] == [
        (m["id"], m["seq"], m["content"]) for m in doc["messages"][9_990:]
    ]
    assert len([i for i in table_items(url) if i["pk"]["S"] == made.id]) == 20_003


def build_count(url: str) -> int:
    return sum(
        1
        for i in table_items(url)
        if i["sk"]["S"] == records.SESSION_SK and i["status"]["S"] == "building"
    )


def ten_at_once(run: Callable[[], tuple[SessionOut, bool]]) -> list[tuple[SessionOut, bool]]:
    start = threading.Barrier(10)

    def one(_: int) -> tuple[SessionOut, bool]:
        start.wait()
        return run()

    with ThreadPoolExecutor(10) as pool:
        return list(pool.map(one, range(10)))


def test_ten_concurrent_forks_with_one_key_make_one_session(strict_server: Start) -> None:
    url = strict_server({})
    source = import_document("alice", ImportIn.model_validate(document(300, 2)), None).value
    body = {"at_seq": 250}
    request = idempotency.request_key(str(uuid.uuid4()), "forkSession", body)

    def one() -> tuple[SessionOut, bool]:
        outcome = fork("alice", source.id, ForkIn.model_validate(body), request)
        return outcome.value, outcome.replayed

    # When 10 forks with one key run at once
    answers = ten_at_once(one)

    # Then they all answer with one session, made by one of them
    assert len({session.id for session, _ in answers}) == 1
    assert sum(1 for _, replay in answers if not replay) == 1
    made = answers[0][0].id
    # And the others' builds, abandoned, are removed by the cleanup's next run
    abandoned = build_count(url)
    later = clock.now() + timedelta(seconds=1)
    with clock.frozen(lambda: later):
        assert run_cleanup(lambda: 300_000)["deleted"] == abandoned
    partitions = {i["pk"]["S"] for i in table_items(url)}
    assert partitions == {source.id, made}
    assert sessions.get_session("alice", made).message_count == 250


def test_ten_concurrent_imports_with_one_key_make_one_session(strict_server: Start) -> None:
    url = strict_server({})
    doc = document(300, 2)
    request = idempotency.request_key(str(uuid.uuid4()), "importSession", doc)

    def one() -> tuple[SessionOut, bool]:
        outcome = import_document("alice", ImportIn.model_validate(doc), request)
        return outcome.value, outcome.replayed

    answers = ten_at_once(one)

    assert len({session.id for session, _ in answers}) == 1
    assert sum(1 for _, replay in answers if not replay) == 1
    made = answers[0][0].id
    abandoned = build_count(url)
    later = clock.now() + timedelta(seconds=1)
    with clock.frozen(lambda: later):
        assert run_cleanup(lambda: 300_000)["deleted"] == abandoned
    assert request is not None
    key_record = records.create_key_pk("alice", request.key)
    assert {i["pk"]["S"] for i in table_items(url)} == {made, key_record}


# --- abandoned builds, against moto ------------------------------------------------------


def fail_transactions_from(number: int) -> Callable[[], None]:
    """Every TransactWriteItems from the `number`th on is throttled (the service retries
    it, then answers 503) until the function returned is called."""
    seen = [0]
    lock = threading.Lock()

    def answer(**_: Any) -> tuple[Any, dict[str, Any]] | None:
        with lock:
            seen[0] += 1
            if seen[0] < number:
                return None
        parsed = {
            "Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
        return SimpleNamespace(status_code=400, headers={}), parsed

    events = session_access.get_table().client.meta.events
    name = "before-call.dynamodb.TransactWriteItems"
    events.register(name, answer)  # type: ignore[arg-type]
    return lambda: events.unregister(name, answer)  # type: ignore[arg-type]


def visible_sessions(api: Api) -> set[str]:
    return {s["id"] for s in api.call("sessions_list").body["items"]}


def stored_builds(api: Api) -> list[str]:
    return [
        i["pk"]["S"]
        for i in api.items()
        if i["sk"]["S"] == records.SESSION_SK and i["status"]["S"] == "building"
    ]


def test_an_import_that_dies_half_way_leaves_nothing_visible_and_the_cleanup_removes_it(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an import of 4 transactions whose third fails, in a function that then dies
    # (it cannot even mark its build abandoned)
    monkeypatch.setattr(TransferStore, "abandon", lambda *_: None)
    recover = fail_transactions_from(3)
    start = clock.now()
    with clock.frozen(lambda: start):
        answer = api.call("import_post", body=document(messages=150, versions=1))
    recover()

    # Then the caller is told to retry, and sees nothing of it
    assert (answer.status, answer.code) == (503, "unavailable")
    assert "retry-after" in answer.headers
    assert visible_sessions(api) == set()
    (build,) = stored_builds(api)
    assert len(keys_under(build)) > 1
    # And the cleanup leaves it while its window lasts, then removes every item of it
    with clock.frozen(lambda: start + BUILD_WINDOW - timedelta(seconds=1)):
        assert run_cleanup(lambda: 300_000) == {"expired": 0, "deleted": 0}
    with clock.frozen(lambda: start + BUILD_WINDOW):
        assert run_cleanup(lambda: 300_000) == {"expired": 0, "deleted": 1}
    assert api.items() == []


def test_a_failed_import_marks_its_build_for_the_cleanups_next_run(api: Api) -> None:
    recover = fail_transactions_from(2)
    answer = api.call("import_post", body=document(messages=150, versions=1))
    recover()
    assert answer.status == 503
    (build,) = stored_builds(api)
    later = clock.now() + timedelta(seconds=1)
    with clock.frozen(lambda: later):
        assert run_cleanup(lambda: 300_000)["deleted"] == 1
    assert keys_under(build) == set()
    assert api.items() == []


def test_a_fork_whose_source_is_deleted_before_it_is_done_is_not_found(api: Api) -> None:
    # Given a session, and its deletion landing before the fork's last transaction
    source = api.create(initial_description="first")["id"]
    for i in range(120):
        assert api.append(source, f"m{i}").status == 201
    deleted: list[int] = []

    def delete_source(params: dict[str, Any], **_: Any) -> None:
        puts = [a["Put"]["Item"] for a in params["TransactItems"] if "Put" in a]
        last = any(p["sk"]["S"] == records.SESSION_SK and "owner" in p for p in puts)
        if last and not deleted:
            deleted.append(api.call("sessions_delete", session_id=source).status)

    events = session_access.get_table().client.meta.events
    events.register("provide-client-params.dynamodb.TransactWriteItems", delete_source)
    key = {"idempotency-key": str(uuid.uuid4())}

    # When it is forked with a key
    answer = api.call("fork_post", session_id=source, body={}, headers=key)

    # Then the fork is not found, its key is not recorded, and nothing of it is seen
    assert deleted == [204]
    assert (answer.status, answer.code) == (404, "not_found")
    assert visible_sessions(api) == set()
    assert len(stored_builds(api)) == 1
    later = clock.now() + timedelta(seconds=1)
    with clock.frozen(lambda: later):
        assert run_cleanup(lambda: 300_000)["deleted"] == 1
    assert api.items() == []


def test_a_lost_reply_of_the_last_transaction_makes_one_session(api: Api) -> None:
    lost: list[bool] = []

    def lose_reply(params: dict[str, Any], **_: Any) -> None:
        puts = [a["Put"]["Item"] for a in params["TransactItems"] if "Put" in a]
        if not lost and any(p["sk"]["S"] == records.SESSION_SK and "owner" in p for p in puts):
            lost.append(True)
            # Sent and applied, then the connection drops before the answer
            session_access.get_table().client.transact_write_items(**params)
            raise ConnectionClosedError(endpoint_url="https://dynamodb")

    events = session_access.get_table().client.meta.events
    events.register("provide-client-params.dynamodb.TransactWriteItems", lose_reply)
    answer = api.call("import_post", body=document(messages=150, versions=1))

    assert answer.status == 201, answer.body
    assert lost == [True]
    assert visible_sessions(api) == {answer.body["id"]}
    assert stored_builds(api) == []


def test_a_build_waits_for_nothing_it_does_not_need(api: Api) -> None:
    # A copy that fits one transaction is that one transaction: no BUILDING item at all
    wire = Wire()
    made = api.call("import_post", body=document(messages=40, versions=2)).body["id"]
    assert wire.calls["TransactWriteItems"] == 1
    assert len(wire.transactions) == 1 and wire.transactions[0][0] == 1 + 80 + 3 + 1 + 1
    assert api.call("sessions_get", session_id=made).status == 200
    assert TIME in api.call("export_get", session_id=made).text
