"""The storage layer: group commit keeps each job's outcome its own, on both databases; the
index table agrees with the schemas."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import fields
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference_server.errors import Conflict
from reference_server.storage import (
    INDEXES,
    Change,
    Derived,
    Duplicate,
    ListQuery,
    NewEvent,
    Scope,
    Store,
    Stored,
    derive,
    joined,
    split,
)
from reference_server.storage._commit import _Job
from smartcommunity.specification import load_spec

from .helpers import submitted_issue, throwaway_pg


def test_a_batch_commits_what_succeeded_and_only_that(app: Any) -> None:
    service = app.state.sc.service
    store: Store = service.store

    def _event(tx: Any, doc: dict[str, Any]) -> None:
        tx.write_many([service.import_change(doc, doc["submittedAt"])], upsert=False)

    assert store.committer is not None
    with store.read() as tx:
        start = tx.last_event()

    def refuses(tx: Any) -> None:
        raise Conflict("refused before writing")

    def breaks(tx: Any) -> None:
        _event(tx, submitted_issue())  # a write, then an unexpected failure
        raise RuntimeError("half done")

    good = [_Job(lambda tx: _event(tx, submitted_issue())) for _ in range(2)]
    bad_refusal, bad_crash = _Job(refuses), _Job(breaks)
    batch = [good[0], bad_refusal, bad_crash, good[1]]
    store.committer._commit(batch)
    assert all(item.done.is_set() for item in batch)
    assert isinstance(bad_refusal.error, Conflict)
    assert isinstance(bad_crash.error, RuntimeError)
    assert good[0].error is None and good[1].error is None
    with store.read() as tx:
        rows = tx.events(start, 100)
    assert [r.seq for r, _ in rows] == [start + 1, start + 2]  # the crashed job left nothing


def test_store_needs_a_file_or_postgresql(tmp_path: Any) -> None:
    with pytest.raises(ValueError):
        Store("sqlite://")
    with pytest.raises(ValueError):
        Store("mysql://localhost/x")


def _reaches(node: Any, path: tuple[str | None, ...], resolver: Any) -> bool:
    """Whether the schema ``node`` declares a member at ``path`` (None: an array's items)."""
    if not path:
        return True
    step, rest = path[0], path[1:]
    if step is None:
        if isinstance(node.get("items"), dict) and _reaches(node["items"], rest, resolver):
            return True
    elif step in node.get("properties", {}) and _reaches(node["properties"][step], rest,
                                                         resolver):
        return True
    if "$ref" in node:
        found = resolver.lookup(node["$ref"])
        if _reaches(found.contents, path, found.resolver):
            return True
    branches = [*node.get("allOf", ()), *node.get("anyOf", ()), *node.get("oneOf", ()),
                *(node[k] for k in ("then", "else") if isinstance(node.get(k), dict))]
    return any(_reaches(b, path, resolver) for b in branches)


def test_every_index_reads_members_its_schema_declares() -> None:
    """The index table names resource types of the spec, and members their schemas have."""
    spec = load_spec()
    assert set(INDEXES) <= set(spec.resource_types)
    derived_fields = {f.name for f in fields(Derived)}
    for rtype, index in INDEXES.items():
        root = spec.schema(rtype)
        resolver = spec.registry.resolver(base_uri=root["$id"])
        paths = [p for p in (index.community, index.community_fallback, index.departments)
                 if p is not None]
        paths += [*index.columns.values(), *(t.path for t in index.terms)]
        paths += [(*t.path[:-1], t.until) for t in index.terms if t.until]
        for path in paths:
            assert _reaches(root, path, resolver), (rtype, path)
        assert set(index.columns) <= derived_fields, rtype


def test_a_type_without_an_index_is_stored_without_scope() -> None:
    doc = {"resourceType": "NotIndexed", "id": "x", "status": "open",
           "meta": {"versionId": "1", "lastUpdated": "2025-06-01T08:00:00+08:00"}}
    derived = derive(doc, ["110101001001"])
    assert derived.status == "open" and derived.updated_at == "2025-06-01T00:00:00.000000Z"
    assert derived.communities == derived.departments == derived.terms == ()
    row = Stored.prepared(0, doc, "{}", derived)
    assert (row.rtype, row.id, row.version, row.doc) == ("NotIndexed", "x", 1, doc)


@given(st.lists(st.text(alphabet="ab", min_size=1, max_size=4), max_size=5))
def test_joined_lists_read_back(values: list[str]) -> None:
    assert split(joined(values)) == tuple(dict.fromkeys(values))


_CODE_PART = st.text(alphabet="ab-", min_size=1, max_size=3).filter(
    lambda s: not s.startswith("-") and not s.endswith("-") and "--" not in s)
_CATEGORY = st.lists(_CODE_PART, min_size=1, max_size=3).map(".".join)


@pytest.fixture(scope="module")
def own_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A store of this module's own: the documents written here are bare, not for the
    shared application's lists."""
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('categories') / 'db.sqlite3'}")
    store.migrate()
    yield store
    store.dispose()


@pytest.fixture(scope="module")
def own_postgresql() -> Iterator[Store]:
    with throwaway_pg("sc_categories") as url:
        store = Store(url)
        store.migrate()
        yield store
        store.dispose()


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stored=st.lists(_CATEGORY, min_size=1, max_size=12), asked=_CATEGORY)
def test_category_filter_is_the_code_and_its_sub_codes(request: pytest.FixtureRequest,
                                                       dialect: str, stored: list[str],
                                                       asked: str) -> None:
    """``?category=a`` lists ``a`` and ``a.b`` but not ``a-b`` or ``ab``, read as an index
    range on either database, as the old pattern match did."""
    store = request.getfixturevalue(f"own_{dialect}")
    marker = f"cat-{uuid.uuid4().hex[:12]}"
    changes = []
    for n, category in enumerate(stored):
        doc = {"resourceType": "Issue", "id": f"{marker}-{n}", "category": category,
               "communityDivisionCode": "110105009999"}
        changes.append(Change("Issue", doc["id"], 1, orjson.dumps(doc).decode(), doc,
                              "created", "create", "2026-01-01T00:00:00+08:00"))
    with store.write() as tx:
        tx.write_many(changes, upsert=False)
    with store.read() as tx:
        rows = tx.page("Issue", ListQuery(category=asked, community="110105009999"),
                       Scope(), 0, 10_000)
    found = sorted(r.id for r in rows if r.id.startswith(marker))
    expected = sorted(f"{marker}-{n}" for n, c in enumerate(stored)
                      if c == asked or c.startswith(asked + "."))
    assert found == expected


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(titles=st.lists(st.text(min_size=1, max_size=3000), min_size=1, max_size=5))
def test_a_page_gives_each_stored_json_as_its_utf8(request: pytest.FixtureRequest,
                                                   dialect: str, titles: list[str]) -> None:
    """A list page hands over each record's stored JSON as the UTF-8 bytes it is stored as
    (served as stored, it is not decoded and encoded again), long texts (PostgreSQL keeps
    them apart, compressed), Chinese, escapes and astral characters alike; a single read
    gives the same JSON as text."""
    store = request.getfixturevalue(f"own_{dialect}")
    marker = f"utf8-{uuid.uuid4().hex[:12]}"
    texts = {}
    changes = []
    for n, title in enumerate(titles):
        doc = {"resourceType": "Issue", "id": f"{marker}-{n}", "title": title * 4,
               "communityDivisionCode": "110105009998"}
        texts[doc["id"]] = orjson.dumps(doc).decode()
        changes.append(Change("Issue", doc["id"], 1, texts[doc["id"]], doc, "created",
                              "create", "2026-01-01T00:00:00+08:00"))
    with store.write() as tx:
        tx.write_many(changes, upsert=False)
    with store.read() as tx:
        rows = [r for r in tx.page("Issue", ListQuery(community="110105009998"), Scope(), 0,
                                   10_000) if r.id.startswith(marker)]
        single = tx.get("Issue", f"{marker}-0")
    assert {r.id: r.json for r in rows} == {i: t.encode() for i, t in texts.items()}
    assert all(r.text == texts[r.id] and r.doc == orjson.loads(texts[r.id]) for r in rows)
    assert single is not None and single.text == texts[single.id]


def _bare_issue(rid: str) -> Change:
    doc = {"resourceType": "Issue", "id": rid, "category": "housing",
           "communityDivisionCode": "110105009999"}
    return Change("Issue", rid, 1, orjson.dumps(doc).decode(), doc, "created", "create",
                  "2026-01-01T00:00:00+08:00")


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(1, 30), data=st.data())
def test_an_import_batch_with_a_taken_id_names_it(
        request: pytest.FixtureRequest, dialect: str, size: int, data: st.DataObject) -> None:
    """A batch of new resources one of which is stored already raises Duplicate naming that
    id, wherever it stands in the batch (PostgreSQL streams the batch with COPY, which has no
    ON CONFLICT: the taken id is found after a savepoint); the import reports it."""
    store = request.getfixturevalue(f"own_{dialect}")
    marker = f"dup-{uuid.uuid4().hex[:12]}"
    with store.write() as tx:
        tx.write_many([_bare_issue(f"{marker}-taken")], upsert=False)
    batch = [_bare_issue(f"{marker}-{n}") for n in range(size)]
    batch.insert(data.draw(st.integers(0, size)), _bare_issue(f"{marker}-taken"))
    with pytest.raises(Duplicate) as refused, store.write() as tx:
        tx.write_many(batch, upsert=False)
    assert refused.value.rid == f"{marker}-taken"


def test_a_sequence_behind_its_table_is_not_reported_as_a_taken_id(
        own_postgresql: Store) -> None:
    """A seq already used (the sequence set back, say by a careless restore) fails the COPY on
    the primary key: that is the database's error, not an id the import repeats."""
    import psycopg

    rid = f"seq-{uuid.uuid4().hex[:12]}"
    with own_postgresql.write() as tx:
        tx.write_many([_bare_issue(rid)], upsert=False)
        used = tx.get("Issue", rid)
        assert used is not None
        tx.conn.exec_driver_sql(  # the next seq drawn is the one just used
            f"SELECT setval(pg_get_serial_sequence('resources', 'seq'), {used.seq}, false)")
    try:
        with pytest.raises(psycopg.errors.UniqueViolation), own_postgresql.write() as tx:
            tx.write_many([_bare_issue(f"seq-{uuid.uuid4().hex[:12]}")], upsert=False)
    finally:
        with own_postgresql.write() as tx:
            tx.conn.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('resources', 'seq'), "
                "(SELECT max(seq) FROM resources))")


_TERMS = st.dictionaries(
    st.tuples(st.sampled_from(["grid", "named-resident", "department"]),
              st.sampled_from(["a", "b", "c"])),
    st.one_of(st.none(), st.sampled_from(["2026-01-31", "2026-12-31"])), max_size=6)


def _derived(terms: dict[tuple[str, str], str | None], at: str) -> Derived:
    return Derived(None, "110105009999", at, None, None, None, None, None,
                   ("110105009999",), (), tuple((k, v, u) for (k, v), u in terms.items()))


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(versions=st.lists(_TERMS, min_size=1, max_size=5), data=st.data())
def test_a_write_stores_its_row_terms_and_event_or_nothing(
        request: pytest.FixtureRequest, dialect: str,
        versions: list[dict[tuple[str, str], str | None]], data: st.DataObject) -> None:
    """Each version written leaves exactly its own terms (those it drops gone, a changed
    ``until`` rewritten), every resident any version named in ``named_ever``, and one event a
    version with the feed's numbers running on by one. A create of a taken id and an update
    from a stale version write nothing at all, and the next event follows the last without a
    gap (PostgreSQL writes all of it in one statement)."""
    store = request.getfixturevalue(f"own_{dialect}")
    rid = f"terms-{uuid.uuid4().hex[:12]}"

    def event(n: int) -> NewEvent:
        return NewEvent("created" if n == 1 else "updated", "create" if n == 1 else "update",
                        f"2026-01-0{n}T00:00:00+08:00")

    with store.write() as tx:
        first = tx.last_event()
        assert tx.insert("Issue", rid, 1, "{}", _derived(versions[0], "a"), event(1))
    for n, terms in enumerate(versions[1:], 2):
        with store.write() as tx:
            stored = tx.get("Issue", rid)
            assert stored is not None
            if data.draw(st.booleans(), label="refused first"):
                # a create of the same id, an update from a stale version: nothing written
                assert tx.insert("Issue", rid, 1, "{}", _derived(terms, "x"), event(1)) is None
                assert not tx.replace(stored, n, "{}", _derived(terms, "x"), n - 2, event(n))
            assert tx.replace(stored, n, "{}", _derived(terms, str(n)), n - 1, event(n))
    with store.read() as tx:
        stored = tx.get("Issue", rid)
        assert stored is not None and stored.version == len(versions)
        held = tx.conn.exec_driver_sql(
            f"SELECT kind, value, until FROM resource_terms WHERE rseq = {stored.seq}").all()
        named = tx.conn.exec_driver_sql(
            f"SELECT resident FROM named_ever WHERE rseq = {stored.seq}").all()
        feed = tx.conn.exec_driver_sql(
            f"SELECT seq, rid, version FROM events WHERE seq > {first} ORDER BY seq").all()
    assert sorted(tuple(r) for r in held) == sorted((k, v, u) for (k, v), u in versions[-1].items())
    assert {r[0] for r in named} == {v for terms in versions for k, v in terms
                                     if k == "named-resident"}
    assert [tuple(r) for r in feed] == [(first + n, rid, n) for n in range(1, len(versions) + 1)]


def _party(rid: str, version: int, names: str | None, division: str) -> Change:
    """A bare consultation's state naming resident ``names`` as a party, or no one."""
    doc: dict[str, Any] = {"resourceType": "Consultation", "id": rid, "divisionCode": division,
                           "title": f"v{version}"}
    if names:
        doc["parties"] = [{"id": "p", "person": {"name": "某", "resident": {
            "resourceType": "Resident", "id": names}}}]
    return Change("Consultation", rid, version, orjson.dumps(doc).decode(), doc,
                  "created" if version == 1 else "updated",
                  "create" if version == 1 else "update", "2026-01-01T00:00:00+08:00")


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(st.tuples(st.integers(0, 3), st.sampled_from([None, "a", "b"])),
                                 min_size=1, max_size=5), min_size=1, max_size=4),
       told=st.booleans())
def test_a_mirrors_batches_store_alike_on_both_databases(
        own_sqlite: Store, own_postgresql: Store,
        batches: list[list[tuple[int, str | None]]], told: bool) -> None:
    """A mirror's batches mix resources the store holds (written over) with new ones (on
    PostgreSQL copied as an import copies them): either way each resource's last state, its
    place in the lists and every resident any state named are what SQLite, writing each row
    with ON CONFLICT, stores."""
    marker = uuid.uuid4().hex[:12]
    division = f"1101{int(marker[:8], 16) % 10**8:08d}"
    residents = {name: f"{marker}-{name}" for name in ("a", "b")}
    versions: dict[int, int] = {}
    stores = (own_sqlite, own_postgresql)
    for batch in batches:
        changes = []
        for n, names in batch:
            versions[n] = versions.get(n, 0) + 1
            changes.append(_party(f"{marker}-{n}", versions[n],
                                  residents[names] if names else None, division))
        for store in stores:
            with store.write() as tx:
                # As the mirror does, which has looked them up already, or left to the store.
                held = set(tx.versions((c.rtype, c.rid) for c in changes)) if told else None
                tx.write_many(changes, upsert=True, held=held)

    def held(store: Store) -> tuple[Any, ...]:
        with store.read() as tx:
            listed = [(r.id, r.version, r.text) for r in tx.page(
                "Consultation", ListQuery(community=division), Scope(), 0, 100)]
            named = {name: sorted(s.id for s in tx.named_ever(rid, ["Consultation"]))
                     for name, rid in residents.items()}
            naming = {name: sorted(s.id for s in tx.naming(rid, ["Consultation"]))
                      for name, rid in residents.items()}
        return listed, named, naming

    sqlite, postgresql = map(held, stores)
    assert postgresql == sqlite
    assert len(sqlite[0]) == len(versions)


def test_a_checkpoint_in_progress_delays_scrubbing_but_does_not_fail_it(tmp_path: Any) -> None:
    """An erasure's freed pages leave SQLite's log by a truncating checkpoint; while another
    checkpoint runs (the store's own, every few seconds) SQLite refuses a second one at once.
    Scrubbing tries again rather than report the erasure's pages still in the log."""
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite3'}", group_commit=False)
    try:
        store.migrate()
        assert store.checkpointer is not None
        stop = threading.Event()

        def checkpoints() -> None:
            assert store.checkpointer is not None
            while not stop.is_set():
                store.checkpointer.checkpoint()

        thread = threading.Thread(target=checkpoints)
        thread.start()
        try:
            results = []
            for n in range(40):
                with store.write() as tx:
                    tx.write_many([_bare_issue(f"scrub-{n}")], upsert=False)
                results.append(store.scrub())
        finally:
            stop.set()
            thread.join()
        assert all(results)
    finally:
        store.dispose()
