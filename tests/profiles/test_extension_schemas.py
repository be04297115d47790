"""Registered extension schemas (/req/profiles/extension-schemas): their references resolve
against the specification's schemas and the schema itself only, never over the network."""

from __future__ import annotations

import copy
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartcommunity import redact, validate
from smartcommunity.exceptions import ProfileError
from smartcommunity.profiles import Profile, check_profile, load_profile

from .chaoyang import KEY, issue_with, profile_data

SPEC_SCHEMAS = "https://w3id.org/smartcommunity/spec/1.0/schemas/"
DATE = SPEC_SCHEMAS + "datatypes.json#/$defs/date"
#: references an extension schema may make, and whether they resolve
REFS = [
    (DATE, True),
    (SPEC_SCHEMAS + "datatypes.json#/$defs/shortText", True),
    ("#/$defs/order", True),
    ("https://example.org/city/extension.json", False),
    ("https://example.org/city/extension.json#/$defs/order", False),
    ("datatypes.json#/$defs/date", False),
    ("#/$defs/missing", False),
    (SPEC_SCHEMAS + "datatypes.json#/$defs/no-such-type", False),
    (SPEC_SCHEMAS + "no-such-schema.json", False),
]


def _with_member(schema: dict[str, Any], name: str, member: dict[str, Any]) -> dict[str, Any]:
    data = profile_data()
    ext = data["extensions"][0]["schema"]
    ext["properties"][name] = member
    ext.setdefault("$defs", {})["order"] = schema
    return data


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every attempt to reach the network, recorded (and failed)."""
    tried: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        tried.append(args)
        raise OSError("no network in this test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield tried


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(REFS), st.sampled_from(["personal", "none"]))
def test_a_reference_loads_exactly_when_it_resolves_locally(ref: tuple[str, bool],
                                                            pipl: str) -> None:
    target, resolves = ref
    tried: list[Any] = []
    original = socket.getaddrinfo

    def refuse(*args: Any, **kwargs: Any) -> Any:
        tried.append(args)
        raise OSError("no network in this test")

    socket.getaddrinfo = refuse  # type: ignore[assignment]
    try:
        data = _with_member({"type": "string", "maxLength": 20}, "visit",
                            {"$ref": target, "x-pipl": pipl})
        findings = [f for f in check_profile(data)
                    if f.code == "profile.extension-ref-unresolvable"]
    finally:
        socket.getaddrinfo = original  # type: ignore[assignment]
    assert not tried
    assert bool(findings) == (not resolves)
    if findings:
        assert findings[0].pointer == "/extensions/0/schema/properties/visit/$ref"
        assert findings[0].values["ref"] == target
        assert findings[0].message["en"] and findings[0].message["zh-Hans"]
        with pytest.raises(ProfileError):
            load_profile(data)


def test_a_member_of_the_specs_datatypes_is_validated_with_them(no_network: list[Any]) -> None:
    city = load_profile(_with_member({}, "visitDate", {"$ref": DATE, "x-pipl": "none"}))
    good = issue_with({"workOrderNo": "CY202506160007", "visitDate": "2025-06-17"})
    assert validate(good, profile=city).valid
    bad = issue_with({"workOrderNo": "CY202506160007", "visitDate": "17/06/2025"})
    found = [f for f in validate(bad, profile=city).findings
             if f.code == "profile.extension-invalid"]
    assert found and {f.pointer for f in found} == {f"/extensions/{KEY}/visitDate"}
    assert not no_network


def test_members_kept_in_the_schemas_own_definitions_are_redacted_by_their_tags(
        no_network: list[Any]) -> None:
    data = profile_data()
    data["extensions"][0]["schema"] = {
        "$ref": "#/$defs/order",
        "$defs": {"order": {"type": "object", "additionalProperties": False, "properties": {
            "workOrderNo": {"type": "string", "x-pipl": "none"},
            "callerIdNumber": {"type": "string", "x-pipl": "sensitive"}}}}}
    city = load_profile(data)
    doc = issue_with({"workOrderNo": "CY202506160007", "callerIdNumber": "110105199003071234"})
    assert validate(doc, profile=city).valid
    for audience in ("public", "regulator"):
        shown = redact(doc, audience, profile=city)["extensions"][KEY]
        assert shown == {"workOrderNo": "CY202506160007"}, audience
    assert redact(doc, "community-staff", profile=city)["extensions"] == doc["extensions"]
    assert not no_network


def test_a_profile_no_check_passed_neither_raises_nor_fetches(no_network: list[Any]) -> None:
    """A Profile built without :func:`load_profile` (so unchecked) whose extension refers to a
    remote schema: the extension is refused and redacted as wholly sensitive, and nothing is
    fetched."""
    data = _with_member({}, "visit", {"$ref": "https://example.org/x.json", "x-pipl": "none"})
    city = Profile(copy.deepcopy(data), data["organisations"])
    doc = issue_with({"workOrderNo": "CY202506160007", "visit": "x"})
    found = [f for f in validate(doc, profile=city).findings
             if f.code == "profile.extension-invalid"]
    assert [f.pointer for f in found] == [f"/extensions/{KEY}"]
    assert "extensions" not in redact(doc, "public", profile=city)
    assert redact(doc, "community-staff", profile=city)["extensions"] == doc["extensions"]
    assert not no_network
