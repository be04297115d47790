"""/req/core/meta-source: the server writes meta; a record created through the API comes from
this server's own system whatever meta the request gives, and no update moves it to another.
Records from elsewhere keep their source by import (test_resources.py) and mirroring."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcommunity.strategies import schema_values

from .helpers import COMMUNITY, PLURAL, SPEC, Api
from .test_echo import _fresh, _source

#: what a client may claim in meta: any valid value of each member the server keeps
CLAIMED = st.fixed_dictionaries({}, optional={
    "source": schema_values({"$ref": "datatypes.json#/$defs/uri"}),
    "versionId": st.integers(1, 99).map(str),
    "createdAt": st.just("2001-01-01T00:00:00+08:00"),
    "lastUpdated": st.just("2001-01-02T00:00:00+08:00"),
})
#: another department's system, whose records a client would pass its own off as
HOUSING = "https://housing.example.gov.cn/records"


def _server_meta(meta: dict[str, Any], source: str, version: str) -> None:
    assert meta["source"] == source
    assert meta["versionId"] == version
    assert meta["createdAt"] > "2001-01-02" and meta["lastUpdated"] >= meta["createdAt"]


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rt=st.sampled_from(SPEC.resource_types), claimed=CLAIMED)
def test_a_create_comes_from_this_server(api: Api, rt: str, claimed: dict[str, Any]) -> None:
    """The meta a create gives, meta.source included, is replaced by the server's own."""
    source, _ = _source(api, rt)
    doc = _fresh(rt, COMMUNITY)
    doc["meta"] = claimed
    resp = api.staff.create(doc)
    assert resp.status_code == 201, resp.text
    _server_meta(resp.json()["meta"], source, "1")
    assert api.staff.get(f"/{PLURAL[rt]}/{doc['id']}").json()["meta"] == resp.json()["meta"]


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rt=st.sampled_from(SPEC.resource_types), claimed=CLAIMED)
def test_an_update_keeps_the_source(api: Api, rt: str, claimed: dict[str, Any]) -> None:
    """A PUT giving another meta.source (or createdAt) changes neither."""
    source, rid = _source(api, rt)
    path = f"/{PLURAL[rt]}/{rid}"
    read = api.staff.get(path)
    created = read.json()["meta"]
    body = {**read.json(), "meta": {**claimed, "source": HOUSING}}
    resp = api.staff.put(path, body, if_match=read.headers["etag"])
    assert resp.status_code == 200, resp.text
    meta = resp.json()["meta"]
    _server_meta(meta, source, "2")
    assert meta["createdAt"] == created["createdAt"]
    assert api.staff.get(path).json()["meta"] == meta
