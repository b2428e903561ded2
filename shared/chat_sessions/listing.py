"""The one way a list route answers: its cursor read back into a position, one page from
the store, the records kept as responses, the page cut to fit a Lambda response, and the
cursor to go on from."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel

from chat_sessions import cursor, paging
from chat_sessions.session_store import Page, Position

R = TypeVar("R")
Item = TypeVar("Item", bound=BaseModel)
PageOut = TypeVar("PageOut", bound=BaseModel)


def list_page(
    page_type: type[PageOut],
    scope: str,
    after: str | None,
    read: Callable[[Position | None], Page[R]],
    view: Callable[[R], Item | None],
    width: int = 1,
) -> PageOut:
    """One page of a list as `page_type` (its items, without those `view` makes None, and
    the next cursor). `scope` binds the cursor to its list; `width` is the length of its
    positions."""
    page = read(cursor.decode(scope, after, width) if after is not None else None)
    views = [(view(record), position) for record, position in page.entries]
    kept = [(item, position) for item, position in views if item is not None]
    items, position = paging.cut(
        [item for item, _ in kept], [position for _, position in kept], page.next
    )
    next_cursor = cursor.encode(scope, position) if position else None
    return page_type(items=items, next_cursor=next_cursor)
