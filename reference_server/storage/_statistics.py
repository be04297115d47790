"""Counts for the public issue statistics (/req/public-pages/small-cells): the frame of the
published figures (their first month, and the communities and categories their issues name),
one probe of an index per value, never a read of every row; one month's counts, one grouped
query over that month's range of the submission index, no document parsed; and what the writes
since then changed, read from the change feed, so that keeping the counts current costs what
was written, not what is stored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, select

from smartcommunity import CHINA_STANDARD_TIME

from ._derive import derive, utc_text
from ._tables import events, resources
from ._transactions import Tx

__all__ = ["Cell", "Frame", "changed_between", "feed_head", "month_counts", "published_frame",
           "submission_cell"]

#: (category, community, UTC month, late day): where a resource is counted (the late day: see
#: :func:`submission_cell`)
Cell = tuple[str, str, str, str]


def feed_head(tx: Tx) -> int:
    """The change feed's last sequence number: it moves on with every write."""
    return int(tx.conn.execute(select(func.max(events.c.seq))).scalar() or 0)


#: the column's UTC text from which a moment falls after the China-time year 9999: no month
#: of the statistics holds it
_AFTER_9999 = "9999-12-31T16:00:00"


def _month_start(year: int, month: int) -> str:
    """The first moment of a China-time month as the column's UTC text, cut after the seconds:
    every stored moment from then on sorts at or after it."""
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    if year > 9999:
        return _AFTER_9999
    return utc_text(f"{year:04d}-{month:02d}-01T00:00:00+08:00")[:19]


def _bounds(month: str) -> tuple[str, str]:
    """The China-time ``month`` (YYYY-MM) as a half-open range of the column's UTC text."""
    year, mon = int(month[:4]), int(month[5:7])
    return _month_start(year, mon), _month_start(year, mon + 1)


def _counted(rtype: str) -> list[Any]:
    """The resources :func:`submission_counts` counts."""
    c = resources.c
    return [c.rtype == rtype, c.submitted_at.is_not(None), c.category.is_not(None),
            c.community.is_not(None)]


#: (first month, communities, categories) of the counted resources submitted before a month
Frame = tuple[str | None, list[str], list[str]]


def published_frame(tx: Tx, rtype: str, running: str) -> Frame:
    """What the figures published while China-time month ``running`` runs are made of: the
    China-time month of the first counted resource of ``rtype`` submitted before it (None:
    there is none), and the communities and categories those resources name. Each distinct
    value is one probe of its index from the value before (a skip scan), so that the cost
    is the number of values, not of rows."""
    c = resources.c
    year, month = int(running[:4]), int(running[5:7])
    before = [*_counted(rtype), c.submitted_at >= _month_start(1, 1),
              c.submitted_at < _month_start(year, month)]
    first = tx.conn.execute(select(c.submitted_at).where(*before)
                            .order_by(c.submitted_at.asc()).limit(1)).scalar()
    if first is None:
        return None, [], []
    found: list[list[str]] = []
    for column in (c.community, c.category):
        values: list[str] = []
        while True:
            after = [column > values[-1]] if values else []
            value = tx.conn.execute(select(column).where(*before, *after)
                                    .order_by(column.asc()).limit(1)).scalar()
            if value is None:
                break
            values.append(str(value))
        found.append(values)
    first_year, first_month = _china_month(str(first))
    return f"{first_year:04d}-{first_month:02d}", found[0], found[1]


def _china_month(text: str) -> tuple[int, int]:
    """The China-time (year, month) of the column's UTC ``text``, held to years 1 to 9999."""
    if text < "0001":  # year 0 in UTC: the first China-time month at the latest
        return 1, 1
    if text >= _AFTER_9999:
        return 9999, 12
    # the statistics' months are China's (/req/public-pages/small-cells)
    local = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(CHINA_STANDARD_TIME)
    return local.year, local.month


def month_counts(tx: Tx, rtype: str, month: str) -> Iterator[tuple[str, str, int]]:
    """(category, community, count) of the resources of ``rtype`` submitted in China-time
    ``month``: one grouped query over that month's range of the submission index."""
    c = resources.c
    start, end = _bounds(month)
    query = (select(c.category, c.community, func.count())
             .where(*_counted(rtype), c.submitted_at >= start, c.submitted_at < end)
             .group_by(c.category, c.community))
    for category, community, n in tx.conn.execute(query):
        yield str(category), str(community), int(n)


def changed_between(tx: Tx, rtype: str, after: int, head: int, most: int) -> list[str] | None:
    """The ids of the resources of ``rtype`` with a change event after sequence ``after`` up
    to ``head``; None when the feed holds more than ``most`` events there (count afresh)."""
    e = events.c
    rows = tx.conn.execute(select(e.rtype, e.rid).where(e.seq > after, e.seq <= head)
                           .order_by(e.seq).limit(most + 1)).all()
    if len(rows) > most:
        return None
    return list(dict.fromkeys(str(rid) for rt, rid in rows if rt == rtype))


def submission_cell(tx: Tx, rtype: str, rid: str, at: int) -> Cell | None:
    """Where resource ``rid`` was counted when the feed's head was ``at``: from its last state
    up to then, indexed as it was when written; None when it did not exist yet or was not
    counted. ``late day`` is the day of the month (two digits) for a submission at 16:00 UTC
    or later on day 28 onwards, else empty: on a month's last day that falls in the next
    China-time month, which the caller works out."""
    e = events.c
    data = tx.conn.execute(select(e.data).where(e.rtype == rtype, e.rid == rid, e.seq <= at)
                           .order_by(e.seq.desc()).limit(1)).scalar()
    if data is None:
        return None
    d = derive(orjson.loads(data))
    submitted = d.submitted_at
    if d.category is None or d.community is None or submitted is None:
        return None
    if not "0000-12-31T16" <= submitted < _AFTER_9999:
        return None  # outside the China-time years 1 to 9999, in no month's statistics
    # Split from the column's fixed-width UTC text.
    day = submitted[8:10]
    late = day if submitted[11:13] >= "16" and day >= "28" else ""
    return d.category, d.community, submitted[:7], late
