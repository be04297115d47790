"""De-identified issue statistics: counts by category, community and month, small cells
suppressed (/req/public-pages/small-cells).

The counts are of issues submitted, by the top-level group of their category, the community
(division code) and the month in China Standard Time. A cell counting fewer issues than the
spec's threshold is published only as "suppressed": with one or two issues in a community a
month, a neighbour could tell who reported. No totals are published beside the cells, since a
total less the cells shown would give the suppressed ones back.

A month is published whole, as a grid: every group of the catalogue for every community the
figures cover, the same rows and columns for every published month, an empty cell suppressed as
a small one is — left out, it would tell 0 from 1 to 4. Only months that have ended are
published: figures following each filing would tell when it came, and their steps its size.

They are published a month at a time, a page holding at most the spec's number of communities
(/req/public-pages/figures-paged), so that no page grows with the city.
"""

from __future__ import annotations

import calendar
import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .._moments import CHINA_STANDARD_TIME
from ..exceptions import DocumentError
from ..specification import DEFAULT_VERSION, load_spec

__all__ = ["CHINA_STANDARD_TIME", "Cell", "FiguresPage", "IssueStatistics", "catalogue_groups",
           "communities_per_page", "is_division_code", "is_month", "minimum_cell_count",
           "month_of", "month_range", "published_months", "running_month",
           "statistics_from_issues"]

#: the requirement that states the threshold, and the name of its parameter
SMALL_CELLS = "/req/public-pages/small-cells"
#: the requirement that states how many communities a page of the figures holds at most
FIGURES_PAGED = "/req/public-pages/figures-paged"

#: ``YYYY-MM`` of the years 0001 to 9999: the year 0000 is no calendar's
_MONTH = re.compile(r"(?!0000)[0-9]{4}-(0[1-9]|1[0-2])", re.ASCII)
_DIVISION_CODE = re.compile(r"[0-9]{12}", re.ASCII)


def minimum_cell_count(version: str = DEFAULT_VERSION) -> int:
    """The fewest issues a published cell may count (the spec's ``minimumCellCount``)."""
    return int(load_spec(version).parameter(SMALL_CELLS, "minimumCellCount"))


def communities_per_page(version: str = DEFAULT_VERSION) -> int:
    """The most communities a page of the figures holds (the spec's ``communitiesPerPage``)."""
    return int(load_spec(version).parameter(FIGURES_PAGED, "communitiesPerPage"))


def catalogue_groups(version: str = DEFAULT_VERSION) -> tuple[str, ...]:
    """The top-level groups of the issue-category codelist, in code order: the rows of every
    community's table, whether or not any issue has them."""
    return tuple(sorted(c for c in load_spec(version).codelist("issue-category")
                        if "." not in c))


def running_month(now: datetime | None = None) -> str:
    """The China-time month of ``now`` (default: the current time): the first month whose
    figures are not published yet."""
    moment = (now or datetime.now(UTC)).astimezone(CHINA_STANDARD_TIME)
    return f"{moment.year:04d}-{moment.month:02d}"


def month_range(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` (both ``YYYY-MM``), newest first; empty when
    ``first`` comes after ``last``."""
    return [_month_name(k) for k in range(_month_key(last), _month_key(first) - 1, -1)]


def published_months(first: str | None, now: datetime | None = None) -> list[str]:
    """The months published at ``now``, newest first: from ``first`` (the month of the first
    issue counted, None when there is none) to the last that has ended."""
    if first is None:
        return []
    return month_range(first, running_month(now))[1:]  # the running month left out


def is_month(text: str) -> bool:
    """Whether ``text`` is a month as the figures name it: ``YYYY-MM``, of the years 0001 to
    9999."""
    return _MONTH.fullmatch(text) is not None


def is_division_code(text: str) -> bool:
    """Whether ``text`` is a 12-digit division code (a community, or a page's cursor)."""
    return _DIVISION_CODE.fullmatch(text) is not None


def month_of(moment: str) -> str:
    """``YYYY-MM`` of an RFC 3339 timestamp in China Standard Time."""
    text = moment.replace("z", "Z").replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    china = parsed.astimezone(CHINA_STANDARD_TIME)
    return f"{china.year:04d}-{china.month:02d}"  # strftime writes the year 999 as 999


def shifted_month(month: str, utc_day: str | None) -> str:
    """The China-time month of issues whose UTC month is ``month``, submitted on ``utc_day``
    (two digits) at 16:00 UTC or later when given: on a month's last day that is the next
    month's first day in China."""
    if not utc_day:
        return month
    year, mon = int(month[:4]), int(month[5:7])
    if int(utc_day) < calendar.monthrange(year, mon)[1]:
        return month
    return f"{year + 1:04d}-01" if mon == 12 else f"{year:04d}-{mon + 1:02d}"


@dataclass(frozen=True, slots=True)
class Cell:
    """One published cell: ``count`` is None when suppressed."""

    category: str
    community: str
    month: str
    count: int | None

    @property
    def suppressed(self) -> bool:
        return self.count is None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"category": self.category, "community": self.community,
                               "month": self.month}
        if self.count is None:
            out["suppressed"] = True
        else:
            out["count"] = self.count
        return out


@dataclass(frozen=True, slots=True)
class IssueStatistics:
    """The published table: every cell of each published month's grid, newest month first,
    small and empty ones suppressed."""

    threshold: int
    cells: tuple[Cell, ...]

    @classmethod
    def from_counts(cls, counts: Mapping[tuple[str, str, str], int], threshold: int, *,
                    groups: Iterable[str] | None = None, communities: Iterable[str] = (),
                    months: Iterable[str] | None = None) -> IssueStatistics:
        """The grid of ``months`` (default: every month from the first of the counts to their
        last) from exact counts keyed by (category, community, month): a cell for each group
        of ``groups`` (default: :func:`catalogue_groups`) and of the counts, for each
        community of ``communities`` and of the counts, in each month, the same for every
        month; counts of other months are left out. Categories are folded to their top-level
        group first, so that the fold happens before suppression."""
        folded: Counter[tuple[str, str, str]] = Counter()
        for (category, community, month), n in counts.items():
            folded[(category.split(".", 1)[0], community, month)] += n
        kept = {k: n for k, n in folded.items() if n > 0}
        if months is None:
            seen = sorted({m for _, _, m in kept}, key=_month_key)
            shown = month_range(seen[0], seen[-1]) if seen else []
        else:
            shown = sorted(set(months), key=_month_key, reverse=True)
        inside = set(shown)
        kept = {k: n for k, n in kept.items() if k[2] in inside}
        rows = sorted(set(catalogue_groups() if groups is None else groups)
                      | {g for g, _, _ in kept})
        columns = sorted(set(communities) | {c for _, c, _ in kept})
        # Newest month first, then by community and group: a month's cells lie together, in
        # the order its pages give them.
        cells = []
        for month in shown:
            for community in columns:
                for group in rows:
                    n = kept.get((group, community, month), 0)
                    cells.append(Cell(group, community, month, n if n >= threshold else None))
        return cls(threshold, tuple(cells))

    @property
    def months(self) -> list[str]:
        """The months that have cells (the published ones), newest first."""
        return sorted({c.month for c in self.cells}, reverse=True)

    def months_json(self) -> dict[str, Any]:
        """The list of months as ``/public/figures.json`` gives it: links only, no numbers."""
        return {"minimumCellCount": self.threshold, "months": self.months}

    def page(self, month: str, size: int, *, after: str | None = None,
             community: str | None = None) -> FiguresPage:
        """The page of ``month`` holding the first ``size`` communities whose code comes after
        ``after``, or only ``community``'s cells: found by bisection, so that a page costs its
        own cells, not the city's."""
        cells = self.cells
        by_month = -_month_key(month)
        lo = bisect_left(cells, by_month, key=_newest_first)
        hi = bisect_right(cells, by_month, lo, key=_newest_first)
        if community is not None:
            start = bisect_left(cells, community, lo, hi, key=_community)
            end = bisect_right(cells, community, start, hi, key=_community)
            return FiguresPage(self.threshold, size, month, cells[start:end], None)
        start = lo if after is None else bisect_right(cells, after, lo, hi, key=_community)
        end, taken, last = start, 0, None
        while end < hi:
            if cells[end].community != last:
                if taken == size:
                    break
                taken, last = taken + 1, cells[end].community
            end += 1
        return FiguresPage(self.threshold, size, month, cells[start:end],
                           last if end < hi else None)

    def pages(self, month: str, size: int) -> Iterator[FiguresPage]:
        """Every page of ``month``, first to last, as following ``next`` reads them."""
        page = self.page(month, size)
        yield page
        while page.next_after is not None:
            page = self.page(month, size, after=page.next_after)
            yield page

    @property
    def communities(self) -> list[str]:
        return sorted({c.community for c in self.cells})

    def to_json(self) -> dict[str, Any]:
        return {"minimumCellCount": self.threshold, "cells": [c.to_json() for c in self.cells]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> IssueStatistics:
        """The cells a server published (the ``cells`` of its pages of
        ``/public/figures/{month}.json``, gathered), as they are, in the order pages give.

        Raises :class:`~smartcommunity.exceptions.DocumentError` for data that is not such
        cells (a month, community or count of another form), naming where it is."""
        read = []
        for i, c in enumerate(data.get("cells") or ()):
            if not isinstance(c, Mapping):
                raise _malformed(f"/cells/{i}")
            month, community, count = c.get("month"), c.get("community"), c.get("count")
            for member, ok in (("month", isinstance(month, str) and is_month(month)),
                               ("community", isinstance(community, str)
                                and is_division_code(community)),
                               ("category", isinstance(c.get("category"), str)),
                               ("count", c.get("suppressed") is True or (
                                   type(count) is int and count >= 0))):
                if not ok:
                    raise _malformed(f"/cells/{i}/{member}")
            read.append(Cell(str(c["category"]), str(community), str(month),
                             None if c.get("suppressed") is True else count))
        threshold = data.get("minimumCellCount")
        if type(threshold) is not int:
            raise _malformed("/minimumCellCount")
        cells = sorted(read, key=lambda c: (-_month_key(c.month), c.community, c.category))
        return cls(threshold, tuple(cells))


def _malformed(pointer: str) -> DocumentError:
    return DocumentError(f"统计数据的 {pointer} 缺失或格式不对 / the figures' {pointer} is "
                         "missing or malformed")


@dataclass(frozen=True, slots=True)
class FiguresPage:
    """One page of one month's figures: at most ``size`` communities' cells, in community
    order; ``next_after`` is the last community shown when more follow (the next page's
    cursor), else None."""

    threshold: int
    size: int
    month: str
    cells: tuple[Cell, ...]
    next_after: str | None

    @property
    def communities(self) -> list[str]:
        return list(dict.fromkeys(c.community for c in self.cells))

    def to_json(self, next_href: str | None = None) -> dict[str, Any]:
        """The page as ``/public/figures/{month}.json`` gives it, ``next_href`` being where
        the next page is (needed when ``next_after`` is set)."""
        out: dict[str, Any] = {"minimumCellCount": self.threshold,
                               "communitiesPerPage": self.size, "month": self.month,
                               "cells": [c.to_json() for c in self.cells]}
        if self.next_after is not None and next_href is not None:
            out["next"] = next_href
        return out


def _month_key(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def _month_name(key: int) -> str:
    return f"{key // 12:04d}-{key % 12 + 1:02d}"


def _newest_first(cell: Cell) -> int:
    return -_month_key(cell.month)


def _community(cell: Cell) -> str:
    return cell.community


def statistics_from_issues(issues: Iterable[Mapping[str, Any]], threshold: int | None = None,
                           *, now: datetime | None = None, groups: Iterable[str] | None = None
                           ) -> IssueStatistics:
    """The statistics of issue documents as published at ``now`` (default: the current time),
    as a server publishes them (for files; a server keeps an aggregate instead): the months
    that have ended, from the first with an issue, each the whole grid of ``groups``
    (default: :func:`catalogue_groups`) for the communities their issues name."""
    running = _month_key(running_month(now))
    counts: Counter[tuple[str, str, str]] = Counter()
    for doc in issues:
        category, community = doc.get("category"), doc.get("communityDivisionCode")
        submitted = doc.get("submittedAt")
        if (isinstance(category, str) and isinstance(community, str)
                and isinstance(submitted, str)):
            month = month_of(submitted)
            if _month_key(month) < running:  # the running month is not published yet
                counts[(category, community, month)] += 1
    first = min((m for _, _, m in counts), key=_month_key, default=None)
    return IssueStatistics.from_counts(
        counts, minimum_cell_count() if threshold is None else threshold, groups=groups,
        months=published_months(first, now))
