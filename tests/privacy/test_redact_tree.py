"""Redaction walks each document once along a tree of its tagged paths: byte for byte what
acting on the paths one by one, shallow ones first, gives."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from unittest import mock

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from smartcommunity import load_spec
from smartcommunity.exceptions import RedactionError
from smartcommunity.privacy import _redact, redact
from smartcommunity.strategies import documents
from smartcommunity.validation import Plan, values_at

SPEC = load_spec()
EXAMPLES = [d for _, d in SPEC.examples() if d.get("resourceType") in SPEC.resource_types]
KEYS = st.sampled_from([None, b"0123456789abcdef-shared-city-key"])


def _by_path(node: dict[str, Any], plan: Plan, treatments: Mapping[str, str],
             masks: Mapping[str, Any], key: Any, holes: list[list[Any]]) -> None:
    """The reference: each tagged path in the plan's order, walked from the root."""
    for path, pipl, method in plan.pipl:
        treatment = treatments.get(pipl, "remove")
        if treatment == "keep":
            continue
        mask = masks.get(method) if treatment == "mask" and method is not None else None
        for where, value in list(values_at(node, path)):
            parent = _redact._parent(node, where)
            if mask is not None:
                _redact._mask_at(parent, where[-1], value, mask, key, holes)
            else:
                _redact._remove_at(parent, where[-1], holes)


def _both(doc: dict[str, Any], audience: str, key: bytes | None) -> tuple[bytes, bytes]:
    fast = orjson.dumps(redact(doc, audience, pseudonym_key=key))
    with mock.patch.object(_redact, "_apply_tags", _by_path):
        slow = orjson.dumps(redact(doc, audience, pseudonym_key=key))
    return fast, slow


def _with_citizen_ids(doc: dict[str, Any], number: str) -> dict[str, Any]:
    """``doc`` with a valid citizen ID wherever its type holds one, so masks really run."""
    out = orjson.loads(orjson.dumps(doc))
    for path in _redact._citizen_id_paths(SPEC, str(doc["resourceType"])):
        for where, _ in list(values_at(out, path)):
            _redact._parent(out, where)[where[-1]] = number
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(EXAMPLES), st.sampled_from(SPEC.audiences), KEYS)
def test_every_example_reads_the_same_for_every_audience(doc: dict[str, Any], audience: str,
                                                          key: bytes | None) -> None:
    for variant in (doc, _with_citizen_ids(doc, "11010519491231002X")):
        fast, slow = _both(variant, audience, key)
        assert fast == slow


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from(SPEC.resource_types), st.sampled_from(SPEC.audiences), KEYS)
def test_generated_documents_read_the_same(data: st.DataObject, rtype: str, audience: str,
                                           key: bytes | None) -> None:
    doc = data.draw(documents(rtype))
    fast, slow = _both(doc, audience, key)
    assert fast == slow


def test_a_masked_citizen_id_is_what_both_walks_leave() -> None:
    resident = next(d for d in EXAMPLES if d["resourceType"] == "Resident"
                    and d.get("identityDocuments"))
    doc = _with_citizen_ids(resident, "11010519491231002X")
    assert b"11010519491231002X" in orjson.dumps(doc)
    for audience in ("department", "regulator"):
        fast, slow = _both(doc, audience, b"0123456789abcdef-shared-city-key")
        assert fast == slow
        assert b"11010519491231002X" not in fast
        assert (b"hmac-sha256:" in fast) is (audience == "department")


def test_json_text_and_a_handed_over_document_are_redacted_in_place() -> None:
    doc = next(d for d in EXAMPLES if d["resourceType"] == "Issue")
    expected = orjson.dumps(redact(doc, "public"))
    assert orjson.dumps(redact(orjson.dumps(doc).decode(), "public")) == expected
    handed = orjson.loads(orjson.dumps(doc))
    out = redact(handed, "public", copy=False)
    assert out is handed and orjson.dumps(out) == expected
    kept = orjson.loads(orjson.dumps(doc))
    assert redact(kept, "public") is not kept and kept == doc  # copied by default
    with pytest.raises(RedactionError):
        redact("[]", "public")


#: member names of the synthetic plans: few, so that paths share steps and collide
_NAMES = st.sampled_from(["a", "b", "masked", "pseudonym"])
#: a path: member names and None (every item of an array), up to deeper than a walk inlines
_PATHS = st.lists(st.one_of(_NAMES, st.none()), min_size=1, max_size=14).map(tuple)
#: the spec's mask methods, and the one that leaves ``masked`` and ``pseudonym`` beside it
_MASKS = _redact._masks(SPEC)
_CITIZEN_ID = next(m for m, f in _MASKS.items() if f is _redact.identifiers.mask_citizen_id)


def _nested(depth: int) -> st.SearchStrategy[Any]:
    leaves = st.one_of(st.none(), st.sampled_from(["张三", "11010519491231002X", "x"]),
                       st.integers(0, 3))
    if depth == 0:
        return leaves
    below = _nested(depth - 1)
    return st.one_of(leaves, st.dictionaries(_NAMES, below, max_size=3),
                     st.lists(below, max_size=3))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# siblings act in the plan's order: the mask adds "masked", which the next tag removes
@example([(("a",), "p", _CITIZEN_ID), (("masked",), "s", None)],
         {"a": "11010519491231002X"}, None, "mask")
@given(st.lists(st.tuples(_PATHS, st.sampled_from(["p", "s", "kept"]),
                          st.sampled_from([None, *sorted(_MASKS)])), min_size=1, max_size=8),
       st.dictionaries(_NAMES, _nested(7), max_size=4), KEYS,
       st.sampled_from(["mask", "remove"]))
def test_the_compiled_walk_acts_as_the_paths_one_by_one(
        pipl: list[tuple[tuple[Any, ...], str, str | None]], doc: dict[str, Any],
        key: bytes | None, personal: str) -> None:
    """Any tags, however deep, shared or colliding with what a mask adds (``masked``,
    ``pseudonym``), on any document: the compiled walk leaves what the reference leaves."""
    plan = Plan(pipl=sorted(pipl, key=lambda p: len(p[0])))  # shallow paths first, as compiled
    treatments = {"p": personal, "s": "remove", "kept": "keep"}
    keyed = (key, None) if key is not None else None
    fast, slow = orjson.loads(orjson.dumps(doc)), orjson.loads(orjson.dumps(doc))
    holes_fast: list[list[Any]] = []
    holes_slow: list[list[Any]] = []
    _redact._apply_tags(fast, plan, treatments, _MASKS, keyed, holes_fast)
    _by_path(slow, plan, treatments, _MASKS, keyed, holes_slow)
    for hole in holes_fast + holes_slow:
        hole[:] = [v for v in hole if v is not _redact._HOLE]
    assert orjson.dumps(fast) == orjson.dumps(slow)


def test_a_walk_deeper_than_one_function_nests_is_split() -> None:
    """Python compiles at most 20 loops nested in a function: a path through 25 arrays still
    compiles, and acts at its end."""
    path = ("a", None) * 25
    plan = Plan(pipl=[(path, "p", None)])
    doc: dict[str, Any] = {"a": [{"a": [{}]}]}
    deepest: Any = doc
    for _ in range(24):
        deepest = deepest["a"][0]
        deepest["a"] = [{}]
    deepest["a"] = ["gone", "gone too"]
    holes: list[list[Any]] = []
    _redact._apply_tags(doc, plan, {"p": "remove"}, _MASKS, None, holes)
    for hole in holes:
        hole[:] = [v for v in hole if v is not _redact._HOLE]
    assert "gone" not in orjson.dumps(doc).decode()
    assert deepest["a"] == []
