"""/req/privacy/filter-what-is-seen: a list filter selects only by what the reader receives,
and a page's ``next`` is given only when an item the reader may see follows."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reference_server.storage import ListQuery, Stored, derive, selects
from smartcommunity import identifiers

from .helpers import (
    COMMUNITY,
    KEY,
    Api,
    Caller,
    example,
    later,
    new_id,
    submitted_issue,
)

#: readers of issues whose views differ: no token (the public), a resident, the regulator,
#: a grid worker, the community's staff
ISSUE_READERS = (None, "resident", "regulator", "grid-worker", "community-staff")


def _caller(api: Api, who: str | None) -> Caller:
    return api.as_(who) if who else Caller(api.client, None)


def _listed(caller: Caller, path: str, limit: int = 50, **params: Any) -> list[str]:
    """Every id the list gives ``caller``, page by page; each page that gives ``next`` is
    followed by a page with an item (/req/privacy/filter-what-is-seen)."""
    found: list[str] = []
    cursor = None
    while True:
        resp = caller.get(path, params={"limit": limit, **params,
                                        **({"cursor": cursor} if cursor else {})})
        assert resp.status_code == 200, resp.text
        page = resp.json()
        if cursor is not None:
            assert page["items"], f"next was given before an empty page: {params}"
        found += [item["id"] for item in page["items"]]
        if not (cursor := page["next"]):
            return found


def _served(caller: Caller, path: str) -> dict[str, Any] | None:
    resp = caller.get(path)
    return resp.json() if resp.status_code == 200 else None


def _in_box(doc: dict[str, Any], box: tuple[float, float, float, float]) -> bool:
    point = (doc.get("location") or {}).get("point")
    if not isinstance(point, dict) or point.get("crs") != "wgs84":
        return False
    lon, lat = round(point["longitude"], 2), round(point["latitude"], 2)
    return box[0] <= lon <= box[2] and box[1] <= lat <= box[3]


#: one issue: its grid's number, its point's step east of the first, whether and how far it
#: is published, and whether the resident reading the lists submitted it
_ISSUE = st.tuples(st.sampled_from(["71", "72"]), st.integers(0, 2),
                   st.sampled_from([None, "community", "grid"]), st.booleans())


@settings(max_examples=6, deadline=None)
@given(st.lists(_ISSUE, min_size=1, max_size=6))
def test_issue_filters_select_what_each_reader_receives(
        api: Api, issues: list[tuple[str, int, str | None, bool]]) -> None:
    """?grid= and ?bbox= list, for every reader, exactly the issues whose gridCode and point
    the reader receives in them (the public and residents get the grid only when published
    down to it, a point never but in a resident's own issue), page after page."""
    me = api.as_("resident")
    ours: dict[str, dict[str, Any]] = {}
    run = new_id()[:4].upper()  # grids and points of this example alone
    base = 116.0 + int(run, 16) % 400 / 100
    for grid, step, area, mine in issues:
        doc = submitted_issue(gridCode=f"{COMMUNITY}-{grid}{run}")
        doc["location"] = {"description": "楼下", "point": {
            "longitude": round(base + step * 0.05, 4), "latitude": 39.9012, "crs": "wgs84"}}
        if area is not None:
            doc["publication"] = {"published": True, "area": area}
        if mine:
            doc.pop("reporterContact", None)
            assert me.create(doc).status_code == 201
        else:
            assert api.staff.create(doc).status_code == 201
        ours[doc["id"]] = doc
    grids = sorted({d["gridCode"] for d in ours.values()})
    boxes = [(round(base + s * 0.05 - 0.02, 2), 39.88, round(base + s * 0.05 + 0.02, 2), 39.92)
             for s in range(3)]
    for who in ISSUE_READERS:
        caller = _caller(api, who)
        served = {rid: _served(caller, f"/issues/{rid}") for rid in ours}
        for grid in grids:
            got = set(_listed(caller, "/issues", limit=2, grid=grid)) & set(ours)
            assert got == {rid for rid, doc in served.items()
                           if doc is not None and doc.get("gridCode") == grid}, (who, grid)
        for box in boxes:
            got = set(_listed(caller, "/issues", limit=2,
                              bbox=",".join(f"{v:.2f}" for v in box))) & set(ours)
            assert got == {rid for rid, doc in served.items()
                           if doc is not None and _in_box(doc, box)}, (who, box)


def test_the_public_grid_filter_reads_only_issues_published_down_to_it(api: Api) -> None:
    """The public's ?grid= reads the published-grid terms: every row the store hands the page
    is served, none read only to be dropped; its ?bbox= reads no row at all."""
    grid = f"{COMMUNITY}-{new_id()[:6].upper()}"
    shown = submitted_issue(gridCode=grid, publication={"published": True, "area": "grid"})
    hidden = [submitted_issue(gridCode=grid, publication={"published": True,
                                                          "area": "community"})
              for _ in range(3)]
    for doc in (shown, *hidden):
        assert api.staff.create(doc).status_code == 201
    service = api.client.app.state.sc.service  # type: ignore[attr-defined]
    real = service.present
    handed: list[str] = []

    def present(principal: Any, stored: Stored, *args: Any, **kwargs: Any) -> Any:
        handed.append(stored.id)
        return real(principal, stored, *args, **kwargs)

    service.present = present
    try:
        public = Caller(api.client, None)
        assert _listed(public, "/issues", grid=grid) == [shown["id"]]
        assert handed == [shown["id"]]
        handed.clear()
        assert _listed(public, "/issues", bbox="73.00,18.00,135.00,53.00") == []
        assert handed == []
    finally:
        service.present = real


def _resident(grid: str) -> dict[str, Any]:
    doc = example("resident/chen-zhiqiang.json")
    first = f"110105{1950 + int(new_id()[:4], 16) % 40}0101{int(new_id()[:4], 16) % 1000:03d}"
    number = first + identifiers.citizen_id_check_char(first)
    doc["birthDate"] = f"{number[6:10]}-{number[10:12]}-{number[12:14]}"
    doc["identityDocuments"] = [{"type": "citizen-id", "number": number,
                                 "masked": identifiers.mask_citizen_id(number),
                                 "pseudonym": identifiers.citizen_id_pseudonym(number, KEY)}]
    for member in ("formerNames", "emergencyContacts", "household", "proxies", "externalRefs"):
        doc.pop(member, None)
    doc["memberships"] = [{**doc["memberships"][0], "community": COMMUNITY, "grid": grid}]
    doc["address"] = {**doc["address"], "divisionCode": COMMUNITY, "gridCode": grid}
    return doc


def test_resident_filters_select_only_what_the_reader_receives(api: Api) -> None:
    """The regulator and supervisor receive residents without identity documents or
    memberships: their ?pseudonym= and ?grid= select nothing. A restricted record reaches the
    system, the regulator and a hotline operator only in its minimal form: its pseudonym
    finds it for none of them, while the community's staff, who read it whole, find it."""
    grid = f"{COMMUNITY}-{new_id()[:6].upper()}"
    plain, restricted = _resident(grid), _resident(grid)
    for doc in (plain, restricted):
        assert api.staff.create(doc).status_code == 201
    path = f"/residents/{restricted['id']}"
    current = api.staff.get(path)
    body = copy.deepcopy(current.json())
    body["restriction"] = {"state": "restricted", "reason": "unlawful-processing",
                           "requestedAt": later(-1), "decidedAt": later(-0.5)}
    assert api.staff.put(path, body, if_match=current.headers["etag"]).status_code == 200

    def pseudonym(doc: dict[str, Any]) -> str:
        return str(doc["identityDocuments"][0]["pseudonym"])

    for who in ("regulator", "supervisor"):
        caller = api.as_(who)
        assert caller.get(f"/residents/{plain['id']}").status_code == 200
        assert _listed(caller, "/residents", pseudonym=pseudonym(plain)) == []
        assert _listed(caller, "/residents", grid=grid) == []
    for who in ("system", "regulator", "hotline-operator"):
        assert _listed(api.as_(who), "/residents", pseudonym=pseudonym(restricted)) == [], who
    assert _listed(api.as_("hotline-operator"), "/residents",
                   pseudonym=pseudonym(plain)) == [plain["id"]]
    assert _listed(api.staff, "/residents", pseudonym=pseudonym(restricted)) == [
        restricted["id"]]
    assert set(_listed(api.staff, "/residents", grid=grid)) == {plain["id"], restricted["id"]}


def test_next_is_given_only_when_an_item_the_reader_may_see_follows(api: Api) -> None:
    """A resident pages her own issues one at a time: an unpublished neighbour's issue, or one
    published without its grid, matching her filters after hers gives no ``next``; a
    published one does, and the cursor leads to it."""
    me = api.as_("resident")
    grid = f"{COMMUNITY}-{new_id()[:6].upper()}"

    def page(**params: Any) -> dict[str, Any]:
        resp = me.get("/issues", params={"grid": grid, "limit": 1, **params})
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    mine = submitted_issue(gridCode=grid)
    mine.pop("reporterContact", None)
    assert me.create(mine).status_code == 201
    assert page() == {"items": page()["items"], "next": None}
    for decision in (None, {"published": True, "area": "community"}):
        other = submitted_issue(gridCode=grid, reporterDisclosure="confidential")
        if decision:
            other["publication"] = decision
        assert api.staff.create(other).status_code == 201
        first = page()
        assert [i["id"] for i in first["items"]] == [mine["id"]]
        assert first["next"] is None, decision
    published = submitted_issue(gridCode=grid, publication={"published": True, "area": "grid"})
    assert api.staff.create(published).status_code == 201
    first = page()
    assert first["next"] is not None
    second = page(cursor=first["next"])
    assert [i["id"] for i in second["items"]] == [published["id"]]
    assert second["next"] is None


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(["grid", "bbox", "department", "category", "status", "urgency"]),
       st.sampled_from(["public", "community-resident", "regulator", "department", "system"]))
def test_a_filter_selects_a_served_document_as_writing_it_would_index_it(
        name: str, audience: str) -> None:
    """The service's test of a served document agrees with the index: a filter built from an
    issue's own values selects its redacted form exactly when writing that form would index
    the value the filter asks for."""
    from smartcommunity.privacy import redact

    doc = submitted_issue(gridCode=f"{COMMUNITY}-03", urgency="high",
                          assignments=[{"id": new_id(), "role": "lead", "status": "pending",
                                        "department": {"resourceType": "Organisation",
                                                       "id": "dept-housing"},
                                        "assignedAt": later(0)}])
    doc["meta"] = {"versionId": "1", "lastUpdated": later(0)}
    doc["location"] = {"point": {"longitude": 116.45, "latitude": 39.92, "crs": "wgs84"}}
    box = (("wgs84:296.44", "wgs84:296.46"), ("wgs84:129.91", "wgs84:129.93"))
    query = {"grid": ListQuery(grid=doc["gridCode"]), "bbox": ListQuery(bbox=box),
             "department": ListQuery(department="dept-housing"),
             "category": ListQuery(category=doc["category"].split(".")[0]),
             "status": ListQuery(status=doc["status"]),
             "urgency": ListQuery(urgency="high")}[name]
    assert selects("Issue", query, doc)
    served = derive(redact(copy.deepcopy(doc), audience))
    terms = {(k, v) for k, v, _ in served.terms}
    indexed = {"grid": ("grid", doc["gridCode"]) in terms,
               "bbox": ("lon", "wgs84:296.45") in terms and ("lat", "wgs84:129.92") in terms,
               "department": ("department", "dept-housing") in terms,
               "category": served.category == doc["category"],
               "status": served.status == doc["status"],
               "urgency": served.urgency == "high"}[name]
    assert selects("Issue", query, redact(copy.deepcopy(doc), audience)) == indexed
