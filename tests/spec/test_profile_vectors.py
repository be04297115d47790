"""The behaviour vectors of a city profile (spec/tests/1.0/profiles/): deadlines over the
working-day calendar, routing to the catalogue's departments, documents read and redacted with
the profile, and vote outcomes by its consultation thresholds. Any implementation can run them;
this is the library's run, and the reference server's deadlines and routing are held to the
same vectors."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from server.conftest import make_app  # the tests folder is on the path (rootdir)
from server.helpers import Api, submitted_issue

from smartcommunity import redact, validate
from smartcommunity.lifecycle import vote_outcome
from smartcommunity.profiles import Profile, load_profile
from smartcommunity.specification import spec_root

from .helpers import PROFILES_DIR, VECTORS_DIR, spec

HERE = VECTORS_DIR / spec().version / PROFILES_DIR
KINDS = ("deadline", "routing", "document", "vote")


def _groups() -> list[tuple[Path, dict[str, Any]]]:
    return [(path, group) for path in sorted(HERE.glob("*.json"))
            for group in json.loads(path.read_text(encoding="utf-8"))]


def _cases(kind: str) -> list[Any]:
    return [pytest.param(group["profile"], test, id=f"{path.stem}:{test['description']}")
            for path, group in _groups() if group["kind"] == kind for test in group["tests"]]


def _profile(name: str) -> Profile:
    return load_profile(spec_root() / spec().version / "profiles" / name)


def test_the_vectors_cover_every_kind_and_name_known_requirements() -> None:
    groups = [g for _, g in _groups()]
    assert {g["kind"] for g in groups} == set(KINDS)
    for group in groups:
        for req in [group.get("requirement")] + [t.get("requirement") for t in group["tests"]]:
            assert req is None or req in spec().requirements, req


@pytest.mark.parametrize(("name", "test"), _cases("deadline"))
def test_deadline_vector(name: str, test: dict[str, Any]) -> None:
    due = _profile(name).deadline(test["category"], test["urgency"], test["kind"],
                                  datetime.fromisoformat(test["start"]))
    assert due == datetime.fromisoformat(test["due"])


@pytest.mark.parametrize(("name", "test"), _cases("routing"))
def test_routing_vector(name: str, test: dict[str, Any]) -> None:
    service = _profile(name).service(test["category"])
    assert service is not None
    assert (service.lead, list(service.assisting)) == (test["lead"], test["assisting"])


@pytest.mark.parametrize(("name", "test"), _cases("document"))
def test_document_vector(name: str, test: dict[str, Any]) -> None:
    city = _profile(name)
    national = validate(test["data"])
    codes = city.review(test["data"], national).codes()
    assert set(test["profileFindings"]["includes"]) <= codes, codes
    assert not set(test["profileFindings"]["excludes"]) & codes, codes
    assert set(test.get("nationalFindings", {}).get("includes", ())) <= national.codes()
    for audience, extensions in (test.get("redactedExtensions") or {}).items():
        assert redact(test["data"], audience, profile=city).get("extensions") == extensions


@pytest.mark.parametrize(("name", "test"), _cases("vote"))
def test_vote_vector(name: str, test: dict[str, Any]) -> None:
    thresholds = _profile(name).thresholds.get(test["form"])
    want = test["outcome"]
    assert vote_outcome(test["vote"], test["eligibleCount"], thresholds) == (
        want["quorumMet"], want["result"], want.get("winningOptionId"))


@pytest.fixture(scope="module")
def chaoyang_server(tmp_path_factory: pytest.TempPathFactory) -> Api:
    directory = tmp_path_factory.mktemp("profile-vectors")
    app = make_app(f"sqlite:///{directory / 'server.sqlite3'}",
                   profile=spec_root() / spec().version / "profiles" / "beijing-chaoyang.json")
    return Api(TestClient(app, raise_server_exceptions=True))


@pytest.mark.parametrize(("name", "test"), [
    c for c in _cases("deadline") if c.values[0] == "beijing-chaoyang.json"
    and c.values[1]["kind"] in ("response", "resolution")])
def test_the_server_fills_in_the_deadline_vectors(chaoyang_server: Api, name: str,
                                                  test: dict[str, Any]) -> None:
    doc = submitted_issue(category=test["category"], urgency=test["urgency"],
                          submittedAt=test["start"])
    doc.pop("deadlines", None)
    doc["id"] = str(uuid.uuid4())
    doc["history"][0]["at"] = test["start"]
    member = {"response": "responseDue", "resolution": "resolutionDue"}[test["kind"]]
    resp = chaoyang_server.staff.create(doc)
    assert resp.status_code == 201, resp.text
    assert datetime.fromisoformat(resp.json()["deadlines"][member]) == \
        datetime.fromisoformat(test["due"])

