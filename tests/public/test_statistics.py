"""Issue statistics: exact counts per cell, small cells suppressed, months in China time."""

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
    minimum_cell_count,
    month_of,
    shifted_month,
    statistics_from_issues,
    statistics_page,
)

CATEGORIES = ["environment.garbage", "environment", "housing.lift", "public-safety"]
COMMUNITIES = ["110105001001", "110105001002"]
moments = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31),
                       timezones=st.sampled_from([UTC, CHINA_STANDARD_TIME,
                                                  timezone(timedelta(hours=-5))]))


def test_the_threshold_is_the_specs() -> None:
    assert minimum_cell_count() == 5


@given(st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31)))
def test_the_month_from_utc_columns_is_the_china_month(moment: datetime) -> None:
    utc = moment.replace(tzinfo=UTC)
    late = f"{utc.day:02d}" if utc.hour >= 16 and utc.day >= 28 else ""
    assert shifted_month(utc.strftime("%Y-%m"), late) == month_of(utc.isoformat())


@given(st.lists(st.tuples(st.sampled_from(CATEGORIES), st.sampled_from(COMMUNITIES), moments),
                max_size=60), st.integers(min_value=2, max_value=8))
def test_cells_count_exactly_and_hide_the_small_ones(issues: list[tuple[str, str, datetime]],
                                                     threshold: int) -> None:
    docs = [{"category": c, "communityDivisionCode": k, "submittedAt": m.isoformat()}
            for c, k, m in issues]
    stats = statistics_from_issues(docs, threshold)
    exact = Counter((c.split(".")[0], k, m.astimezone(CHINA_STANDARD_TIME).strftime("%Y-%m"))
                    for c, k, m in issues)
    assert {(c.category, c.community, c.month) for c in stats.cells} == set(exact)
    for cell in stats.cells:
        n = exact[(cell.category, cell.community, cell.month)]
        if n >= threshold:
            assert cell.count == n
        else:
            assert cell.suppressed and "count" not in cell.to_json()
    assert stats.months == sorted(stats.months, reverse=True)
    assert IssueStatistics.from_json(stats.to_json()) == stats


def test_sub_categories_fold_into_their_group_before_suppression() -> None:
    stats = IssueStatistics.from_counts({("environment.garbage", "1", "2026-11"): 3,
                                         ("environment.noise", "1", "2026-11"): 2}, 5)
    assert [(c.category, c.count) for c in stats.cells] == [("environment", 5)]


@given(st.dictionaries(st.tuples(st.sampled_from(CATEGORIES), st.sampled_from(COMMUNITIES),
                                 st.sampled_from(["2025-12", "2026-01", "2026-10"])),
                       st.integers(min_value=1, max_value=9), max_size=12))
def test_the_page_has_one_table_per_community_and_month_newest_first(
        counts: dict[tuple[str, str, str], int]) -> None:
    stats = IssueStatistics.from_counts(counts, 5)
    page = statistics_page(stats, "en", Links("/public/"))
    captions = re.findall(r"<caption>Community (\d+) · ([\d-]+)</caption>", page)
    expected = [(com, month) for month in stats.months for com in stats.communities
                if any(c.month == month and c.community == com for c in stats.cells)]
    assert captions == expected
    rows = re.findall(r'data-(count="\d+"|suppressed="true")', page)
    assert rows == [f'count="{c.count}"' if c.count is not None else 'suppressed="true"'
                    for com, month in expected for c in stats.cells
                    if c.month == month and c.community == com]
