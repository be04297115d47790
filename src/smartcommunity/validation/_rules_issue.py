"""Library rules of issues: the history against the lifecycle table, and its records.

The lifecycle table (``lifecycles/issue.json``) is read once per spec version; the shared
history walk (``_history``) checks the history against it and :class:`_History` reports its
breaks under the issue's codes. Every other rule works from :class:`_Table` and from the
requirement statements in ``requirements/issues.json``. All rules walk the document once and
never raise on data the schema rejects: a value of the wrong type is skipped, the schema layer
reports it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import identifiers
from ..specification import Spec
from ._history import HistoryReport, HistoryTable, Step, history_table, walk_history
from ._messages import ErrorCodes, message
from ._schema import _short_json, schema_problems
from ._time import compare_instants
from ._validator import Context, Document, SetContext, rule, set_rule

__all__ = ["CODE"]

#: The codes these rules report.
CODE = ErrorCodes("issue")

Path = tuple[str | int, ...]

_RESOURCE = "Issue"
#: the requirements whose parameters the rules read
_SINGLE_LEAD = "/req/issues/single-active-lead"
_REOPEN = "/req/issues/reopen-allowed"
#: /req/issues/assignment-time-order: times that may not precede assignedAt
_ASSIGNMENT_TIMES = ("acceptedAt", "returnedAt", "completedAt", "cancelledAt")
#: a value a lifecycle action wrote that the rules cannot know (its details are broken)
_UNKNOWN = object()
_NONE = "-"

_cmp = compare_instants


# -- the compiled lifecycle table -------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Action:
    """What the issue rules add to a row of the table: its texts and its compiled sets."""

    sources_text: str
    roles_text: str
    #: (member, literal value, or None to clear, or the details key the value comes from)
    sets: tuple[tuple[str, Any, str | None], ...]


@dataclass(frozen=True, slots=True)
class _Table:
    history: HistoryTable
    actions: Mapping[str, _Action]
    actions_text: str
    creating: frozenset[str]
    creating_text: str
    top_groups: frozenset[str]
    top_groups_text: str
    #: /req/issues/single-active-lead: the statuses that need an active lead, and what
    #: "active" is
    working: frozenset[str]
    active: frozenset[str]
    #: /req/issues/reopen-allowed: the resolutions a reopen may follow
    reopenable: frozenset[str]
    reopenable_text: str


@functools.cache
def _table(spec: Spec) -> _Table | None:
    history = history_table(spec, _RESOURCE)
    if history is None:
        return None
    actions: dict[str, _Action] = {}
    for name, step in history.actions.items():
        sets = tuple(
            (member, None if isinstance(v, Mapping) else v,
             str(v["fromDetails"]) if isinstance(v, Mapping) else None)
            for member, v in step.sets.items()
        )
        actions[name] = _Action(sources_text=", ".join(step.sources_listed) or _NONE,
                                roles_text=", ".join(step.roles_listed), sets=sets)
    creating = history.creating
    categories = spec.codelists.get("issue-category")
    groups = [c for c in categories or () if "." not in c]
    reopenable = tuple(spec.parameter(_REOPEN, "resolutions"))
    return _Table(
        history=history, actions=actions, actions_text=", ".join(actions),
        creating=frozenset(creating),
        creating_text=" / ".join(creating), top_groups=frozenset(groups),
        top_groups_text=", ".join(groups),
        working=frozenset(spec.parameter(_SINGLE_LEAD, "workingStatuses")),
        active=frozenset(spec.parameter(_SINGLE_LEAD, "activeAssignmentStatuses")),
        reopenable=frozenset(reopenable), reopenable_text=", ".join(reopenable),
    )


# -- timestamps -------------------------------------------------------------------------------
def _str(value: Any) -> str | None:
    """``value`` if it is a string, else None: safe to look up in a set or a dict."""
    return value if type(value) is str else None


def _text(value: Any) -> str:
    """A value as it appears in a message: strings bare, anything else as short JSON."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    return _short_json(value)


# -- the rules --------------------------------------------------------------------------------
@rule(_RESOURCE)
def issue_history(doc: Document, ctx: Context) -> None:
    """Every rule that reads the history, in one pass over it."""
    table = _table(ctx.spec)
    history = doc.get("history")
    if table is None or not isinstance(history, list) or not history:
        return
    _History(doc, ctx, table, history).run()


@rule(_RESOURCE)
def issue_records(doc: Document, ctx: Context) -> None:
    """Rules of the issue's own records: assignments, deadlines, merges, grid, category."""
    assignments = doc.get("assignments")
    if isinstance(assignments, list):
        _assignment_records(assignments, ctx)
    status = doc.get("status")
    table = _table(ctx.spec)
    if isinstance(status, str) and table is not None:
        _lead_assignment(status, assignments if isinstance(assignments, list) else [], table,
                         ctx)
    deadlines = doc.get("deadlines")
    if isinstance(deadlines, dict):
        _deadlines(deadlines, doc.get("submittedAt"), ctx)
    if "mergedInto" in doc or "mergedDuplicates" in doc:
        _merges(doc, ctx)
    grid = doc.get("gridCode")
    community = doc.get("communityDivisionCode")
    if (isinstance(grid, str) and isinstance(community, str)
            and not grid.startswith(community + "-")
            and identifiers.is_valid_division_code(community)):
        ctx.emit(("gridCode",), CODE.GRID_OUTSIDE_COMMUNITY, gridCode=grid, community=community)
    category = doc.get("category")
    if isinstance(category, str):
        group = category.partition(".")[0]
        if table is not None and table.top_groups and group not in table.top_groups:
            ctx.emit(("category",), CODE.CATEGORY_GROUP_UNKNOWN, category=category,
                     group=group, groups=table.top_groups_text)


class _History(HistoryReport):
    """One walk over the history, then the rules that tie it to the rest of the issue."""

    __slots__ = ("assignment_refs", "creations", "ctx", "doc", "exclusions", "extend_events",
                 "follow_ups", "history", "resolved_at", "table", "written")

    def __init__(self, doc: Document, ctx: Context, table: _Table, history: list[Any]) -> None:
        self.doc = doc
        self.ctx = ctx
        self.table = table
        self.history = history
        #: member → (seq, action, value written: a value, None for cleared, or _UNKNOWN)
        self.written: dict[str, tuple[int, str, Any]] = {}
        #: (where, assignment id, role the creating event gives it)
        self.creations: list[tuple[Path, str, str]] = []
        #: (where, assignment id) named by claim, return or reassign as a lead assignment
        self.assignment_refs: list[tuple[Path, str]] = []
        #: (index, event) of every extend-deadline event
        self.extend_events: list[tuple[int, dict[str, Any]]] = []
        #: (index, event, followUpId, at of the latest resolve event before it)
        self.follow_ups: list[tuple[int, dict[str, Any], Any, Any]] = []
        #: (index, event, exclusionId) of every exclude-from-assessment event
        self.exclusions: list[tuple[int, dict[str, Any], Any]] = []
        #: at of the latest resolve event so far
        self.resolved_at: Any = None

    def run(self) -> None:
        doc, ctx, history = self.doc, self.ctx, self.history
        walk_history(doc, history, self.table.history, self)
        first = history[0]
        if isinstance(first, dict):
            submitted, at = doc.get("submittedAt"), first.get("at")
            if submitted != at and _cmp(submitted, at):
                ctx.emit(("submittedAt",), CODE.SUBMITTED_AT_MISMATCH,
                         submittedAt=submitted, at=at)
        self._sets()
        self._assignment_history()
        self._extension_history()
        self._follow_up_history()
        self._exclusion_history()

    # -- the breaks of the lifecycle table, as issue.history-* findings
    def seq(self, i: int, action: Any, seq: Any, expected: int) -> None:
        self.ctx.emit(("history", i, "seq"), CODE.HISTORY_SEQ, seq=seq, expected=expected)

    def time_order(self, i: int, action: Any, at: str, previous: str) -> None:
        self.ctx.emit(("history", i, "at"), CODE.HISTORY_TIME_ORDER, seq=i + 1, at=at,
                      previous=previous)

    def not_creating(self, i: int, action: str) -> None:
        self.ctx.emit(("history", i, "action"), CODE.HISTORY_CREATION, position=i + 1,
                      action=action, creating=self.table.creating_text)

    def creation_from(self, i: int, action: Any, value: Any) -> None:
        self.from_missing(i, action, None)

    def from_missing(self, i: int, action: Any, previous: Any) -> None:
        self.ctx.emit(("history", i, "fromStatus"), CODE.HISTORY_CREATION, position=i + 1,
                      action=_text(action), creating=self.table.creating_text)

    def from_not_previous(self, i: int, action: Any, value: Any, previous: Any) -> None:
        self.ctx.emit(("history", i, "fromStatus"), CODE.HISTORY_CHAIN, seq=i + 1,
                      fromStatus=value, previous=previous)

    def unknown_action(self, i: int, action: str) -> None:
        self._lifecycle(i, action, "action", action, self.table.actions_text)

    def not_allowed_from(self, i: int, step: Step, status: str) -> None:
        self._lifecycle(i, step.name, "fromStatus", status,
                        self.table.actions[step.name].sources_text)

    def to_status(self, i: int, step: Step, value: Any, expected: str) -> None:
        if value.__class__ is str:  # anything else is the schema's finding
            self._lifecycle(i, step.name, "toStatus", value, expected)

    def role(self, i: int, step: Step, role: str) -> None:
        self._lifecycle(i, step.name, "actor.role", role, self.table.actions[step.name].roles_text)

    def _lifecycle(self, i: int, action: str, member: str, value: str, allowed: str) -> None:
        # /req/issues/history-lifecycle
        self.ctx.emit(("history", i, *member.split(".")), CODE.HISTORY_LIFECYCLE, seq=i + 1,
                      action=action, member=member, value=value, allowed=allowed)

    def final_status(self, status: str, to_status: str) -> None:
        self.ctx.emit(("status",), CODE.HISTORY_STATUS_MISMATCH, status=status,
                      toStatus=to_status, seq=len(self.history))

    def event(self, i: int, event: dict[str, Any], step: Step,
              details: dict[str, Any] | None) -> None:
        """What the issue's own rules need from each event of a known action."""
        action, pos, written = step.name, i + 1, self.written
        # /req/issues/sets-match-history and /req/issues/reopen-allowed
        if action == "reopen":
            self._reopen(i, written.get("resolution"))
        for member, literal, key in self.table.actions[action].sets:
            if key is None:
                written[member] = (pos, action, literal)
            else:
                value = details.get(key) if details is not None else None
                written[member] = (pos, action, _UNKNOWN if value is None else value)
        creations, refs = self.creations, self.assignment_refs
        if action == "resolve":
            self.resolved_at = event.get("at")
        elif action == "extend-deadline":
            self.extend_events.append((i, event))
        elif action == "exclude-from-assessment":
            self.exclusions.append((i, event, (details or {}).get("exclusionId")))
        elif details is None:
            if action == "follow-up":
                self.follow_ups.append((i, event, None, self.resolved_at))
        elif action == "dispatch":
            lead = details.get("lead")
            if type(lead) is str:
                creations.append((("history", i, "details", "lead"), lead, "lead"))
            assisting = details.get("assisting")
            if type(assisting) is list:
                for k, a in enumerate(assisting):
                    if type(a) is str:
                        creations.append(
                            (("history", i, "details", "assisting", k), a, "assisting"))
        elif action == "reassign":
            new, old = details.get("to"), details.get("from")
            if type(new) is str:
                creations.append((("history", i, "details", "to"), new, "lead"))
            if type(old) is str:
                refs.append((("history", i, "details", "from"), old))
        elif action == "claim" or action == "return":
            ident = details.get("assignmentId")
            if type(ident) is str:
                refs.append((("history", i, "details", "assignmentId"), ident))
        elif action == "follow-up":
            self.follow_ups.append((i, event, details.get("followUpId"), self.resolved_at))

    def details(self, i: int, step: Step, details: dict[str, Any]) -> None:
        # /req/issues/history-details: an absent details member is checked as {}
        ctx = self.ctx
        base: Path = ("history", i, "details")
        for where, code, values in schema_problems(step.details, details):
            text = message(ctx.spec, code, **values)
            ctx.emit((*base, *where), CODE.HISTORY_DETAILS, seq=i + 1, action=step.name,
                     problem_zh=text["zh-Hans"], problem_en=text["en"])

    def _reopen(self, i: int, current: tuple[int, str, Any] | None) -> None:
        value = current[2] if current is not None else None
        if value is _UNKNOWN or _str(value) in self.table.reopenable:
            return
        self.ctx.emit(("history", i, "action"), CODE.REOPEN_NOT_ALLOWED, seq=i + 1,
                      resolution=_NONE if value is None else _text(value),
                      allowed=self.table.reopenable_text)

    def _sets(self) -> None:
        doc, ctx = self.doc, self.ctx
        for member, (seq, action, value) in self.written.items():
            if value is _UNKNOWN or member not in doc:
                continue
            present = doc[member]
            if value is None or present != value:
                ctx.emit((member,), CODE.SETS_MISMATCH, field=member, value=_text(present),
                         seq=seq, action=action, expected=_text(value))

    def _assignment_history(self) -> None:
        ctx = self.ctx
        raw = self.doc.get("assignments")
        assignments = raw if isinstance(raw, list) else []
        if not assignments and not self.creations and not self.assignment_refs:
            return
        rows: dict[str, list[int]] = {}
        for j, a in enumerate(assignments):
            ident = a.get("id") if isinstance(a, dict) else None
            if isinstance(ident, str):
                rows.setdefault(ident, []).append(j)
        created: dict[str, list[str]] = {}
        for _, ident, role in self.creations:
            created.setdefault(ident, []).append(role)

        def role_of(ident: str) -> str:
            js = rows.get(ident)
            role = assignments[js[0]].get("role") if js else None
            return role if isinstance(role, str) else _NONE

        def report(where: Path, ident: str, expected: str) -> None:
            ctx.emit(where, CODE.ASSIGNMENT_HISTORY_MISMATCH, assignment=ident,
                     created=len(created.get(ident, ())), listed=len(rows.get(ident, ())),
                     role=role_of(ident), expected=expected)

        for ident, js in rows.items():
            roles = created.get(ident)
            expected = roles[0] if roles else role_of(ident)
            if len(js) > 1:
                for j in js[1:]:
                    report(("assignments", j, "id"), ident, expected)
            if roles is None or len(roles) != 1:
                report(("assignments", js[0], "id"), ident, expected)
        for where, ident, role in self.creations:
            if ident not in rows or role_of(ident) != role:
                report(where, ident, role)
        for where, ident in self.assignment_refs:
            if ident not in rows or role_of(ident) != "lead":
                report(where, ident, "lead")

    def _extension_history(self) -> None:
        deadlines = self.doc.get("deadlines")
        raw = deadlines.get("extensions") if isinstance(deadlines, dict) else None
        entries = raw if isinstance(raw, list) else []
        events = self.extend_events
        if not entries and not events:
            return
        ctx = self.ctx

        def report(where: Path, index: Any, entry: str, seq: Any, event: str) -> None:
            ctx.emit(where, CODE.EXTENSION_HISTORY_MISMATCH, index=index, entry=entry,
                     seq=seq, event=event, extensions=len(entries), events=len(events))

        for k in range(max(len(entries), len(events))):
            entry = entries[k] if k < len(entries) else None
            if k >= len(events):
                report(("deadlines", "extensions", k), k + 1, _entry_summary(entry), _NONE,
                       _NONE)
                continue
            i, event = events[k]
            details = event.get("details")
            d = details if isinstance(details, dict) else {}
            event_summary = _entry_summary({**d, "reason": event.get("reason")})
            if entry is None:
                report(("history", i), _NONE, _NONE, i + 1, event_summary)
                continue
            if not isinstance(entry, dict):
                continue
            for key in ("previousDue", "newDue", "reason"):
                mine, theirs = entry.get(key), (event if key == "reason" else d).get(key)
                if mine == theirs or (key != "reason" and _cmp(mine, theirs) == 0):
                    continue
                report(("deadlines", "extensions", k, key), k + 1, _entry_summary(entry), i + 1,
                       event_summary)

    def _paired(self, member: str, code: str, key: str, events: list[tuple[int, Any]]
                ) -> dict[int, tuple[int, dict[str, Any]]]:
        """Entries of the list ``member`` and the events naming them by ``details.<key>``
        must pair one to one (the ``code`` finding otherwise); the pairs found, by event
        index."""
        raw = self.doc.get(member)
        entries = raw if isinstance(raw, list) else []
        pairs: dict[int, tuple[int, dict[str, Any]]] = {}
        if not entries and not events:
            return pairs
        ctx = self.ctx
        #: the message names the item by its kind: followUp, exclusion
        def named_as(ident: Any) -> dict[str, Any]:
            return {key.removesuffix("Id"): ident}

        rows: dict[Any, list[int]] = {}
        for j, entry in enumerate(entries):
            ident = entry.get("id") if isinstance(entry, dict) else None
            if isinstance(ident, str):
                rows.setdefault(ident, []).append(j)
        named: dict[Any, int] = {}
        for _, ident in events:
            if type(ident) is str:
                named[ident] = named.get(ident, 0) + 1
        for ident, js in rows.items():
            count = named.get(ident, 0)
            if count != 1 or len(js) > 1:
                for j in (js if count != 1 else js[1:]):
                    ctx.emit((member, j, "id"), code, entries=len(js), events=count,
                             **named_as(ident))
        for i, ident in events:
            if not isinstance(ident, str):
                continue  # missing or not an id: the details rule or the schema reports it
            found = rows.get(ident)
            if found is None:
                ctx.emit(("history", i, "details", key), code, entries=0, events=named[ident],
                         **named_as(ident))
            else:
                pairs[i] = (found[0], entries[found[0]])
        return pairs

    def _follow_up_history(self) -> None:
        pairs = self._paired("followUps", CODE.FOLLOW_UP_HISTORY_MISMATCH, "followUpId",
                             [(i, ident) for i, _, ident, _ in self.follow_ups])
        for i, event, _, resolved_at in self.follow_ups:
            if i not in pairs:
                continue
            j, entry = pairs[i]
            at, event_at = entry.get("at"), event.get("at")
            if _cmp(at, resolved_at) == -1 or _cmp(at, event_at) == 1:
                self.ctx.emit(("followUps", j, "at"), CODE.FOLLOW_UP_TIME_ORDER, at=at,
                              resolvedAt=resolved_at if resolved_at is not None else _NONE,
                              eventAt=_text(event_at))

    def _exclusion_history(self) -> None:
        # /req/indicators/exclusion-record: the entry is what its event recorded
        pairs = self._paired("assessmentExclusions", "indicators.exclusion-history-mismatch",
                             "exclusionId", [(i, ident) for i, _, ident in self.exclusions])
        for i, event, _ in self.exclusions:
            if i not in pairs:
                continue
            j, entry = pairs[i]
            actor = event.get("actor")
            actor = actor if isinstance(actor, dict) else {}
            approver = entry.get("approvedBy")
            approver = approver if isinstance(approver, dict) else {}
            recorded = {"reason": (entry.get("reason"), event.get("reason")),
                        "at": (entry.get("at"), event.get("at")),
                        **{f"approvedBy/{k}": (approver.get(k), actor.get(k))
                           for k in ("role", "userId", "name")}}
            for where, (mine, theirs) in recorded.items():
                if mine != theirs and (where != "at" or _cmp(mine, theirs) != 0):
                    self.ctx.emit(("assessmentExclusions", j, *where.split("/")),
                                  "indicators.exclusion-event-mismatch", exclusion=entry.get("id"),
                                  member=where.replace("/", "."), value=_text(mine),
                                  seq=i + 1, expected=_text(theirs))


def _entry_summary(entry: Any) -> str:
    if not isinstance(entry, dict):
        return _NONE
    return (f"{_text(entry.get('previousDue'))} → {_text(entry.get('newDue'))}, "
            f"{_text(entry.get('reason'))}")


def _assignment_records(assignments: list[Any], ctx: Context) -> None:
    ids = {_str(a.get("id")) for a in assignments if isinstance(a, dict)}
    for j, a in enumerate(assignments):
        if not isinstance(a, dict):
            continue
        target = a.get("reassignedTo")
        if isinstance(target, str) and (target not in ids or target == a.get("id")):
            ctx.emit(("assignments", j, "reassignedTo"), CODE.REASSIGNED_TO_MISSING,
                     assignment=_text(a.get("id")), reassignedTo=target)
        assigned = a.get("assignedAt")
        if not isinstance(assigned, str):
            continue
        for key in _ASSIGNMENT_TIMES:
            if key in a and _cmp(a[key], assigned) == -1:
                ctx.emit(("assignments", j, key), CODE.ASSIGNMENT_TIME_ORDER, field=key,
                         value=a[key], assignedAt=assigned)
        due = _cmp(a.get("dueAt"), assigned)
        if due is not None and due <= 0:
            ctx.emit(("assignments", j, "dueAt"), CODE.ASSIGNMENT_TIME_ORDER, field="dueAt",
                     value=a["dueAt"], assignedAt=assigned)


def _lead_assignment(status: str, assignments: list[Any], table: _Table, ctx: Context) -> None:
    active = [
        j for j, a in enumerate(assignments)
        if isinstance(a, dict) and a.get("role") == "lead"
        and _str(a.get("status")) in table.active
    ]
    if status in table.working:
        if not active:
            ctx.emit(("assignments",), CODE.LEAD_ASSIGNMENT, status=status, count=0,
                     expected=1)
        for j in active[1:]:
            ctx.emit(("assignments", j, "status"), CODE.LEAD_ASSIGNMENT, status=status,
                     count=len(active), expected=1)
    else:
        for j in active:
            ctx.emit(("assignments", j, "status"), CODE.LEAD_ASSIGNMENT, status=status,
                     count=len(active), expected=0)


def _deadlines(deadlines: dict[str, Any], submitted: Any, ctx: Context) -> None:
    response, resolution = deadlines.get("responseDue"), deadlines.get("resolutionDue")
    for key, value in (("responseDue", response), ("resolutionDue", resolution)):
        if _cmp(value, submitted) == -1:
            ctx.emit(("deadlines", key), CODE.DEADLINE_ORDER, field="deadlines." + key,
                     value=value, other="submittedAt", otherValue=submitted)
    if _cmp(response, resolution) == 1:
        ctx.emit(("deadlines", "responseDue"), CODE.DEADLINE_ORDER,
                 field="deadlines.responseDue", value=response,
                 other="deadlines.resolutionDue", otherValue=resolution)
    raw = deadlines.get("extensions")
    if not isinstance(raw, list) or not raw:
        return
    previous: Any = None
    for k, entry in enumerate(raw):
        if not isinstance(entry, dict):
            previous = None
            continue
        new_due, previous_due = entry.get("newDue"), entry.get("previousDue")
        order = _cmp(new_due, previous_due)
        if order is not None and order <= 0:
            ctx.emit(("deadlines", "extensions", k, "newDue"), CODE.EXTENSION_NOT_LATER,
                     index=k + 1, newDue=new_due, previousDue=previous_due)
        if k and previous_due != previous and _cmp(previous_due, previous):
            ctx.emit(("deadlines", "extensions", k, "previousDue"), CODE.EXTENSION_CHAIN,
                     field=f"/deadlines/extensions/{k}/previousDue", value=previous_due,
                     other=f"/deadlines/extensions/{k - 1}/newDue", expected=previous)
        previous = new_due
    last = raw[-1]
    if not isinstance(last, dict) or not isinstance(last.get("newDue"), str):
        return
    if resolution is None or (resolution != last["newDue"] and _cmp(resolution, last["newDue"])):
        ctx.emit(("deadlines", "resolutionDue"), CODE.EXTENSION_CHAIN,
                 field="/deadlines/resolutionDue", value=_NONE if resolution is None else
                 _text(resolution), other=f"/deadlines/extensions/{len(raw) - 1}/newDue",
                 expected=last["newDue"])


def _merges(doc: Document, ctx: Context) -> None:
    own = doc.get("id")
    into = doc.get("mergedInto")
    kept_into: str | None = None
    if isinstance(into, str):
        if into == own:
            ctx.emit(("mergedInto",), CODE.MERGE_SELF, id=own)
        else:
            kept_into = into
            ctx.expect_in_set(("mergedInto",), into, CODE.MERGE_TARGET_MISSING, _RESOURCE)
    duplicates = doc.get("mergedDuplicates")
    kept_duplicates: list[tuple[int, str]] = []
    if isinstance(duplicates, list):
        for k, dup in enumerate(duplicates):
            if not isinstance(dup, str):
                continue
            if dup == own:
                ctx.emit(("mergedDuplicates", k), CODE.MERGE_SELF, id=own)
            else:
                kept_duplicates.append((k, dup))
                ctx.expect_in_set(
                    ("mergedDuplicates", k), dup, CODE.MERGE_TARGET_MISSING, _RESOURCE)
    if kept_into is not None or kept_duplicates:
        ctx.keep(_MERGE, (kept_into, kept_duplicates))


#: the merge links an issue keeps for merge_reciprocal: (mergedInto, [(index, duplicate)])
_MERGE = "issue.merge"


@set_rule(_RESOURCE)
def merge_reciprocal(ctx: SetContext) -> None:
    """/req/issues/merge-reciprocal: both issues of a merge name each other, when both are in
    the set (an issue outside it is merge-target-missing's finding)."""
    into_of: dict[str, str | None] = {}
    listed: dict[str, set[str]] = {}
    for member in ctx.members:
        kept = member.facts.get(_MERGE)
        if member.id is None or member.resource_type != _RESOURCE:
            continue
        into, duplicates = kept if kept is not None else (None, [])
        into_of[member.id] = into
        listed[member.id] = {dup for _, dup in duplicates}
    for index, member in enumerate(ctx.members):
        kept = member.facts.get(_MERGE)
        if kept is None or member.id is None or member.resource_type != _RESOURCE:
            continue
        into, duplicates = kept
        if into is not None and ctx.exists(_RESOURCE, into) and (
                member.id not in listed.get(into, ())):
            ctx.emit(index, ("mergedInto",), CODE.MERGE_NOT_RECIPROCAL, id=member.id,
                     member="mergedInto", other=into, otherMember="mergedDuplicates")
        for k, dup in duplicates:
            if ctx.exists(_RESOURCE, dup) and into_of.get(dup) != member.id:
                ctx.emit(index, ("mergedDuplicates", k), CODE.MERGE_NOT_RECIPROCAL,
                         id=member.id, member="mergedDuplicates", other=dup,
                         otherMember="mergedInto")


@rule(_RESOURCE)
def follow_up_assignment(doc: Document, ctx: Context) -> None:
    """/req/indicators/follow-up-assignment: a follow-up judges a lead assignment of its issue,
    so that assessment credits the reporter's verdict to the right department."""
    follow_ups, assignments = doc.get("followUps"), doc.get("assignments")
    if not isinstance(follow_ups, list):
        return
    leads = {a.get("id") for a in assignments if isinstance(a, dict) and a.get("role") == "lead"
             } if isinstance(assignments, list) else set()
    for j, entry in enumerate(follow_ups):
        named = entry.get("assignmentId") if isinstance(entry, dict) else None
        if isinstance(named, str) and named not in leads:
            ctx.emit(("followUps", j, "assignmentId"), "indicators.follow-up-assignment-unknown",
                     followUp=_text(entry.get("id")), assignment=named)
