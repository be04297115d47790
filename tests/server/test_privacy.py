"""Who sees what: redaction by audience everywhere, scope, residents' rights and the audit log."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_server.access import Access
from reference_server.auth import load_tokens
from reference_server.storage import VISIBILITY, Stored, index_of, joined
from smartcommunity import identifiers, validate
from smartcommunity.pointers import resolve_pointer
from smartcommunity.privacy import published_with_consent, rekey_pseudonyms
from smartcommunity.validation import compile_plan, values_at

from .helpers import (
    COMMUNITY,
    EXAMPLES,
    KEY,
    LI,
    OTHER,
    ROLE_TOKEN,
    SPEC,
    TOKENS,
    WANG,
    Api,
    Caller,
    example,
    later,
    new_id,
    spelled,
    submitted_issue,
    whole_feed,
)

POLICY = SPEC.privacy
PRINCIPALS = load_tokens(TOKENS)
PLURAL = SPEC.collections
PLANS = {rt: compile_plan(SPEC, rt) for rt in PLURAL}


def _documents(api: Api, token: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every resource a principal receives, from every kind of response."""
    who = api.as_(token)
    for doc in EXAMPLES.values():
        rt = doc["resourceType"]
        resp = who.get(f"/{PLURAL[rt]}/{doc['id']}")
        if resp.status_code == 200:
            yield "read", resp.json()
            if rt in SPEC.lifecycles:
                history = who.get(f"/{PLURAL[rt]}/{doc['id']}/history").json()["items"]
                yield "history", {**resp.json(), "history": history}
        else:
            assert resp.status_code == 404
    for plural in PLURAL.values():
        resp = who.get(f"/{plural}", params={"limit": 500})
        if resp.status_code == 403:
            # A lookup role lists residents only by pseudonym (/req/privacy/intake-minimum).
            assert PRINCIPALS[token].role in POLICY["recordAccess"]["lookupRoles"], resp.text
            continue
        for item in resp.json()["items"]:
            yield "list", item
    for event in served(whole_feed(who)):
        yield "feed", event["data"]


WITHHELD = {"specversion", "id", "source", "type", "time", "sequence", "eventdigest", "chaindigest"}


def served(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events that carry data; the others must be the bare withheld form
    (/req/change-feed/withheld)."""
    out = []
    for event in events:
        if event["type"] == "org.w3id.smartcommunity.withheld":
            assert set(event) == WITHHELD, event
        else:
            out.append(event)
    return out


#: a resident record as the server holds it, by id (None: not held): what other tests stored
#: in the shared server counts too, such as residents who made the demo proxy theirs
Held = Callable[[str], dict[str, Any] | None]


def _held(api: Api) -> Held:
    store = api.client.app.state.sc.service.store  # type: ignore[attr-defined]

    def record(rid: str) -> dict[str, Any] | None:
        with store.read() as tx:
            stored = tx.get("Resident", rid)
        return None if stored is None else dict(stored.doc)

    return record


def _own(token: str, doc: dict[str, Any], held: Held) -> bool:
    """A resident or proxy reading their own, or their principal's, record reads as self."""
    p = PRINCIPALS[token]
    if p.role not in ("resident", "proxy"):
        return False
    owned = POLICY["recordAccess"]["ownedBy"].get(doc.get("resourceType"), ())
    owners = {_at(doc, where) for where in owned} - {None}
    if p.resident in owners or any(
            record is not None and _own(token, record, held)
            for record in map(held, sorted(owners)) if doc.get("resourceType") != "Resident"):
        return True  # /req/privacy/own-issues-self: hers, or of one who made her proxy
    if doc.get("resourceType") != "Resident":
        return False
    return doc["id"] == p.resident or any(
        x.get("resident", {}).get("id") == p.resident for x in doc.get("proxies", ()))


def _without_own_items(token: str, doc: dict[str, Any], held: Held) -> dict[str, Any]:
    """``doc`` without the items a resident or proxy reads as self (/req/privacy/own-items-self:
    her own proposer entry, or that of one who made her proxy), which keep what they name."""
    rule = POLICY["recordAccess"].get("ownedItems", {}).get(doc.get("resourceType"))
    items = _at(doc, rule["items"]) if rule else None
    if PRINCIPALS[token].role not in ("resident", "proxy") or not isinstance(items, list):
        return doc
    out = copy.deepcopy(doc)
    kept = _at(out, rule["items"])
    for i, item in enumerate(items):
        named = [_at(item, where) for where in rule["ownedBy"]]
        owner = next((n for n in reversed(named) if isinstance(n, str)), None)
        record = held(owner) if owner is not None else None
        if owner is not None and (owner == PRINCIPALS[token].resident or (
                record is not None and _own(token, record, held))):
            kept[i] = {}
    return out


def _at(doc: dict[str, Any], where: str) -> Any:
    try:
        return resolve_pointer(doc, where)
    except LookupError:
        return None


def _leaks(doc: dict[str, Any], audience: str) -> list[str]:
    """Tagged values the audience should not have received as they are."""
    treatments = POLICY["treatments"][audience]
    agreed = published_with_consent(doc)  # what its author agreed to publish reaches everyone
    found = []
    for path, cls, mask in PLANS[doc["resourceType"]].pipl:
        treatment = treatments.get(cls, "remove")
        if treatment == "keep":
            continue
        for where, value in values_at(doc, path):
            if len(where) == 1 and where[0] in agreed:
                continue
            if treatment == "remove" or mask is None or mask == "citizen-id":
                found.append(f"{where} ({cls})")
            elif not (isinstance(value, str) and "*" in value):
                found.append(f"{where} not masked")
    return found


@pytest.mark.parametrize("token", sorted(TOKENS))
def test_no_role_receives_what_its_audience_may_not_see(sqlite_api: Api, token: str) -> None:
    """/req/privacy/redaction-by-audience, /req/privacy/public-no-personal and
    /req/change-feed/redacted: reads, lists, history and change events alike, checked
    against the x-pipl paths of the library's plan."""
    role = PRINCIPALS[token].role
    audience = POLICY["roleAudience"][role]
    seen, held = 0, _held(sqlite_api)
    for where, doc in _documents(sqlite_api, token):
        seen += 1
        assert validate(doc).valid, (where, doc["id"])  # /req/privacy/redacted-valid
        if _own(token, doc, held):
            continue
        assert _leaks(_without_own_items(token, doc, held), audience) == [], (
            token, where, doc["id"])
        if role == "public":
            agreed = published_with_consent(doc)
            assert not any(True for p, cls, _ in PLANS[doc["resourceType"]].pipl
                           if cls != "none" for w, _ in values_at(doc, p)
                           if not (len(w) == 1 and w[0] in agreed))
    if role in ("regulator", "system", "community-staff"):
        assert seen > 0


def test_self_access_is_the_whole_record(sqlite_api: Api) -> None:
    """/req/residents/self-access (and a proxy in force reads their principal's record)."""
    mine = sqlite_api.as_("resident").get(f"/residents/{WANG}").json()
    # The demo stores the example with its pseudonyms computed under this server's key.
    stored = rekey_pseudonyms(copy.deepcopy(EXAMPLES["resident/wang-guiying.json"]), KEY)
    assert {k: v for k, v in mine.items() if k != "meta"} == {
        k: v for k, v in stored.items() if k != "meta"}
    by_proxy = sqlite_api.as_("proxy").get(f"/residents/{WANG}").json()
    assert by_proxy == mine
    # /req/residents/read-access: nobody else's record.
    for token in ("test-resident-chen", "test-proxy-stranger", "public", "department"):
        assert sqlite_api.as_(token).get(f"/residents/{WANG}").status_code == 404, token
    assert sqlite_api.as_("resident").get(f"/residents/{LI}").status_code == 404
    listed = [r["id"] for r in sqlite_api.as_("resident").get("/residents").json()["items"]]
    assert listed == [WANG]


def test_community_isolation(api: Api) -> None:
    """/req/privacy/community-isolation: reads 404, lists and the feed leave them out."""
    other = api.as_("demo-staff-hepingli")
    for doc in EXAMPLES.values():
        rt = doc["resourceType"]
        text = str({k: v for k, v in doc.items() if k in (
            "memberships", "communityDivisionCode", "divisionCode")})
        status = other.get(f"/{PLURAL[rt]}/{doc['id']}").status_code
        assert status == (200 if OTHER in text and COMMUNITY not in text else 404), doc["id"]
    for plural in PLURAL.values():
        for item in other.get(f"/{plural}", params={"limit": 500}).json()["items"]:
            assert COMMUNITY not in str({k: item.get(k) for k in (
                "memberships", "communityDivisionCode", "divisionCode")})
    for event in served(whole_feed(other)):
        data = event["data"]
        assert data.get("communityDivisionCode", OTHER) == OTHER
        assert data.get("divisionCode", OTHER) == OTHER
    assert api.staff.get(f"/residents/{LI}").status_code == 404
    # Creating in a community not served is refused, not stored elsewhere.
    doc = submitted_issue(communityDivisionCode=OTHER, gridCode=f"{OTHER}-01")
    assert api.staff.create(doc).status_code == 403


def test_department_sees_only_assigned_issues(api: Api) -> None:
    """/req/privacy/department-assigned-only."""
    housing = api.as_("department")
    ids = {i["id"] for i in housing.get("/issues", params={"limit": 500}).json()["items"]}
    for issue in ids:
        doc = api.as_("system").get(f"/issues/{issue}").json()
        assert any(a["department"]["id"] == "housing" for a in doc.get("assignments", ()))
    fresh = submitted_issue()
    assert api.staff.create(fresh).status_code == 201
    assert housing.get(f"/issues/{fresh['id']}").status_code == 404
    assert housing.get("/residents").json()["items"] == []
    assert housing.get(f"/residents/{WANG}").status_code == 404
    for event in served(whole_feed(housing)):
        assert event["data"]["resourceType"] != "Resident"
        if event["data"]["resourceType"] == "Issue":
            # Decided from the current record: the issue is assigned to housing now.
            assert event["data"]["id"] in ids


def test_reporter_disclosure(sqlite_api: Api) -> None:
    """/req/privacy/reporter-disclosure: anonymous hides the reporter from departments and
    the public; confidential shows it to intake staff only."""
    api = sqlite_api
    base = EXAMPLES["issue/gas-heater-elderly-closed.json"]
    for disclosure, hidden_from in (
            ("anonymous", {"department", "public"}),
            # A system principal is not intake staff (/req/privacy/system-principal).
            ("confidential", {"department", "public", "grid-worker", "regulator", "system"})):
        doc = copy.deepcopy(base)
        # Published, so that the public reads it at all (/req/privacy/issue-publication).
        doc.update(id=new_id(), reporterDisclosure=disclosure, publication={"published": True})
        doc.pop("meta")
        api.client.app.state.sc.service.load([doc])  # type: ignore[attr-defined]
        # The resident is the reporter: she reads her own issue as self
        # (/req/privacy/own-issues-self).
        for role in ("community-staff", "hotline-operator", "system", "resident", *hidden_from):
            token = "test-dept-urban-chen-lei" if role == "department" else role
            resp = api.as_(token).get(f"/issues/{doc['id']}")
            assert resp.status_code == 200, (role, resp.text)
            got = resp.json()
            identified = "reporterContact" in got or "onBehalfOf" in got["submittedBy"] or any(
                "respondent" in f for f in got.get("followUps", ()))
            assert identified == (role not in hidden_from), (disclosure, role)
            assert validate(got).valid


def test_results_hidden_until_visible(sqlite_api: Api) -> None:
    """/req/consultations/results-hidden: no results or ballot choices before visibleFrom."""
    api = sqlite_api
    doc = copy.deepcopy(EXAMPLES["consultation/lift-installation-building-3.json"])
    doc.update(id=new_id(), visibility="public")
    doc.pop("meta")
    doc.pop("externalRefs")
    for vote in doc["votes"]:
        vote["results"]["visibleFrom"] = later(30)
    api.client.app.state.sc.service.load([doc])  # type: ignore[attr-defined]
    for role in ("resident", "proxy", "public", "demo-dept-housing", "community-staff"):
        got = api.as_(role).get(f"/consultations/{doc['id']}").json()
        hidden = role != "community-staff"
        for vote in got["votes"]:
            assert ("results" in vote) != hidden, role
            assert all("optionId" not in b for b in vote.get("ballots", ())) or not hidden
        closes = [e for e in got["history"] if e["action"] == "close-vote"]
        assert all(("result" in e["details"]) != hidden for e in closes), role
        assert validate(got).valid


def test_open_vote_ballot_choices_are_withheld(sqlite_api: Api) -> None:
    """/req/consultations/results-hidden while a vote is open: no results exist yet, and the
    ballots recorded so far do not show their choices to residents, proxies or the public."""
    api = sqlite_api
    lift = EXAMPLES["consultation/lift-installation-building-3.json"]
    doc = copy.deepcopy(lift)
    first_close = next(i for i, e in enumerate(doc["history"]) if e["action"] == "close-vote")
    doc["history"] = doc["history"][:first_close]
    doc["status"] = doc["history"][-1]["toStatus"]
    for member in ("decision", "implementation", "feedback", "meta", "externalRefs"):
        doc.pop(member, None)
    doc["publications"] = [p for p in doc["publications"]
                           if p["type"] in ("topic", "notice", "minutes")]
    for vote in doc["votes"]:
        vote["status"] = "open"
        vote.pop("results")
    doc.update(id=new_id(), visibility="public")
    assert [f.code for f in validate(doc).errors] == []
    api.client.app.state.sc.service.load([doc])  # type: ignore[attr-defined]
    for role, hidden in (("resident", True), ("public", True), ("demo-dept-housing", True),
                         ("community-staff", False)):
        got = api.as_(role).get(f"/consultations/{doc['id']}").json()
        choices = [b for v in got["votes"] for b in v.get("ballots", ()) if "optionId" in b]
        assert bool(choices) != hidden, role


def test_residents_rights(api: Api) -> None:
    """Self-correction, consent append-only, erasure request and erasure, restriction."""
    doc = example("resident/wang-guiying.json")
    doc["id"] = new_id()
    for proxy in doc["proxies"]:
        proxy.pop("consentId", None)
    # The resident of this record is the principal "test-resident-chen" (its resident id).
    doc["id"] = TOKENS["test-resident-chen"]["resident"]
    created = api.staff.create(doc)
    if created.status_code == 409:  # the other backend's run left it: start from it
        pytest.skip("record exists from an earlier run")
    assert created.status_code == 201, created.text
    me = api.as_("test-resident-chen")
    path = f"/residents/{doc['id']}"
    mine = me.get(path)
    assert mine.status_code == 200
    body = mine.json()
    # /req/residents/self-correction: contact points yes, vulnerabilities no.
    body["contactPoints"][0]["phone"] = "+861065900000"
    resp = me.put(path, body, if_match=mine.headers["etag"])
    assert resp.status_code == 200, resp.text
    etag = resp.headers["etag"]
    wrong = copy.deepcopy(resp.json())
    wrong["vulnerabilities"] = []
    assert me.put(path, wrong, if_match=etag).status_code == 403
    # /req/residents/consent-append-only.
    gone = copy.deepcopy(resp.json())
    gone["consents"] = gone["consents"][1:]
    assert me.put(path, gone, if_match=etag).status_code == 422
    withdrawn = copy.deepcopy(resp.json())
    withdrawn["consents"][1].update(status="withdrawn",
                                    withdrawnAt=withdrawn["meta"]["lastUpdated"])
    resp = me.put(path, withdrawn, if_match=etag)
    assert resp.status_code == 200, resp.text
    etag = resp.headers["etag"]
    # /req/residents/rights-request: staff may not set the requested states by PUT.
    staff_view = api.staff.get(path).json()
    staff_view["restriction"] = {"state": "restriction-requested"}
    assert api.staff.put(path, staff_view, if_match=etag).status_code == 403
    # Only the resident (or a manage-data proxy) asks for erasure; the server records when.
    assert api.staff.post(f"{path}/erasure-request", {}, if_match=etag).status_code == 403
    stray = {"id": new_id(), "at": later(0), "by": {"role": "resident"},
             "contactResult": "declined"}
    assert me.post(f"{path}/erasure-request", {"items": {"followUps": [stray]}},
                   if_match=etag).status_code == 422
    resp = me.post(f"{path}/erasure-request", {"reason": "consent-withdrawn"}, if_match=etag)
    assert resp.status_code == 200, resp.text
    restriction = resp.json()["restriction"]
    assert restriction["state"] == "erasure-requested" and "requestedAt" in restriction
    etag = resp.headers["etag"]
    assert me.post(f"{path}/erase", {}, if_match=etag).status_code == 403
    assert api.as_("grid-worker").post(f"{path}/erase", {}, if_match=etag).status_code == 403
    tail = api.as_("system").get("/changes", params={"cursor": "latest"}).json()["next"]
    resp = api.staff.post(f"{path}/erase", {"note": "经核实执行删除"}, if_match=etag)
    assert resp.status_code == 200, resp.text
    erased = resp.json()
    assert set(erased) <= {"resourceType", "specVersion", "id", "meta", "status", "restriction",
                           "externalRefs"}
    assert erased["restriction"]["state"] == "erased" and "decidedAt" in erased["restriction"]
    # /req/residents/erasure: later reads give the minimal form, and the feed says so.
    assert api.staff.get(path).json() == erased
    assert me.get(path).json() == erased
    events = api.as_("system").get("/changes", params={"cursor": tail}).json()["items"]
    assert [(e["type"], e["action"]) for e in events if e["subject"] == f"residents/{doc['id']}"
            ] == [("org.w3id.smartcommunity.resident.erased", "erase")]
    again = api.staff.put(path, erased, if_match=resp.headers["etag"])
    assert again.status_code == 422


#: the organisation that decided an earlier request (any will do for a stale decidedBy)
DECIDER = {"id": "rc-xingfuli", "name": "幸福里社区居民委员会", "type": "residents-committee"}


def _managed(api: Api) -> tuple[str, Any]:
    """A fresh resident record whose manage-data proxy is 李建国 (token "proxy"), and its
    response as he reads it."""
    record = example("resident/wang-guiying.json")
    assert api.staff.create(record).status_code == 201
    path = f"/residents/{record['id']}"
    return path, api.as_("proxy").get(path)


def _respelled(text: str, shift: int) -> str:
    """The instant ``text`` names moved by ``shift`` seconds, written in UTC with a ``Z``."""
    at = datetime.fromisoformat(text.replace("Z", "+00:00")) + timedelta(seconds=shift)
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@settings(max_examples=15, deadline=None)
@given(stated=st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1)), utc=st.booleans(),
       stale=st.booleans(), shift=st.sampled_from([0, 0, 1, -86400, 400 * 86400]))
def test_the_server_records_when_restriction_is_asked_for(
        sqlite_api: Api, stated: datetime, utc: bool, stale: bool, shift: int) -> None:
    """/req/residents/rights-request: whatever requestedAt a PUT states, and whatever an earlier
    decision left, the request is recorded at the server's time and undecided; leaving the
    state as it is, the proxy cannot move when it was asked for (the same instant respelled
    is no change)."""
    api = sqlite_api
    path, current = _managed(api)
    body = current.json()
    given_at = spelled(stated.replace(tzinfo=UTC), utc, True, True)
    body["restriction"] = {"state": "restriction-requested", "requestedAt": given_at}
    if stale:  # read back from a request decided long ago
        body["restriction"].update(decidedAt=spelled(stated.replace(tzinfo=UTC)
                                                     + timedelta(days=9), utc, True, True),
                                   decidedBy=copy.deepcopy(DECIDER))
    before = datetime.now(UTC) - timedelta(seconds=1)
    resp = api.as_("proxy").put(path, body, if_match=current.headers["etag"])
    assert resp.status_code == 200, resp.text
    kept = resp.json()["restriction"]
    recorded = datetime.fromisoformat(kept["requestedAt"])
    assert before <= recorded <= datetime.now(UTC) + timedelta(seconds=1), kept
    assert "decidedAt" not in kept and "decidedBy" not in kept
    again = resp.json()
    again["restriction"]["requestedAt"] = _respelled(kept["requestedAt"], shift)
    restated = api.as_("proxy").put(path, again, if_match=resp.headers["etag"])
    assert restated.status_code == (200 if shift == 0 else 403), restated.text
    if shift:
        assert restated.json()["errors"][0]["pointer"] == "/restriction/requestedAt"
        assert api.staff.get(path).json()["restriction"] == kept


@settings(max_examples=10, deadline=None)
@given(shift=st.sampled_from([0, 1, -1, -86400, 30 * 86400]), utc=st.booleans())
def test_a_withdrawn_consents_withdrawal_time_stays(sqlite_api: Api, shift: int,
                                                    utc: bool) -> None:
    """/req/residents/consent-append-only: once withdrawn, withdrawnAt is part of the record
    as grantedAt is; the same instant respelled is no change."""
    api = sqlite_api
    path, current = _managed(api)
    body = current.json()
    body["consents"][1].update(status="withdrawn", withdrawnAt=later(0))
    resp = api.as_("proxy").put(path, body, if_match=current.headers["etag"])
    assert resp.status_code == 200, resp.text
    moved = resp.json()
    stored = moved["consents"][1]["withdrawnAt"]
    respelled = _respelled(stored, shift)
    moved["consents"][1]["withdrawnAt"] = respelled if utc else datetime.fromisoformat(
        respelled.replace("Z", "+00:00")).astimezone(timezone(timedelta(hours=8))).isoformat()
    again = api.staff.put(path, moved, if_match=resp.headers["etag"])
    if shift == 0:
        assert again.status_code == 200, again.text
        return
    assert again.status_code == 422, again.text
    assert [(e["pointer"], e["requirement"]) for e in again.json()["errors"]] == [
        ("/consents/1/withdrawnAt", "/req/residents/consent-append-only")]
    assert api.staff.get(path).json()["consents"][1]["withdrawnAt"] == stored


def test_restricted_disclosure(api: Api) -> None:
    """/req/residents/restricted-disclosure."""
    doc = example("resident/abdurahman-ahmat.json")
    assert api.staff.create(doc).status_code == 201
    path = f"/residents/{doc['id']}"
    current = api.staff.get(path)
    body = current.json()
    stamp = body["meta"]["lastUpdated"]
    body["restriction"] = {"state": "restricted", "requestedAt": stamp, "decidedAt": stamp}
    # /req/residents/erasure-on-request: not without a request or a legal ground.
    refused = api.staff.put(path, body, if_match=current.headers["etag"])
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "http.not-requested"
    body["restriction"]["reason"] = "unlawful-processing"
    resp = api.staff.put(path, body, if_match=current.headers["etag"])
    assert resp.status_code == 200, resp.text
    assert api.staff.get(path).json() == resp.json()
    minimal = api.as_("regulator").get(path).json()
    assert set(minimal) <= {"resourceType", "specVersion", "id", "meta", "status", "restriction",
                            "externalRefs"}


def test_minor_personal_data_is_sensitive() -> None:
    """/req/residents/minor-sensitive: under 14, personal fields are treated as sensitive."""
    access = Access(SPEC)
    doc = copy.deepcopy(EXAMPLES["resident/wang-guiying.json"])
    principal = PRINCIPALS["demo-grid-worker-zhang-wei"]
    stored = Stored(1, "Resident", doc["id"], 1, "", joined([COMMUNITY]), "|")
    stored._doc = doc
    adult = access.present(principal, stored, check=False)
    assert adult is not None and "gender" in adult.document()
    born = datetime.now(UTC).date().replace(year=datetime.now(UTC).year - 9).isoformat()
    doc["birthDate"] = born
    doc["identityDocuments"] = []
    doc["vulnerabilities"] = []
    child = access.present(principal, stored, check=False)
    assert child is not None
    got = child.document()
    assert "gender" not in got and "contactPoints" not in got
    assert got.get("name", "").endswith("*") or "name" not in got
    assert identifiers.mask_name(doc["name"]) == got.get("name", identifiers.mask_name(doc["name"]))


@settings(max_examples=40, deadline=None)
@given(days=st.integers(-800, 800), moved=st.booleans())
def test_a_grid_worker_reads_only_residents_whose_membership_has_not_ended(
        days: int, moved: bool) -> None:
    """/req/privacy/grid-scope: a membership in the worker's grid counts until its last day
    (China Standard Time), as the grid filter reads it; after it, the resident is another
    grid's, whatever else her record says."""
    access = Access(SPEC)
    principal = PRINCIPALS["demo-grid-worker-zhang-wei"]
    doc = copy.deepcopy(EXAMPLES["resident/wang-guiying.json"])
    mine = next(iter(principal.grids))
    now = datetime.now(UTC)
    today = now.astimezone(timezone(timedelta(hours=8))).date()
    ended = {**doc["memberships"][0], "grid": mine, "since": "2010-01-01",
             "until": (today + timedelta(days=days)).isoformat()}
    doc["memberships"] = [ended] + ([{**doc["memberships"][0], "grid": mine[:-2] + "Z9"}]
                                    if moved else [])
    stored = Stored(1, "Resident", doc["id"], 1, "", joined([COMMUNITY]), "|")
    stored._doc = doc
    assert access.can_see(principal, stored, now) == (days >= 0)


def test_audit_log(api: Api) -> None:
    """/req/privacy/audit-log: reads of sensitive data are logged; only the regulator reads."""
    api.as_("resident").get(f"/residents/{WANG}")
    api.staff.get("/residents", params={"community": COMMUNITY})
    resp = api.as_("regulator").get("/audit-events", params={"resident": WANG, "limit": 500})
    assert resp.status_code == 200
    items = resp.json()["items"]
    assert {"read", "list"} <= {i["operation"] for i in items}
    reads = [i for i in items if i["operation"] == "read" and i["role"] == "resident"]
    assert reads and "/vulnerabilities" in reads[-1]["fields"]
    # A list's entry (written by COPY on PostgreSQL) holds what a read's does.
    lists = [i for i in items if i["operation"] == "list"]
    assert lists and lists[-1]["fields"] == reads[-1]["fields"]
    assert lists[-1]["role"] == "community-staff"
    assert all(i["resident"] == WANG for i in items)
    seqs = [i["seq"] for i in items]
    assert seqs == sorted(seqs)
    for role in ("community-staff", "system", "department", "public", "resident", "supervisor"):
        assert api.as_(role).get("/audit-events").status_code == 403
    first = api.as_("regulator").get("/audit-events", params={"limit": 1}).json()
    assert len(first["items"]) == 1 and first["next"]
    second = api.as_("regulator").get("/audit-events",
                                      params={"limit": 1, "cursor": first["next"]}).json()
    assert second["items"][0]["seq"] > first["items"][0]["seq"]


def test_issue_publication(sqlite_api: Api) -> None:
    """/req/privacy/issue-publication: unpublished issues reach neither the public nor other
    residents; published ones only down to the area decided."""
    api = sqlite_api
    doc = submitted_issue()
    assert api.staff.create(doc).status_code == 201
    path = f"/issues/{doc['id']}"
    public = api.as_("public")
    assert public.get(path).status_code == 404
    assert doc["id"] not in {i["id"] for i in public.get(
        "/issues", params={"limit": 500}).json()["items"]}
    current = api.staff.get(path)
    body = current.json()
    body.pop("meta")
    for area, grid_shown in (("community", False), ("grid", True)):
        body["publication"] = {"published": True, "area": area}
        resp = api.staff.put(path, body, if_match=api.staff.get(path).headers["etag"])
        assert resp.status_code == 200, resp.text
        got = public.get(path)
        assert got.status_code == 200
        assert ("gridCode" in got.json()) == (grid_shown and "gridCode" in doc)
        assert "location" not in got.json() and "description" not in got.json()
        assert doc["id"] in {i["id"] for i in public.get(
            "/issues", params={"limit": 500}).json()["items"]}


def _listed_and_dropped(caller: Caller, path: str) -> tuple[list[str], list[str]]:
    """The ids ``caller`` lists at ``path``, every page, and those of the rows the store
    handed a page that were then refused (read and parsed for nothing)."""
    service = caller.client.app.state.sc.service  # type: ignore[attr-defined]
    real = service.present
    dropped: list[str] = []

    def present(principal: Any, stored: Stored, *args: Any, **kwargs: Any) -> Any:
        shown = real(principal, stored, *args, **kwargs)
        if shown is None:
            dropped.append(stored.id)
        return shown

    service.present = present
    try:
        listed, cursor = [], None
        while True:
            page = caller.get(path, params={
                "limit": 50, **({"cursor": cursor} if cursor else {})}).json()
            listed += [item["id"] for item in page["items"]]
            if not (cursor := page["next"]):
                return listed, dropped
    finally:
        service.present = real


@settings(max_examples=10, deadline=None)
@given(st.lists(st.sampled_from(sorted(SPEC.codelist("visibility"))), min_size=1, max_size=8))
def test_a_list_reads_only_the_consultations_its_reader_may_see(
        api: Api, codes: list[str]) -> None:
    """/req/privacy/visibility: every reader lists exactly the consultations whose visibility
    its audience sees, and the store hands the page no other: none is read and parsed only
    to be dropped (a page of the public's once read two consultations for each it showed).
    On both databases: the SQL that filters by the visibility term differs between them."""
    template = EXAMPLES["consultation/parking-convention-deliberating.json"]
    ours = {new_id(): code for code in codes}
    service = api.client.app.state.sc.service  # type: ignore[attr-defined]
    service.load([{**copy.deepcopy(template), "id": rid, "visibility": code}
                  for rid, code in ours.items()])
    for role in [*ROLE_TOKEN, None]:  # None: no token
        caller = api.as_(role) if role else Caller(api.client, None)
        audience = POLICY["roleAudience"][role or POLICY["recordAccess"]["anonymousRole"]]
        listed, dropped = _listed_and_dropped(caller, "/consultations")
        assert dropped == [], role
        expected = {rid for rid, code in ours.items() if code in POLICY["visibility"][audience]}
        assert set(listed) & set(ours) == expected, role


@settings(max_examples=8, deadline=None)
@given(kinds=st.lists(st.sampled_from(["hers", "published", "neighbours"]), min_size=1,
                      max_size=8))
def test_a_residents_issue_list_reads_only_the_published_and_her_own(
        api: Api, kinds: list[str]) -> None:
    """/req/privacy/issue-publication and /req/privacy/own-issues-self: a resident (and her
    proxy) lists the community's published issues and her own, and the store hands the page
    none of the unpublished others, which are most of a community's: none is read and parsed
    only to be dropped."""
    behalf = {"resourceType": "Resident", "id": WANG}
    ours: dict[str, str] = {}
    for kind in kinds:
        doc = submitted_issue(reporterDisclosure="public")
        if kind == "hers":
            doc["submittedBy"] = {"role": "community-staff", "onBehalfOf": behalf}
            doc["history"][0]["actor"] = {"role": "community-staff", "onBehalfOf": behalf}
        elif kind == "published":
            doc["publication"] = {"published": True, "area": "community"}
        resp = api.staff.create(doc)
        assert resp.status_code == 201, resp.text
        ours[doc["id"]] = kind
    for role in ("resident", "proxy"):
        listed, dropped = _listed_and_dropped(api.as_(role), "/issues")
        assert not set(dropped) & set(ours), role
        assert set(listed) & set(ours) == {i for i, k in ours.items() if k != "neighbours"}, role


def test_the_store_indexes_each_visibility_member_the_spec_names() -> None:
    """Lists filter on the visibility terms (/req/privacy/visibility): they are derived from
    the member the spec's record access names, and from no other."""
    named = {rt: tuple(pointer.strip("/").split("/"))
             for rt, pointer in POLICY["recordAccess"]["visibilityMember"].items()}
    indexed = {rt: t.path for rt in SPEC.resource_types for t in index_of(rt).terms
               if t.kind == VISIBILITY}
    assert indexed == named


def test_a_reporter_reads_her_confidential_issue_whole_in_every_state(api: Api) -> None:
    """/req/privacy/reporter-disclosure: a confidential reporter is withheld from everyone but
    the intake staff and the reporter. She reads her issue whole, and in the change feed each
    earlier state of it too (decided from the current record: /req/change-feed/access-now)."""
    her = api.as_("resident")
    start = her.get("/changes", params={"cursor": "latest"}).json()["next"]
    behalf = {"resourceType": "Resident", "id": WANG}
    doc = submitted_issue(reporterDisclosure="confidential")
    doc["submittedBy"] = {"role": "community-staff", "onBehalfOf": behalf}
    doc["history"][0]["actor"] = {"role": "community-staff", "onBehalfOf": behalf}
    assert api.staff.create(doc).status_code == 201
    current = api.staff.get(f"/issues/{doc['id']}")
    body = current.json()
    body["title"] = body["title"] + "（补充）"
    assert api.staff.put(f"/issues/{doc['id']}", body,
                         if_match=current.headers["etag"]).status_code == 200
    read = her.get(f"/issues/{doc['id']}").json()
    assert read["submittedBy"]["onBehalfOf"]["id"] == WANG
    events = [e for e in served(her.get("/changes", params={"cursor": start}).json()["items"])
              if e["data"]["id"] == doc["id"]]
    assert len(events) == 2
    for event in events:
        assert event["data"]["submittedBy"] == read["submittedBy"], event["sequence"]
