"""DynamoDB throttling past botocore's retries: 503 unavailable, Retry-After, nothing written."""

from __future__ import annotations

import pytest

from tests.helpers.api import Api
from tests.helpers.dynamodb import throttle

THROTTLES = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
]


@pytest.mark.parametrize("code", THROTTLES)
def test_a_throttled_append_is_503_with_retry_after_and_writes_nothing(api: Api, code: str) -> None:
    session = api.create(initial_description="first")
    before = api.items()
    throttle("TransactWriteItems", code)
    answer = api.append(session["id"], "second")
    assert (answer.status, answer.code) == (503, "unavailable")
    # Mapped by the store (a crash would be 500); the message names no component or exception.
    assert code not in answer.body["error"]["message"]
    assert int(answer.headers["retry-after"]) >= 1
    assert api.items() == before


def test_throttled_reads_are_503(api: Api) -> None:
    session = api.create()
    throttle("GetItem", "ThrottlingException")
    answer = api.call("sessions_get", session_id=session["id"])
    assert (answer.status, answer.code) == (503, "unavailable")
    assert "ThrottlingException" not in answer.body["error"]["message"]
    throttle("Query", "ProvisionedThroughputExceededException")
    listed = api.call("sessions_list", query={})
    assert listed.status == 503
    assert "ProvisionedThroughputExceededException" not in listed.body["error"]["message"]
