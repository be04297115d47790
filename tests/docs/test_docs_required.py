"""Every member a schema requires, at any depth, is marked required on its page.

The schemas are read here on their own (not through the page generator): members restated
next to a ``$ref`` keep the referenced schema's ``required``, nested objects and array items
are followed, and a member whose value is only linked to another schema's page lists what
that schema requires in its own row.
"""

from __future__ import annotations

import json
import posixpath
import re
from pathlib import Path
from typing import Any

import pytest

from .conftest import Build
from .sitehtml import Page, article_html
from .test_docs_build import LANG_ROOTS, SPEC, VERSION

FOLDER = SPEC / VERSION / "schemas"
FILES = {p.relative_to(FOLDER).as_posix(): p for p in sorted(FOLDER.rglob("*.json"))}
SCHEMAS = {name: json.loads(p.read_text("utf-8")) for name, p in FILES.items()}
BY_ID = {s["$id"]: name for name, s in SCHEMAS.items() if "$id" in s}

Path_ = tuple[str, ...]


def resolve(ref: str, current: str) -> tuple[str, dict[str, Any]] | None:
    """The (file, schema) a ``$ref`` written in ``current`` names; None outside the spec."""
    target, _, fragment = ref.partition("#")
    if not target:
        name = current
    elif target in BY_ID:
        name = BY_ID[target]
    else:
        name = posixpath.normpath(posixpath.join(posixpath.dirname(current), target))
    if name not in SCHEMAS:
        return None
    node: Any = SCHEMAS[name]
    for step in [s for s in fragment.split("/") if s]:
        node = node[step.replace("~1", "/").replace("~0", "~")]
    return name, node


def local(node: dict[str, Any], file: str) -> dict[str, Any]:
    """Follow references to definitions of the same file."""
    for _ in range(10):
        ref = node.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
            break
        found = resolve(ref, file)
        assert found is not None
        node = found[1]
    return node


def required(node: dict[str, Any], file: str, depth: int = 0) -> set[str]:
    """Members always required: the node's own, unconditional ``allOf`` ones, and those of
    the schemas it references or extends."""
    names = set(node.get("required", ()))
    refs = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
    for part in node.get("allOf", ()):
        if isinstance(part, dict) and "if" not in part:
            names |= set(part.get("required", ()))
            if isinstance(part.get("$ref"), str):
                refs.append(part["$ref"])
    for ref in refs:
        found = resolve(ref, file)
        if found and depth < 8 and "/properties/" not in ref:
            names |= required(found[1], found[0], depth + 1)
    return names


def external_object(node: dict[str, Any], file: str) -> tuple[str, dict[str, Any]] | None:
    """The object schema of another file that a member's value is, when it only links to it."""
    refs = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
    refs += [p["$ref"] for p in node.get("allOf", ()) if isinstance(p.get("$ref"), str)]
    if len(refs) != 1 or refs[0].startswith("#"):
        return None
    found = resolve(refs[0], file)
    if found is None:
        return None
    target, sub = found
    sub = local(sub, target)
    return (target, sub) if "properties" in sub else None


def expectations(
    file: str, root: dict[str, Any] | None = None, start: Path_ = ()
) -> tuple[set[Path_], dict[Path_, set[str]]]:
    """Paths of required members, and the linked types' required members by path.

    ``root`` is a schema outside the schema files (a lifecycle action's details), whose
    rows start at the path ``start``.
    """
    marked: set[Path_] = set()
    linked: dict[Path_, set[str]] = {}

    def visit(node: dict[str, Any], path: Path_, stack: tuple[int, ...]) -> None:
        if id(node) in stack:
            return
        needed = required(node, file)
        for name, prop in node.get("properties", {}).items():
            if not isinstance(prop, dict):
                continue
            here = (*path, name)
            if name in needed:
                marked.add(here)
            value, value_path = local(prop, file), here
            if isinstance(value.get("items"), dict):
                value, value_path = local(value["items"], file), (*here, "[]")
            if isinstance(value.get("additionalProperties"), dict) and "properties" not in value:
                value, value_path = local(value["additionalProperties"], file), (*value_path, "*")
            if "properties" in value:
                visit(value, value_path, (*stack, id(node)))
                continue
            other = external_object(value, file)
            if other is not None:
                names = set(other[1]["properties"]) & required(other[1], other[0])
                if names:
                    linked[here] = names

    visit(SCHEMAS[file] if root is None else root, start, ())
    return marked, linked


def anchor(path: Path_) -> str:
    """The documented anchor rule of a field row (``[]`` steps are left out)."""
    parts = [re.sub(r"[^A-Za-z0-9._-]+", "_", p) for p in path if p != "[]"]
    return "f-" + "-".join(parts)


def rows(html: str) -> dict[str, list[str]]:
    """Field rows of a page by their anchor: the text of each cell."""
    found: dict[str, list[str]] = {}
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        m = re.search(r'<span id="([^"]+)">', row)
        if not m or m.group(1) in found:
            continue
        cells = []
        for td in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S):
            page = Page()
            page.feed(td)
            cells.append(" ".join(page.text.split()))
        found[m.group(1)] = cells
    return found


def page_of(built: Build, root: str, file: str) -> Path:
    folder = "files" if file.startswith("meta/") else "schemas"
    stem = file.removeprefix("meta/").removesuffix(".json")
    return built.site / root / f"reference/{folder}/{stem}/index.html"


def check_rows(
    table: dict[str, list[str]],
    marked: set[Path_],
    linked: dict[Path_, set[str]],
    lang: str,
    where: str,
    prefix: str = "",
) -> None:
    for path in sorted(marked):
        cells = table.get(prefix + anchor(path))
        assert cells is not None, f"{lang} {where}: no row for {'.'.join(path)}"
        assert cells[2] == "✓", f"{lang} {where}: {'.'.join(path)} is not marked required"
    word = "须含" if lang == "zh" else "requires"
    for path, names in sorted(linked.items()):
        kind = table[prefix + anchor(path)][1]
        assert word in kind, f"{lang} {where}: {'.'.join(path)} hides what it requires"
        rest = kind.split(word, 1)[1]
        listed = set(rest.replace("：", " ").replace(":", " ").replace(",", " ").split())
        assert names <= listed, f"{lang} {where}: {'.'.join(path)} lists {listed}"


@pytest.mark.parametrize("file", sorted(SCHEMAS))
def test_required_members_are_marked_at_any_depth(built: Build, file: str) -> None:
    marked, linked = expectations(file)
    for lang, root in LANG_ROOTS.items():
        table = rows(article_html(page_of(built, root, file)))
        check_rows(table, marked, linked, lang, file)


LIFECYCLES = sorted((SPEC / VERSION / "lifecycles").glob("*.json"))


def event_requirements(resource_schema: Any, action: str, found: set[str]) -> set[str]:
    """Members the resource schema requires of the history event of ``action``."""
    if isinstance(resource_schema, list):
        for item in resource_schema:
            event_requirements(item, action, found)
    elif isinstance(resource_schema, dict):
        condition = (resource_schema.get("properties") or {}).get("action")
        if isinstance(condition, dict) and condition.get("const") == action:
            found |= set(resource_schema.get("required", ())) - {"action"}
        for value in resource_schema.values():
            event_requirements(value, action, found)
    return found


@pytest.mark.parametrize("path", LIFECYCLES, ids=lambda p: p.stem)
def test_lifecycle_details_mark_required_members(built: Build, path: Path) -> None:
    table = json.loads(path.read_text("utf-8"))
    resource = next(
        s
        for s in SCHEMAS.values()
        if s.get("properties", {}).get("resourceType", {}).get("const") == table["resourceType"]
    )
    for lang, root in LANG_ROOTS.items():
        html = article_html(built.site / root / f"reference/lifecycles/{path.stem}/index.html")
        found = rows(html)
        for t in table["transitions"]:
            action, details = t["action"], t.get("details") or {}
            marked, linked = expectations("", details, ("details",))
            check_rows(found, marked, linked, lang, f"{path.stem} {action}", f"{action}--")
            row = found[f"act-{action}"]
            for name in sorted(event_requirements(resource, action, set())):
                assert name in row[4], f"{lang} {path.stem}: {action} hides the event's {name}"
