"""The JSON Schema layer: a compiled validator (jsonschema-rs) with every format enforced.

python-jsonschema stays the oracle in the tests; this engine is the fast path, and a
differential test proves it never accepts what the oracle rejects.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import jsonschema_rs

from ..pointers import pointer
from ..specification import Spec
from ._explain import Explainer, Fault, excerpt, schema_nodes
from ._report import Finding


def schema_problems(validator: Any, instance: Any
                    ) -> Iterator[tuple[tuple[str | int, ...], str, dict[str, Any]]]:
    """``(path inside instance, schema.* code, template values)`` of each fault a compiled
    validator finds, worded like every other schema error (see :func:`compile_schema`: a bare
    jsonschema-rs validator works too, its patterns then described by their schema titles)."""
    explainer = getattr(validator, "explainer", None) or Explainer({}, None)
    for fault in _one_per_fault(f for e in validator.iter_errors(instance)
                                for f in explainer.faults(e)):
        yield fault.path, fault.code, fault.values


class Compiled:
    """A jsonschema-rs validator with the explainer that words its errors."""

    def __init__(self, validator: Any, explainer: Explainer) -> None:
        self.validator = validator
        self.explainer = explainer

    def is_valid(self, instance: Any) -> bool:
        return bool(self.validator.is_valid(instance))

    def iter_errors(self, instance: Any) -> Iterator[Any]:
        return iter(self.validator.iter_errors(instance))


def compile_schema(spec: Spec, schema: Mapping[str, Any]) -> Compiled:
    """``schema`` (with an ``$id`` beside the spec's schemas, so relative ``$ref``s resolve)
    compiled with every format enforced, its errors worded as the spec's schemas' are."""
    registry = jsonschema_rs.Registry([(s["$id"], s) for s in spec.schemas.values()])
    validator = jsonschema_rs.validator_for(dict(schema), registry=registry,
                                            validate_formats=True, ignore_unknown_formats=False,
                                            mask="…")
    return Compiled(validator, Explainer(schema, spec.registry.resolver(
        base_uri=str(schema.get("$id", spec.base_uri)))))


#: Which fault speaks for a member that breaks several keywords: its type says it all, a
#: code outside its list needs no word on its form, a timestamp's format says what its
#: pattern does, an empty text is too short before it is ill-formed; the ``not`` guard
#: against a final newline only backs up the others.
_PRECEDENCE = {"schema.type": 0, "schema.const": 1, "schema.enum": 1, "schema.false-schema": 1,
               "schema.format": 2, "schema.min-length": 3, "schema.pattern": 4,
               "schema.not": 9}


def _one_per_fault(faults: Iterable[Fault]) -> list[Fault]:
    """One fault per member: of the faults found at one place, the one that says most."""
    found = list(faults)
    if len(found) < 2:
        return found
    best: dict[tuple[str | int, ...], Fault] = {}
    for f in found:
        held = best.get(f.path)
        if held is None or _PRECEDENCE.get(f.code, 5) < _PRECEDENCE.get(held.code, 5):
            best[f.path] = f
    return [f for f in found if best[f.path] is f]


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
        self._explainers = {
            rt: Explainer(spec.schema(rt), spec.registry.resolver(base_uri=spec.schema(rt)["$id"]))
            for rt in spec.resource_types
        }

    def validator(self, resource_type: str) -> Any:
        """The compiled jsonschema-rs validator of ``resource_type``."""
        return self._validators[resource_type]

    def is_valid(self, resource_type: str, document: Any) -> bool:
        """Whether ``document`` meets the schema of ``resource_type``."""
        return bool(self._validators[resource_type].is_valid(document))

    def findings(self, resource_type: str, document: Any) -> list[Finding]:
        """Every fault of ``document`` against its schema, one finding each."""
        explainer = self._explainers[resource_type]
        faults = _one_per_fault(f for e in self._validators[resource_type].iter_errors(document)
                                for f in explainer.faults(e))
        version = self.spec.version
        return [Finding(pointer(f.path), f.code, values=f.values,
                        requirement=self.requirement(resource_type, f.keyword, f.evaluation_path),
                        schema_path=pointer(f.schema_path), spec_version=version)
                for f in faults]

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


def _annotation(spec: Spec, resource_type: str, keyword: str,
                evaluation_path: tuple[str | int, ...]) -> str | None:
    """Walk the evaluation path from the resource schema, following ``$ref``s, and keep the
    nearest ``x-requirement`` that covers ``keyword``."""
    root: Any = spec.schema(resource_type)
    found = None
    for node in schema_nodes(root, spec.registry.resolver(base_uri=root["$id"]),
                             evaluation_path):
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
    return excerpt(value)
