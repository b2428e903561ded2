"""Hostile workflow writes and reads: a patch that would grow the workflow without bound is
refused at bounded memory, and a diff answers within Lambda's response limit or says what to
fetch instead."""

from __future__ import annotations

import json
import random
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

from chat_sessions import jsonutil
from tests.helpers.api import Answer, Api

LIMIT = 262_144
# Lambda refuses a response over 6 291 556 bytes; the body travels escaped inside it.
LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024 + 100


def state(api: Api, sid: str) -> list[tuple[str, str]]:
    return sorted((i["sk"]["S"], str(i)) for i in api.items() if i["pk"]["S"] == sid)


def lambda_size(answer: Answer) -> int:
    """The size of the function's response as Lambda measures it: the body escaped in it."""
    envelope = {"statusCode": answer.status, "headers": answer.headers, "body": answer.text}
    return len(json.dumps(envelope))


def copy_bomb(copies: int) -> str:
    return json.dumps([{"op": "copy", "from": "", "path": f"/c{i}"} for i in range(copies)])


def test_a_copy_bomb_is_refused_at_bounded_memory_and_writes_nothing(api: Api) -> None:
    sid = api.create()["id"]
    workflow = {"steps": {f"s{i}": {"type": "sql", "query": "select 1" * 6} for i in range(750)}}
    assert 55_000 < jsonutil.size(workflow) < 65_000
    assert api.call("workflow_put", session_id=sid, body={"workflow": workflow}).status == 200
    before = state(api, sid)
    patch = copy_bomb(14)
    assert len(patch) < 700
    tracemalloc.start()
    try:
        answer = api.call(
            "workflow_patch_json", session_id=sid, raw_body=patch, headers={"if-match": "*"}
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (answer.status, answer.code) == (413, "payload_too_large"), answer.body
    assert str(LIMIT) in answer.body["error"]["message"]
    assert peak < 50_000_000, peak
    assert state(api, sid) == before


@pytest.mark.parametrize("media", ["merge", "json"])
def test_a_patch_reaching_the_limit_exactly_is_stored_and_one_byte_more_is_not(
    api: Api, media: str
) -> None:
    sid = api.create()["id"]
    base = {"name": "x"}
    api.call("workflow_put", session_id=sid, body={"workflow": base})
    # {"name":"x","pad":"..."} is 24 bytes plus the padding
    fill = LIMIT - len('{"name":"x","pad":""}')

    def send(pad: str) -> Answer:
        if media == "merge":
            name, body = "workflow_patch_merge", json.dumps({"pad": pad})
        else:
            name, body = (
                "workflow_patch_json",
                json.dumps([{"op": "add", "path": "/pad", "value": pad}]),
            )
        return api.call(name, session_id=sid, raw_body=body, headers={"if-match": "*"})

    over = send("p" * (fill + 1))
    assert (over.status, over.code) == (413, "payload_too_large")
    exact = send("p" * fill)
    assert exact.status == 200, exact.body
    stored = api.call("workflow_get", session_id=sid).body["workflow"]
    assert jsonutil.size(stored) == LIMIT


def many_small(seed: int, count: int) -> dict[str, Any]:
    rng = random.Random(seed)
    steps = [{"id": i, "t": rng.choice("abc"), "v": rng.randint(0, 9)} for i in range(count)]
    return {"steps": steps}


def long_paths(seed: int, count: int) -> dict[str, Any]:
    """Many leaves under a path of 28 keys of 900 characters: each change repeats the path."""
    rng = random.Random(seed)
    node: dict[str, Any] = {"leaves": [rng.randint(0, 9) for _ in range(count)]}
    for i in range(28):
        node = {f"k{i:02d}" * 300: node}
    return node


def escapes(seed: int, count: int) -> dict[str, Any]:
    """Strings that grow sixfold when escaped (control characters and non-ASCII)."""
    rng = random.Random(seed)
    return {"s": [rng.choice('\x01\x02é€"\\') * 8 for _ in range(count)]}


def largest(make: Callable[[int], dict[str, Any]], limit: int = 260_000) -> dict[str, Any]:
    low, high = 1, 200_000
    while low < high:
        middle = (low + high + 1) // 2
        if jsonutil.size(make(middle)) <= limit:
            low = middle
        else:
            high = middle - 1
    return make(low)


@pytest.mark.parametrize(
    ("make", "fits"),
    [(many_small, True), (escapes, True), (long_paths, False)],
    ids=["many-small-objects", "escaped-strings", "long-paths"],
)
def test_a_diff_of_two_large_workflows_fits_lambda_or_says_what_to_fetch(
    api: Api, make: Callable[[int, int], dict[str, Any]], fits: bool
) -> None:
    sid = api.create()["id"]
    first = largest(lambda count: make(1, count))
    second = largest(lambda count: make(2, count))
    for workflow in (first, second):
        answer = api.call("workflow_put", session_id=sid, body={"workflow": workflow})
        assert answer.status == 200, answer.body
    answer = api.call("workflow_diff", session_id=sid, query={"from": "1", "to": "2"})
    assert lambda_size(answer) < LAMBDA_RESPONSE_LIMIT
    if fits:
        assert answer.status == 200, answer.body
        assert jsonutil.dumps(answer.body["patch"])  # a real patch came back
        assert len(answer.body["changes"]) == len(answer.body["patch"]) > 1000
    else:
        assert (answer.status, answer.code) == (409, "limit_exceeded"), answer.status
        message = answer.body["error"]["message"]
        assert "versions/1" in message and "versions/2" in message, message
    # the version written second explains itself within its bounded change lines
    versions = api.call("workflow_versions_list", session_id=sid).body["items"]
    changes = versions[0]["changes"]
    assert changes and sum(len(line.encode()) + 1 for line in changes) <= 64 * 1024
