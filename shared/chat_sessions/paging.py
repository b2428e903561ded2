"""How many items of a list page fit in Lambda's response, measured as Lambda measures it.

Lambda refuses a synchronous response over 6 MB (6 291 556 bytes): the function's whole
JSON response, in which the body is a JSON string, so every character the body's JSON
escapes is escaped once more (a control character in a message is 7 bytes there). A page
holds items while their escaped size stays within ITEMS_BUDGET, which leaves room for the
envelope, the cursor and the headers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TypeVar

from pydantic import BaseModel

from chat_sessions import jsonutil

ITEMS_BUDGET = 5_500_000

Item = TypeVar("Item", bound=BaseModel)
P = TypeVar("P")


def escaped_size(text: str) -> int:
    """UTF-8 bytes of `text` written as a JSON string (as the Lambda runtime writes it)."""
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8"))


def fitting(items: Sequence[Item], budget: int = ITEMS_BUDGET) -> int:
    """How many of `items`, from the first, fit in `budget` escaped bytes (at least one)."""
    used = 0
    for count, item in enumerate(items):
        # The item's body JSON, escaped inside the response; its comma costs one more byte.
        used += escaped_size(jsonutil.dumps(item.model_dump())) - 1
        if used > budget and count > 0:
            return count
    return len(items)


def cut(
    items: Sequence[Item], positions: Sequence[P], last: P | None
) -> tuple[list[Item], P | None]:
    """The items that fit and the position to go on from: the last kept item's (`positions`
    are the items') when the page was cut, else `last` (the store's, None at the end)."""
    count = fitting(items)
    if count == len(items):
        return list(items), last
    return list(items[:count]), positions[count - 1]
