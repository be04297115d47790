"""What decides how a person's record is served, derived when it is written.

A page of residents served as stored, to an audience that keeps every class, needs three
facts of each record: its ``restriction`` (erased, restricted: /req/residents/restricted-
disclosure), its birth date (a minor's: /req/residents/minor-sensitive) and the sensitive
members it holds, which the audit log names (/req/privacy/audit-log). Read from the document,
they cost a parse and a walk of every record on every page; written beside it, they cost a few
bytes a resident and the server serves the stored text untouched.

The facts are a small document of their own: the members that decide (the restriction state
and whether a request made while restricted is pending; the birth date, from ``birthDate`` or
the identity number as :func:`birth_date` finds it) and the pointers of the sensitive members,
those sensitive only in a minor's record marked. They name the rules they were derived by (a
digest of the tagged paths, the minor treatment and the member that keeps a record
restricted): a server whose spec says otherwise finds them foreign and reads the document.
Like the scope columns beside them, they are written with the document and only with it.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

from smartcommunity.identifiers import citizen_id_birth_date
from smartcommunity.pointers import pointer
from smartcommunity.specification import Spec, load_spec
from smartcommunity.validation import compile_plan, compile_walk

__all__ = ["PersonFacts", "PersonRules", "birth_date", "person_facts", "person_rules",
           "pipl_paths"]

#: the layout of the facts; a new one makes every stored set foreign until written again
_LAYOUT = 1
#: marks a pointer that names a sensitive member only in a minor's record
_MINOR_ONLY = "*"


def birth_date(doc: Mapping[str, Any]) -> date | None:
    """birthDate, or the date in a valid full GB 11643 number of the record."""
    raw = doc.get("birthDate")
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    for document in doc.get("identityDocuments") or ():
        number = document.get("number") if isinstance(document, Mapping) else None
        born = citizen_id_birth_date(number) if isinstance(number, str) else None
        if born is not None:
            return born
    return None


@functools.cache
def pipl_paths(spec: Spec, rtype: str) -> tuple[tuple[tuple[str | None, ...], str], ...]:
    """The paths of ``rtype`` tagged with a class of personal information, and the class."""
    plan = compile_plan(spec, rtype)
    # A tagged container covers its whole value; a nested tag inside one is reported too.
    return tuple((path, cls) for path, cls, _ in plan.pipl)


@dataclass(frozen=True, slots=True)
class PersonFacts:
    """The facts of one stored person record (see the module's text)."""

    #: the members that decide: ``restriction`` (its state, and the pending request's member
    #: as true) and ``birthDate``, each only when the record has it
    doc: Mapping[str, Any]
    #: pointers of the sensitive members, in the order the audit lists them; those sensitive
    #: only in a minor's record start with ``*``
    fields: Sequence[str]

    def disclosed(self, minor: bool) -> list[str]:
        """What the record discloses that is sensitive, read whole as a minor's or not."""
        # f[:1], not startswith: a third of the time, on every record of a page
        if minor:
            return [f[1:] if f[:1] == _MINOR_ONLY else f for f in self.fields]
        return [f for f in self.fields if f[:1] != _MINOR_ONLY]


class PersonRules:
    """How one spec version derives and reads the facts of its person records."""

    def __init__(self, spec: Spec) -> None:
        record = spec.privacy["recordAccess"]
        self.person_type = str(record["personType"])
        self.kept: str | None = (record.get("restrictedRecords") or {}).get("kept")
        treatment: Mapping[str, str] = record.get("minorTreatment") or {}
        # classes sensitive in every record, and those only in a minor's
        always = frozenset(treatment.values())
        minor_classes = frozenset(treatment) - always
        paths = pipl_paths(spec, self.person_type)
        chosen = [(path, i) for i, (path, cls) in enumerate(paths)
                  if cls in always | minor_classes]
        minor_only = frozenset(i for i, (_, cls) in enumerate(paths) if cls in minor_classes)

        def visit(items: list[int], var: str, where: str, pad: str) -> list[str]:
            return [f"{pad}found.append(({i}, {'MARK + ' if i in minor_only else ''}"
                    f"pointer({where})))" for i in items]

        #: ``walk(doc, found)`` appends (the path's place, pointer) of every tagged value
        self._walk: Callable[[Any, list[tuple[int, str]]], None] = compile_walk(
            chosen, visit, {"pointer": pointer, "MARK": _MINOR_ONLY},
            f"<sensitive members of {self.person_type}>", extra="found")
        #: names the rules: facts derived by others are foreign here
        self.version = hashlib.sha256(orjson.dumps(
            [_LAYOUT, self.person_type, self.kept, [[list(p), c] for p, c in paths],
             sorted(treatment.items())])).hexdigest()[:16]

    def fields(self, doc: Mapping[str, Any]) -> tuple[str, ...]:
        """The pointers of :attr:`PersonFacts.fields` for ``doc``."""
        found: list[tuple[int, str]] = []
        self._walk(doc, found)
        # The walk meets the paths interleaved; the log lists them path by path, each in
        # document order (a stable sort keeps that order within a path).
        found.sort(key=lambda item: item[0])
        return tuple(where for _, where in found)

    def derive(self, doc: Mapping[str, Any]) -> str | None:
        """The facts of ``doc`` as the column holds them; None for any other record."""
        if doc.get("resourceType") != self.person_type:
            return None
        deciding: dict[str, Any] = {}
        restriction = doc.get("restriction")
        if isinstance(restriction, Mapping):
            kept = {"state": restriction["state"]} if "state" in restriction else {}
            if self.kept is not None and self.kept in restriction:
                kept[self.kept] = True
            deciding["restriction"] = kept
        born = birth_date(doc)
        if born is not None:
            deciding["birthDate"] = born.isoformat()
        return orjson.dumps({"v": self.version, "doc": deciding,
                             "fields": self.fields(doc)}).decode()

    def read(self, text: str | None) -> PersonFacts | None:
        """The facts stored as ``text``, or None when there are none or they were derived by
        other rules (the document decides then)."""
        if not text:
            return None
        try:
            facts = orjson.loads(text)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(facts, dict) or facts.get("v") != self.version:
            return None
        return PersonFacts(facts["doc"], facts["fields"])


@functools.cache
def person_rules(spec: Spec) -> PersonRules:
    return PersonRules(spec)


def person_facts(doc: Mapping[str, Any]) -> str | None:
    """The facts of ``doc`` by the rules of the version the server stores (None: it is no
    person record)."""
    return person_rules(load_spec()).derive(doc)
