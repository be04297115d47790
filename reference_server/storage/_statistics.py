"""Counts for the public issue statistics (/req/public-pages/small-cells): one grouped query
over the indexed columns, no document parsed; and what the writes since then changed, read
from the change feed, so that keeping the counts current costs what was written, not what is
stored."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
from sqlalchemy import case, func, select

from ._derive import derive
from ._tables import events, resources
from ._transactions import Tx

__all__ = ["Cell", "changed_between", "feed_head", "submission_cell", "submission_counts"]

#: (category, community, UTC month, late day): where :func:`submission_counts` counts a resource
Cell = tuple[str, str, str, str]


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
    """Where :func:`submission_counts` counted resource ``rid`` when the feed's head was
    ``at``: from its last state up to then, indexed as it was when written; None when it did
    not exist yet or was not counted."""
    e = events.c
    data = tx.conn.execute(select(e.data).where(e.rtype == rtype, e.rid == rid, e.seq <= at)
                           .order_by(e.seq.desc()).limit(1)).scalar()
    if data is None:
        return None
    d = derive(orjson.loads(data))
    submitted = d.submitted_at
    if d.category is None or d.community is None or submitted is None:
        return None
    # As the grouped query splits the column's fixed-width UTC text.
    day = submitted[8:10]
    late = day if submitted[11:13] >= "16" and day >= "28" else ""
    return d.category, d.community, submitted[:7], late
