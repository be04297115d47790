"""The schemas themselves: valid 2020-12, resolvable offline, bilingual, privacy-tagged."""

from __future__ import annotations

import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from .helpers import spec, walk_properties

SCHEMAS = sorted(spec().schemas)
DATA_SCHEMAS = [n for n in SCHEMAS if not n.startswith("meta/")]
BILINGUAL = re.compile(r"^.*[\u4e00-\u9fff].* / .*[A-Za-z].*$", re.S)


@pytest.mark.parametrize("name", SCHEMAS)
def test_schema_is_valid_2020_12(name: str) -> None:
    schema = spec().schemas[name]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", SCHEMAS)
def test_id_is_versioned_and_matches_file(name: str) -> None:
    assert spec().schemas[name]["$id"] == spec().base_uri + name


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_ref_resolves_offline(name: str) -> None:
    s = spec()
    schema = s.schemas[name]
    resolver = s.registry.resolver(base_uri=schema["$id"])
    for ref in _refs(schema):
        if ref.startswith("https://json-schema.org/"):
            continue  # the meta-schema, bundled with the validator
        resolved = resolver.lookup(ref)
        assert isinstance(resolved.contents, dict), ref


@pytest.mark.parametrize("name", DATA_SCHEMAS)
def test_every_property_has_bilingual_title_and_description(name: str) -> None:
    schema = spec().schemas[name]
    assert BILINGUAL.match(schema["title"]) and BILINGUAL.match(schema["description"])
    missing = [
        path
        for path, sub in walk_properties(schema)
        if not (
            BILINGUAL.match(sub.get("title", "")) and BILINGUAL.match(sub.get("description", ""))
        )
    ]
    assert missing == [], f"properties without '中文 / English' title and description: {missing}"


@pytest.mark.parametrize("name", DATA_SCHEMAS)
def test_no_non_ascii_digit_classes_in_patterns(name: str) -> None:
    # \d means Unicode digits in Python and Rust but ASCII in ECMA: engines would disagree.
    text = str(spec().schemas[name])
    assert "\\\\d" not in text and "\\d" not in text.replace("\\\\", "")


def _required_tagged(node: Any, path: str = "") -> list[str]:
    bad: list[str] = []
    if isinstance(node, dict):
        props = node.get("properties") or {}
        for req in node.get("required", []):
            sub = props.get(req)
            tagged = isinstance(sub, dict) and sub.get("x-pipl") in {"personal", "sensitive"}
            if tagged and "x-pipl-mask" not in sub:
                bad.append(f"{path}/{req}")
        for key, value in node.items():
            bad += _required_tagged(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            bad += _required_tagged(v, f"{path}/{i}")
    return bad


@pytest.mark.parametrize("name", DATA_SCHEMAS)
def test_required_personal_fields_are_maskable(name: str) -> None:
    # A redacted document must still validate, so what redaction may remove is never required.
    assert _required_tagged(spec().schemas[name]) == []


@pytest.mark.parametrize("name", DATA_SCHEMAS)
def test_pipl_tags_use_the_codelists(name: str) -> None:
    classes = set(spec().codelist("pipl-class"))
    masks = set(spec().codelist("mask-method"))
    for path, sub in walk_properties(spec().schemas[name]):
        if "x-pipl" in sub:
            assert sub["x-pipl"] in classes, path
        if "x-pipl-mask" in sub:
            assert sub["x-pipl-mask"] in masks, path
            assert sub.get("x-pipl") in {"personal", "sensitive"}, path


def test_resources_carry_personal_tags() -> None:
    # Residents are almost all personal data; a resource schema without tags is a privacy bug.
    for rt in spec().resource_types:
        tags = [s["x-pipl"] for _, s in walk_properties(spec().schema(rt)) if "x-pipl" in s]
        assert "personal" in tags, rt
    resident_tags = [s.get("x-pipl") for _, s in walk_properties(spec().schema("Resident"))]
    assert "sensitive" in resident_tags


@pytest.mark.parametrize("rt", ["Resident", "Issue", "Consultation"])
def test_resource_top_level_shape(rt: str) -> None:
    schema = spec().schema(rt)
    props = schema["properties"]
    assert schema["additionalProperties"] is False
    for member in ("resourceType", "specVersion", "id", "meta", "externalRefs", "extensions"):
        assert member in props, member
    assert props["resourceType"]["const"] == rt
    assert props["specVersion"]["const"] == spec().version
    assert {"resourceType", "specVersion", "id"} <= set(schema["required"])
