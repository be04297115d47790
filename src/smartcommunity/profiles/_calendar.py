"""Working days and time limits (/req/profiles/deadlines).

``hours`` and ``days`` add elapsed time; ``working-days`` lands on the same local time of the
n-th working day after the start day, where a working day is a weekday that is not a holiday, or
a weekend day the city works in exchange for one. The start is read in the profile's offset, so a
report made at 23:30 on a Friday counts from that Friday wherever the server runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from .._moments import CHINA_STANDARD_TIME

__all__ = ["SCAN_LIMIT", "Calendar", "TimeLimit", "parse_offset"]

HOURS = "hours"
DAYS = "days"
WORKING_DAYS = "working-days"
#: how many days (fifty years) a working-day count may scan before it gives up (a calendar that
#: declares every day a holiday has no n-th working day)
SCAN_LIMIT = 366 * 50


@dataclass(frozen=True, slots=True)
class TimeLimit:
    """One time limit of the service catalogue: ``amount`` of ``unit``."""

    amount: int
    unit: str


def parse_offset(text: str) -> timezone:
    """``"+08:00"`` → the fixed offset."""
    sign = -1 if text.startswith("-") else 1
    hours, minutes = int(text[1:3]), int(text[4:6])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


@dataclass(frozen=True, slots=True)
class Calendar:
    """The city's working-day calendar."""

    weekend: frozenset[int] = frozenset({6, 7})
    holidays: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()
    offset: timezone = CHINA_STANDARD_TIME

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is worked: a make-up day always, a holiday never, else by weekday."""
        if day in self.working_days:
            return True
        if day in self.holidays:
            return False
        return day.isoweekday() not in self.weekend

    def worked_at_least(self) -> int:
        """How many working days any :data:`SCAN_LIMIT` days in a row hold at the fewest: each
        whole week its worked weekdays, less every holiday that falls on one."""
        worked = 7 - len(self.weekend & frozenset(range(1, 8)))
        lost = sum(1 for day in self.holidays if day.isoweekday() not in self.weekend)
        return SCAN_LIMIT // 7 * worked - lost

    def add(self, start: datetime, limit: TimeLimit) -> datetime:
        """The moment ``limit`` after ``start`` (an aware datetime), in the calendar's offset.

        Raises ``ValueError`` for a naive ``start``, an unknown unit, a moment outside the
        years a date can hold (1 to 9999), or a calendar with no working day in the years
        scanned.
        """
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError("the start of a time limit must carry its offset")
        try:
            return self._add(start.astimezone(self.offset), limit)
        except OverflowError:
            raise ValueError("the deadline falls outside the years a date can hold") from None

    def _add(self, local: datetime, limit: TimeLimit) -> datetime:
        if limit.unit == HOURS:
            return local + timedelta(hours=limit.amount)
        if limit.unit == DAYS:
            return local + timedelta(days=limit.amount)
        if limit.unit != WORKING_DAYS:
            raise ValueError(f"unknown time limit unit {limit.unit!r}")
        day, left = local.date(), limit.amount
        for _ in range(SCAN_LIMIT):
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
                if left == 0:
                    return datetime.combine(day, local.timetz())
        raise ValueError("the calendar has no working day to count")
