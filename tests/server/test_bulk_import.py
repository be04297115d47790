"""The batched import stores exactly what importing one by one stores.

A small generated city (residents, issues with their histories, consultations) is imported
into two fresh stores on each backend: document by document, each in its own transaction, and
in batches prepared by worker processes. The stores must hold the same rows, the same terms
and the same change feed; each feed event and each history event has a random salt of its own
(so the two stores' digests differ), and each store's chains check over its salts. A refused
document stops both the same way.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from benchmarks.city import Scale, generate
from reference_server.service import ImportStopped, Service, _bulk, import_lines
from reference_server.settings import CST, Settings
from reference_server.storage import ANALYZE_SHARE, Store
from smartcommunity.integrity import SALT, event_digest, verify_feed, verify_history

from .helpers import throwaway_pg

SOURCE = "urn:uuid:6f1d7b3e-2f0a-4a55-9e8c-0c5d1c1b7a10"
#: the moment both imports are made at, so that their events' times agree
AT = datetime(2026, 12, 3, 9, 30, tzinfo=CST)
TABLES = {
    "resources": "SELECT * FROM resources ORDER BY seq",
    "resource_terms": "SELECT * FROM resource_terms ORDER BY rseq, kind, value",
    # all but the salt, random for each event, and the chain digest that covers it
    "events": "SELECT seq, rtype, rid, version, kind, action, time, communities, departments, "
              "data FROM events ORDER BY seq",
}
#: the columns holding documents, whose histories' salts (and the digests over them) differ
DOCUMENTS = ("doc", "data")


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_bulk, "now_cst", lambda: AT)


@pytest.fixture(scope="module")
def city() -> list[tuple[str, bytes]]:
    docs = generate(Scale(residents=120, issues=300, consultations=4))
    return [(f"city.ndjson:{i}", orjson.dumps(doc)) for i, doc in enumerate(docs, 1)]


@contextlib.contextmanager
def _stores(backend: str, tmp_path: Path) -> Iterator[tuple[Service, Service]]:
    """Two empty stores on ``backend``, each with its service, closed afterwards."""
    with contextlib.ExitStack() as stack:
        if backend == "sqlite":
            urls = [f"sqlite:///{tmp_path / name}.sqlite3" for name in ("one", "many")]
        else:
            urls = [stack.enter_context(throwaway_pg(f"sc_bulk_{name}"))
                    for name in ("one", "many")]
        services = []
        for url in urls:
            store = Store(url, group_commit=False)
            stack.callback(store.dispose)
            store.migrate()
            services.append(Service(Settings(database_url=url, source_uri=SOURCE), store))
        yield services[0], services[1]


def _dump(service: Service) -> dict[str, list[tuple[Any, ...]]]:
    """The stored rows, once the store's chain is seen to check, each event salted apart."""
    with service.store.read() as tx:
        rows = [row for row, _ in tx.events(0, 1_000_000)]
        salts = [row.salt for row in rows]
        assert None not in salts and len(set(salts)) == len(salts)
        # histories too: every event salted apart, every chain checking over its salts
        assert verify_feed([service.event(row) for row in rows]) == []
        out: dict[str, list[tuple[Any, ...]]] = {}
        history_salts: dict[str, tuple[Any, ...]] = {}
        for name, query in TABLES.items():
            result = tx.conn.exec_driver_sql(query)
            documents = [i for i, key in enumerate(result.keys()) if key in DOCUMENTS]
            out[name] = [tuple(_unsalted(value, history_salts) if i in documents else value
                               for i, value in enumerate(row)) for row in result]
        return out


def _unsalted(text: str, salts: dict[str, tuple[Any, ...]]) -> str:
    """A stored document without its history's salts and links, once they are seen to be
    there and to check; the salts are gathered in ``salts`` (an event's salt is the same in
    every state holding it, and no other event's: salt → the event)."""
    doc = orjson.loads(text)
    history = doc.get("history")
    if not isinstance(history, list):
        return text
    assert verify_history(doc) == []
    for event in history:
        salt = event.pop(SALT)
        event.pop("previousDigest", None)
        key = (doc["resourceType"], doc["id"], event["seq"])
        assert salts.setdefault(salt, key) == key
    return orjson.dumps(doc).decode()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_batches_store_what_one_by_one_stores(backend: str, tmp_path: Path,
                                              city: list[tuple[str, bytes]]) -> None:
    with _stores(backend, tmp_path) as (one, many):
        assert import_lines(one, city, one_by_one=True) == len(city)
        # Batches smaller than the city, chunks in two worker processes.
        assert import_lines(many, city, jobs=2, batch=97) == len(city)
        expected, found = _dump(one), _dump(many)
        assert len(expected["events"]) == len(city)
        for table in TABLES:
            assert found[table] == expected[table], table


def _without_seqs(dump: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """The tables without the resources' seqs: a batch undone by a taken id has drawn seqs
    from the sequence (which no rollback returns), so the rows written again get later ones."""
    ids = {row[0]: row[2] for row in dump["resources"]}
    return {"resources": [row[1:] for row in dump["resources"]],
            "resource_terms": sorted((ids[row[0]], *row[1:]) for row in dump["resource_terms"]),
            "events": dump["events"]}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@pytest.mark.parametrize("fault", ["invalid", "withheld digest", "duplicate",
                                   "duplicate of an earlier batch"])
def test_a_refused_document_stops_both_after_the_same_documents(
        backend: str, fault: str, tmp_path: Path, city: list[tuple[str, bytes]]) -> None:
    lines = list(city[:150])
    at = 130
    doc = orjson.loads(lines[at][1])
    taken = None
    if fault == "invalid":
        doc["id"] = 42
    elif fault == "withheld digest":
        # Even the event's own digest: an imported document is whole, nothing is withheld.
        last = doc["history"][-1]
        last["withheldDigest"] = event_digest(last, doc["resourceType"])
    elif fault == "duplicate":
        taken = doc["id"] = orjson.loads(lines[at - 1][1])["id"]  # the issue before it
    else:
        doc = orjson.loads(lines[60][1])  # a resident two batches of 40 before it, again
        taken = doc["id"]
    lines[at] = (lines[at][0], orjson.dumps(doc))
    lines.insert(20, ("city.ndjson:garbage", b"{not json"))
    skipped: list[str] = []
    with _stores(backend, tmp_path) as (one, many):
        stops = []
        for service, options in ((one, {"one_by_one": True}),
                                 (many, {"jobs": 2, "batch": 40})):
            with pytest.raises(ImportStopped) as stopped:
                import_lines(service, lines, not_json=skipped.append, **options)
            stops.append(stopped.value)
        for stop in stops:
            assert stop.where == lines[at + 1][0]
            assert stop.imported == at  # every document before it; the garbage line skipped
            pointers = {e.get("pointer") for e in stop.problem.errors}
            refused = fault in ("invalid", "withheld digest")
            assert stop.problem.status == (422 if refused else 409)
            if fault == "invalid":
                assert "/id" in pointers
            elif refused:
                assert pointers == {f"/history/{len(doc['history']) - 1}/withheldDigest"}
            else:
                assert taken is not None and taken in stop.problem.detail
        assert skipped == ["city.ndjson:garbage"] * 2
        if fault == "duplicate of an earlier batch":
            assert _without_seqs(_dump(many)) == _without_seqs(_dump(one))
        else:
            assert _dump(many) == _dump(one)
        assert len(_dump(many)["events"]) == at
        if backend == "postgresql":  # what was stored before the stop has statistics
            for service in (one, many):
                with service.store.read() as tx:
                    assert tx.conn.exec_driver_sql(
                        "SELECT count(*) FROM pg_stats WHERE tablename = 'resources'").scalar()


def test_the_service_load_is_the_same_import(tmp_path: Path,
                                             city: list[tuple[str, bytes]]) -> None:
    """``Service.load`` (parsed documents, as tests and seeding give them) stores the same."""
    with _stores("sqlite", tmp_path) as (one, many):
        import_lines(one, city, one_by_one=True)
        many.load(orjson.loads(raw) for _, raw in city)
        assert _dump(many) == _dump(one)


def test_chunks_keep_the_input_order() -> None:
    lines = [(str(i), b"{}") for i in range(1001)]
    chunks = list(_bulk._chunks(iter(lines)))
    assert list(itertools.chain.from_iterable(chunks)) == lines
    assert max(len(c) for c in chunks) <= _bulk._CHUNK


def test_an_import_gathers_statistics_when_it_adds_a_tenth(tmp_path: Path,
                                                           city: list[tuple[str, bytes]]) -> None:
    """An import into an empty store, or one adding at least a tenth of what the store held,
    ends with ANALYZE (the planner's count of resources is then the store's); a smaller one
    leaves the statistics to autovacuum, as PostgreSQL's own threshold would (sampling a
    city's 27 GB again took seconds after an import of 2,000 issues)."""
    first, rest = city[:300], city[300:]
    small = int(ANALYZE_SHARE * len(first)) - 1
    with _stores("postgresql", tmp_path) as (service, _):

        def counted() -> float:
            with service.store.read_engine.connect() as conn:
                return float(conn.exec_driver_sql(
                    "SELECT reltuples FROM pg_class WHERE oid = 'resources'::regclass").scalar())

        assert import_lines(service, first) == len(first)
        assert counted() == len(first)
        import_lines(service, rest[:small])  # below a tenth: left to autovacuum
        assert counted() == len(first)
        import_lines(service, rest[small:small + small + 2])  # a tenth: gathered again
        assert counted() == len(first) + 2 * small + 2
