"""A list with ``updatedSince`` on SQLite starts from the few resources updated since then when
there are few (Tx.page probes the update index first): the same rows as walking the other
filter's index, found without walking it past every older match."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from reference_server.storage import Change, ListQuery, Scope, Store, Tx

from .helpers import example, new_id

URGENCIES = ["normal", "urgent", "critical"]
COUNT = 400


def _issues() -> Iterator[dict[str, Any]]:
    rnd = random.Random(7)
    template = example("issue/fire-lane-submitted.json")
    for _ in range(COUNT):
        doc = dict(template, id=new_id(), urgency=rnd.choice(URGENCIES))
        # Updated on a day of 2026 in random order, so update order is not insertion order.
        day = date(2026, 1, 1) + timedelta(days=rnd.randrange(365))
        doc["meta"] = dict(template.get("meta") or {}, versionId="1",
                           lastUpdated=f"{day.isoformat()}T08:00:00Z")
        yield doc


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path: Path = tmp_path_factory.mktemp("updated") / "db.sqlite3"
    store = Store(f"sqlite:///{path}")
    store.migrate()
    with store.write() as tx:
        tx.write_many([Change("Issue", d["id"], 1, orjson.dumps(d).decode(), d, "created",
                              "create", d["meta"]["lastUpdated"]) for d in _issues()],
                      upsert=False)
    yield store
    store.dispose()


def _ids(tx: Tx, query: ListQuery, after: int, limit: int, narrow: int) -> list[str]:
    """The page with ranges of fewer than ``narrow`` updates read from the update index."""
    tx.narrow_updates = narrow  # type: ignore[misc]
    return [row.id for row in tx.page("Issue", query, Scope(), after, limit)]


@settings(max_examples=60, deadline=None)
@given(month=st.integers(1, 13), urgency=st.sampled_from([None, *URGENCIES]),
       after=st.integers(0, COUNT), limit=st.integers(1, 60), narrow=st.integers(1, COUNT + 1))
def test_probing_the_update_range_gives_the_same_page(store: Store, month: int,
                                                      urgency: str | None, after: int,
                                                      limit: int, narrow: int) -> None:
    since = "2027-01-01T00:00:00Z" if month == 13 else f"2026-{month:02d}-01T00:00:00Z"
    query = ListQuery(updated_since=since, urgency=urgency)
    with store.read() as tx:
        walked = _ids(tx, query, after, limit, narrow=0)  # never probed narrow
        probed = _ids(tx, query, after, limit, narrow=narrow)
    assert probed == walked


def test_a_narrow_update_range_is_read_from_the_update_index(store: Store) -> None:
    query = ListQuery(updated_since="2026-12-20T00:00:00Z", urgency="urgent")
    with store.read() as tx:
        captured: list[Any] = []
        execute = tx.conn.execute

        def spy(statement: Any, *args: Any, **kwargs: Any) -> Any:
            captured.append(statement)
            return execute(statement, *args, **kwargs)

        tx.conn.execute = spy  # type: ignore[method-assign]
        tx.page("Issue", query, Scope(), 0, 50)
        tx.conn.execute = execute  # type: ignore[method-assign]
        sql = captured[-1].compile(tx.conn, compile_kwargs={"literal_binds": True})
        plan = " ".join(str(row[-1]) for row in execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    assert "ix_resources_rtype_updated" in plan
