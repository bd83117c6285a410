"""``jsonvalue.dumps`` (with its fast paths) writes what ``json.dumps`` would, compactly."""

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
