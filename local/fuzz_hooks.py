"""schemathesis hooks for `make fuzz` (loaded through SCHEMATHESIS_HOOKS; they run in
.venv-schemathesis, not in the project's environment).

What the document states but JSON Schema cannot express, kept out of what is sent (in every
phase, by `before_call`; schemathesis judges a case as it was sent) so
that every remaining answer can be judged by the document alone (each is exercised by
`python -m local.hostile` and the integration tests instead):

- a list cursor is an opaque token the service issued (authenticated with a secret key): a
  fuzzer cannot know which strings were issued, so it sends none;
- a client message id names one message in its session: a fuzzer repeats the ids it drew
  with other messages, which is 422 idempotency_key_reused by design, so each valid id it
  sends is made fresh;
- an Idempotency-Key names one request: a fuzzer repeats the keys it drew with other
  requests, which is 422 idempotency_key_reused by design, so each valid key it sends is
  made fresh (a malformed one is kept: 400, as the document says);
- an import document must be a consistent session (seqs and versions 1..n, message ids
  unique, reverted_from before its version, the summary within the messages): rules across
  the document, so what is sent is made consistent;
- on a turn, If-Match and expected_version must agree (422 otherwise): a cross-field rule of
  a header and the body, so a turn carries one or the other;
- schemathesis reads an empty header as no header but sends it empty: an empty If-Match is
  400 (the document's pattern refuses it), so it is left out of what is sent.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import MutableMapping
from typing import Any

import schemathesis  # type: ignore[import-not-found]

_UUID = re.compile("[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_KEY = re.compile("[!-~]{1,128}")  # contract.IDEMPOTENCY_KEY_PATTERN


def _fresh(message: Any) -> None:
    if isinstance(message, dict):
        value = message.get("id")
        if isinstance(value, str) and _UUID.fullmatch(value):
            message["id"] = str(uuid.uuid4())


def _consistent(document: dict[str, Any]) -> None:
    """An import document renumbered into a consistent session (each part left as drawn)."""
    messages = [m for m in document.get("messages") or [] if isinstance(m, dict)]
    for seq, message in enumerate(messages, 1):
        message["seq"] = seq
        _fresh(message)
    for number, version in enumerate(document.get("versions") or [], 1):
        if isinstance(version, dict):
            version["version"] = number
            if not isinstance(version.get("reverted_from"), int) or not (
                0 < version["reverted_from"] < number
            ):
                version["reverted_from"] = None
    summary = document.get("summary")
    if isinstance(summary, dict) and not (
        isinstance(summary.get("covers_seq"), int) and summary["covers_seq"] <= len(messages)
    ):
        document["summary"] = None


@schemathesis.hook  # type: ignore[untyped-decorator]
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Edits the case as it is sent, in every phase; schemathesis judges what was sent."""
    path, body = case.operation.path, case.body
    query = case.query if isinstance(case.query, MutableMapping) else {}
    query.pop("cursor", None)
    headers = case.headers if isinstance(case.headers, MutableMapping) else {}
    for name in [k for k in list(headers) if k.lower() == "idempotency-key"]:
        if isinstance(headers[name], str) and _KEY.fullmatch(headers[name]):
            headers[name] = f"fuzz-{uuid.uuid4()}"
    for name in [k for k in list(headers) if k.lower() == "if-match"]:
        value = headers[name]
        blank = isinstance(value, str) and not value.strip(" \t")
        turn = path.endswith("/turns") and isinstance(body, dict)
        if blank or (turn and body.get("expected_version") is not None):
            del headers[name]
    if path == "/sessions/import" and isinstance(body, dict):
        _consistent(body)
    if path.endswith("/messages") and case.method.upper() == "POST":
        _fresh(body)
    elif path.endswith("/turns") and isinstance(body, dict):
        for message in body.get("messages") or []:
            _fresh(message)
