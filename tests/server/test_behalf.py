"""/req/core/actor-is-principal: staff act (onBehalfOf) only for residents within their reach,
the reach of reading their records, and a resident beyond it is answered as one nobody holds."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from .helpers import COMMUNITY, LI, OTHER, TOKENS, Api, new_id, submitted_issue

REQ = "/req/core/actor-is-principal"
MISMATCH = "http.actor-mismatch"
#: 陈志强 (幸福里, grid 03: the grid worker's), 阿卜杜热合曼 (幸福里, grid 02), 李建国 (和平里),
#: and the demo's erased record (幸福里)
CHEN = "b22da02a-37b1-40a8-a75a-eb1e3520a009"
ABDU = "245d0819-7e24-4bbf-b772-35fe1811a144"
ERASED = "82404352-13c8-4bdf-b680-e5aa0e4d93a1"
#: who acts for residents (token → the community it records in)
ACTORS = {"demo-grid-worker-zhang-wei": COMMUNITY, "demo-staff-liu-fang": COMMUNITY,
          "test-hotline-zhao-xue": COMMUNITY, "demo-staff-hepingli": OTHER}
#: the residents each may act for, as each reads them: the rest are beyond reach
REACH = {"demo-grid-worker-zhang-wei": {CHEN},
         "demo-staff-liu-fang": {CHEN, ABDU},
         "test-hotline-zhao-xue": {CHEN, ABDU},
         "demo-staff-hepingli": {LI}}
#: whom they may name: of the grid, of another grid, of another community, erased, nobody
TARGETS = {"own grid": CHEN, "other grid": ABDU, "other community": LI, "erased": ERASED,
           "nobody": None}


def _ref(rid: str) -> dict[str, str]:
    return {"resourceType": "Resident", "id": rid}


def _issue_for(api: Api, who: str, rid: str) -> Any:
    """``who`` submitting an issue for resident ``rid`` (its creating event and submittedBy)."""
    doc = submitted_issue()
    doc = json.loads(json.dumps(doc).replace(COMMUNITY, ACTORS[who]))
    actor = {"role": TOKENS[who]["role"], "onBehalfOf": _ref(rid)}
    doc["history"][0]["actor"] = dict(actor)
    doc["submittedBy"] = dict(actor)
    return api.as_(who).create(doc), f"/issues/{doc['id']}"


def _answer(resp: Any, rid: str) -> tuple[int, str]:
    """The whole answer with the id named taken out: what two refusals share."""
    return resp.status_code, resp.text.replace(rid, "…")


@settings(max_examples=30, deadline=None)
@given(who=st.sampled_from(sorted(ACTORS)), target=st.sampled_from(sorted(TARGETS)))
def test_staff_act_only_for_residents_they_read(api: Api, who: str, target: str) -> None:
    """A grid worker acts for the residents of his grids, community staff and hotline
    operators for those of their communities; for anyone else (of another grid or community,
    erased, or nobody held) the create is 403 http.actor-mismatch at the onBehalfOf, nothing
    is stored, and the answer is the same, word for word, as for a resident nobody holds."""
    rid = TARGETS[target] or new_id()
    resp, path = _issue_for(api, who, rid)
    if rid in REACH[who]:
        assert resp.status_code == 201, resp.text
        assert resp.json()["submittedBy"]["onBehalfOf"]["id"] == rid
        return
    assert resp.status_code == 403, resp.text
    problem = resp.json()
    assert problem["code"] == MISMATCH
    assert [(e["pointer"], e["code"], e.get("requirement")) for e in problem["errors"]] == [
        ("/history/0/actor/onBehalfOf", MISMATCH, REQ)]
    assert api.as_("system").get(path).status_code == 404
    nobody = new_id()
    assert _answer(_issue_for(api, who, nobody)[0], nobody) == _answer(resp, rid)


@settings(max_examples=20, deadline=None)
@given(who=st.sampled_from(["demo-staff-liu-fang", "test-hotline-zhao-xue",
                            "demo-staff-hepingli"]),
       target=st.sampled_from(sorted(TARGETS)))
def test_an_action_acts_only_for_residents_in_reach(api: Api, who: str, target: str) -> None:
    """An action's actor (accepting an issue the resident phoned in) is held to the same
    reach, and a resident beyond it answered as one nobody holds."""
    rid = TARGETS[target] or new_id()
    created, path = _issue_for(api, who, next(iter(REACH[who])))
    assert created.status_code == 201, created.text

    def accept(resident: str) -> Any:
        etag = api.as_(who).get(path).headers["etag"]
        return api.as_(who).post(f"{path}/actions/accept", {
            "actor": {"role": TOKENS[who]["role"], "onBehalfOf": _ref(resident)}},
            if_match=etag)

    if rid in REACH[who]:
        resp = accept(rid)
        assert resp.status_code == 200, resp.text
        return
    resp = accept(rid)
    assert resp.status_code == 403, resp.text
    assert [(e["pointer"], e["code"]) for e in resp.json()["errors"]] == [
        ("/actor/onBehalfOf", MISMATCH)]
    assert api.as_(who).get(path).json()["status"] == "submitted"
    nobody = new_id()
    assert _answer(accept(nobody), nobody) == _answer(resp, rid)
