"""Tests for chat_sessions.workflow_diff: diffs, change lines, limits and patches."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonpatch
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat_sessions import jsonutil
from chat_sessions.workflow_diff import (
    DiffTooLarge,
    InvalidPatch,
    PatchFailed,
    PatchTooDeep,
    PatchTooLarge,
    _Patcher,
    bounded_change_lines,
    change_lines,
    diff,
    diff_body,
    json_patch,
    limit_lines,
    merge_patch,
)

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


# --------------------------------------------------------------------------- diff


def test_diff_nested_object_orders_removed_then_changed_then_added() -> None:
    # Given a workflow where one step is removed, one param changes and one step is added
    a = {"steps": {"load": {"params": {"batch": 100}}, "notify": {"to": "ops"}}}
    b = {"steps": {"load": {"params": {"batch": 500}}, "transform": {"fn": "upper"}}}

    # When diffing
    ops = diff(a, b)

    # Then removals, changes and additions come in that order with exact paths
    assert ops == [
        {"op": "remove", "path": "/steps/notify"},
        {"op": "replace", "path": "/steps/load/params/batch", "value": 500},
        {"op": "add", "path": "/steps/transform", "value": {"fn": "upper"}},
    ]
    assert jsonpatch.apply_patch(a, ops) == b


def test_diff_object_keys_are_sorted_within_each_group() -> None:
    # Given several removed and added keys inserted in unsorted order
    a = {"z": 1, "b": 1, "m": 1}
    b = {"m": 1, "y": 2, "c": 2}

    # When diffing
    ops = diff(a, b)

    # Then each group is in sorted key order
    assert [(op["op"], op["path"]) for op in ops] == [
        ("remove", "/b"),
        ("remove", "/z"),
        ("add", "/c"),
        ("add", "/y"),
    ]


def test_diff_shrinking_array_removes_from_highest_index_down() -> None:
    # Given an array that loses its last two elements and changes its first
    a = {"steps": ["a", "b", "c", "d"]}
    b = {"steps": ["x", "b"]}

    # When diffing
    ops = diff(a, b)

    # Then the prefix is replaced in place and surplus elements go from the end
    assert ops == [
        {"op": "replace", "path": "/steps/0", "value": "x"},
        {"op": "remove", "path": "/steps/3"},
        {"op": "remove", "path": "/steps/2"},
    ]
    assert jsonpatch.apply_patch(a, ops) == b


def test_diff_growing_array_adds_at_explicit_indexes() -> None:
    # Given an array that gains two elements
    a = [1]
    b = [1, {"k": 2}, 3]

    # When diffing
    ops = diff(a, b)

    # Then the extra elements are added in ascending index order
    assert ops == [
        {"op": "add", "path": "/1", "value": {"k": 2}},
        {"op": "add", "path": "/2", "value": 3},
    ]


def test_diff_escapes_tilde_and_slash_in_paths() -> None:
    # Given keys that contain the RFC 6901 special characters
    a = {"a/b": {"~x": 1}}
    b = {"a/b": {"~x": 2}, "~1": 0}

    # When diffing
    ops = diff(a, b)

    # Then "~" becomes "~0" and "/" becomes "~1"
    assert ops == [
        {"op": "replace", "path": "/a~1b/~0x", "value": 2},
        {"op": "add", "path": "/~01", "value": 0},
    ]
    assert jsonpatch.apply_patch(a, ops) == b


def test_diff_type_change_is_a_single_replace() -> None:
    # Given a value that changes from object to array
    a = {"cfg": {"a": 1, "b": 2}}
    b = {"cfg": [1, 2]}

    # When diffing
    ops = diff(a, b)

    # Then there is exactly one replace of the whole value
    assert ops == [{"op": "replace", "path": "/cfg", "value": [1, 2]}]


def test_diff_root_change_replaces_the_whole_document() -> None:
    # Given documents of different root types
    # When diffing
    ops = diff({"a": 1}, [1])

    # Then the root path "" is replaced
    assert ops == [{"op": "replace", "path": "", "value": [1]}]
    assert jsonpatch.apply_patch({"a": 1}, ops) == [1]


def test_diff_treats_bool_and_int_as_different() -> None:
    # Given True versus 1, and 0 versus False
    a = {"flag": 1, "off": False}
    b = {"flag": True, "off": 0}

    # When diffing
    ops = diff(a, b)

    # Then both are replaced although Python considers them equal
    assert ops == [
        {"op": "replace", "path": "/flag", "value": True},
        {"op": "replace", "path": "/off", "value": 0},
    ]
    assert strict_equal(jsonpatch.apply_patch(a, ops), b)


def test_diff_treats_equal_int_and_float_as_equal() -> None:
    # Given numerically equal int and float
    # When diffing
    # Then there is no change
    assert diff({"n": 1}, {"n": 1.0}) == []


def test_diff_values_do_not_alias_the_target() -> None:
    # Given a diff that adds a nested value
    b: dict[str, Any] = {"new": {"inner": [1]}}
    ops = diff({}, b)

    # When the target document is mutated afterwards
    b["new"]["inner"].append(2)

    # Then the patch still holds the original value
    assert ops == [{"op": "add", "path": "/new", "value": {"inner": [1]}}]


# ------------------------------------------------------------------- change_lines


def test_change_lines_nested_object_changes() -> None:
    # Given a workflow with a removed, a changed and an added step
    a = {"steps": {"load": {"params": {"batch": 100}}, "notify": {"to": "ops"}}}
    b = {"steps": {"load": {"params": {"batch": 500}}, "transform": {"fn": "upper"}}}

    # When explaining the change
    lines = change_lines(a, b)

    # Then there is one line per change with dotted paths
    assert lines == [
        "removed steps.notify",
        "changed steps.load.params.batch: 100 -> 500",
        "added steps.transform",
    ]


def test_change_lines_array_elements_use_index_brackets() -> None:
    # Given an array of steps where one name changes and one step is dropped
    a = {"steps": [{"name": "x"}, {"name": "y"}, {"name": "a"}, {"name": "z"}]}
    b = {"steps": [{"name": "x"}, {"name": "y"}, {"name": "b"}]}

    # When explaining the change
    lines = change_lines(a, b)

    # Then indexes are written as [i]
    assert lines == ['changed steps[2].name: "a" -> "b"', "removed steps[3]"]


def test_change_lines_root_array_and_nested_arrays() -> None:
    # Given a root array with a nested array that grows
    # When explaining the change
    lines = change_lines([[1], 2], [[1, 5], 2, 3])

    # Then paths start with the index and added elements are listed
    assert lines == ["added [0][1]", "added [2]"]


def test_change_lines_shortens_long_values_to_max_chars() -> None:
    # Given a value whose compact JSON is far longer than 80 characters
    a = {"prompt": "short"}
    b = {"prompt": "x" * 500}

    # When explaining the change
    (line,) = change_lines(a, b)

    # Then the new value is cut to exactly 80 characters ending with an ellipsis
    new_value = line.split(" -> ", 1)[1]
    assert len(new_value) == 80
    assert new_value == '"' + "x" * 78 + "…"
    assert line.startswith('changed prompt: "short" -> ')


def test_change_lines_respects_custom_max_value_chars() -> None:
    # Given a small limit and values around it
    a = {"v": [1, 2, 3]}
    b = {"v": "abc"}

    # When explaining with max_value_chars=5
    lines = change_lines(a, b, max_value_chars=5)

    # Then the 7-char "[1,2,3]" is cut to 5 and the 5-char '"abc"' is kept whole
    assert lines == ['changed v: [1,2… -> "abc"']


def test_change_lines_rejects_non_positive_max_value_chars() -> None:
    # Given a limit of zero
    # When / Then explaining raises ValueError
    with pytest.raises(ValueError, match="max_value_chars"):
        change_lines(1, 2, max_value_chars=0)


def test_change_lines_quotes_special_keys() -> None:
    # Given keys with dots, brackets, spaces, empty names and quotes
    a: dict[str, Any] = {"steps": {}}
    b = {"steps": {"a.b": 1, "": 2, "x[0]": 3, "two words": 4, 'q"': 5, "ok-key_1": 6}}

    # When explaining the change
    lines = change_lines(a, b)

    # Then awkward keys are JSON-quoted in brackets and plain ones stay dotted
    assert lines == [
        'added steps[""]',
        'added steps["a.b"]',
        "added steps.ok-key_1",
        'added steps["q\\""]',
        'added steps["two words"]',
        'added steps["x[0]"]',
    ]


def test_change_lines_quotes_special_key_at_root_and_keeps_unicode() -> None:
    # Given a root key that needs quoting and a non-ASCII value
    # When explaining the change
    lines = change_lines({"a b": "ä"}, {"a b": "ö"})

    # Then the key is bracketed at the root and the value is not ASCII-escaped
    assert lines == ['changed ["a b"]: "ä" -> "ö"']


def test_change_lines_type_change_is_one_line() -> None:
    # Given a value that changes from object to array
    # When explaining the change
    lines = change_lines({"cfg": {"a": 1}}, {"cfg": [1, 2]})

    # Then a single changed line shows both compact values
    assert lines == ['changed cfg: {"a":1} -> [1,2]']


def test_change_lines_root_change() -> None:
    # Given documents whose root type differs
    # When explaining the change
    lines = change_lines({"a": 1}, None)

    # Then the root is named "(root)"
    assert lines == ['changed (root): {"a":1} -> null']


def test_change_lines_root_scalar_change() -> None:
    # Given scalar documents
    # When explaining the change
    # Then the root line shows both values
    assert change_lines("a", "b") == ['changed (root): "a" -> "b"']


def test_change_lines_bool_versus_int() -> None:
    # Given 1 replaced by True
    # When explaining the change
    lines = change_lines({"flag": 1}, {"flag": True})

    # Then the change is reported although 1 == True in Python
    assert lines == ["changed flag: 1 -> true"]


def test_change_lines_equal_documents_give_no_lines() -> None:
    # Given equal documents, one using a float for an int
    a = {"steps": [{"n": 1}], "name": "w"}
    b = {"name": "w", "steps": [{"n": 1.0}]}

    # When explaining the change
    # Then there are no lines
    assert change_lines(a, b) == []


# -------------------------------------------------------------------- limit_lines


def test_limit_lines_keeps_everything_that_fits_exactly() -> None:
    # Given lines totalling exactly the budget (3+1 + 2+1 bytes)
    lines = ["abc", "de"]

    # When limiting to 7 bytes
    # Then nothing is dropped and no marker is added
    assert limit_lines(lines, 7) == ["abc", "de"]


def test_limit_lines_appends_marker_when_lines_are_dropped() -> None:
    # Given ten 9-byte lines (8 chars + newline)
    lines = [f"line {i:03d}" for i in range(10)]

    # When limiting to a budget that fits five lines plus the marker
    marker = "… and 5 more changes"
    budget = 5 * 9 + len(marker.encode()) + 1
    result = limit_lines(lines, budget)

    # Then the first five lines are kept and the marker counts the rest
    assert result == [*lines[:5], marker]
    assert sum(len(line.encode()) + 1 for line in result) == budget


def test_limit_lines_drops_one_more_line_to_fit_the_marker() -> None:
    # Given a budget that fits five lines but not five lines plus the marker
    lines = [f"line {i:03d}" for i in range(10)]
    budget = 5 * 9 + 3

    # When limiting
    result = limit_lines(lines, budget)

    # Then lines are dropped until the marker fits within the budget
    assert result[-1] == "… and 8 more changes"
    assert result[:-1] == lines[:2]
    assert sum(len(line.encode()) + 1 for line in result) <= budget


def test_limit_lines_counts_utf8_bytes_not_characters() -> None:
    # Given a line of ten 3-byte characters (11 chars but 31 bytes with newline)
    lines = ["ab", "€" * 10]

    # When limiting to 30 bytes, which the characters would fit but the bytes do not
    result = limit_lines(lines, 30)

    # Then the multi-byte line is dropped and counted in the marker
    assert result == ["ab", "… and 1 more changes"]


def test_limit_lines_returns_nothing_when_even_the_marker_does_not_fit() -> None:
    # Given a budget smaller than the marker line
    # When limiting
    # Then the result is empty rather than over budget
    assert limit_lines(["abc", "def"], 5) == []


def test_limit_lines_returns_only_marker_when_first_line_is_huge() -> None:
    # Given a first line far bigger than the budget
    lines = ["x" * 1000, "y"]

    # When limiting to 100 bytes
    # Then only the marker remains
    assert limit_lines(lines, 100) == ["… and 2 more changes"]


def test_limit_lines_empty_input() -> None:
    # Given no lines
    # When limiting to any budget
    # Then the result is empty
    assert limit_lines([], 0) == []


# -------------------------------------------------------------------- merge_patch

RFC7396_EXAMPLES = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("original", "patch", "expected"), RFC7396_EXAMPLES)
def test_merge_patch_rfc7396_appendix_a(original: Any, patch: Any, expected: Any) -> None:
    # Given an example from RFC 7396 Appendix A
    original_before = copy.deepcopy(original)
    patch_before = copy.deepcopy(patch)

    # When merging
    result = merge_patch(original, patch)

    # Then the result matches the RFC and neither input changed
    assert strict_equal(result, expected)
    assert strict_equal(original, original_before)
    assert strict_equal(patch, patch_before)


def test_merge_patch_result_shares_nothing_with_inputs() -> None:
    # Given a target and a patch with nested containers
    target: dict[str, Any] = {"keep": {"list": [1]}}
    patch: dict[str, Any] = {"new": {"list": [2]}}

    # When the result is mutated after merging
    result = merge_patch(target, patch)
    result["keep"]["list"].append(9)
    result["new"]["list"].append(9)

    # Then neither input sees the mutation
    assert target == {"keep": {"list": [1]}}
    assert patch == {"new": {"list": [2]}}


# --------------------------------------------------------------------- json_patch


def test_json_patch_applies_operations_to_a_copy() -> None:
    # Given a document and a valid patch using every operation
    doc = {"steps": ["a", "b"], "meta": {"v": 1}}
    ops = [
        {"op": "test", "path": "/meta/v", "value": 1},
        {"op": "add", "path": "/steps/-", "value": "c"},
        {"op": "replace", "path": "/meta/v", "value": 2},
        {"op": "copy", "from": "/steps/0", "path": "/first"},
        {"op": "move", "from": "/steps/1", "path": "/second"},
        {"op": "remove", "path": "/steps/0"},
    ]

    # When applying it
    result = json_patch(doc, ops)

    # Then the result is patched and the input is untouched
    assert result == {"steps": ["c"], "meta": {"v": 2}, "first": "a", "second": "b"}
    assert doc == {"steps": ["a", "b"], "meta": {"v": 1}}


def test_json_patch_result_does_not_alias_patch_values() -> None:
    # Given a patch that adds a nested value
    ops: list[dict[str, Any]] = [{"op": "add", "path": "/x", "value": {"l": [1]}}]

    # When the result is mutated
    result = json_patch({}, ops)
    result["x"]["l"].append(2)

    # Then the patch document is unchanged
    assert ops == [{"op": "add", "path": "/x", "value": {"l": [1]}}]


def test_json_patch_can_replace_the_root() -> None:
    # Given a replace of the whole document
    # When applying it
    # Then the new root is returned
    assert json_patch({"a": 1}, [{"op": "replace", "path": "", "value": [1]}]) == [1]


@pytest.mark.parametrize(
    "ops",
    [
        pytest.param([{"op": "test", "path": "/a", "value": 2}], id="test-value-differs"),
        pytest.param([{"op": "test", "path": "/a", "value": True}], id="test-bool-vs-int"),
        pytest.param([{"op": "test", "path": "/zz", "value": 1}], id="test-missing-path"),
    ],
)
def test_json_patch_failed_test_raises_patch_failed(ops: list[dict[str, Any]]) -> None:
    # Given a document where a test op does not hold
    doc = {"a": 1}

    # When / Then applying raises PatchFailed and leaves the input alone
    with pytest.raises(PatchFailed):
        json_patch(doc, ops)
    assert doc == {"a": 1}


@pytest.mark.parametrize(
    "ops",
    [
        pytest.param([{"op": "remove", "path": "/missing"}], id="remove-missing-key"),
        pytest.param([{"op": "remove", "path": "/list/5"}], id="remove-missing-index"),
        pytest.param([{"op": "replace", "path": "/missing", "value": 1}], id="replace-missing"),
        pytest.param([{"op": "add", "path": "/no/parent", "value": 1}], id="add-missing-parent"),
        pytest.param([{"op": "add", "path": "/list/9", "value": 1}], id="add-past-array-end"),
        pytest.param([{"op": "add", "path": "/list/x", "value": 1}], id="add-non-index"),
        pytest.param([{"op": "add", "path": "/a/b", "value": 1}], id="add-into-scalar"),
        pytest.param([{"op": "move", "from": "/missing", "path": "/b"}], id="move-missing"),
        pytest.param([{"op": "copy", "from": "/missing", "path": "/b"}], id="copy-missing"),
        pytest.param([{"op": "remove", "path": ""}], id="remove-root"),
    ],
)
def test_json_patch_missing_path_raises_patch_failed(ops: list[dict[str, Any]]) -> None:
    # Given a document lacking the path an operation needs
    doc = {"a": 1, "list": [0]}

    # When / Then applying raises PatchFailed
    with pytest.raises(PatchFailed):
        json_patch(doc, ops)


@pytest.mark.parametrize(
    "ops",
    [
        pytest.param({"op": "add", "path": "/a", "value": 1}, id="object-not-list"),
        pytest.param('[{"op": "remove", "path": "/a"}]', id="json-string"),
        pytest.param(None, id="null"),
        pytest.param(["remove"], id="list-of-strings"),
        pytest.param([{"op": "frobnicate", "path": "/a"}], id="unknown-op"),
        pytest.param([{"op": 1, "path": "/a"}], id="non-string-op"),
        pytest.param([{"path": "/a"}], id="missing-op"),
        pytest.param([{"op": "remove"}], id="missing-path"),
        pytest.param([{"op": "add", "path": "/a"}], id="add-missing-value"),
        pytest.param([{"op": "test", "path": "/a"}], id="test-missing-value"),
        pytest.param([{"op": "move", "path": "/a"}], id="move-missing-from"),
        pytest.param([{"op": "copy", "from": 3, "path": "/a"}], id="copy-non-string-from"),
        pytest.param([{"op": "move", "from": "a", "path": "/b"}], id="from-without-slash"),
        pytest.param([{"op": "remove", "path": "a"}], id="path-without-slash"),
        pytest.param([{"op": "remove", "path": "/a~2"}], id="bad-escape"),
        pytest.param([{"op": "remove", "path": 5}], id="non-string-path"),
        pytest.param([{"op": "replace", "path": "/list/-", "value": 1}], id="replace-dash"),
        pytest.param(
            [{"op": "remove", "path": "/missing"}, {"op": "nope", "path": "/a"}],
            id="malformed-after-failing-op",
        ),
    ],
)
def test_json_patch_malformed_raises_invalid_patch(ops: Any) -> None:
    # Given a malformed patch document
    doc = {"a": 1, "list": [0]}

    # When / Then applying raises InvalidPatch
    with pytest.raises(InvalidPatch):
        json_patch(doc, ops)


def test_json_patch_empty_list_returns_equal_copy() -> None:
    # Given an empty patch
    doc = {"a": [1]}

    # When applying it
    result = json_patch(doc, [])

    # Then an equal but distinct document is returned
    assert result == doc
    assert result is not doc


# --------------------------------------------------------------------- properties


@PROPERTY_SETTINGS
@given(json_pairs())
def test_property_applying_diff_gives_target(pair: tuple[Any, Any]) -> None:
    # Given any two JSON documents
    a, b = pair
    a_before = copy.deepcopy(a)

    # When applying diff(a, b) to a, with jsonpatch and with json_patch
    ops = diff(a, b)

    # Then the result is b (bool and number kept apart) and a is untouched
    assert strict_equal(jsonpatch.apply_patch(a, ops), b)
    assert strict_equal(json_patch(a, ops), b)
    assert strict_equal(a, a_before)


@PROPERTY_SETTINGS
@given(json_pairs())
def test_property_change_lines_empty_exactly_when_equal(pair: tuple[Any, Any]) -> None:
    # Given any two JSON documents
    a, b = pair

    # When explaining the change
    lines = change_lines(a, b)

    # Then there are no lines exactly when they are equal, else one line per op
    assert (lines == []) == strict_equal(a, b)
    assert len(lines) == len(diff(a, b))


@PROPERTY_SETTINGS
@given(JSON)
def test_property_diff_with_itself_is_empty(a: Any) -> None:
    # Given any JSON document
    # When diffing it with itself and with a copy
    # Then there are no operations
    assert diff(a, a) == []
    assert diff(a, copy.deepcopy(a)) == []


@PROPERTY_SETTINGS
@given(st.dictionaries(KEYS, JSON, max_size=5))
def test_property_merge_patch_with_empty_object_is_identity(obj: dict[str, Any]) -> None:
    # Given any JSON object
    # When merging an empty patch into it
    result = merge_patch(obj, {})

    # Then the result equals the object but is a new value
    assert strict_equal(result, obj)
    assert result is not obj


@PROPERTY_SETTINGS
@given(
    st.lists(st.text(max_size=30), max_size=20),
    st.integers(min_value=0, max_value=300),
)
def test_property_limit_lines_fits_budget_and_keeps_a_prefix(
    lines: list[str], max_bytes: int
) -> None:
    # Given any lines and byte budget
    # When limiting
    result = limit_lines(lines, max_bytes)

    # Then the result fits, is unchanged or a prefix plus a counting marker
    assert sum(len(line.encode()) + 1 for line in result) <= max_bytes
    if result and result[-1].startswith("… and ") and result != lines:
        kept = result[:-1]
        assert lines[: len(kept)] == kept
        assert result[-1] == f"… and {len(lines) - len(kept)} more changes"
    else:
        assert result in (lines, [])


# ------------------------------------------------------- bounded patches, lines and diffs


def test_json_patch_refuses_the_operation_that_passes_max_bytes_before_building_it() -> None:
    # Given a document and copies of the whole document that double it each time
    doc = {"a": "x" * 1000}
    ops = [{"op": "copy", "from": "", "path": f"/c{i}"} for i in range(30)]

    # When / Then the first copy past the limit is refused, naming it
    with pytest.raises(PatchTooLarge, match=r"operation 3 \(copy\) at /c3 .* 10000 bytes"):
        json_patch(doc, ops, max_bytes=10_000)


def test_json_patch_refuses_nesting_past_max_levels() -> None:
    # Given a 3-level value copied into its own deepest object
    doc: dict[str, Any] = {"d": {"n": {"n": {}}}}
    ops = [{"op": "copy", "from": "/d", "path": "/d/n/n"}]

    # When / Then 1 + 2 + 3 levels pass a limit of 5
    with pytest.raises(PatchTooDeep, match="deeper than 5 levels"):
        json_patch(doc, ops, max_levels=5)
    assert json_patch(doc, ops, max_levels=6) == {"d": {"n": {"n": {"n": {"n": {}}}}}}


@PROPERTY_SETTINGS
@given(json_pairs())
def test_property_the_tracked_size_is_the_exact_size(pair: tuple[Any, Any]) -> None:
    # Given any patch turning a into b, with every kind of operation
    a, b = pair
    ops = diff(a, b)
    if isinstance(b, dict) and b and not {"copied", "moved"} & b.keys():
        key = "/" + sorted(b)[0].replace("~", "~0").replace("/", "~1")
        ops += [
            {"op": "copy", "from": key, "path": "/copied"},
            {"op": "move", "from": "/copied", "path": "/moved"},
            {"op": "remove", "path": "/moved"},
        ]

    # When applying it op by op
    patcher = _Patcher(a, max_bytes=10**9, max_levels=None)
    for index, op in enumerate(ops):
        patcher.apply(index, op)

        # Then the size tracked equals the size of the compact JSON after every op
        assert patcher.size == jsonutil.size(patcher.doc)


@pytest.mark.parametrize(
    ("ops", "words"),
    [
        (
            [{"op": "test", "path": "/a/0", "value": "b"}],
            ["operation 0 (test) at /a/0", '"x"', '"b"'],
        ),
        ([{"op": "add", "path": "/a/5", "value": 1}], ["/a has 1 items", "index 5"]),
        (
            [{"op": "remove", "path": "/b/c/d"}],
            ["operation 0 (remove) at /b/c/d", "/b does not exist"],
        ),
        ([{"op": "add", "path": "/n/x", "value": 1}], ["/n is a number"]),
        ([{"op": "move", "from": "/a", "path": "/a/0"}], ["cannot be moved into itself"]),
    ],
)
def test_json_patch_failures_say_which_operation_where_and_why(
    ops: list[dict[str, Any]], words: list[str]
) -> None:
    with pytest.raises(PatchFailed) as failure:
        json_patch({"a": ["x"], "n": 1}, ops)
    message = str(failure.value)
    for word in words:
        assert word in message, message
    assert "class" not in message and "Json" not in message


@PROPERTY_SETTINGS
@given(json_pairs(), st.integers(min_value=0, max_value=400))
def test_property_bounded_change_lines_equal_limited_change_lines(
    pair: tuple[Any, Any], max_bytes: int
) -> None:
    a, b = pair
    assert bounded_change_lines(a, b, max_bytes) == limit_lines(change_lines(a, b), max_bytes)


@PROPERTY_SETTINGS
@given(json_pairs())
def test_property_diff_body_is_the_json_of_the_diff(pair: tuple[Any, Any]) -> None:
    a, b = pair
    expected = {"from": 1, "to": 2, "patch": diff(a, b), "changes": change_lines(a, b)}
    assert diff_body(a, b, 1, 2, 10**9) == jsonutil.dumps(expected)


def test_diff_body_refuses_what_would_not_fit_escaped() -> None:
    # Given documents whose diff holds characters that grow sixfold when escaped
    a, b = {"s": "é" * 100}, {"s": "ü" * 100}
    body = diff_body(a, b, 1, 2, 10**9)
    escaped = len(json.dumps(body)) - 2

    # When / Then a budget one short of the escaped size is refused
    assert diff_body(a, b, 1, 2, escaped) == body
    with pytest.raises(DiffTooLarge):
        diff_body(a, b, 1, 2, escaped - 1)
