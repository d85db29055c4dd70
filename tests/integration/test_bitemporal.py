"""Nothing about a closed matter changes with the clock or with ``to`` (DESIGN §6–§7 v4).

A council reads the same matter on different days and with different periods; what the
ledger says about the people in it must not move. A matter is judged at its closing: an
open supplement pause ends there, a consultation's window is judged there, and overdue days
stop there. ``to`` selects what had happened; it never changes how a deadline is computed
(calendar knowledge goes by record time). Reads here are made with read models whose clock
is set (``ReadModels(clock=…)``), as a server would answer on those days.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.times import parse_instant
from projections.reads import ReadModels
from tests.integration.test_matter_time import (
    MONDAY_2_MARCH,
    close,
    open_matter,
    province,
    request_supplement,
)
from tests.world import ICT, Actor, AgencyHandle, World

# The matter of the issue: received Mon 2 March (due Mon 9 March), a supplement requested
# Tue 3 March and never received, closed Thu 12 March with the pause still open.
CLOSED_AT = "2026-03-12T10:00:00+07:00"
# Due Mon 9 March + the pause (Wed 4 … Thu 12: 7 working days) = Wed 18 March.
DUE_WHEN_CLOSED = "2026-03-18T17:00:00+07:00"
NOWS = (
    datetime(2026, 3, 13, 9, 0, tzinfo=ICT),  # the day after the closing
    datetime(2026, 6, 1, 9, 0, tzinfo=ICT),  # three months later
    datetime(2027, 12, 1, 9, 0, tzinfo=ICT),  # another year
)


def _without_evaluation(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer less what states when (and over which period) it was evaluated."""
    return {k: v for k, v in answer.items() if k not in ("evaluated_at", "from", "to")}


@pytest.fixture
def closed(world: World) -> tuple[World, Actor, AgencyHandle]:
    agency, clerk = province(world)
    director = world.official("giam.doc", agency, agency.root_unit, head=True)
    subject = open_matter(world, "H10-CLOSED", clerk, agency, MONDAY_2_MARCH)
    request_supplement(world, subject, clerk, "2026-03-03T09:00:00+07:00")
    world.ok(
        "consultation.requested",
        subject,
        clerk,
        {"to": director.id, "question": "Có cấp được không?"},
        occurred_at="2026-03-03T10:00:00+07:00",
    )
    close(world, subject, clerk, CLOSED_AT)
    world.project()
    return world, clerk, agency


def _reads(world: World, now: datetime) -> ReadModels:
    return ReadModels(world.ledger.recorder, world.ledger.database_url, clock=lambda: now)


def test_a_pause_still_open_at_the_closing_ends_at_the_closing_whatever_the_day_it_is_read(
    closed: tuple[World, Actor, AgencyHandle],
) -> None:
    world, _, _ = closed
    for now in NOWS:
        reads = _reads(world, now)
        try:
            answer = reads.matter("H10-CLOSED", reads.cut())
        finally:
            reads.close()
        assert answer["due_at"] == DUE_WHEN_CLOSED, now
        assert answer["overdue_working_days"] == 0, now
        assert answer["status"] == "closed"


def test_a_closed_matter_read_on_three_days_gives_identical_answers(
    closed: tuple[World, Actor, AgencyHandle],
) -> None:
    world, clerk, _ = closed
    answers = []
    for now in NOWS:
        reads = _reads(world, now)
        try:
            cut = reads.cut()
            answers.append(
                (
                    _without_evaluation(reads.matter("H10-CLOSED", cut)),
                    _without_evaluation(reads.custody("H10-CLOSED", cut)),
                    _without_evaluation(reads.official_indicators(clerk.id, cut)),
                    [
                        {k: v for k, v in row.items()}
                        for row in reads.timeline(clerk.id, cut, after=None, limit=100)["rows"]
                    ],
                )
            )
        finally:
            reads.close()
    assert answers[0] == answers[1] == answers[2]
    # The consultation's window (5 working days from 3 March: 10 March) ended before the
    # closing: deemed agreed, on every day alike.
    assert "deemed_agreed" in answers[0][0]["flags"]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(hours_after_closing=st.integers(min_value=1, max_value=24 * 800))
def test_a_closed_matter_read_with_any_to_after_its_closing_gives_the_same_answer(
    closed: tuple[World, Actor, AgencyHandle], hours_after_closing: int
) -> None:
    world, clerk, _ = closed
    now = NOWS[-1] + timedelta(days=400)
    to = parse_instant(CLOSED_AT) + timedelta(hours=hours_after_closing)
    reads = _reads(world, now)
    try:
        plain, cut_at_to = reads.cut(), reads.cut(to=to)
        assert cut_at_to.evaluated_at == to
        assert _without_evaluation(reads.matter("H10-CLOSED", cut_at_to)) == (
            _without_evaluation(reads.matter("H10-CLOSED", plain))
        )
        assert _without_evaluation(reads.official_indicators(clerk.id, cut_at_to)) == (
            _without_evaluation(reads.official_indicators(clerk.id, plain))
        )
    finally:
        reads.close()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(days=st.integers(min_value=0, max_value=400))
def test_reading_an_open_matter_with_to_never_moves_its_due_date(world: World, days: int) -> None:
    if world.head("matter:H10-OPEN") is None:
        agency, clerk = province(world)
        open_matter(world, "H10-OPEN", clerk, agency, MONDAY_2_MARCH)
        world.project()
    to = parse_instant(MONDAY_2_MARCH) + timedelta(days=days, minutes=1)
    reads = _reads(world, datetime(2027, 12, 1, tzinfo=ICT))
    try:
        with_to = reads.matter("H10-OPEN", reads.cut(to=to))
    finally:
        reads.close()
    assert with_to["due_at"] == "2026-03-09T17:00:00+07:00"
    assert with_to["evaluated_at"] == to.astimezone(ICT).isoformat()
