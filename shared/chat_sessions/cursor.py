"""Opaque list cursors: `A-Z a-z 0-9 - _` only, bound to the list they were issued for.

A cursor is base64url(check + JSON position). The check is a hash over the list's scope
and the position, so an altered cursor, or one from another list (another session, order,
owner or filter), fails it and gets `400 bad_request`. The position is only a key inside
the caller's own list, so the check guards integrity, not secrets.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json

from chat_sessions.errors import BadRequest

_CHECK_BYTES = 12
_MAX_CURSOR_CHARS = 2048


def _check(scope: str, payload: bytes) -> bytes:
    return hashlib.sha256(scope.encode("utf-8") + b"\x00" + payload).digest()[:_CHECK_BYTES]


def encode(scope: str, position: list[str]) -> str:
    payload = json.dumps(position, separators=(",", ":")).encode("utf-8")
    raw = _check(scope, payload) + payload
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode(scope: str, cursor: str, length: int) -> list[str]:
    """The position held by `cursor`, which must have been issued for `scope`."""
    bad = BadRequest("cursor is not valid for this list")
    if len(cursor) > _MAX_CURSOR_CHARS or not cursor.isascii():
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError) as exc:
        raise bad from exc
    check, payload = raw[:_CHECK_BYTES], raw[_CHECK_BYTES:]
    if not hmac.compare_digest(check, _check(scope, payload)):
        raise bad
    try:
        position = json.loads(payload)
    except ValueError as exc:
        raise bad from exc
    if (
        not isinstance(position, list)
        or len(position) != length
        or not all(isinstance(p, str) for p in position)
    ):
        raise bad
    return position
