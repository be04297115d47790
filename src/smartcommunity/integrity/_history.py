"""The hash chain of a resource's history (/req/core/history-chain)."""

from __future__ import annotations

import copy
import functools
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rfc8785 import CanonicalizationError

from ..exceptions import UnknownSpecVersion
from ..specification import DEFAULT_VERSION, Spec, load_spec
from ._canonical import digest
from ._report import Break

#: the member holding a resource's history
HISTORY = "history"
#: the member that links an event to the one before it
LINK = "previousDigest"
#: the digest of an event the reader receives with members other than personal ones withheld
WITHHELD = "withheldDigest"
#: the event's own random salt, inside its integrity form: a digest of an event whose members
#: are partly withheld (vote counts, a result of four values) confirms no guess of them
SALT = "salt"
#: how many random bytes a salt holds (written as twice as many hex digits)
SALT_BYTES = 16
#: a path into an event: member names, None for every item of an array
_Path = tuple[str | None, ...]


def event_salt() -> str:
    """A new salt for a change event (``eventsalt``, /req/change-feed/chain-digest) or a
    history event (``salt``, /req/core/history-chain): 128 bits from the operating system's
    secure random source, as 32 lowercase hex digits."""
    return secrets.token_hex(SALT_BYTES)


def _spec_of(document: Mapping[str, Any] | None) -> Spec:
    stated = document.get("specVersion") if isinstance(document, Mapping) else None
    if isinstance(stated, str):
        try:
            return load_spec(stated)
        except UnknownSpecVersion:
            pass
    return load_spec(DEFAULT_VERSION)


@functools.cache
def _tagged(spec: Spec, resource_type: str) -> tuple[_Path, ...]:
    """The paths, inside one history event of ``resource_type``, of the members its schema
    tags ``x-pipl``: the same plan redaction follows, so both see the same members."""
    from ..validation import compile_plan  # validation's rules use this package

    if resource_type not in spec.resource_types:
        return ()
    return tuple(path[2:] for path, _, _ in compile_plan(spec, resource_type).pipl
                 if path[:2] == (HISTORY, None) and len(path) > 2)


@functools.cache
def _details_tagged(spec: Spec, resource_type: str) -> dict[str, tuple[_Path, ...]]:
    """Action → the paths, inside its events' ``details``, of the members the action's details
    schema tags ``x-pipl`` (redaction removes those too)."""
    from ..validation import compile_details_plans

    if resource_type not in spec.resource_types:
        return {}
    return {action: tuple(path for path, _, _ in plan.pipl)
            for action, plan in compile_details_plans(spec, resource_type).items()}


def integrity_form(event: Mapping[str, Any], resource_type: str,
                   version: str = DEFAULT_VERSION) -> dict[str, Any]:
    """A history event of ``resource_type`` without the members the schema of ``version``
    tags ``x-pipl``.

    Redaction only ever removes or masks tagged members, so every audience computes the same
    form from what it receives, and erasing personal data leaves it unchanged.
    """
    return copy.deepcopy(_integrity_view(event, resource_type, version))


def _integrity_view(event: Mapping[str, Any], resource_type: str,
                    version: str) -> dict[str, Any]:
    """The integrity form sharing every container it does not change with ``event``: what
    a digest reads, without copying the whole event first."""
    return _view(event, _strippers(load_spec(version), resource_type))


#: a tree of the members to remove: step → the tree below it, or ``_GONE`` for the member
#: itself; the step None stands for every item of an array
_Tree = dict[str | None, Any]
_GONE: _Tree = {}


@functools.cache
def _strippers(spec: Spec, resource_type: str) -> tuple[_Tree, dict[str, _Tree]]:
    """The trees of the tagged members of an event and, per action, of its details."""
    return (_tree(_tagged(spec, resource_type)),
            {action: _tree(paths)
             for action, paths in _details_tagged(spec, resource_type).items()})


def _tree(paths: Sequence[_Path]) -> _Tree:
    root: _Tree = {}
    # Shorter paths first: a removed member takes what is below it along.
    for path in sorted(paths, key=len):
        node = root
        for i, step in enumerate(path):
            if node.get(step) is _GONE:
                break
            if i == len(path) - 1:
                if step is not None:  # an array's items, as a whole, are never removed
                    node[step] = _GONE
                break
            node = node.setdefault(step, {})
    return root


def _view(event: Mapping[str, Any], trees: tuple[_Tree, dict[str, _Tree]]) -> dict[str, Any]:
    whole = dict(event)
    whole.pop(WITHHELD, None)  # a note about this reader's view, not part of the event
    tree, details_trees = trees
    out: dict[str, Any] = _strip(whole, tree)
    details = out.get("details")
    if isinstance(details, dict):
        details_tree = details_trees.get(str(out.get("action")))
        if details_tree:
            out["details"] = _strip(details, details_tree)
    return out


def _strip(node: Any, tree: _Tree) -> Any:
    """``node`` without the members ``tree`` names, copying only the containers on the way
    to a removed member; ``node`` itself when nothing is there."""
    if isinstance(node, dict):
        out: dict[str, Any] | None = None
        for step, below in tree.items():
            if step is None or step not in node:
                continue
            if below is _GONE:
                if out is None:
                    out = dict(node)
                del out[step]
                continue
            child = node[step]
            new = _strip(child, below)
            if new is not child:
                if out is None:
                    out = dict(node)
                out[step] = new
        return node if out is None else out
    if isinstance(node, list):
        below = tree.get(None)
        if not below:
            return node
        items = [_strip(item, below) for item in node]
        return node if all(a is b for a, b in zip(items, node, strict=True)) else items
    return node


def event_digest(event: Mapping[str, Any], resource_type: str,
                 version: str = DEFAULT_VERSION) -> str:
    """The digest of the integrity form of a history event of ``resource_type`` (what the
    next event's ``previousDigest`` names)."""
    return digest(_integrity_view(event, resource_type, version))


def withhold(event: dict[str, Any], resource_type: str, version: str = DEFAULT_VERSION) -> None:
    """Write ``withheldDigest`` on ``event`` (in place) before a server withholds members of it
    other than personal ones from a reader, so that the reader can check the chain past it,
    and take its salt away, without which the digest confirms no guess of what is withheld.
    The digest is always computed: a value already there is never passed on."""
    event[WITHHELD] = event_digest(event, resource_type, version)
    event.pop(SALT, None)


#: the code of a withheldDigest on an event from which nothing is withheld
WITHHELD_CODE = "integrity.withheld-digest"


@functools.cache
def _withholdable(spec: Spec, resource_type: str) -> Mapping[str, frozenset[str]]:
    """Action → the ``details`` members its events lose while their vote's results wait
    (``privacy.json`` ``recordAccess.results``): the only members other than personal ones a
    server withholds from a history event."""
    results = spec.privacy.get("recordAccess", {}).get("results") or {}
    if resource_type not in (results.get("resourceTypes") or ()):
        return {}
    return {action: frozenset(members)
            for action, members in (results.get("eventDetails") or {}).items()}


def _withheld_credibly(event: Mapping[str, Any], document: Mapping[str, Any],
                       withholdable: Mapping[str, frozenset[str]]) -> bool:
    """Whether ``event``, carrying withheldDigest, shows what a withheld event shows: an
    action whose details lose members, none of them left, and no results given for its vote
    in ``document``. Anything else is a whole event whose link is its own digest."""
    members = withholdable.get(str(event.get("action")))
    details = event.get("details")
    if not members or not isinstance(details, Mapping) or not members.isdisjoint(details):
        return False
    vote_id = details.get("voteId")
    for vote in document.get("votes") or ():
        if isinstance(vote, Mapping) and vote.get("id") == vote_id and "results" in vote:
            return False
    return True


def _seq(event: Mapping[str, Any], index: int) -> Any:
    return event.get("seq") if isinstance(event.get("seq"), int) else index + 1


def _withheld_break(event: Mapping[str, Any], index: int, resource_type: str,
                    version: str) -> Break:
    try:
        own: str | None = event_digest(event, resource_type, version)
    except CanonicalizationError:
        own = None  # no digest at all: the chain check says why
    return Break(WITHHELD_CODE, f"/{HISTORY}/{index}/{WITHHELD}", _seq(event, index),
                 expected=own, found=str(event.get(WITHHELD)), version=version)


def withheld_written(document: Mapping[str, Any]) -> list[Break]:
    """The history events of ``document``, written to a server, that carry withheldDigest.

    A written document is whole: nothing of it is withheld, so each one is a break
    (/req/core/history-chain). Costs a look at each event when there is none.
    """
    events = _events(document)
    if not any(isinstance(e, Mapping) and WITHHELD in e for e in events):
        return []
    rtype = str(document.get("resourceType"))
    version = _spec_of(document).version
    return [_withheld_break(e, i, rtype, version) for i, e in enumerate(events)
            if isinstance(e, Mapping) and WITHHELD in e]


def _link(event: Mapping[str, Any], resource_type: str, version: str) -> str:
    """What the next event's ``previousDigest`` must be: the event's digest, or the one it
    gives when part of it is withheld from the reader."""
    link = _linker(load_spec(version), resource_type)
    return link(event)


def _linker(spec: Spec, resource_type: str,
            withheld: bool = True) -> Callable[[Mapping[str, Any]], str]:
    """:func:`_link` for every event of one resource type, the spec looked up once; without
    ``withheld``, of whole events: each event's own digest, whatever withheldDigest says."""
    trees = _strippers(spec, resource_type)

    def link(event: Mapping[str, Any]) -> str:
        given = event.get(WITHHELD) if withheld else None
        return given if isinstance(given, str) else digest(_view(event, trees))

    return link


def _events(document: Mapping[str, Any]) -> Sequence[Any]:
    history = document.get(HISTORY)
    return history if isinstance(history, list) else ()


def head_digest(document: Mapping[str, Any]) -> str | None:
    """The digest of the document's last history event; None without history."""
    events = _events(document)
    if not events or not isinstance(events[-1], Mapping):
        return None
    return _link(events[-1], str(document.get("resourceType")), _spec_of(document).version)


def salts_of(document: Mapping[str, Any]) -> Callable[[int], str | None]:
    """The salt of each history event of ``document`` by its index, None where it has none
    (or no event is there): ``seal_history(sent, salt=salts_of(served))`` is what a server
    that drew the salts ``served`` shows stores of ``sent``."""
    events = _events(document)

    def salt(index: int) -> str | None:
        event = events[index] if index < len(events) else None
        found = event.get(SALT) if isinstance(event, Mapping) else None
        return found if isinstance(found, str) else None

    return salt


def seal_history(document: Mapping[str, Any], *,
                 salt: Callable[[int], str | None] | None = None) -> dict[str, Any]:
    """A copy of ``document`` as a server stores it (/req/core/history-chain): a ``salt`` on
    every history event that lacks one and ``previousDigest`` on every event after the first
    that lacks one; the input is not modified.

    Salts present are kept. A ``previousDigest`` present that was right for the event before
    is rewritten when that event changed (it got its salt, or a link of its own was
    rewritten), so a chain that checked still checks; a wrong one is kept: links are checked,
    not fixed. ``salt`` gives the salt of the event at an index (None: none is written); by
    default each is drawn afresh (:func:`event_salt`).
    """
    out = dict(document)
    events = _events(document)
    if all(isinstance(e, Mapping) and (SALT in e or WITHHELD in e) and (i == 0 or LINK in e)
           for i, e in enumerate(events)):
        return out  # sealed before: nothing to draw, nothing to compute
    draw = salt or (lambda _: event_salt())
    # The server's own document is whole: its links are the events' own digests.
    link = _linker(_spec_of(document), str(document.get("resourceType")), withheld=False)
    sealed: list[Any] = []
    given: Any = None  # the event before as it came, when sealing changed it
    for i, event in enumerate(events):
        new = event
        if isinstance(event, Mapping):
            added: dict[str, str] = {}
            # An event with withheldDigest is not whole (a written one is refused): no salt.
            if SALT not in event and WITHHELD not in event and (drawn := draw(i)) is not None:
                added[SALT] = drawn
            before = sealed[-1] if sealed else None
            if isinstance(before, Mapping):
                found = event.get(LINK)
                if found is None or (given is not None and found == link(given)):
                    added[LINK] = link(before)
            if added:
                new = {**event, **added}
        given = event if new is not event else None
        sealed.append(new)
    out[HISTORY] = sealed
    return out


def verify_history(document: Mapping[str, Any], *, complete: bool = True,
                   version: str | None = None) -> list[Break]:
    """Every broken link of the document's history chain, first one first.

    A ``previousDigest`` that differs from the digest of the event before it (or from the
    ``withheldDigest`` that event gives, when part of it is withheld from the reader), or one
    on the first event, is a break. So is a ``withheldDigest`` other than the event's own
    digest on an event that shows it is whole (it keeps the members a withheld event loses,
    its action loses none, or its vote's results are given): the next link is then checked
    against the event's own digest, so a rewritten event does not pass by carrying the
    digest it had before. With ``complete``
    (the default), so is a missing one: without it
    nothing shows that the event before was not rewritten. ``complete=False`` checks only the
    values present (what the schema's library rule does for 1.0 documents written without).
    ``version``: the spec version the document is read as, when the caller knows it already.
    """
    events = _events(document)
    if not complete:
        # Only values present are compared: plain events without a link, and without a
        # withheldDigest to check, leave nothing to do.
        for event in events:
            if event.__class__ is not dict or LINK in event or WITHHELD in event:
                break
        else:
            return []
    version = version or _spec_of(document).version
    rtype = str(document.get("resourceType"))
    breaks: list[Break] = []
    before: Any = None
    link: Callable[[Mapping[str, Any]], str] | None = None  # made at the first comparison
    for i, event in enumerate(events):
        if not isinstance(event, Mapping):
            before = None
            continue
        if WITHHELD in event and not _withheld_credibly(
                event, document, _withholdable(load_spec(version), rtype)):
            own = _withheld_break(event, i, rtype, version)
            if own.found != own.expected:  # the event's own digest is harmless
                breaks.append(own)
            event = {k: v for k, v in event.items() if k != WITHHELD}
        seq = _seq(event, i)
        where = f"/{HISTORY}/{i}/{LINK}"
        found = event.get(LINK)
        if i == 0:
            if found is not None:
                breaks.append(Break("integrity.history-digest-first", where, seq,
                                    found=str(found), version=version))
        elif isinstance(before, Mapping) and (found is not None or complete):
            # The digest is computed only where it is compared: a 1.0 document written
            # without the chain costs its reader nothing.
            link = link or _linker(load_spec(version), rtype)
            try:
                expected = link(before)
            except CanonicalizationError as exc:
                # A number RFC 8785 cannot write exactly (beyond ±2^53): no digest exists.
                breaks.append(Break("integrity.history-not-canonical", f"/{HISTORY}/{i - 1}",
                                    _seq(before, i - 1), values={"detail": str(exc)},
                                    version=version))
                before = event
                continue
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
