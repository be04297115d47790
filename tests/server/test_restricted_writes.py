"""A restricted record is changed only by those who receive it whole
(/req/residents/restricted-writes): a writer given only its minimal form
(/req/residents/restricted-disclosure) is refused whatever it sends, and nothing changes; the
resident's rights and the staff who carry them out still act on it."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference_server.access import Access
from reference_server.openapi import resource_operations
from smartcommunity.privacy import rekey_pseudonyms

from .helpers import EXAMPLES, KEY, LI, SPEC, Api, later, new_id

ACCESS = Access(SPEC, KEY)
PERSON = ACCESS.person_type
REQUIREMENT = "/req/residents/restricted-writes"
CODE = "resident.restricted"
#: the roles that may update a resident record (its update operation's x-roles)
UPDATERS = sorted(resource_operations(SPEC.version, PERSON)["update"].roles or ())
#: the members of the minimal form (/req/residents/erased-minimal)
MINIMAL = frozenset(ACCESS.erased)
#: what a writer's body does to the view it read
CHANGES = ("as received", "status", "externalRefs added", "externalRefs dropped",
           "restriction lifted", "a member it does not receive")


def _load(api: Api, doc: dict[str, Any]) -> None:
    api.client.app.state.sc.service.load([doc])  # type: ignore[attr-defined]


def _restricted() -> dict[str, Any]:
    """A restricted copy of the example resident (in the grid worker's grid); the demo proxy
    is hers only to receive information, so it too reads her record in its minimal form."""
    doc = copy.deepcopy(EXAMPLES["resident/wang-guiying.json"])
    doc.pop("meta", None)
    doc["id"] = new_id()
    doc["restriction"] = {"state": "restricted", "reason": "objection",
                          "requestedAt": later(-2), "decidedAt": later(-1)}
    for proxy in doc["proxies"]:
        if proxy.get("resident", {}).get("id") == LI:
            proxy["scope"] = ["receive-information"]
    return rekey_pseudonyms(doc, KEY)  # the test server's key


def _minimal_writers(api: Api, path: str) -> list[str]:
    """The updating roles whose test principal reads the record at ``path`` in its minimal
    form (the others read it whole or not at all)."""
    found = []
    for role in UPDATERS:
        got = api.as_(role).get(path)
        if got.status_code == 200 and set(got.json()) <= MINIMAL:
            found.append(role)
    return found


def _body(view: dict[str, Any], change: str, data: st.DataObject) -> dict[str, Any]:
    body = {k: copy.deepcopy(v) for k, v in view.items() if k != "meta"}
    if change == "status":
        statuses = [s for s in SPEC.codelist("resident-status") if s != body.get("status")]
        body["status"] = data.draw(st.sampled_from(statuses))
    elif change == "externalRefs added":
        value = data.draw(st.text("0123456789ABCDEF", min_size=1, max_size=12))
        body["externalRefs"] = [*(body.get("externalRefs") or ()),
                                {"system": "https://ledger.example/other", "value": value}]
    elif change == "externalRefs dropped":
        body.pop("externalRefs", None)
    elif change == "restriction lifted":
        body["restriction"] = {"state": "none"}
    elif change == "a member it does not receive":
        body["name"] = data.draw(st.sampled_from(["王桂英", "王贵英", "王小英"]))
    return body


def test_every_updating_role_but_the_communitys_staff_receives_it_minimal(
        sqlite_api: Api) -> None:
    """The refusal covers what the minimal form lets through: the grid worker, the hotline,
    the system principal and a proxy without manage-data all read the record so."""
    doc = _restricted()
    _load(sqlite_api, doc)
    writers = _minimal_writers(sqlite_api, f"/residents/{doc['id']}")
    assert set(writers) == {"grid-worker", "hotline-operator", "system", "proxy"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["grid-worker", "hotline-operator", "system", "proxy"]),
       st.sampled_from(CHANGES), st.data())
def test_a_writer_given_the_minimal_form_changes_nothing(sqlite_api: Api, role: str,
                                                         change: str,
                                                         data: st.DataObject) -> None:
    api = sqlite_api
    doc = _restricted()
    _load(api, doc)
    path = f"/residents/{doc['id']}"
    before = api.staff.get(path).json()
    who = api.as_(role)
    got = who.get(path)
    assert got.status_code == 200 and set(got.json()) <= MINIMAL, got.text
    resp = who.put(path, _body(got.json(), change, data), if_match=got.headers["etag"])
    assert resp.status_code == 403, (role, change, resp.text)
    problem = resp.json()
    assert problem["code"] == CODE
    assert problem["message"]["zh-Hans"] and problem["message"]["en"]
    assert [(e["code"], e["requirement"]) for e in problem["errors"]] == [(CODE, REQUIREMENT)]
    # Nothing the minimal form withholds is told, and nothing changed, not even the version.
    assert doc["name"] not in resp.text
    assert api.staff.get(path).json() == before


def test_the_refusal_comes_before_the_version_and_the_body(sqlite_api: Api) -> None:
    """Whatever the ETag or the body, the answer is the same refusal: it rests on who writes
    and the state the minimal form shows, nothing else."""
    api = sqlite_api
    doc = _restricted()
    _load(api, doc)
    path = f"/residents/{doc['id']}"
    grid = api.as_("grid-worker")
    for body, etag in (({"resourceType": PERSON}, '"1"'), ({}, '"999"'),
                       (grid.get(path).json(), '"999"')):
        resp = grid.put(path, body, if_match=etag)
        assert (resp.status_code, resp.json()["code"]) == (403, CODE), resp.text


def test_no_right_is_exercised_through_the_minimal_form(sqlite_api: Api) -> None:
    """The rights on the record are writes too: the proxy who only receives information asks
    for nothing, and a writer given the minimal form erases nothing."""
    api = sqlite_api
    doc = _restricted()
    _load(api, doc)
    path = f"/residents/{doc['id']}"
    before = api.staff.get(path)
    for role, operation in (("proxy", "erasure-request"), ("grid-worker", "erase"),
                            ("system", "erase")):
        resp = api.as_(role).post(f"{path}/{operation}", {"reason": "purpose-fulfilled"},
                                  if_match=before.headers["etag"])
        assert (resp.status_code, resp.json()["code"]) == (403, CODE), (role, resp.text)
    assert api.staff.get(path).json() == before.json()


def test_who_may_not_read_it_still_gets_404(sqlite_api: Api) -> None:
    api = sqlite_api
    doc = _restricted()
    _load(api, doc)
    path = f"/residents/{doc['id']}"
    other = api.as_("demo-staff-hepingli")  # staff of another community
    assert other.get(path).status_code == 404
    assert other.put(path, {"resourceType": PERSON}, if_match='"1"').status_code == 404


def test_those_who_read_it_whole_still_act_on_it(sqlite_api: Api) -> None:
    """The community's staff correct it, the manage-data proxy asks for erasure, and the
    staff carry the erasure out."""
    api = sqlite_api
    doc = _restricted()
    for proxy in doc["proxies"]:
        if proxy.get("resident", {}).get("id") == LI:
            proxy["scope"] = ["manage-data"]
    _load(api, doc)
    path = f"/residents/{doc['id']}"
    got = api.staff.get(path)
    body = {**got.json(), "status": "moved-out"}
    resp = api.staff.put(path, body, if_match=got.headers["etag"])
    assert resp.status_code == 200, resp.text
    asked = api.as_("proxy").post(f"{path}/erasure-request", {"reason": "consent-withdrawn"},
                                  if_match=resp.headers["etag"])
    assert asked.status_code == 200, asked.text
    erased = api.staff.post(f"{path}/erase", {}, if_match=asked.headers["etag"])
    assert erased.status_code == 200, erased.text
    assert api.staff.get(path).json()["restriction"]["state"] == "erased"


def test_a_pending_erasure_request_is_no_restriction(sqlite_api: Api) -> None:
    """erasure-requested asked from a state other than restricted (no restrictedAt) is a
    request not yet carried out, as restriction-requested is: the record is served and
    written as before, what a writer does not receive kept (see test_restriction_kept.py for
    one asked while restricted)."""
    api = sqlite_api
    doc = _restricted()
    doc["restriction"] = {"state": "erasure-requested", "requestedAt": later(-1)}
    _load(api, doc)
    path = f"/residents/{doc['id']}"
    grid = api.as_("grid-worker")
    got = grid.get(path)
    assert "name" in got.json()
    body = {k: v for k, v in got.json().items() if k != "meta"}
    body["contactPoints"] = [{"type": "mobile", "phone": "+8613900000001", "preferred": True}]
    resp = grid.put(path, body, if_match=got.headers["etag"])
    assert resp.status_code == 200, resp.text
    assert api.staff.get(path).json()["restriction"] == doc["restriction"]


def test_the_code_is_declared_for_the_requirement() -> None:
    req = SPEC.requirements[REQUIREMENT]
    assert CODE in req.codes
    entry = SPEC.codelist("error-code").entries[CODE]
    assert entry.title_zh and entry.title_en and entry.description_zh and entry.description_en
