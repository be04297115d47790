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


def _patterns(node: Any, where: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Nodes holding a ``pattern``, except the ``not`` guards against a final newline."""
    if isinstance(node, list):
        return [f for i, v in enumerate(node) for f in _patterns(v, f"{where}/{i}")]
    if not isinstance(node, dict):
        return []
    found = [(where, node)] if isinstance(node.get("pattern"), str) else []
    return found + [f for k, v in node.items() if k != "not"
                    for f in _patterns(v, f"{where}/{k}")]


@pytest.mark.parametrize("name", DATA_SCHEMAS)
def test_every_pattern_is_described_in_both_languages(name: str) -> None:
    # Messages show these words instead of the regular expression.
    for where, node in _patterns(spec().schemas[name]):
        hint = node.get("x-expected")
        assert isinstance(hint, dict) and set(hint) == {"zh-Hans", "en"}, (name, where)
        assert re.search(r"[\u4e00-\u9fff]", hint["zh-Hans"]), (name, where)
        assert hint["en"] and not re.search(r"[\u4e00-\u9fff]", hint["en"]), (name, where)


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


def _described(schema: dict[str, Any], node: dict[str, Any], key: str) -> str:
    """``key`` of a member, else of the local definition it refers to (as the docs show it)."""
    seen: set[str] = set()
    while key not in node and str(node.get("$ref", "")).startswith("#/$defs/"):
        ref = node["$ref"]
        if ref in seen:
            break
        seen.add(ref)
        node = schema["$defs"][ref.removeprefix("#/$defs/")]
    return str(node.get(key, ""))


@pytest.mark.parametrize("name", [n for n in SCHEMAS if n.startswith("meta/")])
def test_every_member_of_a_data_file_format_is_described(name: str) -> None:
    # The reference pages of the data-file formats list every member with these words.
    schema = spec().schemas[name]
    assert BILINGUAL.match(schema["title"]) and BILINGUAL.match(schema["description"])
    missing = [
        path
        for path, sub in walk_properties(schema)
        if not (BILINGUAL.match(_described(schema, sub, "title"))
                and BILINGUAL.match(_described(schema, sub, "description")))
    ]
    assert missing == [], f"members without '中文 / English' title and description: {missing}"


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


#: shared datatypes that hold whatever a person writes or is called
_FREE_TEXT = ("text", "shortText", "personName", "e164", "citizenId")


def _strings(node: Any, path: tuple[str, ...], resolver: Any, seen: frozenset[int],
             found: set[tuple[str, ...]], tagged: set[tuple[str, ...]], free: bool = False,
             ) -> None:
    """Free-text string members (``found``) and tagged members (``tagged``) below ``node``."""
    if not isinstance(node, dict):
        return
    if "x-pipl" in node:
        tagged.add(path)
    ref = node.get("$ref")
    if isinstance(ref, str):
        fragment = ref.partition("#")[2]
        free = free or fragment.removeprefix("/$defs/") in _FREE_TEXT
        resolved = resolver.lookup(ref)
        if id(resolved.contents) not in seen:
            _strings(resolved.contents, path, resolved.resolver, seen | {id(resolved.contents)},
                     found, tagged, free)
    if node.get("type") == "string" and not {"enum", "const", "format"} & set(node) and (
            free or "pattern" not in node):
        found.add(path)  # a code, id, timestamp or enumerated value has a pattern, format or enum
    for name, sub in (node.get("properties") or {}).items():
        _strings(sub, (*path, name), resolver, seen, found, tagged)
    if isinstance(node.get("items"), dict):
        _strings(node["items"], (*path, "*"), resolver, seen, found, tagged)
    for keyword in ("allOf", "anyOf", "oneOf"):
        for sub in node.get(keyword, ()):
            _strings(sub, path, resolver, seen, found, tagged)
    for keyword in ("then", "else"):
        _strings(node.get(keyword), path, resolver, seen, found, tagged)


def _untagged(schema: dict[str, Any], base: str) -> list[str]:
    found: set[tuple[str, ...]] = set()
    tagged: set[tuple[str, ...]] = set()
    _strings(schema, (), spec().registry.resolver(base_uri=base), frozenset(), found, tagged)
    return sorted("/" + "/".join(p) for p in found
                  if not any(p[:i] in tagged for i in range(len(p) + 1)))


@pytest.mark.parametrize("rt", sorted(spec().resource_types))
def test_every_free_text_member_is_tagged(rt: str) -> None:
    # /req/privacy/free-text-tagged: what anyone may write is personal until the schema says
    # otherwise ("x-pipl": "none" is a decision, not a default).
    schema = spec().schema(rt)
    assert _untagged(schema, schema["$id"]) == []
    for row in spec().lifecycles.get(rt, {}).get("transitions", ()):
        if isinstance(row.get("details"), dict):
            assert _untagged(row["details"], schema["$id"]) == [], row["action"]
            assert _required_tagged(row["details"]) == [], row["action"]
