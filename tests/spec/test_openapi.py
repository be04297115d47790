"""The HTTP API definition: valid OpenAPI 3.1 whose schemas reference the resource schemas."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from smartcommunity.open311 import mapping

from .helpers import spec


def test_openapi_is_valid_3_1() -> None:
    document, base_uri = read_from_filename(str(spec().folder / "openapi.yaml"))
    assert document["openapi"].startswith("3.1")
    validate(document, base_uri=base_uri)


def test_the_api_is_read_as_the_yaml_it_is_written_in() -> None:
    """What the library reads (libyaml's parser) is what the pure-Python parser and the
    OpenAPI validator's reader read: values, types and key order alike."""
    import yaml

    text = (spec().folder / "openapi.yaml").read_text(encoding="utf-8")
    plain = yaml.load(text, Loader=yaml.SafeLoader)
    assert spec().openapi == plain
    assert repr(spec().openapi) == repr(plain)
    assert spec().openapi == read_from_filename(str(spec().folder / "openapi.yaml"))[0]


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_resource_bodies_reference_the_schemas_and_copy_nothing() -> None:
    api = spec().openapi
    file_refs = {r.split("#")[0] for r in _refs(api) if r.startswith("./schemas/")}
    for f in ("resident.json", "issue.json", "consultation.json", "problem.json", "event.json"):
        assert f"./schemas/{f}" in file_refs
    for target in file_refs:
        assert target.removeprefix("./schemas/") in spec().schemas, target
    # No resource property lists are restated inside the API document.
    for name, schema in api["components"]["schemas"].items():
        assert "resourceType" not in str(schema), name


def test_every_error_response_is_problem_json() -> None:
    """The core HTTP rules hold for every operation without ``x-wire``."""
    api = spec().openapi
    responses = api["components"]["responses"]
    for path, item in api["paths"].items():
        for method, op in item.items():
            if method == "parameters" or spec().wire(path, method):
                continue
            for status, resp in op["responses"].items():
                if int(status) >= 400:
                    resolved = responses[resp["$ref"].rsplit("/", 1)[1]] if "$ref" in resp else resp
                    assert list(resolved["content"]) == ["application/problem+json"], (path, method)


def test_writes_declare_precondition_and_idempotency() -> None:
    api = spec().openapi
    for path, item in api["paths"].items():
        for method, op in item.items():
            if method == "parameters" or spec().wire(path, method):
                continue
            refs = [p.get("$ref", "") for p in op.get("parameters", [])]
            if method == "put" or "/actions/" in path:
                assert "#/components/parameters/IfMatch" in refs, path
                assert {"412", "428"} <= set(op["responses"]), path
            if method == "post" and path.count("/") == 1:
                assert "#/components/parameters/IdempotencyKey" in refs, path
            if "#/components/parameters/IdempotencyKey" in refs:
                # A replay to someone who may no longer read the record is a 404
                # (/req/core/idempotency-replay-access).
                assert "404" in op["responses"], path
            if op.get("security") != []:
                assert "401" in op["responses"], (path, method)


def test_every_event_type_is_one_some_operation_produces() -> None:
    """event.json lists exactly the kinds the API can make: created and updated for every
    resource type, transitioned where a lifecycle exists, erased where an erase operation
    exists, and the withheld type."""
    s = spec()
    paths = set(s.openapi["paths"])
    expected = {"org.w3id.smartcommunity.withheld"}
    for rt in s.resource_types:
        kinds = {"created", "updated"}
        if rt in s.lifecycles:
            kinds.add("transitioned")
        if f"/{s.collections[rt]}/{{id}}/erase" in paths:
            kinds.add("erased")
        expected |= {f"org.w3id.smartcommunity.{rt.lower()}.{k}" for k in kinds}
    assert set(s.schema("event.json")["properties"]["type"]["enum"]) == expected


def _resolved(api: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    return api["components"]["responses"][ref.rsplit("/", 1)[1]] if ref else node


def test_foreign_wire_operations_declare_their_own_wire() -> None:
    """An operation marked ``x-wire`` names a wire the spec knows (the Open311 mapping's
    GeoReport v2), sits under that wire's prefix and tag, answers each format the mapping
    lists, and declares its errors in the wire's own error schema, never problem+json."""
    s = spec()
    api = s.openapi
    bridge = mapping(s.version)
    marked = [(path, method, op) for path, item in api["paths"].items()
              for method, op in item.items() if method != "parameters" and op.get("x-wire")]
    assert marked
    errors = "#/components/schemas/Open311Errors"
    for path, method, op in marked:
        assert op["x-wire"] == "georeport-v2", (path, method)
        assert path.startswith(bridge.prefix + "/") and path.endswith(".{fmt}"), path
        assert op["tags"] == ["open311"], path
        for status, declared in op["responses"].items():
            content = _resolved(api, declared)["content"]
            assert set(content) == set(bridge.formats.values()), (path, status)
            if int(status) >= 400:
                assert content["application/json"]["schema"]["$ref"] == errors, (path, status)
    # The bridge's routes are exactly the marked operations; every other path is the core's.
    assert {p for p, _, _ in marked} == {p for p in api["paths"] if p.startswith(bridge.prefix)}
    fmt = api["components"]["parameters"]["open311Format"]["schema"]["enum"]
    assert fmt == list(bridge.formats)
    size = next(p for p in api["paths"][f"{bridge.prefix}/requests.{{fmt}}"]["get"]["parameters"]
                if p["name"] == bridge.paging[1])
    assert size["schema"]["maximum"] == bridge.max_requests
