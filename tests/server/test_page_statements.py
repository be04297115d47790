"""A list page's SQL is built once for each shape of list and run with each request's values
(``storage/_pages.py``): a statement built for one request serves another of the same shape
exactly as a statement built for that request would, and carries none of its values."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.city import Scale, generate
from benchmarks.documents_bench import PAGES, statements
from reference_server.storage import Change, ListQuery, Scope, Store
from reference_server.storage._pages import page_statement, page_values, shape_of

from .helpers import statements_run, throwaway_pg

DOCS = [d for d in generate(Scale(residents=60, issues=300, consultations=4, communities=3,
                                   seed=11)) if d["resourceType"] in ("Issue", "Resident")]
ISSUES = [d for d in DOCS if d["resourceType"] == "Issue"]
RESIDENTS = sorted(d["id"] for d in DOCS if d["resourceType"] == "Resident")
#: the values each filter (and the scope) draws from, as the generated records hold them
VALUES: dict[str, list[str]] = {
    "department": sorted({a["department"]["id"] for d in ISSUES
                          for a in d.get("assignments", ())}),
    "grid": sorted({d["gridCode"] for d in ISSUES if d.get("gridCode")}),
    "category": sorted({d["category"] for d in ISSUES}
                       | {d["category"].split(".")[0] for d in ISSUES}),
    "status": sorted({d["status"] for d in ISSUES}),
    "urgency": sorted({d["urgency"] for d in ISSUES}),
    "updated_since": sorted({d["meta"]["lastUpdated"][:10] + "T00:00:00Z" for d in ISSUES}),
    "submitted_from": sorted({d["submittedAt"][:10] + "T00:00:00Z" for d in ISSUES}),
    "community": sorted({d["communityDivisionCode"] for d in ISSUES}),
}


def _stored(store: Store) -> Store:
    store.migrate()
    docs = random.Random(3).sample(DOCS, len(DOCS))  # no filter's order is insertion order
    with store.write() as tx:
        tx.write_many([Change(d["resourceType"], d["id"], 1, orjson.dumps(d).decode(), d,
                              "created", "create", d["meta"]["lastUpdated"]) for d in docs],
                      upsert=False)
    store.analyze()  # as an import does: the owners' scope is planned by the statistics
    return store


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Store]]:
    path: Path = tmp_path_factory.mktemp("shapes") / "db.sqlite3"
    sqlite = _stored(Store(f"sqlite:///{path}"))
    with throwaway_pg("sc_shapes") as url:
        postgres = _stored(Store(url, group_commit=False))
        yield [sqlite, postgres]
        postgres.dispose()
    sqlite.dispose()


@st.composite
def _requests(draw: Any) -> tuple[str, tuple[Any, ...], tuple[Any, ...]]:
    """A resource type and two requests of the same shape: the same filters and scope, each
    with values of its own (ListQuery, Scope, cursor, limit, newest first)."""
    rtype = draw(st.sampled_from(["Issue", "Resident"]))
    names = draw(st.sets(st.sampled_from(sorted(VALUES)), max_size=3))
    scoped = draw(st.sampled_from(["city", "one", "two", "department", "published", "owners",
                                   "residents"]))
    cursor, newest_first = draw(st.booleans()), draw(st.booleans())

    def one() -> tuple[Any, ...]:
        query = ListQuery(today="2026-12-03", **{
            name: draw(st.sampled_from(VALUES[name])) for name in names})
        communities = draw(st.lists(st.sampled_from(VALUES["community"]), min_size=2,
                                    max_size=2, unique=True))
        resident = (draw(st.sampled_from(RESIDENTS)), draw(st.sampled_from(["u-1", "u-2"])))
        scope = {"city": Scope(), "one": Scope(communities=frozenset(communities[:1])),
                 "two": Scope(communities=frozenset(communities)),
                 "department": Scope(department=draw(st.sampled_from(VALUES["department"]))),
                 "published": Scope(published=True), "owners": Scope(owners=resident),
                 "residents": Scope(residents=resident)}[scoped]
        after = draw(st.integers(1, len(DOCS))) if cursor else 0
        return query, scope, after, draw(st.integers(1, 40)), newest_first

    return rtype, one(), one()


def _page(store: Store, rtype: str, request: tuple[Any, ...]) -> list[str]:
    query, scope, after, limit, newest_first = request
    with store.read() as tx:
        return [r.id for r in tx.page(rtype, query, scope, after, limit,
                                      newest_first=newest_first)]


@settings(max_examples=150, deadline=None)
@given(drawn=_requests())
def test_a_statement_serves_every_request_of_its_shape(stores: list[Store],
                                                       drawn: tuple[Any, ...]) -> None:
    rtype, first, second = drawn
    for store in stores:
        _page(store, rtype, first)  # its shape's statement built, and kept
        kept = _page(store, rtype, second)
        page_statement.cache_clear()
        assert kept == _page(store, rtype, second), store.dialect


@settings(max_examples=150, deadline=None)
@given(drawn=_requests())
def test_a_statement_carries_no_value_of_a_request(stores: list[Store],
                                                  drawn: tuple[Any, ...]) -> None:
    rtype, (query, scope, after, limit, newest_first), _ = drawn
    for store in stores:
        shape = shape_of(store.dialect, rtype, query, scope, after=after,
                         newest_first=newest_first)
        statement = page_statement(shape, store.engine.dialect)
        given_values = {v for k, v in page_values(rtype, query, scope, after, limit).items()
                        if isinstance(v, str) and k not in ("rtype", "today")}
        assert not [v for v in given_values if f"'{v}'" in statement.sql], statement.sql
        assert not given_values & set(map(str, statement.constants.values()))


def _worked_on(node: dict[str, Any]) -> Iterator[str]:
    """The outputs of plan nodes that do anything to a document but pass it on."""
    for output in node.get("Output", ()):
        if "doc" in str(output) and not re.fullmatch(r"\w+\.doc", str(output)):
            yield f"{node.get('Node Type')}: {output}"
    for child in node.get("Plans", ()):
        yield from _worked_on(child)


@settings(max_examples=60, deadline=None)
@given(drawn=_requests())
def test_documents_go_out_as_postgresql_holds_them(stores: list[Store],
                                                   drawn: tuple[Any, ...]) -> None:
    """PostgreSQL passes a page's documents on untouched, the driver reading them as bytes:
    converted within the plan, they cost it 13-28 % more a page, and under a sort of a
    filter's matches it converted every match's (738 consultations' for a page of 51)."""
    rtype, request, _ = drawn
    store = stores[1]
    with statements_run(store.read_engine) as seen:
        _page(store, rtype, request)
    # A category no record holds is answered before any page is read.
    pages = [(sql, parameters) for sql, parameters in seen if ") AS page" in sql]
    assert pages or any("WITH RECURSIVE codes" in sql for sql, _ in seen), seen
    with store.read_engine.connect() as conn:
        for sql, parameters in pages:
            plan = conn.exec_driver_sql(f"EXPLAIN (VERBOSE, FORMAT JSON) {sql}",
                                        parameters).scalar_one()
            assert not list(_worked_on(plan[0]["Plan"])), sql


def test_the_documents_benchmark_compares_two_forms_of_each_page(stores: list[Store]) -> None:
    """``benchmarks/documents_bench.py`` finds each of its pages' statements and its
    in-plan conversion: were the statements to change shape, it would say so rather than
    time the same statement twice."""
    pages = statements(stores[1], least=1)
    assert set(pages) == set(PAGES)
    with stores[1].read_engine.connect() as conn:
        for after, before, params in pages.values():
            assert "convert_to" not in after
            rows = [conn.exec_driver_sql(sql, params).all() for sql in (after, before)]
            assert [r[:2] for r in rows[0]] == [r[:2] for r in rows[1]]
