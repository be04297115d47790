"""The record of a resident's requests is the server's (/req/residents/rights-request): no
create makes a record already asked for, restricted or erased, or carries the dates of a
request; no update leaving the state as it is rewrites when the request was made or decided;
and a record already restricted is not asked for restriction again."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference_server.access import Access
from reference_server.openapi import resource_operations
from smartcommunity.privacy import rekey_pseudonyms

from .helpers import EXAMPLES, KEY, LI, SPEC, TOKENS, Api, later, new_id

ACCESS = Access(SPEC, KEY)
PERSON = ACCESS.person_type
REQUIREMENT = "/req/residents/rights-request"
ALREADY = "resident.already-restricted"
#: the roles that create a resident record (its create operation's x-roles)
CREATORS = sorted(resource_operations(SPEC.version, PERSON)["create"].roles or ())
#: the states a restriction runs through
STATES = ("none", "restriction-requested", "restricted", "erasure-requested", "erased")
REQUESTED = ("restriction-requested", "erasure-requested")
#: the organisation that decided a request
DECIDER = {"id": "rc-xingfuli", "name": "幸福里社区居民委员会", "type": "residents-committee"}
#: her manage-data proxy (she reads her record whole)
ASKER = "test-proxy-stranger"


def _load(api: Api, doc: dict[str, Any]) -> None:
    api.client.app.state.sc.service.load([doc])  # type: ignore[attr-defined]


def _record(restriction: dict[str, Any] | None = None) -> dict[str, Any]:
    """A fresh copy of the example resident (in the grid worker's grid) with ``restriction``,
    of which ASKER is a manage-data proxy."""
    doc = copy.deepcopy(EXAMPLES["resident/wang-guiying.json"])
    doc.pop("meta", None)
    doc["id"] = new_id()
    doc.pop("restriction", None)
    if restriction is not None:
        doc["restriction"] = restriction
    asker = copy.deepcopy(doc["proxies"][0])
    asker.update(id=new_id(), resident={"resourceType": PERSON, "id": TOKENS[ASKER]["resident"]},
                 scope=["manage-data"])
    asker.pop("evidence", None)
    doc["proxies"].append(asker)
    for proxy in doc["proxies"]:
        if proxy.get("resident", {}).get("id") == LI:
            proxy["scope"] = ["receive-information"]
    doc = rekey_pseudonyms(doc, KEY)  # the test server's key
    if (restriction or {}).get("state") == "erased":
        doc = ACCESS.erased_form(doc)
        doc["restriction"] = restriction
    return doc


@st.composite
def restrictions(draw: st.DrawFn, states: tuple[str, ...] = STATES) -> dict[str, Any]:
    """A valid restriction in one of ``states``, with the members its state needs and any it
    may carry."""
    state = draw(st.sampled_from(states))
    out: dict[str, Any] = {"state": state}
    if state != "none" or draw(st.booleans()):
        out["requestedAt"] = later(-3)
    if state in ("restricted", "erased") or ("requestedAt" in out and draw(st.booleans())):
        out["decidedAt"] = later(-2)
        if draw(st.booleans()):
            out["decidedBy"] = copy.deepcopy(DECIDER)
    if state in REQUESTED and draw(st.booleans()):
        out["restrictedAt"] = later(-4)
    if draw(st.booleans()):
        out["reason"] = "objection"
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(role=st.sampled_from(CREATORS),
       restriction=st.one_of(st.none(), st.just({"state": "none"}), restrictions()))
def test_a_create_carries_no_request(api: Api, role: str,
                                     restriction: dict[str, Any] | None) -> None:
    """Whoever creates a record creates it with no request, restriction or erasure and no
    record of one: anything in restriction but state none is refused with 403 and nothing is
    stored. Records in those states come in by import or mirroring."""
    doc = _record(restriction)
    resp = api.as_(role).create(doc)
    plain = restriction is None or restriction == {"state": "none"}
    if plain:
        assert resp.status_code == 201, (role, resp.text)
        return
    assert resp.status_code == 403, (role, restriction, resp.text)
    error = resp.json()["errors"][0]
    assert error["requirement"] == REQUIREMENT, error
    extra = sorted(m for m in restriction if m != "state")
    assert error["pointer"] == ("/restriction/state" if restriction["state"] != "none"
                                else f"/restriction/{extra[0]}"), error
    assert api.staff.get(f"/residents/{doc['id']}").status_code == 404
    # An import keeps it as it is.
    _load(api, doc)
    service = api.client.app.state.sc.service  # type: ignore[attr-defined]
    with service.store.read() as tx:
        assert tx.get(PERSON, doc["id"]).doc["restriction"] == restriction


#: what an update leaving the state as it is does to the record of the request
EDITS = ("requestedAt moved", "requestedAt dropped", "decidedAt moved", "decidedAt dropped",
         "decidedAt added", "decidedBy changed", "decidedBy dropped", "decidedBy added")


def _edited(restriction: dict[str, Any], edit: str) -> dict[str, Any] | None:
    """``restriction`` with ``edit`` made, or None when it does not apply (or would make the
    record invalid, which is another refusal)."""
    out = copy.deepcopy(restriction)
    member, how = edit.split()
    decided_needed = out["state"] in ("restricted", "erased")
    if how == "moved" and member in out:  # in the order the dates keep
        out[member] = later(-3.5 if member == "requestedAt" else -2.5)
    elif how == "dropped" and member in out:
        if (member == "requestedAt" and out["state"] != "none") or (
                member == "decidedAt" and (decided_needed or "decidedBy" in out)):
            return None
        del out[member]
    elif how == "added" and member not in out and "requestedAt" in out:
        out[member] = later(-2.5) if member == "decidedAt" else copy.deepcopy(DECIDER)
    elif how == "changed" and member in out:
        out[member] = {**DECIDER, "id": "rc-other", "name": "另一个居委会"}
    else:
        return None
    return out


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(who=st.sampled_from(["community-staff", ASKER]),
       stored=restrictions(("none", "restriction-requested", "restricted",
                            "erasure-requested")),
       edit=st.sampled_from(EDITS))
def test_no_update_rewrites_the_record_of_a_request(api: Api, who: str, stored: dict[str, Any],
                                                     edit: str) -> None:
    """Leaving the state as it is, neither the staff who decide requests nor the resident's
    side changes when the request was made, nor when and by whom it was decided: 403 at the
    member, and nothing changes."""
    edited = _edited(stored, edit)
    if edited is None:
        return
    doc = _record(stored)
    _load(api, doc)
    path = f"/residents/{doc['id']}"
    got = api.as_(who).get(path)
    assert got.status_code == 200, got.text
    body = {k: v for k, v in got.json().items() if k != "meta"}
    assert body["restriction"] == stored
    body["restriction"] = edited
    before = api.staff.get(path).json()
    resp = api.as_(who).put(path, body, if_match=got.headers["etag"])
    assert resp.status_code == 403, (who, stored, edit, resp.text)
    error = resp.json()["errors"][0]
    assert (error["requirement"], error["pointer"]) == (
        REQUIREMENT, f"/restriction/{edit.split()[0]}"), error
    assert api.staff.get(path).json() == before


def test_staff_still_decide_and_correct_the_rest(api: Api) -> None:
    """The rule leaves the staff's decision alone, and a correction keeping the record of the
    request as it is."""
    doc = _record({"state": "restriction-requested", "requestedAt": later(-1)})
    _load(api, doc)
    path = f"/residents/{doc['id']}"
    got = api.staff.get(path)
    body = {k: v for k, v in got.json().items() if k != "meta"}
    body["status"] = "moved-out" if body.get("status") != "moved-out" else "active"
    resp = api.staff.put(path, body, if_match=got.headers["etag"])
    assert resp.status_code == 200, resp.text
    body["restriction"] = {**body["restriction"], "state": "restricted", "decidedAt": later(0)}
    decided = api.staff.put(path, body, if_match=resp.headers["etag"])
    assert decided.status_code == 200, decided.text


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stated=st.sampled_from([{}, {"requestedAt": later(0)}, {"reason": "objection"}]),
       corrected=st.booleans())
def test_restriction_is_not_asked_for_a_restricted_record(
        api: Api, stated: dict[str, Any], corrected: bool) -> None:
    """A record already restricted is not asked for restriction again (409, nothing changes);
    asking for its erasure, and moving from that request back to restriction (withdrawing the
    erasure), still work."""
    doc = _record({"state": "restricted", "reason": "objection", "requestedAt": later(-2),
                   "decidedAt": later(-1)})
    _load(api, doc)
    path = f"/residents/{doc['id']}"
    who = api.as_(ASKER)
    got = who.get(path)
    body = {k: v for k, v in got.json().items() if k != "meta"}
    if corrected:
        body["name"] = "王桂音"
    before = api.staff.get(path).json()
    body["restriction"] = {"state": "restriction-requested", **stated}
    resp = who.put(path, body, if_match=got.headers["etag"])
    assert resp.status_code == 409, resp.text
    assert resp.json()["code"] == ALREADY
    assert resp.json()["errors"][0]["requirement"] == REQUIREMENT
    assert resp.json()["errors"][0]["pointer"] == "/restriction/state"
    assert api.staff.get(path).json() == before
    # Erasure may still be asked, and withdrawn back to restriction.
    asked = who.post(f"{path}/erasure-request", {}, if_match=got.headers["etag"])
    assert asked.status_code == 200, asked.text
    back = {k: v for k, v in asked.json().items() if k != "meta"}
    back["restriction"] = {**back["restriction"], "state": "restriction-requested"}
    resp = who.put(path, back, if_match=asked.headers["etag"])
    assert resp.status_code == 200, resp.text
    assert resp.json()["restriction"]["restrictedAt"] == asked.json()["restriction"][
        "restrictedAt"]


DECISION = "/req/residents/decision-recorded"
#: the organisation of the staff who decide in these tests (their token's)
STAFF_ORGANISATION = TOKENS["demo-staff-liu-fang"]["organisation"]
#: an organisation other than the deciding staff's
OTHER_ORGANISATION = {"id": "rc-other", "name": "另一个居委会", "type": "residents-committee"}
#: the state a record is in and the state staff decide it into (a pending request granted or
#: refused, a restriction lifted, one made on a legal ground)
DECISIONS = (("restriction-requested", "restricted"), ("restriction-requested", "none"),
             ("erasure-requested", "restricted"), ("erasure-requested", "none"),
             ("restricted", "none"), ("none", "restricted"))
#: what the deciding body states of each member: nothing, the record's own, or another
STATED = ("left out", "as read", "moved")


@st.composite
def decisions(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """A stored restriction, the one staff PUT deciding it, and what that body states of
    requestedAt, decidedAt and decidedBy."""
    old, new = draw(st.sampled_from(DECISIONS))
    stored = draw(restrictions((old,)))
    if old == "none" and draw(st.booleans()):  # an earlier request another body refused
        stored.update(requestedAt=later(-3), decidedAt=later(-2),
                      decidedBy={**OTHER_ORGANISATION, "id": "rc-earlier"})
    body = {k: v for k, v in stored.items() if k != "restrictedAt"}
    # A legal ground lets staff restrict whatever was asked (/req/residents/erasure-on-request).
    body.update(state=new, reason="unlawful-processing")
    how = {m: draw(st.sampled_from(STATED)) for m in ACTED}
    for member, stated in how.items():
        if stated == "left out":
            body.pop(member, None)
        elif stated == "moved":
            # a request moved later than the decision is invalid, which is another refusal
            days = [-400, -30, -1] + ([1, 30] if member == "decidedAt" else [])
            body[member] = (copy.deepcopy(OTHER_ORGANISATION) if member == "decidedBy"
                            else later(draw(st.sampled_from(days))))
    return stored, body, how


#: the members recording a request and its decision, in the order the server checks them
ACTED = ("requestedAt", "decidedAt", "decidedBy")


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(decision=decisions())
def test_the_server_records_a_decision(
        api: Api, decision: tuple[dict[str, Any], dict[str, Any], dict[str, str]]) -> None:
    """Staff deciding by an update do not say when or by whom: decidedAt is the moment of the
    write and decidedBy their organisation, whatever the body states, and a restriction they
    make with no request pending was asked at that moment too. A body naming another
    organisation as the decider (not the earlier decision's, read back) is refused with 403
    http.actor-mismatch, and one moving when the decided request was made with 403; either
    changes nothing."""
    stored, body, how = decision
    doc = _record(stored)
    _load(api, doc)
    path = f"/residents/{doc['id']}"
    got = api.staff.get(path)
    sent = {**{k: v for k, v in got.json().items() if k != "meta"}, "restriction": body}
    before = datetime.now(UTC) - timedelta(seconds=1)
    resp = api.staff.put(path, sent, if_match=got.headers["etag"])
    after = datetime.now(UTC) + timedelta(seconds=1)
    moved_request = stored["state"] != "none" and how["requestedAt"] == "moved"
    other = how["decidedBy"] == "moved"  # read back, an earlier decider is no claim
    if moved_request or other:
        assert resp.status_code == 403, (stored, body, resp.text)
        error = resp.json()["errors"][0]
        assert error["requirement"] == DECISION, error
        if moved_request:
            assert error["pointer"] == "/restriction/requestedAt", error
        else:
            assert (resp.json()["code"], error["pointer"]) == (
                "http.actor-mismatch", "/restriction/decidedBy"), error
        assert api.staff.get(path).json()["restriction"] == stored
        return
    assert resp.status_code == 200, (stored, body, resp.text)
    recorded = resp.json()["restriction"]
    assert recorded["state"] == body["state"]
    assert before <= _instant(recorded["decidedAt"]) <= after, (body, recorded)
    assert recorded["decidedBy"] == STAFF_ORGANISATION, (body, recorded)
    if stored["state"] == "none":  # staff restrict on their own initiative
        assert recorded["requestedAt"] == recorded["decidedAt"], (body, recorded)
    else:
        assert _instant(recorded["requestedAt"]) == _instant(stored["requestedAt"])
    assert "restrictedAt" not in recorded
    assert api.staff.get(path).json()["restriction"] == recorded


def test_a_decision_leaving_restriction_out_is_recorded(api: Api) -> None:
    """Staff whose update leaves restriction out set it to none, refusing the pending request:
    that decision too is recorded, with the request it refuses."""
    asked = {"state": "restriction-requested", "requestedAt": later(-1)}
    doc = _record(asked)
    _load(api, doc)
    path = f"/residents/{doc['id']}"
    got = api.staff.get(path)
    body = {k: v for k, v in got.json().items() if k not in ("meta", "restriction")}
    resp = api.staff.put(path, body, if_match=got.headers["etag"])
    assert resp.status_code == 200, resp.text
    recorded = resp.json()["restriction"]
    assert recorded["state"] == "none" and recorded["decidedBy"] == STAFF_ORGANISATION
    assert _instant(recorded["requestedAt"]) == _instant(asked["requestedAt"])
    assert _instant(recorded["decidedAt"]) > _instant(asked["requestedAt"])
