"""Shared fixtures for the tests of spec/: the oracle validator and the spec tree."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from smartcommunity.specification import DEFAULT_VERSION, Spec, load_spec

ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = ROOT / "spec"
VECTORS_DIR = SPEC_DIR / "tests"


def spec() -> Spec:
    return load_spec(DEFAULT_VERSION)


def oracle(schema_name: str) -> Draft202012Validator:
    """python-jsonschema with every format enforced: the reference engine of the tests."""
    s = spec()
    return Draft202012Validator(
        s.schema(schema_name),
        registry=s.registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


#: vectors of a receiver's behaviour (validated by the library, not by one schema)
RECEIVER_DIR = "receiver"
#: indicator vectors (issue sets with the figures expected of them, tests/indicators)
INDICATORS_DIR = "indicators"
#: behaviour vectors of a city profile, run by test_profile_vectors.py
PROFILES_DIR = "profiles"
#: the change feed's digests computed for given events, run by test_feed_vectors.py
FEED_DIR = "feed"
#: history events' integrity forms and digests, whole and withheld, run by
#: test_history_vectors.py
HISTORY_DIR = "history"


def digest_vectors(folder: str) -> tuple[list[Path], list[dict[str, Any]]]:
    """The files of a folder of digest vectors (``FEED_DIR``, ``HISTORY_DIR``) and their
    contents."""
    files = sorted((VECTORS_DIR / spec().version / folder).glob("*.json"))
    return files, [json.loads(path.read_text(encoding="utf-8")) for path in files]


def assert_vectors_cite_requirements(vectors: list[dict[str, Any]]) -> None:
    """There are vectors, each citing requirements of the spec and noted in both languages."""
    assert vectors
    for vector in vectors:
        assert vector["requirements"]
        assert set(vector["requirements"]) <= set(spec().requirements)
        assert {"zh-Hans", "en"} <= set(vector["notes"])


def vector_groups() -> Iterator[tuple[str, dict[str, Any]]]:
    """Schema vectors (JSON Schema Test Suite form); receiver vectors are left out."""
    for path in sorted(VECTORS_DIR.rglob("*.json")):
        if {RECEIVER_DIR, INDICATORS_DIR, PROFILES_DIR, FEED_DIR, HISTORY_DIR} & set(
                path.relative_to(VECTORS_DIR).parts):
            continue
        for group in json.loads(path.read_text(encoding="utf-8")):
            yield path.relative_to(VECTORS_DIR).as_posix(), group


def vector_cases() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """``(id, group, test)`` for every test vector."""
    cases = []
    for fname, group in vector_groups():
        for i, test in enumerate(group["tests"]):
            cases.append((f"{fname}:{group['description']}:{i}:{test['description']}", group, test))
    return cases


def walk_properties(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property declared in ``node``; conditions (if/then/else/not) only refine them."""
    if isinstance(node, dict):
        for name, sub in (node.get("properties") or {}).items():
            if isinstance(sub, dict):
                yield f"{path}/{name}", sub
        for key, value in node.items():
            if key in {"if", "then", "else", "not", "const", "enum", "examples", "default"}:
                continue
            yield from walk_properties(value, f"{path}/{key}" if key != "properties" else path)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from walk_properties(item, f"{path}/{i}")
