"""Lifecycle tables: well-formed, consistent with codelists and schemas, no dead ends."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from .helpers import spec

TABLES = sorted(spec().lifecycles.items())


def test_issue_and_consultation_have_lifecycles() -> None:
    assert {"Issue", "Consultation"} <= set(spec().lifecycles)


@pytest.mark.parametrize(("rt", "table"), TABLES, ids=[t[0] for t in TABLES])
def test_lifecycle_file_matches_its_schema(rt: str, table: dict[str, Any]) -> None:
    v = Draft202012Validator(spec().schema("meta/lifecycle.json"), registry=spec().registry)
    assert [e.message for e in v.iter_errors(table)] == []


@pytest.mark.parametrize(("rt", "table"), TABLES, ids=[t[0] for t in TABLES])
def test_lifecycle_uses_its_codelists(rt: str, table: dict[str, Any]) -> None:
    statuses = set(spec().codelist(table["statusCodelist"]))
    actions = set(spec().codelist(table["actionCodelist"]))
    roles = set(spec().codelist("role"))
    seen_actions = set()
    for t in table["transitions"]:
        seen_actions.add(t["action"])
        assert set(t["from"]) <= statuses, t["action"]
        assert t.get("to", next(iter(statuses))) in statuses, t["action"]
        assert set(t["roles"]) <= roles, t["action"]
        if "details" in t:
            Draft202012Validator.check_schema(t["details"])
        if "requirement" in t:
            assert t["requirement"] in spec().requirements
    assert seen_actions == actions, "every action of the codelist appears in the table"
    assert set(table.get("terminal", [])) <= statuses


@pytest.mark.parametrize(("rt", "table"), TABLES, ids=[t[0] for t in TABLES])
def test_every_status_is_reachable_and_non_terminal_ones_lead_on(
    rt: str, table: dict[str, Any]
) -> None:
    statuses = set(spec().codelist(table["statusCodelist"]))
    transitions = table["transitions"]
    creating = [t for t in transitions if not t["from"]]
    assert creating, "one action creates the resource"
    reached = {t["to"] for t in creating}
    frontier = set(reached)
    while frontier:
        nxt = {t.get("to", s) for t in transitions for s in frontier if s in t["from"]}
        frontier = nxt - reached
        reached |= nxt
    assert reached == statuses, f"unreachable: {statuses - reached}"
    terminal = set(table.get("terminal", []))
    for status in statuses - terminal:
        assert any(status in t["from"] and t.get("to", status) != status for t in transitions), (
            status
        )


@pytest.mark.parametrize(("rt", "table"), TABLES, ids=[t[0] for t in TABLES])
def test_terminal_statuses_are_left_only_by_reopening_actions(
    rt: str, table: dict[str, Any]
) -> None:
    """The definition of terminal in meta/lifecycle.json, checked against the table: an
    action from a terminal status reopens or only annotates the record, a reopening action
    leaves one, and an annotating action changes no status."""
    terminal = set(table.get("terminal", []))
    assert terminal, "a lifecycle ends somewhere"
    for t in table["transitions"]:
        starts_terminal = bool(terminal & set(t["from"]))
        assert starts_terminal == bool(t.get("reopens") or t.get("annotates")), t["action"]
        assert not (t.get("annotates") and "to" in t), t["action"]
        if t.get("reopens"):
            assert t.get("to") not in terminal | {None}, t["action"]


@pytest.mark.parametrize(("rt", "table"), TABLES, ids=[t[0] for t in TABLES])
def test_schema_binds_status_and_history_to_the_lifecycle(rt: str, table: dict[str, Any]) -> None:
    schema = spec().schema(rt)
    status = schema["properties"]["status"]
    assert status.get("x-codelist") == table["statusCodelist"]
    assert status.get("enum") == list(spec().codelist(table["statusCodelist"]))
    assert "history" in schema["properties"]
    for t in table["transitions"]:
        for field in t.get("sets", {}):
            assert field in schema["properties"], f"{t['action']} sets unknown field {field}"
