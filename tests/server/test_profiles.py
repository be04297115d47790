"""The reference server running a city profile (/conf/profiles): declared, published, obeyed."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from smartcommunity.profiles import load_profile
from smartcommunity.specification import spec_root

from .conftest import make_app
from .helpers import Api, submitted_issue

PROFILES = spec_root() / "1.0" / "profiles"
CHAOYANG = PROFILES / "beijing-chaoyang.json"
CLASS = "https://w3id.org/smartcommunity/spec/1.0/conf/profiles"


def _api(tmp_path: Path, profile: Path | None) -> Api:
    app = make_app(f"sqlite:///{tmp_path / 'server.sqlite3'}", profile=profile)
    return Api(TestClient(app, raise_server_exceptions=True))


@pytest.fixture(scope="module")
def chaoyang(tmp_path_factory: pytest.TempPathFactory) -> Api:
    return _api(tmp_path_factory.mktemp("chaoyang"), CHAOYANG)


def _issue(**changes: Any) -> dict[str, Any]:
    doc = submitted_issue(**changes)
    doc.pop("deadlines", None)
    return doc


@pytest.mark.parametrize("name", ["beijing-chaoyang.json", "jiangshan.json"])
def test_the_profile_is_declared_and_published(tmp_path: Path, name: str) -> None:
    api = _api(tmp_path, PROFILES / name)
    profile = load_profile(PROFILES / name)
    declared = api.client.get("/conformance").json()
    assert CLASS in declared["conformsTo"]
    assert declared["profile"] == {"id": profile.id, "version": profile.version}
    served = api.client.get("/profile").json()
    assert served["profile"]["id"] == profile.id
    # The registry is served inline even when the file keeps it in an NDJSON file of its own.
    assert {o["code"] for o in served["organisations"]} == set(profile.organisations)
    catalogue = api.client.get("/services").json()
    assert catalogue["profile"] == profile.id
    assert [s["category"] for s in catalogue["items"]] == list(profile.services)
    assert [s["lead"] for s in catalogue["items"]] == [s.lead for s in profile.services.values()]


def test_without_a_profile_nothing_is_declared(sqlite_api: Api) -> None:
    declared = sqlite_api.client.get("/conformance").json()
    assert CLASS not in declared["conformsTo"] and "profile" not in declared
    missing = sqlite_api.client.get("/profile")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert sqlite_api.client.get("/services").json() == {"items": []}


@pytest.mark.parametrize(("category", "urgency"), [
    ("environment.garbage.bj-bulky-waste", "normal"), ("public-safety.fire-lane", "urgent"),
    ("housing.lift", "critical")])
def test_new_issues_get_the_catalogues_deadlines(chaoyang: Api, category: str,
                                                 urgency: str) -> None:
    profile = load_profile(CHAOYANG)
    doc = _issue(category=category, urgency=urgency)
    resp = chaoyang.staff.create(doc)
    assert resp.status_code == 201, resp.text
    stored = resp.json()
    start = datetime.fromisoformat(doc["submittedAt"])
    for kind, member in (("response", "responseDue"), ("resolution", "resolutionDue")):
        expected = profile.deadline(category, urgency, kind, start)
        assert expected is not None
        assert datetime.fromisoformat(stored["deadlines"][member]) == expected


def test_a_city_sub_code_is_taken_without_a_warning(chaoyang: Api) -> None:
    resp = chaoyang.staff.create(_issue(category="environment.garbage.bj-bulky-waste"))
    assert resp.status_code == 201, resp.text


def test_swapping_the_deadline_table_changes_the_deadlines(tmp_path: Path) -> None:
    data = json.loads(CHAOYANG.read_text(encoding="utf-8"))
    data["organisations"]["file"] = str(PROFILES / data["organisations"]["file"])
    for service in data["services"]:
        service.pop("deadlines", None)
    data["deadlines"]["normal"]["resolution"] = {"amount": 3, "unit": "working-days"}
    swapped = tmp_path / "swapped.json"
    swapped.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    api = _api(tmp_path, swapped)
    # Friday 2025-09-26 10:00: three working days on is Wednesday 10-01? No: 10-01..08 are
    # holidays and Sunday 09-28 is worked, so Sun 28, Mon 29, Tue 30 -> Tue 09-30 10:00.
    doc = _issue(category="housing.lift", urgency="normal",
                 submittedAt="2025-09-26T10:00:00+08:00")
    doc["history"][0]["at"] = doc["submittedAt"]
    resp = api.staff.create(doc)
    assert resp.status_code == 201, resp.text
    assert datetime.fromisoformat(resp.json()["deadlines"]["resolutionDue"]) == \
        datetime.fromisoformat("2025-09-30T10:00:00+08:00")


def test_a_stated_deadline_later_than_the_profile_is_refused(chaoyang: Api) -> None:
    doc = _issue(category="housing.lift", urgency="critical")
    doc["deadlines"] = {"responseDue": "2025-06-16T09:52:00+08:00"}  # limit: one hour
    resp = chaoyang.staff.create(doc)
    assert resp.status_code == 422
    assert [e["code"] for e in resp.json()["errors"]] == ["profile.deadline-exceeds"]
    assert chaoyang.staff.get(f"/issues/{doc['id']}").status_code == 404


def test_registered_extensions_are_validated(chaoyang: Api) -> None:
    good = _issue(extensions={"cn.gov.beijing.jiesujiban": {"workOrderNo": "CY202501010001"}})
    assert chaoyang.staff.create(good).status_code == 201
    bad = _issue(extensions={"cn.gov.beijing.jiesujiban": {"workOrderNo": "12345"}})
    resp = chaoyang.staff.create(bad)
    assert resp.status_code == 422
    errors = resp.json()["errors"]
    assert {e["code"] for e in errors} == {"profile.extension-invalid"}
    assert all(e["pointer"].startswith("/extensions/cn.gov.beijing.jiesujiban") for e in errors)


def test_a_dispatch_naming_no_department_goes_to_the_catalogues(chaoyang: Api) -> None:
    profile = load_profile(CHAOYANG)
    doc = _issue(category="environment.garbage.bj-bulky-waste")
    assert chaoyang.staff.create(doc).status_code == 201
    assert chaoyang.staff.act("Issue", doc["id"], "accept").status_code == 200
    lead, assisting = str(uuid.uuid4()), str(uuid.uuid4())
    now = datetime.now(UTC).astimezone().isoformat(timespec="seconds")
    new = [{"id": i, "role": role, "status": "pending", "assignedAt": now}
           for i, role in ((lead, "lead"), (assisting, "assisting"))]
    resp = chaoyang.staff.act("Issue", doc["id"], "dispatch", {
        "details": {"lead": lead, "assisting": [assisting]}, "items": {"assignments": new}})
    assert resp.status_code == 200, resp.text
    given = {a["id"]: a["department"]["id"] for a in resp.json()["assignments"]}
    service = profile.service(doc["category"])
    assert service is not None
    assert given == {lead: service.lead, assisting: service.assisting[0]}
    # A department the caller names is kept as named.
    other = _issue(category="environment.garbage.bj-bulky-waste")
    assert chaoyang.staff.create(other).status_code == 201
    chaoyang.staff.act("Issue", other["id"], "accept")
    named = [{**new[0], "department": {"id": "housing", "name": "朝阳区住房和城乡建设委员会",
                                       "type": "government-department"}}]
    resp = chaoyang.staff.act("Issue", other["id"], "dispatch", {
        "details": {"lead": lead}, "items": {"assignments": named}})
    assert resp.status_code == 200, resp.text
    assert [a["department"]["id"] for a in resp.json()["assignments"]] == ["housing"]


@pytest.mark.parametrize("command", [["serve", "--no-demo"],
                                     ["conformance", "run", "--preset", "demo",
                                      "--base-url", "http://127.0.0.1:9"]])
def test_a_profile_with_errors_stops_the_command(tmp_path: Path, command: list[str],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from smartcommunity.cli import run

    data = json.loads(CHAOYANG.read_text(encoding="utf-8"))
    data["organisations"]["file"] = str(PROFILES / data["organisations"]["file"])
    data["roles"][0]["role"] = "mayor"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert run([*command, "--profile", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "/roles/0/role" in err and "profile.unknown-role" in err
