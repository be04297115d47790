"""validate(): every problem, as data, never a crash — whatever the input."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartcommunity import Validator, load_spec, validate
from smartcommunity.validation import resolve_pointer, rule
from smartcommunity.validation._input import MAX_BYTES, MAX_DEPTH

SPEC = load_spec("1.0")
EXAMPLES = list(SPEC.examples())
ISSUE = next(d for _, d in EXAMPLES if d["resourceType"] == "Issue")


def _resolves(doc: Any, pointer: str) -> bool:
    try:
        resolve_pointer(doc, pointer)
    except LookupError:
        return False
    return True


@pytest.mark.parametrize(("name", "doc"), EXAMPLES, ids=[n for n, _ in EXAMPLES])
def test_examples_are_valid_without_errors(name: str, doc: dict[str, Any]) -> None:
    report = validate(doc)
    assert report.errors == [], [(f.pointer, f.code) for f in report.errors]
    assert report.resource_type == doc["resourceType"] and report.id == doc["id"]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{not json", "document.not-json"),
        (b"", "document.not-json"),
        (b'{"a": "\xff\xfe"}', "document.invalid-utf8"),
        ("{\"a\": \"\ud800\"}", "document.invalid-utf8"),
        (b"[1, 2]", "document.not-object"),
        (b"42", "document.not-object"),
        (b"null", "document.not-object"),
        (b"[" * 5000 + b"]" * 5000, "document.too-deep"),
        (b'{"resourceType": "Parcel", "specVersion": "1.0"}', "document.unknown-resource-type"),
        (b'{"resourceType": "Issue", "specVersion": "9.9"}', "document.unknown-spec-version"),
        (b'{"resourceType": "Issue"}', "document.missing-spec-version"),
    ],
)
def test_bad_input_is_reported_not_raised(raw: bytes | str, code: str) -> None:
    report = validate(raw)
    assert not report.valid
    assert code in report.codes()
    for f in report.findings:
        assert f.message["zh-Hans"] and f.message["en"]


def test_huge_input_is_refused_before_parsing() -> None:
    report = validate(b" " * (MAX_BYTES + 1))
    assert report.codes() == {"document.too-large"}


def test_deep_nesting_inside_extensions_is_reported() -> None:
    deep: Any = "leaf"
    for _ in range(MAX_DEPTH + 5):
        deep = {"x": deep}
    doc = {**ISSUE, "extensions": {"com.example.deep": deep}}
    assert "document.too-deep" in validate(doc).codes()
    assert "document.too-deep" in validate(json.dumps(doc)).codes()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("submittedAt", "2025-06-16T07:52:00"),  # no offset
        ("submittedAt", "2025-02-30T07:52:00+08:00"),  # no such day
        ("submittedAt", "2025-06-16T25:52:00+08:00"),  # no such hour
    ],
)
def test_timestamps_are_enforced(field: str, value: str) -> None:
    doc = {**ISSUE, field: value}
    report = validate(doc)
    assert not report.valid
    finding = next(f for f in report.errors if f.pointer == f"/{field}")
    assert finding.requirement == "/req/core/timestamp-offset"


def test_uri_format_is_enforced() -> None:
    doc = copy.deepcopy(ISSUE)
    doc["meta"]["source"] = "not a uri"
    report = validate(doc)
    assert [f.pointer for f in report.errors] == ["/meta/source"]
    assert report.errors[0].code == "schema.format"


def test_every_problem_is_reported_not_just_the_first() -> None:
    doc = copy.deepcopy(ISSUE)
    doc["vendorField"] = 1
    doc["status"] = "nonsense"
    del doc["title"]
    doc["meta"]["lastUpdated"] = "yesterday"
    codes = {(f.pointer, f.code) for f in validate(doc).errors}
    assert {("/vendorField", "schema.unknown-member"), ("/status", "schema.enum"),
            ("/title", "schema.required"), ("/meta/lastUpdated", "schema.format")} <= codes


def test_unknown_member_names_the_requirement_and_both_languages() -> None:
    report = validate({**ISSUE, "vendorField": 1})
    (finding,) = report.errors
    assert finding.requirement == "/req/core/no-unknown-members"
    assert "vendorField" in finding.message["zh-Hans"] and "vendorField" in finding.message["en"]


def test_report_serialises_to_the_published_shape() -> None:
    from jsonschema import Draft202012Validator

    report = validate({**ISSUE, "vendorField": 1})
    schema = SPEC.schema("validation-report.json")
    finding_schema = {"$ref": schema["$id"] + "#/$defs/finding"}
    checker = Draft202012Validator(finding_schema, registry=SPEC.registry)
    for f in report.to_dict()["findings"]:
        assert list(checker.iter_errors(f)) == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=30,
)


#: codes whose finding names the member that is missing, at the place it belongs: a required
#: member, and an event's lifecycle member (fromStatus) the history chain needs
NAMES_MISSING_MEMBER = frozenset({"schema.required", "consultation.history-lifecycle",
                                  "issue.history-creation"})


@given(st.data())
def test_arbitrary_changes_never_crash_and_pointers_exist(data: st.DataObject) -> None:
    _, base = data.draw(st.sampled_from(EXAMPLES))
    doc = copy.deepcopy(base)
    key = data.draw(st.sampled_from(sorted(doc)))
    doc[key] = data.draw(json_values)
    report = validate(doc)
    for f in report.findings:
        parent = f.pointer.rsplit("/", 1)[0]
        assert _resolves(doc, f.pointer) or (
            f.code in NAMES_MISSING_MEMBER and _resolves(doc, parent)
        ), (f.pointer, f.code)
        assert f.message["zh-Hans"] and f.message["en"]


@given(json_values)
def test_any_json_value_is_reported(value: Any) -> None:
    report = validate(json.dumps(value))
    assert not report.valid or isinstance(value, dict)


def test_validator_is_reusable_and_validate_many_checks_references() -> None:
    v = Validator()
    reports = list(v.validate_many([ISSUE, *(d for _, d in EXAMPLES)]))
    assert len(reports) == len(EXAMPLES) + 1


def test_lone_surrogates_in_python_strings_are_reported() -> None:
    doc = {**ISSUE, "title": "a\ud800b", "extensions": {"org.example.x": {"k\udc00": 1}}}
    report = validate(doc)
    assert report.codes() == {"document.invalid-utf8"}
    assert {f.pointer for f in report.findings} == {"/title", "/extensions/org.example.x/k\udc00"}


@pytest.mark.parametrize(("name", "doc"), EXAMPLES[:6], ids=[n for n, _ in EXAMPLES[:6]])
def test_schema_messages_have_every_placeholder_filled(name: str, doc: dict[str, Any]) -> None:
    broken = copy.deepcopy(doc)
    broken["id"] = "NOT-A-UUID"
    broken["vendorField"] = 1
    broken["meta"] = {"versionId": "x", "lastUpdated": "2024-02-30T00:00:00+08:00"}
    broken["specVersion"] = "1.0"
    report = validate(broken)
    assert len(report.errors) >= 3
    for f in report.findings:
        for text in f.message.values():
            assert not re.search(r"\{[A-Za-z_]+\}", text), (f.code, text)


def test_references_across_a_set_need_a_document_of_the_right_type() -> None:
    dup = next(d for n, d in EXAMPLES if "duplicate" in n)
    target = next(d for _, d in EXAMPLES if d["id"] == dup["mergedInto"])
    impostor = {**next(d for _, d in EXAMPLES if d["resourceType"] == "Resident"),
                "id": dup["mergedInto"]}
    alone, with_impostor, with_target = (
        next(iter(Validator().validate_many(docs)))
        for docs in ([dup], [dup, impostor], [dup, target]))
    assert "issue.merge-target-missing" in alone.codes()
    assert "issue.merge-target-missing" in with_impostor.codes()
    assert "issue.merge-target-missing" not in with_target.codes()


def test_resolve_pointer_follows_rfc_6901() -> None:
    doc = {"a/b": [{"~x": 1}], "": {"k": None}}
    assert resolve_pointer(doc, "") is doc
    assert resolve_pointer(doc, "/a~1b/0/~0x") == 1
    assert resolve_pointer(doc, "//k") is None
    for missing in ("/a~1b/1", "/a~1b/x", "/nope", "/a~1b/0/~0x/deeper", "/a~1b/-1"):
        with pytest.raises(LookupError):
            resolve_pointer(doc, missing)


_INVISIBLE = "".join(chr(int(c.removeprefix("U+"), 16)) for c in
                     SPEC.parameter("/req/core/invisible-characters", "characters"))


@given(st.text(alphabet=st.sampled_from(_INVISIBLE + "a中，—“”\u2014\u00e2\u0600\ufeee"),
               max_size=12),
       st.sampled_from(["title", "submittedBy.name"]))
def test_invisible_character_found_whatever_else_the_text_holds(text: str, where: str) -> None:
    """The byte scan that spares the walk over names and titles never hides a finding."""
    doc = copy.deepcopy(ISSUE)
    *parents, last = where.split(".")
    node = doc
    for step in parents:
        node = node[step]
    node[last] = "x" + text
    codes = [f.code for f in validate(doc).findings]
    # At the end of a text an invisible character is also whitespace the schema forbids: one
    # fault, reported once, by the schema.
    said = "core.invisible-character" in codes or (
        "schema.pattern" in codes and text[-1:] in _INVISIBLE)
    assert said == any(c in text for c in _INVISIBLE)


def test_a_rule_registered_after_validation_began_applies_to_later_documents() -> None:
    from smartcommunity.validation import _validator

    doc = json.loads(json.dumps(dict(load_spec().examples())["issue/fire-lane-submitted.json"]))
    validator = Validator()
    assert validator.validate(doc).valid

    def late(document: Any, ctx: Any) -> None:
        ctx.emit(("title",), "core.invisible-character", field="title", character="U+200B")

    rule("Issue")(late)
    try:
        assert [f.code for f in validator.validate(doc).findings] == ["core.invisible-character"]
    finally:
        _validator._RULES[:] = [r for r in _validator._RULES if r.fn is not late]
        _validator.rules_for.cache_clear()
    assert validator.validate(doc).valid
