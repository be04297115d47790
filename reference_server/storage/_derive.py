"""Columns and filter terms derived from a document when it is written.

They decide who may see a resource (its communities and assigned departments) and make the
filters of the OpenAPI lists cheap; the document itself is stored untouched beside them. Which
members fill them is the resource type's :class:`~._indexes.Index`; this module only applies it.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from smartcommunity.validation import values_at

from ._indexes import (
    COMMUNITY,
    DEPARTMENT,
    LATITUDE,
    LONGITUDE,
    NAMED,
    PUBLISHED,
    PUBLISHED_VALUE,
    TERM_LENGTH,
    Path,
    external_ref_key,
    index_of,
    point_terms,
)
from ._person import person_facts
from ._privacy import is_published, named_residents, published_area
from ._rows import joined, split
from ._tables import resources

# ``joined`` and ``split`` live with the rows; they stay importable from here as before.
__all__ = ["COLUMNS", "Derived", "Term", "columns", "derive", "joined", "split", "utc_text"]

Term = tuple[str, str, str | None]  # kind, value, until (grid memberships only)


@dataclass(frozen=True, slots=True)
class Derived:
    """What the server indexes about one document (see :func:`derive`)."""

    status: str | None
    community: str | None
    updated_at: str
    submitted_at: str | None
    category: str | None
    request_type: str | None
    intake_channel: str | None
    urgency: str | None
    communities: tuple[str, ...]
    departments: tuple[str, ...]
    terms: tuple[Term, ...]
    #: what decides how a person's record is served (see ``_person``); None for other types
    person_facts: str | None = None


#: the columns an index may fill from a member, and which of them hold times
_COLUMNS = frozenset({"submitted_at", "category", "request_type", "intake_channel", "urgency"})
_TIMES = frozenset({"submitted_at"})


#: the ``resources`` columns that hold what :class:`Derived` says, named alike
COLUMNS = tuple(f.name for f in fields(Derived) if f.name in resources.c)


_VALUES = operator.attrgetter(*COLUMNS)


def columns(d: Derived) -> tuple[Any, ...]:
    """The values of :data:`COLUMNS` for a row indexed as ``d`` (lists :func:`joined`)."""
    return tuple(joined(v) if v.__class__ is tuple else v for v in _VALUES(d))


def utc_text(value: str) -> str:
    """An RFC 3339 timestamp as fixed-width UTC text, so that text order is time order.

    Every timestamp RFC 3339 can write has one, also an instant a datetime cannot hold in UTC
    (/req/core/timestamp-offset): one after year 9999 (9999-12-31T23:59:59-08:00) counts its
    hours on past 24 of 31 December 9999, one before year 1 falls on 31 December of year 0.
    ValueError only for text that is no timestamp.
    """
    text = value.replace("z", "Z").replace("Z", "+00:00").replace("t", "T")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        # RFC 3339 allows a leap second (:60), which datetime does not; it sorts as :59.
        moment = datetime.fromisoformat(text[:17] + "59" + text[19:])
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        m = moment.astimezone(UTC)
    except OverflowError:
        return _beyond_the_calendar(moment)
    # Formatted by hand: strftime cost more than the parse.
    return (f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:"
            f"{m.second:02d}.{m.microsecond:06d}Z")


def _beyond_the_calendar(moment: datetime) -> str:
    """:func:`utc_text` of an instant within a day after year 9999 or before year 1 in UTC
    (an offset is less than a day): the same instant a day earlier or later, written on the
    day next to it, so that text order stays time order at both ends."""
    offset = moment.utcoffset() or timedelta(0)
    local = moment.replace(tzinfo=None)
    if offset < timedelta(0):
        m = local - timedelta(days=1) - offset  # on 31 December 9999, its hours 24 to 47
        day, hour = "9999-12-31", m.hour + 24
    else:
        m = local + timedelta(days=1) - offset  # on 1 January of year 1, a day before
        day, hour = "0000-12-31", m.hour
    return f"{day}T{hour:02d}:{m.minute:02d}:{m.second:02d}.{m.microsecond:06d}Z"


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _strings(doc: Mapping[str, Any], path: Path) -> list[str]:
    """The non-empty strings at ``path``."""
    if None in path:
        return [v for _, v in values_at(doc, path) if isinstance(v, str) and v]
    found = _member(doc, path)
    return [found] if found else []


def _member(doc: Mapping[str, Any], path: Path) -> str | None:
    """The non-empty string at ``path``, a path through members only (a plain walk, cheaper
    than the general one on every write)."""
    node: Any = doc
    for step in path:
        node = node.get(step) if isinstance(node, dict) else None
    return node if isinstance(node, str) and node else None


def _is_community(code: Any) -> bool:
    return isinstance(code, str) and len(code) == 12 and code.isdigit() and not code.endswith("000")


def derive(doc: Mapping[str, Any], previous_communities: Iterable[str] = ()) -> Derived:
    """What the server indexes about ``doc``.

    ``previous_communities`` keep an erased resident (which names no community any more) in
    the scope of the community that held it.
    """
    index = index_of(str(doc.get("resourceType")))
    meta = doc.get("meta") if isinstance(doc.get("meta"), Mapping) else {}
    assert isinstance(meta, Mapping)
    # Stored documents always carry lastUpdated; a document being checked may not yet.
    last = meta.get("lastUpdated")
    updated = utc_text(last) if isinstance(last, str) else ""
    terms: dict[tuple[str, str], str | None] = {}

    def term(kind: str, value: Any, until: str | None = None) -> None:
        if isinstance(value, str) and value:
            key = (kind, value[:TERM_LENGTH])
            if key in terms:
                old = terms[key]
                # The longest membership of a grid decides whether it is in force.
                until = None if old is None or until is None else max(old, until)
            terms[key] = until

    communities = list(_strings(doc, index.community)) if index.community else []
    if not communities and index.keeps_communities:
        communities = list(previous_communities)
        if not communities and index.community_fallback:
            named = [v for _, v in values_at(doc, index.community_fallback)]
            if named and _is_community(named[0]):
                communities = [named[0]]
    community = None
    if index.many_communities:
        for c in communities:
            term(COMMUNITY, c)
    elif communities:
        community = communities[0]
    departments = list(_strings(doc, index.departments)) if index.departments else []
    for d in departments:
        term(DEPARTMENT, d)
    area: str | None = None  # the level of place published down to, read once
    for terms_of in index.terms:
        if terms_of.area is not None:
            area = area or published_area(doc) or ""
            if area != terms_of.area:
                continue
        if terms_of.until is None and terms_of.joins is None:
            for value in _strings(doc, terms_of.path):
                term(terms_of.kind, value)
            continue
        # The value and the day it ends (or the member it joins) are members of one object.
        *parent, member = terms_of.path
        for _, item in values_at(doc, tuple(parent)):
            if not isinstance(item, Mapping) or not isinstance(member, str):
                continue
            if terms_of.joins is not None:
                first, second = item.get(member), item.get(terms_of.joins)
                if isinstance(first, str) and isinstance(second, str):
                    term(terms_of.kind, external_ref_key(first, second))
            else:
                term(terms_of.kind, item.get(member), _str(item.get(terms_of.until)))
    for rid in named_residents(doc):
        term(NAMED, rid)
    if is_published(doc):
        term(PUBLISHED, PUBLISHED_VALUE)
    if index.point is not None:
        at = next(values_at(doc, index.point), ((), None))[1]
        if isinstance(at, Mapping):
            lon, lat, crs = at.get("longitude"), at.get("latitude"), at.get("crs")
            if isinstance(lon, int | float) and isinstance(lat, int | float) \
                    and isinstance(crs, str):
                lon_term, lat_term = point_terms(crs, float(lon), float(lat))
                term(LONGITUDE, lon_term)
                term(LATITUDE, lat_term)
    columns: dict[str, str | None] = dict.fromkeys(_COLUMNS)
    for column, path in index.columns.items():
        found = _member(doc, path)
        columns[column] = utc_text(found) if found and column in _TIMES else found
    return Derived(
        status=_str(doc.get("status")), community=community, updated_at=updated,
        submitted_at=columns["submitted_at"], category=columns["category"],
        request_type=columns["request_type"], intake_channel=columns["intake_channel"],
        urgency=columns["urgency"],
        communities=tuple(dict.fromkeys(communities)),
        departments=tuple(dict.fromkeys(departments)),
        terms=tuple((k, v, u) for (k, v), u in terms.items()),
        person_facts=person_facts(doc),
    )

