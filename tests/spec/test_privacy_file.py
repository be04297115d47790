"""The privacy rules file follows its published format (``schemas/meta/privacy.json``)."""

from __future__ import annotations

from jsonschema import Draft202012Validator

from .helpers import spec


def test_privacy_file_follows_its_meta_schema() -> None:
    s = spec()
    validator = Draft202012Validator(s.schema("meta/privacy.json"), registry=s.registry)
    errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(s.privacy)]
    assert errors == []


def test_the_meta_schema_rejects_an_unknown_treatment() -> None:
    s = spec()
    validator = Draft202012Validator(s.schema("meta/privacy.json"), registry=s.registry)
    broken = {**s.privacy, "treatments": {"public": {"personal": "publish"}}}
    assert not validator.is_valid(broken)


def test_the_erasure_requirement_names_every_type_the_erasure_reaches() -> None:
    """/req/privacy/erasure-reaches-records applies to exactly the types privacy.json says an
    erasure rewrites: a type added to the one and not the other leaves a server's duty unsaid."""
    s = spec()
    reached = s.privacy["erasureReaches"]["resourceTypes"]
    assert sorted(s.requirements["/req/privacy/erasure-reaches-records"].applies_to) == sorted(
        reached)
