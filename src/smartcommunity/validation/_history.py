"""The history of a resource with a lifecycle, read against its lifecycle table.

One compiled form of ``lifecycles/<resource>.json`` serves every resource's history rules:
each transition row with its allowed from-statuses, to-status, roles and compiled details
schema, and the creating actions. The judgements every history shares (the run of ``seq``, an
actor's role, the last ``toStatus`` against the document's ``status``) are stated here once;
each resource module reports them under its own codes.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..exceptions import SmartCommunityError
from ..lifecycle import Lifecycle
from ..specification import Spec


@dataclass(frozen=True, slots=True)
class Step:
    """One row of the lifecycle table, compiled for reading histories."""

    name: str
    sources: frozenset[str]
    #: the from-statuses and roles in the table's order (for messages)
    sources_listed: tuple[str, ...]
    target: str | None
    roles: frozenset[str]
    roles_listed: tuple[str, ...]
    sets: Mapping[str, Any]
    details_schema: Mapping[str, Any] | None
    details: Any  # a compiled jsonschema-rs validator, or None
    #: an absent details member is read as {}: whether {} passes the schema
    empty_details_ok: bool


@dataclass(frozen=True, slots=True)
class HistoryTable:
    lifecycle: Lifecycle
    actions: Mapping[str, Step]
    creating: tuple[str, ...]


@functools.cache
def history_table(spec: Spec, resource_type: str) -> HistoryTable | None:
    """The compiled lifecycle table of ``resource_type``, or None when the spec has none."""
    if resource_type not in spec.lifecycles:
        return None
    try:
        lifecycle = Lifecycle(spec, resource_type)
    except (SmartCommunityError, KeyError, TypeError, ValueError):
        return None
    rows = {row["action"]: row for row in spec.lifecycles[resource_type]["transitions"]}
    actions: dict[str, Step] = {}
    for name, t in lifecycle.transitions.items():
        validator = lifecycle.details_validator(name)
        row = rows[name]
        actions[name] = Step(
            name=name, sources=t.sources, sources_listed=tuple(row["from"]), target=t.target,
            roles=t.roles, roles_listed=tuple(row["roles"]), sets=t.sets,
            details_schema=t.details_schema, details=validator,
            empty_details_ok=validator is None or bool(validator.is_valid({})),
        )
    return HistoryTable(lifecycle, actions, lifecycle.creating_actions)


def seq_breaks_run(seq: Any, position: int, previous: Any) -> bool:
    """Whether ``seq`` of the event at ``position`` (1-based) breaks the run 1, 2, 3 ….

    A value is wrong only when it fits neither its position nor the event before it, so one
    gap or one typo is reported once, not again for every later event. A value that is not an
    integer is the schema's finding.
    """
    return (seq != position and seq.__class__ is int
            and (previous.__class__ is not int or seq != previous + 1))


def refused_role(event: Mapping[str, Any], step: Step) -> str | None:
    """The actor's role when the table does not let it take ``step``'s action."""
    actor = event.get("actor")
    role = actor.get("role") if actor.__class__ is dict else None
    return role if role.__class__ is str and role not in step.roles else None


def final_status_mismatch(doc: Mapping[str, Any], history: list[Any]) -> tuple[str, str] | None:
    """(status, last toStatus) when the document's status is not where its history ends."""
    last = history[-1] if history else None
    recorded = doc.get("status")
    if last.__class__ is not dict or recorded.__class__ is not str:
        return None
    final = last.get("toStatus")
    if final.__class__ is not str or final == recorded:
        return None
    return recorded, final
