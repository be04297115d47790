"""The reference server running a city profile (/conf/profiles): declared, published, obeyed."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference_server.service import ImportStopped, Service, import_lines
from reference_server.service._profile import redue
from reference_server.settings import Settings
from reference_server.storage import Store
from smartcommunity.profiles import Profile, load_profile
from smartcommunity.specification import spec_root
from smartcommunity.strategies import uri_spellings

from .conftest import make_app
from .helpers import Api, example, spelled, submitted_issue

PROFILES = spec_root() / "1.0" / "profiles"
CHAOYANG = PROFILES / "beijing-chaoyang.json"
CLASS = "https://w3id.org/smartcommunity/spec/1.0/conf/profiles"


def _api(tmp_path: Path, profile: Path | None) -> Api:
    app = make_app(f"sqlite:///{tmp_path / 'server.sqlite3'}", profile=profile)
    return Api(TestClient(app, raise_server_exceptions=True))


@pytest.fixture(scope="module")
def chaoyang(tmp_path_factory: pytest.TempPathFactory) -> Api:
    return _api(tmp_path_factory.mktemp("chaoyang"), CHAOYANG)


def _issue(**changes: Any) -> dict[str, Any]:
    doc = submitted_issue(**changes)
    doc.pop("deadlines", None)
    return doc


@pytest.mark.parametrize("name", ["beijing-chaoyang.json", "jiangshan.json"])
def test_the_profile_is_declared_and_published(tmp_path: Path, name: str) -> None:
    api = _api(tmp_path, PROFILES / name)
    profile = load_profile(PROFILES / name)
    declared = api.client.get("/conformance").json()
    assert CLASS in declared["conformsTo"]
    assert declared["profile"] == {"id": profile.id, "version": profile.version}
    served = api.client.get("/profile").json()
    assert served["profile"]["id"] == profile.id
    # The registry is served inline even when the file keeps it in an NDJSON file of its own.
    assert {o["code"] for o in served["organisations"]} == set(profile.organisations)
    catalogue = api.client.get("/services").json()
    assert catalogue["profile"] == profile.id
    assert [s["category"] for s in catalogue["items"]] == list(profile.services)
    assert [s["lead"] for s in catalogue["items"]] == [s.lead for s in profile.services.values()]


def test_without_a_profile_nothing_is_declared(sqlite_api: Api) -> None:
    declared = sqlite_api.client.get("/conformance").json()
    assert CLASS not in declared["conformsTo"] and "profile" not in declared
    missing = sqlite_api.client.get("/profile")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert sqlite_api.client.get("/services").json() == {"items": []}


@pytest.mark.parametrize(("category", "urgency"), [
    ("environment.garbage.bj-bulky-waste", "normal"), ("public-safety.fire-lane", "urgent"),
    ("housing.lift", "critical")])
def test_new_issues_get_the_catalogues_deadlines(chaoyang: Api, category: str,
                                                 urgency: str) -> None:
    profile = load_profile(CHAOYANG)
    doc = _issue(category=category, urgency=urgency)
    resp = chaoyang.staff.create(doc)
    assert resp.status_code == 201, resp.text
    stored = resp.json()
    start = datetime.fromisoformat(doc["submittedAt"])
    for kind, member in (("response", "responseDue"), ("resolution", "resolutionDue")):
        expected = profile.deadline(category, urgency, kind, start)
        assert expected is not None
        assert datetime.fromisoformat(stored["deadlines"][member]) == expected


@given(utc=st.booleans(), upper_t=st.booleans(), upper_z=st.booleans())
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_deadlines_do_not_depend_on_how_the_submission_time_is_spelled(
        chaoyang: Api, utc: bool, upper_t: bool, upper_z: bool) -> None:
    profile = load_profile(CHAOYANG)
    doc = _issue(category="housing.lift", urgency="critical")
    start = datetime.fromisoformat(doc["submittedAt"])
    doc["submittedAt"] = spelled(start, utc, upper_t, upper_z)
    resp = chaoyang.staff.create(doc)
    assert resp.status_code == 201, resp.text
    for kind, member in (("response", "responseDue"), ("resolution", "resolutionDue")):
        assert datetime.fromisoformat(resp.json()["deadlines"][member]) == \
            profile.deadline("housing.lift", "critical", kind, start)


def test_a_city_sub_code_is_taken_without_a_warning(chaoyang: Api) -> None:
    resp = chaoyang.staff.create(_issue(category="environment.garbage.bj-bulky-waste"))
    assert resp.status_code == 201, resp.text


def test_swapping_the_deadline_table_changes_the_deadlines(tmp_path: Path) -> None:
    data = json.loads(CHAOYANG.read_text(encoding="utf-8"))
    data["organisations"]["file"] = str(PROFILES / data["organisations"]["file"])
    for service in data["services"]:
        service.pop("deadlines", None)
    data["deadlines"]["normal"]["resolution"] = {"amount": 3, "unit": "working-days"}
    swapped = tmp_path / "swapped.json"
    swapped.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    api = _api(tmp_path, swapped)
    # Friday 2025-09-26 10:00: three working days on is Wednesday 10-01? No: 10-01..08 are
    # holidays and Sunday 09-28 is worked, so Sun 28, Mon 29, Tue 30 -> Tue 09-30 10:00.
    doc = _issue(category="housing.lift", urgency="normal",
                 submittedAt="2025-09-26T10:00:00+08:00")
    doc["history"][0]["at"] = doc["submittedAt"]
    resp = api.staff.create(doc)
    assert resp.status_code == 201, resp.text
    assert datetime.fromisoformat(resp.json()["deadlines"]["resolutionDue"]) == \
        datetime.fromisoformat("2025-09-30T10:00:00+08:00")


def test_a_stated_deadline_later_than_the_profile_is_refused(chaoyang: Api) -> None:
    doc = _issue(category="housing.lift", urgency="critical")
    doc["deadlines"] = {"responseDue": "2025-06-16T09:52:00+08:00"}  # limit: one hour
    resp = chaoyang.staff.create(doc)
    assert resp.status_code == 422
    assert [e["code"] for e in resp.json()["errors"]] == ["profile.deadline-exceeds"]
    assert chaoyang.staff.get(f"/issues/{doc['id']}").status_code == 404


def _moments(deadlines: dict[str, Any]) -> dict[str, datetime]:
    return {k: datetime.fromisoformat(v) for k, v in deadlines.items() if k.endswith("Due")}


def _shortened(tmp_path: Path, published: str | None = "2025-01-01") -> Path:
    """The large city's profile, version 1.1.0 published on ``published`` (or stating no
    date), with every limit cut to an hour or a day."""
    data = json.loads(CHAOYANG.read_text(encoding="utf-8"))
    data["organisations"]["file"] = str(PROFILES / data["organisations"]["file"])
    data["profile"]["version"] = "1.1.0"
    data["profile"].pop("published")
    if published is not None:
        data["profile"]["published"] = published
    for service in data["services"]:
        service.pop("deadlines", None)
    for kinds in data["deadlines"].values():
        kinds["response"] = {"amount": 1, "unit": "hours"}
        kinds["resolution"] = {"amount": 1, "unit": "working-days"}
    path = tmp_path / "shortened.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_an_issue_keeps_its_deadlines_when_the_city_shortens_them(tmp_path: Path) -> None:
    """An issue given its deadlines under one profile is still worked after the server restarts
    with shorter ones: only a write that changes the deadlines or what they are computed from
    is held to the profile in force."""
    url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    before = make_app(url, profile=CHAOYANG)
    doc = _issue(category="environment.noise", urgency="normal")
    created = Api(TestClient(before, raise_server_exceptions=True)).staff.create(doc)
    assert created.status_code == 201, created.text
    given = created.json()["deadlines"]
    before.state.sc.service.store.dispose()
    api = _api(tmp_path, _shortened(tmp_path))
    accepted = api.staff.act("Issue", doc["id"], "accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["deadlines"] == given
    stored = api.staff.get(f"/issues/{doc['id']}")
    body = {**stored.json(), "title": "东门消防通道仍被占用"}
    put = api.staff.put(f"/issues/{doc['id']}", body, if_match=stored.headers["etag"])
    assert put.status_code == 200, put.text
    assert put.json()["deadlines"] == given
    # A write that moves a deadline itself is held to the profile in force.
    moved = {**put.json(), "deadlines": {**given, "responseDue": given["resolutionDue"]}}
    resp = api.staff.put(f"/issues/{doc['id']}", moved, if_match=put.headers["etag"])
    assert resp.status_code == 422
    assert [(e["pointer"], e["code"]) for e in resp.json()["errors"]] == [
        ("/deadlines/responseDue", "profile.deadline-exceeds")]
    assert api.staff.act("Issue", doc["id"], "withdraw").status_code == 200


#: the day the shortened limits of the import tests were published, and its first instant
_PUBLISHED = "2025-07-01"
_FROM = datetime(2025, 7, 1, tzinfo=timezone(timedelta(hours=8)))


def _restoring(tmp_path: Path, published: str | None = _PUBLISHED) -> Service:
    """A service over an empty store, running the shortened profile published on
    ``published``: where a city restores its issues."""
    url = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    store = Store(url)
    store.migrate()
    return Service(Settings(database_url=url, profile=_shortened(tmp_path, published)), store)


def _imported(service: Service, *docs: dict[str, Any]) -> list[tuple[str, str]]:
    """Import ``docs``; the pointers and codes of the refusal that stopped the import."""
    try:
        import_lines(service, [(f"restore.ndjson:{n}", orjson.dumps(doc))
                               for n, doc in enumerate(docs, 1)])
    except ImportStopped as stopped:
        return [(e["pointer"], e["code"]) for e in stopped.problem.errors]
    return []


@pytest.fixture(scope="module")
def restoring(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    service = _restoring(tmp_path_factory.mktemp("restoring"))
    yield service
    service.store.dispose()


def test_a_city_restores_the_issues_it_had_before_it_shortened_its_limits(
        tmp_path: Path) -> None:
    """Issues given their deadlines under the city's earlier profile are imported with them
    into a server running the version that shortened the limits; an issue submitted since that
    version was published, stating the earlier limits' deadlines, is refused."""
    before = make_app(f"sqlite:///{tmp_path / 'before.sqlite3'}", profile=CHAOYANG)
    api = Api(TestClient(before, raise_server_exceptions=True))
    docs = [_issue(category=c, urgency="normal") for c in _CATEGORIES]
    for doc in docs:
        assert api.staff.create(doc).status_code == 201
    backup = [api.staff.get(f"/issues/{doc['id']}").json() for doc in docs]
    before.state.sc.service.store.dispose()
    service = _restoring(tmp_path)
    assert _imported(service, *backup) == []
    with service.store.read() as tx:
        for doc in backup:
            stored = tx.get("Issue", doc["id"])
            assert stored is not None and stored.doc["deadlines"] == doc["deadlines"]
    # The same record submitted on the day the shorter limits were published: a new issue's
    # deadlines, which the catalogue in force bounds.
    new = {**copy.deepcopy(backup[0]), "id": str(uuid.uuid4()),
           "submittedAt": _FROM.isoformat()}
    new["history"][0]["at"] = new["submittedAt"]
    new["deadlines"] = _given(load_profile(CHAOYANG), new)
    assert _imported(service, new) == [("/deadlines/responseDue", "profile.deadline-exceeds"),
                                       ("/deadlines/resolutionDue", "profile.deadline-exceeds")]
    service.store.dispose()


def test_without_a_publication_date_every_import_is_held_to_the_profile(
        tmp_path: Path) -> None:
    service = _restoring(tmp_path, published=None)
    doc = _issue(category="environment.noise", urgency="normal")
    doc["deadlines"] = _given(load_profile(CHAOYANG), doc)
    assert [code for _, code in _imported(service, doc)] == ["profile.deadline-exceeds"] * 2
    service.store.dispose()


def _given(city: Profile, doc: dict[str, Any], minutes: int = 0) -> dict[str, str]:
    """The deadlines ``city`` gives ``doc``, each ``minutes`` later."""
    start = datetime.fromisoformat(doc["submittedAt"])
    out = {}
    for kind, member in (("response", "responseDue"), ("resolution", "resolutionDue")):
        due = city.deadline(doc["category"], doc["urgency"], kind, start)
        assert due is not None
        out[member] = (due + timedelta(minutes=minutes)).isoformat()
    return out


# Deadlines before the submission are refused by the core rule (the response limit is an hour).
@given(minutes=st.integers(-2 * 24 * 60, 2 * 24 * 60), late=st.integers(-45, 90),
       utc=st.booleans(), category=st.sampled_from(["environment.noise", "housing.lift"]))
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_an_import_is_held_to_the_profile_from_the_day_it_was_published(
        restoring: Service, minutes: int, late: int, utc: bool, category: str) -> None:
    """Whatever the submission time (either side of the day the profile was published, written
    in China Standard Time or UTC) and however late the deadlines a record states, the import
    stores it exactly when it was submitted before that day or its deadlines are within the
    profile's (/req/profiles/deadlines)."""
    city = restoring.profile
    assert city is not None
    at = _FROM + timedelta(minutes=minutes)
    doc = _issue(id=str(uuid.uuid4()), category=category, urgency="normal",
                 submittedAt=spelled(at, utc, True, True))
    doc["history"][0]["at"] = doc["submittedAt"]
    doc["deadlines"] = _given(city, {**doc, "submittedAt": at.isoformat()}, late)
    refused = _imported(restoring, doc)
    if minutes < 0 or late <= 0:
        assert refused == []
        with restoring.store.read() as tx:
            stored = tx.get("Issue", doc["id"])
        assert stored is not None and stored.doc["deadlines"] == doc["deadlines"]
    else:
        assert refused == [("/deadlines/responseDue", "profile.deadline-exceeds"),
                           ("/deadlines/resolutionDue", "profile.deadline-exceeds")]


_URGENCIES = ("normal", "urgent", "critical")
_CATEGORIES = ("environment.noise", "housing.lift", "public-safety.fire-lane", "utilities.gas",
               "environment.garbage.bj-bulky-waste")


@given(first=st.sampled_from(_URGENCIES), then=st.sampled_from(_URGENCIES),
       category=st.sampled_from(_CATEGORIES), accepted=st.booleans())
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_write_changing_urgency_or_category_gets_the_deadlines_of_the_new_values(
        chaoyang: Api, first: str, then: str, category: str, accepted: bool) -> None:
    profile = load_profile(CHAOYANG)
    doc = _issue(category="environment.noise", urgency=first)
    assert chaoyang.staff.create(doc).status_code == 201
    if accepted:
        assert chaoyang.staff.act("Issue", doc["id"], "accept").status_code == 200
    stored = chaoyang.staff.get(f"/issues/{doc['id']}")
    body = {**stored.json(), "urgency": then, "category": category}
    resp = chaoyang.staff.put(f"/issues/{doc['id']}", body, if_match=stored.headers["etag"])
    assert resp.status_code == 200, resp.text
    start = datetime.fromisoformat(doc["submittedAt"])
    assert _moments(resp.json()["deadlines"]) == {
        member: profile.deadline(category, then, kind, start)
        for kind, member in (("response", "responseDue"), ("resolution", "resolutionDue"))}


def test_a_deadline_stated_with_a_new_urgency_is_held_to_it(chaoyang: Api) -> None:
    doc = _issue(category="environment.noise", urgency="normal")
    assert chaoyang.staff.create(doc).status_code == 201
    stored = chaoyang.staff.get(f"/issues/{doc['id']}")
    old = stored.json()["deadlines"]
    limit = load_profile(CHAOYANG).deadline("environment.noise", "critical", "response",
                                            datetime.fromisoformat(doc["submittedAt"]))
    assert limit is not None
    late = (limit + timedelta(minutes=1)).isoformat()
    later = {**stored.json(), "urgency": "critical", "deadlines": {**old, "responseDue": late}}
    resp = chaoyang.staff.put(f"/issues/{doc['id']}", later, if_match=stored.headers["etag"])
    assert resp.status_code == 422
    assert [e["code"] for e in resp.json()["errors"]] == ["profile.deadline-exceeds"]
    # One earlier than the new limit is the caller's own, and kept.
    earlier = {**later, "deadlines": {**old, "responseDue": doc["submittedAt"]}}
    resp = chaoyang.staff.put(f"/issues/{doc['id']}", earlier, if_match=stored.headers["etag"])
    assert resp.status_code == 200, resp.text
    assert resp.json()["deadlines"]["responseDue"] == doc["submittedAt"]
    assert resp.json()["deadlines"]["resolutionDue"] != old["resolutionDue"]


def test_an_extended_resolution_deadline_stays_as_approved() -> None:
    profile = load_profile(CHAOYANG)
    old = _issue(category="environment.noise", urgency="normal")
    extension = {"previousDue": "2025-07-07T07:52:00+08:00", "newDue": "2025-07-21T07:52:00+08:00"}
    old["deadlines"] = {"responseDue": "2025-06-17T07:52:00+08:00",
                        "resolutionDue": extension["newDue"], "extensions": [extension]}
    new = redue(profile, old, {**old, "urgency": "critical"})
    assert new["deadlines"]["resolutionDue"] == extension["newDue"]
    assert new["deadlines"]["extensions"] == [extension]
    assert datetime.fromisoformat(new["deadlines"]["responseDue"]) == profile.deadline(
        "environment.noise", "critical", "response", datetime.fromisoformat(old["submittedAt"]))
    assert redue(profile, old, {**old, "title": "x"}) == {**old, "title": "x"}


def test_registered_extensions_are_validated(chaoyang: Api) -> None:
    good = _issue(extensions={"cn.gov.beijing.jiesujiban": {"workOrderNo": "CY202501010001"}})
    assert chaoyang.staff.create(good).status_code == 201
    bad = _issue(extensions={"cn.gov.beijing.jiesujiban": {"workOrderNo": "12345"}})
    resp = chaoyang.staff.create(bad)
    assert resp.status_code == 422
    errors = resp.json()["errors"]
    assert {e["code"] for e in errors} == {"profile.extension-invalid"}
    assert all(e["pointer"].startswith("/extensions/cn.gov.beijing.jiesujiban") for e in errors)


def test_a_dispatch_naming_no_department_goes_to_the_catalogues(chaoyang: Api) -> None:
    profile = load_profile(CHAOYANG)
    doc = _issue(category="environment.garbage.bj-bulky-waste")
    assert chaoyang.staff.create(doc).status_code == 201
    assert chaoyang.staff.act("Issue", doc["id"], "accept").status_code == 200
    lead, assisting = str(uuid.uuid4()), str(uuid.uuid4())
    now = datetime.now(UTC).astimezone().isoformat(timespec="seconds")
    new = [{"id": i, "role": role, "status": "pending", "assignedAt": now}
           for i, role in ((lead, "lead"), (assisting, "assisting"))]
    resp = chaoyang.staff.act("Issue", doc["id"], "dispatch", {
        "details": {"lead": lead, "assisting": [assisting]}, "items": {"assignments": new}})
    assert resp.status_code == 200, resp.text
    given = {a["id"]: a["department"]["id"] for a in resp.json()["assignments"]}
    service = profile.service(doc["category"])
    assert service is not None
    assert given == {lead: service.lead, assisting: service.assisting[0]}
    # A department the caller names is kept as named.
    other = _issue(category="environment.garbage.bj-bulky-waste")
    assert chaoyang.staff.create(other).status_code == 201
    chaoyang.staff.act("Issue", other["id"], "accept")
    named = [{**new[0], "department": {"id": "housing", "name": "朝阳区住房和城乡建设委员会",
                                       "type": "government-department"}}]
    resp = chaoyang.staff.act("Issue", other["id"], "dispatch", {
        "details": {"lead": lead}, "items": {"assignments": named}})
    assert resp.status_code == 200, resp.text
    assert [a["department"]["id"] for a in resp.json()["assignments"]] == ["housing"]


@given(lead=st.sampled_from([[], {}, 1, None, [[]]]), item_id=st.sampled_from([[], {}, 2]),
       assisting=st.sampled_from([[{}], [[]], {}, "x"]))
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_malformed_dispatch_is_refused_before_the_catalogue_routes_it(
        chaoyang: Api, lead: Any, item_id: Any, assisting: Any) -> None:
    doc = _issue(category="environment.garbage.bj-bulky-waste")
    assert chaoyang.staff.create(doc).status_code == 201
    before = chaoyang.staff.get(f"/issues/{doc['id']}").json()
    resp = chaoyang.staff.act("Issue", doc["id"], "dispatch", {
        "details": {"lead": lead, "assisting": assisting},
        "items": {"assignments": [{"id": item_id, "role": "lead"}, []]}})
    assert resp.status_code == 422, resp.text
    assert chaoyang.staff.get(f"/issues/{doc['id']}").json() == before


#: ways to break a profile: the change, and the pointer and code of the finding it draws
_BREAKAGES: dict[str, tuple[Any, str, str]] = {
    "role": (lambda d: d["roles"][0].update(role="mayor"), "/roles/0/role",
             "profile.unknown-role"),
    "time zone": (lambda d: d["profile"].update(timeZone="+24:00"), "/profile/timeZone",
                  "profile.schema-invalid"),
    "weekend": (lambda d: d["calendar"].update(weekend=[1, 2, 3, 4, 5, 6, 7]),
                "/calendar/weekend", "profile.calendar-no-working-days"),
}


@pytest.mark.parametrize("breakage", sorted(_BREAKAGES))
@pytest.mark.parametrize("command", [["serve", "--no-demo"], ["validate"],
                                     ["conformance", "run", "--preset", "demo",
                                      "--base-url", "http://127.0.0.1:9"]])
def test_a_profile_with_errors_stops_the_command(tmp_path: Path, command: list[str],
                                                 breakage: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from smartcommunity.cli import run

    change, where, code = _BREAKAGES[breakage]
    data = json.loads(CHAOYANG.read_text(encoding="utf-8"))
    data["organisations"]["file"] = str(PROFILES / data["organisations"]["file"])
    change(data)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    document = spec_root() / "1.0" / "examples" / "issue" / "fire-lane-submitted.json"
    extra = [str(document)] if command == ["validate"] else []
    assert run([*command, "--profile", str(broken), *extra]) == 2
    err = capsys.readouterr().err
    assert where in err and code in err and "Traceback" not in err


def test_an_issue_whose_deadlines_fall_after_the_last_date_is_refused(chaoyang: Api) -> None:
    doc = _issue(category="housing.lift", urgency="critical",
                 submittedAt="9999-12-31T23:00:00+08:00")
    doc["history"][0]["at"] = doc["submittedAt"]
    resp = chaoyang.staff.create(doc)
    assert resp.status_code == 422, resp.text
    assert [(e["pointer"], e["code"]) for e in resp.json()["errors"]] == [
        ("/submittedAt", "profile.deadline-incalculable")] * 2
    assert chaoyang.staff.get(f"/issues/{doc['id']}").status_code == 404


# -- finding records across systems, and by place -------------------------------------------

WORK_ORDERS = "https://12345.example.gov.cn/work-orders"


def _ids(api: Api, **params: str) -> set[str]:
    resp = api.staff.get("/issues", params=params)
    assert resp.status_code == 200, resp.text
    return {i["id"] for i in resp.json()["items"]}


def test_a_department_finds_its_record_by_its_own_work_order_number(chaoyang: Api) -> None:
    number = f"CY{uuid.uuid4().int % 10**12:012d}"
    doc = _issue(externalRefs=[{"system": WORK_ORDERS, "value": number}])
    other = _issue(externalRefs=[{"system": WORK_ORDERS, "value": number + "9"}])
    for d in (doc, other):
        assert chaoyang.staff.create(d).status_code == 201
    assert _ids(chaoyang, externalRef=f"{WORK_ORDERS}|{number}") == {doc["id"]}
    # A system the city does not list is refused by name, not answered with nothing.
    resp = chaoyang.staff.get("/issues", params={"externalRef": f"https://x.example|{number}"})
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["pointer"] == "/query/externalRef"


#: a 12345 hotline's work orders, as a city may spell its system
HOTLINE = "https://hotline12345.example.cn/work-orders"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), long=st.booleans())
def test_a_record_is_found_by_any_spelling_of_its_system(
        api: Api, data: st.DataObject, long: bool) -> None:
    """The system of ``externalRef=SYSTEM|VALUE`` is compared as /req/core/echo-suppression
    compares systems, however the record and the lookup spell it, a reference long enough to
    be stored as a digest too; the value is compared as written."""
    system = HOTLINE + "/" + "x" * 150 if long else HOTLINE
    number = f"GD{uuid.uuid4().hex[:12]}"
    doc = _issue(externalRefs=[{"system": data.draw(uri_spellings(system), label="stored"),
                                "value": number}])
    assert api.staff.create(doc).status_code == 201
    asked = data.draw(uri_spellings(system), label="asked")
    assert _ids(api, externalRef=f"{asked}|{number}") == {doc["id"]}
    assert _ids(api, externalRef=f"{asked}|{number.lower()}") == set()


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_a_listed_system_spelled_otherwise_is_that_system(chaoyang: Api,
                                                          data: st.DataObject) -> None:
    number = f"CY{uuid.uuid4().int % 10**12:012d}"
    doc = _issue(externalRefs=[{"system": WORK_ORDERS, "value": number}])
    assert chaoyang.staff.create(doc).status_code == 201
    asked = data.draw(uri_spellings(WORK_ORDERS), label="asked")
    assert _ids(chaoyang, externalRef=f"{asked}|{number}") == {doc["id"]}


def test_a_long_external_reference_is_found_exactly(sqlite_api: Api) -> None:
    system = "https://records.example.org/" + "x" * 150
    doc = _issue(externalRefs=[{"system": system, "value": "A-1"}])
    near = _issue(externalRefs=[{"system": system, "value": "A-2"}])
    for d in (doc, near):
        assert sqlite_api.staff.create(d).status_code == 201
    assert _ids(sqlite_api, externalRef=f"{system}|A-1") == {doc["id"]}


def test_grid_filter_finds_the_issues_of_a_grid(chaoyang: Api) -> None:
    doc = _issue(gridCode="110105001001-02")
    assert chaoyang.staff.create(doc).status_code == 201
    assert doc["id"] in _ids(chaoyang, grid="110105001001-02")
    assert doc["id"] not in _ids(chaoyang, grid="110105001001-05")


@given(suffix=st.integers(6, 99))
@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_grid_the_profile_does_not_list_is_refused(chaoyang: Api, sqlite_api: Api,
                                                      suffix: int) -> None:
    grid = f"110105001001-{suffix:02d}"
    resp = chaoyang.staff.get("/issues", params={"grid": grid})
    assert resp.status_code == 400
    assert resp.headers["content-type"].startswith("application/problem+json")
    problem = resp.json()
    assert problem["errors"][0]["pointer"] == "/query/grid"
    assert grid in problem["errors"][0]["message"]["en"]
    assert grid in problem["errors"][0]["message"]["zh-Hans"]
    assert chaoyang.staff.get("/residents", params={"grid": grid}).status_code == 400
    # Without a profile there is no grid registry: any well-formed code is a grid.
    assert sqlite_api.staff.get("/issues", params={"grid": grid}).status_code == 200


@given(lon=st.floats(116.3, 116.6), lat=st.floats(39.8, 40.0),
       west=st.floats(116.3, 116.6), south=st.floats(39.8, 40.0),
       width=st.floats(0, 0.2), height=st.floats(0, 0.2))
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_bbox_finds_exactly_the_points_it_holds_to_a_hundredth_of_a_degree(
        sqlite_api: Api, lon: float, lat: float, west: float, south: float, width: float,
        height: float) -> None:
    doc = _issue(location={"point": {"longitude": lon, "latitude": lat, "crs": "wgs84"}})
    assert sqlite_api.staff.create(doc).status_code == 201
    east, north = west + width, south + height
    box = f"{west},{south},{east},{north}"
    snapped_lon, snapped_lat = round(lon, 2), round(lat, 2)
    inside = (west - 1e-9 <= snapped_lon <= east + 1e-9
              and south - 1e-9 <= snapped_lat <= north + 1e-9)
    near_edge = any(abs(a - b) < 1e-6 for a, b in ((snapped_lon, west), (snapped_lon, east),
                                                   (snapped_lat, south), (snapped_lat, north)))
    if not near_edge:  # floating point decides the edges; both answers are right there
        assert (doc["id"] in _ids(sqlite_api, bbox=box)) == inside
    # Only points recorded in the box's coordinate system match.
    assert doc["id"] not in _ids(sqlite_api, bbox=box, **{"bbox-crs": "gcj02"})


@pytest.mark.parametrize("box", ["117,39,116,40", "116,41,117,40", "190,39,191,40"])
def test_a_box_turned_inside_out_is_refused(sqlite_api: Api, box: str) -> None:
    resp = sqlite_api.staff.get("/issues", params={"bbox": box})
    assert resp.status_code == 400
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_records_are_found_by_their_lookup_terms_after_the_server_restarts(
        tmp_path: Path) -> None:
    api = _api(tmp_path, None)
    doc = _issue(externalRefs=[{"system": WORK_ORDERS, "value": "CY000000000042"}],
                 gridCode="110105001001-02",
                 location={"point": {"longitude": 116.45, "latitude": 39.92, "crs": "wgs84"}})
    assert api.staff.create(doc).status_code == 201
    api.client.app.state.sc.service.store.dispose()  # type: ignore[attr-defined]
    after = _api(tmp_path, None)  # a new server on the same database
    assert _ids(after, externalRef=f"{WORK_ORDERS}|CY000000000042") == {doc["id"]}
    assert doc["id"] in _ids(after, grid="110105001001-02")
    assert doc["id"] in _ids(after, bbox="116.44,39.91,116.46,39.93")


def test_a_department_follows_an_issue_knowing_only_its_work_order_number(
        chaoyang: Api) -> None:
    """The walkthrough of the profiles guide: the housing commission's system knows only the
    12345 work-order number; it finds the shared record, claims it, reports progress and
    follows it, never keeping the platform's id."""
    number = f"CY{uuid.uuid4().int % 10**12:012d}"
    doc = _issue(category="housing.lift",
                 externalRefs=[{"system": WORK_ORDERS, "value": number}])
    assert chaoyang.staff.create(doc).status_code == 201
    chaoyang.staff.act("Issue", doc["id"], "accept")
    lead = str(uuid.uuid4())
    now = datetime.now(UTC).astimezone().isoformat(timespec="seconds")
    routed = chaoyang.staff.act("Issue", doc["id"], "dispatch", {
        "details": {"lead": lead}, "items": {"assignments": [
            {"id": lead, "role": "lead", "status": "pending", "assignedAt": now}]}})
    assert routed.status_code == 200, routed.text
    housing = chaoyang.as_("department")
    query = {"externalRef": f"{WORK_ORDERS}|{number}"}

    def found() -> dict[str, Any]:
        resp = housing.get("/issues", params=query)
        assert resp.status_code == 200, resp.text
        items = resp.json()["items"]
        assert len(items) == 1
        return dict(items[0])

    issue = found()
    mine = next(a["id"] for a in issue["assignments"]
                if a["department"]["id"] == "housing" and a["role"] == "lead")
    path = f"/issues/{issue['id']}/actions"
    claimed = housing.post(f"{path}/claim", {"details": {"assignmentId": mine}},
                           if_match=f'"{issue["meta"]["versionId"]}"')
    assert claimed.status_code == 200, claimed.text
    issue = found()
    progress = housing.post(f"{path}/add-progress", {"details": {"message": "已联系物业检修"}},
                            if_match=f'"{issue["meta"]["versionId"]}"')
    assert progress.status_code == 200, progress.text
    followed = found()
    assert followed["status"] == "in-progress"
    assert followed["history"][-1]["action"] == "add-progress"


def test_registered_extensions_are_redacted_by_their_own_tags(chaoyang: Api,
                                                              sqlite_api: Api) -> None:
    """Running the profile, the regulator (who reads personal data masked) reads the
    work-order number (tagged none) of the 12345 extension as it is and the caller's district
    (personal) masked; without the profile the whole extension is unknown, so sensitive."""
    extension = {"workOrderNo": "CY202506160007", "callerDistrict": "朝阳区"}
    shown = {}
    for name, api in (("city", chaoyang), ("national", sqlite_api)):
        doc = _issue(extensions={"cn.gov.beijing.jiesujiban": dict(extension)})
        assert api.staff.create(doc).status_code == 201
        got = api.as_("regulator").get(f"/issues/{doc['id']}")
        assert got.status_code == 200, got.text
        shown[name] = (got.json().get("extensions") or {}).get("cn.gov.beijing.jiesujiban")
    assert shown["city"]["workOrderNo"] == "CY202506160007"
    assert shown["city"].get("callerDistrict") != "朝阳区"
    assert shown["national"] != extension


@pytest.mark.parametrize(("approval", "result"), [((9, 10), "failed"), ((1, 2), "passed")])
def test_a_vote_comes_out_by_the_profiles_thresholds_for_its_form(
        tmp_path: Path, approval: tuple[int, int], result: str) -> None:
    """The lift vote (30 of 34 agree, its own threshold three quarters) held in an owners'
    assembly of a city asking nine tenths fails, and passes where the city asks half; the
    server computes it on close-vote and records it in the event."""
    from .test_lifecycle import CONSULTATION_TOKENS, LIFT, Doc, _body, _proposed, _stage

    data = json.loads(CHAOYANG.read_text(encoding="utf-8"))
    data["organisations"]["file"] = str(CHAOYANG.parent / data["organisations"]["file"])
    data["consultations"]["thresholds"]["owners-assembly"]["approval"] = {
        "numerator": approval[0], "denominator": approval[1]}
    city = tmp_path / "city.json"
    city.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    api = _api(tmp_path, city)
    c = Doc(api, "Consultation", _proposed(form="owners-assembly"))
    for event in LIFT["history"][1:]:
        _stage(c, event["action"])
        c.act(CONSULTATION_TOKENS[event["actor"]["role"]], event["action"], _body(event))
        if event["action"] == "close-vote" and event["details"]["voteId"] == "v-01":
            break
    vote = next(v for v in c.doc["votes"] if v["id"] == "v-01")
    assert (vote["results"]["quorumMet"], vote["results"]["result"]) == (True, result)
    assert c.doc["history"][-1]["details"]["result"] == result


# -- the registry: who acted, and what a write names anew (/req/profiles/document-organisations)

JIANGSHAN = PROFILES / "jiangshan.json"


@pytest.fixture(scope="module")
def jiangshan(tmp_path_factory: pytest.TempPathFactory) -> Api:
    """The small example city, whose registry lists none of the demo staff's organisations."""
    return _api(tmp_path_factory.mktemp("jiangshan"), JIANGSHAN)


def _unknown(resp: Any) -> list[tuple[str, str]]:
    return [(e["pointer"], e["message"]["en"]) for e in resp.json()["errors"]
            if e["code"] == "profile.unknown-department"]


def _named_dispatch(code: str, role: str = "lead") -> tuple[str, dict[str, Any]]:
    """An assignment id and the request dispatching an issue to the department ``code``."""
    lead = str(uuid.uuid4())
    now = datetime.now(UTC).astimezone().isoformat(timespec="seconds")
    item = {"id": lead, "role": role, "status": "pending", "assignedAt": now,
            "department": {"id": code, "name": code, "type": "government-department"}}
    return lead, {"details": {"lead": lead}, "items": {"assignments": [item]}}


@pytest.mark.parametrize("who", ["community-staff", "hotline-operator"])
@pytest.mark.parametrize("stated", [True, False], ids=["stated", "from-credential"])
def test_the_staff_of_an_organisation_the_registry_does_not_list_work_their_issues(
        jiangshan: Api, who: str, stated: bool) -> None:
    """The organisation the server records for whoever submits and works an issue, stated in
    the body or filled in from the credential, is a fact about who acted, never held to the
    registry: every write is taken, and the registry still refuses a dispatch to a department
    it does not list."""
    caller = jiangshan.as_(who)
    acting_for = caller.actor()["organisation"]["id"]
    assert load_profile(JIANGSHAN).organisation(acting_for) is None
    doc = _issue(category="other")
    if not stated:  # the role alone: the server records the rest (/req/core/actor-is-principal)
        doc["submittedBy"] = {"role": caller.role()}
        doc["history"] = [{**doc["history"][0], "actor": {"role": caller.role()}}]
    created = caller.create(doc, as_is=not stated)
    assert created.status_code == 201, created.text
    assert created.json()["submittedBy"]["organisation"]["id"] == acting_for
    accepted = caller.act("Issue", doc["id"], "accept")
    assert accepted.status_code == 200, accepted.text
    body = {**accepted.json(), "urgency": "urgent", "title": "东门消防通道仍被占用"}
    put = caller.put(f"/issues/{doc['id']}", body, if_match=accepted.headers["etag"])
    assert put.status_code == 200, put.text
    _, stranger = _named_dispatch("rc-xingfuli")
    refused = caller.act("Issue", doc["id"], "dispatch", stranger)
    assert refused.status_code == 422
    assert _unknown(refused) == [(
        "/assignments/0/department/id",
        "Organisation rc-xingfuli is not in the organisation registry of profile "
        "https://profiles.example.gov.cn/zhejiang/jiangshan")]
    assert all(e["message"]["zh-Hans"] for e in refused.json()["errors"])
    _, routed = _named_dispatch("js.comprehensive")
    dispatched = caller.act("Issue", doc["id"], "dispatch", routed)
    assert dispatched.status_code == 200, dispatched.text
    assert caller.act("Issue", doc["id"], "withdraw").status_code == 200


def test_staff_the_registry_does_not_list_carry_out_an_erasure(jiangshan: Api) -> None:
    """The organisation that decided an erasure is recorded from the credential, not reviewed:
    the erasure, a legal right, is never refused for it."""
    her = example("resident/zhao-min-erasure-requested.json")
    # A record asked for already comes in by import (/req/residents/rights-request).
    jiangshan.client.app.state.sc.service.load([her])  # type: ignore[attr-defined]
    created = jiangshan.staff.get(f"/residents/{her['id']}")
    assert created.status_code == 200, created.text
    erased = jiangshan.staff.post(f"/residents/{her['id']}/erase", {"reason": "consent-withdrawn"},
                                  if_match=created.headers["etag"])
    assert erased.status_code == 200, erased.text
    assert erased.json()["restriction"]["decidedBy"]["id"] == "rc-xingfuli"


def _with_department(tmp_path: Path, code: str) -> Path:
    """The small city's profile with one more department in its registry."""
    data = json.loads(JIANGSHAN.read_text(encoding="utf-8"))
    extra = copy.deepcopy(data["organisations"][1])
    extra.update(id=str(uuid.uuid4()), code=code, identifier=f"330881:{code}",
                 name="江山市水利局", department="water")
    data["organisations"].append(extra)
    path = tmp_path / "with-department.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_a_department_removed_from_the_registry_stays_on_the_issues_given_it(
        tmp_path: Path) -> None:
    """An issue dispatched to a department the city then removes from its registry is still
    worked: a write is held to the registry only where it names a department anew."""
    url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    before = make_app(url, profile=_with_department(tmp_path, "js.water"))
    first = Api(TestClient(before, raise_server_exceptions=True))
    doc = _issue(category="other")
    assert first.staff.create(doc).status_code == 201
    assert first.staff.act("Issue", doc["id"], "accept").status_code == 200
    lead, body = _named_dispatch("js.water")
    assert first.staff.act("Issue", doc["id"], "dispatch", body).status_code == 200
    before.state.sc.service.store.dispose()
    api = _api(tmp_path, JIANGSHAN)
    stored = api.staff.get(f"/issues/{doc['id']}")
    put = api.staff.put(f"/issues/{doc['id']}", {**stored.json(), "title": "东门消防通道仍被占用"},
                        if_match=stored.headers["etag"])
    assert put.status_code == 200, put.text
    progress = api.staff.act("Issue", doc["id"], "add-progress",
                             {"details": {"message": "已联系水利局"}})
    assert progress.status_code == 200, progress.text
    # Named anew, the department the registry no longer lists is refused.
    again, request = _named_dispatch("js.water")
    request = {"details": {"from": lead, "to": again,
                           "dueAt": request["items"]["assignments"][0]["assignedAt"]},
               "items": request["items"]}
    refused = api.staff.act("Issue", doc["id"], "reassign", request)
    assert refused.status_code == 422, refused.text
    assert [p for p, _ in _unknown(refused)] == ["/assignments/1/department/id"]
