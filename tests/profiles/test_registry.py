"""The organisation registry reviews the organisations a document hands work or data to, never
who acted, and a write only where it names them anew (/req/profiles/document-organisations)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from smartcommunity import load_spec, validate
from smartcommunity.profiles import load_profile

SPEC_DIR = Path(__file__).resolve().parents[2] / "spec" / "1.0"
BIG = load_profile(SPEC_DIR / "profiles" / "beijing-chaoyang.json")
SMALL = load_profile(SPEC_DIR / "profiles" / "jiangshan.json")
UNKNOWN = "profile.unknown-department"
#: codes no example city registers
STRANGERS = ("rc-elsewhere", "hotline-elsewhere", "kit-unregistered")


def _example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SPEC_DIR / "examples" / name).read_text("utf-8"))
    return data


def _actors(node: Any) -> Iterator[dict[str, Any]]:
    """Every actor of ``node`` that names its organisation (an object with a role and one)."""
    if isinstance(node, dict):
        if "role" in node and isinstance(node.get("organisation"), dict):
            yield node
        for value in node.values():
            yield from _actors(value)
    elif isinstance(node, list):
        for value in node:
            yield from _actors(value)


def _unknown(report: Any) -> set[str]:
    return {f.pointer for f in report.findings if f.code == UNKNOWN}


def test_the_schemas_mark_who_acted_beside_organisation_references_only() -> None:
    """``x-actor`` marks an organisation reference: the organisation of an actor, and the one
    that decided a resident's restriction."""
    spec = load_spec("1.0")
    marked: list[tuple[str, str]] = []

    def walk(node: Any, where: str, name: str) -> None:
        if isinstance(node, dict):
            if "x-actor" in node:
                assert node["x-actor"] is True, (name, where)
                assert str(node.get("$ref", "")).endswith("organisation-ref.json"), (name, where)
                marked.append((name, where))
            for key, value in node.items():
                walk(value, f"{where}/{key}", name)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}", name)

    for name, schema in spec.schemas.items():
        walk(schema, "", name)
    assert ("actor.json", "/properties/organisation") in {(n.rsplit("/", 1)[-1], w)
                                                          for n, w in marked}
    assert any(w.endswith("/restriction/properties/decidedBy") for _, w in marked), marked


@settings(max_examples=60, deadline=None)
@given(codes=st.lists(st.sampled_from((*STRANGERS, "rc-xingfuli", "housing", "hotline-12345")),
                      min_size=1, max_size=30))
def test_who_acted_is_never_held_to_the_registry(codes: list[str]) -> None:
    """Whatever organisations the actors of an issue act for, registered or not, neither the
    issue on its own nor any write of it is refused for them."""
    doc = _example("issue/gas-heater-elderly-closed.json")
    for actor, code in zip(_actors(doc), codes * 10, strict=False):
        actor["organisation"] = {"id": code, "name": code, "type": "residents-committee"}
    assert _unknown(validate(doc, profile=BIG)) == set()
    assert _unknown(BIG.review(doc, validate(doc), previous=_example(
        "issue/gas-heater-elderly-closed.json"))) == set()


def test_an_erased_residents_deciding_organisation_is_not_held_to_the_registry() -> None:
    doc = _example("resident/erased-record.json")
    doc["restriction"]["decidedBy"] = {"id": "rc-xingfuli", "name": "幸福里社区居民委员会",
                                       "type": "residents-committee"}
    assert "rc-xingfuli" not in SMALL.organisations
    assert _unknown(validate(doc, profile=SMALL)) == set()


#: departments of the large city's registry, and others
_DEPARTMENTS = st.sampled_from(("housing", "civil-affairs", "urban-management", *STRANGERS))


@st.composite
def _writes(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """An issue as stored, its departments drawn, and a write over it: a department changed,
    an assignment added or removed, the order of the assignments turned round."""
    stored = _example("issue/gas-heater-elderly-closed.json")
    for assignment in stored["assignments"]:
        assignment["department"] = {"id": draw(_DEPARTMENTS), "name": "某部门",
                                    "type": "government-department"}
    written = copy.deepcopy(stored)
    assignments = written["assignments"]
    for _ in range(draw(st.integers(0, 3))):
        change = draw(st.sampled_from(("department", "add", "remove", "reverse")))
        if change == "department" and assignments:
            item = draw(st.sampled_from(assignments))
            item["department"] = {**item["department"], "id": draw(_DEPARTMENTS)}
        elif change == "add":
            added = copy.deepcopy(stored["assignments"][0])
            added["id"] = f"00000000-0000-4000-8000-{len(assignments):012d}"
            added["department"] = {**added["department"], "id": draw(_DEPARTMENTS)}
            assignments.insert(draw(st.integers(0, len(assignments))), added)
        elif change == "remove" and assignments:
            assignments.pop(draw(st.integers(0, len(assignments) - 1)))
        elif change == "reverse":
            assignments.reverse()
    return stored, written


@settings(max_examples=120, deadline=None)
@given(_writes())
def test_a_write_is_held_to_the_registry_only_where_it_names_a_department_anew(
        pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """A department outside the registry is refused where the write puts it; one an earlier
    write put on the same assignment stays, wherever the assignment now is. Read on its own,
    the document is held to the registry throughout."""
    stored, written = pair
    was = {a["id"]: a["department"]["id"] for a in stored["assignments"]}
    unregistered = {f"/assignments/{i}/department/id": a for i, a in
                    enumerate(written["assignments"])
                    if a["department"]["id"] not in BIG.organisations}
    anew = {p for p, a in unregistered.items() if was.get(a["id"]) != a["department"]["id"]}
    assert _unknown(BIG.review(written, validate(written), previous=stored)) == anew
    assert _unknown(validate(written, profile=BIG)) == set(unregistered)
