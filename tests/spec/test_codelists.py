"""Codelists: well-formed, bilingual, used, and equal to the enums that bind them."""

from __future__ import annotations

import csv
import re
from typing import Any

import pytest

from .helpers import spec, walk_properties

HEADER = ["code", "title_zh", "title_en", "description_zh", "description_en",
          "deprecated_since", "replaced_by"]
CODE = re.compile(r"^[a-z0-9]+([-.][a-z0-9]+)*$")
ESTABLISHED_SPELLING = {"resource-type", "requirement-level"}  # Issue, MUST
NAMES = sorted(spec().codelists)


def _bindings() -> list[tuple[str, str, dict[str, Any]]]:
    """``(schema, pointer, subschema)`` for every property bound to a codelist."""
    found = []
    for name, schema in spec().schemas.items():
        for path, sub in walk_properties(schema):
            if "x-codelist" in sub:
                found.append((name, path, sub))
            items = sub.get("items")
            if isinstance(items, dict) and "x-codelist" in items:
                found.append((name, path + "/items", items))
    # Action details in the lifecycle tables bind codelists too (reasons, results ...).
    for rt, table in spec().lifecycles.items():
        for t in table["transitions"]:
            for path, sub in walk_properties(t.get("details", {})):
                if "x-codelist" in sub:
                    found.append((f"lifecycles/{rt}:{t['action']}", path, sub))
    return found


@pytest.mark.parametrize("name", NAMES)
def test_codelist_file_is_well_formed(name: str) -> None:
    path = spec().folder / "codelists" / f"{name}.csv"
    raw = path.read_bytes()
    assert b"\r" not in raw, "use \\n line endings"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == HEADER
    codes = [r[0] for r in rows[1:]]
    assert codes and len(codes) == len(set(codes)), "codes are unique"
    for row in rows[1:]:
        assert len(row) == len(HEADER), row
        code, tzh, ten, dzh, den = row[:5]
        assert code.isascii()
        if name not in ESTABLISHED_SPELLING:
            assert CODE.match(code), code
        assert tzh.strip() and ten.strip(), f"{code}: both titles"
        assert dzh.strip() and den.strip(), f"{code}: both descriptions"
        assert re.search(r"[\u4e00-\u9fff]", tzh + dzh), f"{code}: Chinese text"


@pytest.mark.parametrize("name", NAMES)
def test_every_codelist_is_used(name: str) -> None:
    used = {sub["x-codelist"] for _, _, sub in _bindings()}
    for table in spec().lifecycles.values():
        used |= {table["statusCodelist"], table["actionCodelist"]}
    # Lists that describe the standard's own machinery are used by its data files.
    used |= {"pipl-class", "mask-method", "audience", "enforcement", "requirement-level",
             "error-code"}
    assert name in used


def test_bindings_name_existing_codelists_and_match_enums() -> None:
    bindings = _bindings()
    assert bindings
    for schema, path, sub in bindings:
        where = f"{schema}{path}"
        codelist = spec().codelist(sub["x-codelist"])
        assert isinstance(sub.get("x-openCodelist"), bool), where
        if sub["x-openCodelist"]:
            assert "enum" not in sub, where
        else:
            assert sub.get("enum") == list(codelist), f"{where}: enum differs from the CSV"


def test_privacy_policy_uses_codelists() -> None:
    policy = spec().privacy
    audiences = set(spec().codelist("audience"))
    assert set(policy["treatments"]) == audiences == set(policy["visibility"])
    for treatments in policy["treatments"].values():
        assert set(treatments) == set(spec().codelist("pipl-class"))
        assert set(treatments.values()) <= {"keep", "mask", "remove"}
    for levels in policy["visibility"].values():
        assert set(levels) <= set(spec().codelist("visibility"))
    assert set(policy["roleAudience"]) == set(spec().codelist("role"))
    assert set(policy["roleAudience"].values()) <= audiences
