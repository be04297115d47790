"""The reference server running a profile whose registered extension schema uses references
(/req/profiles/extension-schemas, /req/profiles/document-extensions): validated and redacted
with the specification's schemas and the schema's own definitions, never a 500."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from smartcommunity.specification import spec_root

from .conftest import make_app
from .helpers import Api, submitted_issue

PROFILES = spec_root() / "1.0" / "profiles"
CHAOYANG = PROFILES / "beijing-chaoyang.json"
KEY = "cn.gov.beijing.jiesujiban"
DATE = "https://w3id.org/smartcommunity/spec/1.0/schemas/datatypes.json#/$defs/date"
#: the 12345 work order kept in the schema's own definitions, one member a shared datatype
REFERRING = {
    "$ref": "#/$defs/order",
    "$defs": {
        "number": {"type": "string", "pattern": "^CY[0-9]{12}$"},
        "order": {"type": "object", "additionalProperties": False, "required": ["workOrderNo"],
                  "properties": {
                      "workOrderNo": {"$ref": "#/$defs/number", "x-pipl": "none"},
                      "visitDate": {"$ref": DATE, "x-pipl": "none"},
                      "callerIdNumber": {"type": "string", "x-pipl": "sensitive"}}}}}


def _city(tmp_path: Path, schema: dict[str, Any]) -> Path:
    data = json.loads(CHAOYANG.read_text(encoding="utf-8"))
    data["organisations"]["file"] = str(PROFILES / data["organisations"]["file"])
    data["extensions"][0]["schema"] = schema
    path = tmp_path / "city.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def referring(tmp_path_factory: pytest.TempPathFactory) -> Api:
    tmp = tmp_path_factory.mktemp("referring")
    app = make_app(f"sqlite:///{tmp / 'server.sqlite3'}", profile=_city(tmp, REFERRING))
    return Api(TestClient(app, raise_server_exceptions=True))


def _issue(extension: dict[str, Any]) -> dict[str, Any]:
    doc = submitted_issue(extensions={KEY: extension})
    doc.pop("deadlines", None)
    return doc


def test_references_to_the_specs_datatypes_and_own_definitions_validate(referring: Api) -> None:
    good = _issue({"workOrderNo": "CY202506160007", "visitDate": "2025-06-17"})
    assert referring.staff.create(good).status_code == 201
    for bad in ({"workOrderNo": "CY202506160007", "visitDate": "17/06/2025"},
                {"workOrderNo": "12345"}):
        resp = referring.staff.create(_issue(bad))
        assert resp.status_code == 422, resp.text
        errors = resp.json()["errors"]
        assert {e["code"] for e in errors} == {"profile.extension-invalid"}
        assert all(e["pointer"].startswith(f"/extensions/{KEY}/") for e in errors)


def test_members_behind_references_are_redacted_by_their_tags(referring: Api) -> None:
    extension = {"workOrderNo": "CY202506160008", "callerIdNumber": "110105199003071234"}
    doc = _issue(extension)
    assert referring.staff.create(doc).status_code == 201
    for role, expected in (("community-staff", extension),
                           ("regulator", {"workOrderNo": "CY202506160008"})):
        got = referring.as_(role).get(f"/issues/{doc['id']}")
        assert got.status_code == 200, got.text
        assert got.json()["extensions"][KEY] == expected, role
