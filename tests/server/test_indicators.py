"""GET /indicators: the spec's indicator vectors, served to the regulator and no one else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import make_app
from .helpers import Api, tmp_sqlite

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "spec/tests/1.0/indicators/figures.json").read_text("utf-8"))
SPEC = ROOT / "spec/1.0"
#: the profiles the vectors name; "" is the server running the national rules alone
PROFILES = sorted({v.get("profile") or "" for v in VECTORS})
PLAIN = [v for v in VECTORS if not v.get("profile")]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Api]:
    """A server per profile the vectors name, holding that profile's vectors' issues."""
    out = {}
    for profile in PROFILES:
        app = make_app(tmp_sqlite(tmp_path_factory.mktemp("ind")), demo=False,
                       profile=SPEC / profile if profile else None)
        for vector in VECTORS:
            if (vector.get("profile") or "") == profile:
                # stored as they are: the vectors hold only the members the indicators read
                app.state.sc.service.load(vector["issues"], validate=False)
        out[profile] = Api(TestClient(app, raise_server_exceptions=True))
    return out


@pytest.fixture(scope="module")
def loaded(servers: dict[str, Api]) -> Api:
    return servers[""]


def _figures(api: Api, period: str) -> dict[str, Any]:
    resp = api.as_("regulator").get("/indicators", params={"period": period})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    assert body["period"] == period
    return body


def _periods(vector: dict[str, Any]) -> list[str]:
    return [vector["period"]] if "period" in vector else sorted(
        {f["period"] for f in vector["expected"]})


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["description"][:30])
def test_the_vectors_through_the_endpoint(servers: dict[str, Api],
                                          vector: dict[str, Any]) -> None:
    """A server running the vector's profile (or none) gives the vector's figures: the
    profile's calendar, response limits, targets and added indicators apply."""
    for period in _periods(vector):
        body = _figures(servers[vector.get("profile") or ""], period)
        got = {(f["indicator"], f["dimension"], f["key"]): f for f in body["figures"]
               if f["dimension"] in vector["dimensions"]}
        want = {(f["indicator"], f["dimension"], f["key"]): f for f in vector["expected"]
                if f.get("period", period) == period}
        assert set(got) == set(want), period
        for key, figure in want.items():
            assert {k: got[key][k] for k in figure} == figure
        assert {f["dimension"] for f in body["figures"]} <= {"department", "community",
                                                             "category", "city"}


def test_the_profile_brings_targets_and_its_own_indicators(servers: dict[str, Api]) -> None:
    profiled = [p for p in PROFILES if p]
    assert profiled, "a vector runs under a city profile"
    data = json.loads((SPEC / profiled[0]).read_text("utf-8"))
    period = _periods(next(v for v in VECTORS if v.get("profile") == profiled[0]))[0]
    plain, city = _figures(servers[""], period), _figures(servers[profiled[0]], period)
    assert plain["profile"] is None and city["profile"] == data["profile"]["id"]
    # the same issues counted with the city's calendar and limits give other figures
    assert plain["figures"] != city["figures"]
    targets = {i["id"]: i.get("target") for i in city["indicators"]}
    for ident, target in data["indicators"]["targets"].items():
        assert targets[ident] == target
    national = {i["id"] for i in plain["indicators"]}
    assert national == {"response-rate", "resolution-rate", "satisfaction-rate",
                        "on-time-completion-rate", "return-rate", "reopen-rate",
                        "extension-count", "average-handling-time"}
    assert set(targets) > national


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


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(year=st.integers(0, 9999) | st.sampled_from([0, 1, 9999]), month=st.integers(1, 12),
       role=st.sampled_from(["regulator", "department"]))
def test_every_period_the_pattern_allows_is_answered(loaded: Api, year: int, month: int,
                                                     role: str) -> None:
    """Every YYYY-MM the OpenAPI's pattern lets through gets its figures, or for the year
    0000, which no calendar has, a 400 naming period in both languages, whoever asks; never a
    500."""
    resp = loaded.as_(role).get("/indicators", params={"period": f"{year:04d}-{month:02d}"})
    if year == 0:
        assert resp.status_code == 400, resp.text
        body = resp.json()
        assert [e["pointer"] for e in body["errors"]] == ["/query/period"]
        assert all(body["errors"][0]["message"][lang] for lang in ("zh-Hans", "en"))
        assert "period" in body["message"]["en"] and "period" in body["message"]["zh-Hans"]
    else:
        assert resp.status_code == (200 if role == "regulator" else 403), resp.text


def test_without_a_token_it_is_401(loaded: Api) -> None:
    assert loaded.client.get("/indicators", params={"period": "2026-11"}).status_code == 401
