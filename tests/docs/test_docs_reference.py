"""(b) Every schema property, with its description, is on its generated page in both languages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import Build
from .sitehtml import Page, article_html, article_text
from .test_docs_build import LANG_ROOTS, SPEC, VERSION

SCHEMAS = sorted((SPEC / VERSION / "schemas").glob("*.json"))
#: the formats of the standard's own data files (lifecycles, requirements, profiles …)
META_SCHEMAS = sorted((SPEC / VERSION / "schemas/meta").glob("*.json"))


def page_of(built: Build, root: str, schema_path: Path) -> Path:
    """The built page of a schema or meta-schema in one language."""
    folder = "files" if schema_path.parent.name == "meta" else "schemas"
    return built.site / root / f"reference/{folder}/{schema_path.stem}/index.html"


def property_names(node: Any, found: set[str] | None = None) -> set[str]:
    """Every key of every ``properties`` object anywhere in a schema.

    Read as a schema: the values of ``properties`` and ``$defs`` are schemas again (a member
    may itself be called ``properties``), and instance values (``enum``, ``const`` …) are not.
    """
    found = set() if found is None else found
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("properties", "$defs", "patternProperties") and isinstance(value, dict):
                if key == "properties":
                    found.update(value)
                for sub in value.values():
                    property_names(sub, found)
            elif key not in ("enum", "const", "examples", "default", "required"):
                property_names(value, found)
    elif isinstance(node, list):
        for value in node:
            property_names(value, found)
    return found


def descriptions(node: Any, found: list[str] | None = None) -> list[str]:
    """The bilingual descriptions of the fields of a schema and of its definitions.

    Only the places a document's members are defined are walked (``properties``, array
    ``items``, map values and ``$defs``); conditions (``if``, ``anyOf`` …) restate members
    to test them, and their wording describes the test.
    """
    found = [] if found is None else found
    if not isinstance(node, dict):
        return found
    for _name, prop in node.get("properties", {}).items():
        if isinstance(prop, dict):
            if " / " in str(prop.get("description", "")):
                found.append(prop["description"])
            descriptions(prop, found)
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            descriptions(node[key], found)
    for definition in node.get("$defs", {}).values():
        descriptions(definition, found)
    return found


def _text(html: str) -> str:
    parser = Page()
    parser.feed(html)
    parser.close()
    return parser.text


def fields_part(page: Path) -> str:
    """The page's text above the schema source (which would contain every name anyway)."""
    html = article_html(page)
    cut = html.find('id="source"')
    return html[:cut] if cut != -1 else html


@pytest.mark.parametrize("schema_path", SCHEMAS + META_SCHEMAS, ids=lambda p: p.name)
def test_every_property_is_on_its_page(built: Build, schema_path: Path) -> None:
    schema = json.loads(schema_path.read_text("utf-8"))
    names = property_names(schema)
    for lang, root in LANG_ROOTS.items():
        page = page_of(built, root, schema_path)
        html = fields_part(page)
        missing = sorted(n for n in names if n not in html)
        assert not missing, f"{lang} page of {schema_path.name} lacks {missing}"


@pytest.mark.parametrize("schema_path", SCHEMAS + META_SCHEMAS, ids=lambda p: p.name)
def test_descriptions_in_both_languages_page_language_first(
    built: Build, schema_path: Path
) -> None:
    schema = json.loads(schema_path.read_text("utf-8"))
    for lang, root in LANG_ROOTS.items():
        page = page_of(built, root, schema_path)
        text = " ".join(_text(fields_part(page)).split())
        for description in descriptions(schema):
            zh, en = (" ".join(part.split()) for part in description.split(" / ", 1))
            first, second = (zh, en) if lang == "zh" else (en, zh)
            at_first = text.find(first)
            assert at_first != -1, f"{lang} page of {schema_path.name} lacks {first!r}"
            assert text.find(second, at_first) != -1, (
                f"{lang} page of {schema_path.name}: {second!r} does not follow {first!r}"
            )


def test_requirement_statements_in_the_page_language(built: Build) -> None:
    requirements = [
        r
        for p in (SPEC / VERSION / "requirements").glob("*.json")
        for r in json.loads(p.read_text("utf-8"))["requirements"]
    ]
    for lang, key in (("zh", "zh-Hans"), ("en", "en")):
        text = " ".join(
            article_text(built.site / LANG_ROOTS[lang] / "requirements/index.html").split()
        )
        for r in requirements:
            assert " ".join(r["statement"][key].split()) in text, r["id"]
            if "title" in r:  # the name the conformance report gives its checks
                assert " ".join(r["title"][key].split()) in text, r["id"]


def test_lifecycle_actions_and_roles(built: Build) -> None:
    for path in (SPEC / VERSION / "lifecycles").glob("*.json"):
        table = json.loads(path.read_text("utf-8"))
        rt = table["resourceType"].lower()
        for root in LANG_ROOTS.values():
            page = built.site / root / f"reference/lifecycles/{rt}/index.html"
            html = article_html(page)
            assert 'class="mermaid"' in html and "stateDiagram-v2" in html
            for t in table["transitions"]:
                assert f'id="act-{t["action"]}"' in html
                for role in t["roles"]:
                    assert role in html


def test_http_api_lists_every_operation(built: Build) -> None:
    import yaml

    api = yaml.safe_load((SPEC / VERSION / "openapi.yaml").read_text("utf-8"))
    for root in LANG_ROOTS.values():
        html = article_html(built.site / root / "reference/http-api/index.html")
        for path, item in api["paths"].items():
            for method, op in item.items():
                if method in ("get", "put", "post", "patch", "delete"):
                    assert f'id="op-{op["operationId"].lower()}"' in html
                    assert path in html


def _leaves(value: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, f"{path}.{k}".lstrip("."))]
    return [(path, value)]


def test_requirement_parameters_are_tabled_in_both_languages(built: Build) -> None:
    parameterised = [
        r
        for p in (SPEC / VERSION / "requirements").glob("*.json")
        for r in json.loads(p.read_text("utf-8"))["requirements"]
        if r.get("parameters")
    ]
    assert parameterised, "the registry states no parameters"
    for lang, header in (("zh", "取值"), ("en", "Value")):
        page = built.site / LANG_ROOTS[lang] / "requirements/index.html"
        html = article_html(page)
        for r in parameterised:
            anchor = r["id"].strip("/").replace("/", "-") + "--parameters"
            start = html.find(f'id="{anchor}"')
            assert start != -1, f"{lang}: no parameters table for {r['id']}"
            table = _text(html[start : html.find("</table>", start)])
            assert header in table
            for name, value in _leaves(r["parameters"]):
                assert name in table, (r["id"], name)
                for item in value if isinstance(value, list) else [value]:
                    assert str(item) in table, (r["id"], name, item)
