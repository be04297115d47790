"""``redact(document, audience)``: what the spec's privacy policy lets an audience see.

Nothing here lists fields, audiences or mask methods by hand: the walk over the schema
(``x-pipl``, ``x-pipl-mask``, ``visibility``) gives the paths, ``privacy.json`` the treatment per
audience, and ``mask-method.csv`` the mask methods, each done by the ``identifiers`` function of
the same name (``phone`` → :func:`~smartcommunity.identifiers.mask_phone`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Protocol

import orjson
from referencing.exceptions import Unresolvable

from .. import identifiers
from .._json import json_copy
from ..exceptions import RedactionError, SpecError, UnknownSpecVersion
from ..specification import DEFAULT_VERSION, Spec, available_versions, load_spec
from ..validation import (
    Members,
    OpenStep,
    Plan,
    Step,
    compile_details_plans,
    compile_plan,
    compile_schema_plan,
    compile_walk,
    resolve_version,
    values_at,
)

Mask = Callable[[str], str]


class RegisteredExtension(Protocol):
    """What redaction reads of an extension a city registers (``profiles.Extension``)."""

    @property
    def schema(self) -> Mapping[str, Any]: ...

    def applies_to(self, resource_type: str | None) -> bool: ...


class RedactionProfile(Protocol):
    """What redaction reads of a city profile: its registered extensions by key."""

    @property
    def extensions(self) -> Mapping[str, RegisteredExtension]: ...


#: the member a registered extension's value is held under while its own tags are applied
_HELD = "value"
#: a path of the check plan: member names, None for every item of an array
StepPath = tuple[Step, ...]


#: the key a removed citizen ID's pseudonym is made with, and the key's id (None: unnamed)
Keyed = tuple[bytes, str | None] | None

def audiences(version: str = DEFAULT_VERSION) -> tuple[str, ...]:
    """Every audience a document can be redacted for (``audience.csv`` of ``version``)."""
    return load_spec(version).audiences


def _reading(document: Mapping[str, Any]) -> tuple[Spec, bool]:
    """The spec that reads ``document`` and whether the document is of a later minor.

    The version the document states (the default without one); a later minor of an installed
    major is read as the highest installed minor of that major (/req/core/forward-compatible).
    """
    stated = document.get("specVersion", DEFAULT_VERSION)
    if isinstance(stated, str):
        try:
            return load_spec(stated), False
        except UnknownSpecVersion:
            pass
    resolved = resolve_version(stated, available_versions())
    if resolved is None:
        raise UnknownSpecVersion(f"cannot read a document of spec version {stated!r}; "
                                 f"installed: {available_versions()}")
    return load_spec(resolved.version), resolved.newer


@functools.cache
def _audience(spec: Spec, audience: str) -> tuple[frozenset[str | None], bool]:
    """The item visibilities ``audience`` sees (None, an item that states none, included), and
    whether it keeps every class of information."""
    policy = spec.privacy
    return (frozenset(policy["visibility"][audience]) | {None},
            set(policy["treatments"][audience].values()) == {"keep"})


@functools.cache
def _masks(spec: Spec) -> dict[str, Mask]:
    """Mask method code → its function; a method without one is never applied (the value is
    removed instead, the safe side)."""
    found: dict[str, Mask] = {}
    for code in spec.codelist("mask-method"):
        function = getattr(identifiers, "mask_" + code.replace("-", "_"), None)
        if callable(function):
            found[code] = function
    return found


@functools.cache
def _citizen_id_paths(spec: Spec, resource_type: str) -> tuple[StepPath, ...]:
    """Where ``resource_type`` holds full citizen ID numbers (masked with the citizen-ID mask)."""
    masks = _masks(spec)
    return tuple(
        path
        for path, _, method in compile_plan(spec, resource_type).pipl
        if method is not None and masks.get(method) is identifiers.mask_citizen_id
    )


def rekey_pseudonyms(document: dict[str, Any], key: bytes, *, key_id: str | None = None
                     ) -> dict[str, Any]:
    """``document`` (changed in place) with the pseudonym beside every valid full citizen ID
    number recomputed with ``key``, named ``key_id`` when the city names its keys
    (/req/residents/pseudonym-consistent, /req/privacy/pseudonym-key-id).

    A city that rotates its key, a server seeding examples made with another key, and a test
    kit holding the city's key all need the same recomputation. Which members hold the numbers
    the schema says (``x-pipl-mask``); documents that are not resources of an installed version,
    and numbers that are not valid, are left alone.
    """
    try:
        spec, _ = _reading(document)
    except UnknownSpecVersion:
        return document
    rt = document.get("resourceType")
    if rt not in spec.resource_types:
        return document
    for path in _citizen_id_paths(spec, str(rt)):
        for where, number in values_at(document, path):
            holder = _parent(document, where)
            if (isinstance(holder, dict) and "pseudonym" in holder and isinstance(number, str)
                    and identifiers.is_valid_citizen_id(number)):
                holder["pseudonym"] = identifiers.citizen_id_pseudonym(number, key,
                                                                       key_id=key_id)
    return document


def audience_for_role(role: str, version: str = DEFAULT_VERSION) -> str:
    """The audience a principal of ``role`` reads as (``privacy.json`` ``roleAudience``)."""
    try:
        return load_spec(version).audience_of(role)
    except SpecError:
        raise RedactionError(f"unknown role {role!r}") from None


def redact(
    document: Mapping[str, Any] | str | bytes,
    audience: str,
    *,
    pseudonym_key: bytes | None = None,
    pseudonym_key_id: str | None = None,
    profile: RedactionProfile | None = None,
    copy: bool = True,
) -> dict[str, Any]:
    """A copy of ``document`` as ``audience`` may see it; the input is not modified.

    Each field tagged ``personal`` or ``sensitive`` is kept, masked or removed as
    ``privacy.json`` of the document's version says for the audience, and a tagged member
    outside what the audience needs (``necessaryMembers``) is removed; items whose
    ``visibility`` the audience may not see are removed. With ``pseudonym_key``, a removed
    citizen ID leaves its keyed pseudonym behind so records can still be joined, naming
    ``pseudonym_key_id`` when the city names its keys (/req/privacy/pseudonym-key-id). The
    result validates against the same schema.

    A document of a later minor version is read as the highest installed minor of its major;
    members that version does not know carry no tag to go by, so only an audience that keeps
    every class of information receives them.

    With ``profile``, an extension the city registers is redacted by the ``x-pipl`` tags of its
    schema (/req/profiles/document-extensions); every other extension stays wholly sensitive.

    ``document`` may be given as its JSON text: it is parsed once and redacted in place, with
    no copy made (a server holding documents as text redacts a page of them that way). With
    ``copy=False`` a ``dict`` the caller hands over is itself redacted and returned, for a
    caller that has just parsed it and needs it no more.
    """
    owned: dict[str, Any] | None = None
    if isinstance(document, (str, bytes)):
        parsed = orjson.loads(document)
        if not isinstance(parsed, dict):
            raise RedactionError("not a resource document: the JSON text is no object")
        document = owned = parsed
    elif not copy and isinstance(document, dict):
        owned = document
    spec, newer = _reading(document)
    policy = spec.privacy
    if audience not in policy["treatments"]:
        raise RedactionError(f"unknown audience {audience!r}; expected one of {spec.audiences}")
    rt = str(document.get("resourceType"))
    if rt not in spec.resource_types:
        raise RedactionError(f"not a resource document: resourceType {rt!r}")
    treatments: Mapping[str, str] = policy["treatments"][audience]
    visible, keeps_all = _audience(spec, audience)
    plan = compile_plan(spec, rt)
    masks = _masks(spec)
    out: dict[str, Any] = owned if owned is not None else json_copy(dict(document))
    if newer and not keeps_all:
        _drop_unknown_members(spec, rt, out)

    keyed: Keyed = (pseudonym_key, pseudonym_key_id) if pseudonym_key is not None else None
    holes: list[list[Any]] = []
    # What is taken out to be treated apart goes back where it was: members keep their order,
    # so a document redaction leaves alone is the same text.
    members = list(out)
    extensions = list(out["extensions"]) if isinstance(out.get("extensions"), dict) else []
    registered = _take_registered(out, rt, profile)
    # Items hidden by visibility first: what is gone needs no masking.
    for path in plan.visibility:
        _drop_invisible(out, path, visible, holes)
    _drop_unnecessary(out, spec, audience, rt)
    consented = _take_consented(spec, out)
    _apply_tags(out, plan, treatments, masks, keyed, holes)
    out.update(consented)
    if not keeps_all:
        _redact_details(spec, rt, out, treatments, masks, keyed, holes)
    _put_back_registered(spec, out, registered, treatments, masks, keyed, holes)
    for hole in holes:
        hole[:] = [v for v in hole if v is not _HOLE]
    _unique_again(out, plan)
    if registered and isinstance(out.get("extensions"), dict):
        out["extensions"] = _in_order(out["extensions"], extensions)
    return _in_order(out, members) if consented or registered else out


def _put_back_registered(spec: Spec, out: dict[str, Any],
                         registered: Mapping[str, tuple[Mapping[str, Any], Any]],
                         treatments: Mapping[str, str], masks: Mapping[str, Mask],
                         keyed: Keyed, holes: list[list[Any]]) -> None:
    """Put the registered extensions taken out of ``out`` back, each redacted by its schema's
    tags; what the tags do not cover is sensitive (/req/profiles/document-extensions), however
    the schema came to admit it."""
    untold = treatments.get(_untold(spec), "remove") != "keep"
    for key, (schema, value) in registered.items():
        held = {_HELD: value}
        text = json.dumps(schema, sort_keys=True)
        if untold:
            _drop_untold(held, _extension_cover(spec, text), holes)
        _apply_extension_tags(held, _extension_plan(spec, text), treatments, masks, keyed,
                              holes)
        if _HELD in held:
            kept = out.get("extensions")
            out["extensions"] = {**(kept if isinstance(kept, dict) else {}), key: held[_HELD]}


def _in_order(node: dict[str, Any], order: list[str]) -> dict[str, Any]:
    """``node`` with the members named in ``order`` in that order, any others after them."""
    placed = {name: node[name] for name in order if name in node}
    return {**placed, **{name: value for name, value in node.items() if name not in placed}}


def without_personal(document: Mapping[str, Any], *,
                     profile: RedactionProfile | None = None) -> dict[str, Any]:
    """A copy of ``document`` with every value tagged ``personal`` or ``sensitive`` removed,
    masking methods notwithstanding: in its members, its history events' ``details`` and its
    unregistered extensions (read as sensitive); with ``profile``, an extension the city
    registers loses what its schema's tags mark so, and what they do not cover. Nothing else
    is touched, so every item of every visibility stays. This is what a record keeps once its
    retention period is over (/req/privacy/retention); the result validates against the same
    schema, and its history chain still verifies (the integrity form leaves tagged members
    out).
    """
    spec, newer = _reading(document)
    rt = str(document.get("resourceType"))
    if rt not in spec.resource_types:
        raise RedactionError(f"not a resource document: resourceType {rt!r}")
    treatments = _personal_removed(spec)
    out: dict[str, Any] = json_copy(dict(document))
    if newer:
        _drop_unknown_members(spec, rt, out)
    holes: list[list[Any]] = []
    members = list(out)
    extensions = list(out["extensions"]) if isinstance(out.get("extensions"), dict) else []
    registered = _take_registered(out, rt, profile)
    plan = compile_plan(spec, rt)
    _apply_tags(out, plan, treatments, _NO_MASKS, None, holes)
    _redact_details(spec, rt, out, treatments, _NO_MASKS, None, holes)
    _put_back_registered(spec, out, registered, treatments, _NO_MASKS, None, holes)
    for hole in holes:
        hole[:] = [v for v in hole if v is not _HOLE]
    _unique_again(out, plan)
    if registered and isinstance(out.get("extensions"), dict):
        out["extensions"] = _in_order(out["extensions"], extensions)
    return _in_order(out, members) if registered else out


def _unique_again(out: dict[str, Any], plan: Plan) -> None:
    """Keep the first of items that removing or masking tagged values made equal, in the
    arrays whose items must be unique (``plan.unique``): two references to one record that
    differed only by their ``display`` are one reference once it is gone, and the result
    still validates against its schema."""
    if not plan.unique:
        return
    found: list[list[Any]] = []
    _unique_arrays(tuple(plan.unique))(out, found)
    for items in reversed(found):  # the inner arrays first: their items are in the outer's
        ids = {item.get("id") for item in items
               if isinstance(item, dict) and isinstance(item.get("id"), str)}
        if len(ids) == len(items):
            continue  # each item has an id of its own: none can be equal to another
        seen: set[bytes] = set()
        kept = []
        for item in items:
            key = orjson.dumps(item, option=orjson.OPT_SORT_KEYS)
            if key not in seen:
                seen.add(key)
                kept.append(item)
        if len(kept) < len(items):
            items[:] = kept


@functools.cache
def _unique_arrays(paths: tuple[StepPath, ...]) -> Callable[[Any, list[list[Any]]], None]:
    """``walk(doc, found)``: appends to ``found`` every array of two items or more at
    ``paths``, an array before the arrays inside its items."""
    def visit(_: list[Any], var: str, where: str, pad: str) -> list[str]:
        return [f"{pad}if {var}.__class__ is list and len({var}) > 1:",
                f"{pad}    found.append({var})"]

    walk: Callable[[Any, list[list[Any]]], None] = compile_walk(
        [(path, None) for path in paths], visit, {}, "<arrays of unique items>",
        extra="found")
    return walk


#: no mask methods: every tagged value the treatments do not keep is removed
_NO_MASKS: Mapping[str, Mask] = MappingProxyType({})


@functools.cache
def _personal_removed(spec: Spec) -> Mapping[str, str]:
    """The treatments :func:`without_personal` applies: a class every audience keeps is no
    personal information; every other class goes."""
    by_audience = spec.privacy["treatments"].values()
    classes = {pipl for t in by_audience for pipl in t}
    return MappingProxyType({
        pipl: "keep" if all(t.get(pipl) == "keep" for t in by_audience) else "remove"
        for pipl in classes})


def published_with_consent(document: Mapping[str, Any]) -> frozenset[str]:
    """The top-level members of ``document`` its author agreed to publish (``privacy.json``
    ``publishedWithConsent``; /req/voice/public-without-author): every audience receives them
    whatever their tags say. Empty unless the member the rule's ``agreedWhen`` names is true."""
    try:
        spec, _ = _reading(document)
    except UnknownSpecVersion:
        return frozenset()
    return _consented(spec, document)


def _consented(spec: Spec, document: Mapping[str, Any]) -> frozenset[str]:
    """:func:`published_with_consent` of ``document``, read by ``spec``."""
    rule = (spec.privacy.get("publishedWithConsent") or {}).get(document.get("resourceType"))
    if not isinstance(rule, Mapping) or document.get(str(rule["agreedWhen"]).lstrip("/")) \
            is not True:
        return frozenset()
    return frozenset(str(m).lstrip("/") for m in rule.get("members", ()))


def _take_consented(spec: Spec, doc: dict[str, Any]) -> dict[str, Any]:
    """Take out of ``doc`` the members its author agreed to publish, so no tag removes them."""
    return {name: doc.pop(name) for name in _consented(spec, doc) if name in doc}


def _drop_unnecessary(doc: dict[str, Any], spec: Spec, audience: str, resource_type: str
                      ) -> None:
    """Remove the tagged top-level members ``privacy.json`` ``necessaryMembers`` does not list
    for ``audience`` and the resource type (/req/privacy/intake-minimum); without a list for
    them, nothing."""
    for name in _unnecessary(spec, audience, resource_type):
        doc.pop(name, None)


@functools.cache
def _unnecessary(spec: Spec, audience: str, resource_type: str) -> tuple[str, ...]:
    """What :func:`_drop_unnecessary` removes."""
    policy = spec.privacy
    necessary = ((policy.get("necessaryMembers") or {}).get(audience) or {}).get(resource_type)
    if not isinstance(necessary, list):
        return ()
    listed = frozenset(necessary)
    return tuple(dict.fromkeys(
        path[0] for path, _, _ in compile_plan(spec, resource_type).pipl
        if path and isinstance(path[0], str) and path[0] not in listed))


def _take_registered(doc: dict[str, Any], resource_type: str,
                     profile: RedactionProfile | None
                     ) -> dict[str, tuple[Mapping[str, Any], Any]]:
    """Take the extensions ``profile`` registers out of ``doc``: key → (schema, value)."""
    extensions = doc.get("extensions")
    if profile is None or not isinstance(extensions, dict):
        return {}
    taken: dict[str, tuple[Mapping[str, Any], Any]] = {}
    for key in list(extensions):
        registered = profile.extensions.get(key)
        if registered is not None and registered.applies_to(resource_type):
            taken[key] = (registered.schema, extensions.pop(key))
    if taken and not extensions:
        doc.pop("extensions")
    return taken


@functools.lru_cache(maxsize=256)
def _extension_plan(spec: Spec, schema_text: str) -> Plan:
    """The tags of one registered extension's schema (given as canonical JSON text). A schema
    whose references do not resolve (a profile no check has passed) says nothing reliable:
    the whole extension is then sensitive, as an unregistered one is."""
    try:
        return compile_schema_plan(spec, json.loads(schema_text), _HELD)
    except Unresolvable:
        return Plan(pipl=[((_HELD,), _untold(spec), None)])


@functools.cache
def _untold(spec: Spec) -> str:
    """The class of what a registered extension's tags do not tell: the one the fewest
    audiences keep (sensitive), as an unregistered extension is read."""
    kept = spec.privacy["treatments"].values()
    classes = list(spec.codelist("pipl-class"))
    return min(reversed(classes), key=lambda c: sum(t.get(c) == "keep" for t in kept))


#: a node of :func:`_extension_cover`'s tree whose value a tag covers
_COVERED: Any = object()


@functools.lru_cache(maxsize=256)
def _extension_cover(spec: Spec, schema_text: str) -> dict[Any, Any]:
    """The tagged paths of one registered extension's schema as a tree of steps (member
    names, None for every item of an array, :class:`Members` for the members an object admits
    by pattern or beyond those it names); a node holding ``_COVERED`` is tagged."""
    root: dict[Any, Any] = {}
    plan = _extension_plan(spec, schema_text)
    for path, _, _ in [*plan.pipl, *plan.open]:
        node = root
        for step in path:
            node = node.setdefault(step, {})
        node[_COVERED] = True
    return root


def _drop_untold(held: dict[str, Any], cover: dict[Any, Any], holes: list[list[Any]]) -> None:
    """Remove from ``held`` each value no tag of ``cover`` is on or above: a member its schema
    does not describe, an item of an array whose items it does not describe, or a value whose
    shape the tags do not follow. A member may be described more than once (by its name and
    by a pattern, say): it is told when any of them is tagged on or above it."""
    def below(nodes: list[dict[Any, Any]], member: str) -> list[dict[Any, Any]]:
        return [sub for node in nodes for step, sub in node.items()
                if step == member or (isinstance(step, Members) and step.matches(member))]

    def walk(parent: Any, name: str | int, value: Any, nodes: list[dict[Any, Any]]) -> None:
        if not nodes:
            _remove_at(parent, name, holes)
        elif any(_COVERED in node for node in nodes):
            return
        elif isinstance(value, dict):
            for member in list(value):
                walk(value, member, value[member], below(nodes, member))
        elif isinstance(value, list) and any(None in node for node in nodes):
            items = [node[None] for node in nodes if None in node]
            for index, item in enumerate(value):
                walk(value, index, item, items)
        else:
            _remove_at(parent, name, holes)

    walk(held, _HELD, held[_HELD], [cover[_HELD]] if _HELD in cover else [])


def _apply_extension_tags(held: dict[str, Any], plan: Plan, treatments: Mapping[str, str],
                          masks: Mapping[str, Mask], key: Keyed, holes: list[list[Any]]
                          ) -> None:
    """Apply the tags of a registered extension's ``plan`` to ``held``. Tags on members an
    object admits by ``patternProperties`` or ``additionalProperties`` name no member the
    compiled walk could test by name: such a plan is acted on path by path, shallow paths
    first (what the compiled walk is held to), each reaching every member its step finds."""
    if not plan.open:
        _apply_tags(held, plan, treatments, masks, key, holes)
        return
    paths: list[tuple[tuple[OpenStep, ...], str, str | None]] = [*plan.pipl, *plan.open]
    for path, pipl, method in sorted(paths, key=lambda p: len(p[0])):
        treatment = treatments.get(pipl, "remove")
        if treatment == "keep":
            continue
        mask = masks.get(method) if treatment == "mask" and method is not None else None
        for where, value in list(values_at(held, path)):
            parent = _parent(held, where)
            if value is _HOLE:
                continue
            if mask is not None:
                _mask_at(parent, where[-1], value, mask, key, holes)
            else:
                _remove_at(parent, where[-1], holes)


def _redact_details(spec: Spec, resource_type: str, doc: dict[str, Any],
                    treatments: Mapping[str, str], masks: Mapping[str, Mask],
                    key: Keyed, holes: list[list[Any]]) -> None:
    """Apply the tags of each history event's ``details`` (its action's details schema in the
    lifecycle table); details of an action the table does not know carry no tag to go by and
    are removed. Like the resource schemas, details schemas never require a tagged member."""
    plans = compile_details_plans(spec, resource_type)
    for event in doc.get("history") or ():
        if not isinstance(event, dict) or not isinstance(event.get("details"), dict):
            continue
        plan = plans.get(str(event.get("action")))
        if plan is None:
            event.pop("details")
            continue
        _apply_tags(event["details"], plan, treatments, masks, key, holes)


def _apply_tags(node: dict[str, Any], plan: Plan, treatments: Mapping[str, str],
                masks: Mapping[str, Mask], key: Keyed, holes: list[list[Any]]) -> None:
    """Keep, mask or remove each value ``plan`` tags in ``node`` as ``treatments`` say."""
    _walker(plan, treatments, masks)(node, key, holes)


#: a compiled tag tree: what to do with the value at this node (each a mask, or None to
#: remove; empty: keep it and look inside), and the steps below it that lead to an action
_Actions = tuple[Mask | None, ...]
_Tree = tuple[_Actions, tuple[tuple[Step, "_Tree"], ...]]
#: a compiled walk: acts on a document as a tree says (the key of pseudonyms, the arrays
#: holding placeholders of removed items)
_Walk = Callable[[Any, Keyed, list[list[Any]]], None]
#: (id of the plan, treatments, masks) → (the plan, kept alive so its id stays its own;
#: its tree)
_TREES: dict[tuple[int, tuple[tuple[str, str], ...], int], tuple[Plan, _Tree]] = {}


def _tag_tree(plan: Plan, treatments: Mapping[str, str], masks: Mapping[str, Mask]
              ) -> tuple[Plan, _Tree]:
    """The paths of ``plan`` as one tree for ``treatments``, compiled once: a document is
    walked once, each step however many tagged paths share it, and only down paths that
    change something (a class the audience keeps costs nothing).

    It does what acting on the plan's paths one by one, shallow ones first, does: a value
    masked or removed takes its children with it, and siblings are treated in the plan's
    order (masking a citizen ID adds ``masked`` and ``pseudonym`` beside it, which a later
    sibling's tag may then treat).
    """
    cache_key = (id(plan), tuple(sorted(treatments.items())), id(masks))
    found = _TREES.get(cache_key)
    if found is not None and found[0] is plan:
        return found
    if any(not path for path, _, _ in plan.pipl):
        raise RedactionError("a tag on a whole document leaves nothing to redact it into")
    root: dict[Any, Any] = {}
    for n, (path, pipl, method) in enumerate(plan.pipl):
        treatment = treatments.get(pipl, "remove")
        node = root
        for step in path:
            node = node.setdefault(step, {})
        if treatment != "keep":
            mask = masks.get(method) if treatment == "mask" and method is not None else None
            node.setdefault(_ACTIONS, []).append((n, mask))

    def build(node: dict[Any, Any]) -> tuple[float, _Tree] | None:
        """The tree of ``node`` and where in the plan it first acts (siblings act in that
        order)."""
        actions = node.get(_ACTIONS)
        if actions:  # what is masked or removed has nothing left to look inside
            return actions[0][0], (tuple(mask for _, mask in actions), ())
        built = [(first, step, tree) for step, sub in node.items() if step is not _ACTIONS
                 for found in (build(sub),) if found is not None for first, tree in (found,)]
        built.sort(key=lambda b: b[0])
        if not built:
            return None
        return built[0][0], ((), tuple((step, tree) for _, step, tree in built))

    found_tree = build(root)
    tree: _Tree = found_tree[1] if found_tree is not None else ((), ())
    _TREES[cache_key] = (plan, tree)
    return plan, tree


_ACTIONS: Any = object()


#: (ids of the plan, treatments and masks) → (those three, kept alive so that their ids stay
#: theirs; the walk compiled for them)
_WALKERS: dict[tuple[int, int, int], tuple[Plan, Mapping[str, str], Mapping[str, Mask],
                                           _Walk]] = {}
#: walks kept at the most; a caller passing new treatments every time empties the table
_MOST_WALKERS = 256


def _walker(plan: Plan, treatments: Mapping[str, str], masks: Mapping[str, Mask]) -> _Walk:
    """The walk of :func:`_tag_tree`'s tree, compiled once into straight-line code (each
    document of a page costs its steps, not a generic walk's loops and unpacking). Found by
    identity: every caller passes the spec's own treatments and masks."""
    found = _WALKERS.get((id(plan), id(treatments), id(masks)))
    if found is not None and found[0] is plan and found[1] is treatments and found[2] is masks:
        return found[3]
    _, (_, below) = _tag_tree(plan, treatments, masks)
    walk = _compile_walk(below)
    if len(_WALKERS) >= _MOST_WALKERS:
        _WALKERS.clear()
    _WALKERS[(id(plan), id(treatments), id(masks))] = (plan, treatments, masks, walk)
    return walk


def _compile_walk(children: tuple[tuple[Step, _Tree], ...]) -> _Walk:
    """The walk along ``children`` (steps below a document's root and their trees) written out
    as one function: a member tested by name, an action done where it stands, an array's
    items in a loop of their own. Siblings act in the tree's order, each finding what the
    ones before it left (a masked citizen ID's pseudonym beside it); an item removed is a
    placeholder until the walk is over, so that later paths' indexes hold. The reference it is
    held to, byte for byte, is acting on the tagged paths one by one."""
    lines = ["def walk(node, key, holes):"]
    names: dict[str, Any] = {"_act": _act, "_mask_at": _mask_at}
    counter = iter(range(1 << 30))

    def constant(value: Any) -> str:
        name = f"c{next(counter)}"
        names[name] = value
        return name

    def emit(var: str, steps: tuple[tuple[Step, _Tree], ...], depth: int) -> None:
        pad = "    " * (depth + 1)
        if depth >= _INLINED_DEPTH:
            lines.append(f"{pad}{constant(_compile_walk(steps))}({var}, key, holes)")
            return
        members = [(step, tree) for step, tree in steps if step is not None]
        items = [tree for step, tree in steps if step is None]
        if members:
            lines.append(f"{pad}if isinstance({var}, dict):")
            for step, (actions, below) in members:
                name = repr(step)
                if actions == (None,):  # removed: a dict holds no placeholders
                    lines.append(f"{pad}    {var}.pop({name}, None)")
                elif len(actions) == 1:
                    lines.append(f"{pad}    if {name} in {var}: _mask_at({var}, {name}, "
                                 f"{var}[{name}], {constant(actions[0])}, key, holes)")
                elif actions:
                    lines.append(f"{pad}    if {name} in {var}: "
                                 f"_act({var}, {name}, {constant(actions)}, key, holes)")
                else:
                    child = f"v{next(counter)}"
                    lines.append(f"{pad}    {child} = {var}.get({name})")
                    lines.append(f"{pad}    if {child} is not None:")
                    emit(child, below, depth + 2)
        for actions, below in items:  # at most one: the steps of a tree are distinct
            j, child = f"j{next(counter)}", f"v{next(counter)}"
            lines.append(f"{pad}{'elif' if members else 'if'} isinstance({var}, list):")
            lines.append(f"{pad}    for {j} in range(len({var})):")
            if actions:  # _act passes over an item an earlier tag removed
                lines.append(f"{pad}        _act({var}, {j}, {constant(actions)}, key, holes)")
            else:  # a removed item's placeholder is neither a dict nor a list
                lines.append(f"{pad}        {child} = {var}[{j}]")
                emit(child, below, depth + 2)

    emit("node", children, 0)
    if len(lines) == 1:
        lines.append("    return None")
    exec(compile("\n".join(lines) + "\n", "<redaction walk>", "exec"), names)
    walk: _Walk = names["walk"]
    return walk


#: the levels one compiled walk nests before handing the rest to a walk of its own: Python
#: compiles at most 20 loops and 100 indentation levels nested in one function
_INLINED_DEPTH = 36


def _act(parent: Any, name: str | int, actions: _Actions, key: Keyed,
         holes: list[list[Any]]) -> None:
    for mask in actions:
        # a second tag on the same path treats what the first one left
        if isinstance(parent, dict) and name not in parent:
            return
        value = parent[name]
        if value is _HOLE:
            return
        if mask is not None:
            _mask_at(parent, name, value, mask, key, holes)
        else:
            _remove_at(parent, name, holes)


def _parent(doc: Any, where: tuple[str | int, ...]) -> Any:
    node = doc
    for step in where[:-1]:
        node = node[step]
    return node


def _remove(doc: dict[str, Any], where: tuple[str | int, ...], holes: list[list[Any]]) -> None:
    _remove_at(_parent(doc, where), where[-1], holes)


def _remove_at(parent: Any, key: str | int, holes: list[list[Any]]) -> None:
    if isinstance(parent, dict):
        parent.pop(key, None)
    elif isinstance(parent, list) and isinstance(key, int):
        # A placeholder keeps the other paths' indexes valid until the walk is over.
        parent[key] = _HOLE
        holes.append(parent)


_HOLE: Any = object()


def _mask_at(parent: Any, name: str | int, value: Any, mask: Mask, key: Keyed,
             holes: list[list[Any]]) -> None:
    if not isinstance(value, str):
        _remove_at(parent, name, holes)
        return
    try:
        if mask is identifiers.mask_citizen_id and isinstance(parent, dict):
            # The full number goes; its masked form and pseudonym stay beside it.
            masked = mask(value)
            parent.pop(name, None)
            parent.setdefault("masked", masked)
            if key is not None:
                parent.setdefault("pseudonym", identifiers.citizen_id_pseudonym(
                    value, key[0], key_id=key[1]))
            return
        parent[name] = mask(value)
    except (identifiers.IdentifierError, ValueError):
        _remove_at(parent, name, holes)


def _drop_invisible(doc: dict[str, Any], path: StepPath, visible: frozenset[str | None],
                    holes: list[list[Any]]) -> None:
    for where, node in list(values_at(doc, path)):
        # A visibility that is no code (an object, say, in a document not yet validated)
        # is none of those the audience sees.
        if isinstance(node, dict) and not (isinstance(node.get("visibility"), str | None)
                                           and node.get("visibility") in visible):
            _remove(doc, where, holes)


def _drop_unknown_members(spec: Spec, resource_type: str, document: dict[str, Any]) -> None:
    """Remove the members of closed objects that ``spec`` does not define (a later minor's)."""
    from ..models import Flat, schema_set  # the schema walk; needed only for later minors

    schemas = schema_set(spec.version)

    def walk(node: Any, flat: Flat) -> None:
        if isinstance(node, dict):
            if flat.allowed is not None:
                for name in [n for n in node if n not in flat.allowed]:
                    del node[name]
            for name, child in node.items():
                if name in flat.properties or flat.additional:
                    walk(child, schemas.property_flat(flat, name))
        elif isinstance(node, list) and flat.items:
            item = schemas.item_flat(flat)
            for child in node:
                walk(child, item)

    walk(document, schemas.flatten(schemas.document(resource_type)))
