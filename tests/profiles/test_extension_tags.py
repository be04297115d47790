"""Every value a registered extension's schema admits carries an x-pipl tag
(/req/profiles/extension-schemas), and redaction treats any value its tags do not cover as
sensitive (/req/profiles/document-extensions), so a member the schema does not describe never
reaches an audience that may not see sensitive data."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from smartcommunity import load_spec, redact
from smartcommunity.exceptions import ProfileError
from smartcommunity.profiles import Profile, check_profile, load_profile
from smartcommunity.validation import compile_schema_plan

from .chaoyang import KEY, issue_with, profile_data

SPEC = load_spec()
CODES = {"profile.extension-untagged", "profile.extension-open"}
SECRET = {"callerIdNumber": "110105199003071234", "callerPhone": "13800138000"}


DATA = profile_data()


def _with(schema: Any) -> dict[str, Any]:
    data = copy.deepcopy(DATA)
    data["extensions"][0]["schema"] = schema
    return data


def _own() -> dict[str, Any]:
    return copy.deepcopy(DATA["extensions"][0]["schema"])


def _edit(change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    """The example city's extension schema with ``change`` made to it."""
    schema = _own()
    change(schema)
    return schema


SPEC_REF = "https://w3id.org/smartcommunity/spec/1.0/schemas/organisation-ref.json"
TAGGED = {"type": "string", "x-pipl": "none"}
#: schemas admitting a value no tag covers, and where the first finding points
REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("open object", _edit(lambda s: s.pop("additionalProperties")), ""),
    ("additionalProperties true", _edit(lambda s: s.update(additionalProperties=True)), ""),
    ("untagged additionalProperties",
     _edit(lambda s: s.update(additionalProperties={"type": "string"})), "/additionalProperties"),
    ("tagged additionalProperties", _edit(lambda s: s.update(additionalProperties=TAGGED)),
     "/additionalProperties"),
    ("patternProperties", _edit(lambda s: s.update(patternProperties={"^caller": TAGGED})),
     "/patternProperties"),
    ("unevaluatedProperties", _edit(lambda s: s.update(
        additionalProperties=True, unevaluatedProperties={"type": "string"})),
     "/unevaluatedProperties"),
    ("untagged members under allOf", _edit(lambda s: s.update(allOf=[{"properties": {
        "callerIdNumber": {"type": "string"}}}])), "/allOf/0/properties/callerIdNumber"),
    ("untagged members under anyOf", _edit(lambda s: s.update(anyOf=[{"properties": {
        "callerPhone": {"type": "string"}}}, {"required": ["workOrderNo"]}])),
     "/anyOf/0/properties/callerPhone"),
    ("untagged members under oneOf", _edit(lambda s: s.update(oneOf=[{"properties": {
        "callerPhone": {"type": "string"}}}])), "/oneOf/0/properties/callerPhone"),
    ("untagged members under then", _edit(lambda s: s.update(
        **{"if": {"required": ["workOrderNo"]}, "then": {"properties": {"x": {}}}})),
     "/then/properties/x"),
    ("untagged members under $defs", {"$ref": "#/$defs/order", "$defs": {"order": {
        "type": "object", "additionalProperties": False,
        "properties": {"workOrderNo": {"type": "string"}}}}},
     "/$defs/order/properties/workOrderNo"),
    ("an open object under $defs", {"$ref": "#/$defs/order", "$defs": {"order": {
        "type": "object", "properties": {"workOrderNo": TAGGED}}}}, ""),
    ("a schema of the specification", {"$ref": SPEC_REF}, "/$ref"),
    ("no type: a bare value", _edit(lambda s: s.pop("type")), ""),
    ("array without items", {"type": "array"}, ""),
    ("array of untagged values", {"type": "array", "items": {"type": "string"}}, "/items"),
    ("prefixItems", {"type": "array", "prefixItems": [TAGGED], "items": False}, "/prefixItems"),
    ("items true", {"type": "array", "items": True}, "/items"),
]
#: schemas whose every admitted value is at or within a tagged member
ACCEPTED: list[tuple[str, Any]] = [
    ("the example city's", _own()),
    ("a tagged whole", {"type": "object", "x-pipl": "personal"}),
    ("members in the schema's own definitions", {"$ref": "#/$defs/order", "$defs": {"order": {
        "type": "object", "additionalProperties": False, "properties": {"n": TAGGED}}}}),
    ("a member tagged through a reference", {
        "type": "object", "additionalProperties": False,
        "properties": {"n": {"$ref": "#/$defs/tagged"}}, "$defs": {"tagged": TAGGED}}),
    ("tagged members under allOf, closed above", _edit(lambda s: s.update(allOf=[{
        "properties": {"workOrderNo": {"minLength": 14}}}]))),
    ("closed branches", {"anyOf": [
        {"type": "object", "additionalProperties": False, "properties": {"a": TAGGED}},
        {"type": "object", "additionalProperties": False, "properties": {"b": TAGGED}}]}),
    ("an array of closed objects", {"type": "array", "items": {
        "type": "object", "additionalProperties": False, "properties": {"a": TAGGED}}}),
    ("a tagged array", {"type": "array", "x-pipl": "none"}),
]


@pytest.mark.parametrize(("what", "schema", "where"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_schema_admitting_untagged_values_is_refused(what: str, schema: Any,
                                                       where: str) -> None:
    data = _with(schema)
    found = [f for f in check_profile(data) if f.code in CODES]
    assert found, what
    assert found[0].pointer == "/extensions/0/schema" + where, [f.pointer for f in found]
    assert all(f.message["zh-Hans"] and f.message["en"] and "{" not in f.message["en"]
               for f in found)
    with pytest.raises(ProfileError):
        load_profile(data)


@pytest.mark.parametrize(("what", "schema"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_a_schema_tagging_everything_it_admits_loads(what: str, schema: Any) -> None:
    assert [(f.pointer, f.code) for f in check_profile(_with(schema))] == []


def test_members_the_schema_does_not_describe_are_sensitive_in_redaction() -> None:
    """A server given an open extension anyway (a Profile no check passed) shows its
    undescribed members only to audiences that keep sensitive data."""
    schema = _edit(lambda s: s.pop("additionalProperties"))
    city = Profile(_with(schema), DATA["organisations"])
    extension = {"workOrderNo": "CY202506160007", "callerDistrict": "朝阳", **SECRET}
    doc = issue_with(extension)
    treatments = SPEC.privacy["treatments"]
    for audience in SPEC.audiences:
        shown = redact(doc, audience, profile=city).get("extensions", {}).get(KEY) or {}
        keeps = treatments[audience]["sensitive"] == "keep"
        assert (set(SECRET) <= set(shown)) == keeps, audience
        assert shown.get("workOrderNo") == "CY202506160007", audience


# -- the check and redaction agree, for schemas made at random ------------------------------
_MEMBER = st.one_of(st.just({"type": "string"}), st.sampled_from(
    ["none", "personal", "sensitive"]).map(lambda c: {"type": "string", "x-pipl": c}))
_EXTRA = {"closed": False, "true": True, "untagged": {"type": "string"},
          "tagged": {"type": "string", "x-pipl": "none"}}


@st.composite
def _schemas(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from("abc"), min_size=1, max_size=3, unique=True))
    schema: dict[str, Any] = {"type": "object",
                              "properties": {n: draw(_MEMBER) for n in names}}
    extra = draw(st.sampled_from(["absent", *_EXTRA]))
    if extra != "absent":
        schema["additionalProperties"] = _EXTRA[extra]
    if draw(st.booleans()):
        schema["patternProperties"] = {"^p": {"type": "string"}}
    if draw(st.booleans()):
        schema["allOf"] = [{"properties": {"d": draw(_MEMBER)}}]
    if draw(st.booleans()):
        schema = {"$ref": "#/$defs/v", "$defs": {"v": schema}}
    return schema


_VALUES = st.dictionaries(st.sampled_from(["a", "b", "c", "d", "p1", "z"]),
                          st.text("0123456789", min_size=4, max_size=8), min_size=1)


def _classes(plan: Any, member: str) -> set[str]:
    return {cls for path, cls, _ in plan.pipl if path in (("value",), ("value", member))}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(_schemas(), _VALUES)
def test_the_check_and_redaction_agree(schema: dict[str, Any], value: dict[str, str]) -> None:
    assume(Draft202012Validator(schema, registry=SPEC.registry).is_valid(value))
    plan = compile_schema_plan(SPEC, schema, "value")
    data = _with(schema)
    city = Profile(data, DATA["organisations"])
    doc = issue_with(value)
    # Whatever the schema, the public receives only members tagged none.
    public = redact(doc, "public", profile=city).get("extensions", {}).get(KEY) or {}
    for member in public:
        assert _classes(plan, member) == {"none"}, (member, schema)
    assert redact(doc, "community-staff", profile=city)["extensions"][KEY] == value
    # A schema the check passes tags every member it admits: nothing is redacted for want
    # of a tag.
    if not [f for f in check_profile(data) if f.code in CODES]:
        assert all(_classes(plan, member) for member in value), (value, schema)
