"""A value a city's extension schema accepts, built from the schema alone, so the kit can write
a registered extension without knowing what the city keeps in it.

The value is the plainest one the common keywords allow: each required member, the first
``enum`` value or ``const``, a string matching the ``pattern``, the smallest number in range.
A schema this does not get right gives no value (None), and the step that needs one is left
out; a value is only ever returned once the schema accepts it.
"""

from __future__ import annotations

import re
from typing import Any

from jsonschema import Draft202012Validator

from ...specification import Spec
from ...validation import schema_resolver

#: strings of the formats a city is likely to use
_FORMATS = {"date": "2025-06-16", "date-time": "2025-06-16T09:00:00+08:00",
            "time": "09:00:00+08:00", "email": "kit@example.org",
            "uri": "https://kit.example.org/value", "uuid": "00000000-0000-4000-8000-000000000000"}
#: how deep a schema is followed before the kit gives up
_DEEPEST = 12


class _NoSample(Exception):
    """The schema asks for something the builder does not make."""


def sample(spec: Spec, schema: Any) -> Any:
    """A value ``schema`` (a free-standing schema whose references reach ``spec``'s schemas
    and itself) accepts, or None when the kit builds none."""
    try:
        value = _build(schema, schema_resolver(spec, schema), 0)
    except (_NoSample, re.error, RecursionError):
        return None
    validator = Draft202012Validator(schema, registry=spec.registry,
                                     format_checker=Draft202012Validator.FORMAT_CHECKER)
    return value if validator.is_valid(value) else None


def _build(node: Any, resolver: Any, depth: int) -> Any:
    if depth > _DEEPEST or node is False:
        raise _NoSample
    if not isinstance(node, dict):
        return {}
    ref = node.get("$ref")
    if isinstance(ref, str):
        resolved = resolver.lookup(ref)
        return _build(resolved.contents, resolved.resolver, depth + 1)
    for keyword in ("const", "default"):
        if keyword in node:
            return node[keyword]
    for keyword in ("enum", "examples"):
        if isinstance(node.get(keyword), list) and node[keyword]:
            return node[keyword][0]
    for keyword in ("anyOf", "oneOf"):
        if isinstance(node.get(keyword), list) and node[keyword]:
            return _build(node[keyword][0], resolver, depth + 1)
    kind = node.get("type")
    if isinstance(kind, list):
        kind = kind[0] if kind else None
    if kind is None:
        kind = ("object" if "properties" in node or "required" in node
                else "array" if "items" in node else "string")
    if kind == "object":
        return _object(node, resolver, depth)
    if kind == "array":
        return [_build(node.get("items", {}), resolver, depth + 1)
                for _ in range(int(node.get("minItems", 0)))]
    if kind in ("integer", "number"):
        return _number(node)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string(node)


def _object(node: dict[str, Any], resolver: Any, depth: int) -> dict[str, Any]:
    """The object with each member ``node`` (and its ``allOf``) requires."""
    parts = [node, *(s for s in node.get("allOf") or () if isinstance(s, dict))]
    properties: dict[str, Any] = {}
    required: list[str] = []
    for part in parts:
        properties.update(part.get("properties") or {})
        required += [r for r in part.get("required") or () if r not in required]
    return {name: _build(properties.get(name, {}), resolver, depth + 1) for name in required}


def _number(node: dict[str, Any]) -> int | float:
    low = node.get("minimum")
    if "exclusiveMinimum" in node:
        low = node["exclusiveMinimum"] + 1
    high = node.get("maximum", node.get("exclusiveMaximum"))
    value = low if isinstance(low, int | float) else 0
    if isinstance(high, int | float) and value > high:
        value = high if "maximum" in node else high - 1
    return value


def _string(node: dict[str, Any]) -> str:
    shortest, longest = int(node.get("minLength", 0)), node.get("maxLength")
    pattern = node.get("pattern")
    text = _FORMATS.get(str(node.get("format")), "kit")
    if isinstance(pattern, str) and re.search(pattern, text) is None:
        text = _matching(pattern)
    if len(text) < shortest:
        text += "k" * (shortest - len(text))
    if isinstance(longest, int) and len(text) > longest and not isinstance(pattern, str):
        text = text[:longest]
    return text


def name_found_by(pattern: str) -> str | None:
    """A short member name the regular expression ``pattern`` finds (as ``patternProperties``
    searches names), or None when the kit builds none."""
    try:
        return _matching(pattern)
    except (_NoSample, re.error, RecursionError):
        return None


def _matching(pattern: str) -> str:
    """A short string the regular expression ``pattern`` finds itself in."""
    from re import _parser  # type: ignore[attr-defined]

    text = _text(_parser.parse(pattern))
    if re.search(pattern, text) is None:
        raise _NoSample
    return text


def _text(nodes: Any) -> str:
    out = []
    for op, arg in nodes:
        name = str(op)
        if name == "AT":
            continue
        if name == "LITERAL":
            out.append(chr(arg))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _high, sub = arg
            out.append(_text(sub) * max(int(low), 0))
        elif name == "SUBPATTERN":
            out.append(_text(arg[-1]))
        elif name == "BRANCH":
            out.append(_text(arg[1][0]))
        elif name == "IN":
            out.append(_one_of(arg))
        elif name == "CATEGORY":
            out.append(_category(str(arg)))
        elif name in ("ANY", "NOT_LITERAL"):
            out.append("a" if name == "ANY" or arg != ord("a") else "b")
        else:
            raise _NoSample
    return "".join(out)


def _one_of(items: Any) -> str:
    """The first character a character class (without negation) allows."""
    for op, arg in items:
        name = str(op)
        if name == "NEGATE":
            raise _NoSample
        if name == "LITERAL":
            return chr(arg)
        if name == "RANGE":
            return chr(arg[0])
        if name == "CATEGORY":
            return _category(str(arg))
    raise _NoSample


def _category(name: str) -> str:
    for suffix, char in (("NOT_DIGIT", "a"), ("DIGIT", "0"), ("NOT_SPACE", "a"),
                         ("SPACE", " "), ("NOT_WORD", " "), ("WORD", "a")):
        if name.endswith(suffix):
            return char
    raise _NoSample
