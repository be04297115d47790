"""The Alembic migrations create exactly the tables, columns and indexes ``_tables.py`` declares.

The comparison is Alembic's own autogenerate diff, so any drift between the two (a column, a
type, a nullability, an index, a unique constraint) fails, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import orjson
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import (
    Column,
    Engine,
    Index,
    MetaData,
    String,
    Text,
    create_engine,
    inspect,
    text,
)

from benchmarks.city import Scale, generate
from reference_server.service import Service, import_lines
from reference_server.settings import Settings
from reference_server.storage import (
    VISIBILITY,
    Store,
    external_ref_key,
    metadata,
    migrations_config,
)
from reference_server.storage._person import person_facts

from .helpers import throwaway_pg


def _migrated(url: str) -> None:
    store = Store(url, group_commit=False)
    try:
        store.migrate()
    finally:
        store.dispose()


def _terms_of(engine: Engine, kind: str) -> list[tuple[str, str]]:
    """(resource id, value) of every index term of ``kind``, by id."""
    with engine.connect() as conn:
        return [(str(r[0]), str(r[1])) for r in conn.execute(text(
            "SELECT r.id, t.value FROM resource_terms t JOIN resources r"
            " ON r.seq = t.rseq WHERE t.kind = :kind ORDER BY r.id"), {"kind": kind}).all()]


def _drift(engine: Engine, target: MetaData) -> list[Any]:
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), target))


def test_migrations_create_exactly_the_declared_tables(database: str) -> None:
    _migrated(database)
    engine = create_engine(database)
    try:
        assert _drift(engine, metadata) == []
        declared = set(metadata.tables)
        assert set(inspect(engine).get_table_names()) == declared | {"alembic_version"}
    finally:
        engine.dispose()


def test_migrating_twice_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'twice.sqlite3'}"
    _migrated(url)
    _migrated(url)  # a second worker starting on the same database
    engine = create_engine(url)
    try:
        assert _drift(engine, metadata) == []
    finally:
        engine.dispose()


def test_downgrade_removes_every_table(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'down.sqlite3'}"
    _migrated(url)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            command.downgrade(migrations_config(conn), "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()


def test_the_comparison_sees_drift(tmp_path: Path) -> None:
    """Declared tables that differ from the migrated ones by one column, one type or one
    index are each reported: the comparison above would fail on drift."""
    url = f"sqlite:///{tmp_path / 'drift.sqlite3'}"
    _migrated(url)
    changed = MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(changed)
    resources, events = changed.tables["resources"], changed.tables["events"]
    resources.append_column(Column("added", Text))
    events.c.kind.type = String(events.c.kind.type.length * 2)  # type: ignore[attr-defined]
    Index("ix_events_added", events.c.rid)
    engine = create_engine(url)
    try:
        diffs = _drift(engine, changed)
    finally:
        engine.dispose()
    # Alembic gives column changes as a list of operations, the others as one tuple each.
    operations = [op for d in diffs for op in (d if isinstance(d, list) else [d])]
    assert sorted(op[0] for op in operations) == ["add_column", "add_index", "modify_type"]


def _compression(engine: Engine) -> dict[str, str]:
    """table.column → how PostgreSQL compresses the values written to it from now on."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT attrelid::regclass::text || '.' || attname, attcompression FROM pg_attribute"
            " WHERE (attrelid, attname) IN (('resources'::regclass, 'doc'),"
            " ('events'::regclass, 'data'))").all()
    return {name: {"l": "lz4", "p": "pglz", "": "default"}[method] for name, method in rows}


def test_postgresql_compresses_documents_with_lz4() -> None:
    """A city's documents are written compressed with LZ4 (PostgreSQL's pglz spent a quarter
    of its processor time on an import compressing them), and read back whole; a downgrade
    returns the columns to pglz."""
    with throwaway_pg("sc_lz4") as url:
        store = Store(url, group_commit=False)
        try:
            store.migrate()
            engine = store.read_engine
            with engine.connect() as conn:
                if "lz4" not in conn.exec_driver_sql(
                        "SELECT enumvals FROM pg_settings"
                        " WHERE name = 'default_toast_compression'").scalar():
                    pytest.skip("this PostgreSQL is built without LZ4")
            assert _compression(engine) == {"resources.doc": "lz4", "events.data": "lz4"}
            docs = list(generate(Scale(residents=10, issues=40, consultations=2)))
            service = Service(Settings(database_url=url), store)
            import_lines(service, [(str(i), orjson.dumps(d)) for i, d in enumerate(docs)])
            with engine.connect() as conn:
                methods = conn.exec_driver_sql(
                    "SELECT DISTINCT pg_column_compression(doc) FROM resources"
                    " WHERE length(doc) > 4000 UNION SELECT DISTINCT pg_column_compression(data)"
                    " FROM events WHERE length(data) > 4000").scalars().all()
                stored = conn.exec_driver_sql(
                    "SELECT doc FROM resources ORDER BY seq").scalars().all()
            assert methods == ["lz4"]
            assert [orjson.loads(d)["id"] for d in stored] == [d["id"] for d in docs]
            with engine.begin() as conn:
                command.downgrade(migrations_config(conn), "0001")
            assert _compression(engine) == {"resources.doc": "pglz", "events.data": "pglz"}
        finally:
            store.dispose()


def test_stored_consultations_get_their_visibility_terms(database: str) -> None:
    """Revision 0003 indexes the visibility of the consultations a store held before it, as
    writing them now would (lists filter by it: /req/privacy/visibility); its downgrade
    takes them away."""
    store = Store(database, group_commit=False)
    try:
        store.migrate()
        docs = list(generate(Scale(residents=5, issues=10, consultations=6)))
        service = Service(Settings(database_url=database), store)
        import_lines(service, [(str(i), orjson.dumps(d)) for i, d in enumerate(docs)])
        engine = store.read_engine

        def indexed() -> list[tuple[str, str]]:
            return _terms_of(engine, VISIBILITY)

        written = indexed()
        assert written == sorted((d["id"], d["visibility"]) for d in docs
                                 if d["resourceType"] == "Consultation")
        for target in ("0002", "head"):
            with engine.begin() as conn:
                (command.downgrade if target == "0002" else command.upgrade)(
                    migrations_config(conn), target)
            assert indexed() == ([] if target == "0002" else written)
    finally:
        store.dispose()


def test_stored_issues_get_their_published_grid_terms(database: str) -> None:
    """Revision 0005 indexes the grid of the issues a store held before it that their decision
    publishes down to the grid, as writing them now would (the public's and residents' ?grid=
    reads them: /req/privacy/filter-what-is-seen); its downgrade takes them away."""
    from reference_server.storage import PUBLISHED_GRID

    store = Store(database, group_commit=False)
    try:
        store.migrate()
        docs = list(generate(Scale(residents=5, issues=12, consultations=0)))
        issues = [d for d in docs if d["resourceType"] == "Issue" and d.get("gridCode")]
        decisions: list[dict[str, Any] | None] = [
            None, {"published": False, "area": "grid"}, {"published": True},
            {"published": True, "area": "community"}, {"published": True, "area": "grid"}]
        for n, doc in enumerate(issues):
            decision = decisions[n % len(decisions)]
            if decision is None:
                doc.pop("publication", None)
            else:
                doc["publication"] = dict(decision)
        service = Service(Settings(database_url=database), store)
        import_lines(service, [(str(i), orjson.dumps(d)) for i, d in enumerate(docs)],
                     validate=False)
        engine = store.read_engine

        def indexed() -> list[tuple[str, str]]:
            return _terms_of(engine, PUBLISHED_GRID)

        written = indexed()
        assert written == sorted(
            (d["id"], d["gridCode"]) for d in issues
            if (d.get("publication") or {}).get("published") is True
            and d["publication"].get("area") == "grid")
        assert written  # the generated issues have grids: some are published down to them
        for target in ("0004", "head"):
            with engine.begin() as conn:
                (command.downgrade if target == "0004" else command.upgrade)(
                    migrations_config(conn), target)
            assert indexed() == ([] if target == "0004" else written)
    finally:
        store.dispose()



def _small_city(database: str) -> Store:
    """A store migrated to the head revision holding a small generated city, imported."""
    store = Store(database, group_commit=False)
    store.migrate()
    docs = list(generate(Scale(residents=5, issues=8, consultations=2)))
    import_lines(Service(Settings(database_url=database), store),
                 [(str(i), orjson.dumps(d)) for i, d in enumerate(docs)])
    return store


def test_stored_events_get_salts_and_are_sealed_again(database: str) -> None:
    """Revision 0006 gives the feed's events a salt column and clears their chain digests;
    the server's next start salts each event stored without one and seals the feed again, so
    every event's digest covers a salt of its own and the chain checks
    (/req/change-feed/chain-digest). Its downgrade takes the salts away and leaves the feed
    to be sealed again without them."""
    from smartcommunity.integrity import verify_feed

    store = _small_city(database)
    try:
        engine = store.read_engine

        def stored() -> list[tuple[Any, ...]]:
            columns = "chain, salt" if "salt" in {
                c["name"] for c in inspect(engine).get_columns("events")} else "chain, NULL"
            with engine.connect() as conn:
                return [tuple(r) for r in conn.exec_driver_sql(
                    f"SELECT {columns} FROM events ORDER BY seq").all()]

        sealed = stored()
        assert sealed and all(chain and salt for chain, salt in sealed)
        with engine.begin() as conn:
            command.downgrade(migrations_config(conn), "0005")
        assert set(stored()) == {(None, None)}
        with engine.begin() as conn:
            command.upgrade(migrations_config(conn), "head")
        assert set(stored()) == {(None, None)}
        service = Service(Settings(database_url=database), store)
        again = stored()
        salts = [salt for _, salt in again]
        assert all(chain for chain, _ in again) and None not in salts
        assert len(set(salts)) == len(salts)
        with store.read() as tx:
            events = [service.event(row) for row, _ in tx.events(0, 100000)]
        assert [e["eventsalt"] for e in events] == salts
        assert verify_feed(events, histories=False) == []
    finally:
        store.dispose()


def test_stored_histories_get_salts_the_same_in_every_state(database: str) -> None:
    """Revision 0007 gives every history event of the stored records a salt, the same in the
    record's current version and in each earlier state of it the feed keeps, rewrites the
    links that were right over them and clears the digests that covered them; the server's
    next start seals the feed again, and every chain checks (/req/core/history-chain). Its
    downgrade takes the salts away and writes the links again without them."""
    from smartcommunity.integrity import verify_feed, verify_history

    store = _small_city(database)
    try:
        engine = store.read_engine

        def histories() -> dict[str, list[list[Any]]]:
            """Each record's events' salts: in its current version, then in each state."""
            out: dict[str, list[list[Any]]] = {}
            with engine.connect() as conn:
                for query in ("SELECT id, doc FROM resources ORDER BY seq",
                              "SELECT rid, data FROM events ORDER BY seq"):
                    for rid, text in conn.exec_driver_sql(query).all():
                        doc = orjson.loads(text)
                        if doc.get("history"):
                            assert verify_history(doc) == [], rid
                            out.setdefault(rid, []).append(
                                [e.get("salt") for e in doc["history"]])
            return out

        def salts_agree(found: dict[str, list[list[Any]]]) -> list[Any]:
            every = []
            for states in found.values():
                current = states[0]
                assert all(state == current[:len(state)] for state in states[1:])
                every += current
            return every

        imported = salts_agree(histories())
        assert imported and None not in imported and len(set(imported)) == len(imported)
        with engine.begin() as conn:
            command.downgrade(migrations_config(conn), "0006")
        assert set(salts_agree(histories())) == {None}
        with engine.begin() as conn:
            command.upgrade(migrations_config(conn), "head")
        migrated = salts_agree(histories())
        assert None not in migrated and len(set(migrated)) == len(migrated)
        assert not set(migrated) & set(imported)
        with engine.connect() as conn:
            cleared = conn.exec_driver_sql(
                "SELECT count(*) FROM events WHERE chain IS NULL").scalar()
        assert cleared
        service = Service(Settings(database_url=database), store)
        with store.read() as tx:
            events = [service.event(row) for row, _ in tx.events(0, 100000)]
        assert verify_feed(events) == []
    finally:
        store.dispose()


def test_pending_requests_of_restricted_records_keep_the_restriction(database: str) -> None:
    """Revision 0008 gives a request made while a record was restricted, stored before it,
    restrictedAt as a server writes it now, in the current version and in every state of
    the request in the feed (/req/residents/rights-request); a request of a record never
    restricted, or one whose earlier state the feed does not hold, gets none. Its downgrade
    takes the marker away."""
    from fastapi.testclient import TestClient

    from .conftest import make_app
    from .helpers import Api
    from .test_restriction_kept import PATHS, _ask, _load, _restricted

    with TestClient(make_app(database, demo=False)) as client:
        api = Api(client)
        kept = [_restricted() for _ in PATHS]
        never, imported = _restricted("none"), _restricted("erasure-requested")
        never["restriction"] = {"state": "none"}
        for doc in (*kept, never, imported):
            _load(api, doc)
        for doc, steps in zip(kept, PATHS.values(), strict=True):
            _ask(api, f"/residents/{doc['id']}", steps)
        _ask(api, f"/residents/{never['id']}", PATHS["erasure-request"])
    store = Store(database, group_commit=False)
    try:
        engine = store.read_engine

        def marks() -> dict[str, list[Any]]:
            """Each resident's restrictedAt: in its current version, then in each state."""
            out: dict[str, list[Any]] = {}
            with engine.connect() as conn:
                for query in ("SELECT id, doc FROM resources WHERE rtype = 'Resident'",
                              "SELECT rid, data FROM events WHERE rtype = 'Resident' "
                              "ORDER BY seq"):
                    for rid, text in conn.exec_driver_sql(query).all():
                        restriction = orjson.loads(text).get("restriction") or {}
                        out.setdefault(rid, []).append(restriction.get("restrictedAt"))
            return out

        written = marks()
        for doc, steps in zip(kept, PATHS.values(), strict=True):
            decided = doc["restriction"]["decidedAt"]
            # current, then the state loaded restricted and one for each request
            assert written[doc["id"]] == [decided, None, *[decided] * len(steps)]
        assert set(written[never["id"]]) == set(written[imported["id"]]) == {None}
        with engine.begin() as conn:
            command.downgrade(migrations_config(conn), "0007")
        assert {m for found in marks().values() for m in found} == {None}
        with engine.begin() as conn:
            command.upgrade(migrations_config(conn), "head")
        assert marks() == written
    finally:
        store.dispose()


def _down_and_up(engine: Engine, revision: str, table: str, column: str) -> None:
    """Downgrade to ``revision``, which drops ``table``'s ``column``, and upgrade again."""
    with engine.begin() as conn:
        command.downgrade(migrations_config(conn), revision)
    assert column not in {c["name"] for c in inspect(engine).get_columns(table)}
    with engine.begin() as conn:
        command.upgrade(migrations_config(conn), "head")


def test_stored_terms_get_their_resource_type(database: str) -> None:
    """Revision 0009 gives every term stored before it the type of its resource, as writing
    it now does (a list of one type reads only its own terms); its downgrade takes the
    column away and gives the index back its columns."""
    store = _small_city(database)
    engine = store.read_engine
    query = text("SELECT t.rseq, t.kind, t.value, t.rtype, r.rtype FROM resource_terms t "
                 "JOIN resources r ON r.seq = t.rseq ORDER BY t.rseq, t.kind, t.value")
    try:
        with engine.connect() as conn:
            written = conn.execute(query).all()
        kinds = {(str(row[3]), str(row[1])) for row in written}
        assert {("Resident", "grid"), ("Issue", "grid")} <= kinds  # types share kinds
        assert all(row[3] == row[4] for row in written)
        _down_and_up(engine, "0008", "resource_terms", "rtype")
        with engine.connect() as conn:
            assert conn.execute(query).all() == written
        assert not _drift(engine, metadata)
    finally:
        store.dispose()


def test_stored_external_ref_terms_get_their_system_normalised(database: str) -> None:
    """Revision 0010 rewrites the external-reference terms stored before it with the system in
    normal form, as writing them now does: two spellings of one reference become one term, a
    term stored as a digest is derived again from its document, a normal one is kept."""
    store = _small_city(database)
    engine = store.read_engine
    hotline = "https://hotline12345.example.cn/work-orders"
    spelled = "HTTPS://Hotline12345.example.cn:443/./work-orders"
    long_system = "HTTP://Records.example.org:80/" + "x" * 150
    refs = {  # resource's refs as written, by the old terms' system
        0: [(spelled, "GD1"), (hotline, "GD1"), (spelled, "GD2")],
        1: [(long_system, "A-1")],
        2: [(hotline, "GD3")],
    }

    def old_term(system: str, value: str) -> str:  # as the store wrote it before 0010
        key = f"{system}|{value}"
        return key if len(key) <= 160 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()

    try:
        with engine.begin() as conn:
            command.downgrade(migrations_config(conn), "0009")
            seqs = conn.execute(text("SELECT seq FROM resources WHERE rtype = 'Issue' "
                                     "ORDER BY seq LIMIT 3")).scalars().all()
            for seq, written in zip(seqs, refs.values(), strict=True):
                doc = orjson.loads(conn.execute(text("SELECT doc FROM resources WHERE seq = :s"),
                                                {"s": seq}).scalar_one())
                doc["externalRefs"] = [{"system": s, "value": v} for s, v in written]
                conn.execute(text("UPDATE resources SET doc = :doc WHERE seq = :s"),
                             {"doc": orjson.dumps(doc).decode(), "s": seq})
                conn.execute(text("INSERT INTO resource_terms (rseq, kind, value, rtype) "
                                  "VALUES (:s, 'external-ref', :v, 'Issue')"),
                             [{"s": seq, "v": old_term(s, v)} for s, v in dict.fromkeys(
                                 (s, v) for s, v in written)])
            command.upgrade(migrations_config(conn), "head")
        with engine.connect() as conn:
            stored = {seq: set(conn.execute(text(
                "SELECT value FROM resource_terms WHERE kind = 'external-ref' AND rseq = :s"),
                {"s": seq}).scalars()) for seq in seqs}
        assert stored == {seq: {external_ref_key(s, v) for s, v in written}
                          for seq, written in zip(seqs, refs.values(), strict=True)}
        assert stored[seqs[0]] == {f"{hotline}|GD1", f"{hotline}|GD2"}
        assert stored[seqs[1]] != {old_term(*refs[1][0])}  # the digest of the normal form
    finally:
        store.dispose()


def test_stored_person_records_get_their_facts(database: str) -> None:
    """Revision 0011 gives every person record stored before it the facts a write derives now
    (what decides how it is served), and no other record any; its downgrade drops them."""
    store = _small_city(database)
    engine = store.read_engine
    query = text("SELECT rtype, doc, person_facts FROM resources ORDER BY seq")
    try:
        with engine.connect() as conn:
            written = conn.execute(query).all()
        assert sum(1 for row in written if row[2] is not None) == 5  # the city's residents
        _down_and_up(engine, "0010", "resources", "person_facts")
        with engine.connect() as conn:
            migrated = conn.execute(query).all()
        assert migrated == written
        assert all(facts == person_facts(orjson.loads(doc)) for _, doc, facts in migrated)
        assert not _drift(engine, metadata)
    finally:
        store.dispose()
