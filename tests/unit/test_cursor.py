"""Opaque cursors, authenticated with a secret key and bound to their list."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import string
from collections.abc import Callable, Iterator

import pytest

from chat_sessions import config, cursor
from chat_sessions.errors import BadRequest
from tests.helpers.api import TEST_CURSOR_KEY

ALPHABET = string.ascii_letters + string.digits + "-_"
SCOPE = "messages|s1|asc|None"


@pytest.fixture(autouse=True)
def key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(config.CURSOR_KEY_ENV, TEST_CURSOR_KEY)
    config.cursor_key.cache_clear()
    yield
    config.cursor_key.cache_clear()


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def test_a_cursor_round_trips_and_is_query_string_safe() -> None:
    text = cursor.encode(SCOPE, ["MSG#0000000007"])
    assert re.fullmatch(r"[A-Za-z0-9_-]+", text)
    assert cursor.decode(SCOPE, text, 1) == ["MSG#0000000007"]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: t[1:],
        lambda t: t + "A",
        lambda t: "",
        lambda t: "!!!",
        lambda t: "é" + t,
        lambda t: t + "=",
        lambda t: t.replace("-", "+").replace("_", "/"),
    ],
)
def test_an_altered_cursor_is_a_bad_request(mutate: Callable[[str], str]) -> None:
    text = cursor.encode("scope", ["a", "b"])
    if mutate(text) == text:
        return
    with pytest.raises(BadRequest):
        cursor.decode("scope", mutate(text), 2)


def test_every_one_character_change_is_a_bad_request() -> None:
    text = cursor.encode(SCOPE, ["MSG#0000000007"])
    for index, original in enumerate(text):
        for replacement in ALPHABET:
            if replacement == original:
                continue
            changed = text[:index] + replacement + text[index + 1 :]
            with pytest.raises(BadRequest):
                cursor.decode(SCOPE, changed, 1)


def test_a_cursor_of_another_list_or_shape_is_a_bad_request() -> None:
    text = cursor.encode(SCOPE, ["MSG#0000000007"])
    with pytest.raises(BadRequest):
        cursor.decode("messages|s2|asc|None", text, 1)
    with pytest.raises(BadRequest):
        cursor.decode(SCOPE, text, 2)


def test_a_cursor_forged_without_the_key_is_a_bad_request() -> None:
    """Whoever reads the code can compute an unkeyed hash: a position of their choosing,
    checked as the old cursors were (truncated SHA-256 of scope and position), is refused."""
    payload = json.dumps(["MSG#0000000001"], separators=(",", ":")).encode()
    forged = b64(hashlib.sha256(SCOPE.encode() + b"\x00" + payload).digest()[:12] + payload)
    with pytest.raises(BadRequest):
        cursor.decode(SCOPE, forged, 1)
    for tag_bytes in (12, 16, 32):
        guess = b64(hashlib.sha256(SCOPE.encode() + payload).digest()[:tag_bytes] + payload)
        with pytest.raises(BadRequest):
            cursor.decode(SCOPE, guess, 1)


def test_a_cursor_made_with_another_key_is_a_bad_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config.CURSOR_KEY_ENV, "another-deployment-key-" + "x" * 20)
    config.cursor_key.cache_clear()
    text = cursor.encode(SCOPE, ["MSG#0000000007"])
    monkeypatch.setenv(config.CURSOR_KEY_ENV, TEST_CURSOR_KEY)
    config.cursor_key.cache_clear()
    with pytest.raises(BadRequest):
        cursor.decode(SCOPE, text, 1)


def test_without_a_key_no_cursor_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(config.CURSOR_KEY_ENV)
    config.cursor_key.cache_clear()
    with pytest.raises(config.SettingsError):
        cursor.encode(SCOPE, ["MSG#0000000007"])
