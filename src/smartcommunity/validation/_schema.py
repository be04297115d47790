"""The JSON Schema layer: a compiled validator (jsonschema-rs) with every format enforced.

python-jsonschema stays the oracle in the tests; this engine is the fast path, and a
differential test proves it never accepts what the oracle rejects.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema_rs

from ..specification import Spec
from ._messages import message
from ._report import Finding, escape_pointer_token, pointer

# Requirements a schema keyword (or the shared datatype it sits in) stands for.
_DATATYPE_REQUIREMENTS = {
    "dateTime": "/req/core/timestamp-offset",
    "date": "/req/core/timestamp-offset",
    "code": "/req/core/code-format",
    "id": "/req/core/resource-id",
    "text": "/req/core/text-format",
    "shortText": "/req/core/text-format",
    "namespacedKey": "/req/core/extension-namespace",
    "divisionCode": "/req/core/division-code",
    "uscc": "/req/core/uscc-check",
}
_KEYWORD_REQUIREMENTS = {
    "additionalProperties": "/req/core/no-unknown-members",
    "unevaluatedProperties": "/req/core/no-unknown-members",
    "enum": "/req/core/closed-codelist",
    "propertyNames": "/req/core/extension-namespace",
}


def _kebab(name: str) -> str:
    out = "".join("-" + c.lower() if c.isupper() else c for c in name)
    return out.lstrip("-")


class SchemaEngine:
    """Compiled validators for the resource schemas of one spec version."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        registry = jsonschema_rs.Registry(
            [(schema["$id"], schema) for schema in spec.schemas.values()]
        )
        self._validators = {
            rt: jsonschema_rs.validator_for(
                spec.schema(rt), registry=registry, validate_formats=True,
                ignore_unknown_formats=False,
            )
            for rt in spec.resource_types
        }

    def is_valid(self, resource_type: str, document: Any) -> bool:
        return bool(self._validators[resource_type].is_valid(document))

    def findings(self, resource_type: str, document: Any) -> Iterator[Finding]:
        """Every schema error of ``document``, one finding each."""
        for error in self._validators[resource_type].iter_errors(document):
            yield from self._to_findings(error)

    def _to_findings(self, error: Any) -> Iterator[Finding]:
        kind = error.kind
        name: str = kind.name
        path = list(error.instance_path)
        schema_path = [str(p) for p in error.schema_path]
        details = _kind_values(kind)
        requirement = _requirement(name, schema_path, path)
        schema_ptr = pointer(schema_path)
        if name == "required":
            prop = details.get("property", "")
            yield Finding(
                pointer(path) + "/" + escape_pointer_token(prop), "schema.required",
                message(self.spec, "schema.required", property=prop),
                requirement=requirement, schema_path=schema_ptr,
            )
            return
        if name in {"additionalProperties", "unevaluatedProperties"}:
            for prop in details.get("unexpected", []) or [""]:
                yield Finding(
                    pointer(path) + "/" + escape_pointer_token(prop), "schema.unknown-member",
                    message(self.spec, "schema.unknown-member", property=prop),
                    requirement=requirement, schema_path=schema_ptr,
                )
            return
        code = "schema." + _kebab(name)
        values = {"value": _short_json(error.instance), **details}
        yield Finding(
            pointer(path), code, message(self.spec, code, **values),
            requirement=requirement, schema_path=schema_ptr,
        )


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


def _requirement(keyword: str, schema_path: list[str], instance_path: list[str | int]) -> str | None:
    if instance_path[:1] in (["resourceType"], ["specVersion"]):
        return "/req/core/document-type"
    if keyword in {"format", "pattern", "type", "minLength", "maxLength"}:
        for i, part in enumerate(schema_path[:-1]):
            if part == "$defs" and schema_path[i + 1] in _DATATYPE_REQUIREMENTS:
                return _DATATYPE_REQUIREMENTS[schema_path[i + 1]]
    if instance_path[-1:] == ["crs"] or "crs" in schema_path:
        return "/req/core/geo-crs"
    return _KEYWORD_REQUIREMENTS.get(keyword)


def _short_json(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
