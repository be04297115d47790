"""Differential tests: the models, the fast engine and validate() against the reference validator.

For generated valid documents and single-change mutants of them and of the spec examples:

(a) a pydantic model accepts exactly what python-jsonschema (the oracle) accepts;
(b) the fast engine (jsonschema-rs) never accepts what the oracle rejects, nor rejects what it
    accepts;
(c) ``smartcommunity.validate`` never raises and reports schema findings exactly when the oracle
    rejects, each pointing into the document (or naming the missing member).

Values on which python's re and format checker once disagreed with ECMA-262 engines (a final
newline before "$", Unicode whitespace, leap seconds, year 0000) are produced by the mutation
kinds in :data:`DIVERGENT_KINDS`; the schemas are written so every engine agrees on them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from smartcommunity import ModelError, load_spec, validate
from smartcommunity.models import model_for
from smartcommunity.specification import DEFAULT_VERSION
from smartcommunity.strategies import (
    DIVERGENT_KINDS,
    MUTATION_KINDS,
    Mutant,
    documents,
    mutations,
    schema_values,
)
from smartcommunity.validation import resolve_pointer
from smartcommunity.validation._schema import SchemaEngine

SPEC = load_spec(DEFAULT_VERSION)
ENGINE = SchemaEngine(SPEC)
RESOURCE_TYPES = list(SPEC.resource_types)
EXAMPLES = [doc for _, doc in SPEC.examples()]
ORACLES = {
    rt: Draft202012Validator(
        SPEC.schema(rt),
        registry=SPEC.registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    for rt in RESOURCE_TYPES
}
# Big generated documents can exceed hypothesis' default size budget now and then.
LARGE = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _resolves(doc: Any, pointer: str) -> bool:
    try:
        resolve_pointer(doc, pointer)
    except LookupError:
        return False
    return True


def _model_accepts(rt: str, doc: Any) -> bool:
    try:
        model_for(rt).model_validate(doc)
    except ModelError:
        return False
    return True


def assert_agreement(rt: str, doc: Any, what: str) -> bool:
    """Assert (a), (b) and (c) for one document; return the oracle's verdict."""
    expected = ORACLES[rt].is_valid(doc)
    # (a) the model accepts exactly what the oracle accepts
    assert _model_accepts(rt, doc) == expected, f"model disagrees with the oracle on {what}"
    # (b) the fast engine agrees with the oracle in both directions
    assert ENGINE.is_valid(rt, doc) == expected, f"fast engine disagrees with the oracle on {what}"
    # (c) validate() never raises; schema findings exactly when the oracle rejects
    report = validate(doc)
    schema_findings = [f for f in report.findings if f.code.startswith(("schema.", "document."))]
    assert bool(schema_findings) == (not expected), (
        f"validate() {'missed' if expected is False else 'invented'} schema findings on {what}: "
        f"{[(f.pointer, f.code) for f in schema_findings]}"
    )
    for f in schema_findings:
        if _resolves(doc, f.pointer):
            continue
        # a finding about a missing member points at where it belongs
        parent, _, member = f.pointer.rpartition("/")
        assert member and _resolves(doc, parent), (f.pointer, f.code, what)
        if f.code != "schema.required":
            assert f.code.startswith("document."), (f.pointer, f.code, what)
    return expected


# -- generated documents -------------------------------------------------------------------
@pytest.mark.parametrize("rt", RESOURCE_TYPES)
@LARGE
@given(data=st.data())
def test_generated_documents_are_accepted_by_every_engine(rt: str, data: st.DataObject) -> None:
    doc = data.draw(documents(rt), label="document")
    assert assert_agreement(rt, doc, "a generated document") is True
    # a valid document round-trips through its model
    assert model_for(rt).model_validate(doc).to_json() == doc


@pytest.mark.parametrize("rt", RESOURCE_TYPES)
@LARGE
@given(data=st.data())
def test_mutants_of_generated_documents_agree(rt: str, data: st.DataObject) -> None:
    doc = data.draw(documents(rt), label="document")
    mutant: Mutant = data.draw(mutations(doc, rt), label="mutant")
    assert mutant.kind in MUTATION_KINDS
    assert_agreement(rt, mutant.document, repr(mutant))


EXAMPLE_MUTANTS = st.sampled_from(EXAMPLES).flatmap(
    lambda doc: mutations(doc, doc["resourceType"]).map(lambda m: (doc["resourceType"], m))
)


@LARGE
@given(case=EXAMPLE_MUTANTS)
def test_mutants_of_examples_agree(case: tuple[str, Mutant]) -> None:
    rt, mutant = case
    assert_agreement(rt, mutant.document, repr(mutant))


@pytest.mark.parametrize("kind", ["drop-required", "add-unknown-member", "wrong-type"])
@LARGE
@given(data=st.data())
def test_schema_breaking_mutants_are_rejected(kind: str, data: st.DataObject) -> None:
    doc = data.draw(st.sampled_from(EXAMPLES), label="example")
    rt = doc["resourceType"]
    mutant = data.draw(mutations(doc, rt, kinds={kind}), label="mutant")
    assert assert_agreement(rt, mutant.document, repr(mutant)) is False


# -- values the engines once disagreed on ---------------------------------------------------
#: (mutation kind, schema fragment, value) — each once split python's re or format checker from
#: ECMA-262 / Rust; the schemas are now written so that every engine gives the same verdict.
ONCE_DISPUTED = [
    # python's re lets "$" match before a final newline; ECMA-262 (and Rust) do not
    ("trailing-newline", {"$ref": "datatypes.json#/$defs/divisionCode"}, "110105001001\n"),
    ("trailing-newline", {"$ref": "datatypes.json#/$defs/text"}, "消防通道\n"),
    # "\s": U+FEFF is whitespace in ECMA-262 only, U+0085 in python's re only
    ("edge-bom", {"$ref": "datatypes.json#/$defs/text"}, "\ufeff消防通道"),
    ("edge-nel", {"$ref": "datatypes.json#/$defs/shortText"}, "\x85消防通道"),
    # RFC 3339 allows a leap second and year 0000; python's datetime does not
    ("leap-second", {"$ref": "datatypes.json#/$defs/dateTime"}, "2016-12-31T23:59:60Z"),
    ("year-zero", {"$ref": "datatypes.json#/$defs/date"}, "0000-01-01"),
    ("year-zero", {"$ref": "datatypes.json#/$defs/dateTime"}, "0000-01-01T00:00:00Z"),
]


def _fragment(schema: dict[str, Any]) -> dict[str, Any]:
    return {"$id": SPEC.base_uri + "probe.json", **schema}


def _fast(schema: dict[str, Any]) -> Callable[[Any], bool]:
    registry = jsonschema_rs.Registry([(s["$id"], s) for s in SPEC.schemas.values()])
    v = jsonschema_rs.validator_for(
        _fragment(schema), registry=registry, validate_formats=True, ignore_unknown_formats=False
    )
    return lambda value: bool(v.is_valid(value))


def _oracle(schema: dict[str, Any]) -> Callable[[Any], bool]:
    v = Draft202012Validator(
        _fragment(schema),
        registry=SPEC.registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    return lambda value: bool(v.is_valid(value))


@pytest.mark.parametrize(
    ("kind", "schema", "value"),
    ONCE_DISPUTED,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(ONCE_DISPUTED)],
)
def test_once_disputed_values_now_agree(kind: str, schema: dict[str, Any], value: str) -> None:
    assert kind in DIVERGENT_KINDS
    assert _oracle(schema)(value) is False
    assert _fast(schema)(value) is False


@LARGE
@given(
    case=st.sampled_from(EXAMPLES).flatmap(
        lambda doc: mutations(doc, doc["resourceType"], kinds=set(DIVERGENT_KINDS)).map(
            lambda m: (doc["resourceType"], m)
        )
    )
)
def test_divergent_mutants_agree(case: tuple[str, Mutant]) -> None:
    rt, mutant = case
    assert _model_accepts(rt, mutant.document) == ORACLES[rt].is_valid(mutant.document)
    assert ENGINE.is_valid(rt, mutant.document) == ORACLES[rt].is_valid(mutant.document)


def test_validate_survives_a_lone_surrogate() -> None:
    # json.loads accepts "\ud800" escapes, so a decoded document can hold a lone surrogate.
    doc = {**next(d for d in EXAMPLES if d["resourceType"] == "Issue"), "title": "\ud800"}
    report = validate(doc)
    assert not report.valid


# -- formats -------------------------------------------------------------------------------
class _ProbeSpec:
    """The spec with one tiny schema as its only 'resource'; anything else a SchemaEngine reads
    (the requirements, say) is the real spec's."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.version = SPEC.version
        self._schema = {"$id": SPEC.base_uri + "format-probe.json", **schema}
        self.schemas = {"format-probe.json": self._schema}
        self.resource_types = ("Probe",)
        self.resource_schemas = {"Probe": "format-probe.json"}

    def schema(self, name: str) -> dict[str, Any]:
        return self._schema

    def __getattr__(self, name: str) -> Any:
        return getattr(SPEC, name)


FORMAT_CASES = {
    "date-time": (
        ["2024-05-01T09:30:00+08:00", "2024-05-01T01:30:00Z", "2024-02-29T00:00:00.5-05:00"],
        [
            "2024-05-01T09:30:00",
            "2024-02-30T09:30:00+08:00",
            "2024-05-01 09:30:00+08:00",
            "2024-05-01T25:00:00Z",
            "2024-05-01T09:30:00+0800",
            "2024-05-01",
        ],
    ),
    "date": (
        ["2024-02-29", "2025-12-31"],
        ["2024-02-30", "2023-02-29", "2024-13-01", "2024-1-01", "2024-05-01T00:00:00Z"],
    ),
    "uri": (
        ["https://w3id.org/smartcommunity/", "urn:example:issue", "mailto:a@example.cn"],
        ["not a uri", "/relative/path", "http://exa mple.org/", "//example.org/x"],
    ),
    "uri-reference": (
        ["/relative/path", "https://example.org/a?b#c", "", "#frag"],
        ["a b", "http://exa mple.org/", "\\\\server\\share"],
    ),
    "email": (["a@example.cn", "zhao.min+city@gov.example.cn"], ["no-at-sign", "example.cn"]),
}


@pytest.mark.parametrize("fmt", sorted(FORMAT_CASES))
def test_fast_engine_enforces_format_without_a_pattern(fmt: str) -> None:
    good, bad = FORMAT_CASES[fmt]
    engine = SchemaEngine(_ProbeSpec({"type": "string", "format": fmt}))  # type: ignore[arg-type]
    oracle = _oracle({"type": "string", "format": fmt})
    for value in good:
        assert engine.is_valid("Probe", value), (fmt, value)
        assert oracle(value), (fmt, value)
    for value in bad:
        assert not engine.is_valid("Probe", value), (fmt, value)
        assert not oracle(value), (fmt, value)
        findings = list(engine.findings("Probe", value))
        assert [f.code for f in findings] == ["schema.format"], (fmt, value)


def test_format_is_enforced_where_the_pattern_fits() -> None:
    doc = dict(EXAMPLES[0])
    doc["meta"] = {**doc.get("meta", {}), "lastUpdated": "2025-02-30T07:52:00+08:00"}
    rt = doc["resourceType"]
    assert ORACLES[rt].is_valid(doc) is False
    assert ENGINE.is_valid(rt, doc) is False
    assert "schema.format" in validate(doc).codes()


FORMAT_DATATYPES = ["dateTime", "date", "uri"]


@pytest.mark.parametrize("datatype", FORMAT_DATATYPES)
@given(data=st.data())
def test_generated_format_values_are_valid_for_both_engines(
    datatype: str, data: st.DataObject
) -> None:
    schema = {"$ref": f"datatypes.json#/$defs/{datatype}"}
    value = data.draw(schema_values(schema))
    assert _oracle(schema)(value) and _fast(schema)(value), value


@given(value=schema_values({"type": "string", "format": "email", "pattern": "^[^\\s@]+@[^\\s@]+$"}))
def test_generated_emails_are_valid_for_both_engines(value: str) -> None:
    schema = {"type": "string", "format": "email"}
    assert _oracle(schema)(value) and _fast(schema)(value), value
