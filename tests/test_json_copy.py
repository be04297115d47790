"""The fast document copy redaction makes: the same copy ``deepcopy`` makes, for any value."""

from __future__ import annotations

import copy
import math
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from smartcommunity._json import json_copy

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30)
#: values JSON cannot carry, which must come back as deepcopy gives them
OTHER = st.sampled_from([(1, 2), datetime(2026, 1, 1, tzinfo=UTC), math.nan,
                         {1: "a"}, 2**70, {"t": (1, [2])}, b"bytes"])


def _mutate_everything(value: Any) -> None:
    if isinstance(value, dict):
        for v in value.values():
            _mutate_everything(v)
        value["added"] = True
    elif isinstance(value, list):
        for v in value:
            _mutate_everything(v)
        value.append("added")


@given(JSON)
def test_a_json_value_is_copied_equal_and_independent(value: Any) -> None:
    original = copy.deepcopy(value)
    copied = json_copy(value)
    assert copied == value
    _mutate_everything(copied)
    assert value == original


@given(st.dictionaries(st.text(), JSON | OTHER, max_size=4))
def test_other_values_come_back_as_deepcopy_gives_them(value: dict[str, Any]) -> None:
    copied, expected = json_copy(value), copy.deepcopy(value)
    assert repr(copied) == repr(expected)
    assert {k: type(v) for k, v in copied.items()} == {k: type(v) for k, v in expected.items()}
