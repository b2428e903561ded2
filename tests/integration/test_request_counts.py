"""One DynamoDB write request per append (after at most one read), counted on the wire."""

from __future__ import annotations

from collections import Counter
from typing import Any

from chat_sessions import service
from tests.conftest import Api


def count_requests(api: Api) -> Counter[str]:
    calls: Counter[str] = Counter()

    def record(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    service.get_store().client.meta.events.register("before-call.dynamodb", record)
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
