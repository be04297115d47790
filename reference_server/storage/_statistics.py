"""Counts for the public issue statistics (/req/public-pages/small-cells): which months have
any, probed month by month in the submission index; one month's counts, one grouped query over
that month's range of the index, no document parsed; and what the writes since then changed,
read from the change feed, so that keeping the counts current costs what was written, not
what is stored."""

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

__all__ = ["Cell", "changed_between", "feed_head", "month_counts", "month_has_submissions",
           "submission_cell", "submission_months"]

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


def month_has_submissions(tx: Tx, rtype: str, month: str) -> bool:
    """Whether any counted resource of ``rtype`` was submitted in China-time ``month``: one
    probe of the submission index."""
    c = resources.c
    start, end = _bounds(month)
    return tx.conn.execute(select(c.seq).where(*_counted(rtype), c.submitted_at >= start,
                                               c.submitted_at < end).limit(1)).first() is not None


def submission_months(tx: Tx, rtype: str) -> list[str]:
    """The China-time months in which counted resources of ``rtype`` were submitted: the first
    and last submission, then one probe a month between them, never a read of every row."""
    c = resources.c
    ends = []
    for order in (c.submitted_at.asc(), c.submitted_at.desc()):
        ends.append(tx.conn.execute(select(c.submitted_at).where(*_counted(rtype))
                                    .order_by(order).limit(1)).scalar())
    if ends[0] is None or ends[1] is None:
        return []
    (year, month), last = (_china_month(str(e)) for e in ends)
    months = []
    while (year, month) <= last:
        name = f"{year:04d}-{month:02d}"
        if month_has_submissions(tx, rtype, name):
            months.append(name)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


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
