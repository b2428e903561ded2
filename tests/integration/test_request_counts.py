"""One DynamoDB write request per append (after at most one read), counted on the wire."""

from __future__ import annotations

from collections import Counter
from typing import Any

from chat_sessions import session_access
from tests.helpers.api import Api


def count_requests(api: Api) -> Counter[str]:
    calls: Counter[str] = Counter()

    def record(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    session_access.get_table().client.meta.events.register("before-call.dynamodb", record)
    return calls


def test_an_append_is_one_transaction_after_one_read(api: Api) -> None:
    session = api.create(initial_description="first")
    calls = count_requests(api)
    assert api.append(session["id"], "second").status == 201
    assert calls == Counter({"GetItem": 1, "TransactWriteItems": 1})


def test_an_append_with_a_client_id_reads_session_and_id_together(api: Api) -> None:
    session = api.create()
    calls = count_requests(api)
    assert api.append(session["id"], "x", id="1b4e28ba-2fa1-11d2-883f-0016d3cca427").status == 201
    assert calls == Counter({"BatchGetItem": 1, "TransactWriteItems": 1})


def test_creating_a_session_with_a_description_is_one_request(api: Api) -> None:
    calls = count_requests(api)
    api.create(initial_description="first")
    assert calls == Counter({"TransactWriteItems": 1})


class CapacityMeter:
    """Asks DynamoDB for the capacity each request consumes (by DynamoDB's rules on the
    strict stack) and adds it up."""

    def __init__(self) -> None:
        self.read_units = 0.0
        events = session_access.get_table().client.meta.events
        events.register("provide-client-params.dynamodb", self._ask)
        events.register("after-call.dynamodb", self._count)

    def _ask(self, params: dict[str, Any], **_: Any) -> None:
        params.setdefault("ReturnConsumedCapacity", "TOTAL")

    def _count(self, parsed: dict[str, Any], **_: Any) -> None:
        used = parsed.get("ConsumedCapacity") or []
        for entry in used if isinstance(used, list) else [used]:
            self.read_units += float(entry.get("ReadCapacityUnits", 0.0))


def test_a_filtered_list_reads_a_bounded_amount_per_request(api: Api) -> None:
    # Defect: with the status filter on the index query, `Limit` counted items before the
    # filter and the list queried page after page: 400 active sessions and
    # ?status=ended&limit=1 took one Query per session (a timeout, 500).
    for _ in range(400):
        api.create()
    calls = count_requests(api)

    # When the caller lists its ended sessions one at a time
    first = api.call("sessions_list", query={"status": "ended", "limit": "1"})

    # Then one request reads one index key and one session item, and says where to go on
    assert first.status == 200
    assert (first.body["items"], first.body["next_cursor"] is not None) == ([], True)
    assert calls == Counter({"Query": 1, "BatchGetItem": 1})


def test_delete_reads_only_the_small_key_ranges(api: Api) -> None:
    # Defect: DELETE and the cleanup listed a session's keys by querying its whole
    # partition, reading every message in full (about 1 GB for a session at the limits).
    session = api.create()
    for i in range(60):
        assert api.append(session["id"], f"{i:02d}" + "x" * 60_000).status == 201
    meter = CapacityMeter()

    assert api.call("sessions_delete", session_id=session["id"]).status == 204

    # 60 messages of 60 KB are about 900 read units if read whole; the session item and
    # the message-id guards are a few
    assert meter.read_units <= 10
    assert [i for i in api.items() if i.get("session_id", i["pk"])["S"] == session["id"]] == []
