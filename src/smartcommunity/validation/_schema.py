"""The JSON Schema layer: a compiled validator (jsonschema-rs) with every format enforced.

python-jsonschema stays the oracle in the tests; this engine is the fast path, and a
differential test proves it never accepts what the oracle rejects.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema_rs

from ..pointers import escape_token, pointer
from ..specification import Spec
from ._report import Finding


def schema_problems(validator: Any, instance: Any
                    ) -> Iterator[tuple[tuple[str | int, ...], str, dict[str, Any]]]:
    """``(path inside instance, schema.* code, template values)`` of each error a compiled
    jsonschema-rs ``validator`` finds, worded like every other schema error."""
    for error in validator.iter_errors(instance):
        kind = error.kind
        name: str = kind.name
        path: tuple[str | int, ...] = tuple(error.instance_path)
        values = _kind_values(kind)
        if name == "required":
            prop = str(values.get("property", ""))
            yield (*path, prop), "schema.required", {"property": prop}
        elif name in {"additionalProperties", "unevaluatedProperties"}:
            for prop in values.get("unexpected") or [""]:
                yield (*path, prop), "schema.unknown-member", {"property": prop}
        else:
            yield path, "schema." + _kebab(name), {"value": _short_json(error.instance),
                                                  **values}


def _kebab(name: str) -> str:
    out = "".join("-" + c.lower() if c.isupper() else c for c in name)
    return out.lstrip("-")


class SchemaEngine:
    """Compiled validators for the resource schemas of one spec version.

    ``findings`` reports every schema error as a :class:`Finding` with its JSON Pointer,
    schema path, ``schema.*`` code and the requirement the schema annotates there.
    """

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self._requirements: dict[tuple[str, str, tuple[str | int, ...]], str | None] = {}
        self._keywords = {
            keyword: req.id for req in spec.requirements.values()
            for keyword in req.parameters.get("schemaKeywords", ())
        }
        registry = jsonschema_rs.Registry(
            [(schema["$id"], schema) for schema in spec.schemas.values()]
        )
        self._validators = {
            rt: jsonschema_rs.validator_for(
                spec.schema(rt), registry=registry, validate_formats=True,
                ignore_unknown_formats=False,
                # Our messages come from the spec's templates; not echoing the instance into
                # the engine's own message text saves a third of the cost of each error.
                mask="…",
            )
            for rt in spec.resource_types
        }

    def validator(self, resource_type: str) -> Any:
        """The compiled jsonschema-rs validator of ``resource_type``."""
        return self._validators[resource_type]

    def is_valid(self, resource_type: str, document: Any) -> bool:
        """Whether ``document`` meets the schema of ``resource_type``."""
        return bool(self._validators[resource_type].is_valid(document))

    def findings(self, resource_type: str, document: Any) -> list[Finding]:
        """Every schema error of ``document``, one finding each."""
        found = [f for e in self._validators[resource_type].iter_errors(document)
                 for f in self._to_findings(resource_type, e)]
        # A timestamp's pattern and format say the same thing twice; keep the format's words.
        formats = {f.pointer for f in found if f.code == "schema.format"}
        if formats:
            found = [f for f in found if not (f.code == "schema.pattern" and f.pointer in formats)]
        return found

    def requirement(self, resource_type: str, keyword: str,
                    evaluation_path: tuple[str | int, ...]) -> str | None:
        """The requirement a schema error stands for: the ``x-requirement`` of the nearest
        annotated schema node on its evaluation path (a string, or an object keyed by
        keyword), else the requirement whose ``schemaKeywords`` parameter names the keyword."""
        key = (resource_type, keyword, evaluation_path)
        if key not in self._requirements:
            found = _annotation(self.spec, resource_type, keyword, evaluation_path)
            self._requirements[key] = found or self._keywords.get(keyword)
        return self._requirements[key]

    def _to_findings(self, resource_type: str, error: Any) -> Iterator[Finding]:
        kind = error.kind
        name: str = kind.name
        path = error.instance_path
        schema_path = error.schema_path
        requirement = self.requirement(resource_type, name, tuple(error.evaluation_path))
        schema_ptr = pointer(schema_path)
        version = self.spec.version
        if name == "required":
            prop = str(kind.property)
            yield Finding(
                pointer(path) + "/" + escape_token(prop), "schema.required",
                values={"property": prop}, requirement=requirement, schema_path=schema_ptr,
                spec_version=version,
            )
            return
        if name in {"additionalProperties", "unevaluatedProperties"}:
            for prop in getattr(kind, "unexpected", None) or [""]:
                yield Finding(
                    pointer(path) + "/" + escape_token(prop), "schema.unknown-member",
                    values={"property": prop}, requirement=requirement,
                    schema_path=schema_ptr, spec_version=version,
                )
            return
        code = "schema." + _kebab(name)
        yield Finding(
            pointer(path), code, values=_LazyValues(error), requirement=requirement,
            schema_path=schema_ptr, spec_version=version,
        )


class _LazyValues(Mapping[str, Any]):
    """Template values of a schema error, extracted only when a message is formatted."""

    def __init__(self, error: Any) -> None:
        self._error: Any = error
        self._values: dict[str, Any] = {}

    def _filled(self) -> dict[str, Any]:
        if self._error is not None:
            error, self._error = self._error, None
            self._values = {"value": _short_json(error.instance), **_kind_values(error.kind)}
        return self._values

    def __getitem__(self, key: str) -> Any:
        return self._filled()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._filled())

    def __len__(self) -> int:
        return len(self._filled())


def _kind_values(kind: Any) -> dict[str, Any]:
    try:
        raw = kind.as_dict()
    except Exception:  # a kind without structured data still gets a message
        return {}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "options" or key == "expected_value":
            out[key] = _short_json(value)
        elif key == "types" or key == "expected":
            out["types"] = value if isinstance(value, str) else ", ".join(map(str, value))
        else:
            out[key] = value
    return out


def _annotation(spec: Spec, resource_type: str, keyword: str,
                evaluation_path: tuple[str | int, ...]) -> str | None:
    """Walk the evaluation path from the resource schema, following ``$ref``s, and keep the
    nearest ``x-requirement`` that covers ``keyword``."""
    node: Any = spec.schema(resource_type)
    resolver: Any = spec.registry.resolver(base_uri=node["$id"])
    found = _covering(node, keyword, None)
    for token in evaluation_path:
        if token == "$ref" and isinstance(node, dict) and isinstance(node.get("$ref"), str):
            resolved = resolver.lookup(node["$ref"])
            node, resolver = resolved.contents, resolved.resolver
        elif isinstance(node, dict) and token in node:  # noqa: SIM114 - narrows per type
            node = node[token]
        elif isinstance(node, list) and isinstance(token, int) and 0 <= token < len(node):
            node = node[token]
        else:
            break  # an engine's path step the schema text does not have
        found = _covering(node, keyword, found)
    return found


def _covering(node: Any, keyword: str, found: str | None) -> str | None:
    annotation = node.get("x-requirement") if isinstance(node, dict) else None
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, dict) and isinstance(annotation.get(keyword), str):
        return str(annotation[keyword])
    return found


def _short_json(value: Any) -> str:
    if isinstance(value, str) and len(value) <= 78:
        return '"' + value + '"'
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
