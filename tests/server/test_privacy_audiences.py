"""Audiences beyond the community's own staff: hotline intake (/req/privacy/intake-minimum),
the system principal (/req/privacy/system-principal) and departments reading what a resident's
consent shares with them (/req/privacy/department-consent)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from smartcommunity.pointers import pointer
from smartcommunity.privacy import rekey_pseudonyms
from smartcommunity.validation import compile_plan, values_at

from .helpers import COMMUNITY, EXAMPLES, KEY, SPEC, Api, later, new_id, whole_feed

PERSON = str(SPEC.privacy["recordAccess"]["personType"])
SHARED = SPEC.privacy["recordAccess"]["consentShared"]
TAGGED = {str(path[0]) for path, _, _ in compile_plan(SPEC, PERSON).pipl if path}
WITHHELD_TYPE = "org.w3id.smartcommunity.withheld"


def _load(api: Api, *docs: dict[str, Any]) -> None:
    api.client.app.state.sc.service.load(list(docs))  # type: ignore[attr-defined]


def _resident(*consents: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of the example resident, with ``consents`` added to hers."""
    doc = copy.deepcopy(EXAMPLES["resident/wang-guiying.json"])
    doc.pop("meta", None)
    doc.update(id=new_id(), **changes)
    doc["consents"] += consents
    return rekey_pseudonyms(doc, KEY)  # the test server's key


def _consent(scope: list[str], **changes: Any) -> dict[str, Any]:
    consent = {"id": new_id(), "purpose": SHARED["purpose"], "legalBasis": "consent",
               "scope": scope, "status": "granted", "grantedAt": later(-1)}
    consent.update(changes)
    return consent


def _issue_for(resident: str, **changes: Any) -> dict[str, Any]:
    """An issue submitted for ``resident``: civil affairs and urban management hold assignments
    on it (completed), housing's lead was reassigned (ended)."""
    doc = copy.deepcopy(EXAMPLES["issue/gas-heater-elderly-closed.json"])
    doc.pop("meta", None)
    doc["submittedBy"]["onBehalfOf"]["id"] = resident
    doc.update(id=new_id(), **changes)
    return doc


#: department token → (its organisation, whether it holds an assignment on ``_issue_for``)
DEPARTMENTS = {"demo-dept-civil-affairs": ("civil-affairs", True),
               "demo-dept-housing": ("housing", False),
               "test-dept-urban-chen-lei": ("urban-management", True)}


def _about(events: list[dict[str, Any]], rid: str) -> list[dict[str, Any]]:
    return [e for e in events if isinstance(e.get("data"), dict) and e["data"].get("id") == rid]


# -- hotline intake ------------------------------------------------------------------------

def test_hotline_operators_read_what_intake_needs_by_identifier_only(sqlite_api: Api) -> None:
    api = sqlite_api
    doc = _resident()
    _load(api, doc)
    operator = api.as_("hotline-operator")
    resp = operator.get(f"/residents/{doc['id']}")
    assert resp.status_code == 200, resp.text
    got = resp.json()
    listed = set(SPEC.privacy["necessaryMembers"]["intake"][PERSON])
    assert (set(got) & TAGGED) <= listed
    assert got["name"] == doc["name"] and got["address"] == doc["address"]
    assert "vulnerabilities" not in got
    assert not [d for d in got["identityDocuments"] if "number" in d]
    # City-wide, but never browsing: a list needs an exact identifier.
    resp = operator.get("/residents", params={"community": COMMUNITY})
    assert resp.status_code == 403, resp.text
    assert resp.json()["errors"][0]["requirement"] == "/req/privacy/intake-minimum"
    pseudonym = "hmac-sha256:" + "0" * 64
    assert operator.get("/residents", params={"pseudonym": pseudonym}).status_code == 200
    # The feed gives no resident record to a lookup role: the events come withheld.
    assert not [e for e in whole_feed(api.as_("hotline-operator"))
                if isinstance(e.get("data"), dict) and e["data"].get("resourceType") == PERSON]


def test_a_restricted_record_reaches_intake_minimal(sqlite_api: Api) -> None:
    api = sqlite_api
    doc = _resident(restriction={"state": "restricted", "requestedAt": later(-2),
                                 "decidedAt": later(-1)})
    _load(api, doc)
    got = api.as_("hotline-operator").get(f"/residents/{doc['id']}").json()
    assert "name" not in got and got["restriction"]["state"] == "restricted"


# -- the system principal ------------------------------------------------------------------

def test_a_system_principal_is_neither_intake_nor_community_staff(sqlite_api: Api) -> None:
    api = sqlite_api
    issue = _issue_for(new_id(), reporterDisclosure="confidential",
                       reporterContact={"name": "赵保密", "phone": "+8613911112222"})
    restricted = _resident(restriction={"state": "restricted", "requestedAt": later(-2),
                                        "decidedAt": later(-1)})
    plain = _resident()
    _load(api, issue, restricted, plain)
    system = api.as_("system")
    for path in (f"/issues/{issue['id']}", f"/issues/{issue['id']}/history"):
        text = system.get(path).text
        assert "赵保密" not in text and "+8613911112222" not in text, path
    assert "赵保密" in api.as_("hotline-operator").get(f"/issues/{issue['id']}").text
    got = system.get(f"/residents/{restricted['id']}").json()
    assert "name" not in got and "identityDocuments" not in got
    # What is not restricted a mirror receives whole.
    assert system.get(f"/residents/{plain['id']}").json()["vulnerabilities"] == \
        plain["vulnerabilities"]
    events = whole_feed(api.as_("system"))
    for event in _about(events, restricted["id"]):
        assert "name" not in event["data"]
    for event in _about(events, issue["id"]):
        assert "reporterContact" not in event["data"]


# -- departments and consent ---------------------------------------------------------------

def test_every_record_that_can_name_a_resident_is_indexed_by_her() -> None:
    """A consent is shared with a department through the records naming the resident, found by
    their ``named-resident`` terms, which only the types an erasure reaches carry."""
    owned = set(SPEC.privacy["recordAccess"]["ownedBy"])
    assert owned <= set(SPEC.privacy["erasureReaches"]["resourceTypes"])


def test_a_department_reads_what_the_consent_covers_until_withdrawn(sqlite_api: Api) -> None:
    api = sqlite_api
    consent = _consent(["/name", "/contactPoints", "/address/divisionCode"])
    doc = _resident(consent)
    issue = _issue_for(doc["id"])
    _load(api, doc, issue)
    dept = api.as_("demo-dept-civil-affairs")
    resp = dept.get(f"/residents/{doc['id']}")
    assert resp.status_code == 200, resp.text
    got = resp.json()
    # A deeper pointer grants no member; the two whole members are given.
    assert set(got) & TAGGED == {"name", "contactPoints"}
    assert got["name"] == doc["name"]
    assert [e for e in _about(whole_feed(api.as_("demo-dept-civil-affairs")), doc["id"])]
    # A department whose assignment on her issue has ended reads nothing.
    assert api.as_("demo-dept-housing").get(f"/residents/{doc['id']}").status_code == 404
    # Lists never show departments a person record.
    assert all(i["id"] != doc["id"] for i in dept.get("/residents").json()["items"])
    # The resident withdraws: the next read and the whole feed lose the record.
    staff = api.staff
    current = staff.get(f"/residents/{doc['id']}")
    withdrawn = current.json()
    mine = next(c for c in withdrawn["consents"] if c["id"] == consent["id"])
    mine.update(status="withdrawn", withdrawnAt=later(0))
    resp = staff.put(f"/residents/{doc['id']}", withdrawn, if_match=current.headers["etag"])
    assert resp.status_code == 200, resp.text
    assert dept.get(f"/residents/{doc['id']}").status_code == 404
    assert not _about(whole_feed(api.as_("demo-dept-civil-affairs")), doc["id"])


def test_each_department_reads_what_its_own_consent_shares(sqlite_api: Api) -> None:
    """Two departments, each with a consent of hers sharing other members: each reads what
    its own shares, also when the other read her record just before (what the server
    remembers of a record read once is not what a department is given)."""
    def to(organisation: str, scope: list[str]) -> dict[str, Any]:
        return _consent(scope, recipients=[{"id": organisation, "name": organisation,
                                            "type": "government-department"}])

    doc = _resident(to("civil-affairs", ["/name"]), to("urban-management", ["/contactPoints"]))
    _load(sqlite_api, doc, _issue_for(doc["id"]))
    for _ in range(2):
        for reader, member, other in (("demo-dept-civil-affairs", "name", "contactPoints"),
                                      ("test-dept-urban-chen-lei", "contactPoints", "name")):
            resp = sqlite_api.as_(reader).get(f"/residents/{doc['id']}")
            assert resp.status_code == 200, resp.text
            got = set(resp.json()) & TAGGED
            assert member in got and other not in got, (reader, got)


@settings(max_examples=15, deadline=None)
@given(status=st.sampled_from(["withdrawn", "expired", "granted"]),
       disclosure=st.sampled_from(["public", "anonymous", "confidential"]),
       reader=st.sampled_from(sorted(DEPARTMENTS)),
       recipient=st.sampled_from([None, "civil-affairs", "urban-management"]),
       expires=st.sampled_from([None, -1.0, 30.0]))
def test_access_holds_only_while_every_condition_does(
        sqlite_api: Api, status: str, disclosure: str, reader: str, recipient: str | None,
        expires: float | None) -> None:
    api = sqlite_api
    extra: dict[str, Any] = {"status": status}
    if status == "withdrawn":
        extra["withdrawnAt"] = later(-0.5)
    if expires is not None:
        extra["expiresAt"] = later(expires)
    if recipient is not None:
        extra["recipients"] = [{"id": recipient, "name": recipient,
                                "type": "government-department"}]
    doc = _resident(_consent([""], **extra))
    issue = _issue_for(doc["id"], reporterDisclosure=disclosure)
    _load(api, doc, issue)
    organisation, holds = DEPARTMENTS[reader]
    shared = (status == "granted" and disclosure not in SHARED["withheldDisclosures"]
              and holds and recipient in (None, organisation) and expires != -1.0)
    resp = api.as_(reader).get(f"/residents/{doc['id']}")
    assert resp.status_code == (200 if shared else 404), resp.text
    if shared:
        got = resp.json()
        assert got["name"] == doc["name"]
        assert "vulnerabilities" not in got  # sensitive, no mask: the department's treatment
        assert not [d for d in got.get("identityDocuments", ()) if "number" in d]


@settings(max_examples=12, deadline=None)
@given(for_her=st.booleans(), his=st.booleans(), hers=st.booleans())
def test_a_department_reads_whose_issue_it_is_never_who_filed_it_for_her(
        sqlite_api: Api, for_her: bool, his: bool, hers: bool) -> None:
    """/req/privacy/department-consent, /req/residents/proxy-scope: an issue a proxy filed for
    a resident is hers. A department handling it reads her record through her consent and
    never the proxy's own through his: acting for her shares nothing of his. An issue he filed
    for no one else is his, and shares his."""
    api = sqlite_api
    agent = _resident(*([_consent([""])] if his else []))
    client = _resident(*([_consent([""])] if hers else []))
    issue = _issue_for(client["id"])
    issue["submittedBy"] = {"role": "proxy", "name": "李建国",
                            "resident": {"resourceType": PERSON, "id": agent["id"]}}
    if for_her:
        issue["submittedBy"]["onBehalfOf"] = {"resourceType": PERSON, "id": client["id"]}
    _load(api, agent, client, issue)
    owner = client if for_her else agent
    dept = api.as_("demo-dept-civil-affairs")
    events = whole_feed(api.as_("demo-dept-civil-affairs"))
    for doc, shares in ((agent, his), (client, hers)):
        readable = shares and doc is owner
        resp = dept.get(f"/residents/{doc['id']}")
        assert resp.status_code == (200 if readable else 404), (doc is agent, resp.text)
        assert bool(_about(events, doc["id"])) == readable, doc is agent


# -- a minor's record through a consent ---------------------------------------------------

#: the members a consent may share that never tell a reader her age
AGELESS = sorted(TAGGED - {"birthDate", "identityDocuments"})


@settings(max_examples=12, deadline=None)
@given(scope=st.lists(st.sampled_from(AGELESS), min_size=1, max_size=4, unique=True))
def test_a_childs_members_a_consent_shares_are_treated_as_sensitive(
        sqlite_api: Api, scope: list[str]) -> None:
    """/req/residents/minor-sensitive, /req/privacy/audit-log: a department reads only what
    the consent covers, but whether she is a minor is decided from her whole record: without
    her birth date among those members, her personal data still goes out as a child's, and
    the audit log records it as the sensitive data it is."""
    api = sqlite_api
    born = f"{datetime.now(UTC).year - 8}-03-18"
    child = _resident(_consent([f"/{m}" for m in scope]), birthDate=born,
                      name="李小明", gender="male")
    for member in ("identityDocuments", "vulnerabilities", "proxies"):
        child.pop(member, None)
    _load(api, child, _issue_for(child["id"]))
    resp = api.as_("demo-dept-civil-affairs").get(f"/residents/{child['id']}")
    assert resp.status_code == 200, resp.text
    got = resp.json()
    audience = SPEC.privacy["roleAudience"]["department"]
    treatment = SPEC.privacy["treatments"][audience]
    for path, cls, _ in compile_plan(SPEC, PERSON).pipl:
        if cls != "personal" or treatment["sensitive"] == "keep" or path[0] not in scope:
            continue
        for where, value in values_at(child, path):
            shown = [v for w, v in values_at(got, path) if w == where]
            assert not shown or shown[0] != value, (where, shown)
    log = api.as_("regulator").get("/audit-events", params={"resident": child["id"],
                                                             "limit": 500}).json()["items"]
    reads = [row for row in log if row["operation"] == "read" and row["role"] == "department"]
    disclosed = {pointer(w)
                 for path, cls, _ in compile_plan(SPEC, PERSON).pipl if cls == "personal"
                 for w, _ in values_at(got, path)}
    # Only what she received is logged, but all of it, her masked name among it.
    assert not disclosed or (reads and disclosed <= set(reads[-1]["fields"])), (disclosed, reads)
