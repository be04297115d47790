"""``redact(document, audience)``: what the spec's privacy policy lets an audience see.

Nothing here lists fields by hand: the walk over the schema (``x-pipl``, ``x-pipl-mask``,
``visibility``) gives the paths, and ``privacy.json`` gives the treatment per audience.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from .. import identifiers
from ..exceptions import RedactionError
from ..specification import load_spec
from ..validation._plan import Step, compile_plan, values_at

AUDIENCES = ("public", "community-resident", "community-staff", "department", "regulator", "self")

_MASKS: dict[str, Callable[[str], str]] = {
    "citizen-id": identifiers.mask_citizen_id,
    "phone": identifiers.mask_phone,
    "name": identifiers.mask_name,
}


def rekey_pseudonyms(document: dict[str, Any], key: bytes) -> dict[str, Any]:
    """``document`` (changed in place) with the pseudonym of every identity document that has a
    valid full number recomputed with ``key`` (/req/residents/pseudonym-consistent).

    A city that rotates its key, a server seeding examples made with another key, and a test
    kit holding the city's key all need the same recomputation; documents of other types and
    identity documents without a valid number are left alone.
    """
    if document.get("resourceType") != "Resident":
        return document
    for item in document.get("identityDocuments") or ():
        if not (isinstance(item, dict) and "pseudonym" in item):
            continue
        number = item.get("number")
        if isinstance(number, str) and identifiers.is_valid_citizen_id(number):
            item["pseudonym"] = identifiers.citizen_id_pseudonym(number, key)
    return document


def audience_for_role(role: str, version: str = "1.0") -> str:
    """The audience a principal of ``role`` reads as (``privacy.json`` ``roleAudience``)."""
    try:
        return str(load_spec(version).privacy["roleAudience"][role])
    except KeyError:
        raise RedactionError(f"unknown role {role!r}") from None


def redact(
    document: Mapping[str, Any],
    audience: str,
    *,
    pseudonym_key: bytes | None = None,
) -> dict[str, Any]:
    """A copy of ``document`` as ``audience`` may see it; the input is not modified.

    Each field tagged ``personal`` or ``sensitive`` is kept, masked or removed as
    ``privacy.json`` says for the audience; items whose ``visibility`` the audience may not
    see are removed. With ``pseudonym_key``, a removed citizen ID leaves its keyed pseudonym
    behind so records can still be joined. The result validates against the same schema.
    """
    version = str(document.get("specVersion", "1.0"))
    spec = load_spec(version)
    policy = spec.privacy
    if audience not in policy["treatments"]:
        raise RedactionError(f"unknown audience {audience!r}; expected one of {AUDIENCES}")
    rt = str(document.get("resourceType"))
    if rt not in spec.resource_types:
        raise RedactionError(f"not a resource document: resourceType {rt!r}")
    treatments: Mapping[str, str] = policy["treatments"][audience]
    visible = frozenset(policy["visibility"][audience])
    plan = compile_plan(spec, rt)
    out = copy.deepcopy(dict(document))

    holes: list[list[Any]] = []
    # Items hidden by visibility first: what is gone needs no masking.
    for path in sorted(plan.visibility, key=len):
        _drop_invisible(out, path, visible, holes)
    # Shallow tags before deep ones: a removed parent takes its children with it.
    for path, pipl, mask in sorted(plan.pipl, key=lambda p: len(p[0])):
        treatment = treatments.get(pipl, "remove")
        if treatment == "keep":
            continue
        for where, value in list(values_at(out, path)):
            if treatment == "mask" and mask is not None:
                _mask(out, where, value, mask, pseudonym_key, holes)
            else:
                _remove(out, where, holes)
    for hole in holes:
        hole[:] = [v for v in hole if v is not _HOLE]
    return out


def _parent(doc: Any, where: tuple[str | int, ...]) -> Any:
    node = doc
    for step in where[:-1]:
        node = node[step]
    return node


def _remove(doc: dict[str, Any], where: tuple[str | int, ...], holes: list[list[Any]]) -> None:
    parent = _parent(doc, where)
    key = where[-1]
    if isinstance(parent, dict):
        parent.pop(key, None)
    elif isinstance(parent, list) and isinstance(key, int):
        # A placeholder keeps the other paths' indexes valid until the walk is over.
        parent[key] = _HOLE
        holes.append(parent)


_HOLE: Any = object()


def _mask(doc: dict[str, Any], where: tuple[str | int, ...], value: Any, method: str,
          key: bytes | None, holes: list[list[Any]]) -> None:
    if not isinstance(value, str):
        _remove(doc, where, holes)
        return
    parent = _parent(doc, where)
    name = where[-1]
    try:
        if method == "citizen-id" and isinstance(parent, dict):
            # The full number goes; its masked form and pseudonym stay beside it.
            masked = identifiers.mask_citizen_id(value)
            parent.pop(name, None)
            parent.setdefault("masked", masked)
            if key is not None:
                parent.setdefault("pseudonym", identifiers.citizen_id_pseudonym(value, key))
            return
        parent[name] = _MASKS[method](value)
    except (identifiers.IdentifierError, KeyError, ValueError):
        _remove(doc, where, holes)


def _drop_invisible(doc: dict[str, Any], path: tuple[Step, ...], visible: frozenset[str],
                    holes: list[list[Any]]) -> None:
    for where, node in list(values_at(doc, path)):
        if isinstance(node, dict) and node.get("visibility") not in visible | {None}:
            _remove(doc, where, holes)
