"""A matter's clock through the API (DESIGN §6 "Working time", docs/read-models.md):
``due_at`` from the opening, supplement pauses, extensions and calendar adjustments, and
``overdue_working_days`` counted to E or to the closing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.world import ICT, PROCEDURE, Actor, AgencyHandle, World

REGISTRY_DAY = datetime(2026, 2, 2, 8, 0, tzinfo=ICT)  # before every matter below
MONDAY_2_MARCH = "2026-03-02T09:00:00+07:00"  # due Mon 9 March 17:00 (Tue 3 … Mon 9)
DUE_9_MARCH = "2026-03-09T17:00:00+07:00"


def province(world: World) -> tuple[AgencyHandle, Actor]:
    """An agency and one official, registered early enough to open matters in February."""
    world.clock = REGISTRY_DAY
    agency = world.agency("so-tnmt")
    phong = world.unit(agency, "phong-dat")
    return agency, world.official("chuyen.vien.a", agency, phong)


def open_matter(
    world: World, matter_id: str, opener: Actor, agency: AgencyHandle, occurred_at: str
) -> str:
    """Open the matter at ``occurred_at``; its subject."""
    return str(open_matter_receipt(world, matter_id, opener, agency, occurred_at)["subject"])


def open_matter_receipt(
    world: World, matter_id: str, opener: Actor, agency: AgencyHandle, occurred_at: str
) -> dict[str, Any]:
    return world.ok(
        "matter.opened",
        f"matter:{matter_id}",
        opener,
        {
            "title": "Cấp giấy chứng nhận quyền sử dụng đất",
            "procedure_code": PROCEDURE,
            "agency_id": agency.id,
            "deadline_working_days": 5,
            "applicant_ref": "HS-0001",
        },
        occurred_at=occurred_at,
    )


def matter(world: World, matter_id: str, **params: Any) -> dict[str, Any]:
    return world.read(f"/v1/matters/{matter_id}", **params)


def request_supplement(world: World, subject: str, actor: Actor, at: str) -> dict[str, Any]:
    items = ["Bản sao sổ hộ khẩu", "Trích lục bản đồ địa chính"]
    return world.ok("supplement.requested", subject, actor, {"items": items}, occurred_at=at)


def receive_supplement(world: World, subject: str, actor: Actor, at: str) -> dict[str, Any]:
    return world.ok("supplement.received", subject, actor, {}, occurred_at=at)


def close(world: World, subject: str, actor: Actor, at: str) -> dict[str, Any]:
    return world.ok("matter.closed", subject, actor, {"result": "completed"}, occurred_at=at)


# --- (a) the deadline over Tết; overdue while open ---------------------------------------


def test_a_matter_received_the_friday_before_tet_is_due_friday_27_february(
    world: World,
) -> None:
    agency, a = province(world)
    open_matter(world, "H10-TET", a, agency, "2026-02-13T09:00:00+07:00")
    # Tết is Mon 16 – Fri 20 Feb, then the weekend: Mon 23, Tue 24, Wed 25, Thu 26, Fri 27
    # are working days 1–5.
    read = matter(world, "H10-TET")
    assert read["due_at"] == "2026-02-27T17:00:00+07:00"
    assert read["opened_at"] == "2026-02-13T09:00:00+07:00"


def test_an_open_matter_read_at_to_is_overdue_by_the_working_days_after_its_due_day(
    world: World,
) -> None:
    agency, a = province(world)
    subject = open_matter(world, "H10-TET", a, agency, "2026-02-13T09:00:00+07:00")
    close(world, subject, a, "2026-03-06T10:00:00+07:00")

    on_time = matter(world, "H10-TET", to="2026-02-27T16:59:00+07:00")
    assert on_time["status"] == "open"
    assert on_time["overdue_working_days"] == 0
    assert "overdue" not in on_time["flags"]

    # Still open at E = to: Mon 2, Tue 3, Wed 4 March after the due day (weekend skipped).
    late = matter(world, "H10-TET", to="2026-03-04T12:00:00+07:00")
    assert late["status"] == "open"
    assert late["closed_at"] is None
    assert late["evaluated_at"] == "2026-03-04T12:00:00+07:00"
    assert late["due_at"] == "2026-02-27T17:00:00+07:00"
    assert late["overdue_working_days"] == 3
    assert "overdue" in late["flags"]

    # Read now it is closed (Fri 6 March), so counted to the closing day: 2, 3, 4, 5, 6.
    closed = matter(world, "H10-TET")
    assert closed["status"] == "closed"
    assert closed["overdue_working_days"] == 5


# --- (b) supplement pauses ---------------------------------------------------------------


def test_a_supplement_pause_pushes_the_due_time_by_the_working_days_it_lasted(
    world: World,
) -> None:
    agency, a = province(world)
    subject = open_matter(world, "H10-SUP", a, agency, MONDAY_2_MARCH)
    request_supplement(world, subject, a, "2026-03-04T10:00:00+07:00")  # Wednesday
    receive_supplement(world, subject, a, "2026-03-10T10:00:00+07:00")  # next Tuesday

    before = matter(world, "H10-SUP", to="2026-03-04T09:00:00+07:00")
    assert before["due_at"] == DUE_9_MARCH
    # P = Thu 5, Fri 6, Mon 9, Tue 10 = 4 working days: Mon 9 → Fri 13 March.
    after = matter(world, "H10-SUP")
    assert after["due_at"] == "2026-03-13T17:00:00+07:00"
    at_receipt = matter(world, "H10-SUP", to="2026-03-10T10:00:01+07:00")
    assert at_receipt["due_at"] == "2026-03-13T17:00:00+07:00"
    assert at_receipt["overdue_working_days"] == 0
    assert "overdue" not in at_receipt["flags"]


def test_an_open_supplement_pause_runs_to_the_evaluation_day(world: World) -> None:
    agency, a = province(world)
    subject = open_matter(world, "H10-SUP", a, agency, MONDAY_2_MARCH)
    request_supplement(world, subject, a, "2026-03-04T10:00:00+07:00")  # Wednesday
    receive_supplement(world, subject, a, "2026-03-10T10:00:00+07:00")

    # Read at Fri 6 March the receipt has not happened: the pause runs Thu 5, Fri 6 (P = 2).
    friday = matter(world, "H10-SUP", to="2026-03-06T12:00:00+07:00")
    assert friday["due_at"] == "2026-03-11T17:00:00+07:00"
    # Over the weekend nothing more is added; on Monday 9 one more working day.
    sunday = matter(world, "H10-SUP", to="2026-03-08T12:00:00+07:00")
    assert sunday["due_at"] == "2026-03-11T17:00:00+07:00"
    monday = matter(world, "H10-SUP", to="2026-03-09T18:00:00+07:00")
    assert monday["due_at"] == "2026-03-12T17:00:00+07:00"
    # A paused matter is never overdue while the pause runs to E.
    assert monday["overdue_working_days"] == 0
    assert "overdue" not in monday["flags"]


def test_a_second_supplement_request_while_paused_starts_no_new_pause(world: World) -> None:
    agency, a = province(world)
    subject = open_matter(world, "H10-SUP2", a, agency, MONDAY_2_MARCH)
    request_supplement(world, subject, a, "2026-03-04T10:00:00+07:00")  # Wednesday
    request_supplement(world, subject, a, "2026-03-05T10:00:00+07:00")  # while paused
    receive_supplement(world, subject, a, "2026-03-10T10:00:00+07:00")
    # One pause from Wed 4 to Tue 10 (P = 4), not one from Thu 5 (P = 3) nor two summed.
    assert matter(world, "H10-SUP2")["due_at"] == "2026-03-13T17:00:00+07:00"


def test_separate_supplement_pauses_add_up_and_a_same_day_pause_adds_nothing(
    world: World,
) -> None:
    agency, a = province(world)
    subject = open_matter(world, "H10-SUP3", a, agency, MONDAY_2_MARCH)
    request_supplement(world, subject, a, "2026-03-03T09:00:00+07:00")
    receive_supplement(world, subject, a, "2026-03-03T15:00:00+07:00")  # same day: P = 0
    assert matter(world, "H10-SUP3")["due_at"] == DUE_9_MARCH
    request_supplement(world, subject, a, "2026-03-04T09:00:00+07:00")
    receive_supplement(world, subject, a, "2026-03-05T09:00:00+07:00")  # P = 1 (Thu 5)
    request_supplement(world, subject, a, "2026-03-06T09:00:00+07:00")
    receive_supplement(world, subject, a, "2026-03-09T09:00:00+07:00")  # P = 1 (Mon 9)
    assert matter(world, "H10-SUP3")["due_at"] == "2026-03-11T17:00:00+07:00"


# --- (c) extensions ----------------------------------------------------------------------


def test_a_deadline_extension_replaces_the_due_time_and_later_pauses_add_to_it(
    world: World,
) -> None:
    agency, a = province(world)
    subject = open_matter(world, "H10-EXT", a, agency, MONDAY_2_MARCH)
    world.ok(
        "deadline.extended",
        subject,
        a,
        {"new_due_at": "2026-03-20T10:00:00Z", "reason": "Chờ kết quả đo đạc"},
        occurred_at="2026-03-05T10:00:00+07:00",
    )
    assert matter(world, "H10-EXT", to="2026-03-05T09:00:00+07:00")["due_at"] == DUE_9_MARCH
    # The new due time, answered in +07:00.
    extended = matter(world, "H10-EXT", to="2026-03-12T09:00:00+07:00")
    assert extended["due_at"] == "2026-03-20T17:00:00+07:00"
    assert extended["overdue_working_days"] == 0  # past the old due time, not the new one
    assert "overdue" not in extended["flags"]

    request_supplement(world, subject, a, "2026-03-16T10:00:00+07:00")  # Monday
    receive_supplement(world, subject, a, "2026-03-18T10:00:00+07:00")  # P = Tue 17, Wed 18
    assert matter(world, "H10-EXT")["due_at"] == "2026-03-24T17:00:00+07:00"


def test_an_extension_replaces_a_due_time_already_moved_by_a_pause(world: World) -> None:
    agency, a = province(world)
    subject = open_matter(world, "H10-EXT2", a, agency, MONDAY_2_MARCH)
    request_supplement(world, subject, a, "2026-03-03T10:00:00+07:00")
    receive_supplement(world, subject, a, "2026-03-05T10:00:00+07:00")  # P = 2 → Wed 11
    assert matter(world, "H10-EXT2")["due_at"] == "2026-03-11T17:00:00+07:00"
    world.ok(
        "deadline.extended",
        subject,
        a,
        {"new_due_at": "2026-03-18T11:00:00+07:00", "reason": "Chờ ý kiến Sở Xây dựng"},
        occurred_at="2026-03-06T10:00:00+07:00",
    )
    assert matter(world, "H10-EXT2")["due_at"] == "2026-03-18T11:00:00+07:00"


def test_of_a_pause_spanning_an_extension_only_the_part_after_it_adds(world: World) -> None:
    agency, a = province(world)
    subject = open_matter(world, "H10-EXT3", a, agency, MONDAY_2_MARCH)
    request_supplement(world, subject, a, "2026-03-03T10:00:00+07:00")  # Tuesday
    # The extension, set while paused, already accounts for the pause so far.
    world.ok(
        "deadline.extended",
        subject,
        a,
        {"new_due_at": "2026-03-16T17:00:00+07:00", "reason": "Chờ bổ sung hồ sơ"},
        occurred_at="2026-03-10T10:00:00+07:00",
    )
    receive_supplement(world, subject, a, "2026-03-11T10:00:00+07:00")
    # Only Wed 11 (after the extension's day, Tue 10) adds: Mon 16 → Tue 17, 17:00.
    assert matter(world, "H10-EXT3")["due_at"] == "2026-03-17T17:00:00+07:00"


def test_an_extension_after_the_due_time_is_flagged(world: World) -> None:
    agency, a = province(world)
    flags: dict[str, set[str]] = {}
    for matter_id, extended_at in (
        ("H10-IN-TIME", "2026-03-06T10:00:00+07:00"),  # before the due time (Mon 9, 17:00)
        ("H10-TOO-LATE", "2026-03-11T10:00:00+07:00"),  # after it
    ):
        subject = open_matter(world, matter_id, a, agency, MONDAY_2_MARCH)
        world.ok(
            "deadline.extended",
            subject,
            a,
            {"new_due_at": "2026-03-27T17:00:00+07:00", "reason": "Hồ sơ phức tạp"},
            occurred_at=extended_at,
        )
        read = matter(world, matter_id, to="2026-03-12T09:00:00+07:00")
        assert read["due_at"] == "2026-03-27T17:00:00+07:00"
        flags[matter_id] = set(read["flags"])
    assert "extension_after_due" in flags["H10-TOO-LATE"]
    assert "extension_after_due" not in flags["H10-IN-TIME"]


# --- (d) calendar adjustments ------------------------------------------------------------


def adjust(world: World, day: str, kind: str) -> dict[str, Any]:
    return world.ok(
        "calendar.adjusted",
        "calendar:VN",
        world.root,
        {"date": day, "kind": kind, "source_document": "Công văn 1234/BNV-CCVC"},
    )


def test_a_day_off_recorded_later_moves_the_due_date_for_reads_that_know_it_whatever_their_to(
    world: World,
) -> None:
    agency, a = province(world)
    opened = open_matter_receipt(world, "H10-CAL", a, agency, MONDAY_2_MARCH)
    assert matter(world, "H10-CAL")["due_at"] == DUE_9_MARCH

    day_off = adjust(world, "2026-03-05", "day_off")  # a Thursday
    # Tue 3, Wed 4, (Thu 5 off), Fri 6, Mon 9, Tue 10.
    assert matter(world, "H10-CAL")["due_at"] == "2026-03-10T17:00:00+07:00"
    assert (
        matter(world, "H10-CAL", as_of=day_off["recorded_at"])["due_at"]
        == "2026-03-10T17:00:00+07:00"
    )
    # As the ledger knew it before the adjustment was recorded: the old due date.
    assert matter(world, "H10-CAL", as_of=opened["recorded_at"])["due_at"] == DUE_9_MARCH
    # DESIGN §6 v4: calendar knowledge goes by record time, never by ``to``. A read of
    # March (E in March 2026) made now knows the adjustment recorded now: an import of
    # history corrects the deadlines of the period it describes.
    in_march = matter(world, "H10-CAL", to="2026-03-20T00:00:00+07:00")
    assert in_march["due_at"] == "2026-03-10T17:00:00+07:00"
    assert in_march["evaluated_at"] == "2026-03-20T00:00:00+07:00"


def test_the_latest_adjustment_of_a_day_recorded_by_e_is_the_one_that_counts(
    world: World,
) -> None:
    agency, a = province(world)
    open_matter(world, "H10-CAL2", a, agency, MONDAY_2_MARCH)
    first = adjust(world, "2026-03-05", "day_off")
    adjust(world, "2026-03-05", "working_day")  # revoked: Thursday works after all
    assert matter(world, "H10-CAL2")["due_at"] == DUE_9_MARCH
    between = matter(world, "H10-CAL2", as_of=first["recorded_at"])
    assert between["due_at"] == "2026-03-10T17:00:00+07:00"

    adjust(world, "2026-03-07", "working_day")  # a make-up Saturday
    # Tue 3, Wed 4, Thu 5, Fri 6, Sat 7.
    assert matter(world, "H10-CAL2")["due_at"] == "2026-03-07T17:00:00+07:00"


def test_only_a_root_may_adjust_the_calendar(world: World) -> None:
    agency, _ = province(world)
    world.reject(
        403,
        "not-permitted",
        "calendar.adjusted",
        "calendar:VN",
        agency.registrar,
        {"date": "2026-03-05", "kind": "day_off", "source_document": "Công văn 1/UBND"},
    )


# --- (e) closed late ---------------------------------------------------------------------


def test_a_matter_closed_after_its_due_time_is_overdue_to_the_closing_day(world: World) -> None:
    agency, a = province(world)
    subject = open_matter(world, "H10-LATE", a, agency, MONDAY_2_MARCH)
    close(world, subject, a, "2026-03-12T10:00:00+07:00")  # Thursday
    read = matter(world, "H10-LATE")  # E is now, months later: still counted to the closing
    assert read["status"] == "closed"
    assert read["result"] == "completed"
    assert read["closed_at"] == "2026-03-12T10:00:00+07:00"
    assert read["due_at"] == DUE_9_MARCH
    assert read["overdue_working_days"] == 3  # Tue 10, Wed 11, Thu 12
    assert "overdue" in read["flags"]


def test_a_matter_closed_in_time_is_not_overdue_and_one_closed_on_its_due_evening_has_no_days(
    world: World,
) -> None:
    agency, a = province(world)
    in_time = open_matter(world, "H10-OK", a, agency, MONDAY_2_MARCH)
    close(world, in_time, a, "2026-03-09T16:00:00+07:00")
    read = matter(world, "H10-OK")
    assert read["status"] == "closed"
    assert read["overdue_working_days"] == 0
    assert "overdue" not in read["flags"]

    evening = open_matter(world, "H10-EVE", a, agency, MONDAY_2_MARCH)
    close(world, evening, a, "2026-03-09T19:00:00+07:00")
    # Late, but no working day d with due day < d ≤ closing day.
    assert matter(world, "H10-EVE")["overdue_working_days"] == 0
