"""Grouped counts over the indexed columns, for the public issue statistics: one query, no
document parsed (/req/public-pages/small-cells)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import case, func, select

from ._tables import events, resources
from ._transactions import Tx

__all__ = ["feed_head", "submission_counts"]


def feed_head(tx: Tx) -> int:
    """The change feed's last sequence number: it moves on with every write."""
    return int(tx.conn.execute(select(func.max(events.c.seq))).scalar() or 0)


def submission_counts(tx: Tx, rtype: str) -> Iterator[tuple[str, str, str, str, int]]:
    """(category, community, UTC month, late day, count) of the resources of ``rtype`` by
    submission. ``late day`` is the day of the month (two digits) for submissions at 16:00 UTC
    or later on day 28 onwards, else empty: on a month's last day those fall in the next month
    in China Standard Time, which the caller works out."""
    c = resources.c
    month = func.substr(c.submitted_at, 1, 7)
    day = func.substr(c.submitted_at, 9, 2)
    late = case((func.substr(c.submitted_at, 12, 2) >= "16", day), else_="")
    late_day = case((day >= "28", late), else_="")
    query = (select(c.category, c.community, month, late_day, func.count())
             .where(c.rtype == rtype, c.submitted_at.is_not(None), c.category.is_not(None),
                    c.community.is_not(None))
             .group_by(c.category, c.community, month, late_day))
    for category, community, utc_month, late_on, n in tx.conn.execute(query):
        yield str(category), str(community), str(utc_month), str(late_on or ""), int(n)
