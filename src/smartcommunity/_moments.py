"""Time as the standard counts it: the one RFC 3339 parser every part of the library uses,
and China Standard Time."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Final

#: China Standard Time (UTC+08:00, no summer time): the standard's dates and clock times are
#: China's (ages, retention periods, the months of statistics, a city calendar by default)
CHINA_STANDARD_TIME: Final = timezone(timedelta(hours=8))


def moment(value: Any) -> datetime | None:
    """The instant an RFC 3339 timestamp with an offset names (``Z``, ``T`` in either case);
    None when ``value`` is not one, a time without an offset included."""
    if type(value) is not str:
        return None
    try:
        stamp = datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo is not None else None
