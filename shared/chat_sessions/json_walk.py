"""The walk from one JSON document to another, in the order every diff and change line
follows, and the JSON equality and pointers it uses.

Pure functions only: no I/O, no AWS calls, no logging.

JSON equality used throughout: booleans are distinct from numbers (``True`` differs
from ``1``), while an int and a float that are numerically equal (``1`` and ``1.0``)
count as equal. Documents are plain JSON values (dict with str keys, list, str,
int, float, bool, None).

Walk order shared by workflow_diff.diff and change_lines.change_lines:

* objects: removed keys, then keys present in both (recursing), then added keys;
  each group in sorted (code point) key order;
* arrays: the common prefix index by index (recursing), then surplus elements of
  ``a`` removed from the highest index down, or extra elements of ``b`` added in
  ascending index order (as ``add`` at their explicit index);
* anything else that differs, including a change of JSON type, is one ``replace``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, TypeAlias

Token: TypeAlias = str | int
# A path as a chain of (parent, token) links: a child costs one tuple whatever its depth, and
# the tokens are only spelled out for the paths that change.
Link: TypeAlias = "tuple[Link, Token] | None"


def tokens(link: Link) -> tuple[Token, ...]:
    found: list[Token] = []
    while link is not None:
        link, token = link
        found.append(token)
    return tuple(reversed(found))


@dataclass(frozen=True)
class Change:
    kind: Literal["add", "remove", "replace"]
    link: Link
    old: Any = None
    new: Any = None

    @property
    def path(self) -> tuple[Token, ...]:
        return tokens(self.link)


def kind_of(value: Any) -> str:
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


def json_equal(a: Any, b: Any) -> bool:
    kind = kind_of(a)
    if kind != kind_of(b):
        return False
    if kind == "object":
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if kind == "array":
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


_CONTAINERS = frozenset({"object", "array"})


def walk(a: Any, b: Any) -> Iterator[Change]:
    """The changes from `a` to `b` in the documented order, without recursion: pending work is
    a stack of changes to report and pairs to compare (pushed in reverse order)."""
    stack: list[Change | tuple[Any, Any, Link]] = [(a, b, None)]
    while stack:
        item = stack.pop()
        if isinstance(item, Change):
            yield item
            continue
        x, y, link = item
        kind = kind_of(x)
        if kind != kind_of(y):
            yield Change("replace", link, x, y)
            continue
        if kind not in _CONTAINERS:
            if not json_equal(x, y):
                yield Change("replace", link, x, y)
            continue
        tasks: list[Change | tuple[Any, Any, Link]] = []
        if kind == "object":
            tasks.extend(Change("remove", (link, k), old=x[k]) for k in sorted(x.keys() - y.keys()))
            for key in sorted(x.keys() & y.keys()):
                if x[key] is not y[key]:
                    tasks.append((x[key], y[key], (link, key)))
            tasks.extend(Change("add", (link, k), new=y[k]) for k in sorted(y.keys() - x.keys()))
        else:
            common = min(len(x), len(y))
            tasks.extend((x[i], y[i], (link, i)) for i in range(common) if x[i] is not y[i])
            # Highest index first so earlier removals do not shift later ones.
            tasks.extend(
                Change("remove", (link, i), old=x[i]) for i in range(len(x) - 1, common - 1, -1)
            )
            tasks.extend(Change("add", (link, i), new=y[i]) for i in range(common, len(y)))
        tasks.reverse()
        stack.extend(tasks)


def pointer(path: tuple[Token, ...]) -> str:
    # "~" must be escaped before "/" so the "~1" produced for "/" is not re-escaped.
    return "".join("/" + str(token).replace("~", "~0").replace("/", "~1") for token in path)
