"""Terms derived from the spec's privacy data, so that what it decides is found by index.

The residents a record names: a resident's erasure rewrites the records of the
``erasureReaches`` resource types that name her (/req/privacy/erasure-reaches-records). Where
a record can name her is data of the spec's ``privacy.json``: any reference to a record of
``personType`` (a ``resourceType`` and ``id`` pair, wherever it sits), and the members
``ownedBy`` and ``erasureReaches.reporter.namedBy`` point at. Every such id becomes a term
of the current version, and a ``named_ever`` row that a later version does not remove; the
erasure looks the resident up in the latter, so that a record which named her only in an
earlier state (in the feed) is rewritten too, instead of searching every stored document's
text.

Whether a record is published (``recordAccess.publication``): the audiences that read such a
resource type only once published list the published ones from the term index, instead of
reading every record to drop the unpublished (/req/privacy/issue-publication); and the level
of place it is published down to, so that their filters on a place select only what they are
given of it (/req/privacy/filter-what-is-seen).

The terms are written with the records. The 1.0 store has no deployed database to carry over,
so no migration derives them for rows written before: a store is loaded afresh. The
``named_ever`` rows of a store written before them are derived from its change feed by
migration 0004.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from smartcommunity.specification import load_spec

__all__ = ["is_published", "named_residents", "published_area"]

Step = str | int


@dataclass(frozen=True, slots=True)
class _Naming:
    """What ``privacy.json`` says about where records name residents and are published."""

    person_type: str
    #: resource types whose records an erasure reaches; the others carry no such term
    resource_types: frozenset[str]
    #: resource type → pointers (as steps) whose value names a resident
    pointers: Mapping[str, tuple[tuple[Step, ...], ...]]
    #: resource type → where its publication decision is (true: published)
    published: Mapping[str, tuple[Step, ...]]
    #: resource type → where the level of place it is published down to is, and the level
    #: when it names none
    area: Mapping[str, tuple[tuple[Step, ...], str | None]]


def _steps(pointer: str) -> tuple[Step, ...]:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    return tuple(int(p) if p.isdigit() else p for p in parts)


@functools.cache
def _naming() -> _Naming:
    # The version the server stores (1.0 is the only one); a drafting tree is honoured by
    # load_spec through its environment variable.
    privacy = load_spec().privacy
    record = privacy["recordAccess"]
    reach = privacy.get("erasureReaches") or {}
    pointers: dict[str, list[tuple[Step, ...]]] = {}
    for rtype, named in (record.get("ownedBy") or {}).items():
        pointers.setdefault(rtype, []).extend(_steps(p) for p in named)
    for rtype, rule in (reach.get("reporter") or {}).items():
        pointers.setdefault(rtype, []).extend(_steps(p) for p in rule.get("namedBy", ()))
    publication = {rt: _steps(str(rule["published"]))
                   for rt, rule in (record.get("publication") or {}).items()
                   if isinstance(rule, Mapping) and "published" in rule}
    area = {rt: (_steps(str(rule["area"])), rule.get("defaultArea"))
            for rt, rule in (record.get("publication") or {}).items()
            if isinstance(rule, Mapping) and "area" in rule}
    return _Naming(str(record["personType"]), frozenset(reach.get("resourceTypes") or ()),
                   {rt: tuple(dict.fromkeys(ps)) for rt, ps in pointers.items()}, publication,
                   area)


def _at(doc: Any, steps: tuple[Step, ...]) -> Any:
    node = doc
    for step in steps:
        if isinstance(step, int) and isinstance(node, list):
            node = node[step] if step < len(node) else None
        elif isinstance(node, dict):
            node = node.get(str(step))
        else:
            return None
    return node


def _references(doc: Any, person_type: str) -> list[Any]:
    """The ids of every object in ``doc`` that refers to a record of ``person_type``, in
    document order."""
    # Every stored document passes through here on its way in. A reference is a flat object
    # ({"resourceType", "id", "display"}): found in the document's compact JSON by its
    # "resourceType" member, a few string searches in C instead of a walk of every member in
    # Python. Anything else (a brace in one of its strings, an escaped id, another writer's
    # doubt) goes to the walk, so the two always agree.
    try:
        text = orjson.dumps(doc).decode()
    except (orjson.JSONEncodeError, TypeError):
        return _walked(doc, person_type)
    marker = f'"resourceType":{orjson.dumps(person_type).decode()}'
    found: list[Any] = []
    at = text.find(marker)
    while at >= 0:
        start, end = text.rfind("{", 0, at), text.find("}", at)
        ident = _ID.search(text, start, end)
        if ("}" in text[start:at] or "{" in text[at:end]
                or ident is None or "\\" in ident[1]):
            return _walked(doc, person_type)
        found.append(ident[1])
        at = text.find(marker, end)
    return found


#: an ``id`` member with a string value, in compact JSON (a key: a string holds no bare quote)
_ID = re.compile(r'"id":"([^"]*)"')


def _walked(node: Any, person_type: str) -> list[Any]:
    """:func:`_references` by a walk of every member (a plain loop with bound methods, no
    generator per object)."""
    found: list[Any] = []
    stack = [node]
    pop, push = stack.pop, stack.append
    while stack:
        item = pop()
        members = item.values() if isinstance(item, dict) else item
        if isinstance(item, dict) and item.get("resourceType") == person_type:
            found.append(item.get("id"))
        for value in members:
            if isinstance(value, (dict, list)):
                push(value)
    return found


def named_residents(doc: Mapping[str, Any]) -> list[str]:
    """The ids of the residents ``doc`` names where her erasure would reach them (none for a
    resource type the erasure does not reach)."""
    naming = _naming()
    rtype = doc.get("resourceType")
    if rtype not in naming.resource_types:
        return []
    found = [_at(doc, p) for p in naming.pointers.get(str(rtype), ())]
    found += _references(doc, naming.person_type)
    return [rid for rid in dict.fromkeys(found) if isinstance(rid, str) and rid]


def is_published(doc: Mapping[str, Any]) -> bool:
    """Whether ``doc`` is of a type published by decision and its decision publishes it."""
    where = _naming().published.get(str(doc.get("resourceType")))
    return where is not None and _at(doc, where) is True


def published_area(doc: Mapping[str, Any]) -> str | None:
    """The level of place ``doc``'s publication decision publishes it down to (its default
    when the decision names none), or None when it is not published."""
    if not is_published(doc):
        return None
    where, default = _naming().area.get(str(doc.get("resourceType")), ((), None))
    found = _at(doc, where) if where else None
    return found if isinstance(found, str) else default
