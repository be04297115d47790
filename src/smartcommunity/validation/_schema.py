"""The JSON Schema layer: a compiled validator (jsonschema-rs) with every format enforced.

python-jsonschema stays the oracle in the tests; this engine is the fast path, and a
differential test proves it never accepts what the oracle rejects.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import jsonschema_rs

from ..pointers import escape_token, pointer
from ..specification import Spec
from ._report import Finding

# Requirements a schema keyword (or the shared datatype it sits in) stands for.
_DATATYPE_REQUIREMENTS = {
    "dateTime": "/req/core/timestamp-offset",
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
                # Our messages come from the spec's templates; not echoing the instance into
                # the engine's own message text saves a third of the cost of each error.
                mask="…",
            )
            for rt in spec.resource_types
        }

    def is_valid(self, resource_type: str, document: Any) -> bool:
        return bool(self._validators[resource_type].is_valid(document))

    def findings(self, resource_type: str, document: Any) -> list[Finding]:
        """Every schema error of ``document``, one finding each."""
        found = [f for e in self._validators[resource_type].iter_errors(document)
                 for f in self._to_findings(e)]
        # A timestamp's pattern and format say the same thing twice; keep the format's words.
        formats = {f.pointer for f in found if f.code == "schema.format"}
        if formats:
            found = [f for f in found if not (f.code == "schema.pattern" and f.pointer in formats)]
        return found

    def _to_findings(self, error: Any) -> Iterator[Finding]:
        kind = error.kind
        name: str = kind.name
        path = error.instance_path
        schema_path = error.schema_path
        requirement = _requirement(name, schema_path, path)
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


def _requirement(keyword: str, schema_path: Sequence[str | int],
                 instance_path: Sequence[str | int]) -> str | None:
    if instance_path and instance_path[0] in ("resourceType", "specVersion") and len(
            instance_path) == 1:
        return "/req/core/document-type"
    if keyword in _DATATYPE_KEYWORDS and "$defs" in schema_path:
        i = list(schema_path).index("$defs")
        if i + 1 < len(schema_path):
            found = _DATATYPE_REQUIREMENTS.get(str(schema_path[i + 1]))
            if found:
                return found
    if (instance_path and instance_path[-1] == "crs") or "crs" in schema_path:
        return "/req/core/geo-crs"
    if keyword == "propertyNames" and list(instance_path) == ["extensions"]:
        return "/req/core/extension-namespace"
    return _KEYWORD_REQUIREMENTS.get(keyword)


_DATATYPE_KEYWORDS = frozenset({"format", "pattern", "type", "minLength", "maxLength"})


def _short_json(value: Any) -> str:
    if isinstance(value, str) and len(value) <= 78:
        return '"' + value + '"'
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
