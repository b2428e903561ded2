"""chat_sessions.workflow_diff's diffs: `diff` (RFC 6902 operations from one document to
another) and `diff_body` (the diff route's JSON body, bounded). Change lines:
test_workflow_change_lines.py; patches: test_workflow_patches.py."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonpatch
import pytest
from hypothesis import given

from chat_sessions import jsonutil
from chat_sessions.change_lines import change_lines
from chat_sessions.json_patch import json_patch
from chat_sessions.workflow_diff import DiffTooLarge, diff, diff_body
from tests.helpers.json_documents import (
    JSON,
    PROPERTY_SETTINGS,
    json_pairs,
    strict_equal,
)


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
@given(JSON)
def test_property_diff_with_itself_is_empty(a: Any) -> None:
    # Given any JSON document
    # When diffing it with itself and with a copy
    # Then there are no operations
    assert diff(a, a) == []
    assert diff(a, copy.deepcopy(a)) == []


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
