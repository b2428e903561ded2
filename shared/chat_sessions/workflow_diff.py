"""Diffs, change explanations and patches for workflow JSON documents.

Pure functions only: no I/O, no AWS calls, no logging.

JSON equality used throughout: booleans are distinct from numbers (``True`` differs
from ``1``), while an int and a float that are numerically equal (``1`` and ``1.0``)
count as equal. Documents are plain JSON values (dict with str keys, list, str,
int, float, bool, None).

Walk order shared by :func:`diff` and :func:`change_lines`:

* objects: removed keys, then keys present in both (recursing), then added keys;
  each group in sorted (code point) key order;
* arrays: the common prefix index by index (recursing), then surplus elements of
  ``a`` removed from the highest index down, or extra elements of ``b`` added in
  ascending index order (as ``add`` at their explicit index);
* anything else that differs, including a change of JSON type, is one ``replace``.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import jsonpatch
import jsonpointer

from chat_sessions import jsonutil

__all__ = [
    "InvalidPatch",
    "PatchFailed",
    "change_lines",
    "diff",
    "json_patch",
    "limit_lines",
    "merge_patch",
]

ROOT_LABEL = "(root)"
ELLIPSIS = "…"

# Keys made only of word characters and hyphens print bare; anything else is
# quoted so paths stay unambiguous (also against "(root)" and the ": " separator).
_PLAIN_KEY = re.compile(r"[\w-]+")
# RFC 6901 pointer syntax: "" or "/"-prefixed tokens whose "~" is always "~0" or "~1".
_POINTER = re.compile(r"(/([^/~]|~[01])*)*")

_OPS_NEEDING_VALUE = frozenset({"add", "replace", "test"})
_OPS_NEEDING_FROM = frozenset({"move", "copy"})
_KNOWN_OPS = frozenset({"add", "remove", "replace", "move", "copy", "test"})


class PatchFailed(Exception):
    """A well-formed patch could not be applied (test failed, path missing)."""


class InvalidPatch(Exception):
    """The patch document itself is malformed."""


Token: TypeAlias = str | int


@dataclass(frozen=True)
class _Change:
    kind: Literal["add", "remove", "replace"]
    path: tuple[Token, ...]
    old: Any = None
    new: Any = None


def _kind(value: Any) -> str:
    # bool is checked before numbers because bool is a subclass of int.
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _json_equal(a: Any, b: Any) -> bool:
    kind = _kind(a)
    if kind != _kind(b):
        return False
    if kind == "object":
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if kind == "array":
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _walk(a: Any, b: Any, path: tuple[Token, ...]) -> Iterator[_Change]:
    kind = _kind(a)
    if kind != _kind(b):
        yield _Change("replace", path, a, b)
    elif kind == "object":
        for key in sorted(a.keys() - b.keys()):
            yield _Change("remove", (*path, key), old=a[key])
        for key in sorted(a.keys() & b.keys()):
            yield from _walk(a[key], b[key], (*path, key))
        for key in sorted(b.keys() - a.keys()):
            yield _Change("add", (*path, key), new=b[key])
    elif kind == "array":
        common = min(len(a), len(b))
        for index in range(common):
            yield from _walk(a[index], b[index], (*path, index))
        # Highest index first so earlier removals do not shift later ones.
        for index in range(len(a) - 1, common - 1, -1):
            yield _Change("remove", (*path, index), old=a[index])
        for index in range(common, len(b)):
            yield _Change("add", (*path, index), new=b[index])
    elif not _json_equal(a, b):
        yield _Change("replace", path, a, b)


def _pointer(path: tuple[Token, ...]) -> str:
    # "~" must be escaped before "/" so the "~1" produced for "/" is not re-escaped.
    return "".join("/" + str(token).replace("~", "~0").replace("/", "~1") for token in path)


def diff(a: Any, b: Any) -> list[dict[str, Any]]:
    """Return RFC 6902 ``add``/``remove``/``replace`` operations turning ``a`` into ``b``.

    Deterministic, in the walk order documented in the module docstring. Values in
    the operations are deep copies, so the patch does not alias ``b``. A change at
    the root is a single ``replace`` with path ``""``.
    """
    ops: list[dict[str, Any]] = []
    for change in _walk(a, b, ()):
        op: dict[str, Any] = {"op": change.kind, "path": _pointer(change.path)}
        if change.kind != "remove":
            op["value"] = copy.deepcopy(change.new)
        ops.append(op)
    return ops


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


def _format_value(value: Any, max_chars: int) -> str:
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
    lines: list[str] = []
    for change in _walk(a, b, ()):
        where = _format_path(change.path)
        if change.kind == "add":
            lines.append(f"added {where}")
        elif change.kind == "remove":
            lines.append(f"removed {where}")
        else:
            old = _format_value(change.old, max_value_chars)
            new = _format_value(change.new, max_value_chars)
            lines.append(f"changed {where}: {old} -> {new}")
    return lines


def _more_line(count: int) -> str:
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
    kept: list[str] = []
    total = 0
    for line in lines:
        size = _line_bytes(line)
        if total + size > max_bytes:
            break
        kept.append(line)
        total += size
    if len(kept) == len(lines):
        return kept
    while kept and total + _line_bytes(_more_line(len(lines) - len(kept))) > max_bytes:
        total -= _line_bytes(kept.pop())
    marker = _more_line(len(lines) - len(kept))
    if total + _line_bytes(marker) > max_bytes:
        return []
    return [*kept, marker]


def _merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result: dict[str, Any] = target if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7396 JSON Merge Patch and return a new value.

    Neither input is mutated and the result shares no mutable values with them.
    A non-object ``patch`` replaces ``target``; ``null`` members remove keys.
    """
    return _merge(copy.deepcopy(target), patch)


def validate_ops(ops: Any) -> None:
    """Raise InvalidPatch unless `ops` is a well-formed RFC 6902 operations list."""
    # jsonpatch would parse a str as JSON and only reports some defects at apply
    # time (e.g. a bad "from"), so the structure is checked up front.
    if not isinstance(ops, list):
        raise InvalidPatch("patch must be a list of operations")
    for index, op in enumerate(ops):
        if not isinstance(op, dict):
            raise InvalidPatch(f"operation {index} must be an object")
        name = op.get("op")
        if not isinstance(name, str) or name not in _KNOWN_OPS:
            raise InvalidPatch(f"operation {index} has unknown op {name!r}")
        members = ("path", "from") if name in _OPS_NEEDING_FROM else ("path",)
        for member in members:
            if member not in op:
                raise InvalidPatch(f"operation {index} ({name}) is missing {member!r}")
            pointer = op[member]
            if not isinstance(pointer, str) or not _POINTER.fullmatch(pointer):
                raise InvalidPatch(
                    f"operation {index} ({name}) has an invalid JSON pointer in {member!r}"
                )
        if name in _OPS_NEEDING_VALUE and "value" not in op:
            raise InvalidPatch(f"operation {index} ({name}) is missing 'value'")


def json_patch(doc: Any, ops: Any) -> Any:
    """Apply RFC 6902 ``ops`` to a deep copy of ``doc`` and return the result.

    Raises :class:`InvalidPatch` when ``ops`` is malformed and :class:`PatchFailed`
    when a ``test`` fails or a path does not exist (or cannot be added to).
    """
    validate_ops(ops)
    try:
        patch = jsonpatch.JsonPatch(copy.deepcopy(ops))
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        raise InvalidPatch(str(exc)) from exc
    try:
        return patch.apply(copy.deepcopy(doc), in_place=True)
    except jsonpatch.InvalidJsonPatch as exc:
        raise InvalidPatch(str(exc)) from exc
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        # Covers JsonPatchConflict and JsonPatchTestFailed, both JsonPatchException.
        raise PatchFailed(str(exc)) from exc
