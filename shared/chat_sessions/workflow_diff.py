"""Diffs of workflow JSON documents: RFC 6902 operations from one to the other, and the
body of a diff response (those operations and the change lines) built in one bounded walk.

Pure functions only: no I/O, no AWS calls, no logging. The walk and its order: json_walk;
change lines: change_lines; patches: json_patch.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from chat_sessions import jsonutil
from chat_sessions.change_lines import change_line
from chat_sessions.json_walk import pointer, walk


def diff(a: Any, b: Any) -> list[dict[str, Any]]:
    """Return RFC 6902 ``add``/``remove``/``replace`` operations turning ``a`` into ``b``.

    Deterministic, in the walk order documented in the module docstring. Values in
    the operations are deep copies, so the patch does not alias ``b``. A change at
    the root is a single ``replace`` with path ``""``.
    """
    ops: list[dict[str, Any]] = []
    for change in walk(a, b):
        op: dict[str, Any] = {"op": change.kind, "path": pointer(change.path)}
        if change.kind != "remove":
            op["value"] = copy.deepcopy(change.new)
        ops.append(op)
    return ops


class DiffTooLarge(Exception):
    """The diff's response would not fit the budget it was given."""


def _escaped(text: str) -> int:
    """Characters `text` takes inside a JSON string, escaped with non-ASCII as \\u escapes (as
    Lambda carries a function's response body)."""
    return len(_ENCODE_ASCII(text)) - 2


_ENCODE_ASCII = json.encoder.encode_basestring_ascii


def diff_body(a: Any, b: Any, start: int, end: int, max_escaped: int) -> str:
    """The compact JSON of ``{"from", "to", "patch": diff(a, b), "changes": change_lines(a, b)}``
    built in one walk; raises DiffTooLarge as soon as the body, escaped as Lambda carries it,
    would pass ``max_escaped`` characters."""
    head = f'{{"from":{start},"to":{end},"patch":['
    middle, tail = '],"changes":[', "]}"
    used = _escaped(head) + _escaped(middle) + _escaped(tail)
    ops: list[str] = []
    lines: list[str] = []
    for change in walk(a, b):
        path = change.path
        op = f'{{"op":"{change.kind}","path":{jsonutil.dumps(pointer(path))}'
        if change.kind != "remove":
            op += f',"value":{jsonutil.dumps(change.new)}'
        op += "}"
        used += _escaped(op) + (2 if ops else 0)  # and a comma in each list after the first
        if used > max_escaped:
            raise DiffTooLarge()
        line = jsonutil.dumps(change_line(change))
        used += _escaped(line)
        if used > max_escaped:
            raise DiffTooLarge()
        ops.append(op)
        lines.append(line)
    return f"{head}{','.join(ops)}{middle}{','.join(lines)}{tail}"
