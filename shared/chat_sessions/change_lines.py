"""Change lines: one readable line per change from one workflow to the next, in the walk's
order (json_walk), and how a list of them is cut to a byte budget.

Pure functions only: no I/O, no AWS calls, no logging.
"""

from __future__ import annotations

import json
import re
from typing import Any

from chat_sessions import jsonutil
from chat_sessions.json_walk import Change, Token, walk

ROOT_LABEL = "(root)"
ELLIPSIS = "…"

# Keys made only of word characters and hyphens print bare; anything else is
# quoted so paths stay unambiguous (also against "(root)" and the ": " separator).
_PLAIN_KEY = re.compile(r"[\w-]+")


def _format_path(path: tuple[Token, ...]) -> str:
    if not path:
        return ROOT_LABEL
    parts: list[str] = []
    for token in path:
        if isinstance(token, int):
            parts.append(f"[{token}]")
        elif _PLAIN_KEY.fullmatch(token):
            parts.append(f".{token}" if parts else token)
        else:
            parts.append(f"[{json.dumps(token, ensure_ascii=False)}]")
    return "".join(parts)


def format_value(value: Any, max_chars: int) -> str:
    text = jsonutil.dumps(value)
    if len(text) <= max_chars:
        return text
    return text[: max_chars - 1] + ELLIPSIS


def change_lines(a: Any, b: Any, *, max_value_chars: int = 80) -> list[str]:
    """Return one human-readable line per change from ``a`` to ``b`` (same walk as diff).

    Formats: ``added <path>``, ``removed <path>``, ``changed <path>: <old> -> <new>``.
    Paths are dotted keys with ``[i]`` for array indexes; keys that are not made of
    word characters and ``-`` only (e.g. containing ``.``, ``[``, spaces, or empty)
    are written ``["key"]``. A change of the whole document is
    ``changed (root): <old> -> <new>``. Values are compact JSON cut to at most
    ``max_value_chars`` characters, ending in ``…`` when cut. Returns ``[]`` exactly
    when ``a`` and ``b`` are equal JSON.
    """
    if max_value_chars < 1:
        raise ValueError("max_value_chars must be at least 1")
    return [change_line(change, max_value_chars) for change in walk(a, b)]


def change_line(change: Change, max_value_chars: int = 80) -> str:
    where = _format_path(change.path)
    if change.kind == "add":
        return f"added {where}"
    if change.kind == "remove":
        return f"removed {where}"
    old = format_value(change.old, max_value_chars)
    new = format_value(change.new, max_value_chars)
    return f"changed {where}: {old} -> {new}"


def bounded_change_lines(a: Any, b: Any, max_bytes: int) -> list[str]:
    """``limit_lines(change_lines(a, b), max_bytes)``, in time and memory bounded by
    ``max_bytes`` and the documents: lines past the budget are counted, not written."""
    changes = walk(a, b)
    lines: list[str] = []
    total = 0
    for change in changes:
        lines.append(change_line(change))
        total += _line_bytes(lines[-1])
        if total > max_bytes:
            break
    return _cut(lines, len(lines) + sum(1 for _ in changes), max_bytes)


def _moreline(count: int) -> str:
    return f"{ELLIPSIS} and {count} more changes"


def _line_bytes(line: str) -> int:
    # +1 accounts for the newline that joins the stored lines.
    return len(line.encode("utf-8")) + 1


def limit_lines(lines: list[str], max_bytes: int) -> list[str]:
    """Keep leading ``lines`` whose UTF-8 size (each line + 1 byte) fits ``max_bytes``.

    If any line is dropped, the result ends with ``… and N more changes`` and the
    whole result, that line included, still fits; if not even that line fits,
    the result is ``[]``.
    """
    return _cut(lines, len(lines), max_bytes)


def _cut(lines: list[str], count: int, max_bytes: int) -> list[str]:
    """limit_lines of `count` lines of which `lines` are the first (at least those that fit
    and one more, unless they are all there)."""
    kept: list[str] = []
    total = 0
    for line in lines:
        size = _line_bytes(line)
        if total + size > max_bytes:
            break
        kept.append(line)
        total += size
    if len(kept) == count:
        return kept
    while kept and total + _line_bytes(_moreline(count - len(kept))) > max_bytes:
        total -= _line_bytes(kept.pop())
    marker = _moreline(count - len(kept))
    if total + _line_bytes(marker) > max_bytes:
        return []
    return [*kept, marker]
