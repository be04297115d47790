"""Create, read, update and list: read-back, ETags, If-Match, idempotency, filters, paging."""

from __future__ import annotations

import copy
import threading
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference_server.storage import derive
from smartcommunity.integrity import salts_of, seal_history

from .helpers import (
    COMMUNITY,
    EXAMPLES,
    LI,
    OTHER,
    PLURAL,
    SPEC,
    Api,
    actor_of,
    example,
    new_id,
    stripped,
    submitted_issue,
)

#: the status a new document of each type with a lifecycle starts in, and the requirement
INITIAL = {"Issue": ("submitted", "/req/issues/create-submitted"),
           "Consultation": ("proposed", "/req/consultations/create-proposed"),
           "Opinion": ("received", "/req/core/lifecycle-via-actions"),
           "Proposal": ("open", "/req/core/lifecycle-via-actions")}
#: examples of a record a resident's request or its decision made: imported, never created
#: (/req/residents/rights-request)
ASKED = [n for n, d in sorted(EXAMPLES.items())
         if (d.get("restriction") or {}).get("state", "none") != "none"]
CREATABLE = [n for n, d in sorted(EXAMPLES.items()) if n not in ASKED and (
    d["resourceType"] not in INITIAL or d["status"] == INITIAL[d["resourceType"]][0])]
NOT_SUBMITTED = [n for n in sorted(EXAMPLES) if n not in CREATABLE and n not in ASKED]


def _creator(doc: dict[str, Any]) -> str:
    """The staff of the example's own community; a system for a record of neither demo
    community (a district department): a system of every community."""
    communities = derive(doc).communities
    if not {COMMUNITY, OTHER} & set(communities):
        return "demo-system-mirror"
    return "demo-staff-hepingli" if communities == (OTHER,) else "community-staff"


@pytest.mark.parametrize("name", CREATABLE)
def test_example_created_reads_back_unchanged(api: Api, name: str) -> None:
    """/req/core/create-read-back, /req/core/etag and /req/core/extensions-preserved."""
    doc = example(name)
    if doc.get("restriction", {}).get("state") != "erased":  # the erased form has no extensions
        doc["extensions"] = {**doc.get("extensions", {}), "org.example.kit": {
            "nested": [1, {"中文": True}], "n": 1.5, "z": None}}
    who = api.as_(_creator(doc))
    resp = who.create(doc)
    assert resp.status_code == 201, resp.text
    assert resp.headers["etag"] == '"1"'
    assert resp.headers["location"] == f"/{resp.url.path.strip('/')}/{doc['id']}"
    created = resp.json()
    # /req/core/history-chain: sealed with the salts the server drew
    assert stripped(created) == seal_history(doc, salt=salts_of(created))
    meta = created["meta"]
    assert meta["versionId"] == "1" and meta["createdAt"] == meta["lastUpdated"]
    assert meta["source"].startswith("urn:uuid:")
    read = who.get(resp.headers["location"])
    assert read.status_code == 200
    assert read.headers["etag"] == '"1"'
    assert read.json() == created


@pytest.mark.parametrize("name", ASKED)
def test_a_record_asked_for_cannot_be_created_but_imports(api: Api, name: str) -> None:
    """/req/residents/rights-request: a create is no request; the demo imported it through
    the Store, unchanged."""
    doc = example(name)
    resp = api.as_(_creator(doc)).create(doc)
    assert resp.status_code == 403, resp.text
    assert resp.json()["errors"][0]["requirement"] == "/req/residents/rights-request"
    with api.client.app.state.sc.service.store.read() as tx:  # type: ignore[attr-defined]
        assert tx.get(doc["resourceType"], doc["id"]) is None
        seeded = tx.get(doc["resourceType"], EXAMPLES[name]["id"])
    assert seeded is not None and seeded.doc["restriction"] == EXAMPLES[name]["restriction"]


@pytest.mark.parametrize("name", NOT_SUBMITTED)
def test_issue_beyond_submitted_cannot_be_created_but_imports(api: Api, name: str) -> None:
    """/req/issues/create-submitted and /req/consultations/create-proposed; the demo imported
    it through the Store, unchanged."""
    doc = example(name)
    resp = api.as_(_creator(doc)).create(doc)
    assert resp.status_code == 422
    reqs = {e.get("requirement") for e in resp.json()["errors"]}
    assert INITIAL[doc["resourceType"]][1] in reqs
    path = PLURAL[doc["resourceType"]]
    seeded = api.as_("system").get(f"/{path}/{EXAMPLES[name]['id']}").json()
    sealed = seal_history(EXAMPLES[name], salt=salts_of(seeded))
    assert seeded == sealed | {"meta": seeded["meta"]}
    # the import keeps the example's meta; a source it leaves out is the server's own
    assert {k: v for k, v in seeded["meta"].items() if k != "source" or
            "source" in EXAMPLES[name]["meta"]} == EXAMPLES[name]["meta"]


def test_id_conflict(api: Api) -> None:
    doc = submitted_issue()
    assert api.staff.create(doc).status_code == 201
    again = api.staff.create(doc)
    assert again.status_code == 409
    assert again.json()["requirement"] == "/req/core/id-conflict"


def test_update_needs_current_etag(api: Api) -> None:
    """/req/core/if-match: 428 without, 412 stale, and the server keeps meta."""
    doc = submitted_issue()
    created = api.staff.create(doc).json()
    path = f"/issues/{doc['id']}"
    changed = copy.deepcopy(created)
    changed["title"] = "消防通道被占用（已补充照片）"
    assert api.staff.put(path, changed).status_code == 428
    assert api.staff.put(path, changed, if_match='"7"').status_code == 412
    assert api.staff.put(path, changed, if_match='W/"1"').status_code == 412
    resp = api.staff.put(path, changed, if_match='"1"')
    assert resp.status_code == 200, resp.text
    assert resp.headers["etag"] == '"2"'
    updated = resp.json()
    assert updated["title"] == changed["title"]
    assert updated["meta"]["versionId"] == "2"
    assert updated["meta"]["createdAt"] == created["meta"]["createdAt"]
    assert updated["meta"]["lastUpdated"] >= created["meta"]["lastUpdated"]
    stale = api.staff.put(path, changed, if_match='"1"')
    assert stale.status_code == 412
    assert api.staff.get(path).json() == updated


def test_update_keeps_lifecycle_fields(api: Api) -> None:
    """/req/core/lifecycle-via-actions and /req/issues/lifecycle-fields-read-only."""
    doc = submitted_issue()
    created = api.staff.create(doc).json()
    path = f"/issues/{doc['id']}"
    for member, value in (("status", "accepted"), ("resolution", "fixed"),
                          ("reply", "已处理"), ("followUps", []), ("assignments", [])):
        changed = copy.deepcopy(created)
        changed[member] = value
        resp = api.staff.put(path, changed, if_match='"1"')
        assert resp.status_code == 422, member
    history = copy.deepcopy(created)
    history["history"][0]["note"] = "改写历史"
    assert api.staff.put(path, history, if_match='"1"').status_code == 422
    other = copy.deepcopy(created)
    other["id"] = new_id()
    assert api.staff.put(path, other, if_match='"1"').status_code == 422
    assert api.staff.get(path).headers["etag"] == '"1"'


#: the roles that may update an issue, each by the token it speaks with
ISSUE_WRITERS = ("community-staff", "hotline-operator", "system")
#: what a writer might make of submittedBy: another resident, someone acting for another,
#: another role, another name, the staff member herself, or the submitter without her id
RESUBMITTED: tuple[Any, ...] = (
    lambda by: {**by, "resident": {"resourceType": "Resident", "id": LI}},
    lambda by: {**by, "onBehalfOf": {"resourceType": "Resident", "id": LI}},
    lambda by: {**by, "role": "community-staff"},
    lambda by: {**by, "name": by["name"] + "（更正）"},
    lambda by: actor_of("demo-staff-liu-fang"),
    lambda by: {k: v for k, v in by.items() if k != "resident"},
)


def _anonymous_report() -> tuple[dict[str, Any], dict[str, str]]:
    """王桂英's anonymous issue with her contact, submitted now (a resident files no earlier
    issue), and the contact."""
    now = datetime.now(timezone(timedelta(hours=8))).isoformat(timespec="seconds")
    contact = {"name": "王桂英", "phone": "+861065931827"}
    doc = submitted_issue(submittedAt=now, reporterDisclosure="anonymous",
                          reporterContact=contact)
    doc["history"][0]["at"] = now
    return doc, contact


@settings(max_examples=18, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(writer=st.sampled_from(ISSUE_WRITERS), change=st.sampled_from(RESUBMITTED))
def test_update_keeps_the_submitter(api: Api, writer: str, change: Any) -> None:
    """/req/core/actor-is-principal: no one updating an issue rewrites who submitted it, so
    another resident never takes her issue and contact (/req/privacy/own-issues-self)."""
    doc, contact = _anonymous_report()
    assert api.as_("resident").create(doc).status_code == 201
    path = f"/issues/{doc['id']}"
    current = api.as_(writer).get(path)
    body = stripped(current.json())
    body["submittedBy"] = change(body["submittedBy"])
    resp = api.as_(writer).put(path, body, if_match=current.headers["etag"])
    assert resp.status_code == 422, resp.text
    assert [(e["pointer"], e["code"], e["requirement"]) for e in resp.json()["errors"]] == [
        ("/submittedBy", "http.creator-fixed", "/req/core/actor-is-principal")]
    said = resp.json()["errors"][0]["message"]
    assert "submittedBy" in said["en"] and "submittedBy" in said["zh-Hans"]
    assert api.as_(writer).get(path).headers["etag"] == current.headers["etag"]
    own = api.as_("resident").get(path)
    assert own.status_code == 200 and own.json()["reporterContact"] == contact
    assert api.as_("test-resident-chen").get(path).status_code == 404


def test_update_may_restate_the_submitter_and_her_time(api: Api) -> None:
    """The submitter given as stored, and submittedAt as the same instant in UTC, are no
    change; another submission time is (it is the creating event's, /req/issues/submitted-at)."""
    doc, _ = _anonymous_report()
    created = api.as_("resident").create(doc).json()
    path = f"/issues/{doc['id']}"
    body = stripped(created) | {"title": "消防通道被占用（补充）"}
    body["submittedAt"] = datetime.fromisoformat(created["submittedAt"]).astimezone(
        UTC).isoformat().replace("+00:00", "Z")
    resp = api.staff.put(path, body, if_match='"1"')
    assert resp.status_code == 200, resp.text
    assert resp.json()["submittedBy"] == created["submittedBy"]
    earlier = stripped(resp.json()) | {"submittedAt": "2020-01-01T08:00:00+08:00"}
    refused = api.staff.put(path, earlier, if_match='"2"')
    assert refused.status_code == 422
    assert {e["pointer"] for e in refused.json()["errors"]} == {"/submittedAt"}


DISCLOSURES = tuple(SPEC.parameter("/req/privacy/reporter-disclosure", "disclosureOrder"))


def test_disclosure_order_is_the_codelist() -> None:
    """The order the requirement gives names every reporter disclosure once, as the codelist
    lists them."""
    assert list(DISCLOSURES) == list(SPEC.codelist("reporter-disclosure").entries)


@pytest.mark.parametrize("stored", DISCLOSURES)
@pytest.mark.parametrize("given", DISCLOSURES)
def test_update_only_adds_protection_to_the_reporter(api: Api, stored: str, given: str) -> None:
    """/req/privacy/reporter-disclosure: a PUT makes reporterDisclosure more protective or
    leaves it; one lifting the protection is 422 issue.disclosure-lowered naming both."""
    doc = submitted_issue(reporterDisclosure=stored)
    created = api.staff.create(doc).json()
    path = f"/issues/{doc['id']}"
    resp = api.staff.put(path, stripped(created) | {"reporterDisclosure": given},
                         if_match='"1"')
    if DISCLOSURES.index(given) >= DISCLOSURES.index(stored):
        assert resp.status_code == 200, resp.text
        assert resp.json()["reporterDisclosure"] == given
        return
    assert resp.status_code == 422, resp.text
    (error,) = resp.json()["errors"]
    assert (error["pointer"], error["code"], error["requirement"]) == (
        "/reporterDisclosure", "issue.disclosure-lowered", "/req/privacy/reporter-disclosure")
    for text in error["message"].values():
        assert stored in text and given in text
    assert api.staff.get(path).json()["reporterDisclosure"] == stored


def test_a_rewrite_is_refused_whole(api: Api) -> None:
    """A PUT changing submittedBy and lowering the disclosure is refused naming the
    submitter; with the submitter kept, naming the disclosure and any lifecycle member."""
    doc, _ = _anonymous_report()
    created = api.as_("resident").create(doc).json()
    path = f"/issues/{doc['id']}"
    body = stripped(created) | {"reporterDisclosure": "public", "followUps": []}
    both = api.staff.put(path, body | {"submittedBy": actor_of("test-resident-chen")},
                         if_match='"1"')
    assert both.status_code == 422
    assert {e["code"] for e in both.json()["errors"]} == {"http.creator-fixed"}
    kept = api.staff.put(path, body, if_match='"1"')
    assert kept.status_code == 422
    assert {e["pointer"] for e in kept.json()["errors"]} == {"/reporterDisclosure",
                                                              "/followUps"}


def test_concurrent_writers_never_lose_an_update(api: Api) -> None:
    """/req/core/if-match: two writers with the same ETag: one wins, the other gets 412."""
    doc = submitted_issue()
    created = api.staff.create(doc).json()
    path = f"/issues/{doc['id']}"
    results: dict[str, int] = {}
    barrier = threading.Barrier(2)

    def writer(title: str) -> None:
        body = copy.deepcopy(created)
        body["title"] = title
        barrier.wait()
        results[title] = api.staff.put(path, body, if_match='"1"').status_code

    threads = [threading.Thread(target=writer, args=(t,)) for t in ("甲的标题", "乙的标题")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results.values()) == [200, 412]
    winner = next(t for t, s in results.items() if s == 200)
    final = api.staff.get(path)
    assert final.json()["title"] == winner and final.headers["etag"] == '"2"'


def test_idempotent_create(api: Api) -> None:
    """/req/core/idempotency-key: a replay returns the first result and creates nothing."""
    doc = submitted_issue()
    key = f"kit-{uuid.uuid4()}"
    first = api.staff.create(doc, headers={"Idempotency-Key": key})
    assert first.status_code == 201
    tail = _last_sequence(api)
    again = api.staff.create(copy.deepcopy(doc), headers={"Idempotency-Key": key})
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["etag"] == first.headers["etag"]
    assert again.json() == first.json()
    assert _last_sequence(api) == tail, "a replay wrote something"
    other = submitted_issue()
    reused = api.staff.create(other, headers={"Idempotency-Key": key})
    assert reused.status_code == 422
    assert reused.json()["code"] == "http.idempotency-key-reused"
    assert api.staff.get(f"/issues/{other['id']}").status_code == 404
    # Keys belong to a principal: another one may use the same key for its own request.
    mine = api.as_("grid-worker").create(other, headers={"Idempotency-Key": key})
    assert mine.status_code == 201


def _last_sequence(api: Api) -> int:
    with api.client.app.state.sc.service.store.read() as tx:  # type: ignore[attr-defined]
        return int(tx.last_event())


def _ids(api: Api, who: str, path: str, **params: Any) -> list[str]:
    resp = api.as_(who).get(path, params={"limit": 500, **params})
    assert resp.status_code == 200, resp.text
    return [i["id"] for i in resp.json()["items"]]


def test_issue_filters(api: Api) -> None:
    """/req/core/list-filters and /req/issues/list-filters, each alone and together."""
    marker = f"test.filters-{uuid.uuid4().hex[:8]}"
    made = []
    for i, (rt, urgency, channel) in enumerate([("complaint", "urgent", "app"),
                                                ("help", "normal", "hotline-12345"),
                                                ("complaint", "normal", "app")]):
        doc = submitted_issue(category=f"{marker}.sub{i}" if i else marker, requestType=rt,
                              urgency=urgency, intakeChannel=channel)
        doc["submittedAt"] = f"2001-01-0{i + 1}T09:00:00+08:00"
        doc["history"][0]["at"] = doc["submittedAt"]
        assert api.staff.create(doc).status_code == 201, doc
        made.append(doc)
    ids = [d["id"] for d in made]
    assert set(_ids(api, "community-staff", "/issues", category=marker)) == set(ids)
    assert _ids(api, "community-staff", "/issues", category=f"{marker}.sub1") == [ids[1]]
    got = set(_ids(api, "community-staff", "/issues", category=marker, requestType="complaint"))
    assert got == {ids[0], ids[2]}
    assert _ids(api, "community-staff", "/issues", category=marker, urgency="urgent") == [ids[0]]
    assert set(_ids(api, "community-staff", "/issues", category=marker,
                    intakeChannel="app")) == {ids[0], ids[2]}
    window = _ids(api, "community-staff", "/issues", category=marker,
                  submittedFrom="2001-01-02T09:00:00+08:00",
                  submittedTo="2001-01-03T01:00:00Z")
    assert window == [ids[1], ids[2]]
    assert _ids(api, "community-staff", "/issues", category=marker, status="accepted") == []
    assert set(_ids(api, "community-staff", "/issues", category=marker, status="submitted",
                    community=COMMUNITY)) == set(ids)
    assert _ids(api, "community-staff", "/issues", category=marker, community=OTHER) == []
    future = _ids(api, "community-staff", "/issues", category=marker,
                  updatedSince="2999-01-01T00:00:00Z")
    assert future == []
    for item in api.staff.get("/issues", params={"department": "civil-affairs"}).json()["items"]:
        assert any(a["department"]["id"] == "civil-affairs" for a in item["assignments"])


def test_resident_and_consultation_filters(api: Api) -> None:
    doc = example("resident/wang-guiying.json")
    grid = f"{COMMUNITY}-Z{uuid.uuid4().hex[:6].upper()}"
    doc["memberships"] = [
        {"community": COMMUNITY, "grid": grid, "residencyType": "registered-resident"},
        {"community": COMMUNITY, "grid": grid + "X", "residencyType": "registered-resident",
         "until": "2001-01-01"}]
    doc["identityDocuments"][0].pop("number")
    doc["identityDocuments"][0].pop("masked")
    doc["identityDocuments"][0]["pseudonym"] = "hmac-sha256:" + uuid.uuid4().hex * 2
    doc.pop("birthDate")
    assert api.staff.create(doc).status_code == 201
    assert _ids(api, "community-staff", "/residents", grid=grid) == [doc["id"]]
    assert _ids(api, "community-staff", "/residents", grid=grid + "X") == []  # ended
    assert _ids(api, "community-staff", "/residents",
                pseudonym=doc["identityDocuments"][0]["pseudonym"]) == [doc["id"]]
    assert doc["id"] in _ids(api, "community-staff", "/residents", community=COMMUNITY)
    assert doc["id"] not in _ids(api, "community-staff", "/residents", community=OTHER)
    lift = "e1f2a3b4-c5d6-4e7f-a8b9-c0d1e2f3a4b5"
    issue = "d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f7a"
    assert lift in _ids(api, "community-staff", "/consultations", issue=issue)
    assert _ids(api, "community-staff", "/consultations", issue=new_id()) == []
    categories = EXAMPLES["consultation/lift-installation-building-3.json"]["categories"]
    assert lift in _ids(api, "community-staff", "/consultations", category=categories[0])
    assert lift in _ids(api, "community-staff", "/consultations", status="closed")
    assert lift not in _ids(api, "community-staff", "/consultations", status="proposed")


def test_paging_exactly_once_while_writing(api: Api) -> None:
    """/req/core/paging: every item once, though items are added and changed meanwhile."""
    marker = f"test.paging-{uuid.uuid4().hex[:8]}"
    before = []
    for _ in range(23):
        doc = submitted_issue(category=marker)
        assert api.staff.create(doc).status_code == 201
        before.append(doc["id"])
    seen: list[str] = []
    cursor = None
    added: list[str] = []
    while True:
        params: dict[str, Any] = {"category": marker, "limit": 5}
        if cursor:
            params["cursor"] = cursor
        page = api.staff.get("/issues", params=params).json()
        seen += [i["id"] for i in page["items"]]
        # Meanwhile: a new issue, and a change to one already read.
        extra = submitted_issue(category=marker)
        if len(added) < 4:
            assert api.staff.create(extra).status_code == 201
            added.append(extra["id"])
            current = api.staff.get(f"/issues/{seen[0]}")
            body = current.json()
            body["title"] = body["title"] + "（更新）"
            assert api.staff.put(f"/issues/{seen[0]}", body,
                                 if_match=current.headers["etag"]).status_code == 200
        cursor = page["next"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "an item appeared twice"
    assert set(before) <= set(seen)
    assert set(seen) == set(before) | set(added)


def test_not_found(api: Api) -> None:
    for path in ("/issues/", "/residents/", "/consultations/"):
        resp = api.staff.get(path + new_id())
        assert resp.status_code == 404
        assert resp.json()["requirement"] == "/req/core/not-found"


def test_pseudonyms_are_checked_with_the_city_key(api: Api) -> None:
    """/req/residents/pseudonym-consistent: the server holds the key, so it checks."""
    doc = example("resident/wang-guiying.json")
    doc["identityDocuments"][0]["pseudonym"] = EXAMPLES["resident/wang-guiying.json"][
        "identityDocuments"][0]["pseudonym"]  # made with another key
    resp = api.staff.create(doc)
    assert resp.status_code == 422
    assert {e["code"] for e in resp.json()["errors"]} == {"resident.pseudonym-mismatch"}
