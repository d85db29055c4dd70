"""Working time in Asia/Ho_Chi_Minh (DESIGN §6): working days, deadlines, pauses, hours.

Vietnam's public holidays and make-up working days come from the pinned ``holidays``
release; ``calendar.adjusted`` entries, given here as ``adjustments``, win over it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import holidays
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.workdays import (
    ICT,
    DayKind,
    WorkCalendar,
    calendar_days,
    ict_text,
    local_day,
    median,
    public_holiday_name,
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


def test_the_package_gives_31_august_as_substituted_from_saturday_22_august_2026() -> None:
    # The fact the make-up rule rests on, as the pinned release states it: the day off's
    # name says where it came from, and the Saturday is among its weekend working days.
    package = holidays.country_holidays("VN", years=2026, language="en_US")
    assert package.get(date(2026, 8, 31)) == "Day off (substituted from 08/22/2026)"
    assert date(2026, 8, 22) in package.weekend_workdays
    assert package.is_working_day(date(2026, 8, 22))


def test_the_make_up_saturday_22_august_2026_is_a_working_day() -> None:
    saturday = date(2026, 8, 22)
    assert VN.is_working_day(saturday)
    assert not VN.is_working_day(date(2026, 8, 23))  # its Sunday is not
    assert VN.days_off(date(2026, 8, 17), date(2026, 8, 23)) == [saturday]


def test_a_make_up_day_substituted_across_a_year_end_is_worked() -> None:
    # Monday 31/12/2018 off, substituted from Saturday 5/1/2019.
    assert not VN.is_working_day(date(2018, 12, 31))
    assert VN.is_working_day(date(2019, 1, 5))
    made_up = {d.day: d.made_up_for for d in calendar_days(2019) if d.made_up_for}
    assert made_up == {date(2019, 1, 5): date(2018, 12, 31), date(2019, 5, 4): date(2019, 4, 29)}


def test_the_swap_of_2_january_2026_is_not_in_the_package_and_comes_from_adjustments() -> None:
    friday, saturday = date(2026, 1, 2), date(2026, 1, 10)
    assert VN.is_working_day(friday)
    assert not VN.is_working_day(saturday)
    swapped = WorkCalendar({friday: "day_off", saturday: "working_day"})
    assert not swapped.is_working_day(friday)
    assert swapped.is_working_day(saturday)


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


def test_recorded_adjustments_win_over_the_package_in_both_directions() -> None:
    calendar = WorkCalendar(
        {
            date(2026, 8, 22): "day_off",  # the package's make-up Saturday, not worked
            date(2026, 8, 31): "working_day",  # the package's substituted day off, worked
        }
    )
    assert not calendar.is_working_day(date(2026, 8, 22))
    assert calendar.is_working_day(date(2026, 8, 31))
    assert calendar.days_off(date(2026, 8, 17), date(2026, 9, 6)) == [
        date(2026, 9, 1),
        date(2026, 9, 2),
    ]
    # From Friday 21 August, 10 working days: 24–28 (5), 31 (6), 3, 4, 7, 8 September.
    assert calendar.deadline(ict(2026, 8, 21, 9, 0), 10) == at_five(2026, 9, 8)


# The 2026 calendar (docs/calendar.md): the package's days, and the demo's recorded swap.
SWAP_2026: dict[date, DayKind] = {date(2026, 1, 2): "day_off", date(2026, 1, 10): "working_day"}
WEEKDAYS_OFF_2026 = [
    date(2026, 1, 1),  # Tết Dương lịch
    date(2026, 1, 2),  # recorded: swapped with Saturday 10 January
    *(date(2026, 2, d) for d in range(16, 21)),  # Tết Nguyên Đán, Mon 16 – Fri 20
    date(2026, 4, 27),  # Giỗ Tổ Hùng Vương (Sunday 26 April), observed
    date(2026, 4, 30),  # Ngày Chiến thắng
    date(2026, 5, 1),  # Ngày Quốc tế Lao động
    date(2026, 8, 31),  # substituted from Saturday 22 August
    date(2026, 9, 1),  # Quốc khánh, the adjacent day
    date(2026, 9, 2),  # Quốc khánh
    date(2026, 11, 24),  # Ngày Văn hóa Việt Nam (the package's, from 2026)
]
WEEKEND_DAYS_WORKED_2026 = [date(2026, 1, 10), date(2026, 8, 22)]


def test_the_2026_calendar_lists_every_weekday_off_and_weekend_day_worked() -> None:
    calendar = WorkCalendar(SWAP_2026)
    expected = sorted(WEEKDAYS_OFF_2026 + WEEKEND_DAYS_WORKED_2026)
    assert calendar.days_off(date(2026, 1, 1), date(2026, 12, 31)) == expected
    listed = calendar_days(2026, SWAP_2026)
    assert [d.day for d in listed if d.departs] == expected
    assert len(calendar.working_days_list(date(2025, 12, 31), date(2026, 12, 31))) == (
        261 - len(WEEKDAYS_OFF_2026) + len(WEEKEND_DAYS_WORKED_2026)
    )


def test_the_2026_calendar_names_the_source_of_each_day() -> None:
    documents = {date(2026, 1, 2): "Thông báo A", date(2026, 1, 10): "Thông báo A"}
    listed = {d.day: d for d in calendar_days(2026, SWAP_2026, documents)}
    assert listed[date(2026, 1, 2)].source == "calendar.adjusted: Thông báo A"
    assert listed[date(2026, 1, 10)].adjusted == "working_day"
    assert listed[date(2026, 2, 17)].holiday == "Tết Nguyên Đán"
    assert listed[date(2026, 4, 27)].holiday == "Ngày Giỗ Tổ Hùng Vương (nghỉ bù)"
    # The Sunday itself is named but changes nothing.
    assert listed[date(2026, 4, 26)].holiday == "Ngày Giỗ Tổ Hùng Vương"
    assert not listed[date(2026, 4, 26)].departs
    saturday = listed[date(2026, 8, 22)]
    assert saturday.working
    assert saturday.made_up_for == date(2026, 8, 31)
    assert saturday.source.endswith("the day off 2026-08-31 is substituted from it")
    assert listed[date(2026, 8, 31)].holiday == "Ngày nghỉ (thay cho ngày 22/08/2026)"
    english = {d.day: d for d in calendar_days(2026, language="en_US")}
    assert english[date(2026, 8, 31)].holiday == "Day off (substituted from 08/22/2026)"


def test_a_recorded_adjustment_of_a_package_day_is_listed_with_both_sources() -> None:
    listed = {d.day: d for d in calendar_days(2026, {date(2026, 4, 27): "working_day"})}
    worked = listed[date(2026, 4, 27)]
    assert worked.working
    assert not worked.departs  # a Monday worked is no departure from Monday–Friday
    assert worked.adjusted == "working_day"
    assert worked.holiday == "Ngày Giỗ Tổ Hùng Vương (nghỉ bù)"
    assert worked.source == "calendar.adjusted"


def test_holiday_names_do_not_depend_on_the_process_locale() -> None:
    assert public_holiday_name(date(2026, 9, 2)) == "Quốc khánh"
    assert public_holiday_name(date(2026, 9, 2), "en_US") == "National Day"
    assert public_holiday_name(date(2026, 9, 3)) is None


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


def test_a_deadline_crossing_31_august_2026_counts_the_make_up_saturday() -> None:
    # From Thursday 20 August, 5 working days: Fri 21 (1), Sat 22 (2), Mon 24 (3),
    # Tue 25 (4), Wed 26 (5).
    assert VN.deadline(ict(2026, 8, 20, 9, 0), 5) == at_five(2026, 8, 26)
    # From Friday 21 August, 10: Sat 22 (1), 24–28 (2–6), 31 August and 1–2 September
    # off, Thu 3 (7), Fri 4 (8), Mon 7 (9), Tue 8 (10).
    assert VN.deadline(ict(2026, 8, 21, 9, 0), 10) == at_five(2026, 9, 8)
    assert VN.working_days_between(date(2026, 8, 21), date(2026, 9, 8)) == 10
    assert date(2026, 8, 22) in VN.working_days_list(date(2026, 8, 21), date(2026, 9, 8))


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


def _walk(calendar: WorkCalendar, day: date, n: int) -> date:
    """The n-th working day after ``day``, one day at a time: what the table must agree with."""
    while n > 0:
        day += timedelta(days=1)
        n -= calendar.is_working_day(day)
    return day


@settings(max_examples=100, deadline=None)
@given(
    day=st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31)),
    n=st.integers(min_value=0, max_value=1000),
    adjustments=adjustment_sets,
)
def test_the_nth_working_day_from_the_table_is_the_one_a_day_by_day_walk_finds(
    day: date, n: int, adjustments: dict[date, DayKind]
) -> None:
    calendar = WorkCalendar(adjustments)
    assert calendar.nth_working_day_after(day, n) == _walk(calendar, day, n)


@settings(max_examples=100, deadline=None)
@given(
    after=st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31)),
    span=st.integers(min_value=-5, max_value=800),
    adjustments=adjustment_sets,
)
def test_the_working_days_listed_are_the_days_is_working_day_accepts(
    after: date, span: int, adjustments: dict[date, DayKind]
) -> None:
    calendar = WorkCalendar(adjustments)
    through = after + timedelta(days=span)
    walked = [
        after + timedelta(days=i)
        for i in range(1, span + 1)
        if calendar.is_working_day(after + timedelta(days=i))
    ]
    assert calendar.working_days_list(after, through) == walked
    assert calendar.working_days_between(after, through) == len(walked)


def test_a_thousand_working_days_are_counted_across_years() -> None:
    start = date(2026, 1, 5)
    assert VN.nth_working_day_after(start, 1000) == _walk(VN, start, 1000)
    assert VN.working_days_between(start, VN.nth_working_day_after(start, 1000)) == 1000
