"""GET /profile publishes the city's organisation registry inline, each organisation redacted
for the reader as GET /organisations/{id} serves it (/req/profiles/server-profile): the names
and phones of its members never reach the public (/req/privacy/public-no-personal), however the
readers before asked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcommunity import load_spec, redact
from smartcommunity.profiles import load_profile
from smartcommunity.specification import spec_root
from smartcommunity.validation import compile_plan, values_at

from .conftest import make_app
from .helpers import KEY, ROLE_TOKEN, Api, Caller

CHAOYANG = spec_root() / "1.0" / "profiles" / "beijing-chaoyang.json"
SPEC = load_spec()
#: the readers: a token of each role, and none
READERS = [*ROLE_TOKEN, None]
#: the organisations of the city's registry, as the city wrote them
REGISTRY = list(load_profile(CHAOYANG).organisations.values())


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Api:
    tmp: Path = tmp_path_factory.mktemp("registry")
    app = make_app(f"sqlite:///{tmp / 'server.sqlite3'}", profile=CHAOYANG)
    return Api(TestClient(app, raise_server_exceptions=True))


def _caller(api: Api, role: str | None) -> Caller:
    return api.as_(role) if role is not None else Caller(api.client, None)


def _without_meta(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "meta"}


def _personal(org: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [where for path, cls, _ in compile_plan(SPEC, "Organisation").pipl
            if cls in ("personal", "sensitive") for where, _ in values_at(org, path)]


@settings(max_examples=25, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(READERS), min_size=1, max_size=6))
def test_each_reader_gets_the_registry_as_it_reads_each_organisation(
        city: Api, readers: list[str | None]) -> None:
    for role in readers:
        caller = _caller(city, role)
        resp = caller.get("/profile")
        assert resp.status_code == 200, (role, resp.text)
        audience = SPEC.audience_of(role or "public")
        for org, registered in zip(resp.json()["organisations"], REGISTRY, strict=True):
            assert org == redact(registered, audience, pseudonym_key=KEY), (role, org["code"])
            one = caller.get(f"/organisations/{org['id']}")
            if one.status_code == 200:  # one outside the reader's communities is not read
                assert _without_meta(org) == _without_meta(one.json()), (role, org["code"])


def test_the_public_gets_no_members_names_or_phones(city: Api) -> None:
    staff = city.staff.get("/profile").json()["organisations"]
    assert any(_personal(org) for org in staff)  # the registry does hold personal data
    for role in ("public", None):
        served = _caller(city, role).get("/profile").json()["organisations"]
        assert [o["code"] for o in served] == [o["code"] for o in staff]
        assert not [where for org in served for where in _personal(org)], role


def test_a_token_no_one_issued_is_refused(city: Api) -> None:
    assert _caller(city, "not-a-token").get("/profile").status_code == 401
