"""The change feed: one CloudEvent per write, gap-free order, resumable, and a faithful mirror."""

from __future__ import annotations

import contextlib
import copy
import threading
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from reference_server.mirror import mirror
from reference_server.service import Service
from reference_server.settings import Settings
from reference_server.storage import Store
from smartcommunity.integrity import verify_feed
from smartcommunity.specification import LATEST_CURSOR

from .helpers import SPEC, Api, submitted_issue, throwaway_pg

EVENT = Draft202012Validator(SPEC.schema("event.json"), registry=SPEC.registry,
                             format_checker=Draft202012Validator.FORMAT_CHECKER)


def _all(api: Api, who: str = "system", cursor: str | None = None,
         limit: int = 500) -> tuple[list[dict[str, Any]], str]:
    events: list[dict[str, Any]] = []
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        page = api.as_(who).get("/changes", params=params).json()
        assert isinstance(page["next"], str) and page["next"]
        events += page["items"]
        if not page["items"]:
            return events, page["next"]
        cursor = page["next"]


def test_one_cloudevent_per_write(api: Api) -> None:
    """/req/change-feed/event-per-write, /req/change-feed/cloudevents, full-state."""
    _, tail = _all(api)
    doc = submitted_issue()
    created = api.staff.create(doc).json()
    body = copy.deepcopy(created)
    body["title"] = "消防通道被占用，请尽快处理"
    updated = api.staff.put(f"/issues/{doc['id']}", body, if_match='"1"').json()
    acted = api.staff.act("Issue", doc["id"], "accept", {}, etag='"2"').json()
    assert api.staff.act("Issue", doc["id"], "accept", {}, etag='"3"').status_code == 409
    events, _ = _all(api, cursor=tail)
    mine = [e for e in events if e["subject"] == f"issues/{doc['id']}"]
    assert [(e["type"].rsplit(".", 1)[1], e["action"], e["resourceversion"]) for e in mine] == [
        ("created", "create", "1"), ("updated", "update", "2"), ("transitioned", "accept", "3")]
    assert [e["data"] for e in mine] == [created, updated, acted]
    for event in events:
        assert [e.message for e in EVENT.iter_errors(event)] == []
        assert event["dataschema"] == SPEC.schema_uri(event["data"]["resourceType"])


def test_order_is_gap_free_for_every_reader_and_resumable(api: Api) -> None:
    """/req/change-feed/order and /req/change-feed/resume."""
    for _ in range(3):
        api.staff.create(submitted_issue())
    everything, end = _all(api)
    sequences = [int(e["sequence"]) for e in everything]
    assert sequences == list(range(1, len(sequences) + 1))
    assert len({e["id"] for e in everything}) == len(everything)
    paged, end_paged = _all(api, limit=7)
    assert paged == everything and end_paged == end
    # From any cursor: exactly the events after it.
    cursor = None
    for i in range(0, len(everything), 5):
        page = api.as_("system").get("/changes", params={"limit": 5, **(
            {"cursor": cursor} if cursor else {})}).json()
        assert page["items"] == everything[i:i + 5]
        cursor = page["next"]
    caught_up = api.as_("system").get("/changes", params={"cursor": end}).json()
    assert caught_up == {"items": [], "next": end}
    # Scoped readers see the same numbers: events they may not read come withheld, not omitted.
    for who in ("community-staff", "department", "public", "resident"):
        seen, _ = _all(api, who)
        assert [int(e["sequence"]) for e in seen] == sequences, who


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=st.integers(0, 3), later=st.integers(0, 3), who=st.sampled_from(
    ["system", "community-staff", "public"]))
def test_latest_starts_at_the_end_for_any_reader(api: Api, before: int, later: int,
                                                 who: str) -> None:
    """/req/change-feed/latest: no events, a cursor at the end; from it exactly what comes
    after, the same as a reader who read the whole feed gets."""
    for _ in range(before):
        api.staff.create(submitted_issue())
    _, end = _all(api, who)
    page = api.as_(who).get("/changes", params={"cursor": LATEST_CURSOR}).json()
    assert page["items"] == [] and page["next"] not in ("", LATEST_CURSOR)
    for _ in range(later):
        api.staff.create(submitted_issue())
    from_latest, _ = _all(api, who, page["next"])
    from_end, _ = _all(api, who, end)
    assert from_latest == from_end
    assert len(from_latest) >= later


def test_concurrent_writers_commit_in_sequence(app: Any) -> None:
    """Serialised writers: concurrent transactions cannot commit out of order or leave gaps."""
    service: Service = app.state.sc.service
    store = service.store
    with store.read() as tx:
        start = tx.last_event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for _ in range(10):
                service.load([submitted_issue()], validate=False)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with store.read() as tx:
        rows = tx.events(start, 1000)
    assert [r.seq for r, _ in rows] == list(range(start + 1, start + 61))



def _terms(store: Store) -> dict[tuple[str, str], list[tuple[Any, ...]]]:
    """Every resource's filter terms, by its type and id (seqs differ between stores)."""
    with store.read() as tx:
        rows = tx.conn.exec_driver_sql(
            "SELECT r.rtype, r.id, t.kind, t.value, t.until FROM resource_terms t "
            "JOIN resources r ON r.seq = t.rseq")
        found: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
        for rtype, rid, *term in rows:
            found.setdefault((rtype, rid), []).append(tuple(term))
    return {key: sorted(terms) for key, terms in found.items()}


def test_mirror_copies_everything(own_api: Api, backend: str, tmp_path: Path) -> None:
    """A second server on the same database mirrors the first through the feed: the same
    data and filter terms, resumable; a resource changed later is written over."""
    api = own_api
    earlier = api.staff.create(submitted_issue()).json()
    with contextlib.ExitStack() as stack:
        target = Store(f"sqlite:///{tmp_path / 'mirror.sqlite3'}" if backend == "sqlite"
                       else stack.enter_context(throwaway_pg("sc_mirror_target")))
        stack.callback(target.dispose)
        target.migrate()
        result = mirror("http://testserver", "demo-system-mirror", target, client=api.client)
        assert result.events > 0 and result.cursor
        with target.read() as tx:  # chained as written, not when a server next starts on it
            assert all(row.chain for row, _ in tx.events(0, 100000))
        # More changes, one of them to a resource mirrored already; continue from the cursor.
        api.staff.create(submitted_issue())
        assert api.staff.act("Issue", earlier["id"], "accept").status_code == 200
        more = mirror("http://testserver", "demo-system-mirror", target,
                      cursor=result.cursor, client=api.client)
        assert more.events >= 2
        source = api.client.app.state.sc.service.store  # type: ignore[attr-defined]
        with source.read() as tx:
            expected = {(s.rtype, s.id): (s.version, orjson.loads(s.text))
                        for s in tx.all_resources()}
            source_events = tx.last_event()
        with target.read() as tx:
            got = {(s.rtype, s.id): (s.version, orjson.loads(s.text))
                   for s in tx.all_resources()}
            assert tx.last_event() == source_events
        assert got == expected
        assert got[("Issue", earlier["id"])][1]["status"] == "accepted"
        assert _terms(target) == _terms(source)
        # The mirror's own feed serves the same states (so it can be mirrored in turn).
        second = Service(Settings(database_url=str(target.url)), target)
        with target.read() as tx:
            rows = tx.events(0, 100000)
        assert [r.seq for r, _ in rows] == list(range(1, len(rows) + 1))
        assert second.source.startswith("urn:uuid:")
        # Its events are its own, each salted afresh (/req/change-feed/chain-digest): no
        # salt of the source's is passed on, and the chain checks.
        with source.read() as tx:
            copied = {r.salt for r, _ in tx.events(0, 100000)}
        salts = [r.salt for r, _ in rows]
        assert None not in salts and len(set(salts)) == len(salts)
        assert not copied & set(salts)
        assert verify_feed([second.event(r) for r, _ in rows], histories=False) == []
        # Run again from the start (as after a stop whose cursor was lost): no resource goes
        # back to an older version and no event is written twice.
        mirror("http://testserver", "demo-system-mirror", target, client=api.client)
        with target.read() as tx:
            assert {(s.rtype, s.id): (s.version, orjson.loads(s.text))
                    for s in tx.all_resources()} == expected
            assert tx.last_event() == source_events


def test_a_reader_kept_from_some_records_mirrors_what_it_sees(own_api: Api,
                                                              tmp_path: Path) -> None:
    """A mirror whose token does not see everything receives withheld events in the place of
    the others (/req/change-feed/withheld): it skips them and stores what it sees."""
    api = own_api
    api.staff.create(submitted_issue())
    target = Store(f"sqlite:///{tmp_path / 'partial.sqlite3'}")
    try:
        target.migrate()
        result = mirror("http://testserver", "demo-dept-housing", target, strict=False,
                        client=api.client)
        seen = [e for e in _all(api, who="department")[0] if "data" in e]
        assert result.events > len(seen) > 0  # withheld events were among those read
        with target.read() as tx:
            assert tx.last_event() == len(seen)
    finally:
        target.dispose()


def test_a_merge_makes_one_event_per_issue_written_each_naming_the_merge(api: Api) -> None:
    """/req/change-feed/event-per-write: one event per resource written, each with its cause."""
    target, duplicate = submitted_issue(), submitted_issue()
    api.staff.create(target)
    api.staff.create(duplicate)
    _, tail = _all(api)
    merged = api.staff.act("Issue", duplicate["id"], "merge",
                           {"details": {"mergedInto": target["id"]}},
                           etag='"1"')
    assert merged.status_code == 200, merged.text
    events, _ = _all(api, cursor=tail)
    written = [(e["subject"], e["type"].rsplit(".", 1)[1], e["action"]) for e in events]
    assert len(written) == 2 and set(written) == {
        (f"issues/{duplicate['id']}", "transitioned", "merge"),
        (f"issues/{target['id']}", "updated", "merge")}


def test_a_feed_keeps_the_source_its_chain_was_written_with(database: str) -> None:
    """/req/change-feed/chain-digest: every event's chain digest covers its source, so a
    store whose feed is written refuses another source (which would break the chain readers
    checked and make old events look new); one with no events yet takes it."""
    store = Store(database, group_commit=False)
    try:
        store.migrate()
        assert store.source_uri("urn:example:first") == "urn:example:first"
        assert store.source_uri("urn:example:renamed") == "urn:example:renamed"  # no events
        service = Service(Settings(database_url=database, source_uri="urn:example:renamed"),
                          store)
        service.load([submitted_issue()])
        assert store.source_uri() == store.source_uri("urn:example:renamed") == \
            "urn:example:renamed"
        with pytest.raises(ValueError, match="urn:example:renamed"):
            store.source_uri("urn:example:third")
    finally:
        store.dispose()
