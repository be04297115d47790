"""The walk over every value of a document: each value once, depth first and in order, and a
member the caller removes on seeing its object is not walked."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from smartcommunity.pointers import nodes

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=2), inner,
                                                                  max_size=4),
    max_leaves=30,
)


def _preorder(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [value, *(n for v in value.values() for n in _preorder(v))]
    if isinstance(value, list):
        return [value, *(n for v in value for n in _preorder(v))]
    return [value]


@given(JSON)
def test_every_value_once_depth_first_in_order(doc: Any) -> None:
    walked = list(nodes(doc))
    expected = _preorder(doc)
    assert [id(n) for n in walked] == [id(n) for n in expected]
    assert walked == expected


@given(st.dictionaries(st.text(max_size=2), JSON, max_size=4), st.text(max_size=2))
def test_a_member_removed_on_seeing_its_object_is_not_walked(doc: dict[str, Any],
                                                             name: str) -> None:
    doc[name] = hidden = [{"inside": []}]
    seen = []
    for node in nodes({"top": doc}):
        if node is doc:
            del doc[name]
        seen.append(node)
    assert all(n is not hidden and n is not hidden[0] for n in seen)
    assert [id(n) for n in seen[1:]] == [id(n) for n in _preorder(doc)]
