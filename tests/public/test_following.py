"""The issue figures follow the change feed after the first count: whatever is written between
two page views (new issues, issues moved to another category, community or month), the
figures equal a count made afresh from the stored issues (/req/public-pages/small-cells)."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference_server import Settings
from reference_server.public import PublicPages
from reference_server.service import Service
from reference_server.storage import Change, Store

from .helpers import NOW, issue

CATEGORIES = ["environment.garbage", "housing.lift", "public-safety"]
COMMUNITIES = ["110105001001", "110105001002"]
#: moments near a month's end, where the UTC and China-time months differ
_moments = st.builds(lambda month, day, hour: (datetime(2026, month, 1, tzinfo=UTC)
                                               + timedelta(days=day, hours=hour)).isoformat(),
                     st.integers(1, 12), st.sampled_from([-1, 0, 27, 29, 30]),
                     st.sampled_from([3, 15, 16, 23]))
#: (which stored issue to change, or None for a new one; its category, community, moment)
_writes = st.lists(st.tuples(st.none() | st.integers(0, 40), st.sampled_from(CATEGORIES),
                             st.sampled_from(COMMUNITIES), _moments), min_size=1, max_size=12)


def _change(store: Store, rid: str, category: str, community: str, moment: str) -> None:
    with store.read() as tx:
        stored = tx.get("Issue", rid)
    assert stored is not None
    doc: dict[str, Any] = dict(stored.doc, category=category, communityDivisionCode=community,
                               submittedAt=moment)
    with store.write() as tx:
        tx.write_many([Change("Issue", rid, stored.version + 1, orjson.dumps(doc).decode(), doc,
                              "updated", "update", moment)], upsert=True)


#: what is looked at after a write: nothing, every month's figures, the list of months (its
#: data), or the data of the written issue's month — so that months are counted when first
#: asked for, while the writes go on
_views = st.lists(st.sampled_from(["nothing", "all", "months", "month"]), min_size=12,
                  max_size=12)
_CST = timezone(timedelta(hours=8))


def _fresh(service: Service, now: datetime = NOW) -> PublicPages:
    pages = PublicPages(service)
    pages.recheck = 0  # read the feed's head on every page: the test writes between them
    pages.clock = lambda: now
    return pages


@contextlib.contextmanager
def _fresh_store() -> Iterator[tuple[Store, Service]]:
    """An empty SQLite store of its own and a service over it, disposed of afterwards."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'figures.sqlite3'}"
        store = Store(url, group_commit=False)
        try:
            store.migrate()
            yield store, Service(Settings(database_url=url), store)
        finally:
            store.dispose()


@given(_writes, _views, st.integers(1, 6))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_figures_followed_from_the_feed_equal_a_fresh_count(
        writes: list[tuple[int | None, str, str, str]], views: list[str], followed: int) -> None:
    with _fresh_store() as (store, service):
        first = [issue(c, k, m) for c, k, m in
                 zip(CATEGORIES, COMMUNITIES * 2, ["2026-10-31T16:30:00Z"] * 3, strict=False)]
        service.load(first)
        ids = [d["id"] for d in first]
        pages = _fresh(service)
        pages.followed = followed  # beyond it, counted afresh: both ways are exercised
        pages.page(("month", "json", "2026-11", "", ""))
        for (target, category, community, moment), view in zip(writes, views, strict=False):
            if target is None:
                new = issue(category, community, moment)
                service.load([new])
                ids.append(new["id"])
            else:
                _change(store, ids[target % len(ids)], category, community, moment)
            month = datetime.fromisoformat(moment).astimezone(_CST).strftime("%Y-%m")
            key = {"months": ("months", "json"),
                   "month": ("month", "json", month, "", "")}.get(view)
            if key is not None:
                assert pages.page(key) == _fresh(service).page(key)
            elif view == "all":
                assert pages.statistics() == _fresh(service).statistics()
        assert pages.statistics() == _fresh(service).statistics()
        assert pages.page(("months", "json")) == _fresh(service).page(("months", "json"))


#: the list of months, a month's data and pages, and a month that had no issue yet
_KEYS = {"months": ("months", "json"), "data": ("month", "json", "2026-10", "", ""),
         "zh": ("month", "zh-Hans", "2026-10", "", ""), "en": ("month", "en", "2026-10", "", ""),
         "new": ("month", "json", "2026-07", "", "")}


@pytest.mark.parametrize("order", [["months", "data", "zh", "en", "new"],
                                   ["en", "data", "new", "zh", "months"]])
def test_no_page_made_before_a_fresh_count_is_served_after_it(order: list[str]) -> None:
    """More writes between two views than the counts follow one by one: the figures are
    counted afresh, and whichever page is asked for first, none made before the writes is
    served again; the data and the pages agree (/req/public-pages/small-cells)."""
    with _fresh_store() as (_, service):
        service.load([issue(CATEGORIES[0], COMMUNITIES[0], "2026-10-12T01:00:00Z")
                      for _ in range(6)])
        pages = _fresh(service)
        pages.followed = 3
        before = {name: pages.page(key) for name, key in _KEYS.items()}
        service.load([issue(CATEGORIES[0], COMMUNITIES[0], moment) for moment in
                      ["2026-10-13T01:00:00Z"] * 4 + ["2026-07-01T01:00:00Z"] * 5])
        for name in order:
            got = pages.page(_KEYS[name])
            assert got != before[name], name
            assert got == _fresh(service).page(_KEYS[name]), name


#: every page of the figures a reader may ask for in the months around the running one
_EVERY = [("months", "json"), ("months", "en"),
          *[("month", form, month, "", community) for month in ("2026-11", "2026-12", "2027-01")
            for form in ("json", "zh-Hans") for community in ("", COMMUNITIES[0])]]
#: seconds from the start of January 2027 in China, NOW's month
_IN_RUNNING = st.integers(0, 31 * 86400 - 1)


@given(st.lists(st.tuples(st.sampled_from(CATEGORIES), st.sampled_from(COMMUNITIES),
                          _IN_RUNNING), min_size=1, max_size=6))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_filing_in_the_running_month_changes_no_page_of_the_figures(
        filed: list[tuple[str, str, int]]) -> None:
    """/req/public-pages/small-cells: a poller reads every page of the figures before and
    after issues are filed this month (a community and a group new to the figures among
    them): nothing moved, so nothing tells when one came. Once the month has ended, they are
    counted, the pages kept before made again."""
    start = datetime(2027, 1, 1, tzinfo=_CST)
    with _fresh_store() as (_, service):
        service.load([issue(c, k, m) for c, k, m in
                      [("environment.garbage", COMMUNITIES[0], "2026-11-03T09:00:00+08:00"),
                       ("housing.lift", COMMUNITIES[0], "2026-12-30T09:00:00+08:00")]])
        pages = _fresh(service)
        before = {key: pages.page(key) for key in _EVERY}
        service.load([issue(c, k, (start + timedelta(seconds=s)).isoformat())
                      for c, k, s in filed])
        assert {key: pages.page(key) for key in _EVERY} == before
        # February: January is published, counted from the same store by a fresh count too
        pages.clock = lambda: datetime(2027, 2, 1, tzinfo=_CST)
        january = ("month", "json", "2027-01", "", "")
        assert b"2027-01" in pages.page(("months", "json"))
        assert pages.page(january) != before[january]
        assert pages.page(january) == _fresh(service, datetime(2027, 2, 1, tzinfo=_CST)).page(
            january)
