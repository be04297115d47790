"""Core rules every resource shares, driven by the check plan compiled from its schema."""

from __future__ import annotations

import functools
import re
from typing import Any

import orjson

from .. import identifiers
from ..specification import Spec
from ._plan import Leaf, compile_plan
from ._time import later as _later
from ._validator import Context, Document, rule


@functools.cache
def _citizen_id_code(spec: Spec) -> str:
    for req in spec.requirements.values():
        for code in req.codes:
            if code.endswith("citizen-id-invalid"):
                return code
    return "core.citizen-id-invalid"


@functools.cache
def _invisible(spec: Spec) -> tuple[frozenset[str], re.Pattern[str],
                                    tuple[tuple[bytes, re.Pattern[bytes]], ...]]:
    """The plan kinds of names and titles, the characters they must not hold
    (/req/core/invisible-characters), and those characters as UTF-8 by first byte, to find
    in JSON text."""
    requirement = "/req/core/invisible-characters"
    if requirement not in spec.requirements:
        return frozenset(), re.compile(r"(?!)"), ()
    kinds = frozenset("datatype:" + d for d in spec.parameter(requirement, "datatypes"))
    chars = "".join(chr(int(c.removeprefix("U+"), 16))
                    for c in spec.parameter(requirement, "characters"))
    by_lead: dict[bytes, list[bytes]] = {}
    for c in chars:
        utf8 = c.encode("utf-8")
        by_lead.setdefault(utf8[:1], []).append(re.escape(utf8))
    encoded = tuple((lead, re.compile(b"|".join(found))) for lead, found in by_lead.items())
    return kinds, re.compile("[" + re.escape(chars) + "]"), encoded


def _may_hold_invisible(doc: Document, spec: Spec) -> bool:
    """Whether any string of ``doc`` holds a character /req/core/invisible-characters refuses:
    one scan of the document's JSON text (orjson writes every such character unescaped as
    UTF-8) instead of a visit of every name and title, which almost never holds one."""
    kinds, _, encoded = _invisible(spec)
    if not kinds:
        return False
    try:
        text = orjson.dumps(doc)
    except TypeError:  # not JSON as orjson writes it (a huge integer, a key not a string)
        return True
    # A byte search finds a lead byte fast; only a lead byte present (Chinese text often
    # holds full-width punctuation, which shares one) costs a pattern search.
    return any(lead in text and pattern.search(text) is not None for lead, pattern in encoded)


class _Trie:
    """The plan's leaves that can produce a finding, as a tree walked once per document."""

    __slots__ = ("children", "items", "kinds", "quiet")

    def __init__(self) -> None:
        self.children: dict[str, _Trie] = {}
        self.items: _Trie | None = None
        self.kinds: list[Leaf] = []
        #: per leaf, the codes that need no finding (listed and not deprecated)
        self.quiet: list[frozenset[str]] = []

    def add(self, leaf: Leaf) -> None:
        node = self
        for step in leaf.path:
            if step is None:
                node.items = node.items or _Trie()
                node = node.items
            else:
                node = node.children.setdefault(step, _Trie())
        node.kinds.append(leaf)
        node.quiet.append(frozenset())


def _can_fire(leaf: Leaf, spec: Spec) -> bool:
    if leaf.kind == "codelist":
        # A closed list without deprecated codes is fully checked by the schema's enum.
        codes = spec.codelists.get(leaf.codelist or "")
        return codes is not None and (
            leaf.open_codelist or any(e.deprecated_since for e in codes.entries.values())
        )
    return leaf.kind != "datatype:dateTime"


@functools.cache
def _trie(spec: Spec, resource_type: str, invisible: bool = True) -> _Trie:
    """The leaves that can fire; without those of names and titles unless ``invisible``."""
    root = _Trie()
    skipped = frozenset() if invisible else _invisible(spec)[0]
    for leaf in compile_plan(spec, resource_type).leaves:
        if _can_fire(leaf, spec) and leaf.kind not in skipped:
            root.add(leaf)
    _fill_quiet(root, spec)
    return root


def _fill_quiet(node: _Trie, spec: Spec) -> None:
    for i, leaf in enumerate(node.kinds):
        codes = spec.codelists.get(leaf.codelist or "")
        if leaf.kind == "codelist" and codes is not None:
            node.quiet[i] = frozenset(c for c, e in codes.entries.items() if not e.deprecated_since)
    for child in node.children.values():
        _fill_quiet(child, spec)
    if node.items is not None:
        _fill_quiet(node.items, spec)


@rule()
def plan_leaves(doc: Document, ctx: Context) -> None:
    root = _trie(ctx.spec, str(doc.get("resourceType")), _may_hold_invisible(doc, ctx.spec))
    _visit(root, doc, [], ctx)


def _visit(node: _Trie, value: Any, where: list[str | int], ctx: Context) -> None:
    # The path is one list, pushed and popped: pointers are only built for a finding.
    if node.kinds:
        for leaf, quiet in zip(node.kinds, node.quiet, strict=True):
            if value.__class__ is str and value in quiet:
                continue  # the common case: a listed, current code
            _check_leaf(leaf, value, tuple(where), ctx)
    children = node.children
    if children and isinstance(value, dict):
        # Walk whichever is shorter: the members present, or the members the plan names.
        if len(value) < len(children):
            pairs = [(k, children[k], v) for k, v in value.items() if k in children]
        else:
            pairs = [(k, c, value[k]) for k, c in children.items() if k in value]
        for key, child, sub in pairs:
            where.append(key)
            _visit(child, sub, where, ctx)
            where.pop()
    items = node.items
    if items is not None and isinstance(value, list):
        for i, item in enumerate(value):
            where.append(i)
            _visit(items, item, where, ctx)
            where.pop()


_ABSENT: Any = object()


def _check_leaf(leaf: Leaf, value: Any, where: tuple[str | int, ...], ctx: Context) -> None:
    kind = leaf.kind
    if kind == "codelist":
        codelist = ctx.spec.codelists.get(leaf.codelist or "")
        if not isinstance(value, str) or codelist is None:
            return
        entry = codelist.entries.get(value)
        if entry is None:
            if leaf.open_codelist:
                ctx.emit(where, "core.unknown-code", value=value, codelist=leaf.codelist)
        elif entry.deprecated_since:
            ctx.emit(
                where,
                "core.deprecated-code",
                value=value,
                since=entry.deprecated_since,
                replacement=entry.replaced_by or "-",
            )
    elif kind == "deprecated":
        ctx.emit(where, "core.deprecated-field", field=where[-1] if where else "")
    elif kind == "object:consent":
        _consent_order(value, where, ctx)
    elif kind == "object:meta":
        if isinstance(value, dict):
            created, updated = value.get("createdAt"), value.get("lastUpdated")
            if _later(created, updated):
                ctx.emit(
                    (*where, "createdAt"), "core.meta-time-order", created=created, updated=updated
                )
    elif not isinstance(value, str):
        return
    elif kind == "datatype:divisionCode":
        if not identifiers.is_valid_division_code(value):
            ctx.emit(where, "core.division-code-invalid", value=value)
    elif kind == "datatype:uscc":
        if len(value) == 18 and not identifiers.is_valid_uscc(value):
            ctx.emit(
                where, "core.uscc-check-invalid", value=value, expected=_safe_uscc_check(value)
            )
    elif (kind == "datatype:citizenId" and len(value) == 18
          and not identifiers.is_valid_citizen_id(value)):
        ctx.emit(where, _citizen_id_code(ctx.spec), value=identifiers_mask(value))
    elif kind in (invisible := _invisible(ctx.spec))[0]:
        found = invisible[1].search(value)
        if found is not None:
            ctx.emit(where, "core.invisible-character", field=where[-1] if where else "",
                     character=f"U+{ord(found.group()):04X}")


@rule()
def external_refs_unique(doc: Document, ctx: Context) -> None:
    refs = doc.get("externalRefs")
    if not isinstance(refs, list) or len(refs) < 2:
        return
    seen: set[Any] = set()
    for i, ref in enumerate(refs):
        system = ref.get("system") if isinstance(ref, dict) else None
        if system in seen:
            ctx.emit(("externalRefs", i, "system"), "core.external-ref-duplicate", system=system)
        seen.add(system)


def _consent_order(consent: Any, where: tuple[str | int, ...], ctx: Context) -> None:
    if not isinstance(consent, dict):
        return
    granted = consent.get("grantedAt")
    for later in ("withdrawnAt", "expiresAt"):
        if _later(granted, consent.get(later)):
            ctx.emit(
                (*where, later),
                "core.consent-time-order",
                field=later,
                granted=granted,
                value=consent.get(later),
            )


def identifiers_mask(value: str) -> str:
    try:
        return identifiers.mask_citizen_id(value)
    except ValueError:
        return "***"


def _safe_uscc_check(value: str) -> str:
    try:
        return identifiers.uscc_check_char(value[:17])
    except ValueError:
        return "?"


@rule()
def history_chain(doc: Document, ctx: Context) -> None:
    """/req/core/history-chain: each previousDigest present names the event before it."""
    if not isinstance(doc.get("history"), list):
        return
    from ..integrity import verify_history  # the chain is the integrity package's business

    for broken in verify_history(doc, complete=False, version=ctx.spec.version):
        ctx.emit(broken.pointer, broken.code, seq=broken.seq, expected=broken.expected or "-",
                 found=broken.found or "-")
