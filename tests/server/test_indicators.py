"""GET /indicators: the spec's indicator vectors, served to the regulator and no one else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .conftest import make_app
from .helpers import Api, tmp_sqlite

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "spec/tests/1.0/indicators/figures.json").read_text("utf-8"))
#: the vectors the server computes: those without a city profile (the server runs without one)
PLAIN = [v for v in VECTORS if not v.get("profile")]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Api:
    app = make_app(tmp_sqlite(tmp_path_factory.mktemp("ind")), demo=False)
    client = TestClient(app, raise_server_exceptions=True)
    for vector in PLAIN:
        # stored as they are: the vectors hold only the members the indicators read
        app.state.sc.service.load(vector["issues"], validate=False)
    return Api(client)


@pytest.mark.parametrize("vector", PLAIN, ids=lambda v: v["description"][:30])
def test_the_vectors_through_the_endpoint(loaded: Api, vector: dict[str, Any]) -> None:
    resp = loaded.as_("regulator").get("/indicators", params={"period": vector["period"]})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["period"] == vector["period"]
    got = {(f["indicator"], f["dimension"], f["key"]): f for f in body["figures"]
           if f["dimension"] in vector["dimensions"]}
    want = {(f["indicator"], f["dimension"], f["key"]): f for f in vector["expected"]}
    assert set(got) == set(want)
    for key, figure in want.items():
        assert {k: got[key][k] for k in figure} == figure
    assert {i["id"] for i in body["indicators"]} == {
        "response-rate", "resolution-rate", "satisfaction-rate", "on-time-completion-rate",
        "return-rate", "reopen-rate", "extension-count", "average-handling-time"}
    assert {f["dimension"] for f in body["figures"]} == {"department", "community",
                                                         "category", "city"}


def test_a_month_without_cases_has_no_figures(loaded: Api) -> None:
    resp = loaded.as_("regulator").get("/indicators", params={"period": "2019-01"})
    assert resp.status_code == 200 and resp.json()["figures"] == []


@pytest.mark.parametrize("role", ["community-staff", "department", "resident", "supervisor"])
def test_other_roles_are_refused(loaded: Api, role: str) -> None:
    resp = loaded.as_(role).get("/indicators", params={"period": "2026-11"})
    assert resp.status_code == 403
    assert resp.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("params", [{}, {"period": "2026-13"}, {"period": "11/2026"},
                                    {"period": "2026-11", "extra": "1"}])
def test_a_missing_or_malformed_period_is_400(loaded: Api, params: dict[str, str]) -> None:
    resp = loaded.as_("regulator").get("/indicators", params=params)
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["errors"] and body["errors"][0]["pointer"].startswith("/query/")


def test_without_a_token_it_is_401(loaded: Api) -> None:
    assert loaded.client.get("/indicators", params={"period": "2026-11"}).status_code == 401
