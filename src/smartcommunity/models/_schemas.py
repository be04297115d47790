"""Schema tooling shared by the model generator and the hypothesis strategies.

:class:`SchemaSet` holds the schemas of one spec version with every ``$ref`` made absolute, so a
fragment can be lifted out of its file and still resolve. :func:`SchemaSet.flatten` merges a
schema with everything it pulls in through ``$ref`` and ``allOf`` into one :class:`Flat` view;
conditionals (``if``/``then``/``else``), ``anyOf``, ``oneOf`` and ``not`` stay as they are, for
the caller to construct or check. Only the subset of JSON Schema 2020-12 that the standard's
schemas use is understood; anything else raises, so a new keyword cannot be silently ignored.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag, urljoin

from jsonschema import Draft202012Validator

from ..specification import DEFAULT_VERSION, Spec, load_spec

__all__ = [
    "Flat",
    "Schema",
    "SchemaSet",
    "absolutize",
    "is_annotation_only",
    "json_equal",
    "json_key",
    "schema_set",
]

#: Keywords that only annotate: they never change what is valid.
ANNOTATION_KEYWORDS = frozenset(
    {
        "title",
        "description",
        "$comment",
        "examples",
        "default",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$schema",
        "$id",
        "$defs",
    }
)
#: Keywords :meth:`SchemaSet.flatten` understands.
KNOWN_KEYWORDS = ANNOTATION_KEYWORDS | {
    "$ref",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "type",
    "enum",
    "const",
    "properties",
    "required",
    "additionalProperties",
    "propertyNames",
    "minProperties",
    "maxProperties",
    "dependentRequired",
    "dependentSchemas",
    "pattern",
    "format",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "items",
    "minItems",
    "maxItems",
    "uniqueItems",
    "contains",
    "minContains",
    "maxContains",
}

Schema = dict[str, Any]


def json_key(value: Any) -> str:
    """A canonical text for a JSON value, equal exactly when JSON Schema calls values equal.

    Integral floats count as integers (``1 == 1.0``) and booleans are never numbers.
    """
    return json.dumps(_canonical(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _canonical(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def json_equal(a: Any, b: Any) -> bool:
    """True when JSON Schema calls ``a`` and ``b`` equal (see :func:`json_key`)."""
    return json_key(a) == json_key(b)


@dataclass
class Flat:
    """One schema merged with what it references: the constraints that hold together."""

    types: frozenset[str] | None = None
    enum: list[Any] | None = None
    properties: dict[str, list[Schema]] = field(default_factory=dict)
    required: list[str] = field(default_factory=list)
    #: names allowed when some part says ``additionalProperties: false`` (None: open)
    allowed: frozenset[str] | None = None
    additional: list[Schema] = field(default_factory=list)
    property_names: list[Schema] = field(default_factory=list)
    min_properties: int | None = None
    max_properties: int | None = None
    dependent_required: dict[str, list[str]] = field(default_factory=dict)
    dependent_schemas: dict[str, list[Schema]] = field(default_factory=dict)
    patterns: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    min_length: int | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None
    items: list[Schema] = field(default_factory=list)
    min_items: int | None = None
    max_items: int | None = None
    unique_items: bool = False
    #: (schema, minContains, maxContains)
    contains: list[tuple[Schema, int, int | None]] = field(default_factory=list)
    conditionals: list[tuple[Schema, Schema | None, Schema | None]] = field(default_factory=list)
    any_of: list[list[Schema]] = field(default_factory=list)
    one_of: list[list[Schema]] = field(default_factory=list)
    nots: list[Schema] = field(default_factory=list)
    #: annotations of the outermost schema that states them
    title: str | None = None
    description: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    #: absolute URIs of the ``$ref`` targets merged in, outermost first
    refs: list[str] = field(default_factory=list)
    #: the raw schemas merged, for checking a value against all of them
    sources: list[Schema] = field(default_factory=list)

    # -- views ---------------------------------------------------------------------------
    @property
    def is_object(self) -> bool:
        return self.types is not None and self.types <= {"object"}

    @property
    def is_array(self) -> bool:
        return self.types is not None and self.types <= {"array"}

    @property
    def property_names_in_order(self) -> list[str]:
        names = list(self.properties)
        if self.allowed is not None:
            names = [n for n in names if n in self.allowed]
        return names

    @property
    def has_conditions(self) -> bool:
        return bool(
            self.conditionals
            or self.any_of
            or self.one_of
            or self.nots
            or self.dependent_required
            or self.dependent_schemas
            or self.contains
        )

    def as_schema(self) -> Schema:
        """The merged schema as one JSON Schema (``allOf`` of its sources)."""
        if len(self.sources) == 1:
            return self.sources[0]
        return {"allOf": list(self.sources)}


class SchemaSet:
    """The schemas of one spec version, with absolute ``$ref`` s, and a flattener over them."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.documents: dict[str, Schema] = {}
        for schema in spec.schemas.values():
            base = schema["$id"]
            self.documents[base] = absolutize(copy.deepcopy(schema), base)
        self._flat_cache: dict[tuple[int, ...], Flat] = {}
        self._validators: dict[int, Draft202012Validator] = {}
        self._keep: list[object] = []

    # -- checking ------------------------------------------------------------------------
    def validator(self, schema: Schema) -> Draft202012Validator:
        """The reference validator of ``schema`` (every format enforced), cached per schema
        object: the generator and the strategies both ask whether a value holds."""
        found = self._validators.get(id(schema))
        if found is None:
            found = Draft202012Validator(
                schema,
                registry=self.spec.registry,
                format_checker=Draft202012Validator.FORMAT_CHECKER,
            )
            self._validators[id(schema)] = found
            self._keep.append(schema)  # the cache is keyed by ids: keep the schema alive
        return found

    # -- references ----------------------------------------------------------------------
    def resolve(self, uri: str) -> Schema:
        """The schema an absolute URI (with an optional JSON Pointer fragment) names."""
        doc_uri, fragment = urldefrag(uri)
        try:
            node: Any = self.documents[doc_uri]
        except KeyError:
            raise KeyError(f"no schema {doc_uri!r} in spec {self.spec.version}") from None
        if fragment:
            for token in fragment.lstrip("/").split("/"):
                token = token.replace("~1", "/").replace("~0", "~")
                node = node[int(token)] if isinstance(node, list) else node[token]
        if not isinstance(node, dict):
            raise KeyError(f"{uri!r} is not a schema")
        return node

    def document(self, name: str) -> Schema:
        """A schema document by resource type or file name."""
        return self.documents[self.spec.schema_uri(name)]

    # -- flattening ----------------------------------------------------------------------
    def flatten(self, *schemas: Schema) -> Flat:
        """Merge ``schemas`` (all must hold) with what they reference into one view."""
        key = tuple(id(s) for s in schemas)
        cached = self._flat_cache.get(key)
        if cached is not None:
            return cached
        flat = Flat()
        for schema in schemas:
            self._merge(flat, schema, depth=0)
        self._flat_cache[key] = flat
        self._keep.append(schemas)  # the cache is keyed by ids: keep the schemas alive
        return flat

    def _merge(self, flat: Flat, schema: Schema, depth: int) -> None:
        if depth > 40:
            raise ValueError("schema references nest too deeply")
        if not isinstance(schema, dict):
            if schema is True:
                return
            raise TypeError(f"unsupported schema {schema!r}")
        unknown = {k for k in schema if k not in KNOWN_KEYWORDS and not k.startswith("x-")}
        if unknown:
            raise ValueError(f"unsupported JSON Schema keywords {sorted(unknown)}")
        flat.sources.append(schema)
        if flat.title is None and "title" in schema:
            flat.title = schema["title"]
        if flat.description is None and "description" in schema:
            flat.description = schema["description"]
        for k, v in schema.items():
            if k.startswith("x-"):
                flat.extras.setdefault(k, v)
        if "type" in schema:
            t = schema["type"]
            flat.types = _meet_types(flat.types, frozenset([t] if isinstance(t, str) else t))
        if "const" in schema:
            flat.enum = _meet_enum(flat.enum, [schema["const"]])
        if "enum" in schema:
            flat.enum = _meet_enum(flat.enum, list(schema["enum"]))
        for name, sub in (schema.get("properties") or {}).items():
            flat.properties.setdefault(name, []).append(sub)
        for name in schema.get("required", ()):
            if name not in flat.required:
                flat.required.append(name)
        ap = schema.get("additionalProperties")
        if ap is False:
            names = frozenset(schema.get("properties") or {})
            flat.allowed = names if flat.allowed is None else flat.allowed & names
        elif isinstance(ap, dict):
            flat.additional.append(ap)
        if "propertyNames" in schema:
            flat.property_names.append(schema["propertyNames"])
        flat.min_properties = _max(flat.min_properties, schema.get("minProperties"))
        flat.max_properties = _min(flat.max_properties, schema.get("maxProperties"))
        for name, needs in (schema.get("dependentRequired") or {}).items():
            flat.dependent_required.setdefault(name, []).extend(needs)
        for name, sub in (schema.get("dependentSchemas") or {}).items():
            flat.dependent_schemas.setdefault(name, []).append(sub)
        if "pattern" in schema and schema["pattern"] not in flat.patterns:
            flat.patterns.append(schema["pattern"])
        if "format" in schema and schema["format"] not in flat.formats:
            flat.formats.append(schema["format"])
        flat.min_length = _max(flat.min_length, schema.get("minLength"))
        flat.max_length = _min(flat.max_length, schema.get("maxLength"))
        flat.minimum = _max(flat.minimum, schema.get("minimum"))
        flat.maximum = _min(flat.maximum, schema.get("maximum"))
        flat.exclusive_minimum = _max(flat.exclusive_minimum, schema.get("exclusiveMinimum"))
        flat.exclusive_maximum = _min(flat.exclusive_maximum, schema.get("exclusiveMaximum"))
        if "items" in schema:
            flat.items.append(schema["items"])
        flat.min_items = _max(flat.min_items, schema.get("minItems"))
        flat.max_items = _min(flat.max_items, schema.get("maxItems"))
        if schema.get("uniqueItems"):
            flat.unique_items = True
        if "contains" in schema:
            flat.contains.append(
                (schema["contains"], schema.get("minContains", 1), schema.get("maxContains"))
            )
        if "if" in schema and ("then" in schema or "else" in schema):
            flat.conditionals.append((schema["if"], schema.get("then"), schema.get("else")))
        if "anyOf" in schema:
            flat.any_of.append(list(schema["anyOf"]))
        if "oneOf" in schema:
            flat.one_of.append(list(schema["oneOf"]))
        if "not" in schema:
            flat.nots.append(schema["not"])
        if "$ref" in schema:
            uri = schema["$ref"]
            flat.refs.append(uri)
            self._merge(flat, self.resolve(uri), depth + 1)
        for sub in schema.get("allOf", ()):
            self._merge(flat, sub, depth + 1)

    def property_flat(self, flat: Flat, name: str, *more: Schema) -> Flat:
        """The merged schema of member ``name`` of an object whose view is ``flat``."""
        subs = list(flat.properties.get(name, ()))
        if not subs and name not in flat.properties:
            subs = list(flat.additional)
        return self.flatten(*subs, *more)

    def item_flat(self, flat: Flat, *more: Schema) -> Flat:
        return self.flatten(*flat.items, *more)


def absolutize(node: Any, base: str) -> Any:
    """Rewrite every ``$ref`` in ``node`` (in place) as an absolute URI against ``base``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                node[key] = urljoin(base, value)
            elif key in {"enum", "const", "examples", "default"}:
                continue
            else:
                absolutize(value, base)
    elif isinstance(node, list):
        for item in node:
            absolutize(item, base)
    return node


def _meet_types(a: frozenset[str] | None, b: frozenset[str]) -> frozenset[str]:
    if a is None:
        return b
    out = set(a & b)
    if "integer" in a and "number" in b:
        out.add("integer")
    if "integer" in b and "number" in a:
        out.add("integer")
    return frozenset(out)


def _meet_enum(a: list[Any] | None, b: list[Any]) -> list[Any]:
    if a is None:
        return b
    keys = {json_key(v) for v in b}
    return [v for v in a if json_key(v) in keys]


def _max(a: Any, b: Any) -> Any:
    """The tighter of two lower bounds (None: no bound)."""
    return b if a is None else a if b is None else max(a, b)


def _min(a: Any, b: Any) -> Any:
    """The tighter of two upper bounds (None: no bound)."""
    return b if a is None else a if b is None else min(a, b)


def is_annotation_only(schema: Schema) -> bool:
    """True when a schema states nothing but annotations (a pure ``$ref`` with a title)."""
    return all(k in ANNOTATION_KEYWORDS or k.startswith("x-") for k in schema)


def iter_schemas(node: Any) -> Iterator[Schema]:
    """Every schema object nested in ``node`` (including itself)."""
    if isinstance(node, dict):
        yield node
        for key, value in node.items():
            if key in {"enum", "const", "examples", "default", "required"}:
                continue
            if key in {"properties", "$defs", "dependentSchemas"} and isinstance(value, dict):
                for sub in value.values():
                    yield from iter_schemas(sub)
            elif isinstance(value, dict | list):
                yield from iter_schemas(value)
    elif isinstance(node, list):
        for item in node:
            yield from iter_schemas(item)


def first_ref_only(schemas: Sequence[Schema]) -> str | None:
    """The ``$ref`` when ``schemas`` is one schema that is a ``$ref`` plus annotations."""
    if len(schemas) != 1:
        return None
    schema = schemas[0]
    ref = schema.get("$ref")
    if isinstance(ref, str) and is_annotation_only(
        {k: v for k, v in schema.items() if k != "$ref"}
    ):
        return ref
    return None


def schema_set(version: str = DEFAULT_VERSION) -> SchemaSet:
    """The cached :class:`SchemaSet` of an installed spec version."""
    return _schema_set(load_spec(version))


@functools.cache
def _schema_set(spec: Spec) -> SchemaSet:
    # keyed by the loaded spec, so another spec root gets its own set
    return SchemaSet(spec)
