"""JSON documents for property tests (hypothesis): any document (`JSON`), pairs of them that
are independent, equal or one edit apart (`json_pairs`), and equality that keeps bool and
number apart (`strict_equal`)."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None)


def canon(value: Any) -> Any:
    """Tag values by JSON type so True != 1 while 1 == 1.0 still holds."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, dict):
        return ("object", {key: canon(item) for key, item in value.items()})
    if isinstance(value, list):
        return ("array", [canon(item) for item in value])
    return (type(value).__name__, value)


def strict_equal(a: Any, b: Any) -> bool:
    return bool(canon(a) == canon(b))


# Keys that need escaping in pointers or quoting in lines are drawn often on purpose.
AWKWARD_KEYS = st.sampled_from(["a.b", "~", "/", "", "~1", "a/b", "[0]", " ", "x", "é"])


KEYS = st.one_of(AWKWARD_KEYS, st.text(max_size=4))


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=5),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
)


JSON = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(KEYS, children, max_size=4),
    ),
    max_leaves=12,
)


@st.composite
def json_pairs(draw: st.DrawFn) -> tuple[Any, Any]:
    """Pairs that are independent, equal, or one small edit apart."""
    a = draw(JSON)
    mode = draw(st.sampled_from(["independent", "copy", "edit"]))
    if mode == "independent":
        return a, draw(JSON)
    if mode == "copy":
        return a, copy.deepcopy(a)
    b = copy.deepcopy(a)
    if isinstance(b, dict) and b:
        key = draw(st.sampled_from(sorted(b)))
        b[key] = draw(JSON)
    elif isinstance(b, list) and b:
        b[draw(st.integers(0, len(b) - 1))] = draw(JSON)
    else:
        b = draw(JSON)
    return a, b
