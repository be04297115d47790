"""Examples: valid, and covering what the standard promises to show."""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import oracle, spec

EXAMPLES = list(spec().examples())


@pytest.mark.parametrize(("name", "doc"), EXAMPLES, ids=[n for n, _ in EXAMPLES])
def test_example_is_valid(name: str, doc: dict[str, Any]) -> None:
    errors = [f"{e.json_path}: {e.message}" for e in oracle(doc["resourceType"]).iter_errors(doc)]
    assert errors == []


def test_each_resource_has_examples() -> None:
    types = {doc["resourceType"] for _, doc in EXAMPLES}
    assert types == set(spec().resource_types)


def test_examples_have_unique_ids() -> None:
    ids = [doc["id"] for _, doc in EXAMPLES]
    assert len(ids) == len(set(ids))


def _mutate(doc: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    import copy

    out = copy.deepcopy(doc)
    node: Any = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def _first(rt: str) -> dict[str, Any]:
    return next(doc for _, doc in EXAMPLES if doc["resourceType"] == rt)


@pytest.mark.parametrize("rt", ["Resident", "Issue", "Consultation"])
def test_unknown_top_level_member_is_rejected(rt: str) -> None:
    doc = _mutate(_first(rt), ["vendorField"], 1)
    assert not oracle(rt).is_valid(doc)
    doc = _mutate(_first(rt), ["extensions"], {"com.example.vendor": {"vendorField": 1}})
    assert oracle(rt).is_valid(doc), "the same data under extensions is accepted"


@pytest.mark.parametrize("rt", ["Resident", "Issue", "Consultation"])
@pytest.mark.parametrize("stamp", ["2024-05-01T09:30:00", "2024-05-01 09:30:00+08:00",
                                   "2024-05-01T09:30:00+0800", "2024-02-30T09:30:00+08:00"])
def test_timestamp_without_offset_or_malformed_is_rejected(rt: str, stamp: str) -> None:
    doc = _mutate(_first(rt), ["meta"], {"versionId": "1", "lastUpdated": stamp})
    assert not oracle(rt).is_valid(doc)


def test_citizen_id_of_wrong_shape_is_rejected() -> None:
    schema = {"$ref": "datatypes.json#/$defs/citizenId"}
    from jsonschema import Draft202012Validator

    v = Draft202012Validator(
        {"$id": spec().base_uri + "probe.json", **schema}, registry=spec().registry
    )
    for bad in ["11010519491231002x", "1101051949123100", "11010519491231002XX",
                "A1010519491231002X", "11010519491231002Y", "０11010519491231002"]:
        assert not v.is_valid(bad), bad
    assert v.is_valid("11010519491231002X")


def test_unknown_closed_code_is_rejected() -> None:
    for rt in ("Issue", "Consultation"):
        doc = _mutate(_first(rt), ["status"], "no-such-status")
        assert not oracle(rt).is_valid(doc)
