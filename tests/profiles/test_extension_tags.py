"""Every value a registered extension's schema admits carries an x-pipl tag
(/req/profiles/extension-schemas), and redaction treats any value its tags do not cover as
sensitive (/req/profiles/document-extensions), so a member the schema does not describe never
reaches an audience that may not see sensitive data."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from smartcommunity import load_spec, redact
from smartcommunity.exceptions import ProfileError
from smartcommunity.profiles import Profile, check_profile, load_profile
from smartcommunity.validation import Members, compile_schema_plan

from .chaoyang import KEY, issue_with, profile_data

SPEC = load_spec()
CODES = {"profile.extension-untagged", "profile.extension-open",
         "profile.extension-unevaluated"}
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
    ("untagged patternProperties", _edit(lambda s: s.update(
        patternProperties={"^caller": {"type": "string"}})), "/patternProperties/^caller"),
    ("patternProperties true", _edit(lambda s: s.update(patternProperties={"^caller": True})),
     "/patternProperties/^caller"),
    ("tagged patternProperties on an open object", _edit(lambda s: (
        s.pop("additionalProperties"), s.update(patternProperties={"^caller": TAGGED}))), ""),
    ("an untagged member of an object admitted by additionalProperties", _edit(
        lambda s: s.update(additionalProperties={"type": "object", "additionalProperties": False,
                                                 "properties": {"n": {"type": "string"}}})),
     "/additionalProperties/properties/n"),
    ("an open object admitted by patternProperties", _edit(lambda s: s.update(
        patternProperties={"^caller": {"type": "object", "properties": {"n": TAGGED}}})),
     "/patternProperties/^caller"),
    ("unevaluatedProperties", _edit(lambda s: s.update(
        additionalProperties=True, unevaluatedProperties={"type": "string"})),
     "/unevaluatedProperties"),
    ("tagged unevaluatedProperties", _edit(lambda s: (
        s.pop("additionalProperties"), s.update(unevaluatedProperties=TAGGED))),
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
    ("tagged additionalProperties", _edit(lambda s: s.update(additionalProperties=TAGGED))),
    ("tagged patternProperties, closed beyond them", _edit(
        lambda s: s.update(patternProperties={"^caller": TAGGED}))),
    ("patternProperties and additionalProperties both tagged", _edit(lambda s: s.update(
        patternProperties={"^caller": {"x-pipl": "sensitive"}},
        additionalProperties={"x-pipl": "personal"}))),
    ("closed objects with tagged members, admitted by additionalProperties", {
        "type": "object", "additionalProperties": {
            "type": "object", "additionalProperties": False,
            "properties": {"phone": {"type": "string", "x-pipl": "personal"}}}}),
    ("tagged additionalProperties by reference", {
        "type": "object", "additionalProperties": {"$ref": "#/$defs/tagged"},
        "$defs": {"tagged": TAGGED}}),
    ("tagged additionalProperties under allOf", {"type": "object", "allOf": [
        {"properties": {"a": TAGGED}, "additionalProperties": {"x-pipl": "personal"}}]}),
]


@pytest.mark.parametrize(("what", "schema", "where"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_schema_admitting_untagged_values_is_refused(what: str, schema: Any,
                                                       where: str) -> None:
    data = _with(schema)
    found = [f for f in check_profile(data) if f.code in CODES]
    assert found, what
    assert found[0].pointer == "/extensions/0/schema" + where, [f.pointer for f in found]
    if where.endswith("/unevaluatedProperties"):
        # Said as what it is: a tag redaction cannot follow, and what to write instead.
        assert found[0].code == "profile.extension-unevaluated"
        assert "additionalProperties" in found[0].message["en"]
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
    """The classes of the tags that reach ``member`` of the extension's value, or the value."""
    return {cls for path, cls, _ in [*plan.pipl, *plan.open]
            if path == ("value",) or (len(path) == 2 and (
                path[1] == member or (isinstance(path[1], Members) and path[1].matches(member))))}


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


# -- members admitted by patternProperties and additionalProperties -------------------------
#: what a tag on members found by a pattern or beyond those named may carry
_TAGS = st.builds(lambda cls, mask: {"x-pipl": cls, **({"x-pipl-mask": "name"} if mask else {})},
                  st.sampled_from(["none", "personal", "sensitive"]), st.booleans())
_NAMES = ["a", "b", "pa", "pb", "b9", "z"]
_PATTERNS = ["^p", "9$", "b"]
#: a string the name mask changes
_TEXT = st.sampled_from(["王小明", "李四", "欧阳娜娜"])


@st.composite
def _member(draw: st.DrawFn, depth: int, named: bool = False) -> dict[str, Any]:
    """The schema of a member: a tagged string, a tagged value of any kind, or (above the
    last level) an object whose members are told by tags of their own, itself tagged when it
    is a ``named`` member (each member properties names carries a tag)."""
    kind = draw(st.sampled_from(["string", "any", "object"] if depth else ["string", "any"]))
    if kind == "object":
        inner = draw(_object(depth - 1))
        return {**inner, **draw(_TAGS)} if named else inner
    tag = draw(_TAGS)
    return {"type": "string", **tag} if kind == "string" else tag


@st.composite
def _object(draw: st.DrawFn, depth: int = 1) -> dict[str, Any]:
    """An untagged object schema naming members, admitting others by patterns, beyond them by
    a tagged additionalProperties, or closed."""
    names = draw(st.lists(st.sampled_from(_NAMES), unique=True, max_size=2))
    schema: dict[str, Any] = {"type": "object",
                              "properties": {n: draw(_member(depth, named=True))
                                             for n in names}}
    patterns = draw(st.lists(st.sampled_from(_PATTERNS), unique=True, max_size=2))
    if patterns:
        schema["patternProperties"] = {p: draw(_member(depth)) for p in patterns}
    beyond = draw(st.sampled_from(["closed", "tagged", "object"] if depth else
                                  ["closed", "tagged"]))
    schema["additionalProperties"] = (False if beyond == "closed" else draw(_TAGS)
                                      if beyond == "tagged" else draw(_object(depth - 1)))
    return schema


@st.composite
def _open_schemas(draw: st.DrawFn) -> dict[str, Any]:
    schema = draw(_object())
    wrap = draw(st.sampled_from(["none", "allOf", "$ref"]))
    if wrap == "allOf":
        return {"type": "object", "allOf": [schema]}
    if wrap == "$ref":
        return {"$ref": "#/$defs/v", "$defs": {"v": schema}}
    return schema


def _parts(schema: dict[str, Any], root: dict[str, Any]) -> list[dict[str, Any]]:
    """``schema`` and the subschemas describing the same value, as the generator nests them."""
    if "$ref" in schema:
        return _parts(root["$defs"][schema["$ref"].rsplit("/", 1)[1]], root)
    return [schema, *(p for sub in schema.get("allOf", ()) for p in _parts(sub, root))]


def _applying(schemas: list[dict[str, Any]], name: str, root: dict[str, Any]
              ) -> list[dict[str, Any]]:
    """The subschemas a validator holds the member ``name`` of a value of ``schemas`` to: its
    own in properties, those of every pattern found in its name, and additionalProperties
    when neither names it (JSON Schema 2020-12, written out apart from the library)."""
    out: list[dict[str, Any]] = []
    for schema in schemas:
        for part in _parts(schema, root):
            named = part.get("properties", {})
            found = [sub for p, sub in part.get("patternProperties", {}).items()
                     if re.search(p, name)]
            out += [named[name]] if name in named else []
            out += found
            beyond = part.get("additionalProperties")
            if isinstance(beyond, dict) and name not in named and not found:
                out.append(beyond)
    return out


@st.composite
def _value_of(draw: st.DrawFn, schemas: list[dict[str, Any]], root: dict[str, Any]) -> Any:
    """A value for ``schemas``: an object of the members they admit when they describe one,
    else a string."""
    if not any(part.get("type") == "object" for s in schemas for part in _parts(s, root)):
        return draw(_TEXT)
    names = draw(st.lists(st.sampled_from(_NAMES), unique=True, min_size=1, max_size=4))
    return {n: draw(_value_of(subs, root)) for n in names
            if (subs := _applying(schemas, n, root))}


def _leaks(shown: Any, original: Any, schemas: list[dict[str, Any]], root: dict[str, Any],
           treatments: dict[str, str], where: str = "", told: bool = False) -> list[str]:
    """Where ``shown`` (the redacted form of ``original``, a value of ``schemas``) holds what a
    tag on or above it keeps from the audience: a value removed or masked by a tag shown as
    it was, or a value no tag tells (``told``: a tag above does) shown to an audience that may
    not see sensitive data."""
    tags = [(s["x-pipl"], s.get("x-pipl-mask")) for s in schemas if "x-pipl" in s]
    if any(treatments[cls] != "keep" for cls, _ in tags):
        masked = all(treatments[cls] == "keep" or (treatments[cls] == "mask" and mask)
                     for cls, mask in tags)
        return [] if masked and shown != original else [where or "/"]
    told = told or bool(tags)
    if isinstance(shown, dict) and isinstance(original, dict):
        return [leak for name in shown for leak in _leaks(
            shown[name], original[name], _applying(schemas, name, root), root, treatments,
            f"{where}/{name}", told)]
    return [where or "/"] if not told and treatments["sensitive"] != "keep" else []


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(st.data())
def test_a_tag_on_members_found_by_a_pattern_or_beyond_those_named_is_honoured(
        data: st.DataObject) -> None:
    """However an extension's schema tags the members it admits by patternProperties and
    additionalProperties (beside named ones, nested, through allOf or $ref, masked or not),
    the check takes it and redaction never shows an audience a member a tag on or above it
    withholds; an audience keeping every class sees the value whole, and a member whose every
    tag the audience keeps is shown as it is (/req/profiles/extension-schemas,
    /req/profiles/document-extensions)."""
    schema = data.draw(_open_schemas())
    value = data.draw(_value_of([schema], schema))
    assume(isinstance(value, dict) and value)
    assume(Draft202012Validator(schema, registry=SPEC.registry).is_valid(value))
    profile = _with(schema)
    assert [(f.pointer, f.code) for f in check_profile(profile)] == []
    city = Profile(profile, DATA["organisations"])
    doc = issue_with(value)
    for audience in SPEC.audiences:
        treatments = SPEC.privacy["treatments"][audience]
        shown = redact(doc, audience, profile=city).get("extensions", {}).get(KEY, {})
        assert _leaks(shown, value, [schema], schema, treatments) == [], (audience, schema)
        if set(treatments.values()) == {"keep"}:
            assert shown == value, audience
        for name, original in value.items():
            classes = {s["x-pipl"] for s in _applying([schema], name, schema) if "x-pipl" in s}
            if classes and all(treatments[c] == "keep" for c in classes) \
                    and isinstance(original, str):
                assert shown.get(name) == original, (audience, name, schema)
