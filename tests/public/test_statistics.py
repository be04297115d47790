"""Issue statistics: exact counts per cell, small cells suppressed, months in China time, served
a month and a page of communities at a time."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from smartcommunity.transparency import (
    CHINA_STANDARD_TIME,
    IssueStatistics,
    Links,
    catalogue_groups,
    communities_per_page,
    figures_month_page,
    figures_page,
    is_division_code,
    is_month,
    minimum_cell_count,
    month_of,
    month_range,
    running_month,
    shifted_month,
    statistics_from_issues,
)

CATEGORIES = ["environment.garbage", "environment", "housing.lift", "public-safety"]
COMMUNITIES = ["110105001001", "110105001002"]
moments = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31),
                       timezones=st.sampled_from([UTC, CHINA_STANDARD_TIME,
                                                  timezone(timedelta(hours=-5))]))


def test_the_threshold_and_the_page_size_are_the_specs() -> None:
    assert minimum_cell_count() == 5
    assert communities_per_page() == 100


def test_months_and_codes_are_checked_exactly() -> None:
    assert is_month("2026-11") and is_month("2026-01")
    assert not any(is_month(m) for m in ("2026-13", "2026-00", "2026-1", "2026-11 ", "２０２６-11",
                                         "0000-01", "0000-12"))


@given(st.integers(min_value=0, max_value=9999), st.integers(min_value=0, max_value=13))
def test_a_month_is_one_of_the_years_0001_to_9999_as_the_openapi_says(year: int,
                                                                      month: int) -> None:
    """/req/public-pages/figures-paged: a month of the figures is one a calendar has; the
    OpenAPI's month parameter and the months the figures list admit exactly those."""
    from smartcommunity.specification import load_spec

    text = f"{year:04d}-{month:02d}"
    assert is_month(text) == (year >= 1 and 1 <= month <= 12)
    openapi = load_spec().openapi["components"]
    patterns = [openapi["parameters"]["figuresMonth"]["schema"]["pattern"],
                openapi["schemas"]["PublicFigures"]["properties"]["month"]["pattern"],
                openapi["schemas"]["PublicFigureMonths"]["properties"]["months"]["items"]["pattern"]]
    assert all((re.search(p, text) is not None) == is_month(text) for p in patterns)
    assert is_division_code("110105001001")
    assert not any(is_division_code(c) for c in ("11010500100", "1101050010011", "11010500100x",
                                                 "１１０１０５００１００１"))


@given(st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31)))
def test_the_month_from_utc_columns_is_the_china_month(moment: datetime) -> None:
    utc = moment.replace(tzinfo=UTC)
    late = f"{utc.day:02d}" if utc.hour >= 16 and utc.day >= 28 else ""
    assert shifted_month(utc.strftime("%Y-%m"), late) == month_of(utc.isoformat())


#: a moment after every one of :data:`moments`: all their months have ended
AFTER = datetime(2028, 1, 1, tzinfo=UTC)


@given(st.lists(st.tuples(st.sampled_from(CATEGORIES), st.sampled_from(COMMUNITIES), moments),
                max_size=60), st.integers(min_value=2, max_value=8))
def test_cells_count_exactly_and_hide_the_small_ones(issues: list[tuple[str, str, datetime]],
                                                     threshold: int) -> None:
    docs = [{"category": c, "communityDivisionCode": k, "submittedAt": m.isoformat()}
            for c, k, m in issues]
    stats = statistics_from_issues(docs, threshold, now=AFTER)
    exact = Counter((c.split(".")[0], k, m.astimezone(CHINA_STANDARD_TIME).strftime("%Y-%m"))
                    for c, k, m in issues)
    assert {k for k, n in exact.items() if n} <= {(c.category, c.community, c.month)
                                                  for c in stats.cells}
    for cell in stats.cells:
        n = exact[(cell.category, cell.community, cell.month)]
        if n >= threshold:
            assert cell.count == n
        else:
            assert cell.suppressed and "count" not in cell.to_json()
    assert stats.months == sorted(stats.months, reverse=True)
    assert IssueStatistics.from_json(stats.to_json()) == stats


@given(st.lists(st.tuples(st.sampled_from(CATEGORIES), st.sampled_from(COMMUNITIES), moments),
                max_size=40), st.integers(min_value=2, max_value=8), moments)
def test_a_published_month_is_its_whole_grid_an_empty_cell_read_as_a_small_one(
        issues: list[tuple[str, str, datetime]], threshold: int, now: datetime) -> None:
    """/req/public-pages/small-cells: the months that have ended, from the first with an
    issue, each holding once every group of the catalogue for every community an issue of
    those months names; an empty cell and one of 1 to threshold - 1 are the same but for
    their place, so that no reader tells 0 from a few."""
    docs = [{"category": c, "communityDivisionCode": k, "submittedAt": m.isoformat()}
            for c, k, m in issues]
    stats = statistics_from_issues(docs, threshold, now=now)
    running = running_month(now)
    counted = [(c, k, month_of(m.isoformat())) for c, k, m in issues]
    shown = [(c, k, m) for c, k, m in counted if m < running]
    if not shown:
        assert stats.cells == () and stats.months == []
        return
    start = datetime.fromisoformat(f"{running}-01T00:00:00+08:00")
    last = month_of((start - timedelta(seconds=1)).isoformat())  # the last month ended
    months = month_range(min(m for _, _, m in shown), last)
    assert stats.months == months
    grid = [(g, k, m) for m in months for k in sorted({k for _, k, _ in shown})
            for g in catalogue_groups()]
    assert [(c.category, c.community, c.month) for c in stats.cells] == grid
    exact = Counter((c.split(".")[0], k, m) for c, k, m in shown)
    for cell in stats.cells:
        n = exact[(cell.category, cell.community, cell.month)]
        assert cell.to_json() == ({"category": cell.category, "community": cell.community,
                                   "month": cell.month, "count": n} if n >= threshold else
                                  {"category": cell.category, "community": cell.community,
                                   "month": cell.month, "suppressed": True})


@given(st.lists(st.tuples(st.sampled_from(CATEGORIES), st.sampled_from(COMMUNITIES), moments),
                max_size=30), moments, st.lists(st.tuples(st.sampled_from(CATEGORIES),
                                                          st.sampled_from(COMMUNITIES),
                                                          st.integers(0, 10**6)), max_size=8))
def test_a_filing_in_the_running_month_changes_no_figure(
        issues: list[tuple[str, str, datetime]], now: datetime,
        filed: list[tuple[str, str, int]]) -> None:
    """/req/public-pages/small-cells: issues submitted from the start of the running month on
    (here, within a million seconds of ``now``) change nothing published at ``now``."""
    docs = [{"category": c, "communityDivisionCode": k, "submittedAt": m.isoformat()}
            for c, k, m in issues]
    start = datetime.fromisoformat(f"{running_month(now)}-01T00:00:00+08:00")
    later = [{"category": c, "communityDivisionCode": k,
              "submittedAt": (start + timedelta(seconds=s)).isoformat()} for c, k, s in filed]
    assert statistics_from_issues(docs + later, now=now) == statistics_from_issues(docs, now=now)


def test_sub_categories_fold_into_their_group_before_suppression() -> None:
    stats = IssueStatistics.from_counts({("environment.garbage", "1", "2026-11"): 3,
                                         ("environment.noise", "1", "2026-11"): 2}, 5)
    assert [(c.category, c.count) for c in stats.cells if not c.suppressed] == [
        ("environment", 5)]


#: communities enough for several pages of a few
MANY = [f"110105001{n:03d}" for n in range(1, 13)]
_counts = st.dictionaries(st.tuples(st.sampled_from(CATEGORIES), st.sampled_from(MANY),
                                    st.sampled_from(["2025-12", "2026-01", "2026-10"])),
                          st.integers(min_value=1, max_value=9), max_size=40)


@given(_counts, st.integers(min_value=1, max_value=5), st.integers(min_value=2, max_value=8))
def test_following_next_gives_every_cell_of_the_month_once(
        counts: dict[tuple[str, str, str], int], size: int, threshold: int) -> None:
    stats = IssueStatistics.from_counts(counts, threshold)
    for month in ["2025-11", *stats.months]:
        whole = tuple(c for c in stats.cells if c.month == month)
        pages = list(stats.pages(month, size))
        assert tuple(c for p in pages for c in p.cells) == whole  # in community order, once
        seen = [p.communities for p in pages]
        assert all(0 < len(s) <= size for s in seen[:-1]) and len(seen[-1]) <= size
        flat = [c for s in seen for c in s]
        assert flat == sorted(set(flat))  # no community twice, none out of order
        assert [p.next_after for p in pages] == [s[-1] for s in seen[:-1]] + [None]
        for community in MANY:  # the filter: that community's cells, nothing else
            only = stats.page(month, size, community=community)
            assert only.cells == tuple(c for c in whole if c.community == community)
            assert only.next_after is None
        # suppression is the table's: a page shows no cell below the threshold
        assert all(c.count is None or c.count >= threshold for p in pages for c in p.cells)


def test_a_page_as_data_names_its_month_size_and_next() -> None:
    stats = IssueStatistics.from_counts({("housing", "110105001002", "2026-10"): 6,
                                         ("housing", "110105001001", "2026-10"): 2}, 5)
    first = stats.page("2026-10", 1)
    assert first.to_json("next.json") == {
        "minimumCellCount": 5, "communitiesPerPage": 1, "month": "2026-10",
        "cells": [{"category": group, "community": "110105001001", "month": "2026-10",
                   "suppressed": True} for group in catalogue_groups()], "next": "next.json"}
    last = stats.page("2026-10", 1, after="110105001001")
    assert "next" not in last.to_json("ignored")
    assert [c.count for c in last.cells if c.category == "housing"] == [6]
    assert stats.months_json() == {"minimumCellCount": 5, "months": ["2026-10"]}
    assert stats.page("2026-11", 1).cells == ()


@given(_counts, st.integers(min_value=1, max_value=4))
def test_a_month_page_has_one_table_per_community_in_order(
        counts: dict[tuple[str, str, str], int], size: int) -> None:
    stats = IssueStatistics.from_counts(counts, 5)
    for month in stats.months:
        after = None
        for page in stats.pages(month, size):
            html = figures_month_page(page, "en", Links("/public/"), after=after)
            captions = re.findall(r"<caption>Community (\d+) · ([\d-]+)</caption>", html)
            assert captions == [(com, month) for com in page.communities]
            rows = re.findall(r'data-(count="\d+"|suppressed="true")', html)
            assert rows == [f'count="{c.count}"' if c.count is not None
                            else 'suppressed="true"' for c in page.cells]
            following = f'href="/public/en/figures/{month}?after={page.next_after}"'
            assert (following in html) == (page.next_after is not None)
            assert 'name="community"' in html  # the form that finds one community
            after = page.next_after


def test_the_month_list_links_each_month_and_shows_no_number() -> None:
    stats = IssueStatistics.from_counts({("housing", "110105001001", "2026-10"): 7,
                                         ("housing", "110105001001", "2025-12"): 6}, 5)
    html = figures_page(stats.months, 5, "zh-Hans", Links("/public/"))
    assert re.findall(r'href="(/public/figures/[\d-]+)"', html) == [
        f"/public/figures/{m}" for m in month_range("2025-12", "2026-10")]
    assert "data-count" not in html and ">7<" not in html and ">6<" not in html


def test_a_month_before_the_year_1000_is_named_with_four_digits() -> None:
    """A month names files of a published site: the year 999 is 0999, as the figures' months
    are written (YYYY-MM), not 999."""
    assert month_of("0999-03-01T00:00:00Z") == "0999-03"
