"""De-identified issue statistics: counts by category, community and month, small cells
suppressed (/req/public-pages/small-cells).

The counts are of issues submitted, by the top-level group of their category, the community
(division code) and the month in China Standard Time. A cell counting fewer issues than the
spec's threshold is published only as "suppressed": with one or two issues in a community a
month, a neighbour could tell who reported. No totals are published beside the cells, since a
total less the cells shown would give the suppressed ones back.
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from ..specification import DEFAULT_VERSION, load_spec

__all__ = ["CHINA_STANDARD_TIME", "Cell", "IssueStatistics", "minimum_cell_count", "month_of",
           "statistics_from_issues"]

#: the months of the statistics are those of China Standard Time (UTC+08:00, no summer time)
CHINA_STANDARD_TIME = timezone(timedelta(hours=8))

#: the requirement that states the threshold, and the name of its parameter
SMALL_CELLS = "/req/public-pages/small-cells"


def minimum_cell_count(version: str = DEFAULT_VERSION) -> int:
    """The fewest issues a published cell may count (the spec's ``minimumCellCount``)."""
    return int(load_spec(version).parameter(SMALL_CELLS, "minimumCellCount"))


def month_of(moment: str) -> str:
    """``YYYY-MM`` of an RFC 3339 timestamp in China Standard Time."""
    text = moment.replace("z", "Z").replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(CHINA_STANDARD_TIME).strftime("%Y-%m")


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
    """The published table: every non-empty cell, newest month first, small ones suppressed."""

    threshold: int
    cells: tuple[Cell, ...]

    @classmethod
    def from_counts(cls, counts: Mapping[tuple[str, str, str], int], threshold: int
                    ) -> IssueStatistics:
        """From exact counts keyed by (category, community, month); categories are folded
        to their top-level group first, so that the fold happens before suppression."""
        folded: Counter[tuple[str, str, str]] = Counter()
        for (category, community, month), n in counts.items():
            folded[(category.split(".", 1)[0], community, month)] += n
        cells = tuple(
            Cell(cat, com, month, n if n >= threshold else None)
            for (cat, com, month), n in sorted(folded.items(),
                                               key=lambda kv: (-_month_key(kv[0][2]), kv[0]))
            if n > 0)
        return cls(threshold, cells)

    @property
    def months(self) -> list[str]:
        return sorted({c.month for c in self.cells}, reverse=True)

    @property
    def communities(self) -> list[str]:
        return sorted({c.community for c in self.cells})

    def to_json(self) -> dict[str, Any]:
        return {"minimumCellCount": self.threshold, "cells": [c.to_json() for c in self.cells]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> IssueStatistics:
        """The statistics a server published (``/public/figures.json``), as they are."""
        cells = tuple(Cell(str(c["category"]), str(c["community"]), str(c["month"]),
                           None if c.get("suppressed") else int(c["count"]))
                      for c in data.get("cells") or ())
        return cls(int(data["minimumCellCount"]), cells)


def _month_key(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7])


def statistics_from_issues(issues: Iterable[Mapping[str, Any]], threshold: int | None = None
                           ) -> IssueStatistics:
    """The statistics of issue documents (for files; a server keeps an aggregate instead)."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for doc in issues:
        category, community = doc.get("category"), doc.get("communityDivisionCode")
        submitted = doc.get("submittedAt")
        if (isinstance(category, str) and isinstance(community, str)
                and isinstance(submitted, str)):
            counts[(category, community, month_of(submitted))] += 1
    return IssueStatistics.from_counts(
        counts, minimum_cell_count() if threshold is None else threshold)
