"""Personal data over time: a resident's erasure reaches the issues and consultations naming
her (/req/privacy/erasure-reaches-records), and the retention sweep clears what has outlived
its period (/req/privacy/retention) — both proved on the raw storage of SQLite and PostgreSQL.
The sweep takes its clock as an argument, so years pass without waiting."""

from __future__ import annotations

import calendar
import contextlib
import copy
import json
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, inspect, text

from reference_server import Settings, create_app
from reference_server.mirror import mirror
from reference_server.service import import_lines
from reference_server.service._retention import Lapsed, left_since
from reference_server.service._shared import stamp
from reference_server.settings import CST
from reference_server.storage import Committer, Store, utc_text
from reference_server.storage._transactions import WriteMissed
from smartcommunity import validate
from smartcommunity.integrity import verify_history

from .helpers import (
    COMMUNITY,
    KEY,
    OTHER,
    SPEC,
    TOKENS,
    Api,
    Caller,
    by_name_only,
    example,
    new_id,
    submitted_issue,
    throwaway_pg,
)
from .test_over_time import _feed, _person

RESIDENT = "Resident"
ERASE = "erase"
EXPIRED = "retention-expired"


def _app(url: str, tokens: dict[str, Any] | None = None, **options: Any) -> Any:
    return create_app(Settings(database_url=url, tokens=tokens or TOKENS, demo=False,
                               pseudonym_key=KEY, **options))


def _her_token(doc: dict[str, Any]) -> dict[str, Any]:
    return {"role": "resident", "name": doc["name"], "communities": [COMMUNITY],
            "resident": doc["id"]}


def _ref(doc: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": RESIDENT, "id": doc["id"], "display": doc["name"]}


def _phone(rng: random.Random) -> str:
    return f"+86137{rng.randint(0, 10**8 - 1):08d}"


def _consultation_naming(her: dict[str, Any]) -> dict[str, Any]:
    doc = example("consultation/parking-convention-deliberating.json")
    for member in ("sessions", "votes", "decision", "publications", "implementation",
                   "feedback", "meta", "externalRefs"):
        doc.pop(member, None)
    doc.update(status="proposed", history=doc["history"][:1], visibility="public")
    doc["parties"] = [*doc.get("parties", []), {
        "id": "p-her", "stakeholderType": "resident", "roles": ["participant"],
        "person": {"name": her["name"], "resident": _ref(her)}}]
    return by_name_only(doc)


class World:
    """A resident with unique personal data, and the records naming her: an issue submitted
    for her by staff, one she submitted herself, a consultation she takes part in."""

    def __init__(self, api: Api, her: dict[str, Any], rng: random.Random) -> None:
        self.her = her
        self.contact_phone = _phone(rng)
        staff = api.staff
        assert staff.create(self.her).status_code == 201
        self.for_her = submitted_issue(reporterDisclosure="public")
        self.for_her["submittedBy"] = {"onBehalfOf": _ref(self.her)}
        self.for_her["history"][0]["actor"] = {"onBehalfOf": _ref(self.her)}
        self.for_her["reporterContact"] = {"name": self.her["name"],
                                           "phone": self.contact_phone}
        resp = staff.create(self.for_her, headers={"Idempotency-Key": "k-" + new_id()})
        assert resp.status_code == 201, resp.text
        self.own = submitted_issue(reporterDisclosure="public")
        self.own["reporterContact"] = {"name": self.her["name"], "phone": self.contact_phone}
        resp = Caller(api.client, "test-her-own-token", _her_token(her)).create(self.own)
        assert resp.status_code == 201, resp.text
        assert self.her["name"] in str(resp.json()["submittedBy"])
        self.consultation = _consultation_naming(self.her)
        resp = staff.create(self.consultation)
        assert resp.status_code == 201, resp.text
        self.other = submitted_issue(reporterDisclosure="public")
        self.other["reporterContact"] = {"name": "旁人甲", "phone": _phone(rng)}
        assert staff.create(self.other).status_code == 201

    def secrets(self) -> list[str]:
        return [self.her["name"], self.contact_phone, self.her["contactPoints"][0]["phone"],
                self.her["identityDocuments"][0]["number"]]

    def erase(self, api: Api) -> None:
        path = f"/residents/{self.her['id']}"
        etag = api.staff.get(path).headers["etag"]
        resp = api.staff.post(f"{path}/erase", {"reason": "purpose-fulfilled"}, if_match=etag)
        assert resp.status_code == 200, resp.text


def _check_reached(api: Api, world: World) -> None:
    """What every interface gives after the erasure."""
    staff = api.staff
    for doc in (world.for_her, world.own):
        path = f"/issues/{doc['id']}"
        current = staff.get(path).json()
        assert "reporterContact" not in current
        assert str(current["meta"]["versionId"]) == "2"
        assert validate(current).valid
        assert verify_history(current) == []
        assert current["submittedBy"].get("onBehalfOf", current["submittedBy"].get(
            "resident"))["id"] == world.her["id"]
        events = _feed(api.as_("system"), f"issues/{doc['id']}")
        assert [e["action"] for e in events] == ["create", ERASE]
        assert all(s not in str(events) for s in world.secrets()), events
        assert all(s not in str(staff.get(f"{path}/history").json()) for s in world.secrets())
    consultation = staff.get(f"/consultations/{world.consultation['id']}").json()
    party = next(p for p in consultation["parties"] if p["id"] == "p-her")
    assert party["person"] == {"resident": {"resourceType": RESIDENT, "id": world.her["id"]}}
    other = staff.get(f"/issues/{world.other['id']}").json()
    assert other["reporterContact"] == world.other["reporterContact"]  # not hers: kept
    listing = staff.get("/issues", params={"limit": 500}).json()
    assert all(s not in str(listing) for s in world.secrets())


def _her_and_tokens(seed: int) -> tuple[dict[str, Any], random.Random, dict[str, Any]]:
    rng = random.Random(seed)
    her = _person(rng)
    return her, rng, {**TOKENS, "test-her-own-token": _her_token(her)}


def _dump_pg(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows: list[str] = []
            for table in inspect(conn).get_table_names():
                rows += [str(tuple(r)) for r in conn.execute(text(f'SELECT * FROM "{table}"'))]
    finally:
        engine.dispose()
    return "\n".join(rows)


def _raw_sqlite(folder: Path) -> str:
    raw = b"".join(p.read_bytes() for p in folder.iterdir() if p.is_file())
    return raw.decode("utf-8", "replace")


# -- erasure reaches the records naming her ---------------------------------------------------

def test_erasure_reaches_issues_and_consultations_in_the_sqlite_file(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    her, rng, tokens = _her_and_tokens(11)
    app = _app(f"sqlite:///{folder / 'reach.sqlite3'}", tokens)
    with TestClient(app) as client:
        api = Api(client)
        world = World(api, her, rng)
        before = _feed(api.as_("system"), f"issues/{world.for_her['id']}")
        assert world.contact_phone in str(before)  # the test does see what it looks for
        world.erase(api)
        _check_reached(api, world)
        assert app.state.sc.service.store.scrub()
    raw = _raw_sqlite(folder)
    assert world.other["reporterContact"]["phone"] in raw
    for secret in world.secrets():
        assert secret not in raw, secret


@pytest.fixture
def fresh_pg() -> Iterator[str]:
    with throwaway_pg("sc_retention") as url:
        yield url


def test_erasure_reaches_issues_and_consultations_in_postgresql(fresh_pg: str) -> None:
    her, rng, tokens = _her_and_tokens(12)
    app = _app(fresh_pg, tokens)
    with TestClient(app) as client:
        api = Api(client)
        world = World(api, her, rng)
        world.erase(api)
        _check_reached(api, world)
        app.state.sc.service.store.dispose()
    everything = _dump_pg(fresh_pg)
    assert world.her["id"] in everything and world.other["reporterContact"]["phone"] in everything
    for secret in world.secrets():
        assert secret not in everything, secret


# -- retention --------------------------------------------------------------------------------

CLOSED = example("issue/gas-heater-elderly-closed.json")
#: the test's own now: the closed issue closed a day before, the resident left a day before
NOW = datetime.now(CST).replace(microsecond=0)
DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _shifted(node: Any, days: float) -> Any:
    """``node`` with every timestamp moved ``days`` days and every date the whole days of it
    (their order kept)."""
    if isinstance(node, dict):
        return {k: _shifted(v, days) for k, v in node.items()}
    if isinstance(node, list):
        return [_shifted(v, days) for v in node]
    if isinstance(node, str) and DATE.match(node):
        if len(node) == 10:
            whole = timedelta(days=timedelta(days=days).days)
            return (date.fromisoformat(node) + whole).isoformat()
        with contextlib.suppress(ValueError):
            return (datetime.fromisoformat(node) + timedelta(days=days)).isoformat()
    return node


def _closed_issue(rng: random.Random) -> dict[str, Any]:
    closed_at = datetime.fromisoformat(CLOSED["history"][-1]["at"])
    doc: dict[str, Any] = _shifted(copy.deepcopy(CLOSED), (NOW - closed_at).days - 1)
    doc["id"] = new_id()
    doc["reporterContact"] = {"name": "退休甲", "phone": _phone(rng)}
    return doc


def _left_resident(rng: random.Random, until: str) -> dict[str, Any]:
    doc = _person(rng)
    doc["memberships"][0]["until"] = until
    doc["memberships"][0]["since"] = "2001-01-01"
    return doc


def _sweep(app: Any, now: datetime) -> dict[str, int]:
    counts: dict[str, int] = app.state.sc.service.sweep(now)
    return counts


def _retention_run(api: Api, app: Any) -> dict[str, Any]:
    rng = random.Random(21)
    closed = _closed_issue(rng)
    left = _left_resident(rng, (NOW - timedelta(days=1)).date().isoformat())
    staying = _person(rng)
    service = app.state.sc.service
    service.load([closed, left, staying])
    naming_left = submitted_issue(reporterDisclosure="public")
    naming_left["submittedBy"] = {"onBehalfOf": _ref(left)}
    naming_left["history"][0]["actor"] = {"onBehalfOf": _ref(left)}
    naming_left["reporterContact"] = {"name": left["name"], "phone": _phone(rng)}
    assert api.staff.create(naming_left,
                            headers={"Idempotency-Key": "k-ret"}).status_code == 201
    assert api.staff.get(f"/residents/{left['id']}").status_code == 200  # an audited read

    # Two years after closing, nothing personal has outlived its period yet; only the
    # Idempotency-Key made today has (its period is hours).
    early = _sweep(app, NOW + timedelta(days=2 * 365))
    assert early["recordsCleared"] == 0 and early["residentsErased"] == 0
    assert early["idempotencyKeys"] == 1
    assert api.staff.get(f"/issues/{closed['id']}").json()["reporterContact"] == (
        closed["reporterContact"])

    # Three years after closing and after she left, both periods have passed.
    now = NOW + timedelta(days=3 * 366)
    counts = _sweep(app, now)
    assert counts["recordsCleared"] >= 1 and counts["residentsErased"] == 1
    assert counts["recordsRewritten"] == 1

    swept = api.staff.get(f"/issues/{closed['id']}").json()
    assert validate(swept).valid and verify_history(swept) == []
    assert "description" not in swept and not swept.get("reporterContact")
    assert swept["status"] == "closed" and swept["category"] == closed["category"]
    events = _feed(api.as_("system"), f"issues/{closed['id']}")
    assert events[-1]["action"] == EXPIRED
    assert closed["reporterContact"]["phone"] not in str(events)

    erased = api.staff.get(f"/residents/{left['id']}").json()
    assert erased["restriction"]["state"] == "erased"
    assert erased["restriction"]["reason"] == EXPIRED
    kept = api.staff.get(f"/residents/{staying['id']}").json()
    assert kept["name"] == staying["name"]
    reached = api.staff.get(f"/issues/{naming_left['id']}").json()
    assert "reporterContact" not in reached
    audit = api.as_("regulator").get("/audit-events", params={"resident": left["id"]}).json()
    assert EXPIRED in [i["operation"] for i in audit["items"]]
    # The replay of an expired key creates nothing and gives nothing of hers back.
    replay = api.staff.create(naming_left, headers={"Idempotency-Key": "k-ret"})
    assert left["name"] not in replay.text

    # A second sweep at the same moment finds nothing left to clear.
    again = _sweep(app, now)
    assert again["recordsCleared"] == again["residentsErased"] == again["recordsRewritten"] == 0

    # Audit records go once their own period passes.
    later = _sweep(app, now + timedelta(days=4 * 366))
    assert later["auditRecords"] >= 1
    assert api.as_("regulator").get("/audit-events",
                                    params={"resident": left["id"]}).json()["items"] == []
    secrets = [closed["reporterContact"]["phone"], left["name"],
               left["contactPoints"][0]["phone"], left["identityDocuments"][0]["number"],
               naming_left["reporterContact"]["phone"]]
    return {"secrets": secrets, "staying": staying["name"]}


def test_retention_sweep_clears_the_sqlite_file(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    app = _app(f"sqlite:///{folder / 'retention.sqlite3'}")
    with TestClient(app) as client:
        found = _retention_run(Api(client), app)
        assert app.state.sc.service.store.scrub()
    raw = _raw_sqlite(folder)
    assert found["staying"] in raw
    for secret in found["secrets"]:
        assert secret not in raw, secret


def test_retention_sweep_clears_postgresql(fresh_pg: str) -> None:
    app = _app(fresh_pg)
    with TestClient(app) as client:
        found = _retention_run(Api(client), app)
        app.state.sc.service.store.dispose()
    everything = _dump_pg(fresh_pg)
    assert found["staying"] in everything
    for secret in found["secrets"]:
        assert secret not in everything, secret


# -- when a period ends -------------------------------------------------------------------------

def _period_end(start: datetime, years: int) -> datetime:
    """The end of a period of ``years`` from ``start`` as /req/privacy/retention words it: the
    same date and time in China Standard Time, 28 February for a 29th the year lacks."""
    local = start.astimezone(CST)
    day = min(local.day, calendar.monthrange(local.year + years, local.month)[1])
    return local.replace(year=local.year + years, day=day)


@st.composite
def _near_leap_days(draw: st.DrawFn) -> datetime:
    """An instant from 27 February to 2 March (1 March to 3 March in a common year), 2019 to
    2033, to the second."""
    first = datetime(draw(st.integers(2019, 2033)), 2, 27, tzinfo=CST)
    return first + timedelta(days=draw(st.sampled_from(range(4))),
                             seconds=draw(st.integers(0, 86399)))


@settings(max_examples=400, deadline=None)
@given(_near_leap_days(), st.integers(0, 5), st.sampled_from(range(-1, 2)),
       st.one_of(st.integers(-2, 2), st.integers(-86399, 86399)),
       st.sampled_from([timedelta(0), timedelta(hours=-10), timedelta(hours=5, minutes=45)]))
def test_a_period_has_lapsed_exactly_when_its_end_has_passed(
        start: datetime, years: int, days: int, seconds: int, offset: timedelta) -> None:
    """What the sweep and the audit deletion take as lapsed, against the words of the spec,
    with the clock injected around leap days; the start may be written at any offset."""
    end = _period_end(start, years)
    now = end + timedelta(days=days, seconds=seconds)
    written = start.astimezone(timezone(offset)).isoformat()
    assert (written in Lapsed(now, years)) == (end < now), (written, now.isoformat())


def _closed_at(moment: datetime) -> dict[str, Any]:
    """A closed issue with a contact of its own that entered its status at ``moment``."""
    closed_at = datetime.fromisoformat(CLOSED["history"][-1]["at"])
    doc: dict[str, Any] = _shifted(copy.deepcopy(CLOSED), (moment - closed_at) / timedelta(days=1))
    doc["id"] = new_id()
    doc["reporterContact"] = {"name": "退休乙", "phone": _phone(random.Random(doc["id"]))}
    return doc


def test_the_sweep_clears_what_lapsed_around_29_february(database: str) -> None:
    """A period from 29 February ends on 28 February of a common year, before one from the
    evening of the 28th; one from the evening of 28 February is over on the 29th the next
    leap year. Records, residents who left and audit records alike, in SQLite and PostgreSQL."""
    at = [datetime(2024, 2, 28, 20, tzinfo=CST), datetime(2024, 2, 29, 10, tzinfo=CST),
          datetime(2025, 2, 28, 20, tzinfo=CST), datetime(2025, 3, 1, tzinfo=CST)]
    issues = [_closed_at(moment) for moment in at]
    rng = random.Random(29)
    left = [_left_resident(rng, "2024-02-28"), _left_resident(rng, "2024-02-29")]
    app = _app(database)
    with TestClient(app) as client:
        service = app.state.sc.service
        service.load([*issues, *left])
        with service.store.write() as tx:
            tx.audit([{"at": stamp(moment), "principal": "staff:test", "role": "community-staff",
                       "operation": "read", "resident": left[0]["id"],
                       "fields": ["/identityDocuments"], "communities": [COMMUNITY]}
                      for moment in at])
        cleared: list[tuple[str, ...]] = []
        for now in (datetime(2027, 2, 27, 23, 59, tzinfo=CST),
                    datetime(2027, 2, 28, 9, 59, tzinfo=CST),  # left from 29 Feb 2024 00:00
                    datetime(2027, 2, 28, 10, 0, 1, tzinfo=CST),  # closed 29 Feb 10:00
                    datetime(2027, 2, 28, 20, 0, 1, tzinfo=CST),  # closed 28 Feb 20:00
                    datetime(2027, 3, 1, 0, 0, 1, tzinfo=CST),  # left from 1 Mar 2024
                    datetime(2028, 2, 29, 10, tzinfo=CST),  # closed 28 Feb 2025 20:00
                    datetime(2028, 2, 29, 23, 59, tzinfo=CST),
                    datetime(2028, 3, 1, 0, 0, 1, tzinfo=CST)):  # closed 1 Mar 2025
            counts = service.sweep(now)
            staff = Api(client).staff
            gone = {n for n, i in enumerate(issues)
                    if not staff.get(f"/issues/{i['id']}").json().get("reporterContact")}
            erased = {n for n, r in enumerate(left) if staff.get(
                f"/residents/{r['id']}").json().get("restriction", {}).get("state") == "erased"}
            cleared.append((counts["recordsCleared"], counts["auditRecords"],
                            counts["residentsErased"], sorted(gone), sorted(erased)))
        service.store.dispose()
    assert cleared == [
        (0, 0, 0, [], []),
        (0, 0, 1, [], [0]),
        (1, 1, 0, [1], [0]),
        (1, 1, 0, [0, 1], [0]),
        (0, 0, 1, [0, 1], [0, 1]),
        (1, 1, 0, [0, 1, 2], [0, 1]),
        (0, 0, 0, [0, 1, 2], [0, 1]),
        (1, 1, 0, [0, 1, 2, 3], [0, 1]),
    ]


# -- memberships removed from the record ---------------------------------------------------------

def _rewritten(api: Api, doc: dict[str, Any], memberships: list[dict[str, Any]]) -> datetime:
    """Update the resident ``doc`` (as the system, which serves every community) to hold
    ``memberships``; when the server wrote it."""
    path = f"/residents/{doc['id']}"
    system = api.as_("system")
    current = system.get(path)
    body = {**current.json(), "memberships": memberships}
    if not memberships:
        del body["memberships"]
    resp = system.put(path, body, if_match=current.headers["etag"])
    assert resp.status_code == 200, resp.text
    return datetime.fromisoformat(resp.json()["meta"]["lastUpdated"])


def test_a_membership_removed_from_the_record_ends_when_it_was_removed(database: str) -> None:
    """/req/privacy/retention: a membership an update removed ended with that write, so a
    resident whose memberships were all removed comes due leftResidentYears after it, one
    left holding only a membership that ended long ago does not come due at once, one whose
    membership had ended before it was removed counts from its until, and one who joined
    the community again stays. SQLite and PostgreSQL."""
    rng = random.Random(31)
    ended_long_ago = {"community": OTHER, "residencyType": "registered-absent",
                      "since": "2001-01-01", "until": "2010-06-30"}
    everyone = [_person(rng) for _ in range(4)]
    gone, narrowed, had_left, back = everyone
    narrowed["memberships"].append(ended_long_ago)
    left_on = (NOW - timedelta(days=10)).date()
    had_left["memberships"][0]["until"] = left_on.isoformat()
    app = _app(database)
    with TestClient(app) as client:
        service = app.state.sc.service
        service.load(everyone)
        api = Api(client)
        written = _rewritten(api, gone, [])
        _rewritten(api, narrowed, [ended_long_ago])
        _rewritten(api, had_left, [])
        _rewritten(api, back, [])
        _rewritten(api, back, [back["memberships"][0]])

        def erased() -> list[int]:
            return [n for n, doc in enumerate(everyone) if api.as_("system").get(
                f"/residents/{doc['id']}").json().get("restriction", {}).get("state") ==
                "erased"]

        three_years = _period_end(written, 3) - written
        until_end = datetime(left_on.year, left_on.month, left_on.day, tzinfo=CST) + timedelta(
            days=1)
        seen = []
        for now in (written + timedelta(days=1), _period_end(until_end, 3) + timedelta(hours=1),
                    written + three_years - timedelta(minutes=1),
                    written + three_years + timedelta(minutes=1),
                    written + three_years + timedelta(days=400)):
            counts = service.sweep(now)
            seen.append((counts["residentsErased"], erased()))
        service.store.dispose()
    assert seen == [(0, []), (1, [2]), (0, [2]), (2, [0, 1, 2]), (0, [0, 1, 2])]


def _without_memberships(rng: random.Random) -> dict[str, Any]:
    doc = _person(rng)
    del doc["memberships"]
    return doc


def test_a_resident_who_never_held_a_membership_counts_from_her_record_s_creation(
        database: str) -> None:
    """/req/privacy/retention: a resident record that holds no membership and never held one
    comes due leftResidentYears after it was created, however often it was updated since;
    one imported with its source's creation long ago at once, one imported without a
    creation from when the server stored it; one that came to hold a membership in force
    stays. SQLite and PostgreSQL."""
    rng = random.Random(37)
    made, updated, joined = (_without_memberships(rng) for _ in range(3))
    long_ago, undated = _without_memberships(rng), _without_memberships(rng)
    long_ago["meta"] = {"versionId": "4", "lastUpdated": "2019-05-01T09:00:00+08:00",
                        "createdAt": "2001-03-01T09:00:00+08:00"}
    undated["meta"] = {"versionId": "2", "lastUpdated": "2001-03-01T09:00:00+08:00"}
    everyone = [made, updated, joined, long_ago, undated]
    app = _app(database)
    with TestClient(app) as client:
        service = app.state.sc.service
        api = Api(client)
        system = api.as_("system")
        for doc in (made, updated, joined):
            resp = system.create(doc)
            assert resp.status_code == 201, resp.text
        created = datetime.fromisoformat(system.get(f"/residents/{made['id']}").json()[
            "meta"]["createdAt"])
        service.load([long_ago, undated])
        _rewritten(api, joined, [_person(rng)["memberships"][0]])
        # Corrected a year on, still without a membership: the period does not start again.
        path = f"/residents/{updated['id']}"
        current = system.get(path)
        resp = system.put(path, {**current.json(), "contactPoints": [
            {"type": "mobile", "phone": _phone(rng), "preferred": True}]},
                          if_match=current.headers["etag"])
        assert resp.status_code == 200, resp.text

        def erased() -> list[int]:
            return [n for n, doc in enumerate(everyone) if system.get(
                f"/residents/{doc['id']}").json().get("restriction", {}).get("state") ==
                "erased"]

        end = _period_end(created, 3)
        seen = []
        for now in (created + timedelta(days=1), end - timedelta(minutes=1),
                    end + timedelta(minutes=5), end + timedelta(days=800)):
            counts = service.sweep(now)
            seen.append((counts["residentsErased"], erased()))
        erased_one = system.get(f"/residents/{made['id']}").json()
        assert erased_one["restriction"]["reason"] == EXPIRED
        assert made["name"] not in str(erased_one)
        service.store.dispose()
    assert seen == [(1, [3]), (0, [3]), (3, [0, 1, 3, 4]), (0, [0, 1, 3, 4])]


#: communities a generated record's memberships are of
_COMMUNITIES = (COMMUNITY, OTHER, "110105001003")


@st.composite
def _membership_writes(draw: st.DrawFn) -> list[tuple[datetime, dict[str, date | None]]]:
    """The states of one resident record as written: when, and its memberships by community
    (each with its until day, or None while in force); written at any offset. A third of the
    records never hold a membership."""
    at = datetime(2024, 1, 1, tzinfo=CST) + timedelta(minutes=draw(st.integers(0, 10**6)))
    never = draw(st.integers(0, 2)) == 0
    writes = []
    for _ in range(draw(st.integers(1, 6))):
        at += timedelta(minutes=draw(st.integers(1, 10**5)))
        held = {} if never else draw(st.dictionaries(st.sampled_from(_COMMUNITIES), st.one_of(
            st.none(), st.integers(-200, 200).map(lambda d, at=at: at.date() + timedelta(d)))))
        offset = timezone(timedelta(hours=draw(st.sampled_from([-10, 0, 8]))))
        writes.append((at.astimezone(offset), held))
    return writes


def _resident_holding(held: dict[str, date | None]) -> dict[str, Any]:
    return {"resourceType": RESIDENT, "memberships": [
        {"community": c, "residencyType": "registered-resident",
         **({} if until is None else {"until": until.isoformat()})}
        for c, until in held.items()]}


def _end_of_day(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=CST) + timedelta(days=1)


@settings(max_examples=300, deadline=None)
@given(_membership_writes(), st.one_of(st.none(), st.integers(-10**6, 0).map(
    lambda minutes: timedelta(minutes=minutes))), st.sampled_from([-10, 0, 8]))
def test_memberships_end_when_their_until_ends_or_a_write_removed_them(
        writes: list[tuple[datetime, dict[str, date | None]]], created: timedelta | None,
        hours: int) -> None:
    """When the sweep counts a resident's leftResidentYears from, against the words of
    /req/privacy/retention read backwards from the record as it is: each membership it holds
    ends with its until day; each community it no longer holds ended with the last write that
    removed it, or with its until day then if that came first; a record that never held one
    counts from its creation (meta.createdAt, at or before its first write and at any offset;
    without one, its first write), whatever was written since."""
    current = writes[-1][1]
    doc = _resident_holding(current)
    creation = writes[0][0] if created is None else writes[0][0] + created
    if created is not None:
        doc["meta"] = {"createdAt": creation.astimezone(timezone(timedelta(hours=hours))
                                                        ).isoformat(),
                       "lastUpdated": writes[-1][0].isoformat()}
    if None in current.values():
        expected = None
    else:
        ends = [_end_of_day(until) for until in current.values() if until is not None]
        for community in set(_COMMUNITIES) - set(current):
            removal = next((k for k in range(len(writes) - 1, 0, -1)
                            if community in writes[k - 1][1] and community not in writes[k][1]),
                           None)
            if removal is not None:
                until = writes[removal - 1][1][community]
                at = writes[removal][0]
                ends.append(at if until is None else min(at, _end_of_day(until)))
        if not any(held for _, held in writes):
            ends.append(creation)
        expected = max(ends, default=None)
    found = left_since(doc, [(at.isoformat(), _resident_holding(held)) for at, held in writes])
    assert found == (None if expected is None else utc_text(expected.isoformat()))


# -- opinions and proposals ---------------------------------------------------------------------

def _voiced(name: str, moment: datetime, consultation: str, tag: str) -> dict[str, Any]:
    """The example ``name`` (an opinion, proposal or consultation) with a fresh id whose last
    history event was at ``moment``, belonging to ``consultation`` (an opinion or proposal),
    and whose people are its own: every actor's name and user id ends in ``tag`` (the user id
    in hexadecimal) and every
    resident it refers to is a fresh record, so what it holds of them is found nowhere else."""
    doc = example(name)
    last = datetime.fromisoformat(doc["history"][-1]["at"])
    doc = _shifted(doc, (moment - last) / timedelta(days=1))
    if doc["resourceType"] != "Consultation":
        doc["consultation"]["id"] = consultation
    residents: dict[str, str] = {}

    def own(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                own(item)
        elif isinstance(node, dict):
            if node.get("resourceType") == RESIDENT and "id" in node:
                node["id"] = residents.setdefault(node["id"], new_id())
            if "role" in node:
                for key, mark in (("name", tag), ("userId", _ascii(tag))):
                    if isinstance(node.get(key), str):
                        node[key] += mark
            for value in node.values():
                own(value)

    own(doc)
    if "text" in doc and doc["resourceType"] == "Opinion":
        doc["text"] += tag
    return doc


def _whose(doc: dict[str, Any], tag: str) -> list[str]:
    """What ``doc`` holds of its people: the resident ids it refers to, and the tagged names."""
    ids = {n["id"] for n in _nodes(doc) if isinstance(n, dict)
           and n.get("resourceType") == RESIDENT}
    written = json.dumps(doc, ensure_ascii=False)
    return [*sorted(ids), *(mark for mark in (tag, _ascii(tag)) if mark in written)]


def _ascii(tag: str) -> str:
    """``tag`` as a user id may end: visible ASCII."""
    return "-" + tag.encode().hex()


def _nodes(node: Any) -> Iterator[Any]:
    yield node
    for child in (node.values() if isinstance(node, dict) else
                  node if isinstance(node, list) else ()):
        yield from _nodes(child)


def _stored_states(store: Store) -> str:
    """Every state the store keeps, its records and its change events, as one text."""
    with store.read() as tx:
        rows = [*tx.conn.exec_driver_sql("SELECT doc FROM resources"),
                *tx.conn.exec_driver_sql("SELECT data FROM events")]
    return "\n".join(str(r[0]) for r in rows)


VOICE = {"Opinion": "opinions", "Proposal": "proposals"}


def test_opinions_and_proposals_lose_their_people_when_their_period_passed(
        database: str) -> None:
    """/req/privacy/retention: an opinion or proposal loses its author, supporters and text
    closedRecordYears after it was replied to, or after its consultation ended, whichever
    comes first, so one never replied to goes too; one of a consultation still going on, or
    of one the server does not hold, that nobody replied to stays. SQLite and PostgreSQL."""
    day = timedelta(days=1)
    ended = _voiced("consultation/parcel-lockers-withdrawn.json", NOW - day, "", "-w")
    long_ended = _voiced("consultation/parcel-lockers-withdrawn.json", NOW - 400 * day, "",
                         "-v")
    going_on = example("consultation/parking-convention-deliberating.json")
    received = "opinion/parking-hotline-received.json"
    replied = "opinion/lift-door-to-door-wang-guiying.json"
    cases = {  # tag: (example, when its last event was, consultation, cleared after 2y, 3y)
        "甲": (received, NOW - 10 * day, ended["id"], False, True),
        "乙": (replied, NOW - day, new_id(), False, True),
        "丙": ("proposal/parking-elderly-bays-open.json", NOW - 10 * day, ended["id"],
               False, True),
        "丁": ("proposal/lift-accessible-ramp.json", NOW - day, going_on["id"], False, True),
        "戊": (replied, NOW - day, long_ended["id"], True, True),
        "己": (received, NOW - 10 * day, going_on["id"], False, False),
        "庚": (received, NOW - 10 * day, new_id(), False, False),
    }
    docs = {tag: _voiced(name, at, of, "氏" + tag) for tag, (name, at, of, _, _)
            in cases.items()}
    app = _app(database)
    with TestClient(app) as client:
        service = app.state.sc.service
        service.load([ended, long_ended, going_on, *docs.values()])
        api = Api(client)
        for now, which in ((NOW + 730 * day, 3), (NOW + 3 * 366 * day, 4)):
            service.sweep(now)
            for tag, doc in docs.items():
                path = f"/{VOICE[doc['resourceType']]}/{doc['id']}"
                current = api.staff.get(path).json()
                events = _feed(api.as_("system"), path[1:])
                held = json.dumps([current, events], ensure_ascii=False)
                if not cases[tag][which]:
                    assert all(s in held for s in _whose(doc, "氏" + tag)), (tag, now)
                    assert events[-1]["action"] != EXPIRED
                    continue
                assert not [s for s in _whose(doc, "氏" + tag) if s in held], (tag, now)
                # an opinion's text is the author's (a proposal's is public, and stays)
                assert ("text" in current) == (doc["resourceType"] == "Proposal"), tag
                assert [e["action"] for e in events].count(EXPIRED) == 1, tag
                assert validate(current).valid and verify_history(current) == []
                assert current["status"] == doc["status"]
                if doc["resourceType"] == "Proposal":
                    assert current["supportCount"] == doc["supportCount"] == len(
                        current["supporters"])
        raw = _stored_states(service.store)
        for tag, doc in docs.items():
            assert (cases[tag][4] == (not [s for s in _whose(doc, "氏" + tag) if s in raw])), tag
        service.store.dispose()


# -- periods ----------------------------------------------------------------------------------

def test_a_city_may_shorten_the_periods_and_declares_them(tmp_path: Path) -> None:
    app = _app(f"sqlite:///{tmp_path / 'short.sqlite3'}",
               retention={"closedRecordYears": {"Issue": 1}, "auditLogYears": 2})
    with TestClient(app) as client:
        declared = client.get("/conformance").json()["retention"]
    assert declared["closedRecordYears"]["Issue"] == 1
    assert declared["auditLogYears"] == 2 and declared["leftResidentYears"] == 3


@pytest.mark.parametrize("periods", [
    {"closedRecordYears": {"Issue": 4}}, {"auditLogYears": 10}, {"idempotencyHours": -1},
    {"leftResidentYears": "3"}, {"forever": 1}, {"closedRecordYears": {"Unknown": 1}},
])
def test_a_period_longer_than_the_spec_allows_is_refused(tmp_path: Path,
                                                         periods: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="retention"):
        _app(f"sqlite:///{tmp_path / 'long.sqlite3'}", retention=periods)


# -- the command ------------------------------------------------------------------------------

def _command(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from smartcommunity.cli import main; main()", *args],
        cwd=tmp, capture_output=True, text=True, timeout=180, check=False)


def test_the_retention_command_sweeps_a_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'swept.sqlite3'}"
    closed = copy.deepcopy(CLOSED)
    service = _app(url).state.sc.service
    service.load([closed])
    service.store.dispose()
    closed_at = datetime.fromisoformat(closed["history"][-1]["at"])
    at = (closed_at + timedelta(days=3 * 366)).isoformat()
    done = _command(tmp_path, "retention", "--database-url", url, "--at", at)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["recordsCleared"] == 1
    store = Store(url)
    try:
        with store.read() as tx:
            swept = tx.get(closed["resourceType"], closed["id"])
    finally:
        store.dispose()
    assert swept is not None and not swept.doc.get("reporterContact")
    assert "description" not in swept.doc and verify_history(swept.doc) == []
    again = _command(tmp_path, "retention", "--database-url", url, "--at", at)
    assert json.loads(again.stdout)["recordsCleared"] == 0


def test_the_retention_command_refuses_longer_periods_and_bad_times(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'refused.sqlite3'}"
    periods = tmp_path / "periods.json"
    periods.write_text(json.dumps({"auditLogYears": 30}), encoding="utf-8")
    done = _command(tmp_path, "retention", "--database-url", url, "--periods", str(periods))
    assert done.returncode == 2 and "auditLogYears" in done.stderr
    done = _command(tmp_path, "retention", "--database-url", url, "--at", "2030-01-01T00:00")
    assert done.returncode == 2 and "offset" in done.stderr


# -- a city's registered extension ------------------------------------------------------------

CHAOYANG = Path(SPEC.folder) / "profiles" / "beijing-chaoyang.json"
#: the 12345 work order the Chaoyang profile registers on issues
WORK_ORDER = "cn.gov.beijing.jiesujiban"
_score = st.integers(0, 100)


@pytest.fixture(scope="module")
def city_source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Api]]:
    folder = tmp_path_factory.mktemp("city-retention")
    app = _app(f"sqlite:///{folder / 'source.sqlite3'}", profile=CHAOYANG)
    with TestClient(app) as client:
        yield app, Api(client)


@settings(max_examples=12, deadline=None)
@given(number=st.integers(0, 10**12 - 1),
       score=st.fixed_dictionaries({}, optional={"response": _score, "resolution": _score}),
       district=st.none() | st.from_regex(r"来电[0-9]{4,8}区", fullmatch=True),
       contacts=st.dictionaries(st.sampled_from(["contactWechat", "contactQq", "contactMail"]),
                                st.from_regex(r"[a-z]{3,8}_[0-9]{4,6}", fullmatch=True),
                                max_size=2))
def test_retention_keeps_what_a_registered_extension_tags_none(
        city_source: tuple[Any, Api], tmp_path_factory: pytest.TempPathFactory, number: int,
        score: dict[str, int], district: str | None, contacts: dict[str, str]) -> None:
    """/req/privacy/retention with /req/profiles/document-extensions: once a closed issue's
    period passes, its registered extension loses the members its schema tags personal and
    keeps the others (the 12345 work order that links it to the city's hotline, the scores),
    in the record, in its earlier states, and in a mirror's copies of them."""
    app, api = city_source
    service = app.state.sc.service
    order: dict[str, Any] = {"workOrderNo": f"CY{number:012d}", **contacts}
    if score:
        order["score"] = score
    if district:
        order["callerDistrict"] = district
    doc = _closed_issue(random.Random(number))
    doc["extensions"] = {WORK_ORDER: order}
    assert import_lines(service, [("test:1", orjson.dumps(doc))]) == 1
    kept = {name: value for name, value in order.items()
            if name in ("workOrderNo", "score")}
    personal = [*contacts.values(), *([district] if district else [])]

    target = Store(f"sqlite:///{tmp_path_factory.mktemp('mirror') / 'mirror.sqlite3'}")
    try:
        target.migrate()
        copied = mirror("http://testserver", "demo-system-mirror", target,
                        client=api.client, profile=service.profile)
        assert service.sweep(NOW + timedelta(days=3 * 366))["recordsCleared"] >= 1
        mirror("http://testserver", "demo-system-mirror", target, cursor=copied.cursor,
               client=api.client, profile=service.profile)
        swept = api.staff.get(f"/issues/{doc['id']}").json()
        assert swept["extensions"] == {WORK_ORDER: kept}
        assert validate(swept).valid and verify_history(swept) == []
        events = _feed(api.as_("system"), f"issues/{doc['id']}")
        shown = [e["data"]["extensions"] for e in events if "data" in e]
        assert shown == [{WORK_ORDER: kept}] * len(shown) and len(shown) >= 2
        for store in (service.store, target):
            with store.read() as tx:
                states = [orjson.loads(data) for _, data in tx.states("Issue", doc["id"])]
            assert [s["extensions"] for s in states] == [{WORK_ORDER: kept}] * len(states)
            assert not [p for p in personal if p in json.dumps(states, ensure_ascii=False)]
    finally:
        target.dispose()


def test_the_sweep_counts_what_its_last_run_cleared(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The group commit may run a job again (a batch rolled back for another job's sake): the
    sweep then reports what the run that committed cleared, not the sum of both runs."""
    app = _app(f"sqlite:///{tmp_path / 'sweep.sqlite3'}")
    rng = random.Random(31)
    with TestClient(app):
        service = app.state.sc.service
        service.load([_closed_issue(rng), _closed_issue(rng),
                      _left_resident(rng, (NOW - timedelta(days=1)).date().isoformat())])
        attempt = Committer._attempt
        runs: list[int] = []

        def twice(self: Committer, batch: list[Any], staged: bool = True) -> None:
            if not runs:  # the first run is rolled back, as a batch with a missed write is
                runs.append(1)
                with contextlib.suppress(WriteMissed), self.store.write() as tx:
                    for item in batch:
                        item.job(tx)
                    raise WriteMissed()
            runs.append(2)
            attempt(self, batch, staged)

        monkeypatch.setattr(Committer, "_attempt", twice)
        counts = service.sweep(NOW + timedelta(days=3 * 366))
        service.store.dispose()
    assert runs == [1, 2]
    assert (counts["recordsCleared"], counts["residentsErased"]) == (2, 1)
