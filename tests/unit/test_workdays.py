"""Working time in Asia/Ho_Chi_Minh (DESIGN §6): working days, deadlines, pauses, hours.

Vietnam's public holidays come from the pinned ``holidays`` release; make-up working days
and other changes only from ``calendar.adjusted`` entries, given here as ``adjustments``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.workdays import (
    ICT,
    DayKind,
    WorkCalendar,
    ict_text,
    local_day,
    median,
    percentile_rank,
)

PLUS7 = timezone(timedelta(hours=7))
VN = WorkCalendar()


def ict(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=PLUS7)


def at_five(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 17, 0, tzinfo=ICT)


# --- working days ------------------------------------------------------------------------


def test_monday_to_friday_are_working_days_and_the_weekend_is_not() -> None:
    week = [date(2026, 3, 2) + timedelta(days=i) for i in range(7)]  # Mon 2 – Sun 8 March
    assert [VN.is_working_day(d) for d in week] == [True] * 5 + [False] * 2


def test_tet_2026_is_off_from_monday_16_to_friday_20_february() -> None:
    for day in range(16, 21):
        assert not VN.is_working_day(date(2026, 2, day)), day
    assert VN.is_working_day(date(2026, 2, 13))  # the Friday before Tết
    assert VN.is_working_day(date(2026, 2, 23))  # the Monday after


def test_hung_kings_day_falling_on_a_sunday_is_observed_on_monday_27_april_2026() -> None:
    assert date(2026, 4, 26).weekday() == 6
    assert not VN.is_working_day(date(2026, 4, 27))
    assert VN.is_working_day(date(2026, 4, 28))


def test_reunification_day_and_labour_day_are_off() -> None:
    assert not VN.is_working_day(date(2026, 4, 30))
    assert not VN.is_working_day(date(2026, 5, 1))
    assert VN.is_working_day(date(2026, 4, 29))


def test_national_day_2026_is_off_with_1_september_and_the_substituted_31_august() -> None:
    for day in (date(2026, 8, 31), date(2026, 9, 1), date(2026, 9, 2)):
        assert not VN.is_working_day(day), day
    assert VN.is_working_day(date(2026, 9, 3))


def test_the_make_up_saturday_is_not_a_working_day_until_an_adjustment_says_so() -> None:
    # The package moves 22 August to 31 August, but make-up working days come only from
    # calendar.adjusted entries (DESIGN §6).
    saturday = date(2026, 8, 22)
    assert not VN.is_working_day(saturday)
    assert WorkCalendar({saturday: "working_day"}).is_working_day(saturday)


def test_adjustments_override_weekends_and_holidays_both_ways() -> None:
    calendar = WorkCalendar(
        {
            date(2026, 3, 7): "working_day",  # a Saturday made a working day
            date(2026, 3, 4): "day_off",  # an extra day off on a Wednesday
            date(2026, 4, 27): "working_day",  # a holiday worked
        }
    )
    assert calendar.is_working_day(date(2026, 3, 7))
    assert not calendar.is_working_day(date(2026, 3, 4))
    assert calendar.is_working_day(date(2026, 4, 27))
    assert not calendar.is_working_day(date(2026, 3, 8))  # the Sunday is untouched
    assert calendar.days_off(date(2026, 3, 2), date(2026, 3, 8)) == [
        date(2026, 3, 4),
        date(2026, 3, 7),
    ]


# --- deadlines ---------------------------------------------------------------------------


def test_five_working_days_from_the_friday_before_tet_end_on_friday_27_february() -> None:
    # Received Friday 13 Feb 2026. Mon 16 – Fri 20 are Tết, Sat 21 and Sun 22 the weekend:
    # Mon 23 (1), Tue 24 (2), Wed 25 (3), Thu 26 (4), Fri 27 (5) → 17:00 on Fri 27 Feb.
    due = VN.deadline(ict(2026, 2, 13, 9, 0), 5)
    assert due == at_five(2026, 2, 27)
    assert ict_text(due) == "2026-02-27T17:00:00+07:00"


def test_a_deadline_counts_from_the_calendar_day_in_ho_chi_minh_not_in_utc() -> None:
    # 20:00 UTC on Monday 2 March is already 03:00 on Tuesday 3 March in ICT, so one working
    # day later is Wednesday 4 March (in UTC it would have been Tuesday).
    start = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
    assert local_day(start) == date(2026, 3, 3)
    assert VN.deadline(start, 1) == at_five(2026, 3, 4)
    assert VN.deadline(start, 1).utcoffset() == timedelta(hours=7)


def test_a_deadline_ignores_the_time_of_day_of_its_start() -> None:
    assert VN.deadline(ict(2026, 3, 2, 0, 1), 1) == VN.deadline(ict(2026, 3, 2, 23, 59), 1)
    assert VN.deadline(ict(2026, 3, 2, 18, 0), 1) == at_five(2026, 3, 3)


def test_a_deadline_started_on_a_weekend_or_holiday_counts_from_the_next_working_day() -> None:
    assert VN.deadline(ict(2026, 3, 7, 10, 0), 1) == at_five(2026, 3, 9)  # Saturday
    assert VN.deadline(ict(2026, 4, 30, 10, 0), 1) == at_five(2026, 5, 4)  # Reunification Day


def test_a_deadline_skips_an_extra_day_off_and_uses_a_working_saturday() -> None:
    # From Monday 2 March: Tue 3, Wed 4, Thu 5, Fri 6, Mon 9 without adjustments.
    assert VN.deadline(ict(2026, 3, 2, 9, 0), 5) == at_five(2026, 3, 9)
    day_off = WorkCalendar({date(2026, 3, 5): "day_off"})
    assert day_off.deadline(ict(2026, 3, 2, 9, 0), 5) == at_five(2026, 3, 10)
    saturday = WorkCalendar({date(2026, 3, 7): "working_day"})
    assert saturday.deadline(ict(2026, 3, 2, 9, 0), 5) == at_five(2026, 3, 7)


def test_a_deadline_over_reunification_and_labour_days_skips_both() -> None:
    # From Wed 29 April: Thu 30 and Fri 1 May off, weekend; Mon 4 (1), Tue 5 (2).
    assert VN.deadline(ict(2026, 4, 29, 9, 0), 2) == at_five(2026, 5, 5)


# --- counting and shifting ---------------------------------------------------------------


def test_working_days_between_counts_days_after_the_first_through_the_second() -> None:
    assert VN.working_days_between(date(2026, 3, 2), date(2026, 3, 2)) == 0
    assert VN.working_days_between(date(2026, 3, 2), date(2026, 3, 3)) == 1
    assert VN.working_days_between(date(2026, 3, 2), date(2026, 3, 9)) == 5
    assert VN.working_days_between(date(2026, 3, 6), date(2026, 3, 8)) == 0  # a weekend
    assert VN.working_days_between(date(2026, 3, 9), date(2026, 3, 2)) == 0  # reversed
    # Over Tết: Mon 23 Feb is the first working day after Fri 13.
    assert VN.working_days_between(date(2026, 2, 13), date(2026, 2, 22)) == 0
    assert VN.working_days_between(date(2026, 2, 13), date(2026, 2, 23)) == 1
    assert VN.working_days_list(date(2026, 2, 27), date(2026, 3, 4)) == [
        date(2026, 3, 2),
        date(2026, 3, 3),
        date(2026, 3, 4),
    ]


def test_shift_moves_a_due_time_by_working_days_keeping_its_time_of_day() -> None:
    due = at_five(2026, 3, 9)
    assert VN.shift(due, 4) == at_five(2026, 3, 13)
    assert VN.shift(due, 5) == at_five(2026, 3, 16)  # over the weekend
    assert VN.shift(due, 0) == due
    morning = ict(2026, 2, 13, 10, 30)
    assert VN.shift(morning, 1) == datetime(2026, 2, 23, 10, 30, tzinfo=ICT)  # over Tết
    # A due time given in UTC is shifted on its ICT day and answered in ICT.
    late_utc = datetime(2026, 3, 6, 18, 0, tzinfo=UTC)  # Sat 7 March 01:00 ICT
    shifted = VN.shift(late_utc, 1)
    assert shifted == datetime(2026, 3, 9, 1, 0, tzinfo=ICT)
    assert shifted.utcoffset() == timedelta(hours=7)


# --- working hours -----------------------------------------------------------------------


def test_working_hours_skip_the_lunch_break() -> None:
    assert VN.working_hours_between(ict(2026, 3, 2, 10, 0), ict(2026, 3, 2, 14, 0)) == 2.5
    assert VN.working_hours_between(ict(2026, 3, 2, 11, 30), ict(2026, 3, 2, 13, 0)) == 0
    assert VN.working_hours_between(ict(2026, 3, 2, 6, 0), ict(2026, 3, 2, 18, 0)) == 8


def test_working_hours_across_a_weekend_count_only_the_working_days() -> None:
    # Fri 6 March 16:00 → Mon 9 March 08:30: one hour on Friday, one on Monday.
    assert VN.working_hours_between(ict(2026, 3, 6, 16, 0), ict(2026, 3, 9, 8, 30)) == 2


def test_working_hours_across_holidays_count_only_the_working_days() -> None:
    # Wed 29 April 16:00 → Mon 4 May 08:00: 30 April, 1 May and the weekend are off.
    assert VN.working_hours_between(ict(2026, 4, 29, 16, 0), ict(2026, 5, 4, 8, 0)) == 1.5
    # Fri 13 Feb 16:30 → Mon 23 Feb 09:30: all of Tết in between.
    assert VN.working_hours_between(ict(2026, 2, 13, 16, 30), ict(2026, 2, 23, 9, 30)) == 2.5


def test_working_hours_of_instants_given_in_utc_are_counted_in_ict() -> None:
    start = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # 10:00 ICT
    end = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # 14:00 ICT
    assert VN.working_hours_between(start, end) == 2.5


def test_working_hours_of_an_empty_or_reversed_span_are_zero() -> None:
    t = ict(2026, 3, 2, 10, 0)
    assert VN.working_hours_between(t, t) == 0
    assert VN.working_hours_between(t, t - timedelta(hours=1)) == 0


def test_working_hours_follow_adjustments() -> None:
    saturday = WorkCalendar({date(2026, 3, 7): "working_day"})
    start, end = ict(2026, 3, 7, 7, 0), ict(2026, 3, 7, 18, 0)
    assert VN.working_hours_between(start, end) == 0
    assert saturday.working_hours_between(start, end) == 8


# --- statistics --------------------------------------------------------------------------


def test_median_of_none_odd_and_even_counts() -> None:
    assert median([]) is None
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert median([7.0]) == 7.0


@pytest.mark.parametrize(
    ("value", "population", "expected"),
    [
        (3.0, [1.0, 2.0, 3.0, 4.0], None),  # n < 5
        (3.0, [1.0, 2.0, 3.0, 4.0, 5.0], 50.0),  # 100·(2 + 0.5·1)/5
        (5.0, [1.0, 2.0, 3.0, 4.0, 5.0], 90.0),  # 100·(4 + 0.5)/5
        (1.0, [1.0, 2.0, 3.0, 4.0, 5.0], 10.0),  # 100·(0 + 0.5)/5
        (2.0, [2.0, 2.0, 2.0, 2.0, 2.0], 50.0),  # all equal, the official included
        (2.0, [0.0, 2.0, 2.0, 5.0, 1.0, 9.0], 50.0),  # 100·(2 + 0.5·2)/6
    ],
)
def test_percentile_rank_counts_lower_and_half_of_equal(
    value: float, population: list[float], expected: float | None
) -> None:
    assert percentile_rank(value, population) == expected


# --- properties --------------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2024, 1, 1),
    max_value=datetime(2028, 12, 31),
    timezones=st.sampled_from([UTC, PLUS7, ICT, timezone(timedelta(hours=-5))]),
)
adjustment_sets = st.dictionaries(
    st.dates(min_value=date(2024, 1, 1), max_value=date(2029, 6, 30)),
    st.sampled_from(["day_off", "working_day"]),
    max_size=20,
)


@settings(max_examples=200, deadline=None)
@given(start=instants, n=st.integers(min_value=1, max_value=60), adjustments=adjustment_sets)
def test_a_deadline_is_1700_on_a_working_day_exactly_n_working_days_later(
    start: datetime, n: int, adjustments: dict[date, DayKind]
) -> None:
    calendar = WorkCalendar(adjustments)
    due = calendar.deadline(start, n)
    assert due.utcoffset() == timedelta(hours=7)
    assert due.astimezone(ICT).time() == time(17, 0)
    assert calendar.is_working_day(local_day(due))
    assert calendar.working_days_between(local_day(start), local_day(due)) == n
