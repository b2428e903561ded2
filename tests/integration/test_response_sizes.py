"""No list response passes Lambda's 6 MB, measured as Lambda measures it, whatever is stored."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.api import Api

LAMBDA_LIMIT = 6_291_456


def every_page(api: Api, name: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item of a list, page by page, each page's response within Lambda's limit."""
    items: list[dict[str, Any]] = []
    query: dict[str, str] = {"limit": "100"}
    while True:
        answer = api.call(name, query=query, **kwargs)
        assert answer.status == 200, answer.body
        assert answer.lambda_bytes <= LAMBDA_LIMIT
        items += answer.body["items"]
        if answer.body["next_cursor"] is None:
            return items
        query = {"limit": "100", "cursor": answer.body["next_cursor"]}


@pytest.mark.parametrize(
    ("char", "count"),
    [
        # Each control character is 6 bytes in the body and 7 inside Lambda's response.
        ("\u0001", 20),
        # 4 bytes each, 65 536 bytes a message: 6.5 MB for a page of 100.
        ("\U0001f600", 100),
    ],
    ids=["control-characters", "emoji"],
)
def test_message_pages_fit_lambdas_response_limit(api: Api, char: str, count: int) -> None:
    # Defect: pages were budgeted on len(str(item)): these lists failed for good
    # (Function.ResponseSizeTooLarge, a 500 from the gateway).
    session = api.create()
    fill = char * ((65536 - 3) // len(char.encode()))  # the largest message, after a number
    for i in range(count):
        assert api.append(session["id"], f"{i:03d}{fill}").status == 201

    stored = every_page(api, "messages_list", session_id=session["id"])

    assert [m["seq"] for m in stored] == list(range(1, count + 1))


def test_session_pages_fit_lambdas_response_limit(api: Api, settings: Any) -> None:
    # 100 sessions with 64 KB of metadata (its largest setting) made of control characters:
    # 76 KB each inside Lambda's response, 7.6 MB for a page of 100
    settings(MAX_METADATA_BYTES=65536)
    for i in range(100):
        api.create(metadata={"note": f"{i:03d}" + "\u0001" * 10_900})

    listed = every_page(api, "sessions_list")

    assert len(listed) == 100
    assert len({s["id"] for s in listed}) == 100
