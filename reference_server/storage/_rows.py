"""The rows storage hands out and takes in, and how their list columns are written.

Lists of codes (a resource's communities, its departments) are stored as ``|a|b|`` text, which
one ``LIKE '%|a|%'`` searches on either database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from ._derive import Derived

__all__ = ["AuditRow", "Change", "EventRow", "NewEvent", "Stored", "joined", "split"]


def joined(values: Iterable[str]) -> str:
    """``|a|b|``: a list a LIKE '%|a|%' can search."""
    items = list(dict.fromkeys(values))
    return "|" + "|".join(items) + "|" if items else "|"


def split(value: str | None) -> tuple[str, ...]:
    """The list :func:`joined` wrote."""
    return tuple(filter(None, (value or "").split("|")))


class Stored:
    """A resource row; the document is parsed only when someone needs it."""

    __slots__ = ("_doc", "_text", "communities", "departments", "derived", "facts", "id", "json",
                 "rtype", "seq", "version")

    def __init__(self, seq: int, rtype: str, rid: str, version: int, text: str | bytes,
                 communities: str, departments: str, facts: str | None = None) -> None:
        self.seq = seq
        self.rtype = rtype
        self.id = rid
        self.version = version
        #: the stored JSON as read: UTF-8 bytes from a list page, which a record served as
        #: stored goes out as without being decoded and encoded again
        self.json = text
        self._text = text if isinstance(text, str) else None
        self.communities = split(communities)
        self.departments = split(departments)
        #: a person record's facts as stored (``_person``), where the read fetched them
        self.facts = facts
        self._doc: dict[str, Any] | None = None
        self.derived: Derived | None = None  # set on a row prepared for writing

    @classmethod
    def prepared(cls, seq: int, doc: dict[str, Any], text: str, derived: Derived) -> Stored:
        """The row ``doc`` (serialised as ``text``, indexed as ``derived``) will become once
        written; ``seq`` is that of the version it replaces, or 0 for a new resource."""
        row = cls(seq, str(doc["resourceType"]), str(doc["id"]),
                  int(doc["meta"]["versionId"]), text, "", "")
        row.communities, row.departments = derived.communities, derived.departments
        row.facts = derived.person_facts
        row._doc = doc
        row.derived = derived
        return row

    @property
    def text(self) -> str:
        """The stored JSON."""
        if self._text is None:
            self._text = self.json.decode() if isinstance(self.json, bytes) else self.json
        return self._text

    @property
    def raw(self) -> bytes:
        """The stored JSON as UTF-8 bytes, whichever form it was read in (a read by id gives
        text, a list page bytes)."""
        return self.json if isinstance(self.json, bytes) else self.json.encode()

    @property
    def doc(self) -> dict[str, Any]:
        """The stored document."""
        if self._doc is None:
            self._doc = orjson.loads(self.json)
        return self._doc

    def take_doc(self) -> dict[str, Any]:
        """The stored document for the caller to change: the one a read of the row parsed
        already, which the row then forgets (parsing its text again if asked), else a parse of
        its own. A row prepared for writing keeps its document."""
        doc = self._doc
        if doc is None or self.derived is not None:
            return dict(orjson.loads(self.json))
        self._doc = None
        return doc


@dataclass(frozen=True, slots=True)
class EventRow:
    """One event of the change feed as stored."""

    seq: int  # the feed's sequence number: gap-free, in commit order
    rtype: str
    rid: str
    kind: str  # created, updated, transitioned or erased (the event type's last part)
    action: str  # the lifecycle action or write that made the change
    version: int  # the resource's version after it
    time: str
    #: who may be told of it: the communities and departments the resource belonged to
    communities: tuple[str, ...]
    departments: tuple[str, ...]
    data: str  # the resource's whole state after the change, as JSON text
    head: str | None = None  # digest of the resource's history head, when it has a history
    chain: str | None = None  # digest chaining this event to the one before (integrity)
    salt: str | None = None  # the event's eventsalt, covered by its digest


@dataclass(frozen=True, slots=True)
class NewEvent:
    """The change event a write stores with its resource row; the feed gives it its sequence
    number, salt and chain digest as it is written."""

    kind: str
    action: str
    time: str
    head: str | None = None


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One entry of the log of access to sensitive information."""

    seq: int
    at: str
    principal: str
    role: str
    operation: str
    resident: str
    fields: list[str]


@dataclass(frozen=True, slots=True)
class Change:
    """One state to store by :meth:`Tx.write_many`, with its change event."""

    rtype: str
    rid: str
    version: int
    text: str
    doc: Mapping[str, Any]
    kind: str
    action: str
    time: str
    #: the document's index and history head, when computed already (an import prepares
    #: them in other processes); ``doc`` may then be left empty: ``text`` is the document
    prepared: tuple[Derived, str | None] | None = None

