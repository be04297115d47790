"""The schema messages a vendor developer reported as unreadable, each as the reader needs it.

Every message names the member and what is expected, in both languages; an ``anyOf`` failure
is reported as the fault of the branch that came closest; a pattern is described in words, not
shown as a regular expression; no value is dumped; one fault draws one finding.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from smartcommunity import load_spec, validate
from smartcommunity.specification import DEFAULT_VERSION
from smartcommunity.validation import Finding, compile_schema, message, schema_problems

SPEC = load_spec(DEFAULT_VERSION)
ISSUE = json.loads((SPEC.folder / "examples/issue/gas-heater-elderly-closed.json")
                   .read_text("utf-8"))
RESIDENT = json.loads((SPEC.folder / "examples/resident/chen-zhiqiang.json").read_text("utf-8"))


def issue() -> dict[str, Any]:
    return copy.deepcopy(ISSUE)


def resident() -> dict[str, Any]:
    return copy.deepcopy(RESIDENT)


def only(doc: Any) -> Finding:
    findings = validate(doc).findings
    assert len(findings) == 1, [(f.pointer, f.code, f.message["en"]) for f in findings]
    return findings[0]


def both(f: Finding) -> str:
    return f.message["zh-Hans"] + "\n" + f.message["en"]


def test_a_missing_reason_is_reported_as_the_missing_member_of_its_action() -> None:
    doc = issue()
    i = next(i for i, e in enumerate(doc["history"]) if e["action"] == "return")
    del doc["history"][i]["reason"]
    f = only(doc)
    assert (f.pointer, f.code) == (f"/history/{i}/reason", "schema.required")
    assert "“reason”" in f.message["zh-Hans"] and '"reason"' in f.message["en"]
    assert "{" not in both(f)


def test_a_wrong_reason_code_names_the_codes_of_its_action() -> None:
    doc = issue()
    i = next(i for i, e in enumerate(doc["history"]) if e["action"] == "return")
    doc["history"][i]["reason"] = "complex-case"  # an extension's reason, not a return's
    f = only(doc)
    assert (f.pointer, f.code) == (f"/history/{i}/reason", "schema.enum")
    assert "not-in-remit" in f.message["en"] and "“reason”" in f.message["zh-Hans"]


def test_a_bad_phone_number_says_what_forms_a_number_takes() -> None:
    doc = resident()
    doc["contactPoints"][0]["phone"] = "15801237764"
    f = only(doc)
    assert (f.pointer, f.code) == ("/contactPoints/0/phone", "schema.pattern")
    assert "E.164" in f.message["zh-Hans"] and "E.164" in f.message["en"]
    assert "“phone”" in f.message["zh-Hans"]
    assert "^" not in both(f) and "[0-9]" not in both(f)


def test_an_id_and_a_title_are_described_not_shown_as_regular_expressions() -> None:
    doc = issue()
    doc["id"] = "ABC"
    f = only(doc)
    assert "UUID" in f.message["zh-Hans"] and "UUID" in f.message["en"]
    doc = issue()
    doc["title"] = "  "
    f = only(doc)
    assert f.code == "schema.pattern"
    assert "空白" in f.message["zh-Hans"] and "whitespace" in f.message["en"]
    assert "\\u" not in both(f) and "^" not in both(f)


def test_a_missing_resource_type_is_named_as_missing() -> None:
    doc = issue()
    del doc["resourceType"]
    f = only(doc)
    assert f.code == "document.missing-resource-type"
    assert "None" not in both(f)
    assert "resourceType" in f.message["zh-Hans"] and "Issue" in f.message["en"]


def test_a_missing_spec_version_is_named_as_missing() -> None:
    doc = issue()
    del doc["specVersion"]
    f = only(doc)
    assert f.code == "document.missing-spec-version"
    assert "None" not in both(f) and "specVersion" in f.message["zh-Hans"]


def test_an_extension_key_is_named_without_printing_its_value() -> None:
    doc = issue()
    doc["extensions"] = {"bad": {"a": 1, "b": list(range(60))}}
    f = only(doc)
    assert (f.pointer, f.code) == ("/extensions/bad", "schema.property-names")
    assert "“bad”" in f.message["zh-Hans"] and "cn.gov.beijing" in f.message["en"]
    assert "{" not in both(f) and "[" not in both(f)


def test_a_bad_division_code_draws_one_finding() -> None:
    for code in ("11010500100", "abc"):
        doc = resident()
        doc["address"]["divisionCode"] = code
        f = only(doc)
        assert (f.pointer, f.code) == ("/address/divisionCode", "schema.pattern")
        assert "12" in f.message["zh-Hans"] and "12-digit" in f.message["en"]


def test_a_value_of_the_wrong_type_is_one_finding_without_a_dump() -> None:
    doc = issue()
    doc["title"] = {"zh": "燃气热水器", "nested": {"deep": [1, 2, 3]}}
    f = only(doc)
    assert (f.pointer, f.code) == ("/title", "schema.type")
    assert "{" not in both(f) and "“title”" in f.message["zh-Hans"]
    doc = issue()
    doc["title"] = None
    assert only(doc).code == "schema.type"


def test_long_values_are_cut_to_a_short_excerpt() -> None:
    doc = issue()
    doc["requestType"] = "x" * 500
    f = only(doc)
    assert f.code == "schema.enum" and len(f.message["en"]) < 300
    assert "x" * 60 not in both(f)


def test_details_schemas_are_worded_like_documents() -> None:
    schema = {"$id": SPEC.base_uri + "test-details.json", "type": "object",
              "properties": {"at": {"$ref": "datatypes.json#/$defs/dateTime"}}}
    problems = list(schema_problems(compile_schema(SPEC, schema), {"at": "2025-01-01 10:00"}))
    assert len(problems) == 1
    where, code, values = problems[0]
    said = message(SPEC, code, **values)
    assert where == ("at",) and "+08:00" in said["zh-Hans"] and "“at”" in said["zh-Hans"]


def test_when_any_of_several_members_would_do_all_are_named() -> None:
    doc = resident()
    for name in ("number", "masked", "pseudonym"):
        doc["identityDocuments"][0].pop(name, None)
    f = only(doc)
    assert (f.pointer, f.code) == ("/identityDocuments/0", "schema.required-any")
    for name in ("number", "masked", "pseudonym"):
        assert f"“{name}”" in f.message["zh-Hans"] and f'"{name}"' in f.message["en"]
