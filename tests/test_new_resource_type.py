"""A new resource type needs spec files; the server, library and docs follow from them.

In a temporary copy of ``spec/``, 1.0 gains a resource type ``Notice`` (a notice-board item):
its schema, a row in ``resource-type.csv``, its collection and item paths in ``openapi.yaml``
(with ``x-roles`` saying who writes) and an example. With no Python file changed, the library
validates notices and the reference server registers the routes from the OpenAPI and stores,
reads, lists, replaces and feeds notices; the one Python line is the type's entry in the storage
index (``reference_server/storage/_indexes.py``), which says which member holds its community so
that community staff read their own. What a resource type may add beyond that: its policy (who
sees and does what beyond privacy.json and x-roles), its rules (``validation/_rules_<type>.py``)
and the regenerated models.
"""

from __future__ import annotations

import copy
import csv
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from smartcommunity.specification import SPEC_ROOT_VARIABLE, spec_root

BASE = "https://w3id.org/smartcommunity/spec/1.0/schemas/"
NOTICE = "e3b7c0de-5a41-4c8e-9b1f-0d2c3a4b5c6d"


def _notice_schema() -> dict[str, Any]:
    def text(zh: str, en: str, ref: str) -> dict[str, Any]:
        return {"title": f"{zh} / {en}", "description": f"{zh}。 / {en}.", "$ref": ref}

    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{BASE}notice.json",
        "title": "公告 / Notice",
        "description": "社区公告栏上的一条公告。 / One item on a community notice board.",
        "type": "object",
        "required": ["resourceType", "specVersion", "id", "title", "divisionCode"],
        "additionalProperties": False,
        "properties": {
            "resourceType": {"title": "资源类型 / Resource type",
                             "description": "固定为 Notice。 / Always Notice.", "const": "Notice"},
            "specVersion": {"title": "规范版本 / Specification version",
                            "description": "规范版本。 / Specification version.", "const": "1.0"},
            "id": text("标识", "Id", "datatypes.json#/$defs/id"),
            "meta": text("元数据", "Metadata", "meta.json"),
            "title": text("标题", "Title", "datatypes.json#/$defs/shortText"),
            "divisionCode": text("社区", "Community", "datatypes.json#/$defs/divisionCode"),
        },
    }


def add_notice(folder: Path) -> None:
    """Make ``Notice`` a resource type of the spec tree ``folder`` (a copy of 1.0)."""
    (folder / "schemas" / "notice.json").write_text(
        json.dumps(_notice_schema(), ensure_ascii=False, indent=2), encoding="utf-8")
    with (folder / "codelists" / "resource-type.csv").open("a", encoding="utf-8",
                                                          newline="") as fh:
        csv.writer(fh).writerow(["Notice", "公告", "Notice", "社区公告。", "A notice.", "", ""])
    api_path = folder / "openapi.yaml"
    api = yaml.safe_load(api_path.read_text(encoding="utf-8"))

    def renamed(node: Any) -> Any:
        text = json.dumps(node).replace("consultation.json", "notice.json")
        text = text.replace("Consultation", "Notice").replace("consultations", "notices")
        return json.loads(text)

    collection = renamed(api["paths"]["/consultations"])
    collection["get"]["parameters"] = [
        p for p in collection["get"]["parameters"]
        if p["$ref"].rsplit("/", 1)[-1] in {"community", "updatedSince", "cursor", "limit"}]
    collection["post"]["x-roles"] = ["community-staff"]
    item = renamed(api["paths"]["/consultations/{id}"])
    item["put"]["x-roles"] = ["community-staff"]
    api["paths"]["/notices"] = collection
    api["paths"]["/notices/{id}"] = item
    api["components"]["schemas"]["NoticePage"] = renamed(
        copy.deepcopy(api["components"]["schemas"]["ConsultationPage"]))
    api_path.write_text(yaml.safe_dump(api, allow_unicode=True, sort_keys=False),
                        encoding="utf-8")
    examples = folder / "examples" / "notice"
    examples.mkdir()
    (examples / "lift-maintenance.json").write_text(json.dumps(notice(), ensure_ascii=False),
                                                    encoding="utf-8")


def notice() -> dict[str, Any]:
    return {"resourceType": "Notice", "specVersion": "1.0", "id": NOTICE,
            "title": "3号楼电梯周四上午检修", "divisionCode": "110105001001"}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("spec")
    shutil.copytree(spec_root() / "1.0", root / "1.0")
    add_notice(root / "1.0")
    return root


@pytest.fixture
def installed(tree: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv(SPEC_ROOT_VARIABLE, str(tree))
    yield tree


def test_the_spec_reads_the_new_type(installed: Path) -> None:
    from smartcommunity import load_spec

    spec = load_spec()
    assert "Notice" in spec.resource_types
    assert spec.collection("Notice") == "notices"
    assert spec.operation_roles("createNotice") == {"community-staff"}


def test_the_library_validates_notices(installed: Path) -> None:
    from smartcommunity import validate

    assert validate(notice()).valid
    bad = validate({**notice(), "title": "", "colour": "red"})
    assert {f.code for f in bad.findings} >= {"schema.unknown-member"}
    assert not bad.valid


@pytest.mark.slow
def test_the_server_serves_notices(installed: Path, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Routes, validation, storage, the feed and x-roles follow from the spec; the one line of
    Python is the type's entry in the storage index, which says where its community is."""
    from types import MappingProxyType

    from fastapi.testclient import TestClient

    from reference_server import Settings, create_app
    from reference_server.demo import demo_tokens
    from reference_server.storage import _indexes

    monkeypatch.setattr(_indexes, "INDEXES", MappingProxyType(
        {**_indexes.INDEXES, "Notice": _indexes.Index(community=("divisionCode",))}))

    def token(role: str) -> dict[str, str]:
        found = next(t for t, p in demo_tokens().items()
                     if p["role"] == role and p.get("communities") in (["110105001001"], "*"))
        return {"Authorization": f"Bearer {found}"}

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'n.sqlite3'}", demo=False))
    with TestClient(app) as client:
        staff, regulator = token("community-staff"), token("regulator")
        assert client.post("/notices", json=notice(), headers=token("resident")).status_code == 403
        created = client.post("/notices", json=notice(), headers=staff)
        assert created.status_code == 201, created.text
        assert created.headers["Location"].endswith(f"/notices/{NOTICE}")
        invalid = client.post("/notices", json={**notice(), "id": "x"}, headers=staff)
        assert invalid.status_code == 422
        read = client.get(f"/notices/{NOTICE}", headers=regulator)
        assert read.status_code == 200 and read.json()["title"] == notice()["title"]
        replaced = client.put(f"/notices/{NOTICE}", json={**notice(), "title": "检修改到周五"},
                              headers={**staff, "If-Match": created.headers["ETag"]})
        assert replaced.status_code == 200, replaced.text
        listed = client.get("/notices", headers=staff,
                            params={"community": "110105001001"}).json()["items"]
        assert [n["title"] for n in listed] == ["检修改到周五"]
        feed = client.get("/changes", headers=regulator).json()["items"]
        kinds = [e["type"].rsplit(".", 2)[-2:] for e in feed
                 if e.get("subject") == f"notices/{NOTICE}"]
        assert kinds == [["notice", "created"], ["notice", "updated"]]
