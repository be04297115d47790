"""Who a proxy is, and while when (/req/residents/proxy-scope): named by resident record, or as an
actor by role, organisation and user id; in force while its period lasts and the consent behind
it holds; and once it has ended, what it did for her gives it nothing more
(/req/privacy/own-issues-self, /req/issues/withdraw-by-submitter). A user id is unique only
within its organisation, for idempotency keys and the audit log as well
(/req/core/idempotency-scope, /req/privacy/audit-log)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_server import Settings, create_app
from reference_server.access import Access
from reference_server.auth import Principal, load_tokens
from reference_server.storage import Stored, joined
from smartcommunity.privacy import rekey_pseudonyms

from .helpers import (
    COMMUNITY,
    EXAMPLES,
    KEY,
    LI,
    OTHER,
    SPEC,
    TOKENS,
    Api,
    Caller,
    later,
    new_id,
    submitted_issue,
    whole_feed,
)

PRINCIPALS = load_tokens(TOKENS)
PROXY = "demo-proxy-li-jianguo"
EVERY_SCOPE = sorted(SPEC.codelist("proxy-scope"))
WITHHELD_TYPE = "org.w3id.smartcommunity.withheld"


def _at(now: datetime, days: float) -> str:
    return (now + timedelta(days=days)).isoformat(timespec="seconds")


def _resident(*proxies: dict[str, Any], consents: list[dict[str, Any]] | None = None,
              ) -> dict[str, Any]:
    """A copy of the example resident under a new id, with exactly ``proxies`` (and, when
    given, ``consents`` added to hers, less the one recording her grid worker's proxy)."""
    doc = copy.deepcopy(EXAMPLES["resident/wang-guiying.json"])
    doc.pop("meta", None)
    doc["id"] = new_id()
    doc["proxies"] = list(proxies)
    doc["consents"] = [c for c in doc["consents"] if not any(
        str(s).startswith("/proxies") for s in c["scope"])] + list(consents or ())
    return rekey_pseudonyms(doc, KEY)


def _li(scope: list[str] | None = None, **changes: Any) -> dict[str, Any]:
    """A proxy entry naming 李建国 (the token ``demo-proxy-li-jianguo``), in force for a month."""
    entry = {"id": new_id(), "resident": {"resourceType": "Resident", "id": LI},
             "relationship": "child", "scope": scope or EVERY_SCOPE,
             "basis": "written-authorisation", "validFrom": later(-30)}
    entry.update(changes)
    return entry


def _stored(doc: dict[str, Any]) -> Stored:
    stored = Stored(1, str(doc["resourceType"]), str(doc["id"]), 1, "", joined([COMMUNITY]), "|")
    stored._doc = doc
    return stored


# -- in force: period and consent --------------------------------------------------------------

OFFSET = st.integers(-5, 5).filter(bool)  # days from now, never now itself


@settings(max_examples=150, deadline=None)
@given(status=st.sampled_from(sorted(SPEC.codelist("consent-status"))), granted=OFFSET,
       withdrawn=st.none() | OFFSET, expires=st.none() | OFFSET, held=st.booleans(),
       linked=st.booleans())
def test_a_proxy_holds_only_while_the_consent_behind_it_does(
        status: str, granted: int, withdrawn: int | None, expires: int | None, held: bool,
        linked: bool) -> None:
    """A proxy whose consentId names a consent not in force (not granted, not yet granted,
    withdrawn, expired, or not in the record at all) is not in force; one without consentId
    holds by its period alone."""
    now = datetime.now(UTC)
    consent: dict[str, Any] = {"id": new_id(), "purpose": "service-delivery",
                               "legalBasis": "consent", "scope": ["/proxies/0"],
                               "status": status, "grantedAt": _at(now, granted)}
    if withdrawn is not None:
        consent["withdrawnAt"] = _at(now, withdrawn)
    if expires is not None:
        consent["expiresAt"] = _at(now, expires)
    entry = _li(validFrom=_at(now, -30))
    if linked:
        entry["consentId"] = consent["id"]
    doc = {"proxies": [entry], "consents": [consent] if held else []}
    in_force = (held and status == "granted" and granted < 0
                and (withdrawn is None or withdrawn > 0) and (expires is None or expires > 0))
    access = Access(SPEC)
    assert access.proxy_grants(doc, PRINCIPALS[PROXY], EVERY_SCOPE, now) == (
        in_force or not linked)


def _principal(role: str, organisation: str | None, user: str) -> Principal:
    return Principal(name="某人", role=role, communities=frozenset({COMMUNITY}),
                     organisation=None if organisation is None else {
                         "id": organisation, "name": organisation, "type": "other"},
                     resident=new_id(), user_id=user)


ROLES = st.sampled_from(["proxy", "resident", "grid-worker"])
ORGANISATIONS = st.sampled_from([None, "rc-xingfuli", "rc-hepingli"])
USERS = st.sampled_from(["gw-0317", "0001"])


@settings(max_examples=150, deadline=None)
@given(role=ROLES, organisation=ORGANISATIONS, user=USERS,
       named=st.tuples(ROLES, ORGANISATIONS, USERS))
def test_an_actor_proxy_names_a_principal_by_role_organisation_and_user_id(
        role: str, organisation: str | None, user: str,
        named: tuple[str, str | None, str]) -> None:
    """A user id is unique only within its organisation: another person's credential with the
    same user id (another role, another organisation, or none) is not the proxy."""
    actor: dict[str, Any] = {"role": named[0], "name": "张伟", "userId": named[2]}
    if named[1] is not None:
        actor["organisation"] = {"id": named[1], "name": named[1], "type": "other"}
    entry = {"id": new_id(), "actor": actor, "relationship": "community-worker",
             "scope": EVERY_SCOPE, "basis": "verbal-recorded", "validFrom": later(-30)}
    access = Access(SPEC)
    who = _principal(role, organisation, user)
    assert access.proxy_grants({"proxies": [entry]}, who, EVERY_SCOPE) == (
        (role, organisation, user) == named)


PARTS = st.text(alphabet=":%@a0", min_size=1, max_size=4)


@settings(max_examples=300, deadline=None)
@given(first=st.tuples(ROLES, st.none() | PARTS, PARTS),
       second=st.tuples(ROLES, st.none() | PARTS, PARTS))
def test_a_principal_key_tells_organisations_apart(
        first: tuple[str, str | None, str], second: tuple[str, str | None, str]) -> None:
    """/req/core/idempotency-scope: two principals with a user id share a key exactly when
    their roles, organisations and user ids are the same, whatever characters these hold."""
    one, other = _principal(*first), _principal(*second)
    assert (one.key == other.key) == (first == second)


@settings(max_examples=40, deadline=None)
@given(until=st.none() | OFFSET, scope=st.sampled_from([["submit-issues"], ["vote"],
                                                       ["receive-information"]]),
       for_her=st.booleans())
def test_an_issue_submitted_for_her_is_the_proxys_only_while_the_proxy_holds(
        until: int | None, scope: list[str], for_her: bool) -> None:
    """/req/privacy/own-issues-self: one a proxy submitted for her is his own while a proxy
    of hers in force names him, whatever its scope; once it has ended, not at all. One he
    submitted for no one else stays his."""
    now = datetime.now(UTC)
    entry = _li(scope, validFrom=_at(now, -30))
    if until is not None:
        entry["validUntil"] = _at(now, until)
    her = _resident(entry)
    actor: dict[str, Any] = {"role": "proxy", "name": "李建国",
                             "resident": {"resourceType": "Resident", "id": LI}}
    if for_her:
        actor["onBehalfOf"] = {"resourceType": "Resident", "id": her["id"]}
    issue = submitted_issue(submittedBy=actor)
    access = Access(SPEC)
    access.person = lambda rid: _stored(her) if rid == her["id"] else None
    owns = access.owns(PRINCIPALS[PROXY], _stored(issue), now)
    assert owns == (not for_her or until is None or until > 0)


# -- over HTTP ---------------------------------------------------------------------------------

def _load(api: Api, *docs: dict[str, Any]) -> None:
    api.client.app.state.sc.service.load(list(docs))  # type: ignore[attr-defined]


def _shown(events: list[dict[str, Any]], rid: str) -> list[dict[str, Any]]:
    """The events carrying the data of ``rid``."""
    return [e for e in events if e["type"] != WITHHELD_TYPE and e["data"].get("id") == rid]


def _for(resident: str, **changes: Any) -> dict[str, Any]:
    """An issue 李建国 submits as proxy of ``resident``."""
    actor = {"role": "proxy", "name": "李建国", "resident": {"resourceType": "Resident", "id": LI},
             "onBehalfOf": {"resourceType": "Resident", "id": resident}}
    doc = submitted_issue(**changes)
    doc["submittedBy"] = dict(actor)
    doc["history"][0]["actor"] = dict(actor)
    return doc


def test_withdrawing_the_consent_behind_a_proxy_ends_it(sqlite_api: Api) -> None:
    """/req/residents/proxy-scope: she may not edit proxies[] herself; withdrawing the consent
    that records the authorisation ends it everywhere at once."""
    api = sqlite_api
    consent = {"id": new_id(), "purpose": "service-delivery", "legalBasis": "consent",
               "scope": ["/proxies/0"], "status": "granted", "grantedAt": later(-10)}
    her = _resident(_li(consentId=consent["id"]), consents=[consent])
    _load(api, her)
    li = api.as_(PROXY)
    path = f"/residents/{her['id']}"
    start = li.get("/changes", params={"cursor": "latest"}).json()["next"]
    assert li.get(path).status_code == 200
    assert li.create(_for(her["id"])).status_code == 201
    current = api.staff.get(path)
    body = current.json()
    for item in body["consents"]:
        if item["id"] == consent["id"]:
            item.update(status="withdrawn", withdrawnAt=later(-0.001))
    resp = api.staff.put(path, body, if_match=current.headers["etag"])
    assert resp.status_code == 200, resp.text
    assert li.get(path).status_code == 404
    assert her["id"] not in {i["id"] for i in li.get("/residents").json()["items"]}
    refused = li.create(_for(her["id"]))
    assert refused.status_code == 403, refused.text
    assert li.post(f"{path}/erasure-request", {},
                   if_match=resp.headers["etag"]).status_code == 404
    assert not _shown(whole_feed(api.as_(PROXY), start), her["id"])


def test_an_ended_proxy_keeps_nothing_of_what_he_submitted_for_her(sqlite_api: Api) -> None:
    """/req/privacy/own-issues-self, /req/issues/withdraw-by-submitter: staff end the proxy;
    the issue he filed for her, her confidential contact and all that came after, is no longer
    his to read as his own, in reads, lists or the feed, nor to withdraw."""
    api = sqlite_api
    her = _resident(_li(["submit-issues", "follow-up-issues"]))
    _load(api, her)
    li = api.as_(PROXY)
    start = li.get("/changes", params={"cursor": "latest"}).json()["next"]
    contact = {"name": "王桂英", "phone": "+861065931827"}
    doc = _for(her["id"], reporterDisclosure="confidential", reporterContact=contact)
    created = li.create(doc)
    assert created.status_code == 201, created.text
    # While the proxy holds he reads it back whole, though his scope gives no reading of her.
    assert li.get(f"/issues/{doc['id']}").json()["reporterContact"] == contact
    path = f"/residents/{her['id']}"
    current = api.staff.get(path)
    body = current.json()
    body["proxies"][0]["validUntil"] = later(-0.001)
    assert api.staff.put(path, body, if_match=current.headers["etag"]).status_code == 200
    assert li.get(f"/issues/{doc['id']}").status_code == 404
    assert doc["id"] not in {i["id"] for i in li.get("/issues", params={"limit": 500})
                             .json()["items"]}
    assert not _shown(whole_feed(api.as_(PROXY), start), doc["id"])
    # Published, he reads it as any resident of the community, and may not withdraw it.
    issue = api.staff.get(f"/issues/{doc['id']}")
    published = {**issue.json(), "publication": {"published": True, "decidedAt": later(0)}}
    assert api.staff.put(f"/issues/{doc['id']}", published,
                         if_match=issue.headers["etag"]).status_code == 200
    seen = li.get(f"/issues/{doc['id']}")
    assert seen.status_code == 200 and "reporterContact" not in seen.json()
    refused = li.act("Issue", doc["id"], "withdraw")
    assert refused.status_code == 403, refused.text
    assert refused.json()["errors"][0]["requirement"] == "/req/issues/withdraw-by-submitter"


def test_a_proxy_in_force_and_a_grid_worker_withdraw_what_they_submitted(
        sqlite_api: Api) -> None:
    """/req/issues/withdraw-by-submitter: the proxy while in force; the grid worker who
    recorded it for a resident of his community, by his role, organisation and user id."""
    api = sqlite_api
    her = _resident(_li(["submit-issues"]))
    _load(api, her)
    doc = _for(her["id"])
    assert api.as_(PROXY).create(doc).status_code == 201
    assert api.as_(PROXY).act("Issue", doc["id"], "withdraw").status_code == 200
    worker = api.as_("grid-worker")
    recorded = submitted_issue()
    recorded["submittedBy"] = {"onBehalfOf": {"resourceType": "Resident", "id": her["id"]}}
    recorded["history"][0]["actor"] = dict(recorded["submittedBy"])
    assert worker.create(recorded).status_code == 201
    assert worker.act("Issue", recorded["id"], "withdraw").status_code == 200


# -- the same user id in another organisation ---------------------------------------------------

_XINGFULI = {"id": "rc-xingfuli", "name": "幸福里社区居民委员会", "type": "residents-committee",
             "divisionCode": COMMUNITY}
_HEPINGLI = {"id": "rc-hepingli", "name": "和平里社区居民委员会", "type": "residents-committee",
             "divisionCode": OTHER}
#: two residents' committees that both number their staff from 0001, and a resident-app user
#: of another platform whose user id is the grid worker's
NAMESAKES = {
    "test-staff-xingfuli-0001": {"role": "community-staff", "name": "甲", "userId": "0001",
                                 "organisation": _XINGFULI, "communities": [COMMUNITY]},
    "test-staff-hepingli-0001": {"role": "community-staff", "name": "乙", "userId": "0001",
                                 "organisation": _HEPINGLI, "communities": [OTHER]},
    "test-proxy-gw-0317": {"role": "proxy", "name": "赵某", "userId": "gw-0317",
                           "resident": "00000000-0000-4000-8000-0000000000bb",
                           "communities": [COMMUNITY]},
    "test-proxy-gw-0317-xingfuli": {"role": "proxy", "name": "张伟", "userId": "gw-0317",
                                    "organisation": _XINGFULI,
                                    "resident": "00000000-0000-4000-8000-0000000000cc",
                                    "communities": [COMMUNITY]},
}


@pytest.fixture(scope="module")
def namesakes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    path: Path = tmp_path_factory.mktemp("namesakes") / "server.sqlite3"
    settings = Settings(database_url=f"sqlite:///{path}", tokens={**TOKENS, **NAMESAKES},
                        demo=True, pseudonym_key=KEY)
    with TestClient(create_app(settings), raise_server_exceptions=True) as client:
        yield Api(client)


def test_an_actor_proxy_is_not_whoever_shares_its_user_id(namesakes: Api) -> None:
    """/req/residents/proxy-scope: the record names gw-0317 of 幸福里, as a proxy; a proxy
    credential with that user id but no organisation is somebody else."""
    api = namesakes
    gw = copy.deepcopy(EXAMPLES["resident/wang-guiying.json"]["proxies"][1])
    gw.update(id=new_id(), scope=["receive-information", "submit-issues"])
    gw["actor"]["role"] = "proxy"
    gw.pop("validUntil")
    gw.pop("consentId")
    her = _resident(gw)
    _load(api, her)
    path = f"/residents/{her['id']}"
    assert api.as_("test-proxy-gw-0317-xingfuli").get(path).status_code == 200
    assert api.as_("test-proxy-gw-0317").get(path).status_code == 404
    assert her["id"] not in {i["id"] for i in api.as_("test-proxy-gw-0317").get(
        "/residents").json()["items"]}


def test_the_same_user_id_in_two_organisations_is_two_principals(namesakes: Api) -> None:
    """/req/core/idempotency-scope, /req/privacy/audit-log: 0001 of 幸福里 and 0001 of 和平里
    hold keys of their own, and the audit log tells them apart."""
    api = namesakes
    first, second = (Caller(api.client, token, NAMESAKES[token])
                     for token in ("test-staff-xingfuli-0001", "test-staff-hepingli-0001"))
    key = {"Idempotency-Key": "k-" + new_id()}
    mine = submitted_issue()
    assert first.create(mine, headers=key).status_code == 201
    theirs = submitted_issue(communityDivisionCode=OTHER)
    theirs.pop("gridCode", None)
    theirs.pop("location", None)
    resp = second.create(theirs, headers=key)
    assert resp.status_code == 201, resp.text
    her = _resident()
    _load(api, her)
    path = f"/residents/{her['id']}"
    assert first.get(path).status_code == 200
    moved = {**her, "id": new_id(),
             "memberships": [{"community": OTHER, "residencyType": "registered-resident"}]}
    moved.pop("address", None)
    _load(api, moved)
    assert second.get(f"/residents/{moved['id']}").status_code == 200
    principals = set()
    for rid in (her["id"], moved["id"]):
        rows = api.as_("regulator").get("/audit-events", params={"resident": rid}).json()
        principals |= {row["principal"] for row in rows["items"] if row["operation"] == "read"}
    assert len(principals) == 2, principals
