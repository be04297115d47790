"""A check plan compiled from a resource schema: where the schema-tagged values are.

Rules that depend only on what the schema says about a value (its shared datatype, its
codelist, a ``deprecated`` flag) are found by walking the schema once, not by listing paths by
hand, so a new field of a known kind is checked without touching the library.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from referencing.jsonschema import DRAFT202012

from ..specification import Spec

#: A path step: a member name, or None for "every item of an array".
Step = str | None


@dataclass(frozen=True, slots=True)
class Members:
    """A path step over the members of an object its schema admits without naming them: those
    whose names ``pattern`` finds (``patternProperties``), or, with no ``pattern``, those
    neither in ``named`` nor found by any of ``patterns`` (``additionalProperties`` beside the
    same schema's ``properties`` and ``patternProperties``). Only the plans of registered
    extensions take such steps (:func:`compile_schema_plan`)."""

    pattern: str | None = None
    named: frozenset[str] = frozenset()
    patterns: tuple[str, ...] = ()

    def matches(self, name: str) -> bool:
        """Whether the member ``name`` is one of these, as a validator finds it (a search, as
        ``patternProperties`` asks). A pattern Python cannot read finds nothing, and excludes
        nothing from the members beyond it: the tag beyond them then still applies."""
        if self.pattern is not None:
            return _found(self.pattern, name) is True
        return name not in self.named and not any(_found(p, name) for p in self.patterns)


def _found(pattern: str, name: str) -> bool | None:
    """Whether ``pattern`` finds something in ``name``; None when it is no pattern."""
    try:
        return re.search(pattern, name) is not None
    except re.error:
        return None


#: a step of a registered extension's plan: a member, every item, or members found by a rule
OpenStep = Step | Members


@dataclass(frozen=True, slots=True)
class Leaf:
    """A value the library checks beyond the schema."""

    path: tuple[Step, ...]
    kind: str  # "datatype:<name>", "codelist", "deprecated"
    codelist: str | None = None
    open_codelist: bool = False


@dataclass(slots=True)
class Plan:
    leaves: list[Leaf] = field(default_factory=list)
    #: path → x-pipl class, x-pipl-mask (for redaction), shallow paths first
    pipl: list[tuple[tuple[Step, ...], str, str | None]] = field(default_factory=list)
    #: path → visibility-bearing objects (arrays of items with a "visibility" member), shallow
    #: paths first
    visibility: list[tuple[Step, ...]] = field(default_factory=list)
    #: free-form members (extension values, action details) whose nesting the schema leaves open
    freeform: list[tuple[Step, ...]] = field(default_factory=list)
    #: path → x-pipl class, x-pipl-mask, for the tags that apply to members an object admits by
    #: ``patternProperties`` or ``additionalProperties`` (:class:`Members` steps), shallow paths
    #: first; only a registered extension's plan has them
    open: list[tuple[tuple[OpenStep, ...], str, str | None]] = field(default_factory=list)
    #: arrays whose items must be unique (``uniqueItems``) and may hold a tagged value,
    #: deepest first: removing or masking it can make two items equal
    unique: list[tuple[Step, ...]] = field(default_factory=list)


#: datatypes with rules of their own; names and titles for /req/core/invisible-characters
#: (a test proves this covers the datatypes that requirement's parameters name)
_DATATYPES = ("divisionCode", "uscc", "citizenId", "dateTime", "shortText", "personName")
#: shared types whose objects carry rules of their own
_SHARED_OBJECTS = ("consent.json", "meta.json")


@functools.cache
def compile_plan(spec: Spec, resource_type: str) -> Plan:
    """The plan of ``resource_type`` (compiled once per spec; callers must not modify it)."""
    plan = Plan()
    root = spec.schema(resource_type)
    resolver = spec.registry.resolver(base_uri=root["$id"])
    _walk(root, (), resolver, plan, frozenset())
    plan.leaves = list(dict.fromkeys(plan.leaves))
    _finish(plan)
    plan.freeform = list(dict.fromkeys(plan.freeform))
    return plan


@functools.cache
def compile_details_plans(spec: Spec, resource_type: str) -> dict[str, Plan]:
    """Action → the plan of the ``details`` its history events carry, from the lifecycle
    table's details schema (an empty plan for an action without one; an action the table does
    not know is absent). Tags there (``x-pipl``) say what of an event's details is personal,
    as the resource schema does for its own members."""
    table = spec.lifecycles.get(resource_type) or {}
    plans: dict[str, Plan] = {}
    for row in table.get("transitions", ()):
        schema = row.get("details")
        plan = plans[str(row["action"])] = Plan()
        if not isinstance(schema, dict):
            continue
        resolver = spec.registry.resolver(base_uri=spec.schema(resource_type)["$id"])
        _walk(schema, (), resolver, plan, frozenset())
        _finish(plan)
    return plans


def schema_resolver(spec: Spec, schema: Mapping[str, Any]) -> Any:
    """The resolver of a free-standing ``schema`` (a city's registered extension): its
    references reach the specification's schemas and the schema itself (``#/$defs/…``), as a
    validator given the spec's registry reads them. Nothing else is ever fetched: a reference
    elsewhere raises ``referencing.exceptions.Unresolvable``."""
    resource = DRAFT202012.create_resource(schema)
    base = resource.id() or ""
    return spec.registry.with_resource(base, resource).crawl().resolver(base_uri=base)


def compile_schema_plan(spec: Spec, schema: dict[str, Any], member: str) -> Plan:
    """The plan of a free-standing ``schema`` (a city's registered extension) as the value of
    ``member`` of an object, so a tag on the schema's root has a member to act on. Its
    references are read with :func:`schema_resolver`. The tags of the members an object admits
    by ``patternProperties`` or ``additionalProperties`` are in ``open``."""
    plan = Plan()
    resolver = schema_resolver(spec, schema)
    _walk({"type": "object", "properties": {member: schema}}, (), resolver, plan, frozenset(),
          open_members=True)
    _finish(plan)
    return plan


def _finish(plan: Plan) -> None:
    """Each path once, shallow ones first: redaction acts on a parent before its children (a
    removed parent takes them with it) without sorting on every document."""
    plan.pipl = sorted(dict.fromkeys(plan.pipl), key=lambda p: len(p[0]))
    plan.visibility = sorted(dict.fromkeys(plan.visibility), key=len)
    plan.open = sorted(dict.fromkeys(plan.open), key=lambda p: len(p[0]))
    tagged = [p for p, _, _ in plan.pipl]
    plan.unique = sorted({u for u in plan.unique
                          if any(t[:len(u)] == u for t in tagged)},
                         key=lambda u: (-len(u), u))


def _walk(
    node: Any, path: tuple[Step, ...], resolver: Any, plan: Plan, seen: frozenset[str],
    *, open_members: bool = False
) -> None:
    if not isinstance(node, dict):
        return
    if open_members:
        _walk_open(node, path, resolver, plan, seen)
    if (
        node.get("type") == "object"
        and "properties" not in node
        and node.get("additionalProperties") is not False
    ):
        plan.freeform.append(path)
    if "x-pipl" in node:
        plan.pipl.append((path, node["x-pipl"], node.get("x-pipl-mask")))
    if node.get("uniqueItems") is True:
        plan.unique.append(path)
    if "x-codelist" in node:
        plan.leaves.append(
            Leaf(path, "codelist", node["x-codelist"], bool(node.get("x-openCodelist")))
        )
    if node.get("deprecated") is True and path:
        plan.leaves.append(Leaf(path, "deprecated"))
    ref = node.get("$ref")
    if isinstance(ref, str):
        fragment = ref.partition("#")[2]
        if fragment.startswith("/$defs/") and fragment[7:] in _DATATYPES:
            plan.leaves.append(Leaf(path, "datatype:" + fragment[7:]))
        target = ref.partition("#")[0].rsplit("/", 1)[-1]
        if target in _SHARED_OBJECTS and not fragment:
            plan.leaves.append(Leaf(path, "object:" + target.removesuffix(".json")))
        resolved = resolver.lookup(ref)
        key = str(id(resolved.contents))
        if key not in seen:
            _walk(resolved.contents, path, resolved.resolver, plan, seen | {key},
                  open_members=open_members)
    props = node.get("properties")
    if isinstance(props, dict):
        if "visibility" in props and path:
            plan.visibility.append(path)
        for name, sub in props.items():
            _walk(sub, (*path, name), resolver, plan, seen, open_members=open_members)
    items = node.get("items")
    if isinstance(items, dict):
        _walk(items, (*path, None), resolver, plan, seen, open_members=open_members)
    for keyword in ("allOf", "anyOf", "oneOf"):
        for sub in node.get(keyword, ()):
            _walk(sub, path, resolver, plan, seen, open_members=open_members)
    for keyword in ("then", "else"):
        if isinstance(node.get(keyword), dict):
            _walk(node[keyword], path, resolver, plan, seen, open_members=open_members)


def _walk_open(node: dict[str, Any], path: tuple[OpenStep, ...], resolver: Any, plan: Plan,
               seen: frozenset[str]) -> None:
    """The tags below the members ``node`` admits by ``patternProperties`` or
    ``additionalProperties``, each from a :class:`Members` step on, into ``plan.open``."""
    patterns = node.get("patternProperties")
    patterns = patterns if isinstance(patterns, dict) else {}
    named = node.get("properties")
    steps: list[tuple[Members, Any]] = [(Members(pattern), sub) for pattern, sub in
                                        patterns.items()]
    if isinstance(node.get("additionalProperties"), dict):
        steps.append((Members(None, frozenset(named if isinstance(named, dict) else ()),
                              tuple(patterns)), node["additionalProperties"]))
    for step, sub in steps:
        _walk_beyond(sub, (*path, step), resolver, plan, seen)


def _walk_beyond(node: Any, path: tuple[OpenStep, ...], resolver: Any, plan: Plan,
                 seen: frozenset[str]) -> None:
    """What :func:`_walk` records of redaction's tags, below a :class:`Members` step."""
    if not isinstance(node, dict):
        return
    if "x-pipl" in node:
        plan.open.append((path, node["x-pipl"], node.get("x-pipl-mask")))
    ref = node.get("$ref")
    if isinstance(ref, str):
        resolved = resolver.lookup(ref)
        key = str(id(resolved.contents))
        if key not in seen:
            _walk_beyond(resolved.contents, path, resolved.resolver, plan, seen | {key})
    props = node.get("properties")
    if isinstance(props, dict):
        for name, sub in props.items():
            _walk_beyond(sub, (*path, name), resolver, plan, seen)
    items = node.get("items")
    if isinstance(items, dict):
        _walk_beyond(items, (*path, None), resolver, plan, seen)
    for keyword in ("allOf", "anyOf", "oneOf"):
        for sub in node.get(keyword, ()):
            _walk_beyond(sub, path, resolver, plan, seen)
    for keyword in ("then", "else"):
        if isinstance(node.get(keyword), dict):
            _walk_beyond(node[keyword], path, resolver, plan, seen)
    _walk_open(node, path, resolver, plan, seen)


def values_at(document: Any, path: tuple[OpenStep, ...]
              ) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every ``(concrete path, value)`` the step path reaches in ``document``."""
    stack: list[tuple[tuple[str | int, ...], Any, int]] = [((), document, 0)]
    n = len(path)
    while stack:
        where, node, i = stack.pop()
        if i == n:
            yield where, node
            continue
        step = path[i]
        if step is None:
            if isinstance(node, list):
                for j in range(len(node) - 1, -1, -1):
                    stack.append(((*where, j), node[j], i + 1))
        elif isinstance(step, Members):
            if isinstance(node, dict):
                for name in reversed([n for n in node if step.matches(n)]):
                    stack.append(((*where, name), node[name], i + 1))
        elif isinstance(node, dict) and step in node:
            stack.append(((*where, step), node[step], i + 1))


#: ``reach(document)``: the first concrete path of a value a test picked, or None
Reach = Callable[[Any], tuple[str | int, ...] | None]


def compile_reach(paths: list[tuple[Step, ...]], test: Callable[[Any, int], bool],
                  name: str) -> Reach:
    """A function of straight-line code returning the first concrete path, in the order of
    ``paths`` (and of array items), whose value ``test(value, len(path))`` picks; what
    :func:`values_at` would find, without walking the paths step by step for each document."""

    def found(lengths: list[int], var: str, where: str, pad: str) -> list[str]:
        return [f"{pad}if test({var}, {lengths[0]}):", f"{pad}    return {where}"]

    reach: Reach = compile_walk([(path, len(path)) for path in paths], found, {"test": test},
                                f"<reach of {name}>")
    return reach


#: a path tree's key for what stands at the node's own path (steps are member names and None)
_HERE: Any = object()


def compile_walk(items: Iterable[tuple[tuple[Step, ...], Any]],
                 visit: Callable[[list[Any], str, str, str], list[str]],
                 namespace: Mapping[str, Any], filename: str, *, extra: str = "") -> Any:
    """A function ``(doc, <extra parameters>)`` that walks ``doc`` along the paths of
    ``items`` in straight-line code, each step once however many paths share it.
    Where values stand at a path, it runs the lines ``visit(the items of that path, the
    value's variable, its concrete path's expression, the indentation)`` gives, in item order;
    it returns None at the end. ``namespace`` holds the names those lines use."""
    tree: dict[Any, Any] = {}
    for path, item in items:
        node = tree
        for step in path:
            node = node.setdefault(step, {})
        node.setdefault(_HERE, []).append(item)
    lines = [f"def walk(doc{', ' + extra if extra else ''}):"]

    def emit(node: dict[Any, Any], var: str, path: list[str], depth: int) -> None:
        pad = "    " * (depth + 1)
        if _HERE in node:
            lines.extend(visit(node[_HERE], var, "(" + "".join(p + ", " for p in path) + ")",
                               pad))
        members = [(k, sub) for k, sub in node.items() if isinstance(k, str)]
        if members:
            lines.append(f"{pad}if isinstance({var}, dict):")
            for member, sub in members:
                child = f"v{depth + 1}"
                if _HERE in sub:
                    lines.append(f"{pad}    {child} = {var}.get({member!r}, ABSENT)")
                    lines.append(f"{pad}    if {child} is not ABSENT:")
                    emit(sub, child, [*path, repr(member)], depth + 2)
                else:  # only containers below: an absent member is neither
                    lines.append(f"{pad}    {child} = {var}.get({member!r})")
                    emit(sub, child, [*path, repr(member)], depth + 1)
        if None in node:
            index, child = f"i{depth}", f"v{depth + 1}"
            lines.append(f"{pad}if isinstance({var}, list):")
            lines.append(f"{pad}    for {index}, {child} in enumerate({var}):")
            emit(node[None], child, [*path, index], depth + 2)

    emit(tree, "doc", [], 0)
    lines.append("    return None")
    scope = {**namespace, "ABSENT": _HERE}
    exec(compile("\n".join(lines), filename, "exec"), scope)
    return scope["walk"]
