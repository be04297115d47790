"""Walking the JSON Schemas: every field with its path, requirement, PIPL tag and codelist.

A schema's own ``$defs`` are expanded in place, so every field appears under the path it
has in a document (``identityDocuments[].number``). A ``$ref`` to another schema file is a
link, not an expansion, except where the caller asks to follow it (the PIPL field list
needs full document paths).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from smartcommunity.pointers import resolve_pointer
from smartcommunity.validation import values_at as _values_at

from .source import Spec, schema_files

Path = tuple[str, ...]


def pipl_classes(spec: Spec) -> tuple[str, ...]:
    """The PIPL classes from the least to the most protected (``pipl-class.csv`` order)."""
    return tuple(spec.codelist("pipl-class"))


def split_ref(ref: str, current: str, spec: Spec) -> tuple[str, str]:
    """``(file, fragment)`` that a ``$ref`` written in ``current`` points at."""
    target, _, fragment = ref.partition("#")
    if not target:
        return current, fragment
    if target.startswith("http"):
        for name, schema in spec.schemas.items():
            if schema.get("$id") == target:
                return name, fragment
        return target, fragment
    # Relative to the referring file: meta-schemas reach shared types through ``../``.
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(current), target))
    if joined in spec.schemas:
        return joined, fragment
    return target.rsplit("/", 1)[-1], fragment


def schema_at(schema: dict[str, Any], fragment: str) -> dict[str, Any]:
    """The subschema a ``$ref`` fragment (a JSON Pointer) names in ``schema``."""
    node = resolve_pointer(schema, fragment)
    if not isinstance(node, dict):
        raise ValueError(f"pointer {fragment!r} does not lead to a schema")
    return node


def deref_local(
    node: dict[str, Any], file: str, spec: Spec, seen: frozenset[str] = frozenset()
) -> tuple[dict[str, Any], str | None]:
    """Follow ``$ref``s that stay inside ``file``; return the node and the last local def name.

    Stops at a reference to another file, which the caller links to.
    """
    name: str | None = None
    while isinstance(node.get("$ref"), str):
        target, fragment = split_ref(node["$ref"], file, spec)
        if target != file or not fragment.startswith("/$defs/") or fragment in seen:
            break
        seen = seen | {fragment}
        name = fragment.rsplit("/", 1)[-1]
        node = schema_at(spec.schemas[file], fragment)
    return node, name


@dataclass
class Field:
    """One property of a schema at one path."""

    file: str
    path: Path
    node: dict[str, Any]
    #: the node after following local ``$ref``s (its def gives title/description as fallback)
    resolved: dict[str, Any]
    required: str  # "yes", "conditional" or ""
    pipl: str | None
    inherited_pipl: str | None
    def_name: str | None = None
    #: the external schema file this field's value is, when it is one
    link_file: str | None = None
    #: the local definition the items of an array field are
    item_def_name: str | None = None
    #: the path of this property on the page of the file that defines it
    local_path: Path = ()
    children: list[Field] = field(default_factory=list)
    #: the members a linked (not expanded) object type requires, in its property order
    linked_required: tuple[str, ...] = ()

    @property
    def codelist(self) -> str | None:
        items = self.node.get("items")
        items = items if isinstance(items, dict) else {}
        value = (
            self.node.get("x-codelist")
            or self.resolved.get("x-codelist")
            or items.get("x-codelist")
        )
        return str(value) if value else None

    @property
    def open_codelist(self) -> bool | None:
        for candidate in (self.node, self.resolved, self.node.get("items") or {}):
            if isinstance(candidate, dict) and "x-openCodelist" in candidate:
                return bool(candidate["x-openCodelist"])
        return None

    @property
    def mask(self) -> str | None:
        value = self.node.get("x-pipl-mask") or self.resolved.get("x-pipl-mask")
        return str(value) if value else None

    @property
    def title(self) -> str:
        return str(self.node.get("title") or self.resolved.get("title") or "")

    @property
    def description(self) -> str:
        return str(self.node.get("description") or self.resolved.get("description") or "")


def required_names(node: dict[str, Any]) -> tuple[set[str], set[str]]:
    """Names always required by an object schema, and names required only under a condition."""
    always = set(node.get("required", ()))
    conditional: set[str] = set()

    def collect(sub: Any) -> None:
        if not isinstance(sub, dict):
            return
        conditional.update(sub.get("required", ()))
        for key in ("then", "else"):
            collect(sub.get(key))
        for key in ("anyOf", "oneOf", "allOf"):
            for item in sub.get(key, ()):
                collect(item)

    for key in ("then", "else"):
        collect(node.get(key))
    for key in ("anyOf", "oneOf"):
        for item in node.get(key, ()):
            collect(item)
    for item in node.get("allOf", ()):
        if isinstance(item, dict):
            if "if" in item:
                collect(item.get("then"))
                collect(item.get("else"))
            else:
                always.update(item.get("required", ()))
                for key in ("anyOf", "oneOf"):
                    for sub in item.get(key, ()):
                        collect(sub)
    return always, conditional - always


def effective_required(
    node: dict[str, Any], file: str, spec: Spec, depth: int = 0
) -> tuple[set[str], set[str]]:
    """:func:`required_names` of an object schema together with the schemas it is built on.

    A member that restates another schema's properties next to a ``$ref`` to it (the
    department of an assignment is an organisation reference) or extends it with ``allOf``
    keeps that schema's required members: a document without them is invalid.
    """
    always, conditional = required_names(node)
    refs = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
    for ref in [*refs, *base_refs(node)]:
        target, fragment = split_ref(ref, file, spec)
        if target not in spec.schemas or depth > 8 or fragment.startswith("/properties/"):
            continue
        sub = schema_at(spec.schemas[target], fragment) if fragment else spec.schemas[target]
        more, maybe = effective_required(sub, target, spec, depth + 1)
        always |= more
        conditional |= maybe
    return always, conditional - always


def object_of(
    node: dict[str, Any], file: str, spec: Spec, follow_external: bool
) -> tuple[dict[str, Any] | None, str, str | None]:
    """The object schema whose properties a field's value has, if it is expanded here.

    Returns ``(object schema or None, file it lives in, local def name)``.
    """
    resolved, def_name = deref_local(node, file, spec)
    if "properties" in resolved:
        # Properties declared here win over a sibling reference: they restate it locally.
        return resolved, file, def_name
    ref = resolved.get("$ref")
    if not isinstance(ref, str):
        # ``allOf: [{"$ref": other}, {rules}]`` is the other schema with extra rules.
        refs = base_refs(resolved)
        ref = refs[0] if len(refs) == 1 else None
    hops = 0
    while isinstance(ref, str) and hops < 10:
        hops += 1
        target, fragment = split_ref(ref, file, spec)
        if target == file:
            break
        if not follow_external or target not in spec.schemas:
            return None, file, def_name
        sub = schema_at(spec.schemas[target], fragment) if fragment else spec.schemas[target]
        sub, inner = deref_local(sub, target, spec)
        if "properties" in sub:
            return sub, target, inner
        # A pointer to a property of another schema may itself be a reference: follow it.
        file, resolved, def_name, ref = target, sub, inner, sub.get("$ref")
    if isinstance(ref, str):
        return None, file, def_name
    if "properties" in resolved:
        return resolved, file, def_name
    return None, file, def_name


def external_file(node: dict[str, Any], file: str, spec: Spec) -> str | None:
    """The other schema file a field's value is (not ``datatypes.json`` primitives)."""
    resolved, _ = deref_local(node, file, spec)
    ref = resolved.get("$ref")
    if isinstance(ref, str):
        target, fragment = split_ref(ref, file, spec)
        if target != file and not fragment and target in spec.schemas:
            return target
    return None


def base_refs(node: dict[str, Any]) -> list[str]:
    """The ``$ref``s of the ``allOf`` members that are (or extend) another schema."""
    return [
        i["$ref"]
        for i in node.get("allOf", ())
        if isinstance(i, dict) and isinstance(i.get("$ref"), str)
    ]


def is_object_schema(node: dict[str, Any]) -> bool:
    """True for an object with properties, or one built as ``allOf`` of another schema."""
    return "properties" in node or bool(base_refs(node))


def walk(
    spec: Spec,
    file: str,
    root: dict[str, Any] | None = None,
    *,
    follow_external: bool = False,
    path: Path = (),
    local: Path | None = None,
    inherited: str | None = None,
    stack: tuple[str, ...] = (),
) -> list[Field]:
    """Fields of an object schema, depth first; arrays of objects continue with ``[]``."""
    node = root if root is not None else spec.schemas[file]
    local = path if local is None else local
    ranks = pipl_classes(spec)
    always, conditional = effective_required(node, file, spec)
    fields: list[Field] = []
    for name, prop in node.get("properties", {}).items():
        if not isinstance(prop, dict):
            continue
        resolved, def_name = deref_local(prop, file, spec)
        own = prop.get("x-pipl") or resolved.get("x-pipl")
        req = "yes" if name in always else "conditional" if name in conditional else ""
        f = Field(
            file,
            (*path, name),
            prop,
            resolved,
            req,
            own,
            inherited,
            def_name,
            external_file(prop, file, spec),
            local_path=(*local, name),
        )
        fields.append(f)
        # A value is at least as protected as the member holding it.
        down = max((own, inherited), key=lambda c: -1 if c is None else ranks.index(c))
        # Descend into the value: an object, or the items of an array.
        value_node, value_path, value_local = resolved, (*path, name), (*local, name)
        if resolved.get("type") == "array" or "items" in resolved:
            items = resolved.get("items")
            if not isinstance(items, dict):
                continue
            value_node, value_path, value_local = items, (*value_path, "[]"), (*value_local, "[]")
            item_resolved, f.item_def_name = deref_local(items, file, spec)
            # An array of codes or strings has nothing below it; its codelist is on the row.
            if not is_object_schema(item_resolved) and not isinstance(
                item_resolved.get("$ref"), str
            ):
                continue
        entries = value_node.get("additionalProperties") if "properties" not in value_node else None
        if isinstance(entries, dict):
            # A map keyed by name (such as the preset's principals): its values have fields.
            value_node, value_path, value_local = entries, (*value_path, "*"), (*value_local, "*")
        obj, obj_file, obj_def = object_of(value_node, file, spec, follow_external)
        if obj is None:
            linked, linked_file, _ = object_of(value_node, file, spec, True)
            if linked is not None:
                # Shown as a link: the row says what the linked type requires.
                f.linked_required = tuple(
                    n
                    for n in linked.get("properties", {})
                    if n in effective_required(linked, linked_file, spec)[0]
                )
            continue
        key = f"{obj_file}#{obj_def or id(obj)}"
        if key in stack:
            continue
        # Entering another file starts that file's own paths again.
        sub_local = value_local if obj_file == file else _entry_path(value_node, file, spec)
        f.children = walk(
            spec,
            obj_file,
            obj,
            follow_external=follow_external,
            path=value_path,
            local=sub_local,
            inherited=down,
            stack=(*stack, key),
        )
    extra = node.get("additionalProperties")
    if node.get("properties") and isinstance(extra, dict) and extra:
        # Named members beside a map of further entries (a resource type's rules next to
        # the audiences they apply to): the entries are one more row, ``*``.
        resolved, def_name = deref_local(extra, file, spec)
        entry = Field(
            file,
            (*path, "*"),
            extra,
            resolved,
            "",
            None,
            inherited,
            def_name,
            external_file(extra, file, spec),
            local_path=(*local, "*"),
        )
        fields.append(entry)
        obj, obj_file, obj_def = object_of(extra, file, spec, follow_external)
        key = f"{obj_file}#{obj_def or id(obj)}"
        if obj is not None and key not in stack:
            entry.children = walk(
                spec,
                obj_file,
                obj,
                follow_external=follow_external,
                path=(*path, "*"),
                local=(*local, "*") if obj_file == file else _entry_path(extra, file, spec),
                inherited=inherited,
                stack=(*stack, key),
            )
    return fields


def _entry_path(node: dict[str, Any], file: str, spec: Spec) -> Path:
    """Local path prefix where a reference into another file lands (its root or a def)."""
    resolved, _ = deref_local(node, file, spec)
    ref = resolved.get("$ref")
    if not isinstance(ref, str):
        refs = base_refs(resolved)
        ref = refs[0] if refs else None
    if isinstance(ref, str):
        _, fragment = split_ref(ref, file, spec)
        if fragment.startswith("/$defs/"):
            return (f"$defs/{fragment.rsplit('/', 1)[-1]}",)
    return ()


def flatten(fields: list[Field]) -> Iterator[Field]:
    for f in fields:
        yield f
        yield from flatten(f.children)


def values_at(instance: Any, path: Path) -> Iterator[Any]:
    """Every value found at ``path`` in an instance (``[]`` steps fan out over arrays)."""
    steps = tuple(None if step == "[]" else step for step in path)
    for _, value in _values_at(instance, steps):
        yield value


def instances_by_schema(spec: Spec) -> dict[tuple[str, str], list[Any]]:
    """Values in the examples, grouped by the schema (file, fragment) that describes them.

    Walks every example along its schema, following ``$ref``s into other files, so a shared
    type's page can show values of real documents.
    """
    found: dict[tuple[str, str], list[Any]] = {}

    def visit(file: str, node: Any, instance: Any, depth: int) -> None:
        if not isinstance(node, dict) or depth > 40:
            return
        ref = node.get("$ref")
        if isinstance(ref, str):
            target, fragment = split_ref(ref, file, spec)
            if target in spec.schemas:
                found.setdefault((target, fragment), []).append(instance)
                sub = (
                    schema_at(spec.schemas[target], fragment) if fragment else spec.schemas[target]
                )
                visit(target, sub, instance, depth + 1)
        for sub in node.get("allOf", ()):
            visit(file, sub, instance, depth + 1)
        if isinstance(instance, dict):
            for name, prop in node.get("properties", {}).items():
                if name in instance:
                    visit(file, prop, instance[name], depth + 1)
        if isinstance(instance, list) and isinstance(node.get("items"), dict):
            for item in instance:
                visit(file, node["items"], item, depth + 1)

    for _, doc in spec.examples():
        file = spec.resource_schemas.get(str(doc.get("resourceType")))
        if file:
            found.setdefault((file, ""), []).append(doc)
            visit(file, spec.schemas[file], doc, 0)
    return found


def schema_users(spec: Spec) -> dict[str, set[str]]:
    """For each schema file, the other schema files that ``$ref`` it."""
    users: dict[str, set[str]] = {name: set() for name in schema_files(spec)}

    def scan(node: Any, file: str) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                target, _ = split_ref(ref, file, spec)
                if target in users and target != file:
                    users[target].add(file)
            for value in node.values():
                scan(value, file)
        elif isinstance(node, list):
            for value in node:
                scan(value, file)

    for name in users:
        scan(spec.schemas[name], name)
    return users
