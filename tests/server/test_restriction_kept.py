"""A record restricted before a request stays restricted while the request waits
(/req/residents/restricted-disclosure, /req/residents/restricted-writes): asking for erasure
(or for restriction again) asks for more protection, never less. The server keeps when the
restriction was carried out, ``restriction.restrictedAt``, through the pending request
(/req/residents/rights-request), so the minimal form, the refusal of writes and the change
feed's earlier events hold until staff decide; their decision then says what applies."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference_server.access import Access

from .helpers import KEY, SPEC, Api, later
from .test_rights_integrity import ASKER, _load, _record

ACCESS = Access(SPEC, KEY)
PERSON = ACCESS.person_type
#: the members of the minimal form (/req/residents/erased-minimal)
MINIMAL = frozenset(ACCESS.erased)
RESTRICTED = "resident.restricted"
#: the updating roles that receive the restricted record only in its minimal form (the demo
#: proxy is hers only to receive information)
READERS = ("grid-worker", "hotline-operator", "system", "proxy")
#: the ways her side leaves restricted for a pending request, step by step: a right (POST)
#: or an update (PUT) setting the state (restriction is asked again only by withdrawing a
#: request for erasure: asked directly, a restricted record gets 409)
PATHS: dict[str, tuple[tuple[str, str], ...]] = {
    "erasure-request": (("post", "erasure-request"),),
    "erasure by update": (("put", "erasure-requested"),),
    "erasure, then restriction": (("post", "erasure-request"), ("put", "restriction-requested")),
    "erasure asked twice": (("post", "erasure-request"), ("post", "erasure-request")),
}
#: when the restriction was carried out, in the loaded record
DECIDED = later(-1)


def _restricted(state: str = "restricted") -> dict[str, Any]:
    """A restricted copy of the example resident (in the grid worker's grid), of which ASKER
    is a manage-data proxy, the demo proxy one that only receives information; an external
    id of its own lets a list find it by what the minimal form shows."""
    doc = _record({"state": state, "reason": "objection", "requestedAt": later(-2),
                   **({"decidedAt": DECIDED} if state == "restricted" else {})})
    doc["externalRefs"] = [{"system": "https://ledger.example/kept", "value": doc["id"]}]
    return doc


def _ask(api: Api, path: str, steps: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """Her side's requests, each answered 200; the record as it then is."""
    who = api.as_(ASKER)
    for how, what in steps:
        got = who.get(path)
        assert got.status_code == 200 and "name" in got.json(), got.text
        if how == "post":
            resp = who.post(f"{path}/{what}", {"reason": "consent-withdrawn"},
                            if_match=got.headers["etag"])
        else:
            body = {k: v for k, v in got.json().items() if k != "meta"}
            body["restriction"] = {"state": what}
            resp = who.put(path, body, if_match=got.headers["etag"])
        assert resp.status_code == 200, (how, what, resp.text)
    return api.staff.get(path).json()


def _minimal(doc: Any, where: str) -> None:
    assert isinstance(doc, dict), where
    assert set(doc) <= MINIMAL, (where, sorted(set(doc) - MINIMAL))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(READERS), st.sampled_from(sorted(PATHS)),
       st.sampled_from(["as received", "status", "externalRefs added"]))
def test_a_request_made_while_restricted_keeps_the_restriction(
        api: Api, role: str, path_name: str, change: str) -> None:
    """Whatever her side asks while restricted, the minimal-form readers go on receiving only
    the minimal form, by id, in lists and in every event of the feed, and their writes are
    refused, until staff decide."""
    doc = _restricted()
    tail = api.as_("system").get("/changes", params={"cursor": "latest"}).json()["next"]
    _load(api, doc)
    path = f"/residents/{doc['id']}"
    now = _ask(api, path, PATHS[path_name])
    restriction = now["restriction"]
    assert restriction["state"] in ("erasure-requested", "restriction-requested")
    who = api.as_(role)
    got = who.get(path)
    assert got.status_code == 200, got.text
    _minimal(got.json(), f"{role} reads")
    assert got.json()["restriction"] == restriction  # the marker is hers to show, not more
    if role != "hotline-operator":  # it finds residents only by pseudonym
        listed = who.get("/residents", params={
            "externalRef": f"https://ledger.example/kept|{doc['id']}"}).json()["items"]
        assert [i["id"] for i in listed] == [doc["id"]]
        _minimal(listed[0], f"{role} lists")
    if role == "system":
        events = [e for e in who.get("/changes", params={"cursor": tail, "limit": 100}
                                     ).json()["items"]
                  if e["subject"] == f"residents/{doc['id']}"]
        assert len(events) == 1 + len(PATHS[path_name]), events
        for event in events:
            _minimal(event["data"], f"event {event['action']}")
    # A write through the minimal form is refused, and changes nothing.
    before = api.staff.get(path).json()
    body = {k: copy.deepcopy(v) for k, v in got.json().items() if k != "meta"}
    if change == "status":
        body["status"] = next(s for s in SPEC.codelist("resident-status")
                              if s != body.get("status"))
    elif change == "externalRefs added":
        body["externalRefs"] = [*body.get("externalRefs", []),
                                {"system": "https://ledger.example/other", "value": "X1"}]
    resp = who.put(path, body, if_match=got.headers["etag"])
    assert (resp.status_code, resp.json().get("code")) == (403, RESTRICTED), resp.text
    assert doc["name"] not in resp.text
    if role in ("grid-worker", "system"):
        erase = who.post(f"{path}/erase", {}, if_match=got.headers["etag"])
        assert (erase.status_code, erase.json().get("code")) == (403, RESTRICTED), erase.text
    assert api.staff.get(path).json() == before
    # The server's record that the restriction holds: when it was carried out.
    assert restriction.get("restrictedAt") == DECIDED, restriction


def test_those_who_read_it_whole_still_do(api: Api) -> None:
    """The resident's managing proxy and the community's staff read the pending request whole,
    and the staff carry the erasure out: erased for everyone."""
    doc = _restricted()
    _load(api, doc)
    path = f"/residents/{doc['id']}"
    now = _ask(api, path, PATHS["erasure-request"])
    assert "name" in now and api.as_(ASKER).get(path).json() == now
    etag = api.staff.get(path).headers["etag"]
    erased = api.staff.post(f"{path}/erase", {}, if_match=etag)
    assert erased.status_code == 200, erased.text
    assert erased.json()["restriction"]["state"] == "erased"
    assert "restrictedAt" not in erased.json()["restriction"]
    for role in ("community-staff", "system"):
        _minimal(api.as_(role).get(path).json(), f"{role} reads it erased")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(PATHS)), st.sampled_from(["restricted", "none"]))
def test_the_staffs_decision_says_what_applies(sqlite_api: Api, path_name: str,
                                               decision: str) -> None:
    """Refusing the request, staff set restricted again (no legal ground needed: it was
    restricted already) or none; the marker goes with the request, and the state decided
    is the one that applies."""
    api = sqlite_api
    doc = _restricted()
    _load(api, doc)
    path = f"/residents/{doc['id']}"
    _ask(api, path, PATHS[path_name])
    got = api.staff.get(path)
    body = {k: v for k, v in got.json().items() if k != "meta"}
    asked = body["restriction"]
    body["restriction"] = {"state": decision, "requestedAt": asked["requestedAt"],
                           "decidedAt": later(0.01)}
    resp = api.staff.put(path, body, if_match=got.headers["etag"])
    assert resp.status_code == 200, resp.text
    assert "restrictedAt" not in resp.json()["restriction"]
    seen = api.as_("grid-worker").get(path).json()
    if decision == "restricted":
        _minimal(seen, "restricted again")
    else:
        assert "name" in seen, seen


def test_her_side_cannot_move_or_drop_the_marker(sqlite_api: Api) -> None:
    """restrictedAt is the server's record of the restriction: leaving the state as it is,
    her proxy can neither drop it (lifting the restriction) nor move it (403)."""
    api = sqlite_api
    doc = _restricted()
    _load(api, doc)
    path = f"/residents/{doc['id']}"
    _ask(api, path, PATHS["erasure-request"])
    who = api.as_(ASKER)
    got = who.get(path)
    for restriction in ({k: v for k, v in got.json()["restriction"].items()
                         if k != "restrictedAt"},
                        {**got.json()["restriction"], "restrictedAt": later(-30)}):
        body = {**{k: v for k, v in got.json().items() if k != "meta"},
                "restriction": restriction}
        resp = who.put(path, body, if_match=got.headers["etag"])
        assert resp.status_code == 403, resp.text
        assert resp.json()["errors"][0]["pointer"] == "/restriction/restrictedAt"
    assert api.staff.get(path).json()["restriction"] == got.json()["restriction"]


def test_a_request_not_made_while_restricted_carries_no_marker(sqlite_api: Api) -> None:
    """What her side states of restrictedAt asking from another state is not the server's
    record: the request is no restriction, and the record is served as before."""
    api = sqlite_api
    doc = _restricted(state="none")
    doc["restriction"] = {"state": "none"}
    _load(api, doc)
    path = f"/residents/{doc['id']}"
    who = api.as_(ASKER)
    got = who.get(path)
    body = {k: v for k, v in got.json().items() if k != "meta"}
    body["restriction"] = {"state": "erasure-requested", "requestedAt": later(0),
                           "restrictedAt": later(-1)}
    resp = who.put(path, body, if_match=got.headers["etag"])
    assert resp.status_code == 200, resp.text
    assert "restrictedAt" not in resp.json()["restriction"]
    assert "name" in api.as_("grid-worker").get(path).json()
