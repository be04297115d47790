"""The history of a resource with a lifecycle, read against its lifecycle table.

One compiled form of ``lifecycles/<resource>.json`` serves every resource's history rules:
each transition row with its allowed from-statuses, to-status, roles and compiled details
schema, and the creating actions. :func:`walk_history` reads a history against it once: the
run of ``seq``, times in order, the creating action first, the status chain (one rule for every
resource: each event starts where the table says the history has reached), each event's
to-status, role and details, and the last ``toStatus`` against the document's ``status``. The
walk finds each break; the resource's :class:`HistoryReport` names it with its own code and
pointer, and reads what its own rules need from each event.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from ..exceptions import SmartCommunityError
from ..lifecycle import Lifecycle
from ..specification import Spec
from ._time import compare_instants


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


_ABSENT: Any = object()


class HistoryReport:
    """What a resource reports for each way a history breaks its lifecycle table.

    The walk finds the break; the resource names it with its own code and pointer. A break a
    resource does not report keeps the default, which says nothing.
    """

    __slots__ = ()

    #: read "details": null as an absent details member (checked as {}) rather than leave it
    #: to the schema alone
    null_details_absent: ClassVar[bool] = False

    def seq(self, i: int, action: Any, seq: Any, expected: int) -> None: ...

    def time_order(self, i: int, action: Any, at: str, previous: str) -> None: ...

    def not_creating(self, i: int, action: str) -> None:
        """The first event's action does not create the resource."""

    def creation_from(self, i: int, action: Any, value: Any) -> None:
        """The first event has a fromStatus."""

    def from_missing(self, i: int, action: Any, previous: Any) -> None:
        """A later event has no fromStatus."""

    def from_not_previous(self, i: int, action: Any, value: Any, previous: Any) -> None:
        """A later event's fromStatus is not the status the history had reached (the chain)."""

    def unknown_action(self, i: int, action: str) -> None:
        """An action the table does not have (the schema's codelist may say so already)."""

    def not_allowed_from(self, i: int, step: Step, status: str) -> None:
        """The table does not allow the action from the status the history had reached."""

    def to_status(self, i: int, step: Step, value: Any, expected: str) -> None:
        """toStatus (which may be absent or not a string) is not where the action leads."""

    def role(self, i: int, step: Step, role: str) -> None: ...

    def details(self, i: int, step: Step, details: dict[str, Any]) -> None:
        """The details (an absent member read as {}) break the action's details schema."""

    def event(self, i: int, event: dict[str, Any], step: Step,
              details: dict[str, Any] | None) -> None:
        """Every event of a known action, after the table's checks: the resource's own."""

    def final_status(self, status: str, to_status: str) -> None: ...


def walk_history(doc: Mapping[str, Any], history: list[Any], table: HistoryTable,
                 report: HistoryReport) -> None:
    """Walk ``doc``'s ``history`` once against ``table``, telling ``report`` of every break:
    the run of seq, times in order, the creating action first, the status chain, each event's
    to-status, role and details against its action's row, and the last toStatus against the
    document's status.

    The status chain is the lifecycle table's: after each event the history has reached the
    status its action leads to (the status it started from, for an action that keeps it), and
    the next event must start there: its action allowed from that status, its fromStatus equal
    to it. One wrong toStatus is so reported once, not again as the next event's fromStatus.
    Only where the table cannot tell (an action it does not have) does the recorded toStatus
    stand for the status reached.
    """
    actions, creating = table.actions, table.creating
    reached: Any = None  # the status the history so far leads to
    previous_at: Any = None  # the latest time the history so far states
    previous_seq: Any = 0
    for i, event in enumerate(history):
        if event.__class__ is not dict:
            reached = previous_at = previous_seq = None
            continue
        get = event.get
        name, seq, at, to_status = get("action"), get("seq"), get("at"), get("toStatus")
        if seq_breaks_run(seq, i + 1, previous_seq):
            report.seq(i, name, seq, i + 1)
        previous_seq = seq
        if at.__class__ is str:
            if previous_at.__class__ is str and compare_instants(at, previous_at) == -1:
                report.time_order(i, name, at, previous_at)
            previous_at = at
        from_status = get("fromStatus", _ABSENT)
        if i == 0:
            if name.__class__ is str and name not in creating:
                report.not_creating(i, name)
            if from_status is not _ABSENT:
                report.creation_from(i, name, from_status)
        elif from_status is _ABSENT:
            report.from_missing(i, name, reached)
        elif (from_status != reached and from_status.__class__ is str
              and reached.__class__ is str):
            report.from_not_previous(i, name, from_status, reached)
        step = actions.get(name) if name.__class__ is str else None
        if step is None:
            if name.__class__ is str:
                report.unknown_action(i, name)
            reached = to_status
            continue
        start = reached if reached.__class__ is str else from_status
        if i and start.__class__ is str and start not in step.sources:
            report.not_allowed_from(i, step, start)
        expected = step.target or start
        if expected.__class__ is str:
            if to_status != expected:
                report.to_status(i, step, to_status, expected)
            reached = expected
        else:
            reached = to_status
        role = refused_role(event, step)
        if role is not None:
            report.role(i, step, role)
        details = get("details", _ABSENT)
        if details is _ABSENT or (details is None and report.null_details_absent):
            details = None
            if not step.empty_details_ok:
                report.details(i, step, {})
        elif details.__class__ is not dict:
            details = None  # the schema reports it
        elif step.details is not None and not step.details.is_valid(details):
            report.details(i, step, details)
        report.event(i, event, step, details)
    mismatch = final_status_mismatch(doc, history)
    if mismatch is not None:
        report.final_status(*mismatch)
