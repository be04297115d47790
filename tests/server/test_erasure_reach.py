"""A resident's erasure reaches every stored state that ever named her, not only the records
whose current version still does (/req/privacy/erasure-reaches-records,
/req/privacy/erasure-every-copy).

A consultation that named her as a party and later dropped her kept her name in its earlier
change events and in the idempotent replay of its create: the erasure found records by what
their current version names. Here a record names her through one of several members, is
edited, and drops her or not before she is erased; afterwards no change event, replay or read
of it gives her name or personal data, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import contextlib
import copy
import json
import random
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from alembic import command
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, text

from benchmarks.city import Scale, generate
from reference_server.mirror import mirror
from reference_server.service import Service, import_lines
from reference_server.settings import Settings
from reference_server.storage import (
    Change,
    Store,
    derive,
    migrations_config,
    named_residents,
)
from smartcommunity.integrity import verify_history

from .conftest import make_app
from .helpers import PLURAL, Api, Caller, new_id, submitted_issue
from .test_over_time import _person
from .test_retention import (
    NOW,
    RESIDENT,
    _app,
    _closed_issue,
    _consultation_naming,
    _left_resident,
    _phone,
    _ref,
    _voiced,
    _whose,
)

#: an extension namespace of the test's (/req/core/extension-namespace)
NAMESPACE = "cn.example.test-erasure"


def _unique_person(seed: int) -> dict[str, Any]:
    """A resident whose name occurs nowhere else in the shared store."""
    doc = _person(random.Random(seed))
    doc["id"] = new_id()
    doc["name"] = "".join("甲乙丙丁戊己庚辛壬癸"[int(c, 16) % 10]
                          for c in uuid.uuid4().hex[:10]) + "氏"
    return doc


def _premises(her: dict[str, Any]) -> str:
    """Where she lives, as a party gives it: text found nowhere else in the shared store."""
    return her["name"][:-1] + "楼909室"


def _party(her: dict[str, Any]) -> dict[str, Any]:
    """A consultation naming her as a party: her name, a reference to her record and her
    premises (beside her record's id they identify her too)."""
    doc = _consultation_naming(her)
    for party in doc["parties"]:
        if party["id"] == "p-her":
            party["premises"] = _premises(her)
    return doc


def _drop_party(doc: dict[str, Any]) -> None:
    doc["parties"] = [p for p in doc["parties"] if p["id"] != "p-her"]


def _in_extension(build: Callable[[dict[str, Any]], dict[str, Any]]
                  ) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A record that names her in a city's extension: a person object (her name beside a
    reference to her record, whose display is her name too)."""
    def named(her: dict[str, Any]) -> dict[str, Any]:
        doc = build(her)
        doc["extensions"] = {NAMESPACE: {"contact": {"name": her["name"],
                                                     "resident": _ref(her)}}}
        return doc
    return named


def _drop_extension(doc: dict[str, Any]) -> None:
    doc["extensions"] = {k: v for k, v in doc["extensions"].items() if k != NAMESPACE}


def _plain_consultation(her: dict[str, Any]) -> dict[str, Any]:
    doc = _consultation_naming(her)
    _drop_party(doc)
    return doc


#: how a record names her, and how staff later drop her from it
HOLDERS: dict[str, tuple[Callable[[dict[str, Any]], dict[str, Any]],
                         Callable[[dict[str, Any]], None]]] = {
    "consultation-party": (_party, _drop_party),
    "consultation-extension": (_in_extension(_plain_consultation), _drop_extension),
    "issue-extension": (_in_extension(lambda her: submitted_issue(reporterDisclosure="public")),
                        _drop_extension),
}


def _since(who: Caller, cursor: str) -> list[dict[str, Any]]:
    """The feed as ``who`` receives it from ``cursor`` on."""
    out: list[dict[str, Any]] = []
    while True:
        page = who.get("/changes", params={"limit": 500, "cursor": cursor}).json()
        out += page["items"]
        if not page["items"]:
            return out
        cursor = page["next"]


def _edit(staff: Caller, path: str, change: Callable[[dict[str, Any]], None]) -> None:
    current = staff.get(path)
    doc = copy.deepcopy(current.json())
    change(doc)
    resp = staff.put(path, doc, if_match=current.headers["etag"])
    assert resp.status_code == 200, resp.text


def _note(n: int) -> Callable[[dict[str, Any]], None]:
    """An edit that leaves her where she is (another earlier state that names her)."""
    def change(doc: dict[str, Any]) -> None:
        doc.setdefault("extensions", {})[f"cn.example.note-{n}"] = {"n": n}
    return change


def _erase(staff: Caller, her: dict[str, Any]) -> list[str]:
    """Erase her record; what of hers no interface may give again."""
    etag = staff.get(f"/residents/{her['id']}").headers["etag"]
    resp = staff.post(f"/residents/{her['id']}/erase", {"reason": "purpose-fulfilled"},
                      if_match=etag)
    assert resp.status_code == 200, resp.text
    return [her["name"], her["contactPoints"][0]["phone"],
            her["identityDocuments"][0]["number"], _premises(her)]


@settings(max_examples=12, deadline=None)
@given(holder=st.sampled_from(sorted(HOLDERS)), edits=st.integers(0, 2),
       removed=st.booleans(), seed=st.integers(0, 2**32))
def test_erasure_reaches_every_state_that_named_her(
        api: Api, holder: str, edits: int, removed: bool, seed: int) -> None:
    staff, system = api.staff, api.as_("system")
    start = {who: c.get("/changes", params={"cursor": "latest"}).json()["next"]
             for who, c in (("staff", staff), ("system", system))}
    her = _unique_person(seed)
    assert staff.create(her).status_code == 201
    build, drop = HOLDERS[holder]
    doc = build(her)
    key = "k-" + new_id()
    resp = staff.create(doc, headers={"Idempotency-Key": key})
    assert resp.status_code == 201, resp.text
    path = f"/{PLURAL[doc['resourceType']]}/{doc['id']}"
    for n in range(edits):
        _edit(staff, path, _note(n))
    if removed:
        _edit(staff, path, drop)
    before = staff.get(path).json()
    assert (her["name"] in json.dumps(before, ensure_ascii=False)) is not removed
    # the test does see what it looks for: every state so far is in the feed, naming her
    assert her["name"] in json.dumps(_since(system, start["system"]), ensure_ascii=False)

    secrets = _erase(staff, her)
    after = staff.get(path).json()
    # Still naming her: a new version with the erasure's event. Dropped her already: the
    # current version held nothing of hers and stays as it was.
    assert after["meta"]["versionId"] == str(int(before["meta"]["versionId"]) + (not removed))
    replay = staff.create(copy.deepcopy(doc), as_is=True, headers={"Idempotency-Key": key})
    assert replay.status_code == 200 and replay.headers.get("Idempotent-Replayed") == "true"
    given_back = {
        "read": after, "history": staff.get(f"{path}/history").json(), "replay": replay.json(),
        **{f"feed ({who})": _since(c, start[who]) for who, c in (("staff", staff),
                                                                  ("system", system))}}
    for where, body in given_back.items():
        text = json.dumps(body, ensure_ascii=False)
        assert not [s for s in secrets if s in text], where
    # The earlier states were rewritten, not dropped: each still refers to her record.
    events = [e for e in given_back["feed (system)"] if e.get("subject") == path[1:]]
    assert len(events) == 1 + edits + removed + (not removed)
    assert her["id"] in json.dumps(events[0]["data"])
    if not removed:
        assert events[-1]["action"] == "erase"
    assert json.dumps(given_back["replay"]).count(her["id"]) >= 1
    assert RESIDENT in json.dumps(given_back["replay"])
    # Her erasure rewrote each state, not its history's salts: every event keeps the salt
    # it was written with, in every state holding it, and each chain still checks
    # (/req/core/history-chain).
    salts = [e.get("salt") for e in after["history"]]
    assert all(salts) and len(set(salts)) == len(salts)
    for event in events:
        held = event["data"]["history"]
        assert [e.get("salt") for e in held] == salts[:len(held)]
        assert verify_history(event["data"]) == []



@pytest.mark.parametrize("removed", [False, True], ids=["naming", "dropped"])
@pytest.mark.parametrize("holder", sorted(HOLDERS))
def test_a_mirror_erases_its_copies_as_the_source_did(own_api: Api, holder: str,
                                                      removed: bool, tmp_path: Path) -> None:
    """A store filled from the feed keeps the states it copied: once the source erases her, its
    feed brings her record's erased form and the records still naming her written anew, but
    nothing about the earlier states it rewrote in place (or a record that had dropped her).
    The mirror erases its own copies as the source did: no stored state names her any more."""
    staff = own_api.staff
    her = _unique_person(len(holder) + removed)
    assert staff.create(her).status_code == 201
    doc = HOLDERS[holder][0](her)
    assert staff.create(doc).status_code == 201
    path = f"/{PLURAL[doc['resourceType']]}/{doc['id']}"
    _edit(staff, path, _note(0))
    if removed:
        _edit(staff, path, HOLDERS[holder][1])
    with contextlib.ExitStack() as stack:
        target = Store(f"sqlite:///{tmp_path / 'mirror.sqlite3'}")
        stack.callback(target.dispose)
        target.migrate()
        copied = mirror("http://testserver", "demo-system-mirror", target,
                        client=own_api.client)
        assert her["name"] in _stored_text(target)  # the test sees what it looks for
        etag = staff.get(f"/residents/{her['id']}").headers["etag"]
        assert staff.post(f"/residents/{her['id']}/erase", {"reason": "purpose-fulfilled"},
                          if_match=etag).status_code == 200
        mirror("http://testserver", "demo-system-mirror", target, cursor=copied.cursor,
               client=own_api.client)
        secrets = [her["name"], her["contactPoints"][0]["phone"],
                   her["identityDocuments"][0]["number"], _premises(her)]
        source = own_api.client.app.state.sc.service.store  # type: ignore[attr-defined]
        _hold_nothing_of(secrets, source, target)



def test_a_mirror_clears_what_the_source_swept(tmp_path: Path) -> None:
    """The source's retention sweep clears the personal members of a closed issue and of an
    opinion replied to long ago, and erases a resident who left long ago, rewriting the
    earlier states it keeps; a mirror's copies of those states go too
    (/req/privacy/retention), not only the versions the feed brings."""
    rng = random.Random(5)
    app = _app(f"sqlite:///{tmp_path / 'source.sqlite3'}")
    with TestClient(app) as client, contextlib.ExitStack() as stack:
        api = Api(client)
        closed = _closed_issue(rng)
        left = _left_resident(rng, (NOW - timedelta(days=1)).date().isoformat())
        opinion = _voiced("opinion/lift-door-to-door-wang-guiying.json",
                          NOW - timedelta(days=1), new_id(), "氏镜")
        app.state.sc.service.load([closed, left, opinion])
        naming = submitted_issue(reporterDisclosure="public")
        naming["submittedBy"] = {"onBehalfOf": _ref(left)}
        naming["history"][0]["actor"] = {"onBehalfOf": _ref(left)}
        naming["reporterContact"] = {"name": left["name"], "phone": _phone(rng)}
        assert api.staff.create(naming).status_code == 201
        target = Store(f"sqlite:///{tmp_path / 'mirror.sqlite3'}")
        stack.callback(target.dispose)
        target.migrate()
        copied = mirror("http://testserver", "demo-system-mirror", target, client=client)
        secrets = [closed["reporterContact"]["phone"], left["name"],
                   left["identityDocuments"][0]["number"], naming["reporterContact"]["phone"],
                   *_whose(opinion, "氏镜")]
        assert all(s in _stored_text(target) for s in secrets)  # the test sees what it seeks
        counts = app.state.sc.service.sweep(NOW + timedelta(days=3 * 366))
        assert counts["recordsCleared"] >= 1 and counts["residentsErased"] == 1
        mirror("http://testserver", "demo-system-mirror", target, cursor=copied.cursor,
               client=client)
        _hold_nothing_of(secrets, app.state.sc.service.store, target)


def _hold_nothing_of(secrets: list[str], source: Store, target: Store) -> None:
    """Neither store keeps any of ``secrets`` in any state, and the mirror holds the source's
    records exactly."""
    for store in (source, target):
        text = _stored_text(store)
        assert not [s for s in secrets if s in text], store.url
    with source.read() as tx:
        expected = {(s.rtype, s.id): s.text for s in tx.all_resources()}
    with target.read() as tx:
        assert {(s.rtype, s.id): s.text for s in tx.all_resources()} == expected


def _stored_text(store: Store) -> str:
    """Every state a store keeps, its records and its change events, as one text."""
    with store.read() as tx:
        rows = [*tx.conn.exec_driver_sql("SELECT doc FROM resources"),
                *tx.conn.exec_driver_sql("SELECT data FROM events")]
    return "\n".join(str(r[0]) for r in rows)


# -- the records stored before: revision 0004 ---------------------------------------------------

def test_stored_records_get_the_residents_they_ever_named(database: str) -> None:
    """Revision 0004 records every resource that a state in the change feed names a resident
    in, as writing them now does, including one whose current version no longer names her
    (her erasure still rewrites its earlier states); its downgrade drops the table."""
    store = Store(database, group_commit=False)
    try:
        store.migrate()
        docs = list(generate(Scale(residents=5, issues=10, consultations=3)))
        service = Service(Settings(database_url=database), store)
        import_lines(service, [(str(i), orjson.dumps(d)) for i, d in enumerate(docs)])
        engine = store.read_engine

        def recorded() -> list[tuple[str, str]]:
            with engine.connect() as conn:
                return sorted((r[0], r[1]) for r in conn.execute(text(
                    "SELECT n.resident, r.id FROM named_ever n JOIN resources r"
                    " ON r.seq = n.rseq")).all())

        written = recorded()
        assert written == sorted((rid, d["id"]) for d in docs for rid in named_residents(d))
        issue = next(d for d in docs if d["resourceType"] == "Issue" and named_residents(d))
        with engine.begin() as conn:
            command.downgrade(migrations_config(conn), "0003")
            # The issue's current version stops naming anyone, as after a later write: the
            # revision finds it by its state in the feed.
            conn.execute(text("UPDATE resources SET doc = :doc WHERE id = :id"),
                         {"doc": orjson.dumps({"resourceType": "Issue"}).decode(),
                          "id": issue["id"]})
        assert "named_ever" not in inspect(engine).get_table_names()
        with engine.begin() as conn:
            command.upgrade(migrations_config(conn), "head")
        assert recorded() == written
    finally:
        store.dispose()


# -- every write path keeps what a state named ------------------------------------------------

def _mention(doc_id: str, names: str | None, version: int) -> Change:
    """A bare consultation's state, naming resident ``names`` as a party or no one."""
    doc: dict[str, Any] = {"resourceType": "Consultation", "id": doc_id,
                           "divisionCode": "110105009999"}
    if names:
        doc["parties"] = [{"id": "p", "person": {"name": "某", "resident": {
            "resourceType": RESIDENT, "id": names}}}]
    return Change("Consultation", doc_id, version, orjson.dumps(doc).decode(), doc,
                  "created" if version == 1 else "updated",
                  "create" if version == 1 else "update", "2026-01-01T00:00:00+08:00")


@pytest.mark.parametrize("path", ["one-by-one", "import", "mirror"])
def test_a_state_that_named_her_is_kept_whatever_follows(database: str, path: str) -> None:
    """Whether a record's states are written one at a time (the API), in an import batch or
    as a mirror's upserts, a resident it named in any state stays found, after later states
    name her no more (and the current terms no longer do)."""
    store = Store(database, group_commit=False)
    try:
        store.migrate()
        her, other, rid = new_id(), new_id(), new_id()
        states = [_mention(rid, her, 1), _mention(rid, other, 2), _mention(rid, None, 3)]
        if path == "mirror":
            # The second batch upserts a stored record, its first state not its last.
            for batch in (states[:1], states[1:]):
                with store.write() as tx:
                    tx.write_many(batch, upsert=True)
        else:
            with store.write() as tx:
                if path == "import":
                    tx.write_many(states[:1], upsert=False)
                else:
                    assert tx.insert("Consultation", rid, 1, states[0].text,
                                     derive(states[0].doc)) is not None
            for state in states[1:]:
                with store.write() as tx:
                    stored = tx.get("Consultation", rid)
                    assert stored is not None
                    assert tx.replace(stored, state.version, state.text, derive(state.doc))
        with store.read() as tx:
            assert [s.id for s in tx.named_ever(her, ["Consultation"])] == [rid]
            assert [s.id for s in tx.named_ever(other, ["Consultation"])] == [rid]
            assert tx.naming(her, ["Consultation"]) == []  # her current term: gone
            assert tx.named_ever(her, ["Issue"]) == []
    finally:
        store.dispose()


def _remembered(client: TestClient) -> str:
    """Everything a server process holds in its memory of redacted records: each entry's
    stored text and what was made of it."""
    memory = client.app.state.sc.service.access.presentations  # type: ignore[attr-defined]
    with memory._lock:
        entries = list(memory._entries.values())
    return "".join(bytes(e.source if isinstance(e.source, bytes) else e.source.encode()
                         ).decode() + e.text.decode() for e in entries)


def test_no_process_remembers_her_after_her_erasure(database: str) -> None:
    """Two server processes on one store remember the records naming her as they served
    them; once one of them erases her, neither keeps any earlier text of those records in
    its memory, whichever wrote (/req/privacy/erasure-every-copy)."""
    with TestClient(make_app(database)) as one, \
            TestClient(make_app(database, demo=False)) as other:
        clients = (one, other)
        staff = Api(one).staff
        her = _unique_person(7)
        assert staff.create(her).status_code == 201
        paths = []
        for build, _ in HOLDERS.values():
            doc = build(her)
            assert staff.create(doc).status_code == 201
            paths.append(f"/{PLURAL[doc['resourceType']]}/{doc['id']}")
        for client in clients:
            for path in paths:
                for role in ("community-staff", "system", "regulator"):
                    assert Api(client).as_(role).get(path).status_code == 200
        # what the test looks for is there: both remember her name with the records
        assert all(her["name"] in _remembered(c) for c in clients)

        secrets = _erase(staff, her)
        # Each process's watcher reads the feed every second: waited for, not driven.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(
                s in _remembered(c) for c in clients for s in secrets):
            time.sleep(0.1)
        for client in clients:
            held = _remembered(client)
            assert not [s for s in secrets if s in held]
