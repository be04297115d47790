"""/req/consultations/proposers-fixed: who proposed a consultation, and so who may withdraw it,
is the credential when a resident or proxy proposes, and no update changes it afterwards."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from smartcommunity import load_spec

from .helpers import LI, TOKENS, WANG, Api, actor_of, new_id
from .test_lifecycle import LIFT, _proposed

REQ = "/req/consultations/proposers-fixed"
FIXED = "consultation.proposers-fixed"
#: the roles whose proposer entries are bound to the credential, as the spec gives them
BOUND = load_spec().parameter(REQ, "boundRoles")
#: another resident of the community, who holds a credential of her own
CHEN = TOKENS["test-resident-chen"]["resident"]


def _ref(rid: str) -> dict[str, str]:
    return {"resourceType": "Resident", "id": rid}


def _origin(proposers: list[dict[str, Any]] | None) -> dict[str, Any]:
    origin: dict[str, Any] = {"type": "resident-proposal",
                              "proposedAt": LIFT["origin"]["proposedAt"]}
    if proposers is not None:
        origin["proposers"] = proposers
    return origin


#: entries by which 王桂英's own credential names herself: the members it gives are hers
HERSELF = [{"role": "resident"}, {"role": "resident", "resident": _ref(WANG)},
           {"role": "resident", "name": "王桂英", "resident": _ref(WANG)}]
#: entries naming someone else, or her in a way her credential is not
OTHERS = [{"role": "resident", "name": "陈志强", "resident": _ref(CHEN)},
          {"role": "resident", "resident": _ref(new_id())},
          {"role": "resident", "name": "王桂英", "resident": _ref(CHEN)},
          {"role": "resident", "name": "别人"},
          {"role": "resident", "userId": "kit-user-1"},
          {"role": "community-staff"},
          {"role": "resident", "onBehalfOf": _ref(CHEN)}]


def test_the_roles_bound_are_those_that_propose_as_a_resident() -> None:
    """Grid workers and community staff record topics residents raised elsewhere: only the
    roles that act as a resident, or for one, are bound."""
    assert set(BOUND) == {"resident", "proxy"}
    transitions = load_spec().lifecycle("Consultation")["transitions"]
    creators = set(next(t for t in transitions if not t["from"])["roles"])
    assert set(BOUND) < creators


@settings(max_examples=25, deadline=None)
@given(proposers=st.none() | st.lists(st.sampled_from(HERSELF + OTHERS), min_size=1,
                                      max_size=3))
def test_a_resident_proposes_as_herself(sqlite_api: Api,
                                        proposers: list[dict[str, Any]] | None) -> None:
    """Her entries are her (members left out filled in), none given is her; an entry naming
    anyone else, or claiming to act for someone, is 403 http.actor-mismatch and nothing is
    stored."""
    api = sqlite_api
    doc = _proposed(origin=_origin(copy.deepcopy(proposers)))
    resp = api.as_("resident").create(doc)
    stranger = next((i for i, p in enumerate(proposers or ()) if p not in HERSELF), None)
    if stranger is None:
        assert resp.status_code == 201, resp.text
        her = actor_of("demo-resident-wang-guiying")
        stored = api.staff.get(f"/consultations/{doc['id']}").json()
        assert stored["origin"]["proposers"] == [her] * len(proposers or [None])
        return
    assert resp.status_code == 403, resp.text
    problem = resp.json()
    assert problem["code"] == "http.actor-mismatch"
    assert problem["errors"][0]["pointer"].startswith(f"/origin/proposers/{stranger}/")
    assert api.staff.get(f"/consultations/{doc['id']}").status_code == 404


def test_a_proxy_names_nobody_but_himself(sqlite_api: Api) -> None:
    """李建国, acting for 王桂英 who authorised him, may not add 陈志强 beside her (who would
    then withdraw the topic), nor himself under another name; his own entry is filled in."""
    api = sqlite_api
    his = {"role": "proxy", "name": "李建国", "resident": _ref(LI), "onBehalfOf": _ref(WANG)}
    for extra in ({"role": "resident", "name": "陈志强", "resident": _ref(CHEN)},
                  {**his, "name": "王桂英的女儿"}):
        doc = _proposed(origin={**_origin([his, extra]), "type": "joint-proposal"})
        doc["history"][0]["actor"] = {"role": "proxy", "onBehalfOf": _ref(WANG)}
        resp = api.as_("proxy").create(doc)
        assert resp.status_code == 403, resp.text
        assert resp.json()["errors"][0]["pointer"].startswith("/origin/proposers/1/")
    doc = _proposed(origin=_origin([{"role": "proxy", "onBehalfOf": _ref(WANG)}]))
    doc["history"][0]["actor"] = {"role": "proxy", "onBehalfOf": _ref(WANG)}
    resp = api.as_("proxy").create(doc)
    assert resp.status_code == 201, resp.text
    stored = api.staff.get(f"/consultations/{doc['id']}").json()
    assert stored["origin"]["proposers"] == [{**actor_of("demo-proxy-li-jianguo"),
                                              "onBehalfOf": _ref(WANG)}]


def _rename(proposers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**proposers[0], "name": "改过的名字"}, *proposers[1:]]


#: ways an update may change the proposers, each giving the list it sends (None: none)
CHANGES = {
    "add a resident": lambda ps: [*ps, {"role": "resident", "resident": _ref(new_id())}],
    "remove the first": lambda ps: ps[1:],
    "replace one": lambda ps: [{**ps[0], "resident": _ref(new_id())}, *ps[1:]],
    "rename one": _rename,
    "reorder": lambda ps: ps[::-1],
    "act for another": lambda ps: [{**ps[0], "onBehalfOf": _ref(new_id())}, *ps[1:]],
    "drop them": lambda ps: None,
}
#: a principal of each role that may update a consultation
UPDATERS = ["community-staff", "grid-worker", "test-hotline-zhao-xue", "system"]


@settings(max_examples=25, deadline=None)
@given(change=st.sampled_from(sorted(CHANGES)), who=st.sampled_from(UPDATERS),
       title=st.booleans())
def test_no_update_changes_the_proposers(sqlite_api: Api, change: str, who: str,
                                         title: bool) -> None:
    """Staff may name the residents of a joint paper petition; afterwards a PUT by any role
    that may update changes them in no way (422 consultation.proposers-fixed, nothing stored
    changes), alone or beside an allowed change, while one keeping them goes through."""
    api = sqlite_api
    petition = [{"role": "resident", "name": "王桂英", "resident": _ref(WANG)},
                {"role": "resident", "name": "陈志强", "resident": _ref(CHEN)}]
    doc = _proposed(origin={**_origin(petition), "type": "joint-proposal", "supportCount": 12})
    created = api.as_("grid-worker").create(doc)
    assert created.status_code == 201, created.text
    assert created.json()["origin"]["proposers"] == petition  # as the staff recorded them
    path = f"/consultations/{doc['id']}"
    stored = api.staff.get(path)
    body = {k: v for k, v in stored.json().items() if k != "meta"}
    if title:
        body["title"] = "改过的议题"
    sent = CHANGES[change](copy.deepcopy(petition))
    if sent is None:
        body["origin"].pop("proposers")
    else:
        body["origin"]["proposers"] = sent
    resp = api.as_(who).put(path, body, if_match=stored.headers["etag"])
    assert resp.status_code == 422, resp.text
    errors = resp.json()["errors"]
    assert [(e["pointer"], e["code"], e["requirement"]) for e in errors] == [
        ("/origin/proposers", FIXED, REQ)]
    assert errors[0]["message"]["en"] and errors[0]["message"]["zh-Hans"]
    after = api.staff.get(path)
    assert after.headers["etag"] == stored.headers["etag"]
    assert after.json() == stored.json()
    # The same update keeping the proposers is no change of them: it goes through, and a
    # count of co-signers is no proposer.
    body["origin"]["proposers"] = petition
    body["origin"]["supportCount"] = 13
    kept = api.as_(who).put(path, body, if_match=stored.headers["etag"])
    assert kept.status_code == 200, kept.text
    assert kept.json()["origin"]["proposers"] == petition


def test_a_partial_writer_leaving_the_proposers_out_is_told_of_them(sqlite_api: Api) -> None:
    """A grid worker receives a consultation in part but its proposers whole: an update of its
    own view leaving them out is refused at /origin/proposers, which it received, not with a
    conflict about something it does not receive (/req/privacy/write-errors-unreceived)."""
    api = sqlite_api
    petition = [{"role": "resident", "name": "王桂英", "resident": _ref(WANG)}]
    doc = _proposed(origin={**_origin(petition), "type": "joint-proposal", "supportCount": 3})
    assert api.as_("grid-worker").create(doc).status_code == 201
    path = f"/consultations/{doc['id']}"
    got = api.as_("grid-worker").get(path)
    body = {k: v for k, v in got.json().items() if k != "meta"}
    assert body["origin"].pop("proposers") == petition
    resp = api.as_("grid-worker").put(path, body, if_match=got.headers["etag"])
    assert resp.status_code == 422, resp.text
    assert [(e["pointer"], e["code"]) for e in resp.json()["errors"]] == [
        ("/origin/proposers", FIXED)]
