"""chat_sessions.change_lines's change lines: `change_lines` (one readable line per change),
`limit_lines` (cut to a byte budget with a marker) and `bounded_change_lines` (both at once)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat_sessions.change_lines import bounded_change_lines, change_lines, limit_lines
from chat_sessions.workflow_diff import diff
from tests.helpers.json_documents import (
    PROPERTY_SETTINGS,
    json_pairs,
    strict_equal,
)


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


@PROPERTY_SETTINGS
@given(json_pairs(), st.integers(min_value=0, max_value=400))
def test_property_bounded_change_lines_equal_limited_change_lines(
    pair: tuple[Any, Any], max_bytes: int
) -> None:
    a, b = pair
    assert bounded_change_lines(a, b, max_bytes) == limit_lines(change_lines(a, b), max_bytes)
