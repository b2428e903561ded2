"""Opaque cursors bound to their list."""

from __future__ import annotations

import re

import pytest

from chat_sessions import cursor
from chat_sessions.errors import BadRequest


def test_a_cursor_round_trips_and_is_query_string_safe() -> None:
    text = cursor.encode("messages|s1|asc|None", ["MSG#0000000007"])
    assert re.fullmatch(r"[A-Za-z0-9_-]+", text)
    assert cursor.decode("messages|s1|asc|None", text, 1) == ["MSG#0000000007"]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: t[1:],
        lambda t: t + "A",
        lambda t: "",
        lambda t: "!!!",
        lambda t: "é" + t,
    ],
)
def test_an_altered_cursor_is_a_bad_request(mutate) -> None:  # type: ignore[no-untyped-def]
    text = cursor.encode("scope", ["a", "b"])
    with pytest.raises(BadRequest):
        cursor.decode("scope", mutate(text), 2)


def test_a_cursor_of_another_list_or_shape_is_a_bad_request() -> None:
    text = cursor.encode("messages|s1|asc|None", ["MSG#0000000007"])
    with pytest.raises(BadRequest):
        cursor.decode("messages|s2|asc|None", text, 1)
    with pytest.raises(BadRequest):
        cursor.decode("messages|s1|asc|None", text, 2)
