"""The body of GET /sessions/{session_id}/export, built as text within Lambda's response
limit. Pure: no I/O.

Lambda's python3.11 runtime carries a function's response body as a JSON string inside its
own JSON, with every character the body escapes escaped again and every non-ASCII character
as a \\u escape (6 bytes, 12 for one outside the BMP). Each part is counted so as it is added,
and the document is refused (DocumentTooLarge) as soon as it would pass its budget, so that
the export reads no further.
"""

from __future__ import annotations

import json
from typing import Any

from chat_sessions import jsonutil
from chat_sessions.lifecycle_models import EXPORT_FORMAT

_ENCODE_ASCII = json.encoder.encode_basestring_ascii


class DocumentTooLarge(Exception):
    """The export would not fit the budget it was given."""


def escaped_length(text: str) -> int:
    """Bytes `text` takes inside a JSON string written with non-ASCII as \\u escapes."""
    return len(_ENCODE_ASCII(text)) - 2


class ExportBody:
    """The compact JSON of ExportOut: {"format", "exported_at", "session", "messages",
    "versions", "summary"}, its lists filled one item at a time."""

    def __init__(
        self,
        exported_at: str,
        session: dict[str, Any],
        summary: dict[str, Any] | None,
        max_escaped: int,
    ) -> None:
        self._head = (
            f'{{"format":"{EXPORT_FORMAT}","exported_at":{jsonutil.dumps(exported_at)},'
            f'"session":{jsonutil.dumps(session)},"messages":['
        )
        self._middle = '],"versions":['
        self._tail = f'],"summary":{jsonutil.dumps(summary)}}}'
        self._messages: list[str] = []
        self._versions: list[str] = []
        self._budget = max_escaped
        self._used = 0
        self._count(self._head + self._middle + self._tail)

    def add_message(self, message: dict[str, Any]) -> None:
        self._add(self._messages, jsonutil.dumps(message))

    def add_version(self, version: dict[str, Any]) -> None:
        self._add(self._versions, jsonutil.dumps(version))

    def _add(self, items: list[str], text: str) -> None:
        self._count(text, comma=bool(items))
        items.append(text)

    def _count(self, text: str, comma: bool = False) -> None:
        self._used += escaped_length(text) + int(comma)
        if self._used > self._budget:
            raise DocumentTooLarge()

    def text(self) -> str:
        messages, versions = ",".join(self._messages), ",".join(self._versions)
        return f"{self._head}{messages}{self._middle}{versions}{self._tail}"
