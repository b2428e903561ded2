"""chat_sessions.json_patch's patches: `merge_patch` (RFC 7396) and `json_patch` (RFC 6902,
bounded in bytes and nesting, its failures named)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat_sessions import jsonutil
from chat_sessions.json_patch import (
    InvalidPatch,
    PatchFailed,
    PatchTooDeep,
    PatchTooLarge,
    _Patcher,
    json_patch,
    merge_patch,
)
from chat_sessions.workflow_diff import diff
from tests.helpers.json_documents import (
    JSON,
    KEYS,
    PROPERTY_SETTINGS,
    json_pairs,
    strict_equal,
)

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


@PROPERTY_SETTINGS
@given(st.dictionaries(KEYS, JSON, max_size=5))
def test_property_merge_patch_with_empty_object_is_identity(obj: dict[str, Any]) -> None:
    # Given any JSON object
    # When merging an empty patch into it
    result = merge_patch(obj, {})

    # Then the result equals the object but is a new value
    assert strict_equal(result, obj)
    assert result is not obj


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
