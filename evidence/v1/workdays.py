"""Working time in Asia/Ho_Chi_Minh (DESIGN §6): working days, deadlines, overdue spans.

Working days are Monday–Friday less Vietnam's public holidays as the pinned ``holidays``
release computes them (its default categories, lunar Tết and Giỗ Tổ Hùng Vương included,
with its substituted days off). Make-up working days and any other change come only from
``calendar.adjusted`` entries, passed in as ``adjustments`` (the latest per date recorded
by the evaluation instant).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import holidays

ICT = ZoneInfo("Asia/Ho_Chi_Minh")
END_OF_DAY = time(17, 0)
# Working hours (indicator 7): 07:30–11:30 and 13:00–17:00 on working days.
WORKING_HOURS = ((time(7, 30), time(11, 30)), (time(13, 0), time(17, 0)))

DayKind = Literal["day_off", "working_day"]


@lru_cache(maxsize=256)
def _public_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("VN", years=year))


@lru_cache(maxsize=256)
def _standard_year(year: int) -> tuple[int, ...]:
    """Ordinals of ``year``'s working days before any recorded adjustment."""
    first, last = date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal()
    off = _public_holidays(year)
    return tuple(
        o
        for o in range(first, last + 1)
        if date.fromordinal(o).weekday() < 5 and date.fromordinal(o) not in off
    )


def public_holiday_name(day: date) -> str | None:
    """The ``holidays`` package's name for ``day`` in Vietnam, if it is a public holiday."""
    names = holidays.country_holidays("VN", years=day.year)
    name = names.get(day)
    return None if name is None else str(name)


def local_day(moment: datetime) -> date:
    """The calendar day of ``moment`` in Asia/Ho_Chi_Minh."""
    return moment.astimezone(ICT).date()


class WorkCalendar:
    """Vietnam's working days, with recorded adjustments applied."""

    def __init__(self, adjustments: Mapping[date, DayKind] | None = None) -> None:
        self.adjustments: dict[date, DayKind] = dict(adjustments or {})
        self._years: dict[int, list[int]] = {}  # year -> its working days' ordinals

    def _year(self, year: int) -> list[int]:
        """The ordinals of ``year``'s working days, in order."""
        days = self._years.get(year)
        if days is None:
            days = list(_standard_year(year))
            changes = [d for d in self.adjustments if d.year == year]
            if changes:
                kept = set(days)
                for day in changes:
                    if self.adjustments[day] == "working_day":
                        kept.add(day.toordinal())
                    else:
                        kept.discard(day.toordinal())
                days = sorted(kept)
            self._years[year] = days
        return days

    def _rank(self, day: date) -> int:
        """How many of its year's working days fall on or before ``day``."""
        return bisect.bisect_right(self._year(day.year), day.toordinal())

    def is_working_day(self, day: date) -> bool:
        kind = self.adjustments.get(day)
        if kind is not None:
            return kind == "working_day"
        return day.weekday() < 5 and day not in _public_holidays(day.year)

    def days_off(self, start: date, end: date) -> list[date]:
        """Weekdays that are not working days and weekend days that are, in [start, end]."""
        out: list[date] = []
        day = start
        while day <= end:
            if self.is_working_day(day) != (day.weekday() < 5):
                out.append(day)
            day += timedelta(days=1)
        return out

    def nth_working_day_after(self, day: date, n: int) -> date:
        """The ``n``-th working day strictly after ``day`` (``n`` ≥ 0; 0 gives ``day``)."""
        current = day
        remaining = n
        while remaining > 0:
            current += timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
        return current

    def deadline(self, start: datetime, working_days: int) -> datetime:
        """A span of N working days from ``start``: 17:00 ICT on the N-th working day after
        the calendar day of ``start``."""
        day = self.nth_working_day_after(local_day(start), working_days)
        return datetime.combine(day, END_OF_DAY, tzinfo=ICT)

    def shift(self, due: datetime, working_days: int) -> datetime:
        """``due`` moved ``working_days`` working days later, keeping its time of day (ICT)."""
        if working_days <= 0:
            return due.astimezone(ICT)
        local = due.astimezone(ICT)
        day = self.nth_working_day_after(local.date(), working_days)
        return datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=ICT)

    def working_days_between(self, after: date, through: date) -> int:
        """The working days d with ``after`` < d ≤ ``through`` (0 when ``through`` ≤ ``after``)."""
        if through <= after:
            return 0
        if after.year == through.year:
            return self._rank(through) - self._rank(after)
        count = len(self._year(after.year)) - self._rank(after)
        for year in range(after.year + 1, through.year):
            count += len(self._year(year))
        return count + self._rank(through)

    def working_days_list(self, after: date, through: date) -> list[date]:
        """The working days d with ``after`` < d ≤ ``through``, in order."""
        out: list[date] = []
        day = after + timedelta(days=1)
        while day <= through:
            if self.is_working_day(day):
                out.append(day)
            day += timedelta(days=1)
        return out

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        """Working hours in [start, end): 07:30–11:30 and 13:00–17:00 ICT on working days."""
        if end <= start:
            return 0.0
        first, last = local_day(start), local_day(end)
        seconds = 0.0
        day = first
        while day <= last:
            if self.is_working_day(day):
                for open_, close in WORKING_HOURS:
                    lo = max(start, datetime.combine(day, open_, tzinfo=ICT))
                    hi = min(end, datetime.combine(day, close, tzinfo=ICT))
                    if hi > lo:
                        seconds += (hi - lo).total_seconds()
            day += timedelta(days=1)
        return seconds / 3600


def median(values: list[float]) -> float | None:
    """The median, or ``None`` for no values (the mean of the middle two for an even count)."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def percentile_rank(value: float, population: list[float]) -> float | None:
    """100·(#lower + 0.5·#equal)/n over ``population`` (which includes ``value``); null if n < 5."""
    n = len(population)
    if n < 5:
        return None
    ordered = sorted(population)
    lower = bisect.bisect_left(ordered, value)
    equal = bisect.bisect_right(ordered, value) - lower
    return 100 * (lower + 0.5 * equal) / n


def ict_text(moment: datetime) -> str:
    """An instant as ISO 8601 in +07:00 (DESIGN §3's lexical form)."""
    return moment.astimezone(ICT).isoformat()
