"""Minimum necessary: an audience with ``necessaryMembers`` receives no other tagged member
(/req/privacy/intake-minimum)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings

from smartcommunity import load_spec, validate
from smartcommunity.privacy import redact
from smartcommunity.strategies import documents
from smartcommunity.validation import compile_plan

SPEC = load_spec()
NECESSARY: dict[str, dict[str, list[str]]] = {
    audience: rules for audience, rules in SPEC.privacy["necessaryMembers"].items()
    if audience != "description"}
PERSON = str(SPEC.privacy["recordAccess"]["personType"])
KEY = b"0123456789abcdef-shared-city-key"


def _tagged_members(rt: str) -> set[str]:
    return {str(path[0]) for path, _, _ in compile_plan(SPEC, rt).pipl if path}


def _numbers(doc: dict[str, Any]) -> list[str]:
    return [str(d["number"]) for d in doc.get("identityDocuments") or ()
            if isinstance(d, dict) and "number" in d]


def test_the_intake_audience_lists_what_finding_a_caller_needs() -> None:
    listed = NECESSARY[SPEC.audience_of("hotline-operator")][PERSON]
    assert {"name", "address", "identityDocuments"} <= set(listed)
    assert "vulnerabilities" not in listed and "emergencyContacts" not in listed


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(PERSON))
def test_only_necessary_members_reach_the_audience(doc: dict[str, Any]) -> None:
    for audience, rules in NECESSARY.items():
        listed = set(rules.get(PERSON, ()))
        out = redact(doc, audience, pseudonym_key=KEY)
        extra = (set(out) & _tagged_members(PERSON)) - listed
        assert not extra, (audience, extra)
        # What is left is treated by class: a sensitive full number never stays.
        if SPEC.privacy["treatments"][audience]["sensitive"] != "keep":
            assert not _numbers(out)
        if validate(doc).valid:
            assert validate(out).valid, validate(out).findings[:3]


def test_an_example_resident_keeps_what_intake_needs_and_loses_the_rest() -> None:
    doc = next(d for n, d in SPEC.examples() if n == "resident/wang-guiying.json")
    out = redact(doc, "intake", pseudonym_key=KEY)
    assert out["name"] == doc["name"] and out["address"] == doc["address"]
    assert "vulnerabilities" in doc and "vulnerabilities" not in out
    assert _numbers(doc) and not _numbers(out)
    assert all("masked" in d for d in out["identityDocuments"] if isinstance(d, dict))
