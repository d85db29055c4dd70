"""The demo's history is a function of its seed and start date, signed as the rules ask."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from demo.build import DemoError, batches, build, plan
from demo.province import ROOT_ID, ascii_id, build_registry
from demo.story import ADJUSTMENTS, ROOT, STEP_WORKING_DAYS, Submission, WorkClock
from ledger.canonical import jcs
from ledger.settings import Settings
from ledger.workdays import ICT, WorkCalendar, calendar_days
from projections.indicators import NAMES

START = date(2026, 1, 5)
CALENDAR_DOC = Path(__file__).resolve().parents[2] / "docs" / "calendar.md"


def test_the_same_seed_and_start_sign_the_same_statements_byte_for_byte() -> None:
    _, first = plan(11, START, 40)
    _, second = plan(11, START, 40)
    assert [jcs(s.envelope) for s in first] == [jcs(s.envelope) for s in second]
    assert [s.token for s in first] == [s.token for s in second]


def test_another_seed_or_start_gives_another_history() -> None:
    _, base = plan(11, START, 40)
    _, other_seed = plan(12, START, 40)
    _, other_start = plan(11, date(2026, 2, 2), 40)
    assert jcs(base[-1].envelope) != jcs(other_seed[-1].envelope)
    assert jcs(base[-1].envelope) != jcs(other_start[-1].envelope)


def test_vietnamese_names_keep_their_marks_and_ids_are_plain_ascii() -> None:
    registry = build_registry(5)
    names = [p.full_name for p in registry.people.values()]
    assert any(any(ord(c) > 127 for c in name) for name in names)
    for person in registry.people.values():
        assert person.id.isascii()
        assert unicodedata.is_normalized("NFC", person.full_name)
    assert ascii_id("Đặng Thị Ngọc Ánh") == "dang.thi.ngoc.anh"


def test_each_subject_is_chained_from_seq_zero_without_gaps() -> None:
    _, submissions = plan(3, START, 60)
    seen: dict[str, list[int]] = defaultdict(list)
    for item in submissions:
        statement = item.envelope["statement"]
        seen[statement["subject"]].append(statement["seq"])
    for subject, seqs in seen.items():
        assert seqs == list(range(len(seqs))), subject


def test_every_matter_statement_falls_in_working_hours_and_never_runs_backwards() -> None:
    story, submissions = plan(3, START, 60)
    calendar = story.clock.calendar
    last: dict[str, datetime] = {}
    for item in submissions[story.registry_end :]:
        statement = item.envelope["statement"]
        moment = datetime.fromisoformat(statement["occurred_at"]).astimezone(ICT)
        assert calendar.is_working_day(moment.date()), statement
        assert time(7, 30) <= moment.time() <= time(17, 0), statement
        assert moment >= last.get(statement["subject"], moment), statement
        last[statement["subject"]] = moment


def test_each_indicator_of_v4_has_one_planted_official_and_every_plant_an_indicator() -> None:
    story, _ = plan(3, START, 10)
    indicators = [p.indicator for p in story.planted.values()]
    for name in ("competence_unused", "missed_step_deadlines", "idle_custody"):
        assert indicators.count(name) == 1, name
    assert set(indicators) <= set(NAMES)
    assert len(story.planted) == 12


def test_every_lead_assignment_states_the_steps_due_time() -> None:
    story, submissions = plan(3, START, 60)
    calendar = story.clock.calendar
    budget: dict[str, int] = {}
    assignments = 0
    for item in submissions[story.registry_end :]:
        statement = item.envelope["statement"]
        body = statement["body"]
        if statement["type"] == "matter.opened":
            budget[statement["subject"]] = body["deadline_working_days"]
        elif statement["type"] == "task.assigned":
            assignments += 1
            days = min(STEP_WORKING_DAYS, budget[statement["subject"]])
            expected = calendar.deadline(datetime.fromisoformat(statement["occurred_at"]), days)
            assert datetime.fromisoformat(body["due_at"]) == expected, statement
    assert assignments


def test_the_work_clock_skips_lunch_nights_weekends_and_tet() -> None:
    clock = WorkClock(WorkCalendar())
    friday_before_tet = datetime(2026, 2, 13, 16, 0, tzinfo=ICT)
    # One hour is left on Friday; 16-20 February are Tết, so two hours end on 23 February.
    assert clock.advance(friday_before_tet, 2) == datetime(2026, 2, 23, 8, 30, tzinfo=ICT)
    before_lunch = datetime(2026, 3, 2, 11, 0, tzinfo=ICT)
    assert clock.advance(before_lunch, 1) == datetime(2026, 3, 2, 13, 30, tzinfo=ICT)


def test_the_demo_records_the_new_year_2026_swap_as_a_province_would() -> None:
    story, submissions = plan(3, START, 10)
    adjusted = [
        s.envelope["statement"]
        for s in submissions[: story.registry_end]
        if s.envelope["statement"]["type"] == "calendar.adjusted"
    ]
    assert [(a["body"]["date"], a["body"]["kind"]) for a in adjusted] == [
        ("2026-01-02", "day_off"),
        ("2026-01-10", "working_day"),
    ]
    for statement in adjusted:
        assert statement["subject"] == "calendar:VN"
        assert statement["actor"] == ROOT_ID
        assert statement["body"]["source_document"].endswith("(dữ liệu minh họa)")
    calendar = story.clock.calendar
    assert not calendar.is_working_day(date(2026, 1, 2))
    assert calendar.is_working_day(date(2026, 1, 10))
    assert calendar.is_working_day(date(2026, 8, 22))  # the package's own make-up day


def test_docs_calendar_lists_every_2026_day_the_demo_calendar_departs_on() -> None:
    story, _ = plan(3, START, 10)
    documents = {date.fromisoformat(d): source for d, _, source in ADJUSTMENTS}
    rows = {
        line.split("|")[1].strip(): line
        for line in CALENDAR_DOC.read_text(encoding="utf-8").splitlines()
        if line.startswith("| 2026-")
    }
    departs = [
        d for d in calendar_days(2026, story.clock.calendar.adjustments, documents) if d.departs
    ]
    # Weekdays off first, then weekend days worked, each in date order.
    assert list(rows) == [d.day.isoformat() for d in departs if not d.working] + [
        d.day.isoformat() for d in departs if d.working
    ]
    for day in departs:
        row = rows[day.day.isoformat()]
        if day.adjusted is not None:
            assert "calendar.adjusted" in row, row
            assert "01/TB-UBND" in str(day.document), day
        elif day.holiday is not None:
            assert day.holiday in row, row
        else:
            assert day.made_up_for is not None, day
            made_up_for = day.made_up_for
            assert f"make-up for {made_up_for:%A} {made_up_for.day}/{made_up_for.month}" in row


def _submission(token: str, subject: str, seq: int) -> Submission:
    return Submission(token, {"statement": {"subject": subject, "seq": seq}})


def test_batches_never_send_a_subjects_statement_before_its_earlier_ones() -> None:
    items = [
        _submission("A", "matter:1", 0),
        _submission("B", "matter:2", 0),
        _submission("B", "matter:1", 1),  # the reply of another agency's official
        _submission("A", "matter:1", 2),
        _submission("A", "matter:3", 0),
    ]
    sent: list[tuple[str, int]] = []
    for _, envs in batches(items):
        sent += [(e["statement"]["subject"], e["statement"]["seq"]) for e in envs]
    order = [seq for subject, seq in sent if subject == "matter:1"]
    assert order == [0, 1, 2]
    assert sorted(sent) == sorted(
        (s.envelope["statement"]["subject"], s.envelope["statement"]["seq"]) for s in items
    )


def test_registry_batches_keep_the_order_across_subjects() -> None:
    items = [
        _submission(ROOT, "agency:X", 0),
        _submission("X", "agency:X", 1),
        _submission("X", "official:a", 0),
        _submission(ROOT, "agency:Y", 0),
    ]
    grouped = batches(items, in_order=True)
    assert [token for token, _ in grouped] == [ROOT, "X", ROOT]


def test_a_start_date_whose_history_would_end_in_the_future_is_refused_and_writes_nothing(
    tmp_path,
) -> None:
    settings = Settings.load(tmp_path / "demo")
    late_start = date.today() - timedelta(days=30)
    with pytest.raises(DemoError, match="pick an earlier --start"):
        build(settings, matters=20, seed=1, start=late_start)
    assert not settings.log_key_path.exists()
