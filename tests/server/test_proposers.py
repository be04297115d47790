"""/req/consultations/proposers-fixed: who proposed a consultation, and so who may withdraw it,
is the credential when a resident or proxy proposes, and no update changes it afterwards."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from smartcommunity import load_spec

from .helpers import (
    COMMUNITY,
    LI,
    OTHER,
    ROLE_TOKEN,
    TOKENS,
    WANG,
    Api,
    actor_of,
    example,
    later,
    new_id,
)
from .test_lifecycle import LIFT, _proposed

REQ = "/req/consultations/proposers-fixed"
FIXED = "consultation.proposers-fixed"
#: the roles whose proposer entries are bound to the credential, as the spec gives them
BOUND = load_spec().parameter(REQ, "boundRoles")
#: another resident of the community, who holds a credential of her own
CHEN = TOKENS["test-resident-chen"]["resident"]
#: 陈志强's record (grid 03 of 幸福里, the grid worker's); the token above names no record
CHEN_RECORD = "b22da02a-37b1-40a8-a75a-eb1e3520a009"


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
                {"role": "resident", "name": "陈志强", "resident": _ref(CHEN_RECORD)}]
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


# -- /req/consultations/proposers-in-reach --------------------------------------------------

IN_REACH = "/req/consultations/proposers-in-reach"
OUT_OF_REACH = "consultation.proposer-out-of-reach"
#: 阿卜杜热合曼's record: 幸福里, grid 02, beyond the grid worker's grid
ABDU = "245d0819-7e24-4bbf-b772-35fe1811a144"
#: who may name proposers, and the community each one's consultation is made in
NAMERS = {"grid-worker": COMMUNITY, "community-staff": COMMUNITY,
          "demo-staff-hepingli": OTHER}
#: residents a namer may name: of each grid and community of the demo, and one nobody holds
NAMED = {"王桂英": WANG, "陈志强": CHEN_RECORD, "阿卜杜热合曼": ABDU, "李建国": LI,
         "无人": "0b9e6c1e-2f4a-4d8e-9c1b-7a6f5e4d3c2b"}


def _in_community(doc: dict[str, Any], community: str) -> dict[str, Any]:
    """``doc`` moved into ``community``."""
    moved: dict[str, Any] = json.loads(json.dumps(doc).replace(COMMUNITY, community))
    return moved


def _named_by(api: Api, who: str, proposers: list[dict[str, Any]]) -> tuple[Any, str]:
    """The answer to ``who`` creating a consultation naming ``proposers``, and its path."""
    doc = _in_community(_proposed(origin={**_origin(proposers), "type": "joint-proposal"}),
                        NAMERS[who])
    return api.as_(who).create(doc), f"/consultations/{doc['id']}"


def _refusals(resp: Any, value: str) -> list[tuple[str, str, str | None, str, str]]:
    """The errors of a refusal, their messages with the named id taken out: what one
    refusal shares with another naming someone else."""
    return [(e["pointer"], e["code"], e.get("requirement"),
             e["message"]["en"].replace(value, "…"), e["message"]["zh-Hans"].replace(value, "…"))
            for e in resp.json()["errors"]]


@settings(max_examples=40, deadline=None)
@given(who=st.sampled_from(sorted(NAMERS)), name=st.sampled_from(sorted(NAMED)),
       acting=st.booleans())
def test_staff_name_only_residents_whose_records_they_read(sqlite_api: Api, who: str,
                                                           name: str, acting: bool) -> None:
    """A grid worker names residents of his grid, community staff those of their community,
    as each reads them; naming anyone else, as proposer or as the resident an entry acts
    for, is 422 at that member, nothing stored, and the answer is the same for a resident of
    another grid or community as for one nobody holds."""
    api = sqlite_api
    rid = NAMED[name]
    entry = ({"role": TOKENS[ROLE_TOKEN.get(who, who)]["role"], "onBehalfOf": _ref(rid)}
             if acting else {"role": "resident", "name": name, "resident": _ref(rid)})
    resp, path = _named_by(api, who, [entry])
    if api.as_(who).get(f"/residents/{rid}").status_code == 200:
        assert resp.status_code == 201, resp.text
        assert resp.json()["origin"]["proposers"][0]["role"] == entry["role"]
        return
    assert resp.status_code == 422, resp.text
    member = "onBehalfOf" if acting else "resident"
    refused = _refusals(resp, rid)
    assert refused[0][:3] == (f"/origin/proposers/0/{member}", OUT_OF_REACH, IN_REACH)
    assert all(refused[0][3:])
    assert api.staff.get(path).status_code == 404
    # One nobody holds is answered in the same words: the answer tells nothing of her.
    nobody = new_id()
    entry = {**entry, member: _ref(nobody)}
    assert _refusals(_named_by(api, who, [entry])[0], nobody) == refused


def test_who_acted_for_her_is_within_reach_or_her_proxy(sqlite_api: Api) -> None:
    """An entry acting for a resident may name as its own resident the proxy her record names
    (李建国, of another community, for 王桂英), not another resident out of reach."""
    api = sqlite_api
    li = {"role": "proxy", "name": "李建国", "resident": _ref(LI)}
    resp, _ = _named_by(api, "community-staff", [{**li, "onBehalfOf": _ref(WANG)}])
    assert resp.status_code == 201, resp.text
    # Acting for 阿卜杜热合曼, whose record does not name him; for one nobody holds, both
    for behalf, who, where in ((ABDU, "community-staff", ["resident"]),
                               (WANG, "grid-worker", []),
                               (new_id(), "community-staff", ["onBehalfOf", "resident"])):
        resp, path = _named_by(api, who, [{"role": "resident", "resident": _ref(WANG)},
                                          {**li, "onBehalfOf": _ref(behalf)}])
        if not where:  # his own record is beyond the grid worker, but he is her proxy
            assert resp.status_code == 201, resp.text
            continue
        assert resp.status_code == 422, resp.text
        assert [(e["pointer"], e["code"]) for e in resp.json()["errors"]] == [
            (f"/origin/proposers/1/{member}", OUT_OF_REACH) for member in where]
        assert api.staff.get(path).status_code == 404


def test_an_erased_resident_is_named_by_nobody(sqlite_api: Api) -> None:
    """Her record is held and read, in its erased form: she proposes nothing any more."""
    api = sqlite_api
    her = example("resident/chen-zhiqiang.json")
    assert api.staff.create(her).status_code == 201
    etag = api.staff.get(f"/residents/{her['id']}").headers["etag"]
    erased = api.staff.post(f"/residents/{her['id']}/erase", {"reason": "purpose-fulfilled"},
                            if_match=etag)
    assert erased.status_code == 200, erased.text
    resp, path = _named_by(api, "community-staff",
                           [{"role": "resident", "resident": _ref(her["id"])}])
    assert resp.status_code == 422, resp.text
    assert [(e["pointer"], e["code"]) for e in resp.json()["errors"]] == [
        ("/origin/proposers/0/resident", OUT_OF_REACH)]
    assert api.staff.get(path).status_code == 404


# -- a proxy proposes only for those who authorised him ---------------------------------

@settings(max_examples=20, deadline=None)
@given(entries=st.lists(st.booleans(), min_size=1, max_size=3))
def test_a_proxy_is_no_proposer_in_his_own_right(sqlite_api: Api, entries: list[bool]) -> None:
    """李建国 proposes for 王桂英: every entry of his acts for her; one that does not (he
    himself, who would withdraw the topic once she ends his authorisation) is 403 at that
    entry and nothing is stored."""
    api = sqlite_api
    proposers = [{"role": "proxy", "onBehalfOf": _ref(WANG)} if acts else {"role": "proxy"}
                 for acts in entries]
    doc = _proposed(origin=_origin(proposers))
    doc["history"][0]["actor"] = {"role": "proxy", "onBehalfOf": _ref(WANG)}
    resp = api.as_("proxy").create(doc)
    if all(entries):
        assert resp.status_code == 201, resp.text
        return
    assert resp.status_code == 403, resp.text
    first = entries.index(False)
    assert [(e["pointer"], e.get("requirement")) for e in resp.json()["errors"]] == [
        (f"/origin/proposers/{first}", REQ)]
    assert api.staff.get(f"/consultations/{doc['id']}").status_code == 404


def test_a_proxy_naming_no_proposers_is_refused(sqlite_api: Api) -> None:
    """Naming none would make him the proposer: refused at /origin/proposers."""
    api = sqlite_api
    doc = _proposed(origin=_origin(None))
    doc["history"][0]["actor"] = {"role": "proxy", "onBehalfOf": _ref(WANG)}
    resp = api.as_("proxy").create(doc)
    assert resp.status_code == 403, resp.text
    assert [e["pointer"] for e in resp.json()["errors"]] == ["/origin/proposers"]


def test_a_proxy_listing_himself_withdraws_nothing_once_his_authorisation_ends(
        sqlite_api: Api) -> None:
    """Whatever becomes of a body listing him beside her, once she ends his authorisation
    he withdraws nothing: he was never a proposer in his own right."""
    api = sqlite_api
    record = example("resident/wang-guiying.json")  # a fresh id: 李建国 her proxy
    assert api.staff.create(record).status_code == 201
    doc = _proposed(origin={**_origin([{"role": "proxy", "onBehalfOf": _ref(record["id"])},
                                       {"role": "proxy"}]), "type": "joint-proposal"})
    doc["history"][0]["actor"] = {"role": "proxy", "onBehalfOf": _ref(record["id"])}
    if api.as_("proxy").create(doc).status_code != 201:
        doc["origin"]["proposers"] = doc["origin"]["proposers"][:1]
        assert api.as_("proxy").create(doc).status_code == 201
    current = api.staff.get(f"/residents/{record['id']}")
    changed = current.json()
    changed["proxies"][0]["validUntil"] = later(-1)
    assert api.staff.put(f"/residents/{record['id']}", changed,
                         if_match=current.headers["etag"]).status_code == 200
    path = f"/consultations/{doc['id']}"
    etag = api.staff.get(path).headers["etag"]
    refused = api.as_("proxy").post(f"{path}/actions/withdraw", {"reason": "proposer-request"},
                                    if_match=etag)
    assert refused.status_code == 403, refused.text
    assert api.staff.get(path).json()["status"] == "proposed"


# -- /req/privacy/own-items-self ---------------------------------------------------------

#: the readers of a joint petition: 王桂英, 李建国 (her proxy, who may read her record), and a
#: resident none of its entries names
READERS = ["resident", "proxy", "test-resident-chen"]
#: whose entry each reader reads as her own
OWN_ENTRIES = {"resident": {WANG}, "proxy": {WANG}, "test-resident-chen": set()}
#: the personal members of a proposer entry (actor.json)
PERSONAL = ("name", "userId", "resident", "onBehalfOf")


@settings(max_examples=20, deadline=None)
@given(named=st.lists(st.sampled_from([WANG, CHEN_RECORD, ABDU]), min_size=1, max_size=3,
                      unique=True),
       reader=st.sampled_from(READERS), acting=st.booleans())
def test_a_proposer_reads_her_own_entry_whole_and_only_hers(
        sqlite_api: Api, named: list[str], reader: str, acting: bool) -> None:
    """A petition staff recorded: the resident reads her own proposer entry (and her proxy,
    who may read her record, reads it) as it is stored, in a read, a list and the change
    feed; every other entry, and the rest of the consultation, as her role's audience."""
    api = sqlite_api
    staff = TOKENS[ROLE_TOKEN["community-staff"]]
    proposers = [{"role": "community-staff", "name": staff["name"], "userId": staff["userId"],
                  "onBehalfOf": _ref(rid)} if acting else
                 {"role": "resident", "name": f"居民{i}", "resident": _ref(rid)}
                 for i, rid in enumerate(named)]
    cursor = api.as_(reader).get("/changes", params={"cursor": "latest"}).json()["next"]
    resp, path = _named_by(api, "community-staff", proposers)
    assert resp.status_code == 201, resp.text
    stored = api.staff.get(path).json()["origin"]["proposers"]
    assert stored == proposers  # staff record a petition's entries as they are
    read = api.as_(reader).get(path).json()
    listed = next(i for i in api.as_(reader).get("/consultations", params={
        "limit": 500, "updatedSince": resp.json()["meta"]["lastUpdated"]}).json()["items"]
                  if i["id"] == path.rsplit("/", 1)[1])
    changes = api.as_(reader).get("/changes", params={"cursor": cursor, "limit": 500}).json()
    event = next(e["data"] for e in changes["items"] if e["subject"] == path[1:])
    for got in (read, listed, event):
        for entry, rid, whole in zip(got["origin"]["proposers"], named, stored, strict=True):
            if rid in OWN_ENTRIES[reader]:
                assert entry == whole
            else:  # her role's audience: no personal member of another's entry
                assert entry == {k: v for k, v in whole.items() if k not in PERSONAL}, entry
