"""Personal data over time: what a resident's erasure does to the records naming her, and how
long personal data is kept before the server clears it.

Both are read from the spec: :class:`ErasureReach` from ``privacy.json`` ``erasureReaches``
(/req/privacy/erasure-reaches-records), :class:`Retention` from the parameters of
/req/privacy/retention, which a city may shorten but never lengthen. They say *what* changes
in a document; the service writes the new versions, events and audit records.
"""

from __future__ import annotations

import copy
from calendar import isleap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import MINYEAR, date, datetime, timedelta
from typing import Any

from smartcommunity.pointers import nodes, resolve_pointer
from smartcommunity.specification import Spec

from ..settings import CST
from ..storage import utc_text

__all__ = ["ErasureReach", "Lapsed", "Retention", "day_after", "entered_status", "in_force",
           "left_since", "memberships_ended"]

RETENTION = "/req/privacy/retention"


class ErasureReach:
    """The members of other records that a resident's erasure clears."""

    def __init__(self, spec: Spec) -> None:
        reach = spec.privacy.get("erasureReaches") or {}
        self.person_type = str(spec.privacy["recordAccess"]["personType"])
        self.resource_types = tuple(reach.get("resourceTypes") or ())
        self.reference_members = tuple(reach.get("referenceMembers") or ())
        self.person_members = tuple(reach.get("personMembers") or ())
        self.holder_members: Mapping[str, tuple[str, ...]] = {
            member: tuple(lost) for member, lost in (reach.get("holderMembers") or {}).items()}
        self.reporter: Mapping[str, Mapping[str, Any]] = reach.get("reporter") or {}

    def _is_her(self, node: Any, rid: str) -> bool:
        return (isinstance(node, dict) and node.get("id") == rid
                and node.get("resourceType") == self.person_type)

    def apply(self, doc: Mapping[str, Any], rid: str) -> dict[str, Any] | None:
        """``doc`` without what it holds of resident ``rid``, or None when it holds nothing."""
        out = copy.deepcopy(dict(doc))
        changed = False
        reporter = self.reporter.get(str(doc.get("resourceType")))
        if reporter is not None:
            named = next((v for p in reporter.get("namedBy", ())
                          if (v := _at(out, p)) is not None), None)
            if named == rid:
                for member in reporter.get("members", ()):
                    parent, _, name = str(member).rpartition("/")
                    holder = _at(out, parent) if parent else out
                    if isinstance(holder, dict) and name in holder:
                        del holder[name]
                        changed = True

        for node in nodes(out):
            if not isinstance(node, dict):
                continue
            if self._is_her(node, rid):
                for member in self.reference_members:
                    changed |= node.pop(member, None) is not None
            if self._is_her(node.get("resident"), rid):
                for member in self.person_members:
                    changed |= node.pop(member, None) is not None
            # What stands beside her person object (a party's premises) identifies her too.
            for member, lost in self.holder_members.items():
                held = node.get(member)
                if isinstance(held, dict) and self._is_her(held.get("resident"), rid):
                    for name in lost:
                        changed |= node.pop(name, None) is not None
        return out if changed else None


def _at(doc: Any, where: str) -> Any:
    """The value at JSON Pointer ``where`` in ``doc``, or None when there is none."""
    try:
        return resolve_pointer(doc, where)
    except LookupError:
        return None


#: a half-open span [start, end) of instants; start None: from the first
Span = tuple[datetime | None, datetime]


class Lapsed:
    """The instants from which a period of some years had ended before a moment
    (/req/privacy/retention).

    A period of N years from an instant ends at the same date and time in China Standard Time
    N years later, on 28 February when it began on 29 February and that year has none. So the
    instants it has lapsed from are not all those before one cutoff: on 28 February of a common
    year, the period from the morning of 29 February of a leap year has ended and the period
    from the evening of the 28th before it has not. They are one span, or two on that day.
    """

    __slots__ = ("_texts", "spans")

    def __init__(self, now: datetime, years: int) -> None:
        local = now.astimezone(CST)
        year = local.year - years
        spans: list[Span] = []
        if year < MINYEAR:
            pass  # nothing is that old
        elif (local.month, local.day) == (2, 29) and not isleap(year):
            # That year has no 29 February: its whole February has lapsed.
            spans.append((None, datetime(year, 3, 1, tzinfo=CST)))
        else:
            end = local.replace(year=year)
            spans.append((None, end))
            if (local.month, local.day) == (2, 28) and isleap(year) and not isleap(local.year):
                # From 29 February the period ended today at the same time.
                spans.append((datetime(year, 2, 29, tzinfo=CST), end + timedelta(days=1)))
        self.spans = tuple(spans)
        self._texts = tuple(("" if start is None else utc_text(start.isoformat()),
                             utc_text(end.isoformat())) for start, end in self.spans)

    def __contains__(self, timestamp: str) -> bool:
        """Whether the period from the RFC 3339 ``timestamp`` had ended (False when it is no
        timestamp: its period cannot be told)."""
        try:
            at = utc_text(timestamp)
        except ValueError:
            return False
        return any(start <= at < end for start, end in self._texts)


def day_after(day: str) -> str | None:
    """The first instant after the date ``day`` in China Standard Time, as a timestamp (None
    when there is none): when a membership whose ``until`` is ``day`` ended."""
    try:
        after = date.fromisoformat(day) + timedelta(days=1)
    except (ValueError, OverflowError):
        return None
    return datetime(after.year, after.month, after.day, tzinfo=CST).isoformat()


@dataclass(frozen=True, slots=True)
class Retention:
    """The periods a server applies (/req/privacy/retention)."""

    closed_record_years: Mapping[str, int]
    left_resident_years: int
    idempotency_hours: int
    audit_log_years: int

    @classmethod
    def of(cls, spec: Spec, shorter: Mapping[str, Any] | None = None) -> Retention:
        """The spec's maxima, or ``shorter`` periods a city chose (as ``GET /conformance``
        declares them); ValueError for a period longer than the spec allows or unknown."""
        maxima = {name: spec.parameter(RETENTION, name) for name in
                  ("closedRecordYears", "leftResidentYears", "idempotencyHours",
                   "auditLogYears")}
        chosen = copy.deepcopy(maxima)
        for name, value in (shorter or {}).items():
            if name not in maxima:
                raise ValueError(f"unknown retention period {name!r}; expected {sorted(maxima)}")
            if isinstance(maxima[name], dict):
                if not isinstance(value, Mapping) or set(value) - set(maxima[name]):
                    raise ValueError(f"retention {name} takes years per resource type of "
                                     f"{sorted(maxima[name])}")
                chosen[name].update(value)
            else:
                chosen[name] = value
        for name, value in chosen.items():
            pairs = value.items() if isinstance(value, dict) else [(None, value)]
            for rt, figure in pairs:
                top = maxima[name][rt] if rt is not None else maxima[name]
                if isinstance(figure, bool) or not isinstance(figure, int) or not (
                        0 <= figure <= top):
                    where = f"{name}.{rt}" if rt else name
                    raise ValueError(f"retention {where} must be a whole number from 0 to "
                                     f"{top} (/req/privacy/retention), not {figure!r}")
        return cls(dict(chosen["closedRecordYears"]), int(chosen["leftResidentYears"]),
                   int(chosen["idempotencyHours"]), int(chosen["auditLogYears"]))

    def declaration(self) -> dict[str, Any]:
        """The periods as ``GET /conformance`` declares them (``retention``)."""
        return {"closedRecordYears": dict(self.closed_record_years),
                "leftResidentYears": self.left_resident_years,
                "idempotencyHours": self.idempotency_hours,
                "auditLogYears": self.audit_log_years}

    @property
    def idempotency_period(self) -> timedelta:
        return timedelta(hours=self.idempotency_hours)

    def closed_lapsed(self, rtype: str, now: datetime) -> Lapsed | None:
        """When a record of ``rtype`` that entered a terminal status then is cleared at
        ``now``; None when the type has no period."""
        years = self.closed_record_years.get(rtype)
        return None if years is None else Lapsed(now, years)

    def left_lapsed(self, now: datetime) -> Lapsed:
        """When a resident whose memberships had all ended then is erased at ``now``."""
        return Lapsed(now, self.left_resident_years)

    def audit_lapsed(self, now: datetime) -> Lapsed:
        """When an audit record written then is deleted at ``now``."""
        return Lapsed(now, self.audit_log_years)


def entered_status(doc: Mapping[str, Any]) -> str | None:
    """When ``doc`` entered its current status: the time of the history event that led to it
    (the last change of status), or None without a history."""
    entered: str | None = None
    status: Any = None
    for event in doc.get("history") or ():
        if not isinstance(event, Mapping):
            continue
        to = event.get("toStatus", status)
        if to != status:
            entered = str(event.get("at")) if event.get("at") is not None else entered
        status = to
    return entered


def in_force(doc: Mapping[str, Any]) -> bool:
    """Whether a community membership of the resident ``doc`` is in force: it has no
    ``until``, or one that is no date (its end cannot be told)."""
    return any(isinstance(m, Mapping) and _ends(m) is None for m in doc.get("memberships") or ())


def memberships_ended(doc: Mapping[str, Any],
                      earlier: Iterable[tuple[str, Mapping[str, Any]]] = ()) -> str | None:
    """When every community membership of the resident ``doc`` had ended, as fixed-width UTC
    text; None while one is in force or when it holds and held none (/req/privacy/retention).

    A membership the record holds ends at the end of its ``until`` day. ``earlier`` are the
    record's stored states with the time each was written, in the order written: a community
    whose every membership a write removed, and which the record holds none of now, ended
    when that write was made, or at the end of the ``until`` day it had then when that came
    first. Memberships are told apart by their community, so a membership edited stays the
    same one and a community joined again is no longer removed.
    """
    if in_force(doc):
        return None
    ends = [_ends(m) for m in doc.get("memberships") or () if isinstance(m, Mapping)]
    held = _by_community(doc)
    removed: dict[str, str] = {}
    before: dict[str, list[Mapping[str, Any]]] = {}
    for written, state in earlier:
        now = _by_community(state)
        try:
            at = utc_text(written)
        except ValueError:
            at = None
        for community, memberships in before.items():
            if community not in now and at is not None:
                removed[community] = min(at, max(_ends(m) or at for m in memberships))
        for community in now:
            removed.pop(community, None)
        before = now
    ends += [end for community, end in removed.items() if community not in held]
    found = [end for end in ends if end is not None]
    return max(found) if found else None


def left_since(doc: Mapping[str, Any],
               earlier: Iterable[tuple[str, Mapping[str, Any]]] = ()) -> str | None:
    """When the leftResidentYears period of the resident ``doc`` counts from, as fixed-width
    UTC text; None while a membership is in force (/req/privacy/retention).

    That is when every membership ended (:func:`memberships_ended`, with ``earlier`` as there).
    A record that holds no membership and none of whose stored states ``earlier`` held one
    counts from its creation: ``meta.createdAt``, or, without one that is a timestamp, when
    its first state was written. Its updates do not start the period again, as they do not
    for a resident who left; without this the record would never come due.
    """
    states = list(earlier)
    ended = memberships_ended(doc, states)
    if ended is not None or in_force(doc):
        return ended
    if any(_holds(state) for _, state in states) or _holds(doc):
        return None  # held one whose end cannot be told (no write time to read)
    meta = doc.get("meta")
    meta = meta if isinstance(meta, Mapping) else {}
    for candidate in (meta.get("createdAt"), *(written for written, _ in states[:1]),
                      meta.get("lastUpdated")):
        if isinstance(candidate, str):
            try:
                return utc_text(candidate)
            except ValueError:
                continue
    return None


def _holds(doc: Any) -> bool:
    """Whether the resident record ``doc`` holds a community membership."""
    memberships = doc.get("memberships") if isinstance(doc, Mapping) else None
    return isinstance(memberships, list) and bool(memberships)


def _ends(membership: Mapping[str, Any]) -> str | None:
    """When ``membership`` ends, as fixed-width UTC text: the end of its ``until`` day in
    China Standard Time; None without one that is a date."""
    until = membership.get("until")
    end = day_after(until) if isinstance(until, str) else None
    return None if end is None else utc_text(end)


def _by_community(doc: Any) -> dict[str, list[Mapping[str, Any]]]:
    """The memberships of the resident record ``doc`` by their community."""
    out: dict[str, list[Mapping[str, Any]]] = {}
    memberships = doc.get("memberships") if isinstance(doc, Mapping) else None
    for membership in memberships if isinstance(memberships, list) else ():
        if isinstance(membership, Mapping) and isinstance(membership.get("community"), str):
            out.setdefault(membership["community"], []).append(membership)
    return out
