"""Privacy that holds once access changes: the feed and idempotent replays are decided from the
current record (/req/change-feed/access-now, /req/change-feed/withheld,
/req/change-feed/erased-history, /req/core/idempotency-replay-access), keys belong to a
principal's stable identity (/req/core/idempotency-scope), and erasure leaves no copy in the
database (/req/privacy/erasure-every-copy) — which the tests prove by reading the raw storage."""

from __future__ import annotations

import contextlib
import copy
import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import example as case
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, inspect, text

from reference_server import Settings, create_app
from reference_server.access import erased_members
from reference_server.storage import utc_text
from smartcommunity import identifiers

from .helpers import (
    COMMUNITY,
    KEY,
    LI,
    OTHER,
    SPEC,
    TOKENS,
    Api,
    Caller,
    by_name_only,
    example,
    later,
    new_id,
    submitted_issue,
    throwaway_pg,
)

WITHHELD = "org.w3id.smartcommunity.withheld"


def _feed(who: Caller, subject: str) -> list[dict[str, Any]]:
    """Every event of the whole feed as ``who`` receives it, of ``subject`` or withheld."""
    out, cursor = [], None
    while True:
        page = who.get("/changes", params={"limit": 500, **({"cursor": cursor} if cursor
                                                            else {})}).json()
        out += page["items"]
        if not page["items"]:
            return [e for e in out if e.get("subject") in (subject, None)]
        cursor = page["next"]


def _citizen_id(rng: random.Random) -> str:
    first = f"110105{rng.randint(1950, 1990)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}" \
            f"{rng.randint(0, 999):03d}"
    return first + identifiers.citizen_id_check_char(first)


def _person(rng: random.Random, *, community: str = COMMUNITY) -> dict[str, Any]:
    """A resident whose name, citizen ID and phone occur nowhere else."""
    doc = example("resident/chen-zhiqiang.json")
    number = _citizen_id(rng)
    doc["name"] = "".join(rng.choice("甲乙丙丁戊己庚辛壬癸") for _ in range(4)) + "氏"
    doc["birthDate"] = f"{number[6:10]}-{number[10:12]}-{number[12:14]}"
    doc["identityDocuments"] = [{
        "type": "citizen-id", "number": number, "masked": identifiers.mask_citizen_id(number),
        "pseudonym": identifiers.citizen_id_pseudonym(number, KEY)}]
    doc["contactPoints"] = [{"type": "mobile", "phone": f"+86139{rng.randint(0, 10**8 - 1):08d}",
                             "preferred": True}]
    for member in ("formerNames", "emergencyContacts", "household", "proxies", "externalRefs"):
        doc.pop(member, None)
    doc["memberships"] = [{**doc["memberships"][0], "community": community,
                           "grid": f"{community}-03"}]
    doc["address"] = {**doc["address"], "divisionCode": community,
                      "gridCode": f"{community}-03"}
    return doc


def _secrets(doc: dict[str, Any]) -> list[bytes]:
    return [doc["name"].encode(), doc["identityDocuments"][0]["number"].encode(),
            doc["contactPoints"][0]["phone"].encode()]


def _erase_through_the_api(api: Api, doc: dict[str, Any]) -> None:
    """Create (with an Idempotency-Key), correct, read through every path, then erase."""
    staff = api.staff
    assert staff.create(doc, headers={"Idempotency-Key": "k-" + doc["id"]}).status_code == 201
    path = f"/residents/{doc['id']}"
    current = staff.get(path)
    changed = copy.deepcopy(current.json())
    changed["preferredChannels"] = ["phone-call"]
    resp = staff.put(path, changed, if_match=current.headers["etag"])
    assert resp.status_code == 200, resp.text
    assert staff.get("/residents", params={"limit": 500}).status_code == 200
    assert doc["name"] in str(_feed(api.as_("system"), f"residents/{doc['id']}"))
    resp = staff.post(f"{path}/erase", {"reason": "purpose-fulfilled"},
                      if_match=resp.headers["etag"])
    assert resp.status_code == 200, resp.text


# -- erasure leaves nothing in the raw storage ---------------------------------------------

def _app(url: str, tokens: dict[str, Any] | None = None) -> Any:
    return create_app(Settings(database_url=url, tokens=tokens or TOKENS, demo=False,
                               pseudonym_key=KEY))


def test_erasure_leaves_nothing_in_the_sqlite_file(tmp_path: Path) -> None:
    """/req/privacy/erasure-every-copy: the bytes of the database file (and its write-ahead
    log) hold none of the resident's name, citizen ID or phone after erasure."""
    folder = tmp_path / "db"
    app = _app(f"sqlite:///{folder / 'erasure.sqlite3'}")
    doc = _person(random.Random(1))
    with TestClient(app) as client:
        api = Api(client)
        api.staff.create(_person(random.Random(2)))  # a neighbour that stays
        _erase_through_the_api(api, doc)
        store = app.state.sc.service.store
        assert store.scrub()
    raw = b"".join(p.read_bytes() for p in folder.iterdir() if p.is_file())
    assert raw, "nothing was read"
    for secret in _secrets(doc):
        assert secret not in raw, secret.decode()
    assert _person(random.Random(2))["name"].encode() in raw  # the test does see stored text


@pytest.fixture
def fresh_pg() -> Iterator[str]:
    with throwaway_pg("sc_erasure") as url:
        yield url


def test_erasure_leaves_nothing_in_the_postgresql_tables(fresh_pg: str) -> None:
    """/req/privacy/erasure-every-copy on PostgreSQL: every row of every table, as text."""
    app = _app(fresh_pg)
    doc = _person(random.Random(3))
    with TestClient(app) as client:
        _erase_through_the_api(Api(client), doc)
        app.state.sc.service.store.dispose()
    engine = create_engine(fresh_pg)
    try:
        with engine.connect() as conn:
            dump = []
            for table in inspect(conn).get_table_names():
                dump += [str(tuple(row)) for row in conn.execute(text(f'SELECT * FROM "{table}"'))]
    finally:
        engine.dispose()
    everything = "\n".join(dump)
    assert doc["id"] in everything
    for secret in _secrets(doc):
        assert secret.decode() not in everything, secret.decode()


# -- the feed decided now ------------------------------------------------------------------

def test_an_ended_proxy_reads_nothing_of_the_resident_in_the_feed(sqlite_api: Api) -> None:
    api = sqlite_api
    doc = _person(random.Random(4))
    doc["proxies"] = [{"id": new_id(), "resident": {"resourceType": "Resident", "id": LI},
                       "relationship": "child", "scope": ["receive-information"],
                       "validFrom": later(-30), "basis": "written-authorisation"}]
    doc = checked(doc)
    assert api.staff.create(doc).status_code == 201
    proxy = api.as_("proxy")
    subject = f"residents/{doc['id']}"
    before = [e for e in _feed(proxy, subject) if e["type"] != WITHHELD]
    assert before and doc["name"] in str(before)
    current = api.staff.get(f"/{subject}")
    ended = copy.deepcopy(current.json())
    ended["proxies"][0]["validUntil"] = later(-1)
    assert api.staff.put(f"/{subject}", ended,
                         if_match=current.headers["etag"]).status_code == 200
    after = _feed(proxy, subject)
    assert doc["name"] not in str(after)
    assert doc["identityDocuments"][0]["number"] not in str(after)
    assert all(set(e) == {"specversion", "id", "source", "type", "time", "sequence",
                          "eventdigest", "chaindigest"}
               for e in after)


def checked(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` after checking it is valid (a broken fixture would test nothing)."""
    from smartcommunity import validate

    report = validate(doc)
    assert report.valid, report.findings
    return doc


def test_a_narrowed_consultation_leaves_the_public_feed(sqlite_api: Api) -> None:
    api = sqlite_api
    doc = example("consultation/parking-convention-deliberating.json")
    # a new consultation starts proposed, with its propose event only (create-proposed)
    for member in ("sessions", "votes", "decision", "publications", "implementation",
                   "feedback", "meta", "externalRefs"):
        doc.pop(member, None)
    doc.update(status="proposed", history=doc["history"][:1], visibility="public")
    resp = api.staff.create(by_name_only(doc))
    assert resp.status_code == 201, resp.text
    subject = f"consultations/{doc['id']}"
    public = api.as_("public")
    assert any(e["type"] != WITHHELD for e in _feed(public, subject))
    current = api.staff.get(f"/{subject}")
    narrowed = copy.deepcopy(current.json())
    narrowed["visibility"] = "staff"
    assert api.staff.put(f"/{subject}", narrowed,
                         if_match=current.headers["etag"]).status_code == 200
    assert all(e["type"] == WITHHELD for e in _feed(public, subject))
    assert all(e["type"] == WITHHELD for e in _feed(api.as_("resident"), subject))


def test_a_confidential_reporter_leaves_every_event(sqlite_api: Api) -> None:
    api = sqlite_api
    doc = submitted_issue(reporterDisclosure="public")
    doc["reporterContact"] = {"name": "邹晓阳", "phone": "+8613900001234"}
    resp = api.staff.create(doc)
    assert resp.status_code == 201, resp.text
    subject = f"issues/{doc['id']}"
    regulator = api.as_("regulator")
    assert "reporterContact" in str(_feed(regulator, subject))
    current = api.staff.get(f"/{subject}")
    changed = copy.deepcopy(current.json())
    changed["reporterDisclosure"] = "confidential"
    resp = api.staff.put(f"/{subject}", changed, if_match=current.headers["etag"])
    assert resp.status_code == 200, resp.text
    events = _feed(regulator, subject)
    # its own two events (the rest are other tests' records, withheld from the regulator)
    assert len([e for e in events if e.get("subject") == subject]) == 2
    assert "邹晓阳" not in str(events)
    assert "reporterContact" not in str(events)
    # Intake staff still see it.
    assert "邹晓阳" in str(_feed(api.staff, subject))


def test_an_erased_record_is_erased_in_every_event(sqlite_api: Api) -> None:
    """/req/change-feed/erased-history: the mirror too gets only the erased form."""
    api = sqlite_api
    doc = _person(random.Random(5))
    _erase_through_the_api(api, doc)
    events = _feed(api.as_("system"), f"residents/{doc['id']}")
    assert len(events) == 3
    allowed = set(erased_members(SPEC.schema("resident.json")))
    for event in events:
        assert set(event["data"]) <= allowed, event["data"]
        assert event["data"]["restriction"]["state"] == "erased"


# -- idempotency -----------------------------------------------------------------------------

NAMESAKES = {
    "namesake-liu-fang-a": {"role": "community-staff", "name": "刘芳", "userId": "cs-a",
                            "communities": [COMMUNITY]},
    "namesake-liu-fang-b": {"role": "community-staff", "name": "刘芳", "userId": "cs-b",
                            "communities": [COMMUNITY]},
    "namesake-liu-fang-c": {"role": "community-staff", "name": "刘芳",
                            "communities": [OTHER]},
}


def test_keys_belong_to_a_principals_identity_not_its_name(tmp_path: Path) -> None:
    """/req/core/idempotency-scope: a namesake's key is another key."""
    app = _app(f"sqlite:///{tmp_path / 'keys.sqlite3'}", {**TOKENS, **NAMESAKES})
    with TestClient(app) as client:
        a, b, c = (Caller(client, t, fields) for t, fields in NAMESAKES.items())
        doc = submitted_issue()
        key = {"Idempotency-Key": "same-key-0001"}
        assert a.create(doc, headers=key).status_code == 201
        again = a.create(doc, headers=key)
        assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
        other = b.create(doc, headers=key)  # the same id once more: a conflict, not a replay
        assert other.status_code == 409 and "idempotent-replayed" not in other.headers
        foreign = c.create(doc, headers=key)  # may not create (or read) in that community
        assert foreign.status_code == 403 and doc["id"] not in foreign.text


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_keys_expire_after_the_stated_period(tmp_path: Path, backend: str) -> None:
    """An expired key replays nothing, and a create with it makes a new resource that the key
    then stands for (its old entry is written over, on either database, staged or not)."""
    with contextlib.ExitStack() as stack:
        url = (f"sqlite:///{tmp_path / 'expiry.sqlite3'}" if backend == "sqlite"
               else stack.enter_context(throwaway_pg("sc_expiry")))
        app = _app(url)
        client = stack.enter_context(TestClient(app))
        service = app.state.sc.service
        hours = SPEC.parameter("/req/core/idempotency-scope", "retentionHours")
        period = timedelta(hours=float(hours))
        assert service.idempotency_period == period
        staff = Api(client).staff
        doc = submitted_issue()
        key = {"Idempotency-Key": "expiring-0001"}
        assert staff.create(doc, headers=key).status_code == 201
        assert staff.create(doc, headers=key).status_code == 200
        service.idempotency_period = timedelta(0)  # as if the period had passed
        assert staff.create(doc, headers=key).status_code == 409
        again = submitted_issue()
        assert staff.create(again, headers=key).status_code == 201
        service.idempotency_period = period
        replay = staff.create(again, headers=key)
        assert replay.status_code == 200 and replay.json()["id"] == again["id"]
        assert staff.create(doc, headers=key).status_code == 422  # the key is again's now
        # Keys that have expired are deleted as a create goes by, at most once a minute.
        with service.store.write() as tx:
            tx.conn.execute(text("UPDATE idempotency SET created_at = '2000-01-01T00:00:00Z'"))
        third = {"Idempotency-Key": "expiring-0002"}
        assert staff.create(submitted_issue(), headers=third).status_code == 201
        with service.store.read() as tx:  # not within the minute
            assert tx.conn.execute(text("SELECT count(*) FROM idempotency")).scalar() == 2
        service._keys_expired = float("-inf")  # a minute has passed
        assert staff.create(submitted_issue(), headers=third | {
            "Idempotency-Key": "expiring-0003"}).status_code == 201
        with service.store.read() as tx:
            keys = tx.conn.execute(text("SELECT key FROM idempotency ORDER BY key")).scalars()
            assert list(keys) == ["expiring-0002", "expiring-0003"]
        service.store.dispose()


def test_a_replay_is_a_read_decided_now_and_audited(tmp_path: Path) -> None:
    """/req/core/idempotency-replay-access and erasure purging the key."""
    app = _app(f"sqlite:///{tmp_path / 'replay.sqlite3'}")
    with TestClient(app) as client:
        api = Api(client)
        doc = _person(random.Random(6))
        key = {"Idempotency-Key": "resident-0001"}
        assert api.staff.create(doc, headers=key).status_code == 201
        replay = api.staff.create(doc, headers=key)
        assert replay.status_code == 200 and replay.json()["name"] == doc["name"]
        log = api.as_("regulator").get("/audit-events",
                                        params={"resident": doc["id"]}).json()["items"]
        assert [e["operation"] for e in log] == ["create", "replay"]
        path = f"/residents/{doc['id']}"
        resp = api.staff.post(f"{path}/erase", {"reason": "purpose-fulfilled"},
                              if_match=api.staff.get(path).headers["etag"])
        assert resp.status_code == 200
        after = api.staff.create(doc, headers=key)
        assert after.status_code == 409 and doc["name"] not in after.text
        with app.state.sc.service.store.read() as tx:
            assert tx.conn.execute(text("SELECT count(*) FROM idempotency")).scalar() == 0


# -- instants at the edges of the calendar ----------------------------------------------------

#: a proxy's "for ever" written at a negative offset: in year 10000 in UTC
FOREVER = "9999-12-31T23:59:59-08:00"
#: the first day at a positive offset: in year 0 in UTC
EARLIEST = "0001-01-01T00:00:00+08:00"


@st.composite
def _timestamps(draw: st.DrawFn) -> str:
    """An RFC 3339 timestamp, often within a day of either end of the calendar, at any offset
    a datetime can hold, spelt with T or t, Z or z."""
    day = draw(st.one_of(st.sampled_from([date(1, 1, 1), date(1, 1, 2), date(9999, 12, 30),
                                          date(9999, 12, 31)]),
                         st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))))
    clock = draw(st.times())
    minutes = draw(st.integers(-(24 * 60 - 1), 24 * 60 - 1))
    zone = (draw(st.sampled_from("Zz")) if minutes == 0 and draw(st.booleans()) else
            f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}")
    fraction = f".{clock.microsecond:06d}" if clock.microsecond else ""
    return (f"{day.year:04d}-{day.month:02d}-{day.day:02d}{draw(st.sampled_from('Tt'))}"
            f"{clock.hour:02d}:{clock.minute:02d}:{clock.second:02d}{fraction}{zone}")


def _since_year_one(text: str) -> timedelta:
    """The instant ``text`` names as the time since 0001-01-01T00:00Z, worked out from its
    parts (an instant before it is negative)."""
    text = text.upper()
    if text.endswith("Z"):
        local, offset = text[:-1], timedelta(0)
    else:
        sign = 1 if text[-6] == "+" else -1
        local = text[:-6]
        offset = sign * timedelta(hours=int(text[-5:-3]), minutes=int(text[-2:]))
    return datetime.fromisoformat(local) - datetime(1, 1, 1) - offset


@settings(max_examples=500, deadline=None)
@given(_timestamps(), _timestamps())
@case(FOREVER, "9999-12-31T23:59:59.999999Z")
@case("9999-12-31T23:59:59-08:00", "9999-12-31T23:59:59-07:59")
@case(EARLIEST, "0001-01-01T00:00:00Z")
@case("0001-01-01T00:00:00+23:59", EARLIEST)
def test_utc_text_orders_every_instant_a_timestamp_can_name(a: str, b: str) -> None:
    """/req/core/timestamp-offset: the server's text of a timestamp (what it compares and
    indexes) orders every pair as their instants, those outside years 1 to 9999 in UTC too,
    and never fails on one."""
    first, second = utc_text(a), utc_text(b)
    assert len(first) == len(second) == len("2025-01-01T00:00:00.000000Z")
    ta, tb = _since_year_one(a), _since_year_one(b)
    assert (first < second, first == second) == (ta < tb, ta == tb), (a, b, first, second)


def _listed(who: Caller, path: str) -> list[str]:
    """The ids of every page of the list ``path`` as ``who`` reads it."""
    ids: list[str] = []
    cursor = None
    while True:
        page = who.get(path, params={"limit": 100, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        ids += [item["id"] for item in page.json()["items"]]
        cursor = page.json()["next"]
        if not cursor:
            return ids


def test_a_proxy_in_force_past_year_9999_reads_her(sqlite_api: Api) -> None:
    """A validUntil in year 10000 in UTC: the proxy reads her record, list and feed."""
    api = sqlite_api
    doc = _person(random.Random(7))
    doc["proxies"] = [{"id": new_id(), "resident": {"resourceType": "Resident", "id": LI},
                       "relationship": "child", "scope": ["receive-information"],
                       "validFrom": later(-30), "validUntil": FOREVER,
                       "basis": "written-authorisation"}]
    assert api.staff.create(checked(doc)).status_code == 201
    proxy = api.as_("proxy")
    got = proxy.get(f"/residents/{doc['id']}")
    assert got.status_code == 200 and got.json()["name"] == doc["name"]
    assert doc["id"] in _listed(proxy, "/residents")
    assert doc["name"] in str(_feed(proxy, f"residents/{doc['id']}"))


def test_results_visible_from_past_year_9999_stay_hidden(sqlite_app: Any,
                                                         sqlite_api: Api) -> None:
    """/req/consultations/results-hidden with a results.visibleFrom in year 10000 in UTC; the
    same vote visible from a past time at -10:00 shows them."""
    hidden = example("consultation/lift-installation-building-3.json")
    hidden["votes"][0]["results"]["visibleFrom"] = FOREVER
    shown = example("consultation/lift-installation-building-3.json")
    shown["votes"][0]["results"]["visibleFrom"] = "2025-01-01T00:00:00-10:00"
    sqlite_app.state.sc.service.load([checked(hidden), checked(shown)])
    resident = sqlite_api.as_("resident")
    got = resident.get(f"/consultations/{hidden['id']}")
    assert got.status_code == 200 and "results" not in got.json()["votes"][0]
    assert "results" in resident.get(f"/consultations/{shown['id']}").json()["votes"][0]
    assert "results" in sqlite_api.staff.get(f"/consultations/{hidden['id']}").json()["votes"][0]


@pytest.mark.parametrize("path", ["/issues", "/consultations", "/residents"])
def test_list_filters_at_the_edges_of_the_calendar(sqlite_api: Api, path: str) -> None:
    """updatedSince (and the submission range of issues) in year 10000 or year 0 in UTC."""
    staff = sqlite_api.staff
    late = staff.get(path, params={"updatedSince": FOREVER})
    assert late.status_code == 200 and late.json()["items"] == []
    early = staff.get(path, params={"updatedSince": EARLIEST})
    assert early.status_code == 200 and early.json()["items"]
    if path == "/issues":
        for name, value in (("submittedFrom", FOREVER), ("submittedTo", EARLIEST)):
            got = staff.get(path, params={name: value})
            assert got.status_code == 200 and got.json()["items"] == [], name


@pytest.mark.parametrize(("at", "month"), [
    ("9999-12-31T23:00:00-08:00", None),  # 10000-01-01T15:00 in China
    ("9999-12-31T20:00:00Z", None),  # 10000-01-01T04:00 in China
    ("9999-12-31T10:00:00Z", "9999-12"),
    ("0001-01-01T01:00:00+08:00", "0001-01"),  # year 0 in UTC
])
def test_an_issue_submitted_at_an_edge_of_the_calendar(tmp_path: Path, at: str,
                                                       month: str | None) -> None:
    """It is stored, acted on (the event comes no earlier than the last) and counted in the
    statistics of its China-time month, or in none after year 9999."""
    with TestClient(_app(f"sqlite:///{tmp_path / 'edge.sqlite3'}")) as client:
        api = Api(client)
        doc = submitted_issue()
        doc.pop("deadlines", None)
        doc["submittedAt"] = doc["history"][0]["at"] = at
        assert api.staff.create(checked(doc)).status_code == 201
        path = f"/issues/{doc['id']}"
        acted = api.staff.post(f"{path}/actions/accept", {},
                               if_match=api.staff.get(path).headers["etag"])
        assert acted.status_code == 200, acted.text
        history = acted.json()["history"]
        assert _since_year_one(history[-1]["at"]) >= _since_year_one(at)
        months = api.as_("public").get("/public/figures.json")
        assert months.status_code == 200
        # Published once the month has ended (/req/public-pages/small-cells): year 1's
        # month is, the oldest listed; 9999's is not yet.
        listed = months.json()["months"]
        assert listed[-1:] == (["0001-01"] if month == "0001-01" else [])
        if month:
            data = api.as_("public").get(f"/public/figures/{month}.json")
            assert data.status_code == 200
            assert bool(data.json()["cells"]) == (month == "0001-01")
