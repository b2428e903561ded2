"""Idempotency-Key on every write route (api.md, "Idempotency").

A key belongs to its caller and to the session in the path: its record is an item of that
session (`IDEM#<key>`), so it lives and dies with the session's other items (DELETE, the
cleanup, an erasure, and TTL: it carries the session's `ttl`). It is put in the same
TransactWriteItems as the write it guards, on the condition that it does not exist yet, so
concurrent requests with one key make one write: the others' transactions are cancelled,
they read again and answer as replays. A key of the two routes that create a session
(`POST /sessions`, `POST /sessions/import`) belongs to the caller alone: records.py's
create-key record, beside the session it made.

What a record keeps rebuilds the first answer from what a replay carries again (its body)
and what the write stored (ids, numbers, times): never the messages or workflows
themselves, which together may pass DynamoDB's 400 KB item limit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from chat_sessions import jsonutil
from chat_sessions.errors import IdempotencyKeyReused
from chat_sessions.records import KeyRecord, SessionRecord

T = TypeVar("T")


@dataclass(frozen=True)
class RequestKey:
    """An Idempotency-Key with the request it came with (route, body, content type,
    If-Match), reduced to a fingerprint: a replay must match it."""

    key: str
    fingerprint: str

    def record(self, session: SessionRecord, answer: dict[str, Any]) -> KeyRecord:
        """The record of this key on `session`, with what rebuilds the answer."""
        return KeyRecord(session.id, self.key, self.fingerprint, answer, session.ttl)


def request_key(
    key: str | None,
    route: str,
    body: Any,
    media: str | None = None,
    if_match: str | None = None,
) -> RequestKey | None:
    """The key of a request, or None without one. The body is compared as parsed JSON."""
    if key is None:
        return None
    text = jsonutil.canonical([route, media, if_match, body])
    return RequestKey(key, hashlib.sha256(text.encode("utf-8")).hexdigest())


def replayed(found: KeyRecord | None, request: RequestKey | None) -> dict[str, Any] | None:
    """The first answer's record when `request` repeats a request that succeeded; None when
    its key is new (or it has none); 422 when the key was used for another request."""
    if found is None or request is None:
        return None
    if found.fingerprint != request.fingerprint:
        raise reused()
    return found.answer


def reused() -> IdempotencyKeyReused:
    return IdempotencyKeyReused(
        "this Idempotency-Key was already used for another request; send a new key for a "
        "new request"
    )


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What a write answers: its result, and whether it is a replay of an earlier request
    with the same Idempotency-Key (answered with `Idempotent-Replayed: true`)."""

    value: T
    replayed: bool = False
