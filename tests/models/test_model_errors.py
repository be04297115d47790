"""A typed model refuses a broken document in the library's words: each fault names its
member, in Chinese and English, with the validator's ``schema.*`` code, never pydantic's text."""

from __future__ import annotations

import copy
import re
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcommunity import ModelError, SmartCommunityError, load_spec
from smartcommunity.models import model_for
from smartcommunity.specification import DEFAULT_VERSION

SPEC = load_spec(DEFAULT_VERSION)
#: example resource documents (those of a resource type the models cover)
DOCUMENTS = [d for _, d in SPEC.examples()
             if isinstance(d, dict) and d.get("resourceType") in SPEC.resource_types]
CJK = re.compile(r"[\u4e00-\u9fff]")
#: values no member of the standard takes in every position: wrong types for any schema
ODD = st.sampled_from([None, True, 12345, -1.5, [], {}, "", "x" * 3, [1, 2, 2]])


def _members(node: Any, where: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Paths of every member (object key) inside ``node``."""
    out: list[tuple[str | int, ...]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            out.append((*where, key))
            out.extend(_members(value, (*where, key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out.extend(_members(value, (*where, i)))
    return out


def _parent(doc: Any, path: tuple[str | int, ...]) -> Any:
    for part in path[:-1]:
        doc = doc[part]
    return doc


@st.composite
def broken(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """An example document with one member given an odd value, dropped, or an unknown one added."""
    doc = copy.deepcopy(draw(st.sampled_from(DOCUMENTS)))
    resource_type = str(doc["resourceType"])
    path = draw(st.sampled_from(_members(doc)))
    parent = _parent(doc, path)
    how = draw(st.sampled_from(["value", "drop", "add"]))
    if how == "value":
        parent[path[-1]] = draw(ODD)
    elif how == "drop":
        del parent[path[-1]]
    else:
        parent["notAMember"] = draw(ODD)
    return resource_type, doc


def _named(pointer: str) -> str:
    """The member a pointer ends at (array indexes name no member)."""
    parts = [p for p in pointer.split("/") if p and not p.isdigit()]
    return parts[-1].replace("~1", "/").replace("~0", "~") if parts else ""


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(broken())
def test_every_model_error_names_the_member_in_both_languages(case: tuple[str, Any]) -> None:
    resource_type, doc = case
    try:
        model_for(resource_type).model_validate(doc)
    except ModelError as error:
        assert isinstance(error, SmartCommunityError) and isinstance(error, ValueError)
        assert error.problems, "a refusal lists at least one fault"
        for problem in error.problems:
            assert problem.code in SPEC.codelist("error-code"), problem
            assert problem.code.startswith("schema."), problem
            assert CJK.search(problem.zh) and not CJK.search(problem.en), problem
            member = _named(problem.pointer)
            assert member and member in problem.zh and member in problem.en, problem
            for text in (problem.zh, problem.en, str(error)):
                assert "input_value" not in text and "input_type" not in text, text
                assert "Input should be" not in text and "errors.pydantic.dev" not in text, text
    # else: the change left the document valid (an optional member dropped, say)


def test_the_error_lists_every_fault_with_its_pointer() -> None:
    doc = copy.deepcopy(next(d for d in DOCUMENTS if d["resourceType"] == "Issue"))
    doc["title"] = 5
    del doc["category"]
    doc["extra"] = True
    with pytest.raises(ModelError) as caught:
        model_for("Issue").model_validate(doc)
    found = {(p.pointer, p.code) for p in caught.value.problems}
    assert found == {("/title", "schema.type"), ("/category", "schema.required"),
                     ("/extra", "schema.unknown-member")}
    assert caught.value.model == "Issue"


def test_json_text_is_refused_in_the_same_words() -> None:
    with pytest.raises(ModelError) as caught:
        model_for("Issue").model_validate_json(b'{"resourceType": ')
    [problem] = caught.value.problems
    assert problem.code == "document.not-json" and CJK.search(problem.zh)
    with pytest.raises(ModelError) as caught:
        model_for("Issue").model_validate_json(b"[]")
    assert [p.code for p in caught.value.problems] == ["schema.type"]


def test_the_constructor_refuses_in_the_same_words() -> None:
    doc = copy.deepcopy(next(d for d in DOCUMENTS if d["resourceType"] == "Issue"))
    model = model_for("Issue")
    assert model(**doc).to_json() == doc
    doc["status"] = "no-such-status"
    with pytest.raises(ModelError) as caught:
        model(**doc)
    assert [(p.pointer, p.code) for p in caught.value.problems] == [("/status", "schema.enum")]


@pytest.mark.parametrize("value", [datetime(2025, 6, 16, 7, 52), object(), (1, 2)])
def test_python_values_that_are_not_json_are_refused_in_the_same_words(value: Any) -> None:
    doc = copy.deepcopy(next(d for d in DOCUMENTS if d["resourceType"] == "Issue"))
    doc["submittedAt"] = value
    with pytest.raises(ModelError) as caught:
        model_for("Issue").model_validate(doc)
    [problem] = caught.value.problems
    assert problem.pointer == "/submittedAt" and problem.code == "schema.type"
    assert "submittedAt" in problem.zh and "expected string" in problem.en
