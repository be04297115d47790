"""Cases: each lead assignment of an issue, with the facts ``indicators.json`` names.

Every fact is read from the issue as the standard records it; the profile contributes the
response time limits and the working-day calendar.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .._moments import moment
from ..profiles import Calendar

if TYPE_CHECKING:
    from ..profiles import Profile

__all__ = ["DEFAULT_CALENDAR", "RESOURCE_TYPE", "Case", "cases"]

#: the resource type whose documents the facts are read from
RESOURCE_TYPE = "Issue"
#: the calendar without a city profile: Saturday and Sunday off, months in UTC+8
DEFAULT_CALENDAR = Calendar()


@dataclass(frozen=True, slots=True)
class Case:
    """One lead assignment: where it counts, when, its facts, and what excludes it."""

    issue: str
    assignment: str
    dimensions: Mapping[str, str]
    moments: Mapping[str, datetime]
    facts: Mapping[str, Any]
    #: indicator ids it is excluded from; ``None`` inside means every indicator
    excluded: frozenset[str | None]

    def excluded_from(self, indicator: str) -> bool:
        return None in self.excluded or indicator in self.excluded




def _working_days(start: datetime, end: datetime, calendar: Calendar) -> int:
    first = start.astimezone(calendar.offset).date()
    last = end.astimezone(calendar.offset).date()
    days, day = 0, first
    while day < last:
        day += timedelta(days=1)
        days += calendar.is_working_day(day)
    return days


def _response_due(issue: Mapping[str, Any], assigned: datetime,
                  profile: Profile | None) -> datetime | None:
    if profile is not None:
        limit = profile.time_limit(str(issue.get("category")), str(issue.get("urgency")),
                                   "response")
        if limit is not None:
            try:
                return profile.calendar.add(assigned, limit)
            except ValueError:  # due after the year 9999: no claim can be late
                return None
    stated = moment((issue.get("deadlines") or {}).get("responseDue"))
    return None if stated is None else max(stated, assigned)


def _judging(follow_ups: list[tuple[datetime, Mapping[str, Any]]], assignment: str,
             completions: list[tuple[datetime, str]]) -> tuple[datetime, Mapping[str, Any]] | None:
    """The latest follow-up judging ``assignment``: one naming it, or an unlinked one whose
    most recent lead completion before it is this assignment's."""
    best: tuple[datetime, Mapping[str, Any]] | None = None
    for at, entry in follow_ups:
        named = entry.get("assignmentId")
        if named is None:
            before = [c for c in completions if c[0] <= at]
            named = max(before)[1] if before else None
        if named == assignment and (best is None or at >= best[0]):
            best = (at, entry)
    return best


def _reassigned(issue: Mapping[str, Any], task: Mapping[str, Any]) -> datetime | None:
    """When ``task`` was reassigned away: the reassign event whose ``details.from`` names it,
    or without one the time the task its ``reassignedTo`` names was given."""
    ident = task.get("id")
    events = [at for h in issue.get("history") or () if isinstance(h, Mapping)
              and h.get("action") == "reassign" and isinstance(h.get("details"), Mapping)
              and h["details"].get("from") == ident and (at := moment(h.get("at"))) is not None]
    if events:
        return min(events)
    successor = task.get("reassignedTo")
    if successor is None:
        return None
    for other in issue.get("assignments") or ():
        if isinstance(other, Mapping) and other.get("id") == successor:
            return moment(other.get("assignedAt"))
    return None


def cases(issue: Mapping[str, Any], profile: Profile | None = None) -> Iterator[Case]:
    """The cases of one issue document; documents of other types have none."""
    if not isinstance(issue, Mapping) or issue.get("resourceType") != RESOURCE_TYPE:
        return
    calendar = profile.calendar if profile is not None else DEFAULT_CALENDAR
    leads = [a for a in issue.get("assignments") or () if isinstance(a, Mapping)
             and a.get("role") == "lead" and moment(a.get("assignedAt")) is not None]
    if not leads:
        return
    deadlines = issue.get("deadlines") or {}
    extensions = [(at, e) for e in deadlines.get("extensions") or ()
                  if isinstance(e, Mapping) and (at := moment(e.get("at"))) is not None]
    reopens = [at for h in issue.get("history") or () if isinstance(h, Mapping)
               and h.get("action") == "reopen" and (at := moment(h.get("at"))) is not None]
    follow_ups = [(at, f) for f in issue.get("followUps") or ()
                  if isinstance(f, Mapping) and (at := moment(f.get("at"))) is not None]
    completions = [(at, str(a.get("id"))) for a in leads
                   if (at := moment(a.get("completedAt"))) is not None]
    exclusions = [x for x in issue.get("assessmentExclusions") or () if isinstance(x, Mapping)]
    common = {"community": str(issue.get("communityDivisionCode", "")),
              "category": str(issue.get("category", "")), "city": "city"}
    for a in leads:
        ident = str(a.get("id"))
        assigned = moment(a.get("assignedAt"))
        assert assigned is not None
        accepted, returned = moment(a.get("acceptedAt")), moment(a.get("returnedAt"))
        completed_at = moment(a.get("completedAt"))
        status = a.get("status")
        completed = status == "completed" and completed_at is not None
        # the task ends at the first of its completion, return, reassignment and cancellation:
        # an extension approved later is the next department's, not this one's
        ended = min((t for t in (completed_at, returned, moment(a.get("cancelledAt")),
                                 _reassigned(issue, a)) if t is not None), default=None)
        granted = [(at, e) for at, e in extensions
                   if at >= assigned and (ended is None or at <= ended)]
        due = moment(a.get("dueAt")) or moment(deadlines.get("resolutionDue"))
        for _, e in granted:
            newer = moment(e.get("newDue"))
            if newer is not None and (due is None or newer > due):
                due = newer
        response_due = _response_due(issue, assigned, profile)
        judged = _judging(follow_ups, ident, completions)
        verdict: Mapping[str, Any] = judged[1] if judged else {}
        facts: dict[str, Any] = {
            "assigned": status != "cancelled",
            "claimed-on-time": accepted is not None
            and (response_due is None or accepted <= response_due),
            "returned": status == "returned" or returned is not None,
            "completed": completed,
            "completed-on-time": completed and completed_at is not None
            and (due is None or completed_at <= due),
            "extensions": len(granted),
            "reopened": completed_at is not None and any(at > completed_at for at in reopens),
            "reached": verdict.get("contactResult") == "reached" if judged else None,
            "perceived-resolution": verdict.get("perceivedResolution"),
            "rating": verdict.get("rating"),
            "handling-working-days": _working_days(assigned, completed_at, calendar)
            if completed and completed_at is not None else None,
        }
        moments = {k: v for k, v in (("assignedAt", assigned), ("acceptedAt", accepted),
                                     ("returnedAt", returned), ("completedAt", completed_at),
                                     ("followUpAt", judged[0] if judged else None))
                   if v is not None}
        excluded: set[str | None] = set()
        for x in exclusions:
            if x.get("assignmentId") not in (None, ident):
                continue
            named = x.get("indicators")
            excluded.update(named if isinstance(named, list) else [None])
        department = a.get("department") or {}
        yield Case(str(issue.get("id")), ident,
                   {"department": str(department.get("id", "")), **common}, moments, facts,
                   frozenset(excluded))
