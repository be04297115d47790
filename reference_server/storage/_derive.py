"""Columns and filter terms derived from a document when it is written.

They decide who may see a resource (its communities and assigned departments) and make the
filters of the OpenAPI lists cheap; the document itself is stored untouched beside them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

Term = tuple[str, str, str | None]  # kind, value, until (grid memberships only)


@dataclass(frozen=True, slots=True)
class Derived:
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


def utc_text(value: str) -> str:
    """An RFC 3339 timestamp as fixed-width UTC text, so that text order is time order."""
    text = value.replace("z", "Z").replace("Z", "+00:00").replace("t", "T")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        # RFC 3339 allows a leap second (:60), which datetime does not; it sorts as :59.
        moment = datetime.fromisoformat(text[:17] + "59" + text[19:])
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    m = moment.astimezone(UTC)
    # Formatted by hand: strftime cost more than the parse.
    return (f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:"
            f"{m.second:02d}.{m.microsecond:06d}Z")


def joined(values: Iterable[str]) -> str:
    """``|a|b|``: a list a LIKE '%|a|%' can search."""
    items = list(dict.fromkeys(values))
    return "|" + "|".join(items) + "|" if items else "|"


def split(value: str | None) -> tuple[str, ...]:
    return tuple(v for v in (value or "").split("|") if v)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _is_community(code: Any) -> bool:
    return isinstance(code, str) and len(code) == 12 and code.isdigit() and not code.endswith("000")


def derive(doc: Mapping[str, Any], previous_communities: Iterable[str] = ()) -> Derived:
    """What the server indexes about ``doc``.

    ``previous_communities`` keep an erased resident (which names no community any more) in
    the scope of the community that held it.
    """
    rt = doc.get("resourceType")
    meta = doc.get("meta") if isinstance(doc.get("meta"), Mapping) else {}
    assert isinstance(meta, Mapping)
    # Stored documents always carry lastUpdated; a document being checked may not yet.
    last = meta.get("lastUpdated")
    updated = utc_text(last) if isinstance(last, str) else ""
    terms: dict[tuple[str, str], str | None] = {}
    communities: list[str] = []
    departments: list[str] = []
    community = submitted = category = request_type = intake = urgency = None

    def term(kind: str, value: Any, until: str | None = None) -> None:
        if isinstance(value, str) and value:
            key = (kind, value[:160])
            if key in terms:
                old = terms[key]
                # The longest membership of a grid decides whether it is in force.
                until = None if old is None or until is None else max(old, until)
            terms[key] = until

    if rt == "Resident":
        for m in doc.get("memberships") or ():
            if isinstance(m, Mapping):
                if isinstance(m.get("community"), str):
                    communities.append(m["community"])
                    term("community", m["community"])
                term("grid", m.get("grid"), _str(m.get("until")))
        for d in doc.get("identityDocuments") or ():
            if isinstance(d, Mapping):
                term("pseudonym", d.get("pseudonym"))
        for p in doc.get("proxies") or ():
            if isinstance(p, Mapping):
                ref = p.get("resident")
                if isinstance(ref, Mapping):
                    term("proxy", ref.get("id"))
                actor = p.get("actor")
                if isinstance(actor, Mapping):
                    term("proxy-user", actor.get("userId"))
        if not communities:
            communities = list(previous_communities)
        if not communities:
            restriction = doc.get("restriction")
            decided = restriction.get("decidedBy") if isinstance(restriction, Mapping) else None
            if isinstance(decided, Mapping) and _is_community(decided.get("divisionCode")):
                communities = [str(decided["divisionCode"])]
        for c in communities:
            term("community", c)
    elif rt == "Issue":
        community = _str(doc.get("communityDivisionCode"))
        communities = [community] if community else []
        for a in doc.get("assignments") or ():
            if isinstance(a, Mapping) and isinstance(a.get("department"), Mapping):
                dept = a["department"].get("id")
                if isinstance(dept, str):
                    departments.append(dept)
                    term("department", dept)
        at = _str(doc.get("submittedAt"))
        submitted = utc_text(at) if at else None
        category = _str(doc.get("category"))
        request_type = _str(doc.get("requestType"))
        intake = _str(doc.get("intakeChannel"))
        urgency = _str(doc.get("urgency"))
    elif rt == "Consultation":
        community = _str(doc.get("divisionCode"))
        communities = [community] if community else []
        for c in doc.get("categories") or ():
            term("category", c)
        origin = doc.get("origin")
        if isinstance(origin, Mapping):
            for ref in origin.get("issues") or ():
                if isinstance(ref, Mapping):
                    term("issue", ref.get("id"))
    return Derived(
        status=_str(doc.get("status")), community=community, updated_at=updated,
        submitted_at=submitted, category=category, request_type=request_type,
        intake_channel=intake, urgency=urgency,
        communities=tuple(dict.fromkeys(communities)),
        departments=tuple(dict.fromkeys(departments)),
        terms=tuple((k, v, u) for (k, v), u in terms.items()),
    )
