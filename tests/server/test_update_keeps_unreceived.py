"""An update replaces only what its writer receives (/req/privacy/update-keeps-unreceived), and
its errors tell a writer that does not receive the record whole nothing more
(/req/privacy/write-errors-unreceived)."""

from __future__ import annotations

import copy
import json
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from reference_server.access import Access
from reference_server.auth import ALL, Principal
from reference_server.openapi import resource_operations
from reference_server.service._partial import CONFLICT, UNRECEIVED, PartialWrite
from reference_server.storage import Stored
from smartcommunity import identifiers, load_spec
from smartcommunity.strategies import documents, json_values

from .helpers import COMMUNITY, KEY, Api, example, submitted_issue

SPEC = load_spec()
ACCESS = Access(SPEC, KEY)
PERSON = ACCESS.person_type
#: resource type → the roles that may update it and do not read it as its owner
WRITERS = {rt: sorted((resource_operations(SPEC.version, rt)["update"].roles or frozenset())
                      - ACCESS.own_record_roles)
           for rt in (PERSON, "Issue", "Consultation")}
EXAMPLES = [d for _, d in SPEC.examples() if d.get("resourceType") in WRITERS]
HOTLINE = "test-hotline-zhao-xue"


def _stored(doc: dict[str, Any]) -> Stored:
    return Stored(1, str(doc["resourceType"]), str(doc["id"]), 1, orjson.dumps(doc).decode(),
                  COMMUNITY, "")


def _storable(doc: dict[str, Any]) -> bool:
    """Whether ``doc`` could be stored: JSON numbers a server parses (64-bit integers)."""
    try:
        orjson.dumps(doc)
    except TypeError:
        return False
    return True


def _writer(role: str) -> Principal:
    return Principal(name=role, role=role, communities=ALL, user_id=f"{role}-1",
                     organisation={"id": "rc-xingfuli", "name": "幸福里社区居民委员会",
                                   "type": "residents-committee"})


def _view(who: Principal, stored: Stored) -> dict[str, Any]:
    presented = ACCESS.present(who, stored, check=False)
    assert presented is not None
    return presented.document()


def _refusals(write: PartialWrite, stored: Stored) -> list[str]:
    return [e["pointer"] for e in write.refusals()]


def _records() -> st.SearchStrategy[dict[str, Any]]:
    # A generated document may hold an integer beyond 64 bits, which no server stores; at
    # times most of a run's draws do.
    return st.one_of(st.sampled_from(EXAMPLES),
                     st.sampled_from(sorted(WRITERS)).flatmap(documents)).filter(_storable)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(_records(), st.data())
def test_a_view_sent_back_as_received_changes_nothing(doc: dict[str, Any],
                                                      data: st.DataObject) -> None:
    """Whatever a writer's audience withholds or masks, PUTting back what it read leaves the
    stored record as it was, and is no refusal."""
    stored = _stored(doc)
    who = _writer(data.draw(st.sampled_from(WRITERS[stored.rtype])))
    write = PartialWrite(ACCESS, who, stored, _view(who, stored))
    assert write.doc == doc
    assert _refusals(write, stored) == []


def _places(node: Any, where: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every member and item location below ``node``."""
    found: list[tuple[str | int, ...]] = []
    steps = (node.items() if isinstance(node, dict)
             else enumerate(node) if isinstance(node, list) else ())
    for step, child in steps:
        found.append((*where, step))
        found.extend(_places(child, (*where, step)))
    return found


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(_records(), st.data())
def test_a_body_of_any_shape_is_compared_or_left_to_validation(doc: dict[str, Any],
                                                              data: st.DataObject) -> None:
    """What a writer that does not receive the record whole sends back is compared with its
    view before it is validated: a body whose type, version or members are of no shape the
    schema allows (a visibility that is an object, a specVersion of 300 characters) gives
    refusals or none, never an error of the server's own (it was a 500)."""
    stored = _stored(doc)
    who = _writer(data.draw(st.sampled_from(WRITERS[stored.rtype])))
    body = _view(who, stored)
    where = data.draw(st.sampled_from(_places(body)))
    node: Any = body
    for step in where[:-1]:
        node = node[step]
    node[where[-1]] = data.draw(st.one_of(json_values(), st.just("a" * 300),
                                          st.just("../1.0")))
    write = PartialWrite(ACCESS, who, stored, body)
    assert all(e["code"] == UNRECEIVED for e in write.refusals())


def _hidden_twin(doc: dict[str, Any], who: Principal, other: dict[str, Any]
                 ) -> dict[str, Any] | None:
    """``doc`` with each top-level member ``who`` does not receive taken from ``other`` (or
    left out), when ``who`` reads the twin exactly as it reads ``doc``; else None. An erased
    record holds nothing beyond its minimal form: it has no twin."""
    if doc.get("restriction", {}).get("state") == ACCESS.erased_state or not _storable(other):
        return None
    view = _view(who, _stored(doc))
    twin = copy.deepcopy(doc)
    for name in set(doc) | set(other):
        if name in view or name in ("id", "resourceType", "specVersion", "meta"):
            continue
        if name in other:
            twin[name] = copy.deepcopy(other[name])
        else:
            twin.pop(name, None)
    return twin if _view(who, _stored(twin)) == view else None


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(_records(), st.data())
def test_what_is_withheld_is_kept_and_never_decides_a_refusal(doc: dict[str, Any],
                                                              data: st.DataObject) -> None:
    """A body naming members the writer does not receive, or leaving out members it does:
    the withheld members keep their stored value, and the refusals are the same whatever
    the record holds that the writer does not receive."""
    stored = _stored(doc)
    who = _writer(data.draw(st.sampled_from(WRITERS[stored.rtype])))
    other = data.draw(documents(stored.rtype))
    twin = _hidden_twin(doc, who, other)
    assume(twin is not None)
    assert twin is not None
    view = _view(who, stored)
    body = copy.deepcopy(view)
    for name in data.draw(st.lists(st.sampled_from(sorted(set(other) | set(view))),
                                   max_size=3, unique=True)):
        if name in ("id", "resourceType", "specVersion"):
            continue
        if name in other and data.draw(st.booleans()):
            body[name] = copy.deepcopy(other[name])
        else:
            body.pop(name, None)
    write = PartialWrite(ACCESS, who, stored, body)
    for name in set(doc) - set(view):
        assert write.doc.get(name) == doc[name], name
    twin_stored = _stored(twin)
    assert _refusals(write, stored) == _refusals(PartialWrite(ACCESS, who, twin_stored, body),
                                                 twin_stored)


def _number_item(doc: dict[str, Any]) -> int:
    return next(i for i, d in enumerate(doc["identityDocuments"]) if d.get("number"))


def test_a_masked_number_sent_back_stays_and_a_changed_one_is_refused() -> None:
    doc = example("resident/chen-zhiqiang.json")
    stored = _stored(doc)
    who = _writer("grid-worker")
    view = _view(who, stored)
    i = _number_item(doc)
    assert "number" not in view["identityDocuments"][i]
    kept = PartialWrite(ACCESS, who, stored, view)
    assert kept.doc["identityDocuments"] == doc["identityDocuments"]
    changed = copy.deepcopy(view)
    changed["identityDocuments"][i]["masked"] = "110105********0000"
    assert _refusals(PartialWrite(ACCESS, who, stored, changed), stored) == [
        "/identityDocuments"]
    # A new item is the writer's own: it may carry a full number it will read masked.
    added = copy.deepcopy(view)
    added["identityDocuments"].append({"type": "passport", "documentNumber": "E12345678"})
    write = PartialWrite(ACCESS, who, stored, added)
    assert _refusals(write, stored) == []
    assert write.doc["identityDocuments"][:len(doc["identityDocuments"])] == doc[
        "identityDocuments"]


def test_an_item_matched_by_id_keeps_what_it_withholds() -> None:
    """A consent changed by a grid worker, matched by its id: what the worker changed is
    taken, and the stored item stays where it stood among the others."""
    doc = example("resident/chen-zhiqiang.json")
    stored = _stored(doc)
    who = _writer("grid-worker")
    body = _view(who, stored)
    body["consents"] = list(reversed(body["consents"]))
    body["consents"][0]["expiresAt"] = "2099-01-01T00:00:00+08:00"
    write = PartialWrite(ACCESS, who, stored, body)
    assert _refusals(write, stored) == []
    assert [c["id"] for c in write.doc["consents"]] == [c["id"] for c in body["consents"]]
    assert write.doc["consents"][0]["expiresAt"] == "2099-01-01T00:00:00+08:00"


# -- over HTTP ------------------------------------------------------------------------------

def _created(api: Api, name: str = "resident/chen-zhiqiang.json") -> tuple[dict[str, Any], str]:
    doc = example(name)
    assert api.staff.create(doc).status_code == 201
    return api.staff.get(f"/residents/{doc['id']}").json(), f"/residents/{doc['id']}"


def _imported(api: Api, doc: dict[str, Any]) -> None:
    """Store ``doc`` as an import does, as it is."""
    api.client.app.state.sc.service.load([doc])  # type: ignore[attr-defined]


def _without_meta(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "meta"}


def test_the_hotline_fixes_a_phone_and_nothing_it_does_not_receive_is_lost(sqlite_api: Api) -> None:
    api = sqlite_api
    before, path = _created(api)
    hotline = api.as_(HOTLINE)
    got = hotline.get(path)
    view = _without_meta(got.json())
    assert "vulnerabilities" not in view and "consents" not in view
    view["contactPoints"][0]["phone"] = "+8613900000000"
    assert hotline.put(path, view, if_match=got.headers["etag"]).status_code == 200
    after = api.staff.get(path).json()
    assert after["contactPoints"][0]["phone"] == "+8613900000000"
    expected = {**_without_meta(before), "contactPoints": after["contactPoints"]}
    assert _without_meta(after) == expected


@pytest.mark.parametrize(("member", "value"), [
    ("resourceType", "x"), ("specVersion", "a" * 300), ("specVersion", None)])
def test_a_malformed_body_from_the_hotline_is_a_422_that_changes_nothing(
        sqlite_api: Api, member: str, value: Any) -> None:
    api = sqlite_api
    _, path = _created(api)
    hotline = api.as_(HOTLINE)
    got = hotline.get(path)
    before = api.staff.get(path).headers["etag"]
    answer = hotline.put(path, {**got.json(), member: value}, if_match=got.headers["etag"])
    assert answer.status_code == 422
    assert any(e["pointer"] == f"/{member}" for e in answer.json()["errors"])
    assert api.staff.get(path).headers["etag"] == before


def test_a_pending_erasure_request_survives_a_writer_that_does_not_receive_it(
        sqlite_api: Api) -> None:
    api = sqlite_api
    doc = example("resident/zhao-min-erasure-requested.json")
    _imported(api, doc)  # a create is no request (/req/residents/rights-request)
    path = f"/residents/{doc['id']}"
    hotline = api.as_(HOTLINE)
    got = hotline.get(path)
    assert "restriction" not in got.json()
    assert hotline.put(path, _without_meta(got.json()),
                       if_match=got.headers["etag"]).status_code == 200
    stored = api.staff.get(path)
    assert stored.json()["restriction"] == doc["restriction"]
    erased = api.staff.post(f"{path}/erase", {}, if_match=stored.headers["etag"])
    assert erased.status_code == 200


def test_only_the_resident_and_those_who_erase_change_restriction(sqlite_api: Api) -> None:
    api = sqlite_api
    doc = example("resident/zhao-min-erasure-requested.json")
    _imported(api, doc)  # a create is no request (/req/residents/rights-request)
    path = f"/residents/{doc['id']}"
    for role in ("system", "grid-worker"):
        who = api.as_(role)
        got = who.get(path)
        if got.status_code != 200:
            continue  # not in the grid worker's grids
        body = {k: v for k, v in got.json().items() if k not in ("meta", "restriction")}
        resp = who.put(path, body, if_match=got.headers["etag"])
        assert resp.status_code == 403, (role, resp.text)
        assert resp.json()["errors"][0]["requirement"] == "/req/residents/rights-request"
    assert api.staff.get(path).json()["restriction"] == doc["restriction"]


def test_hidden_consents_are_never_named_to_the_hotline(sqlite_api: Api) -> None:
    api = sqlite_api
    before, path = _created(api)
    hotline = api.as_(HOTLINE)
    got = hotline.get(path)
    view = _without_meta(got.json())
    hidden = [c["id"] for c in before["consents"]]
    for body in ({**view, "consents": []},
                 {**view, "consents": [{**c, "purpose": "care-visits"}
                                       for c in before["consents"]]}):
        resp = hotline.put(path, body, if_match=got.headers["etag"])
        assert resp.status_code == 422
        assert [(e["pointer"], e["code"]) for e in resp.json()["errors"]] == [
            ("/consents", UNRECEIVED)]
        assert not [i for i in hidden if i in resp.text]
    assert api.staff.get(path).json()["consents"] == before["consents"]


def test_a_conflict_with_a_masked_number_does_not_tell_its_digits(sqlite_api: Api) -> None:
    api = sqlite_api
    """The grid worker reads the citizen ID masked: a birth date that disagrees with it is
    refused, but the answer does not give the number's date."""
    before, path = _created(api)
    grid = api.as_("grid-worker")
    got = grid.get(path)
    view = _without_meta(got.json())
    number = before["identityDocuments"][_number_item(before)]["number"]
    born = identifiers.citizen_id_birth_date(number)
    assert born is not None
    view["birthDate"] = born.replace(year=born.year - 1).isoformat()
    resp = grid.put(path, view, if_match=got.headers["etag"])
    assert resp.status_code == 422
    text = json.dumps(resp.json(), ensure_ascii=False)
    assert born.isoformat() not in text and number[6:14] not in text
    assert [e["pointer"] for e in resp.json()["errors"]] == ["/birthDate"]


def test_a_conflict_about_what_the_writer_does_not_receive_names_no_place(sqlite_api: Api) -> None:
    api = sqlite_api
    """A grid worker's birth date that makes a hidden vulnerability marker's age wrong: one
    finding about the whole document, naming neither the marker nor its dates."""
    before, path = _created(api, "resident/wang-guiying.json")
    grid = api.as_("grid-worker")
    got = grid.get(path)
    assert got.status_code == 200  # her home is in the grid worker's grid
    view = _without_meta(got.json())
    assert "vulnerabilities" not in view
    view["birthDate"] = "2000-01-01"
    resp = grid.put(path, view, if_match=got.headers["etag"])
    assert resp.status_code == 422
    errors = resp.json()["errors"]
    assert ("", CONFLICT) in [(e["pointer"], e["code"]) for e in errors]
    assert all(not e["pointer"].startswith("/vulnerabilities") for e in errors)
    text = resp.text
    for marker in before.get("vulnerabilities") or ():
        assert marker["since"] not in text and marker["type"] not in text


def test_the_system_keeps_the_reporter_of_a_confidential_issue_it_does_not_receive(
        sqlite_api: Api) -> None:
    """The system principal is no intake staff: a confidential issue reaches it without its
    reporter, and its update keeps the reporter as stored."""
    api = sqlite_api
    contact = {"name": "保密人", "phone": "+8613912345678"}
    doc = submitted_issue(reporterDisclosure="confidential", reporterContact=contact)
    assert api.staff.create(doc).status_code == 201
    path = f"/issues/{doc['id']}"
    before = api.staff.get(path).json()
    system = api.as_("test-system-local")
    got = system.get(path)
    view = _without_meta(got.json())
    assert "reporterContact" not in view
    view["title"] += "！"
    assert system.put(path, view, if_match=got.headers["etag"]).status_code == 200
    after = api.staff.get(path).json()
    assert after["reporterContact"] == contact
    assert _without_meta(after) == {**_without_meta(before), "title": view["title"]}
