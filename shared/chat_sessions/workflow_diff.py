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
from decimal import Decimal
from typing import Any, Literal, TypeAlias

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
# A path as a chain of (parent, token) links: a child costs one tuple whatever its depth, and
# the tokens are only spelled out for the paths that change.
Link: TypeAlias = "tuple[Link, Token] | None"


def _tokens(link: Link) -> tuple[Token, ...]:
    found: list[Token] = []
    while link is not None:
        link, token = link
        found.append(token)
    return tuple(reversed(found))


@dataclass(frozen=True)
class _Change:
    kind: Literal["add", "remove", "replace"]
    link: Link
    old: Any = None
    new: Any = None

    @property
    def path(self) -> tuple[Token, ...]:
        return _tokens(self.link)


def _kind(value: Any) -> str:
    # bool is checked before numbers because bool is a subclass of int.
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "other"


def _json_equal(a: Any, b: Any) -> bool:
    kind = _kind(a)
    if kind != _kind(b):
        return False
    if kind == "object":
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if kind == "array":
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


_CONTAINERS = frozenset({"object", "array"})


def _walk(a: Any, b: Any) -> Iterator[_Change]:
    """The changes from `a` to `b` in the documented order, without recursion: pending work is
    a stack of changes to report and pairs to compare (pushed in reverse order)."""
    stack: list[_Change | tuple[Any, Any, Link]] = [(a, b, None)]
    while stack:
        item = stack.pop()
        if isinstance(item, _Change):
            yield item
            continue
        x, y, link = item
        kind = _kind(x)
        if kind != _kind(y):
            yield _Change("replace", link, x, y)
            continue
        if kind not in _CONTAINERS:
            if not _json_equal(x, y):
                yield _Change("replace", link, x, y)
            continue
        tasks: list[_Change | tuple[Any, Any, Link]] = []
        if kind == "object":
            tasks.extend(
                _Change("remove", (link, k), old=x[k]) for k in sorted(x.keys() - y.keys())
            )
            for key in sorted(x.keys() & y.keys()):
                if x[key] is not y[key]:
                    tasks.append((x[key], y[key], (link, key)))
            tasks.extend(_Change("add", (link, k), new=y[k]) for k in sorted(y.keys() - x.keys()))
        else:
            common = min(len(x), len(y))
            tasks.extend((x[i], y[i], (link, i)) for i in range(common) if x[i] is not y[i])
            # Highest index first so earlier removals do not shift later ones.
            tasks.extend(
                _Change("remove", (link, i), old=x[i]) for i in range(len(x) - 1, common - 1, -1)
            )
            tasks.extend(_Change("add", (link, i), new=y[i]) for i in range(common, len(y)))
        tasks.reverse()
        stack.extend(tasks)


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
    for change in _walk(a, b):
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
    return [_line(change, max_value_chars) for change in _walk(a, b)]


def _line(change: _Change, max_value_chars: int = 80) -> str:
    where = _format_path(change.path)
    if change.kind == "add":
        return f"added {where}"
    if change.kind == "remove":
        return f"removed {where}"
    old = _format_value(change.old, max_value_chars)
    new = _format_value(change.new, max_value_chars)
    return f"changed {where}: {old} -> {new}"


def bounded_change_lines(a: Any, b: Any, max_bytes: int) -> list[str]:
    """``limit_lines(change_lines(a, b), max_bytes)``, in time and memory bounded by
    ``max_bytes`` and the documents: lines past the budget are counted, not written."""
    changes = _walk(a, b)
    lines: list[str] = []
    total = 0
    for change in changes:
        lines.append(_line(change))
        total += _line_bytes(lines[-1])
        if total > max_bytes:
            break
    return _cut(lines, len(lines) + sum(1 for _ in changes), max_bytes)


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
    for change in _walk(a, b):
        path = change.path
        op = f'{{"op":"{change.kind}","path":{jsonutil.dumps(_pointer(path))}'
        if change.kind != "remove":
            op += f',"value":{jsonutil.dumps(change.new)}'
        op += "}"
        used += _escaped(op) + (2 if ops else 0)  # and a comma in each list after the first
        if used > max_escaped:
            raise DiffTooLarge()
        line = jsonutil.dumps(_line(change))
        used += _escaped(line)
        if used > max_escaped:
            raise DiffTooLarge()
        ops.append(op)
        lines.append(line)
    return f"{head}{','.join(ops)}{middle}{','.join(lines)}{tail}"


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
    while kept and total + _line_bytes(_more_line(count - len(kept))) > max_bytes:
        total -= _line_bytes(kept.pop())
    marker = _more_line(count - len(kept))
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


class PatchTooLarge(Exception):
    """Applying the patch would make the document larger than its limit."""


class PatchTooDeep(Exception):
    """Applying the patch would nest the document deeper than its limit."""


_INDEX = re.compile(r"0|[1-9][0-9]*")
_KIND_NAMES = {"null": "null", "bool": "a boolean", "number": "a number", "string": "a string"}


def _a(value: Any) -> str:
    return _KIND_NAMES.get(_kind(value), "a value")


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _parse(pointer: str) -> list[str]:
    return [_unescape(token) for token in pointer.split("/")[1:]] if pointer else []


def _show(tokens: list[str]) -> str:
    return _pointer(tuple(tokens)) if tokens else '"" (the whole workflow)'


def levels(value: Any) -> int:
    """How many containers deep `value` nests (a scalar: 0, `{}`: 1, `{"a": []}`: 2)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            stack.extend(
                (child, depth) for child in (node.values() if isinstance(node, dict) else node)
            )
    return deepest


def _clone(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _clone(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clone(item) for item in value]
    return value


class _Patcher:
    """Applies RFC 6902 operations one at a time to its own copy of a document, refusing an
    operation before it makes the document larger than `max_bytes` (compact JSON, UTF-8) or
    deeper than `max_levels`, so nothing larger is ever built. The size is tracked exactly
    from the sizes of the values each operation brings in or takes out."""

    def __init__(self, doc: Any, max_bytes: int | None, max_levels: int | None) -> None:
        self.doc = _clone(doc)
        self.max_bytes = max_bytes
        self.max_levels = max_levels
        self.size = jsonutil.size(self.doc) if max_bytes is not None else 0
        self.index = 0
        self.name = ""
        self.where: list[str] = []

    # -- messages ------------------------------------------------------------------------
    def failed(self, why: str) -> PatchFailed:
        return PatchFailed(
            f"operation {self.index} ({self.name}) at {_show(self.where)} failed: {why}"
        )

    def invalid(self, why: str) -> InvalidPatch:
        return InvalidPatch(f"operation {self.index} ({self.name}) at {_show(self.where)}: {why}")

    # -- locating ------------------------------------------------------------------------
    def container(self, tokens: list[str]) -> Any:
        """The value at `tokens`, which must exist (the parent of an operation's target)."""
        node = self.doc
        for depth, token in enumerate(tokens):
            here = tokens[: depth + 1]
            if isinstance(node, dict):
                if token not in node:
                    raise self.failed(f"{_show(here)} does not exist")
                node = node[token]
            elif isinstance(node, list):
                node = node[self.position(node, token, tokens[:depth], existing=True)]
            else:
                raise self.failed(
                    f"{_show(tokens[:depth])} is {_a(node)}, "
                    "not an object or array, so it has no members"
                )
        return node

    def position(
        self, array: list[Any], token: str, at: list[str], existing: bool, final: bool = False
    ) -> int:
        if token == "-":  # noqa: S105 - RFC 6901's end of an array, not a secret
            if not existing:
                return len(array)
            if final:
                raise self.invalid(
                    f'"-" names no item of the array at {_show(at)}; only add uses it'
                )
            raise self.failed(f"{_show([*at, '-'])} names no item of the array")
        if not _INDEX.fullmatch(token):
            raise self.failed(f"{json.dumps(token)} is not an index of the array at {_show(at)}")
        index = int(token)
        limit = len(array) if existing else len(array) + 1
        if index >= limit:
            raise self.failed(
                f"the array at {_show(at)} has {len(array)} items, so index {index} is past its end"
            )
        return index

    def get(self, tokens: list[str]) -> Any:
        if not tokens:
            return self.doc
        parent = self.container(tokens[:-1])
        key = tokens[-1]
        if isinstance(parent, dict):
            if key not in parent:
                raise self.failed(f"{_show(tokens)} does not exist")
            return parent[key]
        if isinstance(parent, list):
            return parent[self.position(parent, key, tokens[:-1], existing=True, final=True)]
        raise self.failed(f"{_show(tokens[:-1])} is {_a(parent)}, not an object or array")

    # -- limits --------------------------------------------------------------------------
    def check_levels(self, tokens: list[str], value: Any) -> None:
        if self.max_levels is not None and len(tokens) + levels(value) > self.max_levels:
            raise PatchTooDeep(
                f"operation {self.index} ({self.name}) at {_show(self.where)} would nest the "
                f"workflow deeper than {self.max_levels} levels"
            )

    def grow(self, delta: int) -> None:
        if self.max_bytes is not None and self.size + delta > self.max_bytes:
            raise PatchTooLarge(
                f"operation {self.index} ({self.name}) at {_show(self.where)} would make the "
                f"workflow larger than {self.max_bytes} bytes"
            )
        self.size += delta

    def measure(self, value: Any) -> int:
        return jsonutil.size(value) if self.max_bytes is not None else 0

    # -- operations ----------------------------------------------------------------------
    def add(self, tokens: list[str], value: Any, fresh: bool, replace: bool = False) -> None:
        """Put `value` at `tokens` (copied unless `fresh`), checking the limits first; an array
        item is inserted, or with `replace` overwritten."""
        self.check_levels(tokens, value)
        size = self.measure(value)
        if not tokens:
            self.grow(size - self.size)
            self.doc = value if fresh else _clone(value)
            return
        parent = self.container(tokens[:-1])
        key = tokens[-1]
        if isinstance(parent, dict):
            if key in parent:
                delta = size - self.measure(parent[key])
            else:
                delta = self.measure(key) + 1 + size + (1 if parent else 0)
            self.grow(delta)
            parent[key] = value if fresh else _clone(value)
        elif isinstance(parent, list) and replace:
            index = self.position(parent, key, tokens[:-1], existing=True, final=True)
            self.grow(size - self.measure(parent[index]))
            parent[index] = value if fresh else _clone(value)
        elif isinstance(parent, list):
            index = self.position(parent, key, tokens[:-1], existing=False)
            self.grow(size + (1 if parent else 0))
            parent.insert(index, value if fresh else _clone(value))
        else:
            raise self.failed(
                f"{_show(tokens[:-1])} is {_a(parent)}, "
                "not an object or array, so nothing can be added to it"
            )

    def remove(self, tokens: list[str]) -> Any:
        if not tokens:
            raise self.failed("the whole workflow cannot be removed")
        value = self.get(tokens)
        parent = self.container(tokens[:-1])
        size = self.measure(value) + (1 if len(parent) > 1 else 0)
        if isinstance(parent, dict):
            size += self.measure(tokens[-1]) + 1
            del parent[tokens[-1]]
        else:
            del parent[self.position(parent, tokens[-1], tokens[:-1], existing=True)]
        self.grow(-size)
        return value

    def apply(self, index: int, op: dict[str, Any]) -> None:
        self.index, self.name = index, op["op"]
        path = _parse(op["path"])
        self.where = path
        if self.name == "add":
            self.add(path, op["value"], fresh=False)
        elif self.name == "remove":
            self.remove(path)
        elif self.name == "replace":
            self.get(path)  # must exist
            self.add(path, op["value"], fresh=False, replace=True)
        elif self.name == "test":
            found = self.get(path)
            if not _json_equal(found, op["value"]):
                raise self.failed(
                    f"the value there is {_format_value(found, 80)}, "
                    f"not {_format_value(op['value'], 80)}"
                )
        else:  # move, copy
            source = _parse(op["from"])
            value = self.get(source)
            if self.name == "copy":
                self.add(path, value, fresh=False)
            elif source != path:
                if path[: len(source)] == source:
                    raise self.failed(f"{_show(source)} cannot be moved into itself")
                self.remove(source)
                self.add(path, value, fresh=True)


def json_patch(
    doc: Any, ops: Any, *, max_bytes: int | None = None, max_levels: int | None = None
) -> Any:
    """Apply RFC 6902 ``ops`` to a copy of ``doc`` and return the result.

    Raises :class:`InvalidPatch` when ``ops`` is malformed and :class:`PatchFailed`
    when a ``test`` fails or a path does not exist (or cannot be added to), each naming
    the operation's index and path. With ``max_bytes`` / ``max_levels``, raises
    :class:`PatchTooLarge` / :class:`PatchTooDeep` at the first operation that would take
    the document past them, before performing it.
    """
    validate_ops(ops)
    patcher = _Patcher(doc, max_bytes, max_levels)
    for index, op in enumerate(ops):
        patcher.apply(index, op)
    return patcher.doc
