"""Opaque list cursors: `A-Z a-z 0-9 - _` only, authenticated, bound to the list they were
issued for.

A cursor is base64url(tag + JSON position). The tag is HMAC-SHA256, keyed with the secret
`CURSOR_KEY` (see config.cursor_key: generated at deploy, never in the repository), over the
list's scope (the kind of list, its caller or session, its order and filters) and the
position. Without the key nobody can make a tag that verifies, so a cursor altered in any
way, made up, or issued for another list or caller gets `400 bad_request`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re

from chat_sessions.config import cursor_key
from chat_sessions.contract import CURSOR_MAX_CHARS, CURSOR_PATTERN
from chat_sessions.errors import BadRequest

# 128 bits of HMAC-SHA256: truncation is allowed by RFC 2104 (at least half the output).
_TAG_BYTES = 16
_CURSOR = re.compile(CURSOR_PATTERN)


def _tag(scope: str, payload: bytes) -> bytes:
    # Length-prefixed scope: no scope/payload pair can be re-split into another one.
    message = len(scope.encode("utf-8")).to_bytes(4, "big") + scope.encode("utf-8") + payload
    return hmac.new(cursor_key(), message, hashlib.sha256).digest()[:_TAG_BYTES]


def encode(scope: str, position: list[str]) -> str:
    payload = json.dumps(position, separators=(",", ":")).encode("utf-8")
    raw = _tag(scope, payload) + payload
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode(scope: str, cursor: str, length: int) -> list[str]:
    """The position held by `cursor`, which must have been issued for `scope`."""
    bad = BadRequest("cursor is not valid for this list")
    if len(cursor) > CURSOR_MAX_CHARS or not _CURSOR.fullmatch(cursor) or len(cursor) % 4 == 1:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError) as exc:
        raise bad from exc
    # Only the canonical spelling: base64 ignores stray low bits of the last character.
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != cursor:
        raise bad
    tag, payload = raw[:_TAG_BYTES], raw[_TAG_BYTES:]
    if len(tag) != _TAG_BYTES or not hmac.compare_digest(tag, _tag(scope, payload)):
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
