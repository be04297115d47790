"""The generated models: examples round-trip, annotations are the schemas', the code is current."""

from __future__ import annotations

import copy
import importlib.util
import inspect
from typing import Any

import pytest

import smartcommunity
from smartcommunity import available_versions, load_spec
from smartcommunity.exceptions import DocumentError, ModelError, UnknownSpecVersion
from smartcommunity.models import (
    RESOURCE_MODELS,
    ChangeEvent,
    Consultation,
    Issue,
    Resident,
    SpecModel,
    model_for,
    models_module,
)
from smartcommunity.models._generate import NOT_MODELLED, sources
from smartcommunity.specification import DEFAULT_VERSION

SPEC = load_spec(DEFAULT_VERSION)
EXAMPLES = list(SPEC.examples())
FIRE_LANE = next(d for n, d in EXAMPLES if n == "issue/fire-lane-submitted.json")
GENERATED = models_module(DEFAULT_VERSION)
MODELS = sorted(
    (
        obj
        for obj in vars(GENERATED).values()
        if inspect.isclass(obj) and issubclass(obj, SpecModel) and obj is not SpecModel
    ),
    key=lambda m: m.__name__,
)


def _copy(doc: dict[str, Any]) -> dict[str, Any]:
    import copy

    return copy.deepcopy(doc)


# -- examples ------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "doc"), EXAMPLES, ids=[n for n, _ in EXAMPLES])
def test_example_validates_and_round_trips(name: str, doc: dict[str, Any]) -> None:
    model = model_for(doc["resourceType"])
    parsed = model.model_validate(doc)
    dumped = parsed.model_dump(mode="json", exclude_unset=True, by_alias=True)
    assert dumped == doc
    assert parsed.to_json() == doc
    assert model.model_validate(dumped) == parsed


def test_model_for_names_the_resource_models() -> None:
    assert model_for("Resident") is Resident
    assert model_for("Issue") is Issue
    assert model_for("Consultation") is Consultation
    with pytest.raises(DocumentError):
        model_for("Parcel")
    with pytest.raises(UnknownSpecVersion):
        model_for("Issue", "9.9")
    with pytest.raises(UnknownSpecVersion):
        model_for("Issue", "latest")


def test_every_installed_version_has_models_of_every_resource_type() -> None:
    assert list(RESOURCE_MODELS) == available_versions()
    for version in available_versions():
        spec = load_spec(version)
        assert list(RESOURCE_MODELS[version]) == list(spec.resource_types)
        for rt in spec.resource_types:
            model = model_for(rt, version)
            assert model.schema_uri == spec.schema_uri(rt)
    assert models_module().SPEC_VERSION == DEFAULT_VERSION


def test_package_names_are_the_default_versions_models() -> None:
    for rt in SPEC.resource_types:
        assert getattr(smartcommunity, rt) is model_for(rt)
        assert rt in dir(smartcommunity)
    assert smartcommunity.model_for is model_for
    with pytest.raises(AttributeError):
        _ = smartcommunity.NoSuchModel


# -- annotations ---------------------------------------------------------------------------
def _resolve(uri: str) -> dict[str, Any]:
    contents = SPEC.registry.resolver().lookup(uri).contents
    assert isinstance(contents, dict)
    return contents


def _declared(schema: dict[str, Any], base: str) -> dict[str, dict[str, Any]]:
    """Property name → the first title/description that applies, nearest schema first.

    Walks the raw schema with the ``referencing`` registry, independently of the generator.
    """
    found: dict[str, dict[str, Any]] = {}

    def walk(node: dict[str, Any], base: str, depth: int = 0) -> None:
        assert depth < 20
        for name, sub in (node.get("properties") or {}).items():
            entry = found.setdefault(name, {})
            annotate(entry, sub, base, depth)
        if "$ref" in node:
            target_uri = _join(base, node["$ref"])
            walk(_resolve(target_uri), target_uri.split("#")[0], depth + 1)
        for sub in node.get("allOf", ()):
            walk(sub, base, depth + 1)

    def annotate(entry: dict[str, Any], sub: dict[str, Any], base: str, depth: int) -> None:
        for key in ("title", "description"):
            if key not in entry and key in sub:
                entry[key] = sub[key]
        if "$ref" in sub and ("title" not in entry or "description" not in entry):
            target_uri = _join(base, sub["$ref"])
            annotate(entry, _resolve(target_uri), target_uri.split("#")[0], depth + 1)

    walk(schema, base)
    return found


def _join(base: str, ref: str) -> str:
    from urllib.parse import urljoin

    return urljoin(base, ref)


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
def test_titles_and_descriptions_are_the_schemas(model: type[SpecModel]) -> None:
    uri = model.schema_uri
    schema = _resolve(uri)
    declared = _declared(schema, uri.split("#")[0])
    fields = {f.alias or name: f for name, f in model.model_fields.items()}
    local = set(schema.get("properties") or {})
    assert local <= set(fields), f"schema properties missing from {model.__name__}"
    for alias, f in fields.items():
        assert alias in declared, f"{model.__name__}.{alias} is not a property of {uri}"
        assert f.title == declared[alias].get("title"), alias
        assert f.description == declared[alias].get("description"), alias
    assert model.model_config.get("title") == schema.get("title")
    expected_doc = schema.get("description") or schema.get("title")
    if expected_doc:  # an untitled inline object is documented by its class name
        assert inspect.getdoc(model) == expected_doc


def test_every_resource_and_shared_type_has_a_model() -> None:
    uris = {m.schema_uri for m in MODELS}
    for name, schema in SPEC.schemas.items():
        if name.startswith("meta/") or name in {"datatypes.json", "extensions.json", *NOT_MODELLED}:
            continue
        assert schema["$id"] in uris, name


# -- generated code is current -------------------------------------------------------------
@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff formats the output")
def test_regenerating_yields_the_committed_models() -> None:
    expected = sources()
    # one module per installed version, and the default version's re-export
    assert len(expected) == len(available_versions()) + 1
    for path, source in expected.items():
        assert path.exists() and source == path.read_text(encoding="utf-8"), (
            f"src/smartcommunity/models/{path.name} is out of date with spec/: "
            "run python -m smartcommunity.models._generate"
        )


# -- JSON Schema semantics -----------------------------------------------------------------
def test_null_is_not_an_absent_member() -> None:
    doc = _copy(FIRE_LANE)
    doc["gridCode"] = None
    with pytest.raises(ModelError):
        Issue.model_validate(doc)


def test_no_coercion_and_no_python_names() -> None:
    doc = _copy(FIRE_LANE)
    doc["history"][0]["seq"] = "1"
    with pytest.raises(ModelError):
        Issue.model_validate(doc)
    doc = _copy(FIRE_LANE)
    doc["request_type"] = doc.pop("requestType")
    with pytest.raises(ModelError):
        Issue.model_validate(doc)


def test_integral_float_is_an_integer_and_bool_is_not() -> None:
    doc = _copy(FIRE_LANE)
    doc["history"][0]["seq"] = 1.0
    assert Issue.model_validate(doc).history[0].seq == 1
    doc["history"][0]["seq"] = True
    with pytest.raises(ModelError):
        Issue.model_validate(doc)


def test_numbers_keep_their_json_form() -> None:
    parsed = Issue.model_validate(FIRE_LANE)
    assert parsed.location is not None and parsed.location.point is not None
    assert parsed.location.point.accuracy == 12
    assert isinstance(parsed.location.point.accuracy, int)


def test_conditionals_are_enforced() -> None:
    doc = _copy(FIRE_LANE)
    doc["resolution"] = "fixed"  # resolution only once resolved or closed
    with pytest.raises(ModelError, match="“resolution”"):
        Issue.model_validate(doc)
    doc["status"] = "resolved"
    assert Issue.model_validate(doc).resolution == "fixed"
    doc["resolution"] = "duplicate"  # a duplicate names the issue it was merged into
    with pytest.raises(ModelError, match="mergedInto"):
        Issue.model_validate(doc)


def test_unique_items_and_formats_are_enforced() -> None:
    doc = _copy(FIRE_LANE)
    doc["meta"]["lastUpdated"] = "2025-02-30T07:52:00+08:00"  # the pattern fits, the date not
    with pytest.raises(ModelError, match="date-time"):
        Issue.model_validate(doc)
    doc = _copy(FIRE_LANE)
    doc["mergedDuplicates"] = [FIRE_LANE["id"], FIRE_LANE["id"]]
    with pytest.raises(ModelError, match="mergedDuplicates"):
        Issue.model_validate(doc)


def test_change_event_data_is_checked_against_its_resource() -> None:
    event = {
        "specversion": "1.0",
        "id": "1",
        "source": "https://platform.example.org/",
        "type": "org.w3id.smartcommunity.issue.created",
        "time": "2025-06-16T07:52:00+08:00",
        "subject": f"issues/{FIRE_LANE['id']}",
        "datacontenttype": "application/json",
        "sequence": "1",
        "action": "create",
        "resourceversion": "1",
        "eventsalt": "3c9e1f0a7b2d4e6f8a1c3e5b7d9f0a2c",
        "data": FIRE_LANE,
    }
    assert ChangeEvent.model_validate(event).to_json() == event
    broken = {**event, "data": {**FIRE_LANE, "status": "no-such-status"}}
    with pytest.raises(ModelError):
        ChangeEvent.model_validate(broken)


def test_field_names_are_python_and_aliases_are_the_standards() -> None:
    parsed = Issue.model_validate(FIRE_LANE)
    assert parsed.request_type == "complaint"
    assert parsed.submitted_by.resident is not None
    assert Issue.model_fields["request_type"].alias == "requestType"
    assert GENERATED.LocalizedText.model_fields["zh_hans"].alias == "zh-Hans"


def test_a_broken_schema_rule_is_worded_not_dumped() -> None:
    # An accepted assignment needs acceptedAt (an if/then of the schema): the model names the
    # member in both languages instead of printing the conditional.
    doc = copy.deepcopy(next(d for n, d in EXAMPLES
                             if n == "issue/lift-building-3-in-progress.json"))
    assignment = next(a for a in doc["assignments"] if a.get("status") == "accepted")
    del assignment["acceptedAt"]
    with pytest.raises(ModelError) as caught:
        model_for("Issue").model_validate(doc)
    said = str(caught.value)
    assert "“acceptedAt”" in said and '"acceptedAt"' in said
    assert '{"if"' not in said and "then" not in said


def test_a_pattern_mismatch_is_described_not_shown_as_a_regular_expression() -> None:
    doc = _copy(FIRE_LANE)
    doc["id"] = "ABC"
    with pytest.raises(ModelError) as caught:
        Issue.model_validate(doc)
    [said] = caught.value.problems
    assert said.pointer == "/id" and said.code == "schema.pattern"
    assert "UUID" in said.en and "应为" in said.zh and "[0-9a-f]" not in said.en + said.zh
