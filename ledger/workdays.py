"""Working time in Asia/Ho_Chi_Minh (DESIGN §6): working days, deadlines, overdue spans.

Working days are Monday–Friday less Vietnam's public holidays as the pinned ``holidays``
release computes them (its default categories, lunar Tết and Giỗ Tổ Hùng Vương included,
with its substituted days off), plus the package's make-up working days: where it gives a
day off as substituted from a weekend day D, D is worked. ``calendar.adjusted`` entries,
passed in as ``adjustments`` (the latest per date recorded by the evaluation instant), win
over the package. ``calendar_days`` lists a year's departures with their sources.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from importlib.metadata import version
from typing import Literal
from zoneinfo import ZoneInfo

import holidays

from ledger.times import LEDGER_YEARS

ICT = ZoneInfo("Asia/Ho_Chi_Minh")
END_OF_DAY = time(17, 0)
# Working hours (indicator 7): 07:30–11:30 and 13:00–17:00 on working days.
WORKING_HOURS = ((time(7, 30), time(11, 30)), (time(13, 0), time(17, 0)))
# Holiday names follow the process locale unless a language is given (under C.UTF-8 they
# come out in English); Vietnamese is the package's own language for VN.
NAMES_LANGUAGE = "vi"
PACKAGE = f"holidays {version('holidays')}"

DayKind = Literal["day_off", "working_day"]

# The years the calendar answers for: the ledger's instants lie in LEDGER_YEARS (DESIGN §3 v4),
# a span of at most 1,000 working days (about four years) runs from them, and a day either
# side may fall in the year before or after in ICT.
CALENDAR_YEARS = (LEDGER_YEARS[0] - 1, LEDGER_YEARS[1] + 5)


class OutOfCalendar(ValueError):
    """A date or span outside the years the working-day calendar covers."""


@lru_cache(maxsize=64)
def _package(year: int, language: str) -> holidays.HolidayBase:
    """The package's Vietnam for ``year`` and its neighbours: a day off may be substituted
    from a day of another year (31/12/2018 for Saturday 5/1/2019)."""
    return holidays.country_holidays("VN", years=range(year - 1, year + 2), language=language)


@lru_cache(maxsize=256)
def _standard_year(year: int) -> tuple[int, ...]:
    """Ordinals of ``year``'s working days before any recorded adjustment: the package's
    own ``is_working_day``, which counts its make-up days (``weekend_workdays``)."""
    package = _package(year, NAMES_LANGUAGE)
    first, last = date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal()
    return tuple(o for o in range(first, last + 1) if package.is_working_day(date.fromordinal(o)))


def public_holiday_name(day: date, language: str = NAMES_LANGUAGE) -> str | None:
    """The ``holidays`` package's name for ``day`` in Vietnam, if it is a public holiday."""
    name = _package(day.year, language).get(day)
    return None if name is None else str(name)


def _made_up_for(package: holidays.HolidayBase, make_up: date) -> date | None:
    """The day off the package substituted from ``make_up``: the one whose name carries
    ``make_up`` as the package writes it ("Ngày nghỉ (thay cho ngày 22/08/2026)")."""
    written = make_up.strftime(package.tr(getattr(package, "substituted_date_format", "")))
    if not written:
        return None
    days = sorted(d for d, name in package.items() if written in str(name))
    return days[0] if days else None


@dataclass(frozen=True)
class CalendarDay:
    """A day the package or a recorded adjustment speaks about, and what it is worth."""

    day: date
    working: bool  # after recorded adjustments
    holiday: str | None = None  # the package's name, for a public holiday or a day off
    made_up_for: date | None = None  # a package make-up day: the day off moved from it
    adjusted: DayKind | None = None  # the recorded ``calendar.adjusted`` kind, which wins
    document: str | None = None  # that adjustment's ``source_document``, when known

    @property
    def departs(self) -> bool:
        """A weekday off or a weekend day worked: what ``WorkCalendar.days_off`` lists."""
        return self.working != (self.day.weekday() < 5)

    @property
    def source(self) -> str:
        """Where the day's status comes from, in a line."""
        if self.adjusted is not None:
            return f"calendar.adjusted: {self.document}" if self.document else "calendar.adjusted"
        if self.made_up_for is not None:
            return f"{PACKAGE}: the day off {self.made_up_for.isoformat()} is substituted from it"
        if self.holiday is not None:
            return f"{PACKAGE}: {self.holiday}"
        return PACKAGE  # a make-up day whose day off the package does not name


def calendar_days(
    year: int,
    adjustments: Mapping[date, DayKind] | None = None,
    documents: Mapping[date, str] | None = None,
    *,
    language: str = NAMES_LANGUAGE,
) -> list[CalendarDay]:
    """Every day of ``year`` that the package names (holidays, weekend ones included, and
    make-up days) or that ``adjustments`` records, in order; ``documents`` gives each
    adjustment's ``source_document``. Keep those with ``departs`` for the days off and
    make-up working days alone."""
    package = _package(year, language)
    calendar = WorkCalendar(adjustments)
    adjusted = {d: k for d, k in calendar.adjustments.items() if d.year == year}
    make_ups = {d for d in package.weekend_workdays if d.year == year}
    named = {d for d in package if d.year == year}
    out: list[CalendarDay] = []
    for day in sorted(named | make_ups | set(adjusted)):
        name = package.get(day)
        out.append(
            CalendarDay(
                day,
                calendar.is_working_day(day),
                holiday=None if name is None else str(name),
                made_up_for=_made_up_for(package, day) if day in make_ups else None,
                adjusted=adjusted.get(day),
                document=(documents or {}).get(day) if day in adjusted else None,
            )
        )
    return out


def local_day(moment: datetime) -> date:
    """The calendar day of ``moment`` in Asia/Ho_Chi_Minh."""
    return moment.astimezone(ICT).date()


class WorkCalendar:
    """Vietnam's working days, with recorded adjustments applied."""

    def __init__(self, adjustments: Mapping[date, DayKind] | None = None) -> None:
        self.adjustments: dict[date, DayKind] = dict(adjustments or {})
        self._years: dict[int, list[int]] = {}  # year -> its working days' ordinals
        self._sets: dict[int, frozenset[int]] = {}  # the same, for membership

    def _year(self, year: int) -> list[int]:
        """The ordinals of ``year``'s working days, in order."""
        days = self._years.get(year)
        if days is None:
            if not CALENDAR_YEARS[0] <= year <= CALENDAR_YEARS[1]:
                # A value rules version 3 let in (year 9999, 2^53 working days): a clear
                # error for the one matter it concerns, not a walk through the centuries.
                raise OutOfCalendar(
                    f"the working-day calendar covers {CALENDAR_YEARS[0]}–{CALENDAR_YEARS[1]}; "
                    f"a deadline or span reaches {year}"
                )
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
            # The set first: a reader that finds the list may rely on the set.
            self._sets[year] = frozenset(days)
            self._years[year] = days
        return days

    def _rank(self, day: date) -> int:
        """How many of its year's working days fall on or before ``day``."""
        return bisect.bisect_right(self._year(day.year), day.toordinal())

    def is_working_day(self, day: date) -> bool:
        known = self._sets.get(day.year)
        if known is None:
            self._year(day.year)
            known = self._sets[day.year]
        return day.toordinal() in known

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
        if n <= 0:
            return day
        year, index = day.year, self._rank(day) + n - 1  # index into the year's days
        while True:
            days = self._year(year)
            if index < len(days):
                return date.fromordinal(days[index])
            index -= len(days)
            year += 1

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
        for year in range(after.year, through.year + 1):
            days = self._year(year)
            lo = bisect.bisect_right(days, after.toordinal())
            hi = bisect.bisect_right(days, through.toordinal())
            out += [date.fromordinal(o) for o in days[lo:hi]]
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


def ict_text(moment: datetime) -> str:
    """An instant as ISO 8601 in +07:00 (DESIGN §3's lexical form)."""
    return moment.astimezone(ICT).isoformat()
