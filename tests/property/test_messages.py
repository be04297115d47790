"""Every message a single-change mutant of a spec example draws is one a newcomer can act on.

For mutants of every example (a required member dropped, a wrong type, a broken pattern, an
extra member, a code outside its list, a conditional branch broken, ...) each schema and
document finding names, in both languages, a member that exists in the document or in the
schemas; no message shows an object dump, a regular expression or an unfilled placeholder;
the Chinese text holds no English sentence; and one fault draws one finding per member.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcommunity import load_spec, validate
from smartcommunity.specification import DEFAULT_VERSION
from smartcommunity.strategies import MUTATION_KINDS, Mutant, mutations
from smartcommunity.validation import Finding

SPEC = load_spec(DEFAULT_VERSION)
EXAMPLES = [doc for _, doc in SPEC.examples()]
LARGE = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

#: Signs of a schema or object dump, a regular expression or a placeholder left unfilled.
_DUMP = re.compile(r'\{"|\{\'|\{[a-z_]+\}|\^\[|\]\$|\\u00|\(\?:|\[0-9\]|\{[0-9]+,?[0-9]*\}')
#: Three English words in a row: a sentence, not a code or member name.
_ENGLISH = re.compile(r"[A-Za-z]{2,}(?: [A-Za-z]{2,}){2,}")
#: A member named in a message: “name” in Chinese, "name" in English.
_NAMED = re.compile(r"[“\"]([^”\"]+)[”\"]")


def _schema_members() -> frozenset[str]:
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("properties", "patternProperties"):
                if isinstance(node.get(key), dict):
                    names.update(node[key])
            names.update(str(n) for n in node.get("required", ()) if isinstance(n, str))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for schema in SPEC.schemas.values():
        walk(schema)
    return frozenset(names)


SCHEMA_MEMBERS = _schema_members()


def _document_members(doc: Any, out: set[str]) -> set[str]:
    if isinstance(doc, dict):
        for key, value in doc.items():
            out.add(str(key))
            _document_members(value, out)
    elif isinstance(doc, list):
        for value in doc:
            _document_members(value, out)
    return out


def _without_quoted(text: str) -> str:
    # Values (JSON-quoted excerpts) and member names may be in any language.
    return re.sub(r'"(?:[^"\\]|\\.)*"|“[^”]*”', "", text)


def assert_plain(finding: Finding, members: set[str]) -> None:
    zh, en = finding.message["zh-Hans"], finding.message["en"]
    for text in (zh, en):
        assert not _DUMP.search(_without_quoted(text)), (finding.code, text)
        assert "None" not in text, (finding.code, text)
    assert not _ENGLISH.search(_without_quoted(zh)), (finding.code, zh)
    if finding.code.startswith(("schema.", "document.")) and finding.pointer:
        for text in (zh, en):
            named = {m.split("[")[0] for m in _NAMED.findall(text)}
            assert named & (members | SCHEMA_MEMBERS), (finding.code, text)


def assert_one_per_fault(findings: list[Finding]) -> None:
    errors = [(f.pointer, f.code) for f in findings if f.severity == "error"]
    pointers = [p for p, _ in errors]
    assert len(pointers) == len(set(pointers)), errors


EXAMPLE_MUTANTS = st.sampled_from(EXAMPLES).flatmap(
    lambda doc: mutations(doc, str(doc["resourceType"])))


@LARGE
@given(EXAMPLE_MUTANTS)
def test_messages_of_example_mutants_name_a_member_in_plain_words(mutant: Mutant) -> None:
    assert mutant.kind in MUTATION_KINDS
    report = validate(mutant.document)
    members = _document_members(mutant.document, set())
    for f in report.findings:
        assert_plain(f, members)
    assert_one_per_fault(report.findings)


@pytest.mark.parametrize("kind", sorted(MUTATION_KINDS))
@settings(max_examples=15, suppress_health_check=[HealthCheck.too_slow,
                                                  HealthCheck.data_too_large])
@given(data=st.data())
def test_each_kind_of_fault_is_worded(kind: str, data: st.DataObject) -> None:
    usable = [d for d in EXAMPLES
              if not mutations(d, str(d["resourceType"]), kinds={kind}).is_empty]
    if not usable:
        pytest.skip(f"no example offers a {kind} mutant")
    doc = data.draw(st.sampled_from(usable))
    mutant = data.draw(mutations(doc, str(doc["resourceType"]), kinds={kind}))
    report = validate(mutant.document)
    members = _document_members(mutant.document, set())
    for f in report.findings:
        assert_plain(f, members)
    assert_one_per_fault(report.findings)
