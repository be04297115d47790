"""An update by a writer that receives only part of a record (/req/privacy/update-keeps-unreceived,
/req/privacy/write-errors-unreceived).

A PUT replaces what its writer receives, and nothing else. What the writer receives is what its
reads get (:meth:`Access.present`: the audience's redaction and the server's rules on top), so
the body is merged into the stored record along that view:

- a member or item the view withholds keeps its stored value, and so does one the view masks
  or gives only in part (an identity document without its number); the members the view adds
  in their place (``masked``, ``pseudonym``, ``withheldDigest``) are dropped again;
- the body's array items are matched to the items of the view: an item sent back as received
  is that stored item, one with the ``id`` of an item received is that item changed; any
  other is new;
- an item the writer received but leaves out is removed, unless it holds something the writer
  does not receive, or its audience's policy withholds anything inside items of that array:
  then it stays, and the write is refused.

Where the body differs from the view (and only there: what it sends back as received is no
change), the writer's read of the merged record, decided as its reads of the stored record are,
must give what it sent, outside the items it adds: otherwise it wrote where it does not read
(a member its audience never receives, a masked value it changed, an item it may not remove)
and the write is refused with ``http.unreceived-member``. Each of these decisions is made from
the writer's view, its body and its audience's policy, never from what is stored beyond the
view, so that neither the answer nor its status tells the writer anything it does not receive.
A writer whose audience keeps everything and whose view is the stored record is taken at its
body.

The errors of a write whose writer does not receive the record whole say nothing of what it
does not receive: a finding about a location the body does not hold becomes one
``http.unreceived-conflict`` about the whole document; every other finding keeps its code and
points into the body, worded by its code's description, which names no value.

Array items of the view are told apart by a marker member the redaction leaves alone (it tags
nothing and follows no visibility): the index of the stored item it was made from.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from smartcommunity.exceptions import RedactionError, UnknownSpecVersion
from smartcommunity.pointers import pointer, resolve_pointer
from smartcommunity.specification import Spec

from ..access import Access
from ..auth import Principal
from ..errors import ProblemError, Unprocessable, coded
from ..storage import Stored, derive

__all__ = ["CONFLICT", "UNRECEIVED", "PartialWrite"]

#: the member marking an array item of a view with where it came from; no schema names it
_MARK = "\u0000"
#: what a location that holds nothing holds
_ABSENT: Any = object()
#: a location in a document: member names and item indexes
Where = tuple[str | int, ...]
#: a location in a schema: member names, None for every item of an array
Path = tuple[str | None, ...]

UNRECEIVED = "http.unreceived-member"
CONFLICT = "http.unreceived-conflict"
REQUIREMENT = "/req/privacy/update-keeps-unreceived"
ERRORS_REQUIREMENT = "/req/privacy/write-errors-unreceived"


class PartialWrite:
    """The body of one PUT merged into the stored record along its writer's view of it."""

    def __init__(self, access: Access, principal: Principal, stored: Stored,
                 body: dict[str, Any]) -> None:
        self.access = access
        self.principal = principal
        self.stored = stored
        self.body = body
        marked = _marked(stored.doc)
        #: the stored record as the writer reads it, its array items marked
        self.view = self._view(marked)
        #: whether the writer receives the stored record as it is stored, its audience
        #: keeping everything: then only the state it receives (a restriction, a reporter's
        #: disclosure) could have withheld anything, never what it does not receive
        self.whole = (access.audience(principal, stored) in access.untouched
                      and _same(self.view, stored.doc))
        #: body list location → for each of its items, the index of the view's item it is
        #: (None: a new item)
        self.pairs: dict[Where, list[int | None]] = {}
        #: the merged document, its array items marked with the body item they came from
        #: (a stored item kept without one: -1 - its stored index)
        self.marked: dict[str, Any] = (
            copy.deepcopy(body) if self.whole else self._merge_member(
                stored.doc, self.view, body, (), ()))
        #: the document to validate and store
        self.doc: dict[str, Any] = _unmarked(self.marked)

    def _view(self, doc: Mapping[str, Any], communities: tuple[str, ...] | None = None) -> Any:
        """``doc`` (the stored record or the merged one, marked) as the writer reads it: the
        way a read of the row goes, decided from ``doc`` itself and ``communities`` (default:
        the stored record's)."""
        stored = self.stored
        row = Stored(stored.seq, stored.rtype, stored.id, stored.version,
                     orjson.dumps(doc).decode(), "", "")
        row.communities = stored.communities if communities is None else communities
        row.departments = stored.departments
        presented = self.access.present(self.principal, row, check=False)
        assert presented is not None  # nothing is checked: the writer may see it
        return presented.document()

    # -- merging -------------------------------------------------------------------------
    def _merge_member(self, s: Any, v: Any, b: Any, where: Where, path: Path) -> Any:
        """What the merged document holds where the stored record holds ``s``, the view
        ``v`` and the body ``b`` (each possibly :data:`_ABSENT`)."""
        nothing = s is _ABSENT and v is _ABSENT
        if isinstance(b, dict) and (nothing or (isinstance(s, dict) and isinstance(v, dict))):
            s, v = ({}, {}) if nothing else (s, v)
            out: dict[str, Any] = {}
            for name in _names(s, b, v):
                got = self._merge_member(s.get(name, _ABSENT), v.get(name, _ABSENT),
                                         b.get(name, _ABSENT), (*where, name), (*path, name))
                if got is not _ABSENT:
                    out[name] = got
            return out
        if isinstance(b, list) and (nothing or (isinstance(s, list) and isinstance(v, list)
                                                and _items_marked(v, len(s)))):
            return self._merge_items([] if nothing else s, [] if nothing else v, b, where,
                                     (*path, None))
        if _same(v, s):
            # received as stored: the body says what it becomes
            return b if b is _ABSENT else copy.deepcopy(b)
        if v is _ABSENT:
            return copy.deepcopy(s)  # withheld: kept
        if s is _ABSENT:
            return _ABSENT  # added to the view in place of what it withholds
        return copy.deepcopy(s)  # masked or given in part: kept

    def _merge_items(self, s: list[Any], v: list[Any], b: list[Any], where: Where,
                     path: Path) -> list[Any]:
        """The merged items of an array whose stored items are ``s``, received ``v`` (each
        marked with its stored index) and sent ``b``."""
        open_ = list(range(len(v)))
        pairs: list[int | None] = [None] * len(b)
        # Items sent back as received first, then items naming a received item's id.
        for bi, item in enumerate(b):
            found = next((vi for vi in open_ if _same(v[vi], item)), None)
            if found is not None:
                pairs[bi] = found
                open_.remove(found)
        for bi, item in enumerate(b):
            if pairs[bi] is not None or not isinstance(item, dict) or "id" not in item:
                continue
            found = next((vi for vi in open_ if v[vi].get("id") == item["id"]), None)
            if found is not None:
                pairs[bi] = found
                open_.remove(found)
        self.pairs[where] = pairs
        sent: list[tuple[int | None, Any]] = []  # (the stored item it is, if any; the item)
        for bi, item in enumerate(b):
            vi = pairs[bi]
            if vi is None:
                sent.append((None, _with_mark(copy.deepcopy(item), bi)))
                continue
            si = v[vi][_MARK]
            got = self._merge_member(s[si], v[vi], item, (*where, bi), path)
            sent.append((si, _with_mark(got, bi)))
        received = {v[vi][_MARK]: vi for vi in range(len(v))}
        inside = self.access.withholds_within(self.principal, self.stored.rtype, path)
        kept = [(si, _with_mark(copy.deepcopy(item), -1 - si)) for si, item in enumerate(s)
                # withheld, or left out though it holds what the writer does not receive
                if (vi := received.get(si)) is None
                or (vi in open_ and (inside or not _same(v[vi], item)))]
        # A kept item goes back before the first item sent that stood after it.
        out: list[Any] = []
        for origin, item in sent:
            while kept and origin is not None and kept[0][0] < origin:
                out.append(kept.pop(0)[1])
            out.append(item)
        return out + [item for _, item in kept]

    # -- refusing ------------------------------------------------------------------------
    def refusals(self) -> list[dict[str, Any]]:
        """Where the body differs from the writer's view and the writer's read of the merged
        record does not give what it sent: one ``http.unreceived-member`` finding each,
        pointing into the body."""
        if self.whole:
            return []
        try:
            after = self._read_after()
        except (RedactionError, UnknownSpecVersion):
            # The merged record is of no type or version the server reads (the body changed
            # resourceType or specVersion): nothing can be compared, and validation refuses
            # it with a 422 that says why.
            return []
        found: list[Where] = []
        for name in _names(self.body, after):
            if name == "meta":
                continue  # the server's to keep
            self._check(self.body.get(name, _ABSENT), self.view.get(name, _ABSENT),
                        after.get(name, _ABSENT), (name,), found)
        version = self.access.spec.version
        return [coded(pointer(w), UNRECEIVED, version, REQUIREMENT, member=pointer(w))
                for w in found]

    def _read_after(self) -> dict[str, Any]:
        """The merged record as the writer would read it."""
        # What the writer may write is what it receives now: the merged record read with
        # every decision taken from the stored one, so that a body changing what decides
        # (a restriction, a disclosure, a birth date) unlocks nothing it could compare.
        presented = self.access.present(self.principal, self.stored, check=False,
                                        state=orjson.dumps(self.marked).decode())
        assert presented is not None
        after: dict[str, Any] = presented.document()
        # The members that decide are read as the merged record has them, by its own
        # decisions: the writer receives them wherever it receives the record at all, unless
        # its audience never does.
        deciding = set(self.access.decided_now.get(self.stored.rtype, ()))
        changed = {name for name in deciding
                   if not _same(self.view.get(name, _ABSENT), self.body.get(name, _ABSENT))}
        if changed:
            own = self._view(self.marked, derive(self.doc, self.stored.communities).communities)
            after = {**after, **{name: own[name] for name in changed if name in own}}
            for name in changed - set(own):
                after.pop(name, None)
        return after

    def _check(self, b: Any, v: Any, got: Any, where: Where, found: list[Where]) -> None:
        if _same(v, b):
            return  # sent back as received: no change
        if isinstance(b, dict) and isinstance(got, dict):
            view = v if isinstance(v, dict) else {}
            for name in _names(b, got):
                if name != _MARK:
                    self._check(b.get(name, _ABSENT), view.get(name, _ABSENT),
                                got.get(name, _ABSENT), (*where, name), found)
            return
        pairs = self.pairs.get(where)
        if isinstance(b, list) and isinstance(got, list) and pairs is not None:
            view_items = v if isinstance(v, list) else []
            by_body = {item[_MARK]: item for item in got
                       if isinstance(item, dict) and isinstance(item.get(_MARK), int)}
            if any(mark < 0 for mark in by_body):
                found.append(where)  # an item it received and may not remove
            for bi, item in enumerate(b):
                vi = pairs[bi] if bi < len(pairs) else None
                if vi is None:
                    continue  # a new item is the writer's own, however it reads it
                self._check(item, view_items[vi], by_body.get(bi, _ABSENT), (*where, bi),
                            found)
            return
        if not _same(got, b):
            found.append(where)

    # -- answering -----------------------------------------------------------------------
    def screened(self, error: ProblemError, spec: Spec) -> ProblemError:
        """``error`` as the writer may be told it: unchanged for a writer that receives the
        record whole; otherwise each finding points into the body and is worded by its
        code's description, and those about what the body does not hold become one
        ``http.unreceived-conflict``."""
        if self.whole or not error.errors:
            return error
        descriptions = spec.codelist("error-code").entries
        kept: list[dict[str, Any]] = []
        hidden = False
        for entry in error.errors:
            where = self._in_body(str(entry.get("pointer", "")))
            if where is None:
                hidden = True
                continue
            code = str(entry.get("code", ""))
            described = descriptions.get(code)
            out = dict(entry, pointer=where)
            if described is not None:
                out["message"] = {"zh-Hans": described.description_zh,
                                  "en": described.description_en}
            else:
                out["message"] = {"zh-Hans": "", "en": ""}
            kept.append(out)
        if hidden:
            kept.append(coded("", CONFLICT, spec.version, ERRORS_REQUIREMENT))
        if isinstance(error, Unprocessable):
            return Unprocessable(count=len(kept), errors=kept)
        error.errors = kept
        return error

    def _in_body(self, where: str) -> str | None:
        """The pointer into the body of what ``where`` points at in the merged document, or
        None where the body holds nothing there; a location reached through members alone
        that the writer received and left out is its own to be told of (the body's item
        indexes are not the view's, so none through an item)."""
        node: Any = self.marked
        steps: list[str | int] = []
        try:
            for raw in _steps(where):
                if isinstance(node, list):
                    node = node[int(raw)]
                    mark = node.get(_MARK) if isinstance(node, dict) else int(raw)
                    if not isinstance(mark, int) or mark < 0:
                        return None
                    steps.append(mark)
                else:
                    node = node[raw]
                    steps.append(raw)
            found = pointer(tuple(steps))
            resolve_pointer(self.body, found)
        except (LookupError, TypeError, ValueError):
            return where if self._received(where) else None
        return found

    def _received(self, where: str) -> bool:
        """Whether the writer's view holds ``where``, reached through members alone."""
        node: Any = self.view
        for raw in _steps(where):
            if not isinstance(node, dict) or raw not in node:
                return False
            node = node[raw]
        return True


def _steps(where: str) -> Iterator[str]:
    if not where:
        return
    for raw in where.split("/")[1:]:
        yield raw.replace("~1", "/").replace("~0", "~")


def _names(*nodes: Any) -> list[str]:
    """The member names of ``nodes`` (objects or :data:`_ABSENT`), in first-seen order."""
    seen: dict[str, None] = {}
    for node in nodes:
        if isinstance(node, dict):
            seen.update((name, None) for name in node if name != _MARK)
    return list(seen)


def _with_mark(value: Any, mark: int) -> Any:
    if isinstance(value, dict):
        value[_MARK] = mark
    return value


def _marked(doc: Any) -> Any:
    """A copy of ``doc`` whose array items that are objects carry their index."""
    if isinstance(doc, dict):
        return {name: _marked(value) for name, value in doc.items()}
    if isinstance(doc, list):
        return [_with_mark(_marked(item), i) for i, item in enumerate(doc)]
    return doc


def _unmarked(doc: Any) -> Any:
    if isinstance(doc, dict):
        return {name: _unmarked(value) for name, value in doc.items() if name != _MARK}
    if isinstance(doc, list):
        return [_unmarked(item) for item in doc]
    return doc


def _items_marked(view: list[Any], stored: int) -> bool:
    """Whether every item of a view's array is an object marked with a stored index (else
    the array is merged whole)."""
    return all(isinstance(item, dict) and isinstance(item.get(_MARK), int)
               and 0 <= item[_MARK] < stored for item in view)


def _same(marked: Any, plain: Any) -> bool:
    """Whether ``marked`` (a view, its markers aside) is ``plain`` as JSON compares them."""
    if isinstance(marked, dict):
        if not isinstance(plain, dict):
            return False
        names = [name for name in marked if name != _MARK]
        return (len(names) == len([n for n in plain if n != _MARK])
                and all(name in plain and _same(marked[name], plain[name]) for name in names))
    if isinstance(marked, list):
        return (isinstance(plain, list) and len(marked) == len(plain)
                and all(_same(a, b) for a, b in zip(marked, plain, strict=True)))
    if marked is _ABSENT or plain is _ABSENT:
        return marked is plain
    return bool(marked == plain) and isinstance(marked, bool) == isinstance(plain, bool)

