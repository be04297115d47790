"""List filters tested against a record as its reader receives it.

The store's index holds what each stored document says, and a list's SQL selects by it. A
reader may receive less: redaction for its audience, the level of place an issue is published
down to, the minimal form of a restricted record. A filter must select only by what the reader
receives, so the service tests each row's filters once more
(/req/privacy/filter-what-is-seen) against the document it is about
to serve; :func:`filter_paths` names the members a list selects on, so that a filter on a
member a reader's audience never receives is answered without reading a row.

Both read the same :class:`~._indexes.Index` as :func:`~._derive.derive`: a filter matches
the served document exactly when writing that document would have given it the term.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from smartcommunity.validation import values_at

from ._derive import utc_text
from ._indexes import (
    CATEGORY,
    CONSULTATION,
    GRID,
    ISSUE,
    PSEUDONYM,
    TERM_LENGTH,
    Index,
    Path,
    Terms,
    external_ref_key,
    index_of,
    point_terms,
)
from ._pages import ListQuery

__all__ = ["filter_paths", "selects"]

#: list filters on a kind of term, by the query's field (``grid`` and ``externalRef`` apart)
_TERM_FIELDS = {"pseudonym": PSEUDONYM, "content": CATEGORY, "issue": ISSUE,
                "consultation": CONSULTATION}
#: list filters on a column an index fills from a member, by the query's field
_COLUMN_FIELDS = {"category": "category", "request_type": "request_type",
                  "intake_channel": "intake_channel", "urgency": "urgency",
                  "submitted_from": "submitted_at", "submitted_to": "submitted_at"}


def filter_paths(rtype: str, query: ListQuery) -> list[Path]:
    """The members of ``rtype``'s documents the filters of ``query`` select on (``community``
    is scope, not a member: /req/privacy/community-isolation)."""
    index = index_of(rtype)
    paths: list[Path] = []
    for name, kind in (*_TERM_FIELDS.items(), ("grid", GRID), ("external_ref", "")):
        if getattr(query, name):
            paths += [_parent(t) if name == "external_ref" else t.path
                      for t in _terms(index, kind or None)]
    for name, column in _COLUMN_FIELDS.items():
        if getattr(query, name) and column in index.columns:
            paths.append(index.columns[column])
    if query.department and index.departments:
        paths.append(index.departments)
    if query.bbox is not None and index.point is not None:
        paths.append(index.point)
    return paths


def selects(rtype: str, query: ListQuery, doc: Mapping[str, Any]) -> bool:
    """Whether the filters of ``query`` select ``doc``, a record of ``rtype`` as its reader
    receives it: what the SQL asked of the stored record, asked of the served one."""
    index = index_of(rtype)
    if query.status and doc.get("status") != query.status:
        return False
    if query.updated_since and not _updated_since(doc, query.updated_since):
        return False
    for name, kind in _TERM_FIELDS.items():
        wanted = getattr(query, name)
        if wanted and not any(wanted[:TERM_LENGTH] in _strings(doc, t.path)
                              for t in _terms(index, kind)):
            return False
    if query.grid and not any(_in_grid(doc, t, query.grid, query.today or "")
                              for t in _terms(index, GRID)):
        return False
    if query.external_ref and not any(query.external_ref in _joined(doc, t)
                                      for t in _terms(index, None)):
        return False
    if query.department and not (index.departments and query.department[:TERM_LENGTH] in
                                 _strings(doc, index.departments)):
        return False
    if not _columns_match(index, query, doc):
        return False
    return query.bbox is None or _in_box(index, query.bbox, doc)


def _terms(index: Index, kind: str | None) -> list[Terms]:
    """The index's terms of ``kind`` (None: those joining two members, external references),
    leaving out those written only for a level of place published (the reader receives the
    member itself or not)."""
    if kind is None:
        return [t for t in index.terms if t.joins is not None]
    return [t for t in index.terms if t.kind == kind and t.area is None]


def _parent(terms: Terms) -> Path:
    return terms.path[:-1]


def _strings(doc: Mapping[str, Any], path: Path) -> list[str]:
    return [v[:TERM_LENGTH] for _, v in values_at(doc, path) if isinstance(v, str) and v]


def _in_grid(doc: Mapping[str, Any], terms: Terms, grid: str, today: str) -> bool:
    if terms.until is None:
        return grid in _strings(doc, terms.path)
    # A membership that has ended no longer puts a resident in the grid.
    *parent, member = terms.path
    for _, item in values_at(doc, tuple(parent)):
        if isinstance(item, Mapping) and item.get(member) == grid:
            until = item.get(terms.until)
            if not isinstance(until, str) or until >= today:
                return True
    return False


def _joined(doc: Mapping[str, Any], terms: Terms) -> list[str]:
    *parent, member = terms.path
    found = []
    for _, item in values_at(doc, tuple(parent)):
        if isinstance(item, Mapping) and isinstance(member, str) and terms.joins:
            first, second = item.get(member), item.get(terms.joins)
            if isinstance(first, str) and isinstance(second, str):
                found.append(external_ref_key(first, second))
    return found


def _member(doc: Mapping[str, Any], path: Path) -> str | None:
    node: Any = doc
    for step in path:
        node = node.get(step) if isinstance(node, Mapping) else None
    return node if isinstance(node, str) and node else None


def _updated_since(doc: Mapping[str, Any], since: str) -> bool:
    meta = doc.get("meta")
    last = meta.get("lastUpdated") if isinstance(meta, Mapping) else None
    try:
        return isinstance(last, str) and utc_text(last) >= since
    except ValueError:
        return False


def _columns_match(index: Index, query: ListQuery, doc: Mapping[str, Any]) -> bool:
    for name, column in _COLUMN_FIELDS.items():
        wanted = getattr(query, name)
        if not wanted or column not in index.columns:
            continue
        value = _member(doc, index.columns[column])
        if value is None:
            return False
        if column == "submitted_at":
            try:
                value = utc_text(value)
            except ValueError:
                return False
            if (value < wanted) if name == "submitted_from" else (value > wanted):
                return False
        elif name == "category":
            # the code itself or one below it
            if value != wanted and not value.startswith(wanted + "."):
                return False
        elif value != wanted:
            return False
    return True


def _in_box(index: Index, box: tuple[tuple[str, str], tuple[str, str]],
            doc: Mapping[str, Any]) -> bool:
    if index.point is None:
        return False
    at = next(values_at(doc, index.point), ((), None))[1]
    if not isinstance(at, Mapping):
        return False
    lon, lat, crs = at.get("longitude"), at.get("latitude"), at.get("crs")
    if not (isinstance(lon, int | float) and isinstance(lat, int | float)
            and isinstance(crs, str)):
        return False
    terms = point_terms(crs, float(lon), float(lat))
    return all(low <= term <= high for term, (low, high) in zip(terms, box, strict=True))
