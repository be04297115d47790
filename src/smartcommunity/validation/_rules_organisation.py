"""Library rules of the Organisation resource (conformance class ``/conf/organisations``).

What JSON Schema cannot say about one organisation record: its global identifier agrees with its
USCC or code, it is not its own parent, its terms run forwards, and its members' grids and ids
agree with the record. Each rule returns at once when the members it reads are absent.
"""

from __future__ import annotations

from typing import Any

from ._messages import ErrorCodes
from ._validator import Context, Document, member_rule, rule

__all__ = ["CODE"]

#: The codes these rules report.
CODE = ErrorCodes("organisation")

_RESOURCE = "Organisation"
_USCC_PREFIX = "uscc:"


def expected_identifier(document: Any, city: str | None = None) -> str | None:
    """The identifier /req/organisations/identifier asks of ``document``: ``uscc:<uscc>`` when
    it has a USCC, else ``<city>:<code>`` (``city`` the 6-digit division code; None when
    unknown, and then only the code part can be checked)."""
    if not isinstance(document, dict):
        return None
    uscc = document.get("uscc")
    if isinstance(uscc, str):
        return _USCC_PREFIX + uscc
    code = document.get("code")
    if isinstance(code, str) and city is not None:
        return f"{city}:{code}"
    return None


@member_rule(_RESOURCE, member="identifier", kind=str)
def _identifier(value: str, doc: Document, ctx: Context) -> None:
    expected = expected_identifier(doc)
    if expected is None:
        # Without a USCC the city prefix is the writer's to choose; the code part is not.
        code = doc.get("code")
        if value.startswith(_USCC_PREFIX) or (isinstance(code, str)
                                             and value.partition(":")[2] != code):
            suffix = code if isinstance(code, str) else "<code>"
            ctx.emit(("identifier",), CODE.IDENTIFIER_MISMATCH, value=value,
                     expected=f"<division>:{suffix}")
    elif value != expected:
        ctx.emit(("identifier",), CODE.IDENTIFIER_MISMATCH, value=value, expected=expected)


@rule(_RESOURCE)
def _parent(doc: Document, ctx: Context) -> None:
    parent = doc.get("parent")
    if isinstance(parent, dict) and parent.get("id") is not None \
            and parent.get("id") == doc.get("code"):
        ctx.emit(("parent", "id"), CODE.PARENT_SELF, value=parent["id"])


def _term(ctx: Context, where: tuple[str | int, ...], term: Any) -> None:
    if not isinstance(term, dict):
        return
    start, end = term.get("from"), term.get("until")
    # Dates in YYYY-MM-DD form compare as strings; malformed ones are the schema's finding.
    if isinstance(start, str) and isinstance(end, str) and len(start) == len(end) == 10 \
            and start > end:
        ctx.emit((*where, "until"), CODE.TERM_ORDER, start=start, end=end)


@rule(_RESOURCE)
def _terms_and_members(doc: Document, ctx: Context) -> None:
    _term(ctx, ("term",), doc.get("term"))
    members = doc.get("memberships")
    if not isinstance(members, list):
        return
    serves = doc.get("serves")
    grids = serves.get("grids") if isinstance(serves, dict) else None
    served = {g for g in grids if isinstance(g, str)} if isinstance(grids, list) else None
    first: dict[str, int] = {}
    for i, member in enumerate(members):
        if not isinstance(member, dict):
            continue
        _term(ctx, ("memberships", i, "term"), member.get("term"))
        member_id = member.get("id")
        if isinstance(member_id, str):
            if member_id in first:
                ctx.emit(("memberships", i, "id"), CODE.DUPLICATE_MEMBERSHIP_ID, value=member_id,
                         first=first[member_id])
            else:
                first[member_id] = i
        own = member.get("grids")
        if served is None or not isinstance(own, list):
            continue
        for j, grid in enumerate(own):
            if isinstance(grid, str) and grid not in served:
                ctx.emit(("memberships", i, "grids", j), CODE.MEMBERSHIP_GRID_OUTSIDE, value=grid)
