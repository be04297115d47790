"""The requirement registry: well-formed, unique, cited in the normative text."""

from __future__ import annotations

import json
import re

import pytest
from jsonschema import Draft202012Validator

from .helpers import spec

REQ_FILES = sorted((spec().folder / "requirements").glob("*.json"))
TEXT = "\n".join(
    p.read_text(encoding="utf-8") for p in sorted((spec().folder / "text").glob("*.md"))
)


@pytest.mark.parametrize("path", REQ_FILES, ids=lambda p: p.name)
def test_requirement_file_matches_its_schema(path) -> None:  # type: ignore[no-untyped-def]
    validator = Draft202012Validator(
        spec().schema("meta/requirements.json"), registry=spec().registry
    )
    errors = [e.message for e in validator.iter_errors(json.loads(path.read_text("utf-8")))]
    assert errors == []


def test_requirement_ids_are_unique() -> None:
    ids = [r["id"] for p in REQ_FILES for r in json.loads(p.read_text("utf-8"))["requirements"]]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def test_requirement_ids_live_under_their_class() -> None:
    for req in spec().requirements.values():
        assert req.id.split("/")[2] == req.conformance_class.split("/")[2], req.id


@pytest.mark.parametrize("req_id", sorted(spec().requirements))
def test_every_requirement_is_cited_in_the_text(req_id: str) -> None:
    assert re.search(r"\[" + re.escape(req_id) + r"\]", TEXT), f"{req_id} is not cited"


def test_text_cites_only_existing_requirements() -> None:
    cited = set(re.findall(r"\[(/req/[a-z0-9/-]+)\]", TEXT))
    assert cited - set(spec().requirements) == set()


def test_library_rules_name_their_codes() -> None:
    for req in spec().requirements.values():
        if "library" in req.enforcement:
            if req.id.startswith("/req/privacy/"):
                continue  # redaction behaviour, checked by the library's own API, not a finding
            assert req.codes, f"{req.id} is enforced by the library but names no error code"


def test_error_codes_are_unique_to_one_requirement() -> None:
    seen: dict[str, str] = {}
    for req in spec().requirements.values():
        for code in req.codes:
            assert code not in seen, f"{code} in {seen.get(code)} and {req.id}"
            seen[code] = req.id


def test_core_is_the_only_mandatory_class_and_dependencies_exist() -> None:
    classes = spec().conformance_classes
    assert classes["/conf/core"].mandatory
    assert [c for c in classes.values() if c.mandatory] == [classes["/conf/core"]]
    for c in classes.values():
        assert set(c.depends_on) <= set(classes), c.id
    assert {
        "/conf/residents",
        "/conf/issues",
        "/conf/consultations",
        "/conf/change-feed",
        "/conf/privacy",
    } <= set(classes)


def test_every_rule_code_has_bilingual_message_templates() -> None:
    templates = spec().codelist("error-code")
    for req in spec().requirements.values():
        for code in req.codes:
            assert code in templates, f"{code} of {req.id} has no row in error-code.csv"
            entry = templates.entries[code]
            assert entry.title_zh and entry.title_en
