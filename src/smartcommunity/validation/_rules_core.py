"""Core rules every resource shares, driven by the check plan compiled from its schema."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from .. import identifiers
from ..specification import Spec
from ..uris import normalise_uri
from ._messages import ErrorCodes
from ._plan import Leaf, compile_plan, compile_walk
from ._time import later as _later
from ._validator import Context, Document, member_rule, rule

__all__ = ["CODE"]

#: The codes these rules report.
CODE = ErrorCodes("core")


@functools.cache
def _citizen_id_code(spec: Spec) -> str:
    for req in spec.requirements.values():
        for code in req.codes:
            if code.endswith("citizen-id-invalid"):
                return code
    return "core.citizen-id-invalid"


@functools.cache
def _invisible(spec: Spec) -> tuple[frozenset[str], re.Pattern[str], bool]:
    """The plan kinds of names and titles, the characters they must not hold
    (/req/core/invisible-characters), and whether none of those characters is printable, so
    that a printable text (``str.isprintable``, one pass in C) is known to hold none."""
    requirement = "/req/core/invisible-characters"
    if requirement not in spec.requirements:
        return frozenset(), re.compile(r"(?!)"), True
    kinds = frozenset("datatype:" + d for d in spec.parameter(requirement, "datatypes"))
    chars = "".join(chr(int(c.removeprefix("U+"), 16))
                    for c in spec.parameter(requirement, "characters"))
    unprintable = not any(c.isprintable() for c in chars)
    return kinds, re.compile("[" + re.escape(chars) + "]"), unprintable


def _can_fire(leaf: Leaf, spec: Spec) -> bool:
    if leaf.kind == "codelist":
        # A closed list without deprecated codes is fully checked by the schema's enum.
        codes = spec.codelists.get(leaf.codelist or "")
        return codes is not None and (
            leaf.open_codelist or any(e.deprecated_since for e in codes.entries.values())
        )
    return leaf.kind != "datatype:dateTime"


#: a document's checks of its plan's leaves
PlanCheck = Callable[[Document, Context], None]


@functools.cache
def _plan_check(spec: Spec, resource_type: str) -> PlanCheck:
    """The plan's leaves that can fire, compiled to one function of straight-line code: the
    walk a generic visitor would interpret for every document is decided once, when the plan
    is compiled."""
    leaves = [leaf for leaf in compile_plan(spec, resource_type).leaves
              if _can_fire(leaf, spec)]
    return _compile_leaves(spec, resource_type, leaves)


#: code a leaf's value must fail before :func:`_check_leaf` is called: each only skips values
#: that cannot produce a finding (the leaf check itself stays the one judge)
_GUARDS = {
    "datatype:divisionCode": "not ({v}.__class__ is str and division_ok({v}))",
    "datatype:uscc": "not ({v}.__class__ is str and (len({v}) != 18 or uscc_ok({v})))",
    "datatype:citizenId": "not ({v}.__class__ is str and (len({v}) != 18 or citizen_ok({v})))",
    # equal times are in order: only differing ones need comparing as instants
    "object:meta": "{v}.__class__ is not dict or {v}.get('createdAt') != {v}.get('lastUpdated')",
}


def _compile_leaves(spec: Spec, resource_type: str, leaves: list[Leaf]) -> PlanCheck:
    invisible_kinds, invisible_chars, unprintable = _invisible(spec)
    # Names and titles are nearly always printable: then the pattern search is spared.
    invisible_guard = ("{v}.__class__ is not str or "
                       + ("(not {v}.isprintable() and invisible({v}) is not None)" if unprintable
                          else "invisible({v}) is not None"))
    constants: dict[str, Any] = {
        "leaf_check": _check_leaf,
        "division_ok": identifiers.is_valid_division_code, "uscc_ok": identifiers.is_valid_uscc,
        "citizen_ok": identifiers.is_valid_citizen_id, "invisible": invisible_chars.search,
    }
    def constant(value: Any) -> str:
        name = f"c{len(constants)}"
        constants[name] = value
        return name

    def checks(at: list[Leaf], var: str, where: str, pad: str) -> list[str]:
        lines = []
        for leaf in at:
            guard = _GUARDS.get(leaf.kind)
            codes = spec.codelists.get(leaf.codelist or "")
            if leaf.kind == "codelist" and codes is not None:
                quiet = frozenset(c for c, e in codes.entries.items() if not e.deprecated_since)
                guard = f"not ({{v}}.__class__ is str and {{v}} in {constant(quiet)})"
            elif leaf.kind in invisible_kinds:
                guard = invisible_guard
            call = f"leaf_check({constant(leaf)}, {var}, {where}, ctx)"
            if guard is None:
                lines.append(pad + call)
            else:
                lines.append(f"{pad}if {guard.format(v=var)}:")
                lines.append(f"{pad}    {call}")
        return lines

    check: PlanCheck = compile_walk([(leaf.path, leaf) for leaf in leaves], checks, constants,
                                    f"<check plan of {resource_type} {spec.version}>",
                                    extra="ctx")
    return check


@rule()
def plan_leaves(doc: Document, ctx: Context) -> None:
    _plan_check(ctx.spec, str(doc.get("resourceType")))(doc, ctx)




def _check_leaf(leaf: Leaf, value: Any, where: tuple[str | int, ...], ctx: Context) -> None:
    kind = leaf.kind
    if kind == "codelist":
        codelist = ctx.spec.codelists.get(leaf.codelist or "")
        if not isinstance(value, str) or codelist is None:
            return
        entry = codelist.entries.get(value)
        if entry is None:
            if leaf.open_codelist:
                ctx.emit(where, CODE.UNKNOWN_CODE, value=value, codelist=leaf.codelist)
        elif entry.deprecated_since:
            ctx.emit(
                where,
                CODE.DEPRECATED_CODE,
                value=value,
                since=entry.deprecated_since,
                replacement=entry.replaced_by or "-",
            )
    elif kind == "deprecated":
        ctx.emit(where, CODE.DEPRECATED_FIELD, field=where[-1] if where else "")
    elif kind == "object:consent":
        _consent_order(value, where, ctx)
    elif kind == "object:meta":
        if isinstance(value, dict):
            created, updated = value.get("createdAt"), value.get("lastUpdated")
            if _later(created, updated):
                ctx.emit(
                    (*where, "createdAt"), CODE.META_TIME_ORDER, created=created, updated=updated
                )
    elif not isinstance(value, str):
        return
    elif kind == "datatype:divisionCode":
        if not identifiers.is_valid_division_code(value):
            ctx.emit(where, CODE.DIVISION_CODE_INVALID, value=value)
    elif kind == "datatype:uscc":
        if len(value) == 18 and not identifiers.is_valid_uscc(value):
            ctx.emit(
                where, CODE.USCC_CHECK_INVALID, value=value, expected=_safe_uscc_check(value)
            )
    elif (kind == "datatype:citizenId" and len(value) == 18
          and not identifiers.is_valid_citizen_id(value)):
        ctx.emit(where, _citizen_id_code(ctx.spec), value=identifiers_mask(value))
    elif kind in (invisible := _invisible(ctx.spec))[0]:
        found = invisible[1].search(value)
        if found is not None:
            ctx.emit(where, CODE.INVISIBLE_CHARACTER, field=where[-1] if where else "",
                     character=f"U+{ord(found.group()):04X}")


@member_rule(member="externalRefs", kind=list)
def external_refs_unique(refs: list[Any], doc: Document, ctx: Context) -> None:
    if len(refs) < 2:
        return
    seen: set[Any] = set()
    for i, ref in enumerate(refs):
        system = ref.get("system") if isinstance(ref, dict) else None
        # One system however it is spelled, as echo suppression compares them.
        same = normalise_uri(system) if isinstance(system, str) else system
        if same in seen:
            ctx.emit(("externalRefs", i, "system"), CODE.EXTERNAL_REF_DUPLICATE, system=system)
        seen.add(same)


def _consent_order(consent: Any, where: tuple[str | int, ...], ctx: Context) -> None:
    if not isinstance(consent, dict):
        return
    granted = consent.get("grantedAt")
    for later in ("withdrawnAt", "expiresAt"):
        if _later(granted, consent.get(later)):
            ctx.emit(
                (*where, later),
                CODE.CONSENT_TIME_ORDER,
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
    for broken in _verify_history()(doc, complete=False, version=ctx.spec.version):
        ctx.emit(broken.pointer, broken.code, seq=broken.seq, expected=broken.expected or "-",
                 found=broken.found or "-")


@functools.cache
def _verify_history() -> Callable[..., list[Any]]:
    """The integrity package's chain check, imported once on first use (the chain is that
    package's business)."""
    from ..integrity import verify_history

    return verify_history
