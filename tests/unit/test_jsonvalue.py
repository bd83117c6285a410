"""``jsonvalue.dumps`` (with its fast paths) writes what ``json.dumps`` would, compactly, and
``jsonvalue.loads`` (with its own) reads what ``json.loads`` would."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remotetask import jsonvalue
from remotetask.errors import InvalidInputError

TEXT = st.text(st.characters(exclude_categories=["Cs"]))
VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=12,
)


@given(VALUES)
def test_dumps_writes_compact_standard_json(value: Any) -> None:
    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    assert jsonvalue.dumps(value) == expected


@pytest.mark.parametrize("value", [True, False, 0, -1, 10**17, 10**18, -(10**30)])
def test_booleans_and_integers_on_either_side_of_the_fast_path(value: Any) -> None:
    assert jsonvalue.dumps(value) == json.dumps(value)


@pytest.mark.parametrize("value", [float("nan"), {"a": float("inf")}, object(), {1j: 1}])
def test_what_json_cannot_hold_is_refused(value: Any) -> None:
    with pytest.raises(InvalidInputError):
        jsonvalue.dumps(value)


def test_a_value_that_contains_itself_is_refused() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(InvalidInputError):
        jsonvalue.dumps(loop)


@given(VALUES, st.sampled_from([None, 2]), st.sampled_from(["", " ", "\n\t"]))
def test_loads_reads_what_json_loads_reads(value: Any, indent: int | None, around: str) -> None:
    text = around + json.dumps(value, indent=indent, ensure_ascii=False) + around
    assert jsonvalue.loads(text) == json.loads(text)


@pytest.mark.parametrize("text", ["", " ", "[1,", "1 2", "{}x", '"open', "nul", "[1] ]"])
def test_loads_refuses_what_json_loads_refuses_with_its_error(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as refused:
        jsonvalue.loads(text)
    assert str(refused.value) == str(expected.value)


def test_loads_keeps_none_for_a_missing_value() -> None:
    assert jsonvalue.loads(None) is None
