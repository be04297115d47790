"""The spec's own annotations: every one names something that exists, and figures agree."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from smartcommunity.pointers import nodes, unescape_token

from .helpers import spec


def _annotated(node: Any, key: str, where: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        if key in node:
            yield where, node[key]
        for k, v in node.items():
            yield from _annotated(v, key, f"{where}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _annotated(v, key, f"{where}/{i}")


def test_every_x_requirement_names_an_existing_requirement() -> None:
    found = 0
    for name, schema in spec().schemas.items():
        for where, value in _annotated(schema, "x-requirement"):
            ids = [value] if isinstance(value, str) else list(value.values())
            for req in ids:
                found += 1
                assert req in spec().requirements, f"{name}{where}: {req}"
    assert found


def test_schema_keyword_parameters_name_json_schema_keywords() -> None:
    for req in spec().requirements.values():
        for keyword in req.parameters.get("schemaKeywords", ()):
            assert re.fullmatch(r"[a-z][A-Za-z]*", keyword), (req.id, keyword)


def _reaches_array(schema: dict[str, Any], pointer: str) -> bool:
    node: Any = schema
    for token in (unescape_token(t) for t in pointer.split("/")[1:]):
        props = node.get("properties") if isinstance(node, dict) else None
        if not isinstance(props, dict) or token not in props:
            return False
        node = props[token]
        if "$ref" in node and "items" not in node:
            return True  # a shared type: its array-ness is the shared schema's business
    return isinstance(node, dict) and node.get("type") == "array" and "items" in node


def test_every_x_references_names_an_array_of_the_resource() -> None:
    found = 0
    for rt, table in spec().lifecycles.items():
        for where, value in _annotated(table, "x-references"):
            found += 1
            assert isinstance(value, str) and value.startswith("/"), where
            assert _reaches_array(spec().schema(rt), value), f"{rt} {where}: {value}"
    assert found


def _figures(value: Any) -> Iterator[int]:
    return (node for node in nodes(value) if type(node) is int)  # bool is an int subclass


def test_the_figures_of_a_statement_agree_with_its_parameters() -> None:
    # A figure stated twice, as data and in words, must be the same figure in both languages.
    checked = 0
    for req in spec().requirements.values():
        figures = {str(f) for f in _figures(dict(req.parameters))}
        for lang, text in req.statement.items():
            named = set(re.findall(r"(?<![\w.])[0-9]+(?![\w.])", text))
            assert figures <= named, (req.id, lang, sorted(figures - named))
            checked += bool(figures)
    assert checked
