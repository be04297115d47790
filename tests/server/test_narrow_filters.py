"""A list on SQLite starts from the few rows a range or term filter matches when there are few
(Tx.page probes that filter's index first): the same rows as walking ``(rtype, seq)`` and
testing each, found without walking past every other value's rows. Python's SQLite has no
STAT4, so its planner cannot tell a rare category, department or update range from a common
one."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.city import Scale, generate
from reference_server.storage import Change, ListQuery, Scope, Store, Tx, utc_text

from .helpers import statements_run, throwaway_pg

COUNT = 400
ISSUES = [d for d in generate(Scale(residents=40, issues=COUNT, consultations=4, communities=2,
                                     seed=5)) if d["resourceType"] == "Issue"]
CATEGORIES = sorted({d["category"] for d in ISSUES} | {d["category"].split(".")[0]
                                                        for d in ISSUES})
DEPARTMENTS = sorted({a["department"]["id"] for d in ISSUES for a in d.get("assignments", ())})
DAYS = sorted({d["submittedAt"][:10] for d in ISSUES})
GRIDS = sorted({d["gridCode"] for d in ISSUES if d.get("gridCode")})
URGENCIES = sorted({d["urgency"] for d in ISSUES})


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path: Path = tmp_path_factory.mktemp("narrow") / "db.sqlite3"
    store = Store(f"sqlite:///{path}")
    store.migrate()
    # Stored in random order, so that no filter's order is insertion order.
    docs = random.Random(7).sample(ISSUES, len(ISSUES))
    with store.write() as tx:
        tx.write_many([Change("Issue", d["id"], 1, orjson.dumps(d).decode(), d, "created",
                              "create", d["meta"]["lastUpdated"]) for d in docs], upsert=False)
    yield store
    store.dispose()


def _ids(tx: Tx, query: ListQuery, after: int, limit: int, narrow: int) -> list[str]:
    """The page with filters matching fewer than ``narrow`` rows read from their index."""
    tx.narrow_rows = narrow  # type: ignore[misc]
    return [row.id for row in tx.page("Issue", query, Scope(), after, limit)]


_day = st.sampled_from(DAYS).map(lambda day: f"{day}T00:00:00Z")


@settings(max_examples=120, deadline=None)
@given(since=st.none() | _day, category=st.none() | st.sampled_from(CATEGORIES),
       department=st.none() | st.sampled_from(DEPARTMENTS),
       grid=st.none() | st.sampled_from(GRIDS),
       submitted=st.none() | st.tuples(st.none() | _day, st.none() | _day),
       urgency=st.none() | st.sampled_from(URGENCIES), after=st.integers(0, COUNT),
       limit=st.integers(1, 60), narrow=st.integers(1, COUNT + 1))
def test_probing_a_filter_gives_the_same_page(
        store: Store, since: str | None, category: str | None, department: str | None,
        grid: str | None, submitted: tuple[str | None, str | None] | None, urgency: str | None,
        after: int, limit: int, narrow: int) -> None:
    start, end = submitted or (None, None)
    query = ListQuery(updated_since=since, category=category, department=department,
                      grid=grid, today="2026-12-03", submitted_from=start, submitted_to=end,
                      urgency=urgency)
    with store.read() as tx:
        walked = _ids(tx, query, after, limit, narrow=0)  # never probed narrow
        probed = _ids(tx, query, after, limit, narrow=narrow)
    assert probed == walked


@pytest.fixture(scope="module")
def pg_store() -> Iterator[Store]:
    """The same issues stored in the same order on PostgreSQL: the same seqs."""
    with throwaway_pg("sc_narrow") as url:
        store = Store(url, group_commit=False)
        store.migrate()
        docs = random.Random(7).sample(ISSUES, len(ISSUES))
        with store.write() as tx:
            tx.write_many([Change("Issue", d["id"], 1, orjson.dumps(d).decode(), d, "created",
                                  "create", d["meta"]["lastUpdated"]) for d in docs],
                          upsert=False)
        yield store
        store.dispose()


@settings(max_examples=80, deadline=None)
@given(department=st.none() | st.sampled_from(DEPARTMENTS),
       grid=st.none() | st.sampled_from(GRIDS), category=st.none() | st.sampled_from(CATEGORIES),
       urgency=st.none() | st.sampled_from(URGENCIES), after=st.integers(0, COUNT),
       limit=st.integers(1, 60), newest_first=st.booleans(), branches=st.sampled_from([0, 1, 64]))
def test_a_term_driven_page_on_postgresql_is_the_page_sqlite_walks(
        store: Store, pg_store: Store, department: str | None, grid: str | None,
        category: str | None, urgency: str | None, after: int, limit: int,
        newest_first: bool, branches: int) -> None:
    """On PostgreSQL a department or grid drives the page from its term index (a LATERAL
    lookup per match), and a category is read one branch per code held, merged, or as one
    range beyond ``branches`` codes; SQLite tests each row. The pages are the same."""
    query = ListQuery(department=department, grid=grid, category=category, urgency=urgency,
                      today="2026-12-03")
    pages = []
    for each in (store, pg_store):
        with each.read() as tx:
            tx.narrow_rows = 0  # type: ignore[misc]  # SQLite: no probe, the plain walk
            tx.category_branches = branches  # type: ignore[misc]
            pages.append([r.id for r in tx.page("Issue", query, Scope(), after, limit,
                                                newest_first=newest_first)])
    assert pages[1] == pages[0]


#: the top-level codes of which the issues hold two or more codes: read one branch per code
MERGED = sorted(top for top in {c.split(".")[0] for c in CATEGORIES}
                if sum(c.startswith(top + ".") for c in CATEGORIES) >= 2)
COMMUNITIES = sorted({d["communityDivisionCode"] for d in ISSUES})


@settings(max_examples=80, deadline=None)
@given(category=st.sampled_from(MERGED),
       communities=st.none() | st.sets(st.sampled_from(COMMUNITIES), max_size=2).map(frozenset),
       urgency=st.none() | st.sampled_from(URGENCIES), after=st.integers(0, COUNT),
       limit=st.integers(1, 60), newest_first=st.booleans())
def test_a_category_merged_from_its_codes_is_the_page_sqlite_walks(
        store: Store, pg_store: Store, category: str, communities: frozenset[str] | None,
        urgency: str | None, after: int, limit: int, newest_first: bool) -> None:
    """A category with sub-codes on PostgreSQL: one branch per code held, merged, under any
    scope and filter, from any cursor, either way round; the page SQLite walks."""
    query = ListQuery(category=category, urgency=urgency)
    scope = Scope(communities=communities)
    pages = []
    for each in (store, pg_store):
        with each.read() as tx:
            tx.narrow_rows = 0  # type: ignore[misc]
            pages.append([r.id for r in tx.page("Issue", query, scope, after, limit,
                                                newest_first=newest_first)])
    assert pages[1] == pages[0]


def test_a_category_page_reads_its_codes_and_rows_as_of_one_moment(pg_store: Store) -> None:
    """The codes a category holds and the page by them are read in one snapshot: an issue moved
    meanwhile from its code to one no issue held is still on the page (as it was before and is
    after the move). Read at two moments, it fell into no branch and was lost to a client
    paging past it."""
    top = MERGED[0]
    moved = next(d for d in ISSUES if d["category"].startswith(top + "."))
    url = pg_store.url.render_as_string(hide_password=False).replace("+psycopg", "")

    def move(code: str) -> None:
        import psycopg

        with psycopg.connect(url, autocommit=True) as other:
            other.execute("UPDATE resources SET category = %s WHERE rtype = 'Issue' AND id = %s",
                          (code, moved["id"]))

    with pg_store.read() as tx:
        codes_under = tx._codes_under

        def meanwhile(rtype: str, code: str) -> list[str] | None:
            held = codes_under(rtype, code)
            move(top + ".never-held")  # committed between the two statements
            return held

        tx._codes_under = meanwhile  # type: ignore[method-assign]
        try:
            page = [r.id for r in tx.page("Issue", ListQuery(category=top), Scope(), 0, COUNT)]
        finally:
            move(moved["category"])
    assert moved["id"] in page


#: every time the issues are listed by, in UTC as stored: a range's bounds fall on or next to
#: them, so that issues lie on both sides of each bound, a minute away
_TIMES = sorted({utc_text(t) for d in ISSUES
                 for t in (d["submittedAt"], d["meta"]["lastUpdated"])})


def _near(index: int, minutes: int) -> str:
    at = datetime.fromisoformat(_TIMES[index].replace("Z", "+00:00"))
    return utc_text((at + timedelta(minutes=minutes)).isoformat())


#: a range from near one such time to near another up to 40 further on (about five weeks of
#: these issues), either bound perhaps open, or the two the wrong way round
_range = st.tuples(st.integers(0, len(_TIMES) - 1), st.integers(-2, 40),
                   st.integers(-1, 1), st.integers(-1, 1),
                   st.sampled_from(["both", "from", "to"])).map(
    lambda r: (_near(r[0], r[2]) if r[4] != "to" else None,
               _near(min(max(r[0] + r[1], 0), len(_TIMES) - 1), r[3])
               if r[4] != "from" else None))


@settings(max_examples=100, deadline=None)
@given(since=st.none() | _range.map(lambda r: r[0] or r[1]), submitted=st.none() | _range,
       urgency=st.none() | st.sampled_from(URGENCIES), after=st.integers(0, COUNT),
       limit=st.integers(1, 60), newest_first=st.booleans())
def test_a_time_range_on_postgresql_is_the_page_sqlite_walks(
        store: Store, pg_store: Store, since: str | None,
        submitted: tuple[str | None, str | None] | None, urgency: str | None, after: int,
        limit: int, newest_first: bool) -> None:
    """A time range on PostgreSQL, planned by its estimate of the range's share (read in seq
    order, or from the time's index and sorted), gives the page SQLite walks: any bounds, on
    any minute, open at either end or the wrong way round, from any cursor, either way round."""
    start, end = submitted or (None, None)
    query = ListQuery(updated_since=since, submitted_from=start, submitted_to=end,
                      urgency=urgency)
    pages = []
    for each in (store, pg_store):
        with each.read() as tx:
            tx.narrow_rows = 0  # type: ignore[misc]
            pages.append([r.id for r in tx.page("Issue", query, Scope(), after, limit,
                                                newest_first=newest_first)])
    assert pages[1] == pages[0]


def _plan(store: Store, query: ListQuery) -> str:
    """SQLite's plan of the page ``query`` asks for."""
    with store.read() as tx:
        with statements_run(store.engine) as captured:
            tx.page("Issue", query, Scope(), 0, 50)
        statement, parameters = captured[-1]
        rows = tx.conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        return " ".join(str(row[-1]) for row in rows)


def _rarest(values: list[str], count: Any) -> str:
    return min(values, key=count)


@pytest.mark.parametrize(("query", "index"), [
    (ListQuery(updated_since=max(d["meta"]["lastUpdated"] for d in ISSUES), urgency="urgent"),
     "ix_resources_rtype_updated"),
    (ListQuery(category=_rarest([d["category"] for d in ISSUES],
                                lambda c: sum(d["category"] == c for d in ISSUES))),
     "ix_resources_rtype_category"),
    (ListQuery(submitted_from=max(DAYS) + "T00:00:00Z"), "ix_resources_rtype_submitted"),
    (ListQuery(department=_rarest(DEPARTMENTS, lambda v: sum(
        a["department"]["id"] == v for d in ISSUES for a in d.get("assignments", ())))),
     "ix_resource_terms_kind_value"),
    (ListQuery(grid=GRIDS[0], today="2026-12-03"), "ix_resource_terms_kind_value"),
])
def test_a_narrow_filter_is_read_from_its_index(store: Store, query: ListQuery,
                                                 index: str) -> None:
    assert index in _plan(store, query)


def test_the_filters_have_values_to_choose_from() -> None:
    assert len(DAYS) > 50 and len(DEPARTMENTS) > 2 and len(CATEGORIES) > 5


RESIDENTS = [d for d in generate(Scale(residents=160, issues=10, consultations=1, communities=3,
                                        seed=11)) if d["resourceType"] == "Resident"]


@pytest.fixture(scope="module")
def resident_stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Store]]:
    """The same residents in the same (shuffled) order on SQLite and on PostgreSQL."""
    docs = random.Random(3).sample(RESIDENTS, len(RESIDENTS))
    changes = [Change("Resident", d["id"], 1, orjson.dumps(d).decode(), d, "created", "create",
                      d["meta"]["lastUpdated"]) for d in docs]
    with throwaway_pg("sc_narrow_residents") as url:
        stores = (Store(f"sqlite:///{tmp_path_factory.mktemp('residents') / 'db.sqlite3'}"),
                  Store(url, group_commit=False))
        for each in stores:
            each.migrate()
            with each.write() as tx:
                tx.write_many(changes, upsert=False)
        yield stores
        for each in stores:
            each.dispose()


_CODES = sorted({m["community"] for d in RESIDENTS for m in d.get("memberships", ())})


@settings(max_examples=60, deadline=None)
@given(community=st.none() | st.sampled_from(_CODES),
       serves=st.none() | st.sets(st.sampled_from(_CODES), min_size=1, max_size=2),
       after=st.integers(0, len(RESIDENTS)), limit=st.integers(1, 40),
       newest_first=st.booleans(), narrow=st.integers(0, len(RESIDENTS) + 1))
def test_one_community_of_residents_gives_the_members_in_order(
        resident_stores: tuple[Store, Store], community: str | None, serves: set[str] | None,
        after: int, limit: int, newest_first: bool, narrow: int) -> None:
    """A resident's communities are terms; one community (the filter, or the only one the
    reader serves) drives the page on PostgreSQL and may be probed on SQLite. Either way the
    page holds the members of the asked and served communities, in order, from the cursor."""
    scope = Scope(communities=frozenset(serves) if serves is not None else None)
    query = ListQuery(community=community)
    pages = []
    for each in resident_stores:
        with each.read() as tx:
            tx.narrow_rows = narrow  # type: ignore[misc]
            every = tx.page("Resident", ListQuery(), Scope(), 0, len(RESIDENTS) + 1,
                            newest_first=newest_first)
            pages.append([r.id for r in tx.page("Resident", query, scope, after, limit,
                                                newest_first=newest_first)])
        expected = [r.id for r in every
                    if (community is None or community in r.communities)
                    and (serves is None or serves & set(r.communities))
                    and (r.seq < after if newest_first and after else
                         newest_first or r.seq > after)][:limit]
        assert pages[-1] == expected
    assert len(_CODES) > 1 and len(pages) == 2
