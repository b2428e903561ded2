"""Patches of workflow JSON documents: RFC 7396 merge patches and RFC 6902 JSON patches,
applied within a size and depth limit, with messages naming the operation that failed.

Pure functions only: no I/O, no AWS calls, no logging.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from chat_sessions import jsonutil
from chat_sessions.change_lines import format_value
from chat_sessions.contract import JSON_POINTER_PATTERN
from chat_sessions.json_walk import json_equal, kind_of, pointer

# RFC 6901 pointer syntax: "" or "/"-prefixed tokens whose "~" is always "~0" or "~1".
_POINTER = re.compile(JSON_POINTER_PATTERN)

_OPS_NEEDING_VALUE = frozenset({"add", "replace", "test"})
_OPS_NEEDING_FROM = frozenset({"move", "copy"})
_KNOWN_OPS = frozenset({"add", "remove", "replace", "move", "copy", "test"})


class PatchFailed(Exception):
    """A well-formed patch could not be applied (test failed, path missing)."""


class InvalidPatch(Exception):
    """The patch document itself is malformed."""


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
    return _KIND_NAMES.get(kind_of(value), "a value")


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _parse(pointer: str) -> list[str]:
    return [_unescape(token) for token in pointer.split("/")[1:]] if pointer else []


def _show(tokens: list[str]) -> str:
    return pointer(tuple(tokens)) if tokens else '"" (the whole workflow)'


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
            if not json_equal(found, op["value"]):
                raise self.failed(
                    f"the value there is {format_value(found, 80)}, "
                    f"not {format_value(op['value'], 80)}"
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
