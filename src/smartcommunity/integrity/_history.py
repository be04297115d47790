"""The hash chain of a resource's history (/req/core/history-chain)."""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping, Sequence
from typing import Any

from ..exceptions import UnknownSpecVersion
from ..specification import DEFAULT_VERSION, Spec, load_spec
from ._canonical import digest
from ._report import Break

#: the schema of one history event, whose x-pipl tags the integrity form leaves out
_EVENT_SCHEMA = "history-event.json"
#: the member that links an event to the one before it
LINK = "previousDigest"
#: a path into an event: member names, None for every item of an array
_Path = tuple[str | None, ...]


def _spec_of(document: Mapping[str, Any] | None) -> Spec:
    stated = document.get("specVersion") if isinstance(document, Mapping) else None
    if isinstance(stated, str):
        try:
            return load_spec(stated)
        except UnknownSpecVersion:
            pass
    return load_spec(DEFAULT_VERSION)


@functools.cache
def _tagged(spec: Spec) -> tuple[_Path, ...]:
    """The paths of the members of a history event that the schema tags ``x-pipl``."""
    found: list[_Path] = []

    def walk(schema: Mapping[str, Any], path: _Path, seen: frozenset[str]) -> None:
        ref = schema.get("$ref")
        if isinstance(ref, str) and "#" not in ref and ref not in seen:
            walk(spec.schema(ref), path, seen | {ref})
        for name, sub in (schema.get("properties") or {}).items():
            if not isinstance(sub, Mapping):
                continue
            if "x-pipl" in sub:
                found.append((*path, name))
            else:
                walk(sub, (*path, name), seen)
        items = schema.get("items")
        if isinstance(items, Mapping):
            walk(items, (*path, None), seen)
        for part in schema.get("allOf") or ():
            if isinstance(part, Mapping):
                walk(part, path, seen)

    walk(spec.schema(_EVENT_SCHEMA), (), frozenset())
    return tuple(found)


def _drop(node: Any, path: _Path) -> None:
    if not path:
        return
    step, rest = path[0], path[1:]
    if step is None:
        for item in node if isinstance(node, list) else ():
            _drop(item, rest)
    elif isinstance(node, dict):
        if not rest:
            node.pop(step, None)
        elif step in node:
            _drop(node[step], rest)


def integrity_form(event: Mapping[str, Any], version: str = DEFAULT_VERSION) -> dict[str, Any]:
    """``event`` without the members the schema of ``version`` tags ``x-pipl``.

    Redaction only ever removes or masks tagged members, so every audience computes the same
    form from what it receives, and erasing personal data leaves it unchanged.
    """
    out = copy.deepcopy(dict(event))
    for path in _tagged(load_spec(version)):
        _drop(out, path)
    return out


def event_digest(event: Mapping[str, Any], version: str = DEFAULT_VERSION) -> str:
    """The digest of a history event's integrity form (what the next event's
    ``previousDigest`` names)."""
    return digest(integrity_form(event, version))


def _events(document: Mapping[str, Any]) -> Sequence[Any]:
    history = document.get("history")
    return history if isinstance(history, list) else ()


def head_digest(document: Mapping[str, Any]) -> str | None:
    """The digest of the document's last history event; None without history."""
    events = _events(document)
    if not events or not isinstance(events[-1], Mapping):
        return None
    return event_digest(events[-1], _spec_of(document).version)


def seal_history(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (changed in place) with ``previousDigest`` written on every history event
    after the first that lacks one; values present are kept (they are checked, not fixed)."""
    version = _spec_of(document).version
    events = _events(document)
    for before, event in zip(events, events[1:], strict=False):
        if isinstance(event, dict) and isinstance(before, Mapping) and LINK not in event:
            event[LINK] = event_digest(before, version)
    return document


def verify_history(document: Mapping[str, Any], *, complete: bool = True) -> list[Break]:
    """Every broken link of the document's history chain, first one first.

    A ``previousDigest`` that differs from the digest of the event before it, or one on the
    first event, is a break. With ``complete`` (the default), so is a missing one: without it
    nothing shows that the event before was not rewritten. ``complete=False`` checks only the
    values present (what the schema's library rule does for 1.0 documents written without).
    """
    version = _spec_of(document).version
    breaks: list[Break] = []
    before: Any = None
    for i, event in enumerate(_events(document)):
        if not isinstance(event, Mapping):
            before = None
            continue
        seq = event.get("seq") if isinstance(event.get("seq"), int) else i + 1
        where = f"/history/{i}/{LINK}"
        found = event.get(LINK)
        if i == 0:
            if found is not None:
                breaks.append(Break("integrity.history-digest-first", where, seq,
                                    found=str(found), version=version))
        elif isinstance(before, Mapping):
            expected = event_digest(before, version)
            if found is None:
                if complete:
                    breaks.append(Break("integrity.history-digest-missing", where, seq,
                                        expected=expected,
                                        version=version))
            elif found != expected:
                breaks.append(Break("integrity.history-digest", where, seq, expected=expected,
                                    found=str(found), version=version))
        before = event
    return breaks
