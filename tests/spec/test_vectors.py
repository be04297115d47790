"""Language-neutral test vectors: enough of them, well-formed, and right about the schemas."""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import oracle, spec, vector_cases

CASES = vector_cases()


def test_there_are_at_least_150_vectors_across_the_three_resources() -> None:
    assert len(CASES) >= 150
    targets = {group["schema"]["$ref"] for _, group, _ in CASES}
    assert {spec().schema_uri(rt) for rt in ("Resident", "Issue", "Consultation")} <= targets


@pytest.mark.parametrize(("case_id", "group", "test"), CASES, ids=[c[0] for c in CASES])
def test_vector(case_id: str, group: dict[str, Any], test: dict[str, Any]) -> None:
    target = group["schema"]["$ref"]
    name = target.removeprefix(spec().base_uri)
    errors = list(oracle(name).iter_errors(test["data"]))
    if test["valid"]:
        assert errors == [], [e.message for e in errors]
        return
    req = spec().requirements.get(test.get("requirement", ""))
    assert req is not None, "an invalid vector names the requirement it breaks"
    if "schema" in req.enforcement and "library" not in req.enforcement:
        assert errors, f"schema-enforced {req.id} but the schema accepts the document"
    elif "schema" not in req.enforcement:
        # Library rules are what JSON Schema cannot express: the schema must accept these.
        assert errors == [], [e.message for e in errors]
